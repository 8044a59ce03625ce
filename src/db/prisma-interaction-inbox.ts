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
    // A record that is already there keeps its body; only an earlier replay time wins. That is
    // how a dead process's journal, copied at start-up with no delay, gets its interactions run
    // now even when the dead process's own row committed after all (its backend outlived it).
    await this.prisma.$executeRaw`
      INSERT INTO job (kind, payload, dedupe_key, run_at) VALUES (${INBOX_JOB_KIND}, ${payload}::jsonb, ${key}, ${runAt})
      ON CONFLICT (dedupe_key) DO UPDATE SET run_at = EXCLUDED.run_at
      WHERE job.done_at IS NULL AND job.locked_by IS NULL AND EXCLUDED.run_at < job.run_at`;
  }

  /**
   * Every unfinished, unclaimed interaction runs now. Only for a database no other process can
   * hold (PGlite, under its directory lock): whoever acked them is certainly gone.
   */
  async replayLeftNow(): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE job SET run_at = ${this.clock.now()} WHERE kind = ${INBOX_JOB_KIND} AND done_at IS NULL AND locked_by IS NULL AND run_at > ${this.clock.now()}`;
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
