import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { acquirePgliteLock, pgliteLockPath, PgliteLockedError, readProcessStart } from "../src/db/acquire-pglite-lock.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LOCK_MODULE = pathToFileURL(path.join(ROOT, "src/db/acquire-pglite-lock.ts")).href;
const BOOT_ID = (() => {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
})();

const base = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-lock-test-"));
after(() => fs.rmSync(base, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => path.join(base, `pglite-${++dirs}`);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A lock file as another process (or an earlier life of this one) left it. */
function writeLock(dataDir: string, body: Record<string, unknown>): void {
  fs.writeFileSync(pgliteLockPath(dataDir), JSON.stringify({ hostname: os.hostname(), startedAt: new Date(Date.now() - 3_600_000).toISOString(), by: "accessbot", ...body }));
}

function assertAcquired(dataDir: string): void {
  const release = acquirePgliteLock(dataDir, "pglite-lock test");
  const lock = JSON.parse(fs.readFileSync(pgliteLockPath(dataDir), "utf8")) as Record<string, unknown>;
  assert.equal(lock.pid, process.pid, "the lock is ours now");
  assert.equal(lock.by, "pglite-lock test");
  release();
  assert.equal(fs.existsSync(pgliteLockPath(dataDir)), false, "released");
}

function assertRefused(dataDir: string, holderPid: number): void {
  assert.throws(
    () => acquirePgliteLock(dataDir),
    (error: unknown) => {
      assert.ok(error instanceof PgliteLockedError);
      assert.equal(error.holderPid, holderPid);
      assert.match(
        error.message,
        new RegExp(`^PGlite data directory ${escape(dataDir)} is in use by process ${holderPid} on ${escape(os.hostname())} \\(lock file ${escape(pgliteLockPath(dataDir))}\\); PGlite allows one process per directory, so stop that process first, and delete the lock file only if it is gone\\.$`),
      );
      return true;
    },
  );
}

/** A pid that was just in use and is not any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

/** A real node process that takes the lock through the same module, says so, and waits. */
async function startHolder(dataDir: string): Promise<ChildProcess> {
  const script = path.join(base, "hold-lock.mjs");
  fs.writeFileSync(
    script,
    `const { acquirePgliteLock } = await import(process.argv[2]);
acquirePgliteLock(process.argv[3], "pglite-lock test child");
process.stdout.write("locked\\n");
setInterval(() => {}, 1 << 30);
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script, LOCK_MODULE, dataDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let stdout = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("locked\n")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}: ${stderr}`)));
  });
  return child;
}

describe("acquirePgliteLock: stale locks are taken over, live holders refused", () => {
  test("a lock naming our own pid, which this process does not hold, is from an earlier life: acquired", () => {
    const dataDir = freshDir();
    // As a restarted container leaves it: same pid, written by the previous process.
    writeLock(dataDir, { pid: process.pid, bootId: BOOT_ID, processStart: "1" });
    assertAcquired(dataDir);
    // Also in the format of the previous version (pid and hostname only).
    writeLock(dataDir, { pid: process.pid });
    assertAcquired(dataDir);
  });

  test("a lock this process holds is refused to a second opener in the same process", () => {
    const dataDir = freshDir();
    const release = acquirePgliteLock(dataDir);
    try {
      assertRefused(dataDir, process.pid);
    } finally {
      release();
    }
    assertAcquired(dataDir);
  });

  test("a lock whose process is gone: acquired", async () => {
    const dataDir = freshDir();
    const pid = await deadPid();
    writeLock(dataDir, { pid, bootId: BOOT_ID, processStart: "12345" });
    assertAcquired(dataDir);
    writeLock(dataDir, { pid });
    assertAcquired(dataDir);
  });

  test("a lock from another boot: acquired, even though its pid is alive now", (t) => {
    if (BOOT_ID === null) return t.skip("no /proc/sys/kernel/random/boot_id here");
    const dataDir = freshDir();
    const live = process.ppid;
    writeLock(dataDir, { pid: live, bootId: "00000000-0000-4000-8000-000000000000", processStart: readProcessStart(live) });
    assertAcquired(dataDir);
  });

  test("a live pid that started after the lock was written is someone else: acquired; the real holder's start time is refused", (t) => {
    const live = process.ppid;
    const start = readProcessStart(live);
    if (start === null) return t.skip("no /proc/<pid>/stat here");
    const reused = freshDir();
    writeLock(reused, { pid: live, bootId: BOOT_ID, processStart: String(BigInt(start) + 1n) });
    assertAcquired(reused);
    const held = freshDir();
    writeLock(held, { pid: live, bootId: BOOT_ID, processStart: start });
    assertRefused(held, live);
  });

  test("without a boot id or start time a live pid is treated as the holder, as before", () => {
    const dataDir = freshDir();
    writeLock(dataDir, { pid: process.ppid });
    assertRefused(dataDir, process.ppid);
  });

  test("a lock from another host is never taken over", () => {
    const dataDir = freshDir();
    const pid = process.ppid;
    fs.writeFileSync(pgliteLockPath(dataDir), JSON.stringify({ pid, hostname: `not-${os.hostname()}`, startedAt: new Date().toISOString(), by: "accessbot" }));
    assert.throws(() => acquirePgliteLock(dataDir), new RegExp(`is in use by process ${pid} on not-${escape(os.hostname())} `));
  });

  test("a real process holding the lock is refused with the message; once it is SIGKILLed the lock is acquired", async () => {
    const dataDir = freshDir();
    const child = await startHolder(dataDir);
    try {
      const lock = JSON.parse(fs.readFileSync(pgliteLockPath(dataDir), "utf8")) as Record<string, unknown>;
      assert.equal(lock.pid, child.pid);
      assert.equal(lock.bootId, BOOT_ID);
      assert.equal(lock.processStart, readProcessStart(child.pid!));
      assertRefused(dataDir, child.pid!);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    // SIGKILL runs no exit handler: the file is still there, naming a dead process.
    assert.equal((JSON.parse(fs.readFileSync(pgliteLockPath(dataDir), "utf8")) as { pid: number }).pid, child.pid);
    assertAcquired(dataDir);
  });
});
