import type { PrismaClient } from "../generated/prisma/client.js";
import { INBOX_JOB_KIND, type InteractionInbox } from "../slack/interaction-inbox.js";

/**
 * The inbox is a job in the durable job table, due only if the listener never settles it:
 * the same claiming, leases and replica safety as every other job, no second mechanism.
 */
export class PrismaInteractionInbox implements InteractionInbox {
  constructor(
    private readonly prisma: PrismaClient,
    // The job table's run_at is domain time (what the worker compares with), not wall time.
    private readonly clock: { now(): Date },
  ) {}

  async record(key: string, body: unknown, replayAfterMs: number): Promise<void> {
    const payload = JSON.stringify({ key, body });
    const runAt = new Date(this.clock.now().getTime() + replayAfterMs);
    await this.prisma.$executeRaw`
      INSERT INTO job (kind, payload, dedupe_key, run_at) VALUES (${INBOX_JOB_KIND}, ${payload}::jsonb, ${key}, ${runAt})
      ON CONFLICT (dedupe_key) DO NOTHING`;
  }

  /**
   * An upsert, not an update: on PostgreSQL the ack thread's row may still be committing when
   * the listener finishes (ack-thread.ts journals it meanwhile); arriving after this, its
   * insert finds the key done and does nothing, so a finished interaction is never replayed.
   */
  async settle(key: string): Promise<void> {
    const payload = JSON.stringify({ key, settled: true });
    await this.prisma.$executeRaw`
      INSERT INTO job (kind, payload, dedupe_key, run_at, done_at, outcome) VALUES (${INBOX_JOB_KIND}, ${payload}::jsonb, ${key}, now(), now(), 'done')
      ON CONFLICT (dedupe_key) DO UPDATE SET done_at = now(), outcome = 'done', locked_by = NULL, locked_until = NULL WHERE job.done_at IS NULL`;
  }
}
