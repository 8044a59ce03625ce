import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { formatJsonlLine } from "../src/audit/format-jsonl-line.js";
import { findInvalidUtf8, MAX_JSONL_LINE_BYTES } from "../src/audit/read-jsonl-ledger.js";
import { verifyLedgerFile } from "../src/audit/verify-ledger-file.js";
import { canonicalJson } from "../src/ledger/canonical-json.js";
import { buildEntryBody, computeEntryHash, GENESIS_HASH, type LedgerEventInput } from "../src/ledger/ledger-hash.js";

// Export lines exactly as `audit export --format jsonl` writes them (formatJsonlLine over rows
// built by the real body builder and hash), without a database.

const ENG = { kind: "user" as const, user_id: "U0ENG0001", team_id: "T0001", name: "ana" };
const REASONS = [
  "fixing INC-4411",
  "naïve café – 日本語 😀 and a replacement character � that was in the reason",
  "quarterly access review",
  "rotate credentials",
];

function exportLines(reasons: readonly string[] = REASONS): string[] {
  let prevHash = GENESIS_HASH;
  return reasons.map((reason, index) => {
    const seq = BigInt(index + 1);
    const ts = new Date(Date.UTC(2026, 10, 22, 10, index, 0));
    const event: LedgerEventInput = { type: "request.created", requestId: `AR-${index}TEST`, subjectId: ENG.user_id, resource: "prod-db", actor: ENG, data: { reason } };
    const body = canonicalJson(buildEntryBody(event, seq, ts));
    const hash = computeEntryHash(prevHash, body);
    const line = formatJsonlLine({ seq, ts: ts.toISOString(), type: event.type, requestId: event.requestId!, resource: "prod-db", actorId: ENG.user_id, subjectId: ENG.user_id, body, prevHash, hash });
    prevHash = hash;
    return line;
  });
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const logs: string[] = [];
  const errors: string[] = [];
  const code = await runAuditCli(args, { log: (text) => logs.push(text), error: (text) => errors.push(text) }, { progress: null });
  return { code, stdout: logs.join("\n"), stderr: errors.join("\n") };
}

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "accessbot-jsonl-"));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** The export as bytes, with the UTF-8 of `from` in line `lineIndex` replaced by `to`. */
function withBytes(lines: readonly string[], lineIndex: number, from: string, to: readonly number[]): Buffer {
  const parts = lines.map((line) => Buffer.from(line + "\n", "utf8"));
  const target = parts[lineIndex]!;
  const at = target.indexOf(Buffer.from(from, "utf8"));
  assert.ok(at >= 0, `line ${lineIndex + 1} contains ${from}`);
  parts[lineIndex] = Buffer.concat([target.subarray(0, at), Buffer.from(to), target.subarray(at + Buffer.byteLength(from))]);
  return Buffer.concat(parts);
}

describe("audit verify --file decodes strictly", () => {
  test("a valid export with non-ASCII text still verifies, also when lines and characters are split across reads", async () => {
    const lines = exportLines();
    const file = path.join(dir, "valid.jsonl");
    await fs.writeFile(file, lines.join("\n") + "\n");
    const run = await cli("verify", "--file", file);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Export intact: 4 entries, seq 1\.\.4, complete from genesis/);

    // A limit just above the longest line makes every read smaller than a line, so lines and
    // multi-byte characters straddle reads; a trailing line without "\n" and CRLF still work.
    const longest = Math.max(...lines.map((line) => Buffer.byteLength(line)));
    for (const [name, text] of [["lf", lines.join("\n")], ["crlf", lines.join("\r\n") + "\r\n"]] as const) {
      const split = path.join(dir, `split-${name}.jsonl`);
      await fs.writeFile(split, text);
      for (const maxLineBytes of [longest + 1, longest + 7, longest + 64]) {
        const result = await verifyLedgerFile(split, { maxLineBytes });
        assert.equal(result.ok, true, `${name}, limit ${maxLineBytes}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
        assert.equal(result.ok && result.verdict, "complete");
        assert.equal(result.ok && result.entries, 4);
      }
    }
  });

  test("one invalid byte in a body fails at that line with exit code 1, where a lossy decoder said intact", async () => {
    // The reason holds U+FFFD (EF BF BD); a single 0xFF in its place decodes lossily to the
    // same character, so the hash would still match.
    const lines = exportLines();
    const file = path.join(dir, "invalid-byte.jsonl");
    await fs.writeFile(file, withBytes(lines, 1, "�", [0xff]));
    assert.equal(computeEntryHash(GENESIS_HASH, Buffer.from([0xff]).toString("utf8")), computeEntryHash(GENESIS_HASH, "�"), "lossy decoding would hide it");

    const run = await cli("verify", "--file", file);
    assert.equal(run.code, 1, run.stdout);
    assert.doesNotMatch(run.stdout, /intact/);
    const [first, detail] = run.stdout.split("\n");
    assert.equal(first, "VERIFICATION FAILED at seq 2: malformed");
    assert.match(detail ?? "", /^ {2}line 2: not valid UTF-8: byte 0xFF at byte \d+ of the line; the hash covers .*\(after entry 1\)$/);
    const column = Number(/at byte (\d+)/.exec(detail!)![1]);
    assert.equal(Buffer.from(lines[1]!, "utf8").indexOf(Buffer.from("�")) + 1, column, "the byte position points at the replaced character");
  });

  test("truncated, overlong and surrogate sequences are refused too, and the entries before them are checked", async () => {
    const lines = exportLines();
    const cases: Array<[string, number[], RegExp]> = [
      ["truncated", [0xe2, 0x82], /bytes 0xE2 0x82 0x20 at byte/],
      ["overlong", [0xc0, 0xaf], /byte 0xC0 at byte/],
      ["surrogate", [0xed, 0xa0, 0x80], /bytes 0xED 0xA0 at byte/],
      ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], /bytes 0xF4 0x90 at byte/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, `bad-${name}.jsonl`);
      // "–" (E2 80 93) in line 2 is replaced by the bad sequence, followed by " 日本語".
      await fs.writeFile(file, withBytes(lines, 1, "–", bytes));
      const run = await cli("verify", "--file", file);
      assert.equal(run.code, 1, `${name}: ${run.stdout}`);
      assert.match(run.stdout, /^VERIFICATION FAILED at seq 2: malformed\n {2}line 2: not valid UTF-8: /, name);
      assert.match(run.stdout, message, name);
    }

    // A bad entry before the bad byte is reported first: file order decides.
    const tampered = exportLines();
    tampered[0] = tampered[0]!.replace("fixing INC-4411", "fixing INC-4412");
    const file = path.join(dir, "tampered-then-bad.jsonl");
    await fs.writeFile(file, withBytes(tampered, 1, "�", [0xff]));
    const run = await cli("verify", "--file", file);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^VERIFICATION FAILED at seq 1: hash-mismatch/);
  });

  test("an escaped lone surrogate in a body is refused: it would be hashed as U+FFFD", async () => {
    const lines = exportLines();
    // JSON.stringify writes U+FFFD as the character itself; an editor could write "\ud800" there.
    const file = path.join(dir, "surrogate-escape.jsonl");
    await fs.writeFile(file, lines.map((line, index) => (index === 1 ? line.replace("�", "\\ud800") : line)).join("\n") + "\n");
    const text = await fs.readFile(file, "utf8");
    const body = (JSON.parse(text.split("\n")[1]!) as { body: string }).body;
    assert.equal(body.includes("\ud800"), true, "the body holds a lone surrogate");
    assert.equal(computeEntryHash(GENESIS_HASH, body), computeEntryHash(GENESIS_HASH, body.replace("\ud800", "�")), "it hashes like U+FFFD");

    const run = await cli("verify", "--file", file);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /^VERIFICATION FAILED at seq 2: malformed\n {2}line 2: "body" contains an unpaired surrogate/);
  });

  test("findInvalidUtf8 agrees with a fatal TextDecoder", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const samples = [[0x61], [0xc2, 0x80], [0xc1, 0xbf], [0xe0, 0x9f, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xef, 0xbf, 0xbd], [0xf0, 0x8f, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xff]];
    for (const sample of samples) {
      const bytes = Uint8Array.from([0x41, ...sample, 0x42]);
      let valid = true;
      try {
        decoder.decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(findInvalidUtf8(bytes) === null, valid, sample.map((byte) => byte.toString(16)).join(" "));
      if (!valid) assert.equal(findInvalidUtf8(bytes)!.offset, 1);
    }
  });
});

describe("audit verify --file caps the length of a line", () => {
  test("a line just over the limit is refused at that line; one at the limit is read", async () => {
    const lines = exportLines();
    const file = path.join(dir, "limit.jsonl");
    await fs.writeFile(file, lines.join("\n") + "\n");
    const longest = Math.max(...lines.map((line) => Buffer.byteLength(line)));
    const longestLine = lines.findIndex((line) => Buffer.byteLength(line) === longest) + 1;

    const atLimit = await verifyLedgerFile(file, { maxLineBytes: longest });
    assert.equal(atLimit.ok, true);
    const over = await verifyLedgerFile(file, { maxLineBytes: longest - 1 });
    assert.equal(over.ok, false);
    assert.equal(!over.ok && over.reason, "malformed");
    assert.equal(!over.ok && over.firstBadSeq, BigInt(longestLine));
    assert.match(!over.ok ? over.detail : "", new RegExp(`^line ${longestLine}: longer than ${(longest - 1).toLocaleString("en-US")} bytes, the most a line of an export may be`));
  });

  test("a 64 MiB line fails at once with the limit in the message, reading no more than the limit", async (t) => {
    assert.equal(MAX_JSONL_LINE_BYTES, 16 * 1024 * 1024);
    const lines = exportLines();
    const file = path.join(dir, "huge-line.jsonl");
    const LINE_BYTES = 64 * 1024 * 1024;
    // Written piece by piece, so the test itself does not hold the line in memory.
    const handle = await fs.open(file, "w");
    try {
      await handle.write(lines.slice(0, 2).join("\n") + "\n");
      const piece = Buffer.alloc(1024 * 1024, "a");
      for (let written = 0; written < LINE_BYTES; written += piece.length) await handle.write(piece);
      await handle.write("\n" + lines.slice(2).join("\n") + "\n");
    } finally {
      await handle.close();
    }

    let peak = process.memoryUsage().rss;
    const start = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    let result;
    try {
      result = await verifyLedgerFile(file);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.firstBadSeq, 3n);
    assert.equal(!result.ok && result.detail, "line 3: longer than 16 MiB (16,777,216 bytes), the most a line of an export may be; a ledger entry takes a few KiB, so reading stopped there (after entry 2)");
    const growth = peak - start;
    t.diagnostic(`rss grew by ${(growth / 2 ** 20).toFixed(1)} MiB while reading a ${LINE_BYTES / 2 ** 20} MiB line`);
    assert.ok(growth < 40 * 1024 * 1024, `rss grew by ${(growth / 2 ** 20).toFixed(1)} MiB for a ${LINE_BYTES / 2 ** 20} MiB line`);

    const run = await cli("verify", "--file", file);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^VERIFICATION FAILED at seq 3: malformed\n {2}line 3: longer than 16 MiB \(16,777,216 bytes\)/);
    assert.doesNotMatch(run.stdout, /intact/);
  });
});
