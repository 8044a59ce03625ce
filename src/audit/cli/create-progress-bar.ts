export interface ProgressBar {
  update(done: number, detail?: string): void;
  /** Clears the line so the result prints cleanly. */
  finish(): void;
}

const NO_PROGRESS: ProgressBar = { update() {}, finish() {} };

/**
 * A one-line progress bar, redrawn at most 10 times a second. Only for a terminal: the caller
 * passes null when stderr is not a TTY, so logs and CI output get no carriage-return noise.
 */
export function createProgressBar(stream: NodeJS.WritableStream | null, total: number, unit: string): ProgressBar {
  if (!stream) return NO_PROGRESS;
  const started = performance.now();
  let last = 0;
  return {
    update(done, detail) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const share = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(share * width);
      const rate = done / Math.max((now - started) / 1000, 1e-3);
      const eta = rate > 0 && done < total ? ` ETA ${formatDuration((total - done) / rate)}` : "";
      stream.write(
        `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${unit} ${Math.round(rate).toLocaleString("en-US")}/s${eta}${detail ? ` ${detail}` : ""}\u001b[K`,
      );
    },
    finish() {
      stream.write("\r\u001b[K");
    },
  };
}

/** "42 s", "3 min 05 s", "1 h 02 min": what is left, at a glance. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}
