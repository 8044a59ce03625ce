import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import { readLedgerRows } from "../src/audit/read-ledger-rows.js";
import { verifyLedger } from "../src/audit/verify-ledger.js";
import { connectionStringWithSearchPath, type Database } from "../src/db/open-database.js";
import { PrismaClient } from "../src/generated/prisma/client.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import type { LedgerEventInput } from "../src/ledger/ledger-hash.js";
import { testDatabases } from "./support/test-databases.js";

const POSTGRES_URL = process.env.TEST_DATABASE_URL?.trim() || null;
const APPENDS = 500;
const CLIENTS = 4;

function vote(index: number): LedgerEventInput {
  const blocks = [{ type: "header", text: { type: "plain_text", text: `Access request AR-${String(index).padStart(8, "0")}: prod-db` } }];
  return {
    type: "vote.approved",
    requestId: `AR-${String(index).padStart(8, "0")}`,
    subjectId: "U0ENG0001",
    resource: "prod-db",
    actor: { kind: "user", user_id: `U0SRE${String(index % 7).padStart(4, "0")}`, team_id: "T0001", name: "approver" },
    data: { decision: "approve", counted_toward: "sre-leads", voter_groups: ["sre-leads"], seen: { blocks, sha256: "0".repeat(64) }, burst_index: index },
  };
}

/** Fires every append at once, spread round-robin over the clients, and returns the seqs they got. */
async function burst(clients: PrismaClient[]): Promise<bigint[]> {
  const appends = Array.from({ length: APPENDS }, (_, index) =>
    clients[index % clients.length]!.$transaction((tx) => appendLedgerEntry(tx, vote(index), new Date()), {
      // 500 transactions queue on one advisory lock (and on pool slots): waiting is expected.
      maxWait: 60_000,
      timeout: 60_000,
    }),
  );
  return (await Promise.all(appends)).map((entry) => entry.seq);
}

async function assertChain(db: Database, seqs: bigint[]): Promise<void> {
  const sorted = [...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(new Set(sorted).size, APPENDS, "no two appends got the same seq");
  assert.deepEqual(sorted, Array.from({ length: APPENDS }, (_, index) => BigInt(index + 1)), "seq 1..500 with no gap");
  const stored = await db.prisma.ledgerEntry.findMany({ select: { seq: true, hash: true }, orderBy: { seq: "asc" } });
  assert.equal(stored.length, APPENDS);
  assert.equal(new Set(stored.map((row) => row.hash)).size, APPENDS);
  const indexes = new Set(
    (await db.prisma.ledgerEntry.findMany({ select: { body: true } })).map((row) => (JSON.parse(row.body) as { data: { burst_index: number } }).data.burst_index),
  );
  assert.equal(indexes.size, APPENDS, "every append is in the ledger exactly once");

  const result = await verifyLedger(readLedgerRows(createPrismaLedgerQuery(db.prisma), { pageSize: 128 }));
  assert.ok(result.ok, JSON.stringify(result, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
  assert.equal(result.entries, APPENDS);
  assert.equal(result.headSeq, BigInt(APPENDS));
  assert.equal(result.headHash, stored.at(-1)!.hash);
}

describe("ledger appends under concurrency", () => {
  for (const target of testDatabases) {
    if (target.name === "postgres") {
      test(`${APPENDS} concurrent appends from ${CLIENTS} separate PrismaClients (own pools) on PostgreSQL form one gapless chain`, async () => {
        const db = await target.open();
        const [row] = await db.prisma.$queryRaw<Array<{ schema: string }>>`SELECT current_schema() AS schema`;
        const schema = row!.schema;
        // Separate clients, each with its own pool, as separate bot replicas would have.
        const pools = Array.from({ length: CLIENTS }, () => new pg.Pool({ connectionString: connectionStringWithSearchPath(POSTGRES_URL!, schema), max: 5 }));
        const clients = pools.map((pool) => new PrismaClient({ adapter: new PrismaPg(pool, { schema }) }));
        try {
          const backends = await Promise.all(clients.map((client) => client.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`));
          assert.equal(new Set(backends.map((rows) => rows[0]!.pid)).size, CLIENTS, "the clients use different server connections");

          const seqs = await burst(clients);
          await assertChain(db, seqs);

          const url = new URL(POSTGRES_URL!);
          url.searchParams.set("schema", schema);
          const logs: string[] = [];
          const code = await runAuditCli(["verify"], { log: (text) => logs.push(text), error: (text) => logs.push(text) }, { env: { DATABASE_URL: url.toString() }, progress: null });
          assert.equal(code, 0, logs.join("\n"));
          assert.match(logs.join("\n"), new RegExp(`Ledger intact: ${APPENDS} entries`));
        } finally {
          await Promise.all(clients.map((client) => client.$disconnect()));
          await Promise.all(pools.map((pool) => pool.end()));
          await db.close();
        }
      });
    } else {
      test(`${APPENDS} concurrent appends on PGlite (one connection) form one gapless chain`, async () => {
        const db = await target.open();
        try {
          const seqs = await burst([db.prisma]);
          await assertChain(db, seqs);
        } finally {
          await db.close();
        }
      });
    }
  }
  if (!POSTGRES_URL) test("PostgreSQL with several clients", { skip: "set TEST_DATABASE_URL to run against PostgreSQL" }, () => {});
});
