// Acks are latency work and everything else in the process is throughput work, on few cores.
// A nice value alone is not enough for that on Linux: the scheduler lets a nice +19 thread
// finish its slice before a waking thread runs, so the ack thread still waited milliseconds
// for a core behind the bot's own work (bench/RESULTS.md). SCHED_IDLE threads give way at
// once. Node has no sched_setscheduler, so util-linux's `chrt` sets the policy by thread id.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const CHRT_TIMEOUT_MS = 5_000;

/** The calling thread's kernel id on Linux (readable from any thread), or null elsewhere. */
export function currentThreadId(): number | null {
  try {
    return Number(path.basename(fs.readlinkSync("/proc/thread-self")));
  } catch {
    return null;
  }
}

/**
 * Raises the calling thread's nice value by `niceSteps` (at most to 19). On Linux a thread's
 * nice value is its own (setpriority on the calling thread); elsewhere it may apply to the
 * process, which is harmless. Returns the error when the system refuses.
 */
function lowerThisThread(niceSteps: number): Error | null {
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + niceSteps));
    return null;
  } catch (error) {
    return error as Error;
  }
}

export interface DeprioritiseOutcome {
  /** Threads now running under SCHED_IDLE (Linux with chrt only). */
  idle: number[];
  /** Why SCHED_IDLE was not set, when it was not; the nice value is lowered regardless. */
  problem: string | null;
}

/**
 * Lowers the calling thread to nice +19 (any platform), then puts every thread of this process
 * except `keep` under SCHED_IDLE. Threads started later inherit the policy of the thread that
 * starts them, so the kept thread's own helpers stay at the normal priority. Lowering needs no
 * privilege; a system without `chrt` or without /proc keeps the nice value only.
 */
export async function deprioritiseOtherThreads(keep: number | null, niceSteps: number): Promise<DeprioritiseOutcome> {
  lowerThisThread(niceSteps);
  if (keep === null) return { idle: [], problem: "the thread to keep is unknown (not Linux)" };
  let tids: number[];
  try {
    tids = fs
      .readdirSync("/proc/self/task")
      .map(Number)
      .filter((tid) => tid !== keep);
  } catch (error) {
    return { idle: [], problem: `cannot list this process's threads: ${(error as Error).message}` };
  }
  // One shell for all of them: a thread that ended meanwhile is skipped, any other failure is reported.
  const script = 'command -v chrt >/dev/null || { echo "chrt (util-linux) is not installed" >&2; exit 1; }; for t do chrt --idle --pid 0 "$t" 2>/dev/null || [ ! -e "/proc/$PPID/task/$t" ] || { echo "chrt failed for thread $t" >&2; exit 1; }; done';
  return new Promise((resolve) => {
    execFile("/bin/sh", ["-c", script, "sh", ...tids.map(String)], { timeout: CHRT_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error) resolve({ idle: [], problem: (stderr.trim() || error.message).split("\n")[0]! });
      else resolve({ idle: tids, problem: null });
    });
  });
}
