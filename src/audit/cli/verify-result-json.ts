import type { LedgerFailure } from "../ledger-failure.js";

/**
 * `audit verify --json` (docs/cli.md, "audit verify --json"): one object on stdout, for the
 * database and for --file alike. Seqs are strings: a ledger may outgrow JSON's safe integers.
 */
export interface VerifyResultJson {
  source: "database" | "file";
  /** The database (as described without its password), or the file's path. */
  target: string;
  ok: boolean;
  /**
   * database: "intact" | "empty"; file: "complete" | "anchored" | "partial"; "failed" when a
   * check failed (see `failure`).
   */
  verdict: "intact" | "empty" | "complete" | "anchored" | "partial" | "failed";
  entries: number;
  firstSeq: string | null;
  lastSeq: string | null;
  lastHash: string | null;
  checkpointsChecked: number;
  /** --file only: checkpoints given that lie outside the file (0 for the database). */
  checkpointsUnchecked: number;
  failure: { seq: string; reason: LedgerFailure["reason"]; detail: string } | null;
  /** Bytes hashed (prev_hash and body of every entry). */
  bytes: number;
  elapsedMs: number;
}

export function failureJson(failure: LedgerFailure): NonNullable<VerifyResultJson["failure"]> {
  return { seq: failure.firstBadSeq.toString(), reason: failure.reason, detail: failure.detail };
}
