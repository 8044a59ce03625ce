import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";

export interface ScheduledJob {
  name: string;
  schedule: string;
  timezone?: string;
  run(now: Date): Promise<unknown>;
  /** Also run once when the scheduler starts, e.g. to catch up after downtime. */
  runAtStart?: boolean;
}

export interface Scheduler {
  stop(): Promise<void>;
}

/**
 * Starts node-cron tasks. Each callback is thin: it calls one function with the current
 * time. A run never overlaps the previous one, and a failed run is logged and retried at
 * the next tick rather than crashing the bot.
 */
export async function startScheduler(jobs: ScheduledJob[], log: Logger): Promise<Scheduler> {
  const running = new Set<Promise<unknown>>();
  const execute = (job: ScheduledJob) => {
    const run = job
      .run(new Date())
      .then((result) => log.debug({ job: job.name, result }, "job finished"))
      .catch((error: unknown) => log.error({ err: error, job: job.name }, "job failed; it will run again at its next scheduled time"));
    running.add(run);
    void run.finally(() => running.delete(run));
    return run;
  };
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(job.schedule, () => execute(job), { name: job.name, noOverlap: true, ...(job.timezone ? { timezone: job.timezone } : {}) }),
  );
  await Promise.all(jobs.filter((job) => job.runAtStart).map((job) => execute(job)));
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
      await Promise.all([...running]);
    },
  };
}
