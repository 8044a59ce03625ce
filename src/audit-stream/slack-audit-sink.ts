import { ErrorCode } from "@slack/web-api";
import type { AuditSink } from "./audit-sink.js";
import { RetryLaterError } from "./audit-sink.js";
import { formatAuditLine } from "./format-audit-line.js";
import type { LedgerRow } from "../ledger/ledger-row.js";
import type { OnceOnlyPoster } from "../slack/once-only-poster.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Mirrors ledger events to the audit channel. A backlog is sent as several lines per
 * message, so Slack's ~1 message per second per channel never makes the mirror fall behind
 * or reorder; a rate limit leaves the cursor in place and the same lines go out later.
 * A message whose answer was lost is looked for before its lines are sent again (its
 * metadata names the first entry's hash and the last seq it carried), so an outage that
 * swallows answers does not double the audit trail.
 */
export class SlackAuditSink implements AuditSink {
  readonly name = "slack-audit-channel";
  readonly batchSize = 25;

  constructor(
    private readonly poster: OnceOnlyPoster,
    private readonly channel: () => string,
    private readonly requestLink: (requestId: string) => Promise<string | null>,
  ) {}

  async deliver(entries: LedgerRow[], retrying: boolean): Promise<void> {
    // A failed delivery's lines may be in the channel already (its answer lost, then its lookup
    // failed): a retry looks first, as far back as a day (and the newest thousand messages).
    const since = new Date(Date.now() - (retrying ? DAY_MS : 0));
    let repeated = retrying;
    let rest = entries;
    while (rest.length > 0) {
      const first = rest[0]!;
      const last = rest[rest.length - 1]!;
      const lines: string[] = [];
      for (const entry of rest) {
        lines.push(formatAuditLine(entry, entry.requestId ? await this.requestLink(entry.requestId) : null));
      }
      let posted;
      try {
        posted = await this.poster.post(
          { channel: this.channel(), text: lines.join("\n"), unfurl_links: false, unfurl_media: false },
          { key: `audit:${first.hash}`, since, repeated },
          { last_seq: String(last.seq) },
        );
      } catch (error) {
        const err = error as { code?: string; retryAfter?: number };
        if (err.code === ErrorCode.RateLimitedError) throw new RetryLaterError("Slack rate-limited the audit channel", (err.retryAfter ?? 1) * 1000);
        throw error;
      }
      if (!posted.earlier) return;
      // An earlier try went through with the lines up to its last seq: the rest still go out
      // (after a lookup, as those lines too may be in a message whose answer was lost).
      repeated = true;
      const through = BigInt(String(posted.payload.last_seq ?? last.seq));
      rest = rest.filter((entry) => entry.seq > through);
    }
  }
}
