/** A job as one worker claimed it: it holds a lease on it until `leaseUntil`. */
export interface ClaimedJob {
  id: bigint;
  kind: string;
  payload: unknown;
  lane: string | null;
  /** This claim included: 1 on the first run. */
  attempts: number;
  leaseUntil: Date;
  /** When it was enqueued (the database's clock). */
  createdAt: Date;
}

/** How long a claim holds a job, per kind (a provisioning job's lease follows its target's timeout). */
export interface JobLeases {
  defaultMs: number;
  byKind: Record<string, number>;
}

/** The durable job table, as the worker sees it. */
export interface JobQueue {
  /**
   * Claims up to `limit` due jobs for `workerId`: at most one per lane, none whose lane
   * another worker is running, each leased for `leaseMs` of wall-clock time. `now` is the
   * domain clock (what is due); the lease uses real time (whether a worker is still alive).
   */
  claim(workerId: string, now: Date, limit: number, lease: JobLeases): Promise<ClaimedJob[]>;
  /** Ends a job; a no-op if the lease was lost to another worker meanwhile. */
  complete(job: ClaimedJob, workerId: string, outcome: "done" | "failed", error?: string): Promise<void>;
  retry(job: ClaimedJob, workerId: string, at: Date, error: string): Promise<void>;
  /** When the next unclaimed job falls due, or null when none is waiting. */
  nextRunAt(): Promise<Date | null>;
  /** The run_at of the oldest job that is due and not done (job lag), or null. */
  oldestDue(now: Date): Promise<Date | null>;
}
