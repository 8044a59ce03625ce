/** A ledger row as stored; `body` is the canonical JSON that was hashed. */
export interface LedgerRow {
  seq: bigint;
  ts: Date;
  type: string;
  requestId: string | null;
  actorId: string | null;
  subjectId: string | null;
  resource: string | null;
  body: string;
  prevHash: string;
  hash: string;
}
