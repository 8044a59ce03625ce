import type { WebClient } from "@slack/web-api";
import { ErrorCode } from "@slack/web-api";
import type { AuditSink } from "./audit-sink.js";
import { RetryLaterError } from "./audit-sink.js";
import { formatAuditLine } from "./format-audit-line.js";
import type { LedgerRow } from "../ledger/ledger-row.js";

/**
 * Mirrors ledger events to the audit channel. A backlog is sent as several lines per
 * message, so Slack's ~1 message per second per channel never makes the mirror fall behind
 * or reorder; a rate limit leaves the cursor in place and the same lines go out later.
 */
export class SlackAuditSink implements AuditSink {
  readonly name = "slack-audit-channel";
  readonly batchSize = 25;

  constructor(
    private readonly client: WebClient,
    private readonly channel: () => string,
    private readonly requestLink: (requestId: string) => Promise<string | null>,
  ) {}

  async deliver(entries: LedgerRow[]): Promise<void> {
    const lines: string[] = [];
    for (const entry of entries) {
      lines.push(formatAuditLine(entry, entry.requestId ? await this.requestLink(entry.requestId) : null));
    }
    try {
      await this.client.chat.postMessage({ channel: this.channel(), text: lines.join("\n"), unfurl_links: false, unfurl_media: false });
    } catch (error) {
      const err = error as { code?: string; retryAfter?: number };
      if (err.code === ErrorCode.RateLimitedError) throw new RetryLaterError("Slack rate-limited the audit channel", (err.retryAfter ?? 1) * 1000);
      throw error;
    }
  }
}
