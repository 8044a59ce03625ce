/**
 * A ledger row as text, the way the verifier, the exports and the export file see it.
 * `ts` is the ISO-8601 UTC string with milliseconds (`2026-11-22T10:00:00.000Z`) rather than
 * a Date: it is compared with the hashed body character for character, and converting a
 * million timestamps to Dates and back costs seconds for nothing.
 */
export interface LedgerRecord {
  seq: bigint;
  ts: string;
  type: string;
  requestId: string | null;
  actorId: string | null;
  subjectId: string | null;
  resource: string | null;
  /** The exact canonical JSON that was hashed. */
  body: string;
  prevHash: string;
  hash: string;
}

/**
 * What the verifier needs from a row. The queryable copies of body fields are optional: when
 * present they are checked against the hashed body, so an edited `resource` column (which the
 * hash does not cover) cannot mislead a reader of the table, the exports or the SIEM.
 */
export type VerifiableEntry = Pick<LedgerRecord, "seq" | "body" | "prevHash" | "hash"> &
  Partial<Pick<LedgerRecord, "ts" | "type" | "requestId" | "actorId" | "subjectId" | "resource">>;
