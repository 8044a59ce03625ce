import type { LedgerRow } from "../ledger/ledger-row.js";

/** Thrown by a sink that was told to wait (HTTP 429 / Retry-After). */
export class RetryLaterError extends Error {
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
    this.name = "RetryLaterError";
  }
}

/** A destination that mirrors the ledger, in order, at least once. */
export interface AuditSink {
  readonly name: string;
  /** How many entries one delivery may carry. */
  readonly batchSize: number;
  /**
   * true: the first time the sink runs on a database, its cursor starts at the ledger's head
   * rather than at 0 (a detector has nothing to say about history; a mirror must copy it all).
   */
  readonly startAtHead?: boolean;
  /**
   * Delivers entries in order; throwing leaves the cursor where it was, to retry later.
   * `retrying`: the last delivery from this cursor failed, so it may have got through in part.
   */
  deliver(entries: LedgerRow[], retrying: boolean): Promise<void>;
}
