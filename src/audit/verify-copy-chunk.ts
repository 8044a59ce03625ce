// One chunk of `COPY (…) TO STDOUT (FORMAT binary)` output, checked on its own: what a worker
// thread runs (src/audit/verify-ledger-copy.ts hands the chunks out and links them).
//
// Binary COPY rather than rows through the driver: every field arrives length-prefixed and
// unescaped, so the body's stored UTF-8 bytes are hashed as they are, with no decoding to a
// JavaScript string and back; and no per-row objects are built for a chunk that verifies.
import type { LedgerRecord } from "../ledger/ledger-record.js";
import { COPY_ASIDE_MESSAGES, type CopyChunk } from "./copy-out-tuples.js";
import { verifyChunkEntries } from "./verify-chunk-entries.js";

/** The select list of the COPY, in this order: prev_hash just before body, as the hash reads them. */
export const COPY_COLUMNS = `seq, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), type, request_id, actor_id, subject_id, resource, prev_hash, body, hash`;

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
  | {
      ok: false;
      /** The chunk's bytes, when a worker thread had them (handed over by transfer): for the exact checks. */
      bytes?: Uint8Array;
    };

/** `chunk`: whole CopyData messages of one tuple each, in pieces (copy-out-tuples.ts). */
export function verifyCopyChunk(chunk: Uint8Array | CopyChunk, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  return verifyChunkEntries(chunk, checkpointSeqs, "tuples");
}

/** The chunk's rows as records, for the exact checks (a chunk that was not `ok`). */
export function decodeCopyChunk(chunk: Uint8Array): LedgerRecord[] {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const records: LedgerRecord[] = [];
  let p = 0;
  while (p < b.length) {
    // Each tuple in its CopyData message: 'd', int32 length (copy-out-tuples.ts); notices and
    // the trailer (a CopyData of -1 fields) in between are skipped.
    const type = b[p]!;
    const end = p + 1 + b.readUInt32BE(p + 1);
    if (COPY_ASIDE_MESSAGES.has(type) || (type === 0x64 && b.readInt16BE(p + 5) === -1)) {
      p = end;
      continue;
    }
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
