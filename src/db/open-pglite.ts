import { PGlite } from "@electric-sql/pglite";

/**
 * PostgreSQL's buffer cache inside PGlite. PGlite's default (128 MB, as initdb sets it) lives in
 * the WebAssembly memory, which never shrinks: measured here it was most of the bot's resident
 * memory (bench/RESULTS.md, memory breakdown). The bot's working set (pending requests, active
 * grants, due jobs, the ledger's head) fits many times over in 16 MB, and a miss is a read
 * from the operating system's page cache, not the disk. A start parameter, not postgresql.conf:
 * nothing is written into the user's data directory.
 */
export const PGLITE_SHARED_BUFFERS = "16MB";

/** Opens the embedded database in `dataDir` with the bot's settings. */
export function openPglite(dataDir: string, options: { loadDataDir?: Blob } = {}): Promise<PGlite> {
  return PGlite.create({
    dataDir,
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
}
