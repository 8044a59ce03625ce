// `npm run bench:digest`: how long the weekly digest takes to compute on a busy week (50,000
// requests, with their votes and grants) over a ledger of 1,000,000 entries, against the bare
// cost of the same work in the database, measured in the same run on the same data:
//  - figures: `computeDigestFigures` for the week and the week before (what the digest asks
//    the database), against the very same SQL statements sent through a plain `pg` client;
//  - whole digest: `computeDigest` (figures, the previous digest's sign-off, and the
//    verification of the whole ledger, as the weekly job runs it), against the bare
//    statements plus reading the ledger's hashed columns with `COPY … TO STDOUT` to nowhere.
// A scratch schema on PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else
// postgresql://postgres@127.0.0.1:5432/test), dropped at the end. BENCH_DIGEST_REQUESTS
// (default 50,000) and BENCH_ENTRIES (default 1,000,000) size it; BENCH_DIGEST_RUNS (default 3)
// runs of each, the median reported. Writes its section of bench/RESULTS.md.
import fs from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import { connectionStringWithSearchPath, openDatabase } from "../src/db/open-database.js";
import { computeDigestFigures } from "../src/db/compute-digest-figures.js";
import { computeDigest } from "../src/digest/compute-digest.js";
import { periodBefore, periodOfDates } from "../src/domain/digest-period.js";
import type { PrismaClient } from "../src/generated/prisma/client.js";
import { buildDigestMessage } from "../src/slack/blocks/build-digest-message.js";
import { generateLedger } from "./support/generate-ledger.js";

const REQUESTS = Number(process.env.BENCH_DIGEST_REQUESTS ?? 50_000);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_DIGEST_RUNS ?? 3);
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const RESULTS = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
const HEADING = "# Benchmark: the weekly digest on 50,000 requests and 1,000,000 ledger entries (`npm run bench:digest`)";
const TZ = "UTC";

const log = (text: string) => process.stderr.write(`${text}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Every SQL statement `computeDigestFigures` sends, with its parameters, by watching one run. */
async function recordStatements(prisma: PrismaClient, run: (client: PrismaClient) => Promise<unknown>): Promise<Array<{ sql: string; params: unknown[] }>> {
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  const watching = new Proxy(prisma, {
    get(target, key, receiver) {
      if (key === "$queryRawUnsafe") {
        return (sql: string, ...params: unknown[]) => {
          seen.push({ sql, params });
          return target.$queryRawUnsafe(sql, ...params);
        };
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  await run(watching);
  return seen;
}

/** `COPY (…) TO STDOUT` read and dropped: the least it costs to get the ledger out of the database. */
async function copyLedgerToNowhere(client: pg.Client): Promise<number> {
  const started = performance.now();
  const stream = client.query(copyTo("COPY (SELECT seq, ts, type, request_id, actor_id, subject_id, resource, body, prev_hash, hash FROM ledger_entry ORDER BY seq) TO STDOUT"));
  await pipeline(stream, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return performance.now() - started;
}

async function seedWeek(client: pg.Client, since: Date): Promise<void> {
  const s = since.getTime() / 1000;
  const spread = 604_799 / REQUESTS;
  await client.query(`
    INSERT INTO access_request (id, team_id, requester_id, requester_name, resource, duration_seconds, reason, status, policy_sha256, idempotency_key, created_at, pending_until, decided_at, break_glass)
    SELECT 'AR-B' || lpad(i::text, 8, '0'), 'T0BENCH', 'U0BENCH' || (i % 500), 'bench user ' || (i % 500), 'resource-' || (i % 40), 3600 * (1 + i % 4), 'bench',
           (ARRAY['APPROVED','APPROVED','DENIED','EXPIRED','CANCELLED']::"RequestStatus"[])[1 + i % 5], repeat('0', 64), 'bench-' || i,
           to_timestamp(${s} + i * ${spread}), to_timestamp(${s} + i * ${spread} + 86400),
           CASE WHEN i % 5 < 3 THEN to_timestamp(${s} + i * ${spread} + (i % 900)) END, i % 997 = 0
      FROM generate_series(1, ${REQUESTS}) AS i`);
  // One approval (or denial) per decided request, from 60 approvers.
  await client.query(`
    INSERT INTO vote (request_id, voter_id, voter_name, decision, ledger_seq, created_at)
    SELECT id, 'U0APPR' || (abs(hashtext(id)) % 60), 'approver', CASE WHEN status = 'DENIED' THEN 'DENY' ELSE 'APPROVE' END::"VoteDecision", 1, decided_at
      FROM access_request WHERE decided_at IS NOT NULL`);
  await client.query(`
    INSERT INTO "grant" (id, request_id, user_id, resource, status, activated_at, expires_at)
    SELECT 'GR-' || substr(id, 4), id, requester_id, resource, 'EXPIRED', decided_at, decided_at + make_interval(secs => duration_seconds)
      FROM access_request WHERE status = 'APPROVED'`);
  await client.query("VACUUM (ANALYZE)");
}

async function main(): Promise<void> {
  const schema = `bench_digest_${Date.now().toString(36)}`;
  const url = new URL(BASE_URL);
  url.searchParams.set("schema", schema);
  log(`digest benchmark: ${fmt(REQUESTS)} requests in a week, ${fmt(ENTRIES)} ledger entries, schema ${schema}`);
  const loadBefore = os.loadavg()[0]!;
  const db = await openDatabase({ target: { kind: "postgres", url: url.toString(), schema }, migrate: true });
  const client = new pg.Client({ connectionString: connectionStringWithSearchPath(BASE_URL, schema) });
  await client.connect();
  try {
    // The ledger's entries run from 2026-01-01 one second apart; the busy week is the one after.
    const week = periodOfDates("2026-01-05", "2026-01-11", TZ);
    const genStarted = performance.now();
    await generateLedger(client, ENTRIES, log);
    await seedWeek(client, week.since);
    log(`  seeded in ${((performance.now() - genStarted) / 1000).toFixed(1)} s`);

    const now = new Date(week.until.getTime() + 24 * 3600 * 1000);
    const figures = async (prisma: PrismaClient) => {
      await computeDigestFigures(prisma, week, now);
      await computeDigestFigures(prisma, periodBefore(week), now);
    };
    const statements = await recordStatements(db.prisma, figures);
    const figureRuns: number[] = [];
    const bareRuns: number[] = [];
    const digestRuns: number[] = [];
    const copyRuns: number[] = [];
    let blocks = 0;
    for (let run = 1; run <= RUNS; run++) {
      let started = performance.now();
      await figures(db.prisma);
      figureRuns.push(performance.now() - started);

      started = performance.now();
      for (const statement of statements) await client.query(statement.sql, statement.params);
      bareRuns.push(performance.now() - started);

      started = performance.now();
      const report = await computeDigest(db.prisma, createPrismaLedgerQuery(db.prisma), week, now);
      digestRuns.push(performance.now() - started);
      if (report.requests !== REQUESTS || !report.ledger.verified || report.ledger.entries !== ENTRIES) throw new Error(`unexpected digest: ${report.requests} requests, ledger ${JSON.stringify(report.ledger)}`);
      blocks = buildDigestMessage(report).blocks.length;

      copyRuns.push(await copyLedgerToNowhere(client));
      log(`  run ${run}: figures ${figureRuns.at(-1)!.toFixed(0)} ms (bare ${bareRuns.at(-1)!.toFixed(0)} ms); whole digest ${(digestRuns.at(-1)! / 1000).toFixed(2)} s (COPY of the ledger ${(copyRuns.at(-1)! / 1000).toFixed(2)} s)`);
    }
    const figureMs = median(figureRuns);
    const bareMs = median(bareRuns);
    const digestMs = median(digestRuns);
    const baselineMs = median(bareRuns) + median(copyRuns);
    const report = `${HEADING}

${new Date().toISOString().slice(0, 10)}, PostgreSQL on the same machine (2 cores, Node ${process.version}); load average (1 min) before seeding ${loadBefore.toFixed(2)}, after ${os.loadavg()[0]!.toFixed(2)}. ${fmt(REQUESTS)} requests in the week (with ${fmt(REQUESTS * 0.6)} votes and ${fmt(REQUESTS * 0.4)} grants), the week before empty, ${fmt(ENTRIES)} ledger entries; median of ${RUNS} runs.

| | digest | baseline (same run) | ratio |
|---|---:|---:|---:|
| figures of the week and the week before (${statements.length} aggregate statements) | ${figureMs.toFixed(0)} ms | ${bareMs.toFixed(0)} ms: the same SQL through a plain \`pg\` client | ${(figureMs / bareMs).toFixed(2)}× |
| whole digest, as the weekly job computes it (figures + verification of the whole ledger) | ${(digestMs / 1000).toFixed(2)} s | ${(baselineMs / 1000).toFixed(2)} s: the same SQL + \`COPY\` of the ledger to nowhere | ${(digestMs / baselineMs).toFixed(2)}× |

The message built from it has ${blocks} blocks (Slack's limit: 50). The figures are aggregate queries on indexed ranges, so their cost follows the week's rows, not the table's; the whole digest is dominated by verifying every entry of the ledger (the digest is also a checkpoint), which costs what \`accessbot audit verify\` costs.
`;
    process.stdout.write(`\n${report}\n`);
    const existing = await fs.readFile(RESULTS, "utf8").catch(() => "");
    await fs.writeFile(RESULTS, replaceOwnSection(existing, report));
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await client.end();
    await db.close();
  }
}

function replaceOwnSection(existing: string, report: string): string {
  const start = existing.indexOf(HEADING);
  if (start < 0) return `${existing.trimEnd()}\n\n${report}`;
  const next = existing.indexOf("\n# ", start + HEADING.length);
  return `${existing.slice(0, start)}${report.trimEnd()}\n${next < 0 ? "" : `\n${existing.slice(next + 1)}`}`;
}

await main();
