// The fast verification path (src/audit/verify-ledger-copy.ts: binary COPY, chunks checked by
// worker threads, linked at their boundaries) must report exactly what the row path reports:
// the same first bad seq, reason and wording. On PostgreSQL both paths run and are compared;
// on PGlite (read through Prisma, so the row path) the same expectations hold.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import pg from "pg";
import { createPgLedgerQuery, createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import { readLedgerRows } from "../src/audit/read-ledger-rows.js";
import { BODY_MEMBER, BODY_MEMBER_SLOTS, scanCanonicalBody } from "../src/audit/scan-canonical-body.js";
import { verifyLedger, type VerifyLedgerOptions, type VerifyResult } from "../src/audit/verify-ledger.js";
import { connectionStringWithSearchPath, type Database } from "../src/db/open-database.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { computeEntryHash } from "../src/ledger/ledger-hash.js";
import { privilegedPrisma, resetDatabase, testDatabases } from "./support/test-databases.js";

const ENTRIES = 12;
/** Chunks of 4 entries: seqs 1-4, 5-8, 9-12, so 5 and 9 start a chunk and 4, 8 end one. */
const CHUNK = 4;

async function seed(db: Database): Promise<void> {
  const start = Date.UTC(2026, 11, 2, 9, 0, 0);
  for (let i = 0; i < ENTRIES; i++) {
    await db.prisma.$transaction((tx) =>
      appendLedgerEntry(
        tx,
        {
          type: i % 2 === 0 ? "request.created" : "vote.approved",
          requestId: `AR-${i}`,
          subjectId: i % 3 === 0 ? null : `U0SUB${i}`,
          resource: i % 4 === 0 ? null : "prod-db",
          actor: i % 5 === 0 ? { kind: "system", name: "accessbot" } : { kind: "user", user_id: `U0ACT${i}`, name: `José "${i}"` },
          data: { reason: `needs \\ access\nnow ✓ "${i}"`, nested: [1, -2, { deep: [true, false, null] }], emoji: "🔑" },
        },
        new Date(start + i * 1000),
      ),
    );
  }
}

async function tamper(db: Database, ...statements: string[]): Promise<void> {
  const admin = privilegedPrisma(db);
  await admin.$executeRawUnsafe("ALTER TABLE ledger_entry DISABLE TRIGGER USER");
  try {
    for (const statement of statements) await admin.$executeRawUnsafe(statement);
  } finally {
    await admin.$executeRawUnsafe("ALTER TABLE ledger_entry ENABLE TRIGGER USER");
  }
}

async function rowOf(db: Database, seq: number): Promise<{ body: string; prevHash: string; hash: string }> {
  const row = await privilegedPrisma(db).ledgerEntry.findUniqueOrThrow({ where: { seq: BigInt(seq) } });
  return { body: row.body, prevHash: row.prevHash, hash: row.hash };
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

for (const target of testDatabases) {
  describe(`verify: COPY and worker chunks (${target.name})`, () => {
    let db: Database;
    let client: pg.Client | null = null;
    before(async () => {
      db = await target.open();
      if (target.name === "postgres") {
        const [row] = await db.prisma.$queryRaw<Array<{ schema: string }>>`SELECT current_schema() AS schema`;
        client = new pg.Client({ connectionString: connectionStringWithSearchPath(process.env.TEST_DATABASE_URL!, row!.schema) });
        await client.connect();
      }
    });
    after(async () => {
      await client?.end();
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
      await seed(db);
    });

    /** Both paths where both exist; they must agree to the letter. */
    async function verifyBoth(options: VerifyLedgerOptions = {}): Promise<VerifyResult> {
      const rows = await verifyLedger(readLedgerRows(createPrismaLedgerQuery(db.prisma)), options);
      if (!client) return rows;
      for (const workers of [0, 2]) {
        const copied = await verifyLedger(readLedgerRows(createPgLedgerQuery(client)), { ...options, chunkEntries: CHUNK, workers });
        assert.deepEqual(copied, rows, `COPY path with ${workers} workers`);
      }
      // The connection is still usable after a COPY that stopped early.
      assert.equal((await client.query("SELECT 1 AS one")).rows[0].one, 1);
      return rows;
    }

    test("an intact ledger with escapes, non-ASCII text and NULL columns verifies, checkpoints on chunk boundaries included", async () => {
      const eight = await rowOf(db, 8);
      const twelve = await rowOf(db, 12);
      const result = await verifyBoth({ checkpoints: [{ seq: 8n, hash: eight.hash, source: "test" }, { seq: 12n, hash: twelve.hash, source: "test" }] });
      assert.equal(result.ok, true);
      assert.ok(result.ok);
      assert.equal(result.entries, ENTRIES);
      assert.equal(result.headHash, twelve.hash);
      assert.equal(result.checkpointsChecked, 2);
    });

    test("a body changed in the middle of a chunk: hash-mismatch at that seq", async () => {
      await tamper(db, `UPDATE ledger_entry SET body = replace(body, 'prod-db', 'prod-dc') WHERE seq = 7`);
      const result = await verifyBoth();
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 7n);
      assert.equal(result.reason, "hash-mismatch");
    });

    test("a broken prev_hash link exactly at a chunk boundary: broken-link at the chunk's first seq", async () => {
      const five = await rowOf(db, 5);
      const forgedPrev = randomBytes(32).toString("hex");
      // Self-consistent (its own hash recomputes), only the link to entry 4 is wrong.
      await tamper(db, `UPDATE ledger_entry SET prev_hash = ${quote(forgedPrev)}, hash = ${quote(computeEntryHash(forgedPrev, five.body))} WHERE seq = 5`);
      const result = await verifyBoth();
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 5n);
      assert.equal(result.reason, "broken-link");
      assert.match(result.detail, /entry 5's prev_hash .* is not the hash of entry 4/);
    });

    test("a column that differs from the hashed body: malformed at that seq, naming the column", async () => {
      await tamper(db, `UPDATE ledger_entry SET resource = 'billing' WHERE seq = 9`);
      const result = await verifyBoth();
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 9n);
      assert.equal(result.reason, "malformed");
      assert.match(result.detail, /column resource is "billing" but the hashed body says/);
    });

    test("an actor_id that differs from the body's actor: malformed at that seq", async () => {
      await tamper(db, `UPDATE ledger_entry SET actor_id = 'U0FORGED' WHERE seq = 4`);
      const result = await verifyBoth();
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 4n);
      assert.match(result.detail, /column actor_id is "U0FORGED"/);
    });

    test("a checkpoint at a chunk's last entry that does not match: checkpoint-mismatch there", async () => {
      const result = await verifyBoth({ checkpoints: [{ seq: 8n, hash: "f".repeat(64), source: "test" }] });
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 8n);
      assert.equal(result.reason, "checkpoint-mismatch");
    });

    test("a missing entry at a chunk boundary: gap at that seq", async () => {
      await tamper(db, `DELETE FROM ledger_entry WHERE seq = 9`);
      const result = await verifyBoth();
      assert.ok(!result.ok);
      assert.equal(result.firstBadSeq, 9n);
      assert.equal(result.reason, "gap");
    });
  });
}

describe("scanCanonicalBody", () => {
  const members = new Int32Array(BODY_MEMBER_SLOTS);
  const scan = (text: string) => scanCanonicalBody(Buffer.from(text, "utf8"), members);

  test("accepts canonical bodies and finds their members", () => {
    const body = '{"actor":{"kind":"user","user_id":"U1"},"data":{"a":[1,-2,0,{"b":null}],"t":"\\"x\\u00e9\\n"},"request_id":null,"seq":"42","ts":"2026-12-02T00:00:00.000Z","type":"t","v":1}';
    assert.equal(scan(body), true);
    const text = (slot: number) => body.slice(members[2 * slot]!, members[2 * slot + 1]!);
    assert.equal(text(BODY_MEMBER.seq), '"42"');
    assert.equal(text(BODY_MEMBER.actorUserId), '"U1"');
    assert.equal(text(BODY_MEMBER.requestId), "null");
    assert.equal(members[2 * BODY_MEMBER.resource], -1);
  });

  test("whatever it accepts, JSON.parse accepts; it declines what it cannot be sure of", () => {
    const cases = ['{"seq":"1"}', "{}", "[]", '{"a":01}', '{"a":1.5}', '{"a":1e3}', '{"a":"\\x"}', '{"a":"\u0001"}', '{"a":1,}', '{"a" :1}', '{"a":tru}', '{"a":[1,]}', '{"se\\u0071":"1"}', '{"seq":"1","seq":"2"}', '{"a":1} ', '{"a":"\\ud800"}', '{"a":{"b":[{"c":"d"}]}}', '{"a":-}', '{"a":"unterminated}'];
    for (const text of cases) {
      if (scan(text)) assert.doesNotThrow(() => JSON.parse(text), text);
    }
    for (const text of ['{"a":01}', '{"a":1,}', '{"se\\u0071":"1"}', '{"a":1.5}', "[]", '{"a":"unterminated}']) assert.equal(scan(text), false, text);
    // A duplicated member is marked so, and the caller leaves the entry to the exact check.
    assert.equal(scan('{"seq":"1","seq":"2"}'), true);
    assert.equal(members[2 * BODY_MEMBER.seq], -2);
    assert.equal(scan(`${"[".repeat(1000)}${"]".repeat(1000)}`), false);
  });
});
