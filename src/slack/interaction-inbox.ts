import { createHash } from "node:crypto";
import type { App, Middleware, AnyMiddlewareArgs } from "@slack/bolt";
import type { Logger } from "pino";

/** Where acknowledged interactions wait until their listener has finished with them. */
export interface InteractionInbox {
  /** Durably records the body before Slack is told it was accepted; a retry of the same body is a no-op. */
  record(key: string, body: unknown, replayAfterMs: number): Promise<void>;
  /** The listener finished (successfully or with an answer to the person): nothing to replay. */
  settle(key: string): Promise<void>;
}

export const INBOX_JOB_KIND = "slack-interaction";
/** A listener still busy after this long is presumed lost with its process, and replayed. */
export const REPLAY_AFTER_MS = 60_000;
const REPLAY_PROPERTY = "accessbotReplayOf";

/**
 * Runs acknowledged interactions through the listeners, a few at a time. The bound keeps the
 * bot's own event loop responsive under a burst (every interaction in flight adds work to each
 * turn of it); what waits here is already in the inbox, so a crash loses none of it.
 */
export class InteractionRunner {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private backlogged = false;
  /** Called when a backlog of waiting interactions has emptied. */
  onDrained: (() => void) | null = null;

  constructor(
    private readonly onWork: (work: Promise<unknown>) => void,
    private readonly log: Logger,
    // Most of an interaction's time is spent waiting for the database and Slack, and decisions
    // hold the ledger's lock only for their final append, so 16 in flight keep a burst moving
    // (4 capped a burst of clicks at about 40 decisions a second on PostgreSQL).
    private readonly concurrency = 16,
  ) {}

  /** Work that runs outside the queue, which shutdown and `settle()` must still wait for. */
  track(work: Promise<unknown>): void {
    this.onWork(work);
  }

  schedule(what: string, run: () => Promise<void>): void {
    const done = new Promise<void>((resolve) => {
      this.queue.push(() => {
        this.running++;
        run()
          .catch((error: unknown) => this.log.error({ err: error, what }, "an acknowledged interaction failed; the inbox replays it"))
          .finally(() => {
            this.running--;
            resolve();
            this.next();
          });
      });
    });
    this.track(done);
    this.next();
  }

  /** Interactions waiting for a free slot (a burst). */
  get backlog(): number {
    return this.queue.length;
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) this.queue.shift()!();
    if (this.queue.length > 0) this.backlogged = true;
    else if (this.backlogged) {
      this.backlogged = false;
      this.onDrained?.();
    }
  }
}

/** Set on an interaction the ack thread recorded before acking it (see ack-thread.ts). */
export const RECORDED_PROPERTY = "accessbotRecorded";

/**
 * "Acknowledged means it will happen": commands, button clicks and modal submissions are
 * recorded in the inbox before Slack is told they were accepted (by the ack thread, which
 * passes them on marked RECORDED_PROPERTY), and settled here once their listener has finished.
 * One whose process died before it was settled (kill -9 after the ack) is replayed through the
 * same listeners by whichever process finds it due, and the domain's idempotency keys (trigger
 * id, one vote per person, view id) make the replay change nothing that already happened.
 */
export function createInboxMiddleware(inbox: InteractionInbox, log: Logger): Middleware<AnyMiddlewareArgs> {
  return async ({ body, context, next }) => {
    const key = (context[REPLAY_PROPERTY] as string | undefined) ?? (context[RECORDED_PROPERTY] as string | undefined) ?? (isInteraction(body) ? inboxKey(body) : null);
    if (!key) return next();
    if (!context[REPLAY_PROPERTY] && !context[RECORDED_PROPERTY]) await inbox.record(key, body, REPLAY_AFTER_MS);
    try {
      await next();
    } finally {
      await inbox.settle(key).catch((error: unknown) => log.warn({ err: error, key }, "could not settle an interaction; it will be replayed harmlessly"));
    }
  };
}

/** Commands and clicks are acked with nothing; a modal submission's ack may carry errors. */
export function acksWithoutBody(body: unknown): boolean {
  const record = body as { command?: unknown; type?: unknown };
  return typeof record.command === "string" || record.type === "block_actions";
}

/** Runs a recorded interaction through the listeners again; acks and HTTP replies go nowhere. */
export async function replayInteraction(app: App, payload: unknown): Promise<void> {
  const { key, body } = payload as { key: string; body: Record<string, unknown> };
  await app.processEvent({ body, ack: async () => {}, customProperties: { [REPLAY_PROPERTY]: key } });
}

export function isInteraction(body: unknown): boolean {
  const record = body as { command?: unknown; type?: unknown } | null;
  if (!record || typeof record !== "object") return false;
  return typeof record.command === "string" || record.type === "block_actions" || record.type === "view_submission";
}

/** Slack's retries of one interaction carry the same body, hence the same key. */
export function inboxKey(body: unknown): string {
  return `inbox:${createHash("sha256").update(JSON.stringify(body)).digest("hex")}`;
}
