import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";

/** The `prev_hash` of the first entry of every chain. */
export const GENESIS_HASH = "0".repeat(64);

/** Version of the entry body layout; part of the hashed body. */
export const LEDGER_FORMAT_VERSION = 1;

/** Who caused a ledger event: a Slack user as the signed payload named them, or the bot itself. */
export interface LedgerActor {
  kind: "user" | "system";
  user_id?: string;
  team_id?: string;
  enterprise_id?: string;
  name?: string;
  profile?: { real_name?: string; email?: string; display_name?: string };
}

/** What the caller supplies for an append; seq, ts and hashes are assigned by the ledger. */
export interface LedgerEventInput {
  type: string;
  requestId?: string | null;
  subjectId?: string | null;
  resource?: string | null;
  actor: LedgerActor;
  data: Record<string, unknown>;
}

/** The object whose canonical JSON is stored as `body` and hashed. */
export interface LedgerEntryBody {
  v: number;
  seq: string;
  ts: string;
  type: string;
  request_id: string | null;
  subject_id: string | null;
  resource: string | null;
  actor: LedgerActor;
  data: Record<string, unknown>;
}

export function buildEntryBody(event: LedgerEventInput, seq: bigint, ts: Date): LedgerEntryBody {
  return {
    v: LEDGER_FORMAT_VERSION,
    seq: seq.toString(),
    ts: ts.toISOString(),
    type: event.type,
    request_id: event.requestId ?? null,
    subject_id: event.subjectId ?? null,
    resource: event.resource ?? null,
    actor: event.actor,
    data: event.data,
  };
}

/** hash = sha256(prev_hash as 64 lowercase hex ASCII bytes ‖ body as UTF-8), lowercase hex. */
export function computeEntryHash(prevHash: string, body: string): string {
  return createHash("sha256").update(prevHash, "latin1").update(body, "utf8").digest("hex");
}

/** sha256 of a value's canonical JSON, used for the blocks an approver saw. */
export function sha256OfCanonical(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value), "utf8").digest("hex");
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
