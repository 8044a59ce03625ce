import type { WebClient } from "@slack/web-api";
import type { EventEmitter } from "node:events";

export interface SlackHealthReport {
  ok: boolean;
  /** When Slack last answered a probe; null before the first answer. */
  lastOkAt: string | null;
  /** Socket Mode only: whether the WebSocket is connected right now. */
  socketConnected?: boolean;
  problem?: string;
}

/**
 * Whether Slack is reachable, so health tells the truth: a probe (`auth.test`, with the
 * client's timeout) runs every `intervalMs`, and Slack counts as down once no probe has
 * succeeded for `thresholdMs`, or the Socket Mode connection has been down that long.
 */
export class SlackHealth {
  private lastOk: number | null = null;
  private socketDownSince: number | null = null;
  private socketConnected: boolean | undefined;
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly client: WebClient,
    private readonly options: { intervalMs?: number; thresholdMs?: number; socket?: EventEmitter | { on(event: string, listener: () => void): unknown } } = {},
  ) {
    const socket = options.socket;
    if (socket) {
      this.socketConnected = false;
      this.socketDownSince = Date.now();
      socket.on("connected", () => {
        this.socketConnected = true;
        this.socketDownSince = null;
      });
      for (const event of ["disconnected", "reconnecting", "disconnecting"]) {
        socket.on(event, () => {
          if (this.socketConnected !== false) this.socketDownSince = Date.now();
          this.socketConnected = false;
        });
      }
    }
  }

  start(): void {
    void this.probe();
    const threshold = this.options.thresholdMs ?? 120_000;
    // Several probes per threshold, so one slow answer never flips health on its own.
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs ?? Math.min(30_000, Math.max(100, threshold / 4)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Any successful Slack call counts as proof of life. */
  markOk(): void {
    this.lastOk = Date.now();
  }

  report(now = Date.now()): SlackHealthReport {
    const threshold = this.options.thresholdMs ?? 120_000;
    const lastOkAt = this.lastOk === null ? null : new Date(this.lastOk).toISOString();
    const socket = this.socketConnected === undefined ? {} : { socketConnected: this.socketConnected };
    if (this.socketDownSince !== null && now - this.socketDownSince > threshold) {
      return { ok: false, lastOkAt, ...socket, problem: `the Socket Mode connection has been down for ${Math.round((now - this.socketDownSince) / 1000)} s` };
    }
    const since = this.lastOk ?? this.startedAt;
    if (now - since > threshold) {
      return { ok: false, lastOkAt, ...socket, problem: `Slack has not answered for ${Math.round((now - since) / 1000)} s` };
    }
    return { ok: true, lastOkAt, ...socket };
  }

  private async probe(): Promise<void> {
    try {
      await this.client.auth.test();
      this.markOk();
    } catch {
      // Reported through report(): the time since the last success keeps growing.
    }
  }
}
