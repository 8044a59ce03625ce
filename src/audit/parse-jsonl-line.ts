import type { VerifiableEntry } from "../ledger/ledger-record.js";

/** A line of an export file that is not a ledger entry at all; carries the line number. */
export class ExportLineError extends Error {
  readonly code = "EXPORT_LINE_INVALID";
  constructor(
    readonly lineNumber: number,
    problem: string,
  ) {
    super(`line ${lineNumber}: ${problem}`);
    this.name = "ExportLineError";
  }
}

const SEQ = /^[1-9][0-9]{0,18}$/;

/** String.prototype.isWellFormed (Node 20; typed from lib ES2024, the project targets ES2023). */
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * Reads one JSONL line back into an entry. Only seq, body, prev_hash and hash are required
 * (they are all the chain needs); the column copies, when present, are checked against the
 * body by the verifier. Checked by hand rather than with zod: this runs a million times.
 */
export function parseJsonlLine(line: string, lineNumber: number): VerifiableEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ExportLineError(lineNumber, "not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ExportLineError(lineNumber, "not a JSON object");
  const fields = value as Record<string, unknown>;
  const { seq, body, prev_hash: prevHash, hash } = fields;
  if (typeof seq !== "string" || !SEQ.test(seq)) throw new ExportLineError(lineNumber, `"seq" must be a decimal string such as "42"`);
  if (typeof body !== "string") throw new ExportLineError(lineNumber, `"body" must be the hashed JSON text, as a string`);
  // Why: an escaped lone surrogate (\ud800) has no UTF-8 form and would be hashed as U+FFFD,
  // so an edited line could still match the hash; the exporter never writes one.
  if (!(body as WellFormedCheck).isWellFormed()) {
    throw new ExportLineError(lineNumber, `"body" contains an unpaired surrogate escape such as \\ud800, which is not text that can have been hashed`);
  }
  if (typeof prevHash !== "string" || typeof hash !== "string") throw new ExportLineError(lineNumber, `"prev_hash" and "hash" must be strings`);
  const entry: VerifiableEntry = { seq: BigInt(seq), body, prevHash, hash };
  if ("ts" in fields) entry.ts = textColumn(fields.ts, "ts", lineNumber, false) as string;
  if ("type" in fields) entry.type = textColumn(fields.type, "type", lineNumber, false) as string;
  if ("request_id" in fields) entry.requestId = textColumn(fields.request_id, "request_id", lineNumber, true);
  if ("actor_id" in fields) entry.actorId = textColumn(fields.actor_id, "actor_id", lineNumber, true);
  if ("subject_id" in fields) entry.subjectId = textColumn(fields.subject_id, "subject_id", lineNumber, true);
  if ("resource" in fields) entry.resource = textColumn(fields.resource, "resource", lineNumber, true);
  return entry;
}

function textColumn(value: unknown, name: string, lineNumber: number, nullable: boolean): string | null {
  if (typeof value === "string" || (nullable && value === null)) return value;
  throw new ExportLineError(lineNumber, `"${name}" must be a string${nullable ? " or null" : ""}`);
}
