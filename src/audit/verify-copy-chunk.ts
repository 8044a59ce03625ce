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

/**
 * `chunk` holds whole tuples, no header or trailer. Each tuple's layout, links, body and column
 * copies are checked by check_tuple (wasm/ledger-scan.c); the sha256 and the UTF-8 check of
 * the body are node's, here.
 */
export function verifyCopyChunk(chunk: Uint8Array, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  const scan = ledgerScan();
  // prev_hash ‖ body of one tuple is shorter than the chunk.
  scan.reserve(chunk.length, chunk.length);
  const base = scan.copyIn(chunk);
  const { bytes, info, outPtr } = scan;
  const checkTuple = scan.exports.check_tuple;
  const end = chunk.length;
  let p = 0;
  let count = 0;
  let total = 0;
  let firstSeq = "";
  let firstPrevHash = "";
  let lastSeq = 0;
  let lastHash = -1;
  const checkpointHashes: string[] = [];
  while (p < end) {
    const length = checkTuple(base, p, end, outPtr, lastHash, lastSeq);
    if (length < 0) return NOT_OK;
    p = info[0]!;
    const seq = info[1]! * 2 ** 32 + (info[2]! >>> 0);
    const hash = base + info[4]!;
    if (!sameHex(oneShotHash("sha256", bytes.subarray(outPtr, outPtr + length), "hex"), bytes, hash)) return NOT_OK;
    // A database whose encoding is not UTF-8 could hold bytes the exact path decodes lossily.
    if (!isUtf8(bytes.subarray(outPtr + 64, outPtr + length))) return NOT_OK;
    if (count === 0) {
      firstSeq = String(seq);
      firstPrevHash = bytes.toString("latin1", base + info[3]!, base + info[3]! + 64);
    }
    if (checkpointSeqs.size > 0 && checkpointSeqs.has(String(seq))) checkpointHashes.push(String(seq), bytes.toString("latin1", hash, hash + 64));
    count += 1;
    total += length;
    lastSeq = seq;
    lastHash = info[4]!;
  }
  if (count === 0) return NOT_OK;
  const lastHashText = bytes.toString("latin1", base + lastHash, base + lastHash + 64);
  return { ok: true, count, bytes: total, firstSeq, lastSeq: String(lastSeq), firstPrevHash, lastHash: lastHashText, checkpointHashes };
}

/** The hex digest equals the 64 stored ASCII bytes at `start`. */
function sameHex(digest: string, b: Buffer, start: number): boolean {
  for (let k = 0; k < 64; k++) if (digest.charCodeAt(k) !== b[start + k]) return false;
  return true;
}

/** The chunk's rows as records, for the exact checks (a chunk that was not `ok`). */
export function decodeCopyChunk(chunk: Uint8Array): LedgerRecord[] {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const records: LedgerRecord[] = [];
  let p = 0;
  while (p < b.length) {
    // Each tuple in its CopyData message: 'd', int32 length (copy-out-tuples.ts).
    p += 5;
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
