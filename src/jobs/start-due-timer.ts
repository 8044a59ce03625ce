import type { Logger } from "pino";
import type { Clock } from "../domain/ports.js";

export interface DueTimer {
  /** Re-reads when the next step is due (after a commit that may have moved it). */
  nudge(): void;
  stop(): Promise<void>;
}

/**
 * Runs `run(now)` when the next lifecycle step falls due (a grant's end, a warning, a
 * reminder), so access ends within moments of `expires_at` rather than at the next cron tick.
 * It looks again at least every `maxSleepMs` (other replicas create due items too); the
 * cron sweep stays as the safety net.
 */
export function startDueTimer(options: { nextDueAt(): Promise<Date | null>; run(now: Date): Promise<unknown>; clock: Clock; log: Logger; maxSleepMs?: number }): DueTimer {
  const maxSleep = options.maxSleepMs ?? 15_000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const arm = async () => {
    if (stopped) return;
    let delay = maxSleep;
    try {
      const next = await options.nextDueAt();
      if (next) delay = Math.min(maxSleep, Math.max(0, next.getTime() - options.clock.now().getTime()));
    } catch (error) {
      options.log.warn({ err: error }, "could not read when the next lifecycle step is due; looking again shortly");
    }
    if (stopped) return;
    if (timer) clearTimeout(timer);
    // A few ms late on purpose: an item due at T is found by a sweep at T, not at T - 1 ms.
    timer = setTimeout(fire, delay + 5);
    timer.unref();
  };
  const fire = () => {
    if (stopped || running) return;
    running = options
      .run(options.clock.now())
      .then(
        () => undefined,
        (error: unknown) => options.log.error({ err: error }, "lifecycle sweep failed; it runs again shortly"),
      )
      .finally(() => {
        running = null;
        void arm();
      });
  };
  void arm();
  return {
    nudge() {
      if (!running) void arm();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
