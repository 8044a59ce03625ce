import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode, type WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { DeliveryKey } from "../domain/ports.js";

/** The `event_type` of the metadata every post of the bot carries (Slack allows [a-z0-9_]). */
export const POST_METADATA_EVENT = "accessbot_post";

type PostArguments = Parameters<WebClient["chat"]["postMessage"]>[0] & { channel: string };
type Payload = Record<string, string | number | boolean>;

/** Where the post is, and whether it was found from an earlier try (with what that try carried). */
export interface PostedMessage {
  channel: string;
  ts: string;
  /** The metadata payload of the post: this call's, or the earlier post's when `earlier`. */
  payload: Payload;
  earlier: boolean;
}

export interface OnceOnlyPosterOptions {
  /** Tries of one post within a run, the first included (default 3). */
  attempts?: number;
  /** A rate limit that asks for longer is left to the job's retry (default 30 s). */
  maxRateLimitWaitMs?: number;
  /** Pause before trying again after a post whose outcome is unknown, times the try (default 500 ms). */
  retryDelayMs?: number;
  /**
   * No call starts after this long (default 15 s): with Slack's 10 s timeout the post then
   * ends within a job's 30 s lease, so the worker never runs the job again while this run
   * could still post. What is left is the job's next run, which looks first.
   */
  budgetMs?: number;
}

/**
 * Keeps the database's clock and Slack's apart: a job created at `since` posts no earlier
 * than that on its clock, which may be this far off Slack's. One page of history more is the cost.
 */
const CLOCK_MARGIN_MS = 10 * 60_000;
const HISTORY_PAGE = 200;
const HISTORY_PAGES = 5;

/**
 * Posts a message at most once per delivery key. `chat.postMessage` has no idempotency key,
 * and an answer that never came (a timeout, a dropped connection, HTTP 5xx) does not mean
 * nothing was posted, so the Web API client's blind retries would post twice. This one is
 * given a client without retries: a rate limit (nothing posted) is waited out and retried;
 * an unknown outcome is retried only after the conversation's recent history shows that the
 * post with this key is not there. A job's repeated run (after a crash or a failure) looks
 * first, too. A lookup that fails throws, and the job tries again later; it never guesses.
 *
 * What remains: a post still in flight inside Slack when the lookup runs, and posted after
 * it, is not seen; the pause before the lookup makes that unlikely, not impossible.
 */
export class OnceOnlyPoster {
  private readonly attempts: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly retryDelayMs: number;
  private readonly budgetMs: number;
  private warnedMissingScope = false;

  constructor(
    private readonly client: WebClient,
    private readonly log: Logger,
    options: OnceOnlyPosterOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 30_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.budgetMs = options.budgetMs ?? 15_000;
  }

  /** `payload` travels in the post's metadata beside the key (what an earlier try carried is returned when found). */
  async post(message: PostArguments, delivery: DeliveryKey, payload: Payload = {}): Promise<PostedMessage> {
    const eventPayload = { ...payload, key: delivery.key };
    const deadline = Date.now() + this.budgetMs;
    const inTime = () => {
      if (Date.now() > deadline) throw new Error(`no answer from Slack within ${this.budgetMs} ms; the post is looked for when its job runs again`);
    };
    let uncertain = delivery.repeated;
    for (let attempt = 1; ; attempt += 1) {
      if (uncertain) {
        const earlier = await this.findEarlierPost(message.channel, delivery, inTime);
        if (earlier) {
          this.log.info({ channel: earlier.channel, ts: earlier.ts, deliveryKey: delivery.key }, "the post had already gone through; not posting it again");
          return earlier;
        }
      }
      inTime();
      try {
        const posted = await this.client.chat.postMessage({ ...message, metadata: { event_type: POST_METADATA_EVENT, event_payload: eventPayload } });
        if (!posted.ts) throw new Error("chat.postMessage answered without a ts");
        return { channel: posted.channel ?? message.channel, ts: posted.ts, payload: eventPayload, earlier: false };
      } catch (error) {
        const failure = error as { code?: string; retryAfter?: number };
        // Slack answered with an error: nothing was posted, and the same post would fail again.
        if (failure.code === ErrorCode.PlatformError || attempt >= this.attempts) throw error;
        if (failure.code === ErrorCode.RateLimitedError) {
          const waitMs = (failure.retryAfter ?? 1) * 1000;
          if (waitMs > this.maxRateLimitWaitMs) throw error;
          await sleep(waitMs);
          continue;
        }
        uncertain = true;
        this.log.warn({ err: error, channel: message.channel, deliveryKey: delivery.key }, "a post's outcome is unknown; checking the conversation before trying again");
        await sleep(this.retryDelayMs * attempt);
      }
    }
  }

  private async findEarlierPost(channel: string, delivery: DeliveryKey, inTime: () => void): Promise<PostedMessage | null> {
    const oldest = ((delivery.since.getTime() - CLOCK_MARGIN_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page += 1) {
      inTime();
      let history;
      try {
        history = await this.client.conversations.history({ channel, oldest, limit: HISTORY_PAGE, include_all_metadata: true, ...(cursor ? { cursor } : {}) });
      } catch (error) {
        // An installation from before the history scopes: posting again (at least once) beats never posting.
        if ((error as { data?: { error?: string } }).data?.error !== "missing_scope") throw error;
        if (!this.warnedMissingScope) {
          this.warnedMissingScope = true;
          this.log.error(
            { channel },
            "Slack refused conversations.history (missing_scope): add the im:history, channels:history and groups:history scopes (manifest.yml) and reinstall the app; until then a post whose answer was lost may be posted twice",
          );
        }
        return null;
      }
      for (const message of history.messages ?? []) {
        const metadata = message.metadata as { event_type?: string; event_payload?: Payload } | undefined;
        if (metadata?.event_type === POST_METADATA_EVENT && metadata.event_payload?.key === delivery.key && message.ts) {
          return { channel, ts: message.ts, payload: metadata.event_payload, earlier: true };
        }
      }
      cursor = history.response_metadata?.next_cursor || undefined;
      if (!history.has_more || !cursor) return null;
    }
    // More than a thousand posts since the job was created and none of them its own: taken as not posted.
    return null;
  }
}
