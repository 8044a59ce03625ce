// `npm run bench`: how fast `accessbot audit verify` checks a large ledger, against the
// physical limit of hashing the same bytes.
//
// 1. Creates a scratch schema on PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else
//    postgresql://postgres@127.0.0.1:5432/test), migrated like the bot's (triggers included).
// 2. Generates BENCH_ENTRIES (default 1,000,000) valid chained entries with realistic bodies
//    (a request lifecycle: created, two votes with the blocks the approvers saw, grant,
//    expiry) through the real body builder and canonical JSON, and bulk-inserts them.
// 3. Measures, in the same process: `audit verify` on the database (the CLI entry point, 3
//    runs), the same verify streamed through Prisma instead of node-postgres, reading the rows
//    without hashing, and raw sha256 over the exact bytes hashed (prev_hash ‖ body of every
//    entry, from memory): the ratio of the two is how close verify gets to the limit.
// 4. Exports JSONL with `audit export` and verifies the file with `audit verify --file`.
// 5. Writes bench/RESULTS.md and drops the scratch schema (also on failure).
import { createHash, hash as oneShotHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { COPY_COLUMNS } from "../src/audit/verify-copy-chunk.js";
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { createPgLedgerQuery } from "../src/audit/ledger-query.js";
import type { LedgerRecord } from "../src/ledger/ledger-record.js";
import { readLedgerRows } from "../src/audit/read-ledger-rows.js";
import { verifyLedger } from "../src/audit/verify-ledger.js";
import { connectionStringWithSearchPath, openDatabase } from "../src/db/open-database.js";
import { generateLedger, type HashedBytes } from "./support/generate-ledger.js";

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const VERIFY_RUNS = Number(process.env.BENCH_VERIFY_RUNS ?? 3);
const ROW_PATH_RUNS = Number(process.env.BENCH_ROW_PATH_RUNS ?? 1);
const SAMPLE = 100_000;
const RESULTS = fileURLToPath(new URL("./RESULTS.md", import.meta.url));

const log = (text: string) => process.stderr.write(`${text}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function rawSha256(bytes: HashedBytes): { ms: number; entries: number; bytes: number } {
  const started = performance.now();
  let entries = 0;
  let total = 0;
  for (const [index, chunk] of bytes.chunks.entries()) {
    const offsets = bytes.offsets[index]!;
    for (let i = 0; i + 1 < offsets.length; i++) {
      oneShotHash("sha256", chunk.subarray(offsets[i]!, offsets[i + 1]!), "hex");
      entries += 1;
    }
    total += chunk.length;
  }
  return { ms: performance.now() - started, entries, bytes: total };
}

/** `COPY (SELECT <the columns verify reads> …) TO STDOUT` read and dropped. */
async function copyToNowhere(client: pg.Client, format: "binary" | "text"): Promise<number> {
  const started = performance.now();
  const stream = client.query(copyTo(`COPY (SELECT ${COPY_COLUMNS} FROM ledger_entry ORDER BY seq) TO STDOUT (FORMAT ${format})`));
  for await (const _piece of stream as AsyncIterable<Buffer>);
  return performance.now() - started;
}

/** Single-core raw sha256 over a file's bytes, streamed as verify --file reads it. */
async function sha256OfFile(file: string): Promise<number> {
  const started = performance.now();
  const digest = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) digest.update(chunk);
  digest.digest("hex");
  return performance.now() - started;
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string; ms: number }> {
  const lines: string[] = [];
  const started = performance.now();
  const code = await runAuditCli(args, { log: (text) => lines.push(text), error: (text) => lines.push(text) }, { env, progress: null });
  return { code, output: lines.join("\n"), ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const schema = `bench_${Date.now().toString(36)}`;
  const url = new URL(BASE_URL);
  url.searchParams.set("schema", schema);
  const env = { DATABASE_URL: url.toString() };
  const exportFile = path.join(os.tmpdir(), `accessbot-bench-${schema}.jsonl`);
  log(`accessbot audit verify benchmark: ${fmt(ENTRIES)} entries in schema ${schema}`);
  const loadBefore = os.loadavg()[0]!;
  const db = await openDatabase({ target: { kind: "postgres", url: url.toString(), schema }, migrate: true });
  const client = new pg.Client({ connectionString: connectionStringWithSearchPath(BASE_URL, schema) });
  await client.connect();
  try {
    const serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const genStarted = performance.now();
    const { bytes, bodyBytes, headHash } = await generateLedger(client, ENTRIES, log);
    const genMs = performance.now() - genStarted;
    // A live ledger is vacuumed; without this, autovacuum of the fresh rows runs during the
    // measurements and competes for the same 2 cores.
    await client.query("VACUUM (ANALYZE) ledger_entry");
    const tableBytes = Number((await client.query<{ size: string }>("SELECT pg_total_relation_size('ledger_entry')::text AS size")).rows[0]!.size);
    log(`  generated in ${(genMs / 1000).toFixed(1)} s; average body ${(bodyBytes / ENTRIES).toFixed(0)} bytes; table ${(tableBytes / 1e6).toFixed(0)} MB`);

    // The CLI, as an auditor runs it (binary COPY, worker threads, every check), alternating
    // with COPY of the same columns read to nowhere (the least it can cost to get them out of
    // the server) and with the previous row path (keyset pages over node-postgres, every check
    // on this thread), so that all three see the same cache and background load.
    const verifyRuns: number[] = [];
    const copyRuns: number[] = [];
    const textCopyRuns: number[] = [];
    const rowPathRuns: number[] = [];
    let verifyOutput = "";
    for (let run = 1; run <= VERIFY_RUNS; run++) {
      copyRuns.push(await copyToNowhere(client, "binary"));
      textCopyRuns.push(await copyToNowhere(client, "text"));
      const result = await cli(["verify", "--checkpoint", `${ENTRIES}:${headHash}`], env);
      if (result.code !== 0) throw new Error(`audit verify failed (exit ${result.code}):\n${result.output}`);
      verifyRuns.push(result.ms);
      verifyOutput = result.output;
      let rowLine = "";
      if (run <= ROW_PATH_RUNS) {
        const rowStarted = performance.now();
        // Re-yielded pages hide the COPY capability: this is the row path as it was before.
        const viaRows = await verifyLedger((async function* () { yield* readLedgerRows(createPgLedgerQuery(client)); })());
        rowPathRuns.push(performance.now() - rowStarted);
        if (!viaRows.ok) throw new Error(`verify through rows failed: ${viaRows.detail}`);
        rowLine = `, previous row path ${(rowPathRuns.at(-1)! / 1000).toFixed(2)} s`;
      }
      log(`  run ${run}: COPY binary to nowhere ${(copyRuns.at(-1)! / 1000).toFixed(2)} s, text ${(textCopyRuns.at(-1)! / 1000).toFixed(2)} s, audit verify ${(result.ms / 1000).toFixed(2)} s${rowLine}`);
    }
    const hashedBytes = bytes.chunks.reduce((sum, chunk) => sum + chunk.length, 0);

    // Reading only: what the database and the driver cost without any hashing.
    const readStarted = performance.now();
    let read = 0;
    for await (const page of readLedgerRows(createPgLedgerQuery(client))) read += page.length;
    const readMs = performance.now() - readStarted;
    log(`  read only (node-postgres): ${(readMs / 1000).toFixed(2)} s for ${fmt(read)} rows`);

    // Where the verifier's own time goes, per entry, on a sample held in memory.
    const sample: LedgerRecord[] = [];
    for await (const page of readLedgerRows(createPgLedgerQuery(client), { upToSeq: BigInt(Math.min(SAMPLE, ENTRIES)) })) sample.push(...page);
    const perEntry = async (work: () => unknown) => {
      await work(); // warm up
      const started = performance.now();
      await work();
      return ((performance.now() - started) * 1000) / sample.length;
    };
    const breakdown = {
      checks: await perEntry(() => verifyLedger([sample])),
      sha256: await perEntry(() => sample.forEach((entry) => oneShotHash("sha256", entry.prevHash + entry.body, "hex"))),
      parse: await perEntry(() => sample.forEach((entry) => JSON.parse(entry.body))),
    };
    log(`  per entry in memory: all checks ${breakdown.checks.toFixed(2)} µs, sha256 ${breakdown.sha256.toFixed(2)} µs, JSON.parse ${breakdown.parse.toFixed(2)} µs`);

    // The physical limit: sha256 over exactly the bytes verify hashes, already in memory.
    const raw = rawSha256(bytes);
    log(`  raw sha256: ${(raw.ms / 1000).toFixed(2)} s`);

    const exported = await cli(["export", "--format", "jsonl", "--out", exportFile], env);
    if (exported.code !== 0) throw new Error(`audit export failed:\n${exported.output}`);
    const fileBytes = (await fs.stat(exportFile)).size;
    log(`  audit export jsonl: ${(exported.ms / 1000).toFixed(2)} s, ${(fileBytes / 1e6).toFixed(0)} MB`);
    const fileShaRuns: number[] = [];
    const fileVerifyRuns: number[] = [];
    let fileOutput = "";
    for (let run = 1; run <= VERIFY_RUNS; run++) {
      fileShaRuns.push(await sha256OfFile(exportFile));
      const fileVerify = await cli(["verify", "--file", exportFile, "--checkpoint", `${ENTRIES}:${headHash}`], {});
      if (fileVerify.code !== 0) throw new Error(`audit verify --file failed:\n${fileVerify.output}`);
      fileVerifyRuns.push(fileVerify.ms);
      fileOutput = fileVerify.output;
      log(`  run ${run}: sha256 of the file ${(fileShaRuns.at(-1)! / 1000).toFixed(2)} s, audit verify --file ${(fileVerify.ms / 1000).toFixed(2)} s`);
    }

    const verifyMs = median(verifyRuns);
    const copyMs = median(copyRuns);
    const textCopyMs = median(textCopyRuns);
    const rowMs = rowPathRuns.length > 0 ? median(rowPathRuns) : NaN;
    const fileShaMs = median(fileShaRuns);
    const fileVerifyMs = median(fileVerifyRuns);
    const rate = (ms: number) => ENTRIES / (ms / 1000);
    const mbps = (ms: number) => hashedBytes / 1e6 / (ms / 1000);
    const fileMbps = (ms: number) => fileBytes / 1e6 / (ms / 1000);
    const runs = (values: number[]) => values.map((ms) => (ms / 1000).toFixed(2)).join(", ");
    const row = (name: string, ms: number, note: string) => `| ${name} | ${(ms / 1000).toFixed(2)} | ${fmt(rate(ms))} | ${mbps(ms).toFixed(1)} | ${note} |`;
    const cpu = os.cpus();
    const report = `# Benchmark: \`accessbot audit verify\` (${new Date().toISOString().slice(0, 10)}: binary COPY read off the socket, checks in WebAssembly on worker threads)

Produced by \`npm run bench\` (bench/audit-verify.bench.ts).

- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; shared with other workers' processes
- Load average (1 min) before generating: ${loadBefore.toFixed(2)}; after measuring: ${os.loadavg()[0]!.toFixed(2)} (this includes the benchmark itself)
- Node ${process.version}; PostgreSQL ${serverVersion} on the same machine (the database server, the verifier and its worker threads share the ${cpu.length} cores)
- Ledger: ${fmt(ENTRIES)} chained entries (request lifecycles of 5 events); average body ${(bodyBytes / ENTRIES).toFixed(0)} bytes; ${(hashedBytes / 1e6).toFixed(0)} MB hashed (prev_hash ‖ body); table with indexes ${(tableBytes / 1e6).toFixed(0)} MB; generated in ${(genMs / 1000).toFixed(1)} s
- Medians of ${VERIFY_RUNS} alternating runs (all runs listed). MB = 10^6 bytes of prev_hash ‖ body.

| what | seconds | entries/s | MB/s | notes |
|---|---:|---:|---:|---|
${row("`COPY (SELECT <columns verify reads> …) TO STDOUT (FORMAT binary)` to nowhere", copyMs, `${runs(copyRuns)} s: the floor, reading only`)}
${row("the same COPY in text format to nowhere", textCopyMs, `${runs(textCopyRuns)} s`)}
${row("`audit verify` (database)", verifyMs, `${runs(verifyRuns)} s: whole CLI (open, migration check, checkpoints, binary COPY, workers, every check)`)}
${row("previous row path (keyset pages over node-postgres, checks on one thread)", rowMs, `${runs(rowPathRuns)} s: what \`audit verify\` ran before this change`)}
${row("raw sha256 of the same bytes (in memory, one core)", raw.ms, "one-shot sha256 per entry, no I/O")}
${row("`audit export --format jsonl`", exported.ms, `${(fileBytes / 1e6).toFixed(0)} MB file`)}

**Database: \`audit verify\` / COPY binary to nowhere = ${(verifyMs / copyMs).toFixed(2)}×** (goal ≤ 1.5×; against text COPY ${(verifyMs / textCopyMs).toFixed(2)}×); the previous row path took ${(rowMs / copyMs).toFixed(2)}× the COPY time, ${(rowMs / verifyMs).toFixed(1)}× the new verify.

| export file (${(fileBytes / 1e6).toFixed(0)} MB) | seconds | MB/s of file | notes |
|---|---:|---:|---|
| raw sha256 over the file (node:crypto, one core, 1 MiB reads) | ${(fileShaMs / 1000).toFixed(2)} | ${fileMbps(fileShaMs).toFixed(0)} | ${runs(fileShaRuns)} s |
| \`audit verify --file\` | ${(fileVerifyMs / 1000).toFixed(2)} | ${fileMbps(fileVerifyMs).toFixed(0)} | ${runs(fileVerifyRuns)} s |

**File: verify --file throughput / raw sha256 throughput = ${(fileShaMs / fileVerifyMs).toFixed(2)}** (goal ≥ 0.5).

Per entry, in memory, on ${fmt(Math.min(SAMPLE, ENTRIES))} entries (the exact row checks, one thread): all checks ${breakdown.checks.toFixed(2)} µs, of which sha256 ${breakdown.sha256.toFixed(2)} µs and JSON.parse ${breakdown.parse.toFixed(2)} µs; reading rows alone with keyset pages: ${(readMs / 1000).toFixed(2)} s.

Output of the last \`audit verify\` run:

\`\`\`
${verifyOutput}
\`\`\`

Output of the last \`audit verify --file\` run:

\`\`\`
${fileOutput.replace(exportFile, "<export.jsonl>")}
\`\`\`
`;
    await fs.writeFile(RESULTS, replaceOwnSection(await fs.readFile(RESULTS, "utf8").catch(() => ""), report));
    process.stdout.write(report);
    log(`wrote ${RESULTS}`);
  } finally {
    await fs.rm(exportFile, { force: true });
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error: unknown) => log(`could not drop schema ${schema}: ${(error as Error).message}`));
    await client.end();
    await db.close();
  }
}

await main();

/** Replaces this benchmark's section (its heading up to the next top-level heading), keeping the other benchmarks' results. */
function replaceOwnSection(existing: string, report: string): string {
  const heading = report.split("\n", 1)[0]!;
  const start = existing.indexOf(heading);
  if (start < 0) return `${report.trimEnd()}\n\n${existing}`;
  const next = existing.indexOf("\n# ", start + heading.length);
  return `${existing.slice(0, start)}${report.trimEnd()}\n${next < 0 ? "" : `\n${existing.slice(next + 1)}`}`;
}
