import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { PrismaClient } from "../generated/prisma/client.js";
import { checkpointDue } from "./checkpoint-due.js";
import { signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./webhook-audit-sink.js";

export interface CheckpointResult {
  seq: bigint;
  hash: string;
  channelId: string | null;
  messageTs: string | null;
  webhookOk: boolean | null;
  /** The `ledger_checkpoint` row; null when the head could be published nowhere (nothing is recorded then). */
  id: bigint | null;
}

export interface CheckpointDeps {
  prisma: PrismaClient;
  client: WebClient;
  auditChannel: string;
  webhookUrl: string | null;
  /** Signs the webhook POST like the SIEM stream (AUDIT_WEBHOOK_SECRET), when set. */
  webhookSecret: string | null;
  log: Logger;
  /**
   * "postgres": replicas may share the database, so a publication holds a transaction-scoped
   * advisory lock and a replica that finds it taken skips (the holder publishes the head).
   * "pglite" (the default): one process per database, so publications are only serialised
   * within this process, without holding a transaction open across the Slack call.
   */
  databaseKind?: "pglite" | "postgres";
}

export interface CheckpointPolicy {
  /** ACCESSBOT_CHECKPOINT_EVERY_ENTRIES; 0 turns this rule off. */
  everyEntries: number;
  /** ACCESSBOT_CHECKPOINT_EVERY_MINUTES; 0 turns this rule off. */
  everyMinutes: number;
}

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
type Queryable = PrismaClient | Tx;

/** "checkpoint" in ASCII; distinct from the ledger's append lock (LEDGER_LOCK_KEY). */
export const CHECKPOINT_LOCK_KEY = 0x636b7074;
/** The transaction holding the lock spans the Slack post (client retries included) and the webhook. */
const PUBLISH_TRANSACTION_TIMEOUT_MS = 120_000;

/**
 * Publishes the ledger head outside the database: a message in the audit channel (which the
 * database's owner cannot rewrite) and optionally a POST to an external URL, then records it
 * through `accessbot_record_checkpoint`, which only accepts a (seq, hash) that is an entry of
 * the ledger. `accessbot audit verify` checks the chain against every recorded head.
 * Nothing is published for an empty ledger, or for a head that already has a checkpoint
 * (so replicas starting together post it once).
 */
export async function publishCheckpoint(deps: CheckpointDeps): Promise<CheckpointResult | null> {
  return exclusively(deps, async (q) => {
    const { head, last } = await readState(q);
    if (!head || (last && last.seq === head.seq)) return null;
    return postAndRecord(q, deps, head);
  });
}

/**
 * Publishes the head when {@link checkpointDue} says so (N entries or T minutes of activity
 * since the last checkpoint). Meant for a timer (see {@link startCheckpointTimer}); cheap when
 * nothing is due (two index lookups, no lock). Decided again under the lock, so two replicas
 * never post two checkpoints for the same head.
 */
export async function publishCheckpointIfDue(deps: CheckpointDeps & CheckpointPolicy & { now?: Date }): Promise<CheckpointResult | null> {
  const due = (state: Awaited<ReturnType<typeof readState>>) =>
    checkpointDue({
      lastCheckpoint: state.last,
      head: state.head,
      now: deps.now ?? new Date(),
      everyEntries: deps.everyEntries,
      everyMinutes: deps.everyMinutes,
    });
  if (!due(await readState(deps.prisma))) return null;
  return exclusively(deps, async (q) => {
    const state = await readState(q);
    if (!state.head || !due(state)) return null;
    return postAndRecord(q, deps, state.head);
  });
}

export interface CheckpointTimer {
  stop(): Promise<void>;
}

/**
 * Calls {@link publishCheckpointIfDue} every `intervalMs` (default 30 s) until stopped, with the
 * dependencies `deps()` returns at that tick (so a reloaded policy's audit channel applies).
 * With both rules off (0), it does nothing. A failed run is logged and the next tick tries again.
 * `now` defaults to the wall clock, which is what `ledger_checkpoint.created_at` is compared with.
 */
export function startCheckpointTimer(options: CheckpointPolicy & { deps: () => CheckpointDeps; intervalMs?: number; now?: () => Date }): CheckpointTimer {
  if (options.everyEntries <= 0 && options.everyMinutes <= 0) return { stop: async () => {} };
  let running: Promise<unknown> | null = null;
  const tick = () => {
    if (running) return;
    const deps = options.deps();
    running = publishCheckpointIfDue({ ...deps, everyEntries: options.everyEntries, everyMinutes: options.everyMinutes, now: options.now?.() ?? new Date() })
      .then((result) => {
        if (result) deps.log.info({ seq: result.seq.toString(), hash: result.hash, id: result.id?.toString() ?? null }, "ledger checkpoint published");
      })
      .catch((error: unknown) => deps.log.error({ err: error }, "could not publish a due ledger checkpoint; the next tick tries again"))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, options.intervalMs ?? 30_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function readState(q: Queryable): Promise<{ head: { seq: bigint; hash: string } | null; last: { seq: bigint; at: Date } | null }> {
  const head = await q.ledgerEntry.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
  const last = await q.ledgerCheckpoint.findFirst({ orderBy: [{ seq: "desc" }, { id: "desc" }], select: { seq: true, createdAt: true } });
  return { head: head ? { seq: head.seq, hash: head.hash.trim() } : null, last: last ? { seq: last.seq, at: last.createdAt } : null };
}

/** In-process: one publication at a time per database client (start-up, the daily cron and the timer may coincide). */
const inProcess = new WeakMap<PrismaClient, Promise<unknown>>();

async function exclusively<T>(deps: CheckpointDeps, fn: (q: Queryable) => Promise<T | null>): Promise<T | null> {
  const run = async (): Promise<T | null> => {
    if (deps.databaseKind !== "postgres") return fn(deps.prisma);
    return deps.prisma.$transaction(
      async (tx) => {
        const [lock] = await tx.$queryRaw<Array<{ locked: boolean }>>`SELECT pg_try_advisory_xact_lock(${CHECKPOINT_LOCK_KEY}::bigint) AS locked`;
        // Another replica is publishing right now; it reads the head under the lock itself.
        if (!lock?.locked) return null;
        return fn(tx);
      },
      { timeout: PUBLISH_TRANSACTION_TIMEOUT_MS, maxWait: 10_000 },
    );
  };
  const previous = inProcess.get(deps.prisma) ?? Promise.resolve();
  const current = previous.then(run, run);
  inProcess.set(deps.prisma, current.catch(() => undefined));
  return current;
}

async function postAndRecord(q: Queryable, deps: CheckpointDeps, head: { seq: bigint; hash: string }): Promise<CheckpointResult> {
  let channelId: string | null = null;
  let messageTs: string | null = null;
  try {
    const posted = await deps.client.chat.postMessage({
      channel: deps.auditChannel,
      text: `:link: Ledger checkpoint: seq ${head.seq} hash ${head.hash}\nAn auditor can check the database against it with \`npx accessbot audit verify --checkpoint ${head.seq}:${head.hash}\`.`,
      unfurl_links: false,
    });
    channelId = posted.channel ?? deps.auditChannel;
    messageTs = posted.ts ?? null;
  } catch (error) {
    deps.log.error({ err: error, channel: deps.auditChannel }, "could not post the ledger checkpoint to the audit channel; invite the bot there");
  }
  let webhookOk: boolean | null = null;
  if (deps.webhookUrl) {
    try {
      const body = JSON.stringify({ kind: "accessbot.ledger_checkpoint", seq: head.seq.toString(), hash: head.hash, at: new Date().toISOString() });
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const response = await fetch(deps.webhookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(deps.webhookSecret ? { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signWebhookBody(deps.webhookSecret, timestamp, body) } : {}),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      webhookOk = response.ok;
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      webhookOk = false;
      deps.log.warn({ err: error }, "could not POST the ledger checkpoint to AUDIT_CHECKPOINT_WEBHOOK");
    }
  }
  if (!messageTs && webhookOk !== true) {
    // Published nowhere: recording it would make the head look anchored when it is not, and
    // stop the next attempt.
    return { seq: head.seq, hash: head.hash, channelId, messageTs, webhookOk, id: null };
  }
  // Recorded only through the SECURITY DEFINER function: the runtime role cannot INSERT into
  // ledger_checkpoint, and the function refuses a (seq, hash) that is not a ledger entry.
  const [row] = await q.$queryRaw<Array<{ id: bigint }>>`
    SELECT accessbot_record_checkpoint(${head.seq}::bigint, ${head.hash}::text, ${channelId}::text, ${messageTs}::text, ${webhookOk}::boolean) AS id`;
  return { seq: head.seq, hash: head.hash, channelId, messageTs, webhookOk, id: row ? BigInt(row.id) : null };
}
