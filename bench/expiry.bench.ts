// `npm run bench:expiry`: how fast 10,000 grants that all end within the same minute are
// expired and revoked through a webhook provisioner, with 1 and with 3 bot processes on one
// PostgreSQL database, against the bare cost of delivering the same number of signed POSTs.
//
// For each process count (BENCH_EXPIRY_PROCESSES, default "1,3"):
//  1. A scratch schema on PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else
//     postgresql://postgres@127.0.0.1:5432/test), which the bots create and migrate on start.
//  2. A Slack simulator, a grant webhook server (test/support/grant-webhook-server.ts, answers
//     200 at once) and N real bot processes (`node bin/accessbot.mjs start`, HTTP mode; another
//     entry, e.g. a build or a snapshot of a commit, with ACCESSBOT_TEST_BOT_ENTRY).
//  3. Once they are healthy, BENCH_GRANTS (default 10,000) approved requests and ACTIVE webhook
//     grants are inserted with SQL, their expires_at spread evenly over 60 s starting 20 s later
//     (warned_at set: their expiry warning went out 10 minutes before, as it would have).
//  4. Waits (at most BENCH_DRAIN_LIMIT_MS, default 10 min, after the last expires_at) until the
//     webhook has received a revoke for every grant; reports the window from
//     the first expires_at to the last revoke, grants/s over it, and p50/p99/max of
//     (revoke received − expires_at). Then checks the ledger: one grant.expired and one
//     grant.deprovisioned per grant.
// Baseline, same run: a plain client POSTs the same number of signed revoke bodies to a fresh
// webhook server with the bots' concurrency (the job worker runs 16 jobs at once per process).
// Prints a table, and writes it into bench/RESULTS.md under its own heading (replacing an
// earlier run of this benchmark, keeping everything else).
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { REPLICA_APPROVERS, REPLICA_RESOURCE, signGrantWebhook, startGrantWebhookServer, writeReplicaPolicy, type GrantWebhookServer } from "../test/support/grant-webhook-server.js";
import type { SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { sleep, startBotProcess, startReplicaSimulator, type BotProcess } from "../test/support/start-bot-process.js";

const GRANTS = Number(process.env.BENCH_GRANTS ?? 10_000);
const PROCESS_COUNTS = (process.env.BENCH_EXPIRY_PROCESSES ?? "1,3").split(",").map(Number);
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const LEAD_MS = 20_000;
const SPREAD_MS = 60_000;
/** The job worker's default concurrency (src/jobs/job-worker.ts: 16 jobs at once per process). */
const WORKER_CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 16);
/** Stop waiting this long after the last expires_at; grants not revoked by then are reported as such. */
const DRAIN_LIMIT_MS = Number(process.env.BENCH_DRAIN_LIMIT_MS ?? 10 * 60_000);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "warn";
const SIGNING_SECRET = "bench-signing-secret-0123456789abcdef";
const WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef";
const RESULTS = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
const HEADING = "# Benchmark: 10,000 grants expiring in the same minute (webhook provisioner)";
const POLICY_SHA = "0".repeat(64);

const log = (text: string) => process.stderr.write(`${text}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function quantile<T>(sorted: T[], q: number): T | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A latency quantile as text; "> x" when it falls among grants that were never revoked. */
function latencyAt(latencies: RunResult["latencies"], q: number): string {
  const value = quantile(latencies, q);
  if (!value) return "–";
  return value.censored ? `> ${fmt(value.ms)}` : fmt(value.ms);
}

interface RunResult {
  label: string;
  processes: number;
  concurrency: number;
  /** Grants revoked within the drain limit. */
  grants: number;
  /** First expires_at → last revoke received. */
  windowMs: number;
  /** Last expires_at → last revoke received: how far behind the bots ended. */
  tailMs: number;
  /** Per grant, sorted: revoke received − expires_at; for a grant never revoked, (end of waiting − expires_at), censored. */
  latencies: Array<{ ms: number; censored: boolean }>;
  /** How long after the last expires_at the run stopped waiting (DRAIN_LIMIT_MS), when some grants were not revoked. */
  gaveUpAfterMs: number | null;
  /** The most jobs waiting at once (sampled every 10 s), and every job the bots finished meanwhile. */
  peakPendingJobs: number;
  jobsDone: number;
  notes: string[];
}

interface BaselineResult {
  when: "before" | "after";
  concurrency: number;
  posts: number;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Baseline: the webhook server alone, fed by a plain concurrent client

async function baseline(concurrency: number, when: BaselineResult["when"]): Promise<BaselineResult> {
  const server = await startGrantWebhookServer({ secret: WEBHOOK_SECRET });
  try {
    const expiresAt = new Date().toISOString();
    const bodies = Array.from({ length: GRANTS }, (_, index) =>
      JSON.stringify({ action: "revoke", grant_id: grantId(index), request_id: requestId(index), resource: REPLICA_RESOURCE, user: { id: userId(index), email: `${userId(index).toLowerCase()}@example.com`, name: userId(index).toLowerCase() }, expires_at: expiresAt, reason: "benchmark", attempt: 1 }),
    );
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const index = next++;
          const body = bodies[index]!;
          const timestamp = String(Math.floor(Date.now() / 1000));
          const response = await fetch(server.grantUrl, {
            method: "POST",
            headers: { "content-type": "application/json", "x-accessbot-timestamp": timestamp, "x-accessbot-signature": signGrantWebhook(WEBHOOK_SECRET, timestamp, body), "idempotency-key": `${grantId(index)}:revoke` },
            body,
          });
          await response.text();
          if (response.status !== 200) throw new Error(`baseline POST answered ${response.status}`);
        }
      }),
    );
    const ms = performance.now() - started;
    const valid = server.calls.filter((call) => call.signatureValid).length;
    if (valid !== GRANTS) throw new Error(`baseline: ${valid} validly signed calls of ${GRANTS}`);
    return { when, concurrency, posts: GRANTS, ms };
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Seeding: approved requests with ACTIVE grants, straight into the tables

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function base32(n: number, width: number): string {
  let out = "";
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 32]! + out;
    n = Math.floor(n / 32);
  }
  return out;
}
const userId = (index: number) => `U0B${String(index).padStart(5, "0")}`;
const requestId = (index: number) => `AR-B${base32(index, 7)}`;
const grantId = (index: number) => `GR-B${base32(index, 7)}`;

/** Inserts `GRANTS` requests (APPROVED) and grants (ACTIVE, provisioned by the webhook), relying on column defaults for the rest. */
async function seed(client: pg.Client, firstExpiry: number): Promise<{ first: Date; last: Date }> {
  const now = Date.now();
  const expiries: Date[] = Array.from({ length: GRANTS }, (_, index) => new Date(firstExpiry + Math.floor((index * SPREAD_MS) / Math.max(1, GRANTS - 1))));
  const BATCH = 2000;
  for (let start = 0; start < GRANTS; start += BATCH) {
    const indexes = Array.from({ length: Math.min(BATCH, GRANTS - start) }, (_, offset) => start + offset);
    const activated = indexes.map((index) => new Date(expiries[index]!.getTime() - 60 * 60 * 1000));
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO access_request (id, team_id, requester_id, requester_name, resource, duration_seconds, reason, status, policy_sha256, idempotency_key, created_at, pending_until, decided_at, decided_by)
       SELECT r.id, 'T0SIMTEAM1', r.user_id, lower(r.user_id), $3, 3600, 'benchmark', 'APPROVED', $4, 'bench:' || r.id, r.activated_at, r.activated_at + interval '1 day', r.activated_at, $5
       FROM unnest($1::text[], $2::text[], $6::timestamptz[]) AS r(id, user_id, activated_at)`,
      [indexes.map(requestId), indexes.map(userId), REPLICA_RESOURCE, POLICY_SHA, REPLICA_APPROVERS[0], activated],
    );
    await client.query(
      `INSERT INTO "grant" (id, request_id, user_id, resource, status, activated_at, expires_at, provisioner, warned_at)
       SELECT g.id, g.request_id, g.user_id, $4, 'ACTIVE', g.activated_at, g.expires_at, 'webhook', g.expires_at - interval '10 minutes'
       FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[], $6::timestamptz[]) AS g(id, request_id, user_id, activated_at, expires_at)`,
      [indexes.map(grantId), indexes.map(requestId), indexes.map(userId), REPLICA_RESOURCE, activated, indexes.map((index) => expiries[index]!)],
    );
    await client.query("COMMIT");
  }
  log(`  seeded ${fmt(GRANTS)} grants in ${fmt((Date.now() - now) / 1000, 1)} s`);
  return { first: expiries[0]!, last: expiries.at(-1)! };
}

// ---------------------------------------------------------------------------------------------
// One run: N bot processes expire and revoke every grant

async function run(processes: number): Promise<RunResult> {
  const schema = `bench_${randomBytes(5).toString("hex")}`;
  const url = new URL(BASE_URL);
  url.searchParams.set("schema", schema);
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "accessbot-bench-expiry-"));
  const users = Array.from({ length: GRANTS }, (_, index) => userId(index));
  let sim: SlackSimulator | undefined;
  let webhook: GrantWebhookServer | undefined;
  const bots: BotProcess[] = [];
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  try {
    log(`\n${processes} bot process${processes === 1 ? "" : "es"}: schema ${schema}`);
    sim = await startReplicaSimulator(users, REPLICA_APPROVERS);
    webhook = await startGrantWebhookServer({ secret: WEBHOOK_SECRET });
    const policyFile = writeReplicaPolicy(workDir, { grantUrl: webhook.grantUrl, timeout: "10s" });
    const env = {
      DATABASE_URL: url.toString(),
      SLACK_BOT_TOKEN: sim.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: sim.apiUrl,
      ACCESS_POLICY_FILE: policyFile,
      LOG_LEVEL,
      GRANT_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    bots.push(...(await Promise.all(Array.from({ length: processes }, (_, index) => startBotProcess({ name: `bench-${index + 1}`, env, cwd: workDir, healthTimeoutMs: 120_000 })))));
    log(`  ${processes} healthy (pids ${bots.map((bot) => bot.pid).join(", ")})`);

    const client = new pg.Client({ connectionString: withSearchPath(BASE_URL, schema) });
    await client.connect();
    let window: { first: Date; last: Date };
    try {
      window = await seed(client, Date.now() + LEAD_MS);
    } finally {
      await client.end();
    }

    // Wait for every revoke (bounded), reporting progress every 10 s.
    const deadline = window.last.getTime() + DRAIN_LIMIT_MS;
    const revoked = () => webhook!.calls.filter((call) => call.action === "revoke" && call.outcome === 200);
    let lastReport = 0;
    let gaveUpAt: number | null = null;
    let peakPendingJobs = 0;
    for (;;) {
      const count = new Set(revoked().map((call) => call.grant_id)).size;
      if (count >= GRANTS) break;
      if (Date.now() > deadline) {
        gaveUpAt = Date.now();
        log(`  giving up: ${fmt(count)} of ${fmt(GRANTS)} revoked ${fmt(DRAIN_LIMIT_MS / 1000)} s after the last expiry`);
        break;
      }
      for (const bot of bots) if (!bot.running) throw new Error(`${bot.name} exited: ${bot.tail(20)}`);
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const sinceFirst = (Date.now() - window.first.getTime()) / 1000;
        const jobs = await jobCounts(admin, schema);
        peakPendingJobs = Math.max(peakPendingJobs, jobs.pending);
        log(`  ${sinceFirst < 0 ? `${fmt(-sinceFirst, 0)} s before the first expiry` : `${fmt(sinceFirst, 0)} s after the first expiry`}: ${fmt(count)} revoked; jobs waiting ${fmt(jobs.pending)}, done ${fmt(jobs.done)}`);
      }
      await sleep(250);
    }

    const calls = revoked();
    const firstRevokePerGrant = new Map<string, number>();
    for (const call of calls) if (!firstRevokePerGrant.has(call.grant_id!)) firstRevokePerGrant.set(call.grant_id!, call.receivedAt);
    const expiresAt = new Map(Array.from({ length: GRANTS }, (_, index) => [grantId(index), window.first.getTime() + Math.floor((index * SPREAD_MS) / Math.max(1, GRANTS - 1))]));
    const latencies = [...expiresAt].map(([id, due]) => {
      const at = firstRevokePerGrant.get(id);
      return at === undefined ? { ms: gaveUpAt! - due, censored: true } : { ms: at - due, censored: false };
    }).sort((a, b) => a.ms - b.ms);
    const lastRevoke = Math.max(...firstRevokePerGrant.values());

    const notes: string[] = [];
    const duplicates = calls.length - firstRevokePerGrant.size;
    if (duplicates > 0) notes.push(`${duplicates} duplicate revoke calls`);
    const early = latencies.filter((latency) => latency.ms < 0).length;
    if (early > 0) notes.push(`${early} revoked before expires_at`);
    const unsigned = webhook.calls.filter((call) => !call.signatureValid).length;
    if (unsigned > 0) notes.push(`${unsigned} unsigned calls`);
    await sleep(3000); // the ledger entry of the last revoke follows its webhook call
    const counts = await admin.query<{ type: string; n: number; grants: number }>(
      `SELECT type, count(*)::int AS n, count(DISTINCT request_id)::int AS grants FROM "${schema}".ledger_entry WHERE type IN ('grant.expired', 'grant.deprovisioned') GROUP BY type ORDER BY type`,
    );
    for (const type of ["grant.deprovisioned", "grant.expired"]) {
      const row = counts.rows.find((candidate) => candidate.type === type);
      // A partial run stops between a revoke call and its ledger entry, so only duplicates count then.
      const short = gaveUpAt === null && (row?.grants ?? 0) < GRANTS;
      if (!row || row.n !== row.grants || short) notes.push(`${type}: ${row?.n ?? 0} entries for ${row?.grants ?? 0} grants`);
    }
    if (gaveUpAt !== null) notes.unshift(`${fmt(GRANTS - firstRevokePerGrant.size)} of ${fmt(GRANTS)} not revoked ${fmt(DRAIN_LIMIT_MS / 1000)} s after the last expiry`);
    const result: RunResult = {
      label: `${processes} bot process${processes === 1 ? "" : "es"}`,
      processes,
      concurrency: processes * WORKER_CONCURRENCY,
      grants: firstRevokePerGrant.size,
      windowMs: lastRevoke - window.first.getTime(),
      tailMs: lastRevoke - window.last.getTime(),
      latencies,
      gaveUpAfterMs: gaveUpAt === null ? null : DRAIN_LIMIT_MS,
      peakPendingJobs,
      jobsDone: (await jobCounts(admin, schema)).done,
      notes,
    };
    log(`  done: last revoke ${fmt(result.tailMs / 1000, 1)} s after the last expiry; p50 ${latencyAt(latencies, 0.5)} ms, p99 ${latencyAt(latencies, 0.99)} ms${notes.length ? `; ${notes.join("; ")}` : ""}`);
    return result;
  } finally {
    await Promise.all(bots.map((bot) => bot.stop({ timeoutMs: 20_000 })));
    await webhook?.close();
    await sim?.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error: unknown) => log(`could not drop ${schema}: ${String(error)}`));
    await admin.end();
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

async function jobCounts(admin: pg.Client, schema: string): Promise<{ pending: number; done: number }> {
  const { rows } = await admin.query<{ pending: number; done: number }>(`SELECT count(*) FILTER (WHERE done_at IS NULL)::int AS pending, count(done_at)::int AS done FROM "${schema}".job`);
  return rows[0] ?? { pending: 0, done: 0 };
}

function withSearchPath(baseUrl: string, schema: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

// ---------------------------------------------------------------------------------------------
// Report

async function pgVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    return String((await client.query<{ version: string }>("SELECT version()")).rows[0]?.version ?? "?").replace(/ on .*/, "");
  } finally {
    await client.end();
  }
}

function report(runs: RunResult[], baselines: BaselineResult[], context: { started: Date; load: number[]; loadAfter: number[]; pg: string }): string {
  const lines: string[] = [];
  lines.push(HEADING, "");
  lines.push(`Produced by \`npm run bench:expiry\` (bench/expiry.bench.ts) on ${context.started.toISOString().slice(0, 10)}.`, "");
  lines.push(`- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; load average (1 min) at the start: ${context.load[0]?.toFixed(2)}, at the end: ${context.loadAfter[0]?.toFixed(2)} (the machine's other work shares the cores too)`);
  lines.push(`- Node ${process.version}; ${context.pg} on the same machine. The bots, PostgreSQL, the Slack simulator and the webhook server share the cores.${process.env.BENCH_BOT_LABEL ? ` Bot: ${process.env.BENCH_BOT_LABEL}.` : ""}`);
  lines.push(`- ${fmt(GRANTS)} ACTIVE grants of one webhook-provisioned resource, one per person, inserted with SQL (already warned of their end, as they would have been 10 minutes earlier); expires_at spread evenly over ${SPREAD_MS / 1000} s, the first ${LEAD_MS / 1000} s after the processes were healthy. Bots at LOG_LEVEL=${LOG_LEVEL}, default sweep schedule (the due timer ends grants as they fall due). A run stops waiting ${fmt(DRAIN_LIMIT_MS / 1000)} s after the last expires_at; a latency shown as "> x" falls among grants not revoked by then.`);
  lines.push("- Each expiry is a transaction (grant.expired in the ledger, a deprovision job, a DM job, a message refresh job), then the job worker POSTs the signed revoke and appends grant.deprovisioned; the audit relay mirrors all ledger entries to the (simulated) audit channel meanwhile.");
  lines.push("- window: first expires_at → last revoke received; grants/s = grants / window (at most " + fmt(GRANTS / (SPREAD_MS / 1000)) + "/s, the rate at which they fall due); latency: revoke received − that grant's expires_at; tail: last expires_at → last revoke; jobs: every durable job (revokes, DMs, message refreshes) finished in the window.", "");
  lines.push("| what | concurrency | grants | window s | grants/s | p50 ms | p99 ms | max ms | tail s | jobs done | jobs/s | peak jobs waiting | notes |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of runs) {
    lines.push(`| ${r.label} | ${r.concurrency} | ${fmt(r.grants)} | ${fmt(r.windowMs / 1000, 1)} | ${fmt(r.grants / (r.windowMs / 1000), 1)} | ${latencyAt(r.latencies, 0.5)} | ${latencyAt(r.latencies, 0.99)} | ${latencyAt(r.latencies, 1)} | ${fmt(r.tailMs / 1000, 1)} | ${fmt(r.jobsDone)} | ${fmt(r.jobsDone / (r.windowMs / 1000), 1)} | ${fmt(r.peakPendingJobs)} | ${r.notes.join("; ") || "every grant: one revoke call, one grant.expired, one grant.deprovisioned"} |`);
  }
  lines.push("", "Baseline: the same webhook server receiving the same number of signed revoke POSTs from a plain client (fetch, keep-alive) with the bots' concurrency, all at once.", "");
  lines.push("| baseline | when | concurrency | POSTs | seconds | POSTs/s |");
  lines.push("|---|---|---:|---:|---:|---:|");
  for (const b of baselines) lines.push(`| webhook server alone | ${b.when} the runs | ${b.concurrency} | ${fmt(b.posts)} | ${fmt(b.ms / 1000, 2)} | ${fmt(b.posts / (b.ms / 1000))} |`);
  lines.push("");
  for (const r of runs) {
    const matching = baselines.filter((candidate) => candidate.concurrency === r.concurrency);
    if (matching.length === 0) continue;
    const baseMs = matching.reduce((sum, b) => sum + b.ms, 0) / matching.length;
    const rate = r.grants / (r.windowMs / 1000);
    const baseRate = GRANTS / (baseMs / 1000);
    lines.push(`- ${r.label}: ${fmt(rate, 1)} grants/s over the window is ${fmt((100 * rate) / baseRate, 1)} % of the bare webhook rate at concurrency ${r.concurrency} (${fmt(baseRate)}/s, the mean of before and after); the window is ${fmt(r.windowMs / baseMs, 1)}× the baseline's time, and the grants fell due over ${SPREAD_MS / 1000} s of it. The last revoke came ${fmt(r.tailMs / 1000, 1)} s after the last expiry.`);
  }
  lines.push("");
  return lines.join("\n");
}

/** Replaces this benchmark's section of RESULTS.md (from its heading to the next top-level heading), or appends it. */
async function writeResults(section: string): Promise<void> {
  const existing = await fs.readFile(RESULTS, "utf8").catch(() => "");
  const start = existing.indexOf(HEADING);
  let text: string;
  if (start === -1) {
    text = `${existing.replace(/\s*$/, "")}\n\n${section}`;
  } else {
    const after = existing.indexOf("\n# ", start + HEADING.length);
    text = `${existing.slice(0, start)}${section}${after === -1 ? "" : `\n${existing.slice(after + 1)}`}`;
  }
  await fs.writeFile(RESULTS, text.replace(/^\s+/, ""));
}

async function main(): Promise<void> {
  const started = new Date();
  const load = os.loadavg();
  const version = await pgVersion();
  const baselines: BaselineResult[] = [];
  const concurrencies = [...new Set(PROCESS_COUNTS.map((count) => count * WORKER_CONCURRENCY))];
  const measureBaselines = async (when: BaselineResult["when"]) => {
    for (const concurrency of concurrencies) {
      const result = await baseline(concurrency, when);
      log(`baseline (${when}): ${fmt(result.posts)} signed POSTs at concurrency ${concurrency} in ${fmt(result.ms / 1000, 2)} s (${fmt(result.posts / (result.ms / 1000))}/s)`);
      baselines.push(result);
    }
  };
  // Before and after the runs: the spread between the two shows how steady the machine was.
  await measureBaselines("before");
  const runs: RunResult[] = [];
  for (const processes of PROCESS_COUNTS) runs.push(await run(processes));
  await measureBaselines("after");
  const section = report(runs, baselines, { started, load, loadAfter: os.loadavg(), pg: version });
  process.stdout.write(`\n${section}\n`);
  if (process.env.BENCH_NO_WRITE !== "1") {
    await writeResults(section);
    log(`wrote ${RESULTS}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench:expiry failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
