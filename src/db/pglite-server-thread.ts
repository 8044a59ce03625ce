// The worker thread that owns an embedded PGlite database and serves it on a Unix socket
// (see start-pglite-server.ts): statements run here, never on the thread that acks Slack.
import fs from "node:fs";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { openPglite } from "./open-pglite.js";
import { PGLITE_CONTROL_SOCKET, servePgliteControl } from "./pglite-control-socket.js";
import { PgliteWireServer } from "./pglite-wire-server.js";

export interface PgliteServerThreadData {
  /** A data directory, or "memory://". */
  dataDir: string;
  socketPath: string;
  password: string;
}

export type PgliteServerThreadMessage = { type: "ready" } | { type: "failed"; message: string } | { type: "closed" } | { type: "error"; message: string };

const port = parentPort;
if (!port) throw new Error("pglite-server-thread runs only as a worker thread");
const data = workerData as PgliteServerThreadData;
const post = (message: PgliteServerThreadMessage) => port.postMessage(message);

try {
  // The normal priority, as every thread by default (main.ts, deprioritiseWork): a lowered
  // database thread is starved by any busy neighbour, and the whole bot with it.
  // ACCESSBOT_IDLE_SCHEDULING puts it under SCHED_IDLE with the rest of the bot's work.
  const db = await openPglite(data.dataDir);
  const show = async (name: string) => String((await db.query<{ value: string }>(`SELECT current_setting('${name}') AS value`)).rows[0]?.value ?? "");
  const server = new PgliteWireServer({
    backend: db,
    password: data.password,
    parameters: {
      server_version: await show("server_version"),
      server_encoding: "UTF8",
      client_encoding: "UTF8",
      DateStyle: await show("DateStyle"),
      TimeZone: await show("TimeZone"),
      integer_datetimes: "on",
      standard_conforming_strings: "on",
    },
    onError: (error) => post({ type: "error", message: error instanceof Error ? error.message : String(error) }),
  });
  // The directory holding the socket belongs to the lock holder, so a socket left there by a
  // killed bot is stale.
  fs.rmSync(data.socketPath, { force: true });
  await server.listen(data.socketPath);
  fs.chmodSync(data.socketPath, 0o600);
  // `accessbot db backup` beside the running bot: only this thread may read the files safely.
  const control = data.dataDir === "memory://"
    ? null
    : await servePgliteControl(path.dirname(data.socketPath), data.password, {
        backup: () =>
          server.runExclusive(async () => {
            // Flushed first, so the copy opens without replaying the WAL.
            await db.exec("CHECKPOINT");
            return new Uint8Array(await (await db.dumpDataDir("gzip")).arrayBuffer());
          }),
      });
  port.on("message", (message: { type: string }) => {
    if (message.type !== "close") return;
    void (async () => {
      await new Promise<void>((resolve) => (control ? control.close(() => resolve()) : resolve()));
      if (control) fs.rmSync(path.join(path.dirname(data.socketPath), PGLITE_CONTROL_SOCKET), { force: true });
      await server.close();
      // A clean close checkpoints the directory, so the next open needs no recovery.
      await db.close();
      fs.rmSync(data.socketPath, { force: true });
      post({ type: "closed" });
      port.close();
    })();
  });
  post({ type: "ready" });
} catch (error) {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  port.close();
}
