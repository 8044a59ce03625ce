import type { CliOutput } from "./run-cli.js";

/**
 * Keeps a started service running until SIGTERM or SIGINT, then stops it and exits 0 (1 when
 * stopping fails). Never resolves: the process ends in the signal handler.
 */
export function runUntilSignal(out: CliOutput, what: string, stop: () => Promise<void>): Promise<number> {
  const shutdown = (signal: string) => {
    out.error(`${signal} received, stopping ${what}…`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        out.error(`error while stopping: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  return new Promise<number>(() => undefined);
}
