// `audit verify --file` checks runs of lines (one per 1 MiB read) on worker threads and links
// them in order (src/audit/verify-ledger-file.ts). Failures must read exactly as the exact
// per-entry rules report them, also when they sit on the first line of a run.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { formatJsonlLine } from "../src/audit/format-jsonl-line.js";
import { readJsonlLedger } from "../src/audit/read-jsonl-ledger.js";
import { verifyLedger } from "../src/audit/verify-ledger.js";
import { verifyLedgerFile } from "../src/audit/verify-ledger-file.js";
import { canonicalJson } from "../src/ledger/canonical-json.js";
import { buildEntryBody, computeEntryHash, GENESIS_HASH } from "../src/ledger/ledger-hash.js";
import type { LedgerRecord } from "../src/ledger/ledger-record.js";

const ENTRIES = 3000;

function buildChain(): LedgerRecord[] {
  const records: LedgerRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= ENTRIES; i++) {
    const ts = new Date(Date.UTC(2026, 11, 2) + i * 1000);
    const event = {
      type: "request.created",
      requestId: `AR-${i}`,
      subjectId: i % 3 === 0 ? null : `U0SUB${i}`,
      resource: "prod-db",
      actor: { kind: "user" as const, user_id: `U0ACT${i}`, name: `José "${i}"` },
      data: { reason: `needs \\ access\nnow ✓ ${"x".repeat(900)}`, n: [i, -i, { ok: true }] },
    };
    const body = canonicalJson(buildEntryBody(event, BigInt(i), ts));
    const hash = computeEntryHash(prev, body);
    records.push({ seq: BigInt(i), ts: ts.toISOString(), type: event.type, requestId: event.requestId, actorId: event.actor.user_id, subjectId: event.subjectId, resource: event.resource, body, prevHash: prev, hash });
    prev = hash;
  }
  return records;
}

describe("verify --file on worker threads", () => {
  let dir: string;
  let lines: string[];
  /** The seq on the first line of the second 1 MiB read: the second run's first entry. */
  let boundarySeq: number;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "accessbot-file-workers-"));
    lines = buildChain().map(formatJsonlLine);
    let offset = 0;
    boundarySeq = 0;
    for (const [index, line] of lines.entries()) {
      if (offset + Buffer.byteLength(line) >= 1 << 20) {
        boundarySeq = index + 1;
        break;
      }
      offset += Buffer.byteLength(line) + 1;
    }
    assert.ok(boundarySeq > 1 && boundarySeq < ENTRIES);
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  async function check(edited: string[], name: string) {
    const file = path.join(dir, name);
    await fs.writeFile(file, `${edited.join("\n")}\n`);
    const reference = await verifyLedger(readJsonlLedger(file), { anchor: "first-entry", checkpointsBeyondHead: "report" }).catch((error: Error) => error);
    const results = [];
    for (const workers of [0, 2]) results.push(await verifyLedgerFile(file, { workers }));
    assert.deepEqual(results[1], results[0]);
    return { result: results[0]!, reference };
  }

  const edit = (seq: number, change: (line: string) => string) => lines.map((line, index) => (index === seq - 1 ? change(line) : line));

  test("an intact file is complete", async () => {
    const { result } = await check(lines, "intact.jsonl");
    assert.ok(result.ok);
    assert.equal(result.verdict, "complete");
    assert.equal(result.entries, ENTRIES);
  });

  test("a broken link on the first line of a run: broken-link there, as the exact rules say", async () => {
    const forged = randomBytes(32).toString("hex");
    const edited = edit(boundarySeq, (line) => {
      const fields = JSON.parse(line) as Record<string, string>;
      return JSON.stringify({ ...fields, prev_hash: forged, hash: computeEntryHash(forged, fields.body!) });
    });
    const { result, reference } = await check(edited, "link.jsonl");
    assert.ok(!result.ok);
    assert.equal(result.firstBadSeq, BigInt(boundarySeq));
    assert.equal(result.reason, "broken-link");
    assert.deepEqual(result, reference);
  });

  test("a changed body on the first line of a run: hash-mismatch there", async () => {
    const { result, reference } = await check(edit(boundarySeq, (line) => line.replace("needs", "wants")), "body.jsonl");
    assert.ok(!result.ok);
    assert.equal(result.firstBadSeq, BigInt(boundarySeq));
    assert.equal(result.reason, "hash-mismatch");
    assert.deepEqual(result, reference);
  });

  test("a column that differs from the body, just before a run ends: malformed, naming the column", async () => {
    const { result, reference } = await check(edit(boundarySeq - 1, (line) => line.replace('"resource":"prod-db"', '"resource":"prod-dc"')), "column.jsonl");
    assert.ok(!result.ok);
    assert.equal(result.firstBadSeq, BigInt(boundarySeq - 1));
    assert.match(result.detail, /column resource is "prod-dc"/);
    assert.deepEqual(result, reference);
  });

  test("a line that is not JSON in a later run: malformed, with its line number", async () => {
    const { result } = await check(edit(boundarySeq + 5, (line) => line.slice(1)), "json.jsonl");
    assert.ok(!result.ok);
    assert.equal(result.firstBadSeq, BigInt(boundarySeq + 5));
    assert.equal(result.reason, "malformed");
    assert.match(result.detail, new RegExp(`^line ${boundarySeq + 5}: not valid JSON`));
  });
});
