import type { AppConfig } from "../config/read-env-config.js";
import type { DurableInboxTarget } from "../db/open-database.js";
import type { HealthReport, MetricsText } from "./operational-routes.js";

/** What the bot hands its ack thread (start-ack-thread.ts → ack-thread.ts). */
export interface AckThreadData {
  config: AppConfig;
  durableInbox: Exclude<DurableInboxTarget, null>;
  /** On PostgreSQL: this process's journal for interactions whose inbox row was slow to commit (claim-overflow-journal.ts). */
  overflowJournal: string | null;
  /** The bot's clock minus the wall clock: replay times in the inbox are in the bot's time. */
  clockOffsetMs: number;
  replayAfterMs: number;
  slackTimeoutMs: number;
}

/** Ack thread → bot. */
export type FromAckThread =
  /** `threadId`: the ack thread's kernel thread id (Linux), which the bot leaves at the normal priority. */
  | { type: "ready"; port: number; threadId: number | null }
  | { type: "failed"; message: string }
  | { type: "log"; line: string }
  /** An acknowledged (or, with `ackId`, awaiting its ack) request; `journalEnd` when it went to the journal. */
  | { type: "event"; body: Record<string, unknown>; key: string | null; retryNum?: number; retryReason?: string; ackId?: number; journalEnd?: number }
  | { type: "health"; id: number }
  | { type: "metrics"; id: number }
  | { type: "count"; id: number; forwarded: number }
  | { type: "socket"; event: string }
  | { type: "stopped"; forwarded: number };

/** Bot → ack thread. */
export type ToAckThread =
  | { type: "ack"; ackId: number; response?: unknown }
  | { type: "health-report"; id: number; report: HealthReport }
  | { type: "metrics-report"; id: number; metrics: MetricsText | null; error?: string }
  | { type: "count"; id: number }
  | { type: "compact"; through: number }
  | { type: "stop" };
