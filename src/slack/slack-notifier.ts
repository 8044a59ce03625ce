import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { RequestMessageRef } from "../domain/access-records.js";
import type { RequestView } from "../domain/build-request-view.js";
import type { AccessNotifier, DeliveryKey, MessageDestination, NoticeView } from "../domain/ports.js";
import type { HomeSnapshot } from "../domain/read-home-snapshot.js";
import { buildHomeView } from "./blocks/build-home-view.js";
import { buildNoticeMessage } from "./blocks/build-notice-message.js";
import { buildBreakGlassMessage, buildRequestMessage, type SlackMessage } from "./blocks/build-request-message.js";
import type { OnceOnlyPoster } from "./once-only-poster.js";

/** Slack errors that will never go away by retrying the same update. */
const PERMANENT_ERRORS = new Set(["message_not_found", "channel_not_found", "cant_update_message", "edit_window_closed", "is_archived", "not_in_channel", "user_not_found", "account_inactive", "invalid_blocks"]);

/**
 * Renders what the domain hands it and sends it to Slack. Each method does one thing, so a
 * job that failed half-way repeats little; every call has the client's timeout. Posts go
 * through the once-only poster (a repeat never posts twice); updates and Home tabs replace
 * what is there, so repeating them is harmless. DM channel ids are cached: they never change
 * for a user.
 */
export class SlackNotifier implements AccessNotifier {
  private readonly dmChannels = new Map<string, string>();

  constructor(
    private readonly client: WebClient,
    private readonly poster: OnceOnlyPoster,
    private readonly log: Logger,
  ) {}

  async postRequestCopy(view: RequestView, destination: MessageDestination, delivery: DeliveryKey): Promise<RequestMessageRef> {
    const review = destination.kind === "review" || destination.kind === "review-dm";
    const message = review ? buildBreakGlassMessage(view) : buildRequestMessage(view);
    if (destination.kind === "dm" && destination.reminder) message.text = `Reminder: ${message.text}`;
    const channel = destination.kind === "channel" || destination.kind === "review" ? destination.channelId : await this.openDm(destination.userId);
    try {
      const posted = await this.poster.post({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }, delivery);
      const recipientId = destination.kind === "dm" || destination.kind === "review-dm" ? destination.userId : null;
      return { channelId: posted.channel, ts: posted.ts, kind: destination.kind === "channel" ? "channel" : review ? "review" : "dm", recipientId };
    } catch (error) {
      if (destination.kind === "channel" && slackError(error) === "not_in_channel") {
        this.log.error({ channel }, `could not post to the approval channel ${channel}: invite the bot there with /invite @accessbot`);
      }
      throw error;
    }
  }

  async updateRequestCopies(view: RequestView, copies: RequestMessageRef[]): Promise<void> {
    const request = buildRequestMessage(view);
    let review: SlackMessage | null = null;
    const results = await Promise.allSettled(
      copies.map((ref) => {
        const message = ref.kind === "review" ? (review ??= buildBreakGlassMessage(view)) : request;
        return this.client.chat.update({ channel: ref.channelId, ts: ref.ts, text: message.text, blocks: message.blocks });
      }),
    );
    const retryable: unknown[] = [];
    results.forEach((result, index) => {
      if (result.status === "fulfilled") return;
      if (PERMANENT_ERRORS.has(slackError(result.reason) ?? "")) {
        this.log.warn({ err: result.reason, message: copies[index] }, "a copy of a request message can no longer be updated; skipping it");
      } else {
        retryable.push(result.reason);
      }
    });
    if (retryable.length > 0) throw new AggregateError(retryable, `${retryable.length} of ${copies.length} copies of ${view.snapshot.request.id} could not be updated yet`);
  }

  async publishHome(home: HomeSnapshot): Promise<void> {
    try {
      await this.client.views.publish({ user_id: home.userId, view: buildHomeView(home) });
    } catch (error) {
      if (PERMANENT_ERRORS.has(slackError(error) ?? "")) {
        this.log.warn({ err: error, user: home.userId }, "a Home tab could not be published and never will be; skipping it");
        return;
      }
      throw error;
    }
  }

  async sendNotice(to: { userId: string } | { channelId: string }, view: NoticeView, delivery: DeliveryKey): Promise<void> {
    const message = buildNoticeMessage(view);
    if (!message) return;
    const channel = "channelId" in to ? to.channelId : await this.openDm(to.userId);
    try {
      await this.poster.post({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }, delivery);
    } catch (error) {
      if (PERMANENT_ERRORS.has(slackError(error) ?? "")) {
        this.log.warn({ err: error, channel, notice: view.notice.kind }, "a notice could not be delivered and never will be; skipping it");
        return;
      }
      throw error;
    }
  }

  private async openDm(userId: string): Promise<string> {
    const cached = this.dmChannels.get(userId);
    if (cached) return cached;
    const opened = await this.client.conversations.open({ users: userId });
    const id = opened.channel?.id;
    if (!id) throw new Error(`conversations.open returned no channel for ${userId}`);
    this.dmChannels.set(userId, id);
    return id;
  }
}

function slackError(error: unknown): string | undefined {
  return (error as { data?: { error?: string } } | null)?.data?.error;
}
