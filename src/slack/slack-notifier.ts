import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { RequestSnapshot } from "../domain/access-records.js";
import { buildRequestView } from "../domain/build-request-view.js";
import type { AccessDeps, AccessNotifier, RequestChange } from "../domain/ports.js";
import { buildOutcomeText } from "./blocks/build-outcome-text.js";
import { buildRequestMessage } from "./blocks/build-request-message.js";
import { KeyedQueue } from "./keyed-queue.js";

type ViewDeps = Pick<AccessDeps, "policy" | "directory" | "store" | "clock">;

/** At most this many approvers are DMed; the rest still see the approval channel. */
const MAX_APPROVER_DMS = 25;

/**
 * Posts and updates request messages in Slack. Updates for one request run one at a time and
 * always render the latest committed state, so a slow update can never overwrite a newer one.
 */
export class SlackNotifier implements AccessNotifier {
  private readonly queue = new KeyedQueue();
  private readonly refreshQueued = new Map<string, Promise<void>>();

  constructor(
    private readonly client: WebClient,
    private readonly deps: ViewDeps,
    private readonly log: Logger,
  ) {}

  requestOpened(snapshot: RequestSnapshot, approverIds: string[]): Promise<void> {
    return this.queue.run(snapshot.request.id, async () => {
      const message = buildRequestMessage(await buildRequestView(this.deps, snapshot));
      const channel = this.deps.policy.current().policy.settings.approvalChannel;
      try {
        const posted = await this.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false });
        await this.deps.store.addRequestMessage(snapshot.request.id, { channelId: posted.channel!, ts: posted.ts!, kind: "channel", recipientId: null });
      } catch (error) {
        this.log.error({ err: error, channel, requestId: snapshot.request.id }, `could not post to the approval channel ${channel}: invite the bot there with /invite @accessbot`);
      }
      for (const approverId of approverIds.slice(0, MAX_APPROVER_DMS)) {
        try {
          const channelId = await this.openDm(approverId);
          const posted = await this.client.chat.postMessage({ channel: channelId, text: message.text, blocks: message.blocks, unfurl_links: false });
          await this.deps.store.addRequestMessage(snapshot.request.id, { channelId: posted.channel ?? channelId, ts: posted.ts!, kind: "dm", recipientId: approverId });
        } catch (error) {
          this.log.warn({ err: error, approverId, requestId: snapshot.request.id }, "could not DM an approver");
        }
      }
      if (approverIds.length > MAX_APPROVER_DMS) {
        this.log.info({ requestId: snapshot.request.id, approvers: approverIds.length }, `only the first ${MAX_APPROVER_DMS} approvers were DMed`);
      }
    });
  }

  requestChanged(snapshot: RequestSnapshot, change: RequestChange): Promise<void> {
    const id = snapshot.request.id;
    const refresh = this.refreshQueued.get(id) ?? this.queueRefresh(id);
    const outcome = buildOutcomeText(snapshot, change);
    if (!outcome) return refresh;
    return this.queue.run(id, async () => {
      const channel = await this.openDm(snapshot.request.requesterId);
      await this.client.chat.postMessage({ channel, text: outcome, unfurl_links: false });
    });
  }

  /**
   * Re-renders every copy of the message from the latest committed state. A refresh that is
   * still waiting in the queue already covers any later change, so a burst of clicks costs
   * one or two rounds of chat.update, not one per click (Slack rate-limits chat.update).
   */
  private queueRefresh(requestId: string): Promise<void> {
    const refresh = this.queue.run(requestId, async () => {
      this.refreshQueued.delete(requestId);
      const latest = await this.deps.store.getSnapshot(requestId);
      if (!latest) return;
      const message = buildRequestMessage(await buildRequestView(this.deps, latest));
      const results = await Promise.allSettled(
        latest.messages.map((ref) => this.client.chat.update({ channel: ref.channelId, ts: ref.ts, text: message.text, blocks: message.blocks })),
      );
      results.forEach((result, index) => {
        if (result.status === "rejected") this.log.warn({ err: result.reason, message: latest.messages[index] }, "could not update a request message");
      });
    });
    this.refreshQueued.set(requestId, refresh);
    return refresh;
  }

  /** Resolves once every queued post and update has been sent. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  private async openDm(userId: string): Promise<string> {
    const opened = await this.client.conversations.open({ users: userId });
    const id = opened.channel?.id;
    if (!id) throw new Error(`conversations.open returned no channel for ${userId}`);
    return id;
  }
}
