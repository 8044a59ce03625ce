import { timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/** Beside the database socket, in the same private 0700 directory (and as short, for sun_path). */
export const PGLITE_CONTROL_SOCKET = ".s.ACCESSBOT";

const MAX_REQUEST_BYTES = 4096;

/** What the control socket can be asked; the only request so far is a backup. */
export interface PgliteControlHandlers {
  /** A gzipped tarball of the data directory, taken between transactions. */
  backup(): Promise<Uint8Array>;
}

/**
 * The owning process's side of `accessbot db backup`: a Unix socket that takes one request
 * line `{"password": …, "request": "backup"}` and answers `OK <bytes>\n<tarball>` or
 * `ERR <message>\n`. The password is the database socket's, so whoever may read the database
 * may back it up, and nobody else.
 */
export async function servePgliteControl(socketDir: string, password: string, handlers: PgliteControlHandlers): Promise<net.Server> {
  const socketPath = path.join(socketDir, PGLITE_CONTROL_SOCKET);
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on("error", () => socket.destroy());
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(0x0a);
      if (end < 0) {
        if (buffer.length > MAX_REQUEST_BYTES) socket.end("ERR request too long\n");
        return;
      }
      socket.off("data", onData);
      void answer(buffer.subarray(0, end).toString("utf8"), socket);
    };
    socket.on("data", onData);
  });
  const answer = async (line: string, socket: net.Socket) => {
    let request: { password?: unknown; request?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      socket.end("ERR the request is not JSON\n");
      return;
    }
    const given = Buffer.from(typeof request.password === "string" ? request.password : "");
    const expected = Buffer.from(password);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      socket.end("ERR password authentication failed\n");
      return;
    }
    if (request.request !== "backup") {
      socket.end(`ERR unknown request ${JSON.stringify(request.request)}\n`);
      return;
    }
    try {
      const tarball = await handlers.backup();
      socket.write(`OK ${tarball.byteLength}\n`);
      socket.end(tarball);
    } catch (error) {
      socket.end(`ERR ${(error instanceof Error ? error.message : String(error)).replace(/\n/g, " ")}\n`);
    }
  };
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);
  return server;
}

/** The CLI's side: asks the process that owns the database for a backup tarball. */
export function requestPgliteBackup(socketDir: string, password: string, timeoutMs = 10 * 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(socketDir, PGLITE_CONTROL_SOCKET));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no backup within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on("connect", () => socket.write(`${JSON.stringify({ password, request: "backup" })}\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const newline = all.indexOf(0x0a);
      const header = all.subarray(0, newline < 0 ? all.length : newline).toString("utf8");
      const match = /^OK (\d+)$/.exec(header);
      if (!match) return reject(new Error(header.startsWith("ERR ") ? header.slice(4) : `unexpected answer ${JSON.stringify(header.slice(0, 80))}`));
      const body = all.subarray(newline + 1);
      if (body.length !== Number(match[1])) return reject(new Error(`the backup was cut short (${body.length} of ${match[1]} bytes)`));
      resolve(body);
    });
  });
}
