// /livez and /readyz in each failure state: the database gone (and back), migrations pending,
// Slack unreachable, the Socket Mode connection down. Liveness stays 200 throughout: restarting
// the bot would not mend any of them. (/healthz is the readiness report under its old name.)
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket, type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { startTestBot, type TestBot } from "./support/start-test-bot.js";
import { openTestPglite, openTestPostgres, privilegedPrisma, testDatabases } from "./support/test-databases.js";

interface Report {
  ok: boolean;
  database: boolean;
  pendingMigrations: string[];
  slack?: { ok: boolean; socketConnected?: boolean; problem?: string };
}

async function probe(t: TestBot): Promise<{ live: number; ready: number; report: Report; healthz: number }> {
  const base = `http://127.0.0.1:${t.bot.port}`;
  const live = (await fetch(`${base}/livez`)).status;
  const ready = await fetch(`${base}/readyz`);
  const healthz = (await fetch(`${base}/healthz`)).status;
  return { live, ready: ready.status, report: (await ready.json()) as Report, healthz };
}

async function until(t: TestBot, what: string, predicate: (state: Awaited<ReturnType<typeof probe>>) => boolean, timeoutMs = 20_000): Promise<Awaited<ReturnType<typeof probe>>> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe(t);
  while (!predicate(last)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await probe(t);
  }
  return last;
}

/** A TCP proxy in front of PostgreSQL that can go down (every connection cut, new ones refused) and come back. */
async function startDatabaseProxy(upstreamPort: number): Promise<{ port: number; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(upstreamPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    port = (server!.address() as AddressInfo).port;
  };
  const down = async () => {
    const closing = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
    for (const socket of sockets) socket.destroy();
    await closing;
    server = null;
  };
  await listen();
  return { port, down, up: listen, close: down };
}

const pgUrl = process.env.TEST_DATABASE_URL;

describe("readiness when the database goes away", () => {
  test("PostgreSQL behind a connection that is cut: /readyz 503 database:false, /livez 200; ready again once it is back", { skip: pgUrl ? false : "needs PostgreSQL (TEST_DATABASE_URL)" }, async () => {
    const upstream = new URL(pgUrl!);
    const proxy = await startDatabaseProxy(Number(upstream.port || 5432));
    const viaProxy = new URL(pgUrl!);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const db = await openTestPostgres(viaProxy.toString(), { asSuperuser: true });
    const t = await startTestBot(db);
    try {
      assert.deepEqual((await probe(t)).ready, 200);
      await proxy.down();
      const gone = await until(t, "readiness to see the database gone", (state) => state.ready === 503);
      assert.equal(gone.report.database, false);
      assert.equal(gone.report.ok, false);
      assert.equal(gone.live, 200, "liveness does not ask the database");
      assert.equal(gone.healthz, 503);
      await proxy.up();
      const back = await until(t, "readiness once the database is back", (state) => state.ready === 200);
      assert.equal(back.report.database, true);
    } finally {
      await t.stop();
      await db.close();
      await proxy.close();
    }
  });

  test("PGlite closed under the running bot: /readyz 503 database:false, /livez 200", async () => {
    const db = await openTestPglite();
    const t = await startTestBot(db);
    try {
      assert.equal((await probe(t)).ready, 200);
      await db.close();
      const gone = await until(t, "readiness to see the database gone", (state) => state.ready === 503);
      assert.equal(gone.report.database, false);
      assert.equal(gone.live, 200);
    } finally {
      await t.stop();
    }
  });
});

for (const target of testDatabases) {
  describe(`readiness with a migration pending (${target.name})`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });

    test("/readyz 503 naming the migration while it is not applied, /livez 200; 200 once it is", async () => {
      const t = await startTestBot(db);
      const admin = privilegedPrisma(db);
      // As if a newer release's migration had not been deployed: its row is taken out of Prisma's table.
      const [latest] = await admin.$queryRaw<Array<Record<string, unknown> & { migration_name: string }>>`SELECT * FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1`;
      assert.ok(latest, "the database is migrated");
      try {
        await admin.$executeRaw`DELETE FROM _prisma_migrations WHERE migration_name = ${latest.migration_name}`;
        const pending = await until(t, "readiness to see the pending migration", (state) => state.ready === 503);
        assert.deepEqual(pending.report.pendingMigrations, [latest.migration_name]);
        assert.equal(pending.report.database, true);
        assert.equal(pending.live, 200);
        assert.equal(pending.healthz, 503);
      } finally {
        await admin.$executeRaw`INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
          VALUES (${latest.id}, ${latest.checksum}, ${latest.finished_at}, ${latest.migration_name}, ${latest.logs}, ${latest.rolled_back_at}, ${latest.started_at}, ${latest.applied_steps_count})`;
      }
      try {
        const restored = await until(t, "readiness once the migration is recorded again", (state) => state.ready === 200);
        assert.deepEqual(restored.report.pendingMigrations, []);
      } finally {
        await t.stop();
      }
    });

    test("Socket Mode: /readyz 503 once the connection has been down past the threshold, while Slack's Web API still answers", async () => {
      const t = await startTestBot(db, { socketMode: true, botOptions: { slackUnreachableAfterMs: 1_500 } });
      try {
        await t.sim.socketConnected({ timeoutMs: 5_000 });
        await until(t, "ready with the socket connected", (state) => state.ready === 200 && state.report.slack?.socketConnected === true);
        // Slack refuses new connections (as during an outage of its socket service) and drops the open one.
        t.sim.failNext("apps.connections.open", "internal_error", { times: 1_000 });
        await t.sim.dropSocketConnections();
        const down = await until(t, "readiness to see the socket down", (state) => state.ready === 503);
        assert.equal(down.report.slack?.socketConnected, false);
        assert.match(down.report.slack?.problem ?? "", /the Socket Mode connection has been down for \d+ s/);
        assert.equal(down.report.database, true);
        assert.equal(down.live, 200);
      } finally {
        await t.stop();
      }
    });
  });
}
