import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { pgliteLockPath, PgliteLockedError } from "../src/db/acquire-pglite-lock.js";
import { openDatabase, type Database } from "../src/db/open-database.js";
import { databaseTargetToUrl, parseDatabaseUrl, resolveDatabaseTarget } from "../src/db/resolve-database-target.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("resolveDatabaseTarget", () => {
  test("no DATABASE_URL means PGlite in ./.data/pglite of the base directory", () => {
    assert.deepEqual(resolveDatabaseTarget({}, "/srv/bot"), { kind: "pglite", dataDir: "/srv/bot/.data/pglite" });
    assert.deepEqual(resolveDatabaseTarget({ DATABASE_URL: " " }, "/srv/bot"), { kind: "pglite", dataDir: "/srv/bot/.data/pglite" });
  });

  test("postgresql:// means PostgreSQL, with ?schema= as the schema", () => {
    const url = "postgresql://bot:secret@db:5432/accessbot?schema=bot";
    assert.deepEqual(resolveDatabaseTarget({ DATABASE_URL: url }), { kind: "postgres", url, schema: "bot" });
    assert.deepEqual(resolveDatabaseTarget({ DATABASE_URL: "postgres://db/x" }), { kind: "postgres", url: "postgres://db/x" });
  });

  test("the PGlite URL handed to the Prisma CLI round-trips", () => {
    for (const dataDir of ["/var/lib/accessbot/pglite", "/tmp/with space/and#hash", ":memory:"]) {
      const url = databaseTargetToUrl({ kind: "pglite", dataDir });
      assert.match(url, /^postgresql:\/\/pglite\.invalid\//);
      assert.deepEqual(parseDatabaseUrl(url), { kind: "pglite", dataDir });
    }
    assert.deepEqual(parseDatabaseUrl("postgresql://pglite.invalid/pglite?data_dir=.data%2Fother", "/srv/bot"), {
      kind: "pglite",
      dataDir: path.resolve("/srv/bot", ".data/other"),
    });
  });

  test("other URLs are refused without echoing them (they may hold a password)", () => {
    assert.throws(() => resolveDatabaseTarget({ DATABASE_URL: "mysql://u:hunter2@db/x" }), (error: Error) => {
      assert.match(error.message, /unsupported protocol "mysql:"/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    assert.throws(() => resolveDatabaseTarget({ DATABASE_URL: "not a url hunter2" }), /not a valid URL/);
  });
});

for (const target of testDatabases) {
  describe(`openDatabase (${target.name})`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
    });
    after(() => db.close());
    beforeEach(() => resetDatabase(db));

    test("50 concurrent interactive transactions, SELECT … FOR UPDATE then write, never interleave", async () => {
      await db.prisma.auditSinkCursor.create({ data: { sink: "counter" } });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, index) =>
          db.prisma.$transaction(
            async (tx) => {
              const [row] = await tx.$queryRaw<Array<{ delivered_seq: bigint }>>`
                SELECT delivered_seq FROM audit_sink_cursor WHERE sink = 'counter' FOR UPDATE`;
              await sleep(2); // widen the window a lost update would need
              await tx.auditSinkCursor.update({ where: { sink: "counter" }, data: { deliveredSeq: row!.delivered_seq + 1n } });
              if (index % 10 === 9) throw new Error("rolled back on purpose");
            },
            { maxWait: 30_000 },
          ),
        ),
      );
      const failures = results.flatMap((r) => (r.status === "rejected" ? [String((r.reason as Error).message)] : []));
      assert.deepEqual(failures, Array(5).fill("rolled back on purpose"));
      const counter = await db.prisma.auditSinkCursor.findUniqueOrThrow({ where: { sink: "counter" } });
      assert.equal(counter.deliveredSeq, 45n);
    });

    test("pg_advisory_xact_lock works inside an interactive transaction", async () => {
      const got = await db.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${4242n}::bigint)`;
        const [held] = await tx.$queryRaw<Array<{ held: boolean }>>`
          SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = pg_backend_pid()) AS held`;
        return held?.held;
      });
      assert.equal(got, true);
    });

    test("ping, migrationsPending", async () => {
      assert.equal(await db.ping(), true);
      assert.deepEqual(await db.migrationsPending(), []);
    });

    if (target.name === "pglite") {
      // PGlite is one connection: transactions queue on its mutex, and Prisma counts that wait
      // against maxWait (default 2 s). openDatabase raises the default, so a burst longer than
      // 2 s in total does not fail with "Unable to start a transaction in the given time".
      test("a 3 s burst of transactions with default options all commit", async () => {
        await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            db.prisma.$transaction(async (tx) => {
              await tx.policyVersion.create({ data: { sha256: String(index).padStart(64, "0"), text: "x" } });
              await sleep(75);
            }),
          ),
        );
        assert.equal(await db.prisma.policyVersion.count(), 40);
      });
    }
  });
}

test("close() can be called twice", async () => {
  const first = testDatabases[0]!;
  const db = await first.open();
  await Promise.all([db.close(), db.close()]);
  await db.close();
});

test("PGlite: a lock left by an earlier process with our pid does not stop the start; a second opener in this process is refused", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-open-lock-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, "pglite");
  // What a container restart leaves: the previous life had the same pid and was SIGKILLed.
  fs.writeFileSync(pgliteLockPath(dataDir), JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: "2026-01-01T00:00:00.000Z", by: "accessbot" }));
  const logger = { info() {}, warn() {}, error() {} };
  const db = await openDatabase({ target: { kind: "pglite", dataDir }, migrate: false, logger });
  try {
    assert.equal(await db.ping(), true);
    await assert.rejects(openDatabase({ target: { kind: "pglite", dataDir }, migrate: false, logger }), (error: unknown) => {
      assert.ok(error instanceof PgliteLockedError);
      assert.match(error.message, new RegExp(`is in use by process ${process.pid} on .*PGlite allows one process per directory, so stop that process first`));
      return true;
    });
  } finally {
    await db.close();
  }
  assert.equal(fs.existsSync(pgliteLockPath(dataDir)), false, "closing releases the lock");
});
