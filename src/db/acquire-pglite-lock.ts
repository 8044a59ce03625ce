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
}

/** The lock file sits next to the data directory, so wiping the directory keeps the lock. */
export function pgliteLockPath(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, "")}.lock`;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
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
 * O_EXCL, holding {pid, hostname}. A lock left by a dead process on this host is taken over; a
 * lock from another host cannot be checked and is treated as held. The release also runs at
 * process exit, but a SIGKILLed holder leaves its file behind: the pid check covers that case.
 */
export function acquirePgliteLock(dataDir: string, holderDescription = "accessbot"): () => void {
  const lockPath = pgliteLockPath(dataDir);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const body = JSON.stringify({
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    by: holderDescription,
  } satisfies LockBody);

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, body, { flag: "wx" });
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
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
    const stale = hostname === os.hostname() && Number.isInteger(pid) && !isProcessAlive(pid as number);
    if (!stale) {
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
