import { describeLedgerEvent } from "./describe-ledger-event.js";
import { escapeCsvCell } from "./escape-csv-cell.js";
import type { LedgerRecord } from "../ledger/ledger-record.js";

export const CSV_COLUMNS = [
  "seq",
  "time (UTC)",
  "event",
  "request",
  "resource",
  "actor id",
  "actor name",
  "actor email",
  "subject",
  "decision details",
  "reason",
  "counted toward",
  "missing",
  "policy sha256",
  "hash",
] as const;

/** RFC 4180 record separator. */
export const CSV_EOL = "\r\n";

export function formatCsvHeader(): string {
  return CSV_COLUMNS.map(escapeCsvCell).join(",");
}

/**
 * One CSV row per event, for reading in a spreadsheet. Everything shown comes from the
 * hashed body, not from the queryable columns, so the sheet says what the ledger proves.
 */
export function formatCsvRow(record: LedgerRecord): string {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(record.body) as Record<string, unknown>;
  } catch {
    body = {};
  }
  const type = typeof body.type === "string" ? body.type : record.type;
  const event = describeLedgerEvent(type, body);
  const name = event.actorName && event.actorRealName && event.actorRealName !== event.actorName ? `${event.actorName} (${event.actorRealName})` : (event.actorName ?? event.actorRealName);
  const cells = [
    record.seq,
    typeof body.ts === "string" ? body.ts : record.ts,
    type,
    stringOr(body.request_id, record.requestId),
    stringOr(body.resource, record.resource),
    event.actorId,
    name,
    event.actorEmail,
    stringOr(body.subject_id, record.subjectId),
    event.details,
    event.reason,
    event.countedToward,
    event.missing,
    event.policySha256,
    record.hash,
  ];
  return cells.map(escapeCsvCell).join(",");
}

function stringOr(value: unknown, fallback: string | null): string | null {
  return typeof value === "string" ? value : value === null ? null : fallback;
}
