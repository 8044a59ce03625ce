import { hash as oneShotHash } from "node:crypto";
import { ledgerFailure, type LedgerFailure } from "./ledger-failure.js";
import type { VerifiableEntry } from "../ledger/ledger-record.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** Body members whose copies are stored in their own columns, as [column, body member]. */
const COPIED_COLUMNS = [
  ["type", "type"],
  ["requestId", "request_id"],
  ["subjectId", "subject_id"],
  ["resource", "resource"],
  ["ts", "ts"],
] as const;

/**
 * Checks one entry on its own, without its neighbours: the hash recomputes from prev_hash and
 * body, the body is a JSON object whose `seq` is the row's seq, and the queryable columns
 * (when given) agree with the hashed body. Returns null when it is consistent.
 *
 * The hash is checked before the body is parsed, so any edit of the body is reported as the
 * hash mismatch it is, even if it also broke the JSON.
 */
export function checkLedgerEntry(entry: VerifiableEntry): LedgerFailure | null {
  const { seq, body, prevHash, hash } = entry;
  if (typeof body !== "string") return ledgerFailure(seq, "malformed", `entry ${seq} has no body text`);
  if (typeof prevHash !== "string" || !HEX64.test(prevHash)) {
    return ledgerFailure(seq, "malformed", `entry ${seq}: prev_hash ${JSON.stringify(prevHash)} is not 64 lowercase hex digits`);
  }
  if (typeof hash !== "string" || !HEX64.test(hash)) {
    return ledgerFailure(seq, "malformed", `entry ${seq}: hash ${JSON.stringify(hash)} is not 64 lowercase hex digits`);
  }
  // prev_hash is ASCII, so its UTF-8 bytes are its characters: hashing the concatenation as
  // UTF-8 is sha256(prev_hash ‖ body). The one-shot hash is ~1.7x faster than createHash().
  const recomputed = oneShotHash("sha256", prevHash + body, "hex");
  if (recomputed !== hash) {
    return ledgerFailure(seq, "hash-mismatch", `entry ${seq}: stored hash ${hash} but sha256(prev_hash ‖ body) is ${recomputed}: the body or prev_hash was changed after it was written`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return ledgerFailure(seq, "malformed", `entry ${seq}: the body is not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return ledgerFailure(seq, "malformed", `entry ${seq}: the body is not a JSON object`);
  }
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.seq !== "string") return ledgerFailure(seq, "malformed", `entry ${seq}: the body has no "seq" string`);
  if (fields.seq !== seq.toString()) {
    return ledgerFailure(seq, "seq-mismatch", `the row has seq ${seq} but its hashed body says seq ${fields.seq}: the entry was moved or copied`);
  }

  for (const [column, member] of COPIED_COLUMNS) {
    const value = entry[column];
    if (value === undefined) continue;
    const hashed = fields[member] ?? null;
    if (value !== hashed) return columnMismatch(seq, member, value, hashed);
  }
  if (entry.actorId !== undefined) {
    const actor = fields.actor as { user_id?: unknown } | null | undefined;
    const hashed = (typeof actor === "object" && actor !== null ? actor.user_id : undefined) ?? null;
    if (entry.actorId !== hashed) return columnMismatch(seq, "actor_id", entry.actorId, hashed);
  }
  return null;
}

function columnMismatch(seq: bigint, column: string, stored: unknown, hashed: unknown): LedgerFailure {
  return ledgerFailure(
    seq,
    "malformed",
    `entry ${seq}: column ${column} is ${JSON.stringify(stored)} but the hashed body says ${JSON.stringify(hashed)}: the column was changed after it was written`,
  );
}
