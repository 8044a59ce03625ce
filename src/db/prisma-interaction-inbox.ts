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

  async settle(key: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE job SET done_at = now(), outcome = 'done', locked_by = NULL, locked_until = NULL WHERE dedupe_key = ${key} AND done_at IS NULL`;
  }
}
