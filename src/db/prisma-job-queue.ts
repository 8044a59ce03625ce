import type { PrismaClient } from "../generated/prisma/client.js";
import type { ClaimedJob, JobLeases, JobQueue } from "../jobs/job-queue.js";

/** Any constant works; it only has to differ from the ledger's and Prisma's advisory lock keys. */
const CLAIM_LOCK_KEY = 7_436_001;

interface JobRow {
  id: bigint;
  kind: string;
  payload: unknown;
  lane: string | null;
  attempts: number;
  locked_until: Date;
  created_at: Date;
}

/**
 * The job table (`job`) on PostgreSQL or PGlite. Claims are short transactions serialised
 * by an advisory lock, which makes "one job per lane at a time" hold across replicas without
 * holding any transaction open while a job runs.
 */
export class PrismaJobQueue implements JobQueue {
  constructor(private readonly prisma: PrismaClient) {}

  async claim(workerId: string, now: Date, limit: number, lease: JobLeases): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    const wall = new Date();
    const byKind = JSON.stringify(lease.byKind);
    const rows = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CLAIM_LOCK_KEY})`;
      return tx.$queryRaw<JobRow[]>`
        UPDATE job SET locked_by = ${workerId}, attempts = attempts + 1,
          locked_until = ${wall}::timestamptz + make_interval(secs => coalesce((${byKind}::jsonb ->> kind)::double precision, ${lease.defaultMs}) / 1000.0)
        WHERE id IN (
          -- Only the oldest due jobs are looked at (an index range, not a sort of the whole
          -- backlog), then those whose lane is free, then the first of each lane.
          WITH candidates AS (
            SELECT j.id, j.lane, j.run_at FROM job j
            WHERE j.done_at IS NULL AND j.run_at <= ${now} AND (j.locked_until IS NULL OR j.locked_until < ${wall})
            ORDER BY j.run_at, j.id
            LIMIT ${Math.min(1000, limit * 25)}
            -- A refresh that a decision still in progress holds (enqueue in PrismaAccessStore)
            -- waits for its commit, so that it renders what that decision changed.
            FOR UPDATE OF j SKIP LOCKED
          ), free AS (
            SELECT c.id, c.lane, c.run_at FROM candidates c
            WHERE c.lane IS NULL OR NOT EXISTS (
              SELECT 1 FROM job busy WHERE busy.lane = c.lane AND busy.done_at IS NULL AND busy.locked_until >= ${wall})
          ), first_per_lane AS (
            SELECT DISTINCT ON (coalesce(lane, 'job:' || id)) id, run_at FROM free
            ORDER BY coalesce(lane, 'job:' || id), run_at, id
          )
          SELECT id FROM first_per_lane ORDER BY run_at, id LIMIT ${limit}
        )
        RETURNING id, kind, payload, lane, attempts, locked_until, created_at`;
    }, { maxWait: 20_000, timeout: 20_000 });
    return rows
      .map((row) => ({ id: row.id, kind: row.kind, payload: row.payload, lane: row.lane, attempts: row.attempts, leaseUntil: row.locked_until, createdAt: row.created_at }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async complete(job: ClaimedJob, workerId: string, outcome: "done" | "failed", error?: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE job SET done_at = now(), outcome = ${outcome}, locked_by = NULL, locked_until = NULL, last_error = ${error ?? null}
      WHERE id = ${job.id} AND locked_by = ${workerId} AND done_at IS NULL`;
  }

  async retry(job: ClaimedJob, workerId: string, at: Date, error: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE job SET run_at = ${at}, locked_by = NULL, locked_until = NULL, last_error = ${error.slice(0, 1000)}
      WHERE id = ${job.id} AND locked_by = ${workerId} AND done_at IS NULL`;
  }

  async nextRunAt(): Promise<Date | null> {
    const rows = await this.prisma.$queryRaw<Array<{ due: Date | null }>>`
      SELECT min(greatest(run_at, coalesce(locked_until, run_at))) AS due FROM job WHERE done_at IS NULL`;
    return rows[0]?.due ?? null;
  }

  /**
   * Adds a job unless one with `dedupeKey` was ever added (done or not): every replica may ask
   * for the same scheduled job, and it runs once.
   */
  async enqueueOnce(kind: string, payload: unknown, dedupeKey: string, runAt: Date): Promise<boolean> {
    const added = await this.prisma.$executeRaw`
      INSERT INTO job (kind, payload, dedupe_key, run_at) VALUES (${kind}, ${JSON.stringify(payload)}::jsonb, ${dedupeKey}, ${runAt})
      ON CONFLICT (dedupe_key) DO NOTHING`;
    return added > 0;
  }

  /**
   * Claims the one job with `dedupeKey` if it is neither done nor leased (a command that runs a
   * scheduled job on demand, e.g. `digest --post`); null when a worker holds it or it is done.
   */
  async claimByKey(dedupeKey: string, workerId: string, leaseMs: number): Promise<ClaimedJob | null> {
    const rows = await this.prisma.$queryRaw<JobRow[]>`
      UPDATE job SET locked_by = ${workerId}, locked_until = ${new Date(Date.now() + leaseMs)}, attempts = attempts + 1
      WHERE dedupe_key = ${dedupeKey} AND done_at IS NULL AND (locked_until IS NULL OR locked_until < ${new Date()})
      RETURNING id, kind, payload, lane, attempts, locked_until, created_at`;
    const row = rows[0];
    return row ? { id: row.id, kind: row.kind, payload: row.payload, lane: row.lane, attempts: row.attempts, leaseUntil: row.locked_until, createdAt: row.created_at } : null;
  }

  /** Forgets finished jobs older than `before` (the ledger, not the job table, is the record). */
  async purgeDone(before: Date): Promise<number> {
    return this.prisma.$executeRaw`DELETE FROM job WHERE done_at IS NOT NULL AND done_at < ${before}`;
  }

  async oldestDue(now: Date): Promise<Date | null> {
    const rows = await this.prisma.$queryRaw<Array<{ due: Date | null }>>`SELECT min(run_at) AS due FROM job WHERE done_at IS NULL AND run_at <= ${now}`;
    return rows[0]?.due ?? null;
  }
}
