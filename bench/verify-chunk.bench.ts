// `npm run bench:verify-chunk`: the per-entry CPU cost of what one verify worker thread does,
// on one thread, in memory, against raw sha256 of the same bytes in the same run. This is the
// part of `audit verify` that the full benchmark (npm run bench) cannot show apart from I/O and
// the database server; it needs no database and runs in under a minute.
//
// 1. Generates BENCH_ENTRIES (default 100,000) realistic chained entries (bench/support).
// 2. Lays them out as the verifier receives them: JSONL export lines cut into 1 MiB runs of
//    whole lines (as readJsonlLineRuns yields them), and binary COPY tuples, each in its
//    CopyData message, in chunks of 2,000 (as copy-out-tuples.ts cuts them).
// 3. Times, best of BENCH_ROUNDS (default 5): raw sha256 over the JSONL bytes (one-shot per
//    1 MiB run), sha256 of each prev_hash ‖ body, the body scan alone, and the two chunk checks.
import { hash as oneShotHash } from "node:crypto";
import os from "node:os";
import { formatJsonlLine } from "../src/audit/format-jsonl-line.js";
import { BODY_MEMBER_SLOTS, scanCanonicalBody } from "../src/audit/scan-canonical-body.js";
import { verifyCopyChunk } from "../src/audit/verify-copy-chunk.js";
import { verifyJsonlChunk } from "../src/audit/verify-jsonl-chunk.js";
import { ledgerRecords } from "./support/generate-ledger.js";

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RUN_BYTES = 1 << 20;
const COPY_CHUNK_ENTRIES = 2000;

const lines: Buffer[] = [];
const hashed: Buffer[] = [];
const bodies: Buffer[] = [];
const copyTuples: Buffer[] = [];
for (const record of ledgerRecords(ENTRIES)) {
  lines.push(Buffer.from(formatJsonlLine(record), "utf8"));
  hashed.push(Buffer.from(record.prevHash + record.body, "utf8"));
  bodies.push(Buffer.from(record.body, "utf8"));
  const fields = [record.ts, record.type, record.requestId, record.actorId, record.subjectId, record.resource, record.prevHash, record.body, record.hash];
  const parts: Buffer[] = [Buffer.from([0, 10, 0, 0, 0, 8]), Buffer.alloc(8)];
  parts[1]!.writeBigInt64BE(record.seq);
  for (const field of fields) {
    const length = Buffer.alloc(4);
    if (field === null) length.writeInt32BE(-1);
    else length.writeInt32BE(Buffer.byteLength(field));
    parts.push(length);
    if (field !== null) parts.push(Buffer.from(field, "utf8"));
  }
  // Each tuple in its CopyData message, as it comes off the socket (src/audit/copy-out-tuples.ts).
  const tuple = Buffer.concat(parts);
  const message = Buffer.alloc(5);
  message[0] = 0x64;
  message.writeUInt32BE(tuple.length + 4, 1);
  copyTuples.push(Buffer.concat([message, tuple]));
}

// 1 MiB runs of whole lines, "\n"-separated, without the last "\n" (as readJsonlLineRuns cuts them).
const runs: Uint8Array[] = [];
let pending: Buffer[] = [];
let pendingBytes = 0;
const flush = () => {
  const run = Buffer.concat(pending.flatMap((line, index) => (index === 0 ? [line] : [Buffer.from("\n"), line])));
  const shared = new Uint8Array(new SharedArrayBuffer(run.length));
  shared.set(run);
  runs.push(shared);
  pending = [];
  pendingBytes = 0;
};
for (const line of lines) {
  if (pendingBytes + line.length + 1 > RUN_BYTES && pending.length > 0) flush();
  pending.push(line);
  pendingBytes += line.length + 1;
}
if (pending.length > 0) flush();
const copyChunks: Uint8Array[] = [];
for (let start = 0; start < copyTuples.length; start += COPY_CHUNK_ENTRIES) {
  const chunk = Buffer.concat(copyTuples.slice(start, start + COPY_CHUNK_ENTRIES));
  const shared = new Uint8Array(new SharedArrayBuffer(chunk.length));
  shared.set(chunk);
  copyChunks.push(shared);
}
const fileBytes = runs.reduce((sum, run) => sum + run.length, 0);

function best(name: string, work: () => void): number {
  let fastest = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    work();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e6);
  }
  const perEntry = (fastest * 1000) / ENTRIES;
  console.log(`${name.padEnd(58)} ${fastest.toFixed(1).padStart(8)} ms  ${perEntry.toFixed(2).padStart(6)} µs/entry`);
  return fastest;
}

const none = new Set<string>();
console.log(`verify chunk benchmark: ${ENTRIES.toLocaleString("en-US")} entries, ${(fileBytes / 1e6).toFixed(1)} MB of JSONL in ${runs.length} runs, ${copyChunks.length} COPY chunks; ${os.cpus()[0]?.model ?? "?"}, node ${process.version}`);
const rawFile = best("raw sha256 of the JSONL bytes (one-shot per 1 MiB run)", () => {
  for (const run of runs) oneShotHash("sha256", run, "hex");
});
best("sha256 of each prev_hash ‖ body (one-shot per entry)", () => {
  for (const bytes of hashed) oneShotHash("sha256", bytes, "hex");
});
const members = new Int32Array(BODY_MEMBER_SLOTS);
best("scanCanonicalBody of each body", () => {
  for (const body of bodies) if (!scanCanonicalBody(body, members)) throw new Error("scan refused a canonical body");
});
const jsonl = best("verifyJsonlChunk over every run", () => {
  for (const run of runs) if (!verifyJsonlChunk(run, none).ok) throw new Error("a JSONL run did not verify");
});
best("verifyCopyChunk over every COPY chunk", () => {
  for (const chunk of copyChunks) if (!verifyCopyChunk(chunk, none).ok) throw new Error("a COPY chunk did not verify");
});
console.log(`\nverifyJsonlChunk throughput / raw sha256 throughput, one thread: ${(rawFile / jsonl).toFixed(2)}`);
