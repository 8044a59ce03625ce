import fs from "node:fs";
import path from "node:path";
import { openPglite } from "./open-pglite.js";
import { acquirePgliteLock, PgliteLockedError } from "./acquire-pglite-lock.js";
import { requestPgliteBackup } from "./pglite-control-socket.js";
import { readPgliteServerInfo } from "./start-pglite-server.js";

export interface PgliteBackupResult {
  bytes: number;
  /** Who took the copy: the running bot (its pid), or this process under the directory lock. */
  takenBy: { kind: "running-bot"; pid: number } | { kind: "this-process" };
}

/**
 * A consistent copy (gzipped tarball, PGlite's dumpDataDir) of a PGlite data directory. The
 * files are only ever read by the process that owns them: a running bot is asked for the copy
 * over its control socket, which it takes between transactions; with nothing running, this
 * process takes the directory lock (so no bot starts meanwhile) and dumps it itself. The file
 * appears only once complete.
 */
export async function backupPglite(dataDir: string, outFile: string): Promise<PgliteBackupResult> {
  let tarball: Uint8Array;
  let takenBy: PgliteBackupResult["takenBy"];
  let release: (() => void) | null = null;
  try {
    release = acquirePgliteLock(dataDir, "accessbot db backup");
  } catch (error) {
    if (!(error instanceof PgliteLockedError)) throw error;
    const running = readPgliteServerInfo(dataDir);
    if (!running || running.pid !== error.holderPid) {
      throw new Error(`${error.message} That process serves no backups (an \`accessbot db\` command, or a bot of an older version): wait for it to finish, or stop it, and run the backup again.`);
    }
    tarball = await requestPgliteBackup(running.socketDir, running.password);
    takenBy = { kind: "running-bot", pid: running.pid };
  }
  if (release) {
    try {
      if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) throw new Error(`There is no PGlite database at ${dataDir} (no PG_VERSION file).`);
      const db = await openPglite(dataDir);
      try {
        await db.exec("CHECKPOINT");
        tarball = new Uint8Array(await (await db.dumpDataDir("gzip")).arrayBuffer());
      } finally {
        await db.close();
      }
      takenBy = { kind: "this-process" };
    } finally {
      release();
    }
  }
  const partial = `${outFile}.partial-${process.pid}`;
  try {
    fs.writeFileSync(partial, tarball!, { mode: 0o600 });
    fs.renameSync(partial, outFile);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw new Error(`Cannot write ${outFile}: ${(error as Error).message}`);
  }
  return { bytes: tarball!.byteLength, takenBy: takenBy! };
}

/** Thrown when a restore would overwrite something. */
export class RestoreTargetNotEmptyError extends Error {
  constructor(readonly dataDir: string) {
    super(`${dataDir} is not empty: a restore only unpacks into a new or empty directory, so nothing is overwritten. Choose another --data-dir, or move the old one aside first.`);
    this.name = "RestoreTargetNotEmptyError";
  }
}

/** Unpacks a backup into a new data directory and opens it once, so a bad file fails here. */
export async function restorePglite(fromFile: string, dataDir: string): Promise<void> {
  const entries = fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : null;
  if (entries !== null && entries.length > 0) throw new RestoreTargetNotEmptyError(dataDir);
  let tarball: Buffer;
  try {
    tarball = fs.readFileSync(fromFile);
  } catch (error) {
    throw new Error(`Cannot read ${fromFile}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}.`);
  }
  const release = acquirePgliteLock(dataDir, "accessbot db restore");
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    try {
      const db = await openPglite(dataDir, { loadDataDir: new Blob([tarball]) });
      try {
        await db.query("SELECT 1");
      } finally {
        await db.close();
      }
    } catch (error) {
      // Leave no half-restored directory that a bot could later start on.
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`${fromFile} could not be restored (is it a file made by \`accessbot db backup\`?): ${(error as Error).message}`);
    }
  } finally {
    release();
  }
}
