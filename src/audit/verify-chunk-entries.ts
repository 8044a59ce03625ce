// The hot path of `audit verify`, for both kinds of chunk a worker thread is sent: binary COPY
// tuples (verify-ledger-copy.ts) and JSONL lines exactly as `audit export` (and the SIEM
// webhook) lay them out (verify-ledger-file.ts). check_tuple or check_line (wasm/ledger-scan.c)
// reads each entry as bytes, links it to the one before, checks its body and column copies and
// leaves prev_hash ‖ body in one buffer; the sha256 is node:crypto's, here. No entry is decoded
// to a string or parsed as JSON.
//
// It only ever says `ok` for entries the exact path (check-ledger-entry.ts, and JSON.parse of
// the line) reads exactly as they are read there, so the verdict is the exact path's. Anything
// else answers `ok: false`, and the caller checks that chunk the exact way, which words any
// failure.
import { isUtf8 } from "node:buffer";
import { hash as oneShotHash } from "node:crypto";
import { ledgerScan } from "./ledger-scan-wasm.js";
import type { ChunkVerdict } from "./verify-copy-chunk.js";

const NOT_OK: ChunkVerdict = { ok: false };

/**
 * "tuples": whole CopyData messages of one tuple each (and the notices and trailer between
 * them), in pieces (copy-out-tuples.ts); "lines": complete lines separated by "\n", already
 * known to be valid UTF-8.
 */
export function verifyChunkEntries(chunk: Uint8Array | readonly Uint8Array[], checkpointSeqs: ReadonlySet<string>, layout: "tuples" | "lines"): ChunkVerdict {
  const scan = ledgerScan();
  const end = chunk instanceof Uint8Array ? chunk.length : chunk.reduce((sum, piece) => sum + piece.length, 0);
  // prev_hash ‖ body of one entry is at most 64 bytes more than the chunk.
  scan.reserve(64 + end, end);
  const base = scan.copyIn(chunk);
  const { bytes, info, outPtr } = scan;
  const check = layout === "tuples" ? scan.exports.check_tuple : scan.exports.check_line;
  let p = 0;
  let count = 0;
  let total = 0;
  let firstSeq = "";
  let firstPrevHash = "";
  let lastSeq = 0;
  let lastHash = -1;
  const checkpointHashes: string[] = [];
  while (p < end) {
    const length = check(base, p, end, outPtr, lastHash, lastSeq);
    if (length < 0) return NOT_OK;
    p = info[0]!;
    if (length === 0) continue; // a blank line, a notice, the trailer
    const seq = info[1]! * 2 ** 32 + (info[2]! >>> 0);
    const hash = base + info[4]!;
    if (!sameHex(oneShotHash("sha256", bytes.subarray(outPtr, outPtr + length), "hex"), bytes, hash)) return NOT_OK;
    // A database whose encoding is not UTF-8 could hold bytes the exact path decodes lossily.
    if (layout === "tuples" && !isUtf8(bytes.subarray(outPtr + 64, outPtr + length))) return NOT_OK;
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
