// One chunk of `COPY (…) TO STDOUT (FORMAT binary)` output, checked on its own: what a worker
// thread runs (src/audit/verify-ledger-copy.ts hands the chunks out and links them).
//
// Binary COPY rather than rows through the driver: every field arrives length-prefixed and
// unescaped, so the body's stored UTF-8 bytes are hashed as they are, with no decoding to a
// JavaScript string and back; and no per-row objects are built for a chunk that verifies.
import { isUtf8 } from "node:buffer";
import { hash as oneShotHash } from "node:crypto";
import type { LedgerRecord } from "../ledger/ledger-record.js";
import { ledgerScan } from "./ledger-scan-wasm.js";
import { BODY_MEMBER } from "./scan-canonical-body.js";

/** The select list of the COPY, in this order: prev_hash just before body, as the hash reads them. */
export const COPY_COLUMNS = `seq, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), type, request_id, actor_id, subject_id, resource, prev_hash, body, hash`;
export const COPY_FIELD_COUNT = 10;

/**
 * A chunk every entry of which passed the fast checks (hash, body is a JSON object with the
 * row's seq, column copies equal to the body, links and consecutive seqs inside the chunk).
 * `ok: false` says only that something needs a closer look: the caller then decodes the chunk
 * and runs the exact checks, which word the failure (or find that all is well after all).
 */
export type ChunkVerdict =
  | {
      ok: true;
      count: number;
      /** 64 + body bytes, summed: what the chain verifier counts. */
      bytes: number;
      firstSeq: string;
      lastSeq: string;
      firstPrevHash: string;
      lastHash: string;
      /** [seq, hash, seq, hash, …] for the entries whose seq is a checkpoint's. */
      checkpointHashes: string[];
    }
  | { ok: false };

const NOT_OK: ChunkVerdict = { ok: false };
/** Where the last scan put the body's members (ledger-scan-wasm.ts). */
let members: Int32Array = new Int32Array(0);

/** `chunk` holds whole tuples, no header or trailer. */
export function verifyCopyChunk(chunk: Uint8Array, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const scan = ledgerScan();
  let p = 0;
  let count = 0;
  let bytes = 0;
  let firstSeq = "";
  let lastSeq = -1;
  let firstPrevHash = "";
  let lastHashStart = 0;
  const checkpointHashes: string[] = [];
  const fieldStart = new Int32Array(COPY_FIELD_COUNT);
  const fieldLength = new Int32Array(COPY_FIELD_COUNT);
  while (p < b.length) {
    if (b.readInt16BE(p) !== COPY_FIELD_COUNT) return NOT_OK;
    p += 2;
    for (let f = 0; f < COPY_FIELD_COUNT; f++) {
      const length = b.readInt32BE(p);
      p += 4;
      fieldStart[f] = p;
      fieldLength[f] = length;
      if (length > 0) p += length;
    }
    if (fieldLength[0] !== 8 || fieldLength[7] !== 64 || fieldLength[9] !== 64 || fieldLength[8]! < 0) return NOT_OK;
    const seq = b.readUInt32BE(fieldStart[0]!) * 2 ** 32 + b.readUInt32BE(fieldStart[0]! + 4);
    if (!Number.isSafeInteger(seq) || seq < 1) return NOT_OK;
    const prevStart = fieldStart[7]!;
    const bodyStart = fieldStart[8]!;
    const bodyLength = fieldLength[8]!;
    const hashStart = fieldStart[9]!;
    // Only the first prev_hash needs its digits checked: each later one equals the hash before
    // it, and a stored hash that equals the computed digest is lowercase hex.
    if (count === 0) {
      if (!isLowerHex(b, prevStart)) return NOT_OK;
      firstSeq = String(seq);
      firstPrevHash = b.toString("latin1", prevStart, prevStart + 64);
    } else if (seq !== lastSeq + 1 || !sameBytes(b, lastHashStart, b, prevStart, 64)) return NOT_OK;

    // sha256(prev_hash ‖ body) over one contiguous copy, in the memory the body check reads:
    // one native call, no hash object.
    scan.reserve(64 + bodyLength, 0);
    const out = scan.bytes;
    const at = scan.outPtr;
    b.copy(out, at, prevStart, prevStart + 64);
    b.copy(out, at + 64, bodyStart, bodyStart + bodyLength);
    if (!sameHex(oneShotHash("sha256", out.subarray(at, at + 64 + bodyLength), "hex"), b, hashStart)) return NOT_OK;

    const body = out.subarray(at + 64, at + 64 + bodyLength);
    // A database whose encoding is not UTF-8 could hold bytes the exact path decodes lossily.
    if (!isUtf8(body) || scan.exports.scan_body(at + 64, bodyLength) !== 1) return NOT_OK;
    members = scan.members;
    if (!seqMatches(body, seq)) return NOT_OK;
    if (!columnMatches(b, fieldStart[1]!, fieldLength[1]!, body, BODY_MEMBER.ts)) return NOT_OK;
    if (!columnMatches(b, fieldStart[2]!, fieldLength[2]!, body, BODY_MEMBER.type)) return NOT_OK;
    if (!columnMatches(b, fieldStart[3]!, fieldLength[3]!, body, BODY_MEMBER.requestId)) return NOT_OK;
    if (!columnMatches(b, fieldStart[4]!, fieldLength[4]!, body, BODY_MEMBER.actorUserId)) return NOT_OK;
    if (!columnMatches(b, fieldStart[5]!, fieldLength[5]!, body, BODY_MEMBER.subjectId)) return NOT_OK;
    if (!columnMatches(b, fieldStart[6]!, fieldLength[6]!, body, BODY_MEMBER.resource)) return NOT_OK;

    lastHashStart = hashStart;
    if (checkpointSeqs.size > 0 && checkpointSeqs.has(String(seq))) checkpointHashes.push(String(seq), b.toString("latin1", hashStart, hashStart + 64));
    count += 1;
    bytes += 64 + bodyLength;
    lastSeq = seq;
  }
  if (count === 0) return NOT_OK;
  const lastHash = b.toString("latin1", lastHashStart, lastHashStart + 64);
  return { ok: true, count, bytes, firstSeq, lastSeq: String(lastSeq), firstPrevHash, lastHash, checkpointHashes };
}

/**
 * The column agrees with the body member as check-ledger-entry.ts compares them (NULL with
 * null or an absent member). Equal JSON text parses to the equal value, so comparing the
 * member's text with the column's JSON string is sound; a column needing no escapes is
 * compared byte for byte, without building strings. Other spellings fall to the exact check.
 */
function columnMatches(b: Buffer, start: number, length: number, body: Buffer, slot: number): boolean {
  const at = members[2 * slot]!;
  if (at === -2) return false;
  if (length < 0) return at === -1 || memberText(body, slot) === "null";
  if (at === -1) return false;
  const end = members[2 * slot + 1]!;
  // The common case, in one loop without building strings: the member is the column's bytes
  // in quotes, and the column needs no escape (so the member has none either).
  if (end - at === length + 2 && body[at] === 0x22 && body[end - 1] === 0x22) {
    let plain = true;
    for (let k = 0; k < length; k++) {
      const c = b[start + k]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c) {
        plain = false;
        break;
      }
      if (c !== body[at + 1 + k]) return false;
    }
    if (plain) return true;
  }
  return memberText(body, slot) === JSON.stringify(b.toString("utf8", start, start + length));
}

function sameBytes(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}

/** The body's "seq" member is the JSON string of the row's seq. */
function seqMatches(body: Buffer, seq: number): boolean {
  const at = members[2 * BODY_MEMBER.seq]!;
  if (at < 0) return false;
  const end = members[2 * BODY_MEMBER.seq + 1]!;
  // Up to 15 digits the running value is exact; longer seqs are left to the exact check.
  if (body[at] !== 0x22 || body[end - 1] !== 0x22 || end - at - 2 > 15) return false;
  let value = 0;
  for (let k = at + 1; k < end - 1; k++) {
    const c = body[k]!;
    if (c < 0x30 || c > 0x39 || (k === at + 1 && c === 0x30)) return false;
    value = value * 10 + (c - 0x30);
  }
  return end - at > 2 && value === seq;
}

function memberText(body: Buffer, slot: number): string | null {
  const at = members[2 * slot]!;
  return at < 0 ? null : body.toString("utf8", at, members[2 * slot + 1]!);
}

/** The hex digest equals the 64 stored ASCII bytes at `start`. */
function sameHex(digest: string, b: Buffer, start: number): boolean {
  for (let k = 0; k < 64; k++) if (digest.charCodeAt(k) !== b[start + k]) return false;
  return true;
}

function isLowerHex(b: Buffer, start: number): boolean {
  for (let k = start; k < start + 64; k++) {
    const c = b[k]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** The chunk's rows as records, for the exact checks (a chunk that was not `ok`). */
export function decodeCopyChunk(chunk: Uint8Array): LedgerRecord[] {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const records: LedgerRecord[] = [];
  let p = 0;
  while (p < b.length) {
    const count = b.readInt16BE(p);
    p += 2;
    const fields: Array<string | bigint | null> = [];
    for (let f = 0; f < count; f++) {
      const length = b.readInt32BE(p);
      p += 4;
      if (length < 0) fields.push(null);
      else fields.push(f === 0 ? b.readBigInt64BE(p) : b.toString("utf8", p, p + length));
      if (length > 0) p += length;
    }
    records.push({
      seq: fields[0] as bigint,
      ts: fields[1] as string,
      type: fields[2] as string,
      requestId: fields[3] as string | null,
      actorId: fields[4] as string | null,
      subjectId: fields[5] as string | null,
      resource: fields[6] as string | null,
      prevHash: fields[7] as string,
      body: fields[8] as string,
      hash: fields[9] as string,
    });
  }
  return records;
}
