// A run of complete JSONL export lines, checked on its own: what a worker thread runs for
// `audit verify --file` (src/audit/verify-ledger-file.ts links the runs). The same checks as
// the exact path (check-ledger-entry.ts), in two tiers: lines laid out as the exporter writes
// them are read as bytes (verify-chunk-entries.ts); a run that is not is parsed line by line
// here, the body still checked as bytes. Anything unusual answers `ok: false`, and the caller
// then runs the exact path over these lines, which reports the failure, with its line number,
// exactly as before.
import { isUtf8 } from "node:buffer";
import { hash as oneShotHash } from "node:crypto";
import { parseJsonlLine } from "./parse-jsonl-line.js";
import { BODY_MEMBER, BODY_MEMBER_SLOTS, scanCanonicalBody } from "./scan-canonical-body.js";
import type { ChunkVerdict } from "./verify-copy-chunk.js";
import { verifyChunkEntries } from "./verify-chunk-entries.js";

const NOT_OK: ChunkVerdict = { ok: false };
const HEX64 = /^[0-9a-f]{64}$/;
let scratch = Buffer.allocUnsafe(1 << 16);
const members = new Int32Array(BODY_MEMBER_SLOTS);

export function verifyJsonlChunk(chunk: Uint8Array, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  const shared = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (!isUtf8(shared)) return NOT_OK;
  const verdict = verifyChunkEntries(shared, checkpointSeqs, "lines");
  // A private copy for the text path: decoding straight out of shared memory is several times slower.
  return verdict.ok ? verdict : verifyJsonlChunkByParsing(Buffer.from(chunk), checkpointSeqs);
}

/** The same checks, each line parsed as JSON: for lines not laid out as the exporter writes them. */
export function verifyJsonlChunkByParsing(bytes: Buffer, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  let count = 0;
  let total = 0;
  let firstSeq = "";
  let firstPrevHash = "";
  let lastSeq = 0n;
  let lastHash = "";
  const checkpointHashes: string[] = [];
  try {
    for (const raw of bytes.toString("utf8").split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.trim() === "") continue;
      const entry = parseJsonlLine(line, 0);
      const { seq, body, prevHash, hash } = entry;
      if (!HEX64.test(prevHash) || !HEX64.test(hash)) return NOT_OK;
      if (count === 0) {
        firstSeq = seq.toString();
        firstPrevHash = prevHash;
      } else if (seq !== lastSeq + 1n || prevHash !== lastHash) return NOT_OK;

      if (scratch.length < 64 + body.length * 3) scratch = Buffer.allocUnsafe(Math.max(64 + body.length * 3, scratch.length * 2));
      scratch.write(prevHash, 0, "latin1");
      const bodyBytes = scratch.write(body, 64, "utf8");
      if (oneShotHash("sha256", scratch.subarray(0, 64 + bodyBytes), "hex") !== hash) return NOT_OK;
      const bodyView = scratch.subarray(64, 64 + bodyBytes);
      if (!scanCanonicalBody(bodyView, members)) return NOT_OK;
      if (memberText(bodyView, BODY_MEMBER.seq) !== `"${seq}"`) return NOT_OK;
      if (!columnMatches(entry.ts, bodyView, BODY_MEMBER.ts)) return NOT_OK;
      if (!columnMatches(entry.type, bodyView, BODY_MEMBER.type)) return NOT_OK;
      if (!columnMatches(entry.requestId, bodyView, BODY_MEMBER.requestId)) return NOT_OK;
      if (!columnMatches(entry.actorId, bodyView, BODY_MEMBER.actorUserId)) return NOT_OK;
      if (!columnMatches(entry.subjectId, bodyView, BODY_MEMBER.subjectId)) return NOT_OK;
      if (!columnMatches(entry.resource, bodyView, BODY_MEMBER.resource)) return NOT_OK;

      const seqText = seq.toString();
      if (checkpointSeqs.size > 0 && checkpointSeqs.has(seqText)) checkpointHashes.push(seqText, hash);
      count += 1;
      total += 64 + bodyBytes;
      lastSeq = seq;
      lastHash = hash;
    }
  } catch {
    // A line that is not an entry: the exact path names it.
    return NOT_OK;
  }
  if (count === 0) return NOT_OK;
  return { ok: true, count, bytes: total, firstSeq, lastSeq: lastSeq.toString(), firstPrevHash, lastHash, checkpointHashes };
}

/** As check-ledger-entry.ts: an absent column is not checked; NULL matches null or an absent member. */
function columnMatches(value: string | null | undefined, body: Buffer, slot: number): boolean {
  if (value === undefined) return true;
  const at = members[2 * slot]!;
  if (at === -2) return false;
  if (value === null) return at === -1 || memberText(body, slot) === "null";
  return at >= 0 && memberText(body, slot) === JSON.stringify(value);
}

function memberText(body: Buffer, slot: number): string | null {
  const at = members[2 * slot]!;
  return at < 0 ? null : body.toString("utf8", at, members[2 * slot + 1]!);
}
