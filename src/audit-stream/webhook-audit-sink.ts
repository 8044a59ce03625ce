import { createHmac } from "node:crypto";
import type { AuditSink } from "./audit-sink.js";
import { RetryLaterError } from "./audit-sink.js";
import type { LedgerRow } from "../ledger/ledger-row.js";

export const SIGNATURE_HEADER = "x-accessbot-signature";
export const TIMESTAMP_HEADER = "x-accessbot-timestamp";
export const SEQ_HEADER = "x-accessbot-seq";

/** The JSON a SIEM receives for one ledger event (docs/ledger-format.md, "Webhook"). */
export function toWebhookEvent(row: LedgerRow): Record<string, unknown> {
  return {
    seq: row.seq.toString(),
    ts: row.ts.toISOString(),
    type: row.type,
    request_id: row.requestId,
    resource: row.resource,
    actor_id: row.actorId,
    subject_id: row.subjectId,
    prev_hash: row.prevHash,
    hash: row.hash,
    body: row.body,
  };
}

/** `v1=` + hex HMAC-SHA256 over `${timestamp}.${rawBody}`, as documented for receivers. */
export function signWebhookBody(secret: string, timestamp: string, rawBody: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
}

/**
 * POSTs each ledger event, in order, one per request, signed with HMAC-SHA256. A failure
 * (network, non-2xx) leaves the cursor where it was; the relay retries with backoff, so an
 * outage loses nothing and delivery resumes in order. Receivers de-duplicate on `seq`.
 */
export class WebhookAuditSink implements AuditSink {
  // One event per delivery: the cursor then advances after every acknowledged POST, so a
  // failure part-way through a backlog re-sends nothing that was already accepted.
  readonly batchSize = 1;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(entries: LedgerRow[]): Promise<void> {
    for (const entry of entries) {
      const body = JSON.stringify(toWebhookEvent(entry));
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhookBody(this.secret, timestamp, body),
          [SEQ_HEADER]: entry.seq.toString(),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status === 429 || response.status === 503) {
        const retryAfter = Number(response.headers.get("retry-after"));
        throw new RetryLaterError(`webhook answered ${response.status} at seq ${entry.seq}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0);
      }
      if (!response.ok) throw new Error(`webhook answered HTTP ${response.status} at seq ${entry.seq}`);
    }
  }
}
