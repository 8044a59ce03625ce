import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { EffectResult } from "../domain/effects.js";
import type { Clock } from "../domain/ports.js";
import type { ClaimedJob, JobLeases, JobQueue } from "./job-queue.js";

export interface JobWorkerOptions {
  queue: JobQueue;
  /** Performs one job; throwing means "retry later with the worker's backoff". */
  perform(job: ClaimedJob): Promise<EffectResult>;
  clock: Clock;
  log: Logger;
  /** Jobs run at once by this process (default 16). */
  concurrency?: number;
  /**
   * Asked before each claim: true while work that people wait on (Slack interactions) is
   * queued, and the worker then runs at most `yieldingConcurrency` jobs, so that a burst of
   * decisions gets the process's CPU first. Effects still progress, and catch up after.
   */
  yieldTo?(): boolean;
  yieldingConcurrency?: number;
  /** How long a claim is held (wall time); a job still running then is abandoned and may run elsewhere. */
  leaseMs(kind: string): number;
  /** Attempts after which a job that keeps throwing is given up (Infinity: never). */
  maxAttempts(kind: string): number;
  /** The longest the worker sleeps without looking for jobs other replicas left behind. */
  pollMs?: number;
  /** Kinds whose lease is not the default one (`leaseMs(kind)` is asked for each). */
  kindsWithOwnLease?: readonly string[];
  /** Told of every run: how it ended and how long it took (the metrics). */
  onRun?(kind: string, result: "done" | "retry" | "failed" | "gave_up", seconds: number): void;
}

const MAX_BACKOFF_MS = 5 * 60 * 1000;

/**
 * Runs durable jobs: claims what is due (one lane at a time across every replica), performs
 * each, and marks it done or schedules its retry. It never holds a database transaction
 * while a job runs, and a job that outlives its lease is abandoned rather than awaited, so a
 * hung call can delay a job but never stall the worker or shutdown.
 */
export class JobWorker {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  private readonly inflight = new Map<bigint, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private stopped = false;
  private started = false;
  /** Claims whose query has not returned yet: their jobs are about to be in flight. */
  private claiming = 0;
  private draining: Promise<void> | null = null;
  private drainRequested = false;

  constructor(private readonly options: JobWorkerOptions) {}

  private get concurrency(): number {
    const full = this.options.concurrency ?? 16;
    return this.options.yieldTo?.() ? Math.min(full, this.options.yieldingConcurrency ?? 2) : full;
  }

  start(): void {
    this.started = true;
    this.nudge();
  }

  /** Looks for due jobs now; cheap to call after every commit. */
  nudge(): void {
    if (this.stopped || !this.started) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump()
      .catch((error: unknown) => this.options.log.error({ err: error }, "job worker could not claim jobs; it will try again shortly"))
      .finally(() => {
        this.pumping = null;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.nudge();
        } else {
          void this.armTimer();
        }
      });
  }

  /**
   * Runs every job that is due (tests and the demo): returns when none is due or running.
   * Concurrent callers share one drain loop; each caller's request starts another pass, so a
   * job committed just before the call is never missed. (Separate loops would each see the
   * others' claims in flight and never agree that the queue is empty.)
   */
  drain(): Promise<void> {
    this.drainRequested = true;
    this.draining ??= (async () => {
      try {
        while (this.drainRequested) {
          this.drainRequested = false;
          await this.drainPass();
        }
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  private async drainPass(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      if (this.pumping) await this.pumping;
      let claimed: number;
      try {
        claimed = this.stopped ? 0 : await this.claimAndRun();
      } catch (error) {
        // A busy database (no connection free for the claim) is a reason to wait, not to give up.
        this.options.log.warn({ err: error }, "could not claim jobs; trying again");
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (claimed === 0 && this.inflight.size === 0 && this.claiming === 0 && !this.pumping) return;
      await Promise.race([...this.inflight.values(), new Promise((resolve) => setTimeout(resolve, 20))]);
    }
  }

  /** Stops claiming; waits for running jobs until `deadline`, then leaves them to their leases. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const running = Promise.allSettled([...(this.pumping ? [this.pumping] : []), ...this.inflight.values()]);
    let timeout: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      running.then(() => false),
      new Promise<boolean>((resolve) => {
        timeout = setTimeout(() => resolve(true), deadlineMs);
      }),
    ]);
    clearTimeout(timeout);
    if (expired) this.options.log.warn({ jobs: this.inflight.size }, "shutdown deadline reached; unfinished jobs resume on the next start (or another replica) when their lease ends");
  }

  private async pump(): Promise<void> {
    while (!this.stopped && (await this.claimAndRun()) > 0) {
      if (this.inflight.size >= this.concurrency) return;
    }
  }

  private async claimAndRun(): Promise<number> {
    const free = this.concurrency - this.inflight.size;
    if (free <= 0) return 0;
    this.claiming++;
    let jobs: ClaimedJob[];
    try {
      jobs = await this.options.queue.claim(this.workerId, this.options.clock.now(), free, this.leases());
    } finally {
      this.claiming--;
    }
    for (const job of jobs) {
      const run = this.run(job).finally(() => {
        this.inflight.delete(job.id);
        this.nudge();
      });
      this.inflight.set(job.id, run);
    }
    return jobs.length;
  }

  private leases(): JobLeases {
    const byKind: Record<string, number> = {};
    for (const kind of this.options.kindsWithOwnLease ?? []) byKind[kind] = this.options.leaseMs(kind);
    return { defaultMs: this.options.leaseMs("notify"), byKind };
  }

  private async run(job: ClaimedJob): Promise<void> {
    const { log, queue } = this.options;
    const jobLog = log.child({ jobId: job.id.toString(), kind: job.kind, attempt: job.attempts, ...idsOf(job.payload) });
    const started = performance.now();
    const ran = (result: "done" | "retry" | "failed" | "gave_up") => {
      const seconds = (performance.now() - started) / 1000;
      this.options.onRun?.(job.kind, result, seconds);
      return Math.round(seconds * 1000);
    };
    const budget = job.leaseUntil.getTime() - Date.now() - 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        this.options.perform(job),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`job ran past its lease (${Math.round(budget / 1000)} s) and was abandoned`)), Math.max(budget, 1000));
        }),
      ]);
      if (result.kind === "done") {
        await queue.complete(job, this.workerId, "done");
        jobLog.info({ ms: ran("done") }, "job done");
      } else {
        await queue.retry(job, this.workerId, result.at, result.error);
        jobLog.info({ ms: ran("retry"), retryAt: result.at.toISOString(), error: result.error }, "job will be retried");
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (job.attempts >= this.options.maxAttempts(job.kind)) {
        jobLog.error({ err: error, ms: ran("gave_up") }, `job failed ${job.attempts} times and was given up`);
        await queue.complete(job, this.workerId, "failed", message).catch((err: unknown) => jobLog.error({ err }, "could not record the failed job"));
        return;
      }
      const at = new Date(this.options.clock.now().getTime() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(job.attempts - 1, 12)));
      jobLog.warn({ err: error, ms: ran("failed"), retryAt: at.toISOString() }, "job failed; it will be retried");
      await queue.retry(job, this.workerId, at, message).catch((err: unknown) => jobLog.error({ err }, "could not schedule the retry; the lease will expire and the job run again"));
    } finally {
      clearTimeout(timer);
    }
  }

  private async armTimer(): Promise<void> {
    if (this.stopped || !this.started) return;
    if (this.timer) clearTimeout(this.timer);
    const poll = this.options.pollMs ?? 5000;
    let delay = poll;
    try {
      const next = await this.options.queue.nextRunAt();
      if (next) delay = Math.min(poll, Math.max(0, next.getTime() - this.options.clock.now().getTime()));
    } catch {
      delay = poll;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.nudge(), Math.max(delay, 250));
    this.timer.unref();
  }
}

/** The ids a job's payload names, so an operator can follow a request or grant through the log. */
function idsOf(payload: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (payload && typeof payload === "object") {
    for (const key of ["requestId", "grantId", "userId"] as const) {
      const value = (payload as Record<string, unknown>)[key];
      if (typeof value === "string") ids[key] = value;
    }
    const notice = (payload as { notice?: { requestId?: unknown } }).notice;
    if (!ids.requestId && typeof notice?.requestId === "string") ids.requestId = notice.requestId;
  }
  return ids;
}
