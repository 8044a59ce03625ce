/** Why a ledger (or an export of it) failed verification; docs/ledger-format.md, "Verification". */
export type LedgerFailureReason = "hash-mismatch" | "gap" | "broken-link" | "seq-mismatch" | "checkpoint-mismatch" | "malformed";

/** The first problem found: verification stops there, because nothing after it can be trusted. */
export interface LedgerFailure {
  ok: false;
  firstBadSeq: bigint;
  reason: LedgerFailureReason;
  detail: string;
}

export function ledgerFailure(firstBadSeq: bigint, reason: LedgerFailureReason, detail: string): LedgerFailure {
  return { ok: false, firstBadSeq, reason, detail };
}
