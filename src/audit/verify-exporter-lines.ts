// The hot path of `audit verify --file`: JSONL lines exactly as `audit export` (and the SIEM
// webhook) lay them out, checked as bytes. No line is decoded to a string or parsed as JSON:
// check_line (wasm/ledger-scan.c) reads the line, unescapes the body straight into the buffer
// that is hashed and compares the column copies with the body's members byte for byte; the
// sha256 is node:crypto's, here.
//
// It only ever says `ok` for lines JSON.parse reads exactly as they are read there, so the
// verdict is the exact path's. Anything else answers `ok: false`, and the caller parses those
// lines instead (verify-jsonl-chunk.ts), which words any failure.
import { hash as oneShotHash } from "node:crypto";
import { ledgerScan } from "./ledger-scan-wasm.js";
import type { ChunkVerdict } from "./verify-copy-chunk.js";

const NOT_OK: ChunkVerdict = { ok: false };

/** `chunk` is valid UTF-8: complete lines separated by "\n". */
export function verifyExporterLines(chunk: Uint8Array, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  const scan = ledgerScan();
  // prev_hash ‖ body of one line is at most 64 bytes more than the line.
  scan.reserve(64 + chunk.length, chunk.length);
  const line = scan.copyIn(chunk);
  const { bytes, info, outPtr } = scan;
  const checkLine = scan.exports.check_line;
  const end = chunk.length;
  let count = 0;
  let total = 0;
  let firstSeq = "";
  let firstPrevHash = "";
  let lastSeq = 0;
  let lastHash = -1;
  const checkpointHashes: string[] = [];
  let p = 0;
  while (p < end) {
    const length = checkLine(line, p, end, outPtr, lastHash, lastSeq);
    if (length < 0) return NOT_OK;
    p = info[0]!;
    if (length === 0) continue;
    const seq = info[1]! * 2 ** 32 + (info[2]! >>> 0);
    const hash = line + info[4]!;
    if (!sameHex(oneShotHash("sha256", bytes.subarray(outPtr, outPtr + length), "hex"), bytes, hash)) return NOT_OK;
    if (count === 0) {
      firstSeq = String(seq);
      firstPrevHash = bytes.toString("latin1", line + info[3]!, line + info[3]! + 64);
    }
    if (checkpointSeqs.size > 0 && checkpointSeqs.has(String(seq))) checkpointHashes.push(String(seq), bytes.toString("latin1", hash, hash + 64));
    count += 1;
    total += length;
    lastSeq = seq;
    lastHash = info[4]!;
  }
  if (count === 0) return NOT_OK;
  const lastHashText = bytes.toString("latin1", line + lastHash, line + lastHash + 64);
  return { ok: true, count, bytes: total, firstSeq, lastSeq: String(lastSeq), firstPrevHash, lastHash: lastHashText, checkpointHashes };
}

/** The hex digest equals the 64 stored ASCII bytes at `start`. */
function sameHex(digest: string, b: Buffer, start: number): boolean {
  for (let k = 0; k < 64; k++) if (digest.charCodeAt(k) !== b[start + k]) return false;
  return true;
}
