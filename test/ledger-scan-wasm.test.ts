// The WebAssembly hot path of `audit verify` (src/audit/wasm/ledger-scan.c) may decline what it
// is unsure of, but what it accepts must be exactly what the exact JavaScript path accepts.
// Differential tests on thousands of mutated bodies, JSONL lines and COPY tuples (seeded, so
// a failure repeats): whenever the fast path says ok, JSON.parse and the exact checks agree
// member for member and verdict for verdict; and untouched input always takes the fast path.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { checkLedgerEntry } from "../src/audit/check-ledger-entry.js";
import { formatJsonlLine } from "../src/audit/format-jsonl-line.js";
import { BODY_MEMBER, BODY_MEMBER_SLOTS, scanCanonicalBody } from "../src/audit/scan-canonical-body.js";
import { decodeCopyChunk, verifyCopyChunk } from "../src/audit/verify-copy-chunk.js";
import { verifyChunkEntries } from "../src/audit/verify-chunk-entries.js";
import { verifyJsonlChunkByParsing } from "../src/audit/verify-jsonl-chunk.js";
import { canonicalJson } from "../src/ledger/canonical-json.js";
import { buildEntryBody, computeEntryHash, GENESIS_HASH, type LedgerEventInput } from "../src/ledger/ledger-hash.js";
import type { LedgerRecord } from "../src/ledger/ledger-record.js";

/** xorshift32: the same cases on every run. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0 || 1;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}

function event(i: number): LedgerEventInput {
  const actor = i % 4 === 0 ? { kind: "system" as const, name: "accessbot" } : { kind: "user" as const, user_id: `U0ACT${i}`, name: `José "${i}"`, profile: { email: `u${i}@example.com` } };
  return {
    type: ["request.created", "vote.approved", "grant.activated"][i % 3]!,
    requestId: i % 5 === 0 ? null : `AR-${i}`,
    subjectId: i % 3 === 0 ? null : `U0SUB${i}`,
    resource: i % 4 === 1 ? null : "prod-db",
    actor,
    data: { reason: `needs \\ access\nnow ✓ "${i}" \u0001 \ud83d\udd11`, nested: [1, -2, 0, { deep: [true, false, null, {}] }], empty: [], n: i * 1000 },
  };
}

function chain(bodies: string[], columns: (record: LedgerRecord, index: number) => LedgerRecord = (record) => record): LedgerRecord[] {
  let prev = GENESIS_HASH;
  return bodies.map((body, index) => {
    const parsed = (() => {
      try {
        return JSON.parse(body) as Record<string, unknown>;
      } catch {
        return {};
      }
    })();
    const text = (value: unknown) => (typeof value === "string" ? value : null);
    const actor = parsed.actor as { user_id?: unknown } | undefined;
    const record: LedgerRecord = {
      seq: BigInt(index + 1),
      ts: text(parsed.ts) ?? "2026-12-04T00:00:00.000Z",
      type: text(parsed.type) ?? "x",
      requestId: text(parsed.request_id),
      actorId: text(actor?.user_id),
      subjectId: text(parsed.subject_id),
      resource: text(parsed.resource),
      body,
      prevHash: prev,
      hash: computeEntryHash(prev, body),
    };
    const changed = columns(record, index);
    prev = changed.hash;
    return changed;
  });
}

const bodies = Array.from({ length: 12 }, (_, i) => canonicalJson(buildEntryBody(event(i), BigInt(i + 1), new Date(Date.UTC(2026, 11, 4, 0, 0, i)))));
const ODD_BYTES = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "0", "-", ".", "e", "t", "n", "u", "é", "\u0001", "a"];

function mutate(text: string, next: (below: number) => number): string {
  let out = text;
  for (let k = 0, count = 1 + next(3); k < count; k++) {
    const at = next(out.length + 1);
    const piece = ODD_BYTES[next(ODD_BYTES.length)]!;
    const how = next(3);
    out = how === 0 ? out.slice(0, at) + piece + out.slice(at + 1) : how === 1 ? out.slice(0, at) + piece + out.slice(at) : out.slice(0, at) + out.slice(at + 1);
  }
  return out;
}

describe("the WebAssembly verify path agrees with the exact path", () => {
  test("the committed build is of the committed C source (rebuild: npm run build:wasm)", () => {
    const source = readFileSync(new URL("../src/audit/wasm/ledger-scan.c", import.meta.url));
    const generated = readFileSync(new URL("../src/audit/wasm/ledger-scan.wasm.ts", import.meta.url), "utf8");
    assert.match(generated, new RegExp(`sha256 of ledger-scan\\.c: ${createHash("sha256").update(source).digest("hex")}`));
  });

  test("scan_body: whatever it accepts, JSON.parse reads the same members", () => {
    const members = new Int32Array(BODY_MEMBER_SLOTS);
    const next = random(0x5eed);
    let accepted = 0;
    for (const body of bodies) assert.equal(scanCanonicalBody(Buffer.from(body), members), true, "a canonical body takes the fast path");
    for (let i = 0; i < 20_000; i++) {
      const text = mutate(bodies[next(bodies.length)]!, next);
      const bytes = Buffer.from(text, "utf8");
      if (!scanCanonicalBody(bytes, members)) continue;
      accepted += 1;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      assert.ok(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed), text);
      const member = (slot: number) => (members[2 * slot]! < 0 ? members[2 * slot] : JSON.parse(bytes.toString("utf8", members[2 * slot]!, members[2 * slot + 1]!)));
      for (const [key, slot] of [["seq", BODY_MEMBER.seq], ["ts", BODY_MEMBER.ts], ["type", BODY_MEMBER.type], ["request_id", BODY_MEMBER.requestId], ["subject_id", BODY_MEMBER.subjectId], ["resource", BODY_MEMBER.resource], ["actor", BODY_MEMBER.actor]] as const) {
        const found = member(slot);
        if (found === -2) continue; // a duplicate: the callers decline it
        if (found === -1) assert.ok(!(key in parsed), `${key} absent in ${text}`);
        else assert.deepEqual(found, parsed[key], `${key} in ${text}`);
      }
      const actor = parsed.actor;
      const userId = member(BODY_MEMBER.actorUserId);
      if (userId === -1) assert.ok(typeof actor !== "object" || actor === null || Array.isArray(actor) || !("user_id" in actor), text);
      else if (userId !== -2) assert.deepEqual(userId, (actor as { user_id: unknown }).user_id, text);
    }
    assert.ok(accepted > 1000, `mutations the fast path still accepted: ${accepted}`);
  });

  test("check_line: an export chunk it accepts is accepted by the parsing path with the same verdict", () => {
    const next = random(0xc0ffee);
    const intact = chain(bodies).map(formatJsonlLine);
    assert.equal(verifyChunkEntries(Buffer.from(intact.join("\n")), new Set(), "lines").ok, true, "an untouched export takes the fast path");
    let agreed = 0;
    for (let i = 0; i < 4000; i++) {
      let lines: string[];
      const target = next(bodies.length);
      const kind = next(3);
      if (kind === 0) {
        // The body changed and every hash recomputed: only the body and column checks can tell.
        lines = chain(bodies.map((body, index) => (index === target ? mutate(body, next) : body))).map(formatJsonlLine);
      } else if (kind === 1) {
        // A column changed (and the chain recomputed: columns are not hashed anyway).
        const column = (["ts", "type", "requestId", "actorId", "subjectId", "resource"] as const)[next(6)]!;
        lines = chain(bodies, (record, index) => (index === target ? { ...record, [column]: next(2) === 0 ? null : mutate(String(record[column] ?? "x"), next) } : record)).map(formatJsonlLine);
      } else {
        // The line itself changed: spacing, escapes, members.
        lines = intact.map((line, index) => (index === target ? mutate(line, next) : line));
      }
      const chunk = Buffer.from(lines.join(next(2) === 0 ? "\n" : "\r\n"), "utf8");
      const fast = verifyChunkEntries(chunk, new Set(["3"]), "lines");
      if (!fast.ok) continue;
      agreed += 1;
      assert.deepEqual(verifyJsonlChunkByParsing(chunk, new Set(["3"])), fast, lines[target]);
    }
    assert.ok(agreed > 300, `mutated chunks the fast path accepted: ${agreed}`);
  });

  test("check_tuple: a COPY chunk it accepts passes every exact check", () => {
    const next = random(0xbadc0de);
    const encode = (records: LedgerRecord[]) =>
      Buffer.concat(
        records.map((record) => {
          const seq = Buffer.alloc(8);
          seq.writeBigInt64BE(record.seq);
          const fields = [seq, ...[record.ts, record.type, record.requestId, record.actorId, record.subjectId, record.resource, record.prevHash, record.body, record.hash].map((value) => (value === null ? null : Buffer.from(value, "utf8")))];
          const parts = fields.flatMap((field) => {
            const length = Buffer.alloc(4);
            length.writeInt32BE(field === null ? -1 : field.length);
            return field === null ? [length] : [length, field];
          });
          const tuple = Buffer.concat([Buffer.from([0, 10]), ...parts]);
          const header = Buffer.alloc(5);
          header[0] = 0x64;
          header.writeUInt32BE(tuple.length + 4, 1);
          return Buffer.concat([header, tuple]);
        }),
      );
    const shared = (bytes: Buffer) => {
      const chunk = new Uint8Array(new SharedArrayBuffer(bytes.length));
      chunk.set(bytes);
      return chunk;
    };
    assert.equal(verifyCopyChunk(shared(encode(chain(bodies))), new Set()).ok, true, "untouched tuples take the fast path");
    let agreed = 0;
    for (let i = 0; i < 4000; i++) {
      const target = next(bodies.length);
      const column = (["ts", "type", "requestId", "actorId", "subjectId", "resource"] as const)[next(6)]!;
      const records =
        next(2) === 0
          ? chain(bodies.map((body, index) => (index === target ? mutate(body, next) : body)))
          : chain(bodies, (record, index) => (index === target ? { ...record, [column]: next(2) === 0 ? null : mutate(String(record[column] ?? "x"), next) } : record));
      const chunk = shared(encode(records));
      const fast = verifyCopyChunk(chunk, new Set());
      if (!fast.ok) continue;
      agreed += 1;
      const decoded = decodeCopyChunk(chunk);
      assert.equal(decoded.length, records.length);
      for (const [index, entry] of decoded.entries()) {
        assert.equal(checkLedgerEntry(entry), null, records[index]!.body);
        if (index > 0) assert.equal(entry.prevHash, decoded[index - 1]!.hash);
      }
      assert.equal(fast.count, records.length);
      assert.equal(fast.lastHash, records.at(-1)!.hash);
    }
    assert.ok(agreed > 300, `mutated chunks the fast path accepted: ${agreed}`);
  });
});
