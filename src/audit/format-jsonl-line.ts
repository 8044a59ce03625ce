import type { LedgerRecord } from "../ledger/ledger-record.js";

/**
 * One line of a JSONL export (docs/ledger-format.md, "JSONL export"): every column, `seq` as
 * a decimal string and `body` as the exact string that was hashed. The member names and
 * order are those of the SIEM webhook's body, so what a SIEM collected verifies the same way.
 */
export function formatJsonlLine(record: LedgerRecord): string {
  return JSON.stringify({
    seq: record.seq.toString(),
    ts: record.ts,
    type: record.type,
    request_id: record.requestId,
    resource: record.resource,
    actor_id: record.actorId,
    subject_id: record.subjectId,
    prev_hash: record.prevHash,
    hash: record.hash,
    body: record.body,
  });
}
