import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Thrown when another live process holds the data directory. */
export class PgliteLockedError extends Error {
  readonly code = "PGLITE_LOCKED";
  constructor(
    message: string,
    readonly dataDir: string,
    readonly holderPid: number | null,
  ) {
    super(message);
    this.name = "PgliteLockedError";
  }
}

interface LockBody {
  pid: number;
  hostname: string;
  startedAt: string;
  by: string;
  /** Linux: /proc/sys/kernel/random/boot_id, which changes at every boot; null elsewhere. */
  bootId: string | null;
  /** When the system booted (now − os.uptime()), to tell boots apart where there is no boot id. */
  bootTime: string;
  /** Linux: when the holder started, in clock ticks after boot (/proc/<pid>/stat field 22); null elsewhere. */
  processStart: string | null;
}

/** The lock file sits next to the data directory, so wiping the directory keeps the lock. */
export function pgliteLockPath(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, "")}.lock`;
}

/** Two boot times further apart than this are two boots (the clock may move a little between reads). */
const BOOT_TIME_TOLERANCE_MS = 2 * 60_000;

/** Locks this process holds, by absolute lock path: a lock naming our pid is ours only if it is here. */
const heldHere = new Set<string>();

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

let bootId: string | null | undefined;
function currentBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

function currentBootTime(): number {
  return Date.now() - os.uptime() * 1000;
}

/** The start time of a process from /proc/<pid>/stat (Linux), or null when it cannot be read. */
export function readProcessStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = fields[19]; // field 22, starttime; the fields after comm start at field 3
    return start !== undefined && /^[0-9]+$/.test(start) ? start : null;
  } catch {
    return null;
  }
}

/**
 * Whether a lock file on this host is left over rather than held, and why. Each rule errs on the
 * side of "held": a lock wrongly judged stale lets two processes open one directory.
 */
function judgeStale(lockPath: string, holder: Partial<LockBody>): string | null {
  const { pid } = holder;
  if (!Number.isInteger(pid)) return null;
  // Why: after a container restart the bot often gets the pid its previous life had. Only this
  // process can hold a lock naming our pid, and it knows which locks it holds.
  if (pid === process.pid) return heldHere.has(path.resolve(lockPath)) ? null : `it names our own pid ${pid}, but this process does not hold it: an earlier process had the same pid`;
  const ourBootId = currentBootId();
  if (typeof holder.bootId === "string" && ourBootId !== null && holder.bootId !== ourBootId) return `it was written before the last reboot (boot id ${holder.bootId})`;
  if (!isProcessAlive(pid as number)) return `process ${pid} is gone`;
  // The pid is in use, but perhaps by a process that started after the holder died.
  if (typeof holder.processStart === "string") {
    const start = readProcessStart(pid as number);
    if (start !== null && start !== holder.processStart) return `pid ${pid} now belongs to a process started later`;
    if (start !== null) return null;
  }
  // No boot id or start time to go by (not Linux): a boot since the lock means another process.
  if ((ourBootId === null || typeof holder.bootId !== "string") && typeof holder.bootTime === "string") {
    const then = Date.parse(holder.bootTime);
    if (Number.isFinite(then) && Math.abs(currentBootTime() - then) > BOOT_TIME_TOLERANCE_MS) return `it was written before the last reboot (booted ${holder.bootTime})`;
  }
  return null;
}

function readHolder(lockPath: string): { raw: string; body: Partial<LockBody> | null } | null {
  let raw: string;
  try {
    raw = fs.readFileSync(lockPath, "utf8");
  } catch {
    return null;
  }
  try {
    return { raw, body: JSON.parse(raw) as Partial<LockBody> };
  } catch {
    return { raw, body: null };
  }
}

/**
 * Takes the inter-process lock of a PGlite data directory and returns its release function.
 *
 * Why: PGlite has no lock of its own, and two processes on one directory were seen to lose
 * writes. The protocol is shared with prisma/engine/schema-engine.mjs (the Prisma CLI's engine),
 * so the bot and `prisma migrate …` also exclude each other: `<dataDir>.lock`, created with
 * O_EXCL, holding {pid, hostname} (and here also the boot and the holder's start time). A lock
 * from another host cannot be checked and is treated as held. On this host a lock is taken over
 * when it is stale: it names our own pid but this process does not hold it (a restarted
 * container reuses pids), it was written in an earlier boot, its process is gone, or its pid now
 * belongs to a process that started later. The release also runs at process exit, but a
 * SIGKILLed holder leaves its file behind: these checks cover that case.
 */
export function acquirePgliteLock(dataDir: string, holderDescription = "accessbot"): () => void {
  const lockPath = pgliteLockPath(dataDir);
  const key = path.resolve(lockPath);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const body = JSON.stringify({
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    by: holderDescription,
    bootId: currentBootId(),
    bootTime: new Date(currentBootTime()).toISOString(),
    processStart: readProcessStart(process.pid),
  } satisfies LockBody);

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, body, { flag: "wx" });
      heldHere.add(key);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        heldHere.delete(key);
        process.removeListener("exit", release);
        try {
          // Never delete a lock that is no longer ours (e.g. taken over after a pid reuse).
          if (fs.readFileSync(lockPath, "utf8") === body) fs.unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
      process.once("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }

    const holder = readHolder(lockPath);
    if (!holder) continue; // Released between our attempt and the read: try again.
    const { pid, hostname } = holder.body ?? {};
    const stale = holder.body !== null && hostname === os.hostname() ? judgeStale(lockPath, holder.body) : null;
    if (stale === null) {
      const who = Number.isInteger(pid) ? `process ${pid} on ${hostname ?? "an unknown host"}` : "another process";
      throw new PgliteLockedError(
        `PGlite data directory ${dataDir} is in use by ${who} (lock file ${lockPath}); PGlite allows one process per directory, so stop that process first, and delete the lock file only if it is gone.`,
        dataDir,
        Number.isInteger(pid) ? (pid as number) : null,
      );
    }
    // Remove the stale lock only if it is still the one we judged stale.
    const again = readHolder(lockPath);
    if (again?.raw === holder.raw) fs.rmSync(lockPath, { force: true });
  }
  throw new PgliteLockedError(`Could not take the lock file ${lockPath} for PGlite data directory ${dataDir}.`, dataDir, null);
}
