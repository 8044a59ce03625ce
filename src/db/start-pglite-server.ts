import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import type { PgliteServerThreadData, PgliteServerThreadMessage } from "./pglite-server-thread.js";
import { startWorkerThread } from "../runtime/start-worker-thread.js";
import { PGLITE_MEMORY } from "./resolve-database-target.js";

/** Where a running bot tells local tools (the CLI) how to reach its embedded database. */
export interface PgliteServerInfo {
  pid: number;
  /** The directory of the Unix socket `.s.PGSQL.5432`, as `pg` expects it in `host`. */
  socketDir: string;
  password: string;
}

export interface PgliteServer extends PgliteServerInfo {
  /** The private directory of this server (the socket, server.json, the inbox journal). */
  runDir: string;
  /** Closes the database (flushing it to disk) and ends the worker, within `deadlineMs`. */
  close(deadlineMs?: number): Promise<void>;
}

export const PGLITE_SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${PGLITE_SOCKET_PORT}`;
/** sun_path is 108 bytes on Linux, 104 on macOS. */
const MAX_SOCKET_PATH = 100;
const START_TIMEOUT_MS = 60_000;

const serverInfoSchema = z.object({ pid: z.number().int(), socketDir: z.string().min(1), password: z.string().min(16) });

/** The run directory sits beside the data directory and its lock (never inside PGlite's files). */
export function pgliteRunDir(dataDir: string): string {
  // Absolute: pg reads a host that starts with "/" as a socket directory, anything else as a name.
  return path.resolve(`${dataDir.replace(/[\\/]+$/, "")}.run`);
}

/** The running bot's server, or null when none announced one (or the file is unreadable). */
export function readPgliteServerInfo(dataDir: string): PgliteServerInfo | null {
  try {
    return serverInfoSchema.parse(JSON.parse(fs.readFileSync(path.join(pgliteRunDir(dataDir), "server.json"), "utf8")));
  } catch {
    return null;
  }
}

/**
 * Opens PGlite in a worker thread and serves it on a private Unix socket. The caller must hold
 * the directory lock: the socket and server.json are the lock holder's to replace.
 */
export async function startPgliteServer(dataDir: string, onFailure: (message: string) => void): Promise<PgliteServer> {
  const inMemory = dataDir === PGLITE_MEMORY;
  const runDir = inMemory ? fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-pglite-")) : pgliteRunDir(dataDir);
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(runDir, 0o700);
  const socketDir = path.join(runDir, SOCKET_NAME).length <= MAX_SOCKET_PATH ? runDir : fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-sock-"));
  const password = randomBytes(24).toString("base64url");
  const data: PgliteServerThreadData = { dataDir: inMemory ? "memory://" : dataDir, socketPath: path.join(socketDir, SOCKET_NAME), password };
  const worker = startWorkerThread(new URL("./pglite-server-thread.ts", import.meta.url), data);

  let closing = false;
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once("exit", () => ((exited = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the embedded database did not open within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: PgliteServerThreadMessage) => {
      if (message.type === "ready") settle();
      if (message.type === "failed") settle(new Error(message.message));
    };
    worker.on("message", onMessage);
    worker.once("error", (error) => settle(error));
    void exit.then(() => settle(new Error("the embedded database's thread ended while opening")));
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  worker.on("message", (message: PgliteServerThreadMessage) => {
    if (message.type === "error") onFailure(`embedded database: ${message.message}`);
  });
  worker.on("error", (error) => onFailure(`embedded database thread failed: ${error.message}`));
  void exit.then(() => {
    if (!closing) onFailure("the embedded database's thread ended unexpectedly");
  });

  const info: PgliteServerInfo = { pid: process.pid, socketDir, password };
  if (!inMemory) fs.writeFileSync(path.join(runDir, "server.json"), JSON.stringify(info), { mode: 0o600 });

  return {
    ...info,
    runDir,
    async close(deadlineMs = 30_000) {
      if (closing) return exit;
      closing = true;
      if (!inMemory) fs.rmSync(path.join(runDir, "server.json"), { force: true });
      if (!exited) {
        worker.postMessage({ type: "close" });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([exit.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs)))]);
        clearTimeout(timer);
        if (timedOut) await worker.terminate();
      }
      if (inMemory) fs.rmSync(runDir, { recursive: true, force: true });
      if (socketDir !== runDir) fs.rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
