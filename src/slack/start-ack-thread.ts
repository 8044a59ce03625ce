import type { EventEmitter } from "node:events";
import type { App, Receiver } from "@slack/bolt";
import type { Logger } from "pino";
import { startWorkerThread } from "../runtime/start-worker-thread.js";
import type { AckThreadData, FromAckThread, ToAckThread } from "./ack-thread-protocol.js";
import type { HealthReport, MetricsText } from "./operational-routes.js";
import { StartupError } from "./check-slack-credentials.js";
import { clearInboxJournal } from "./inbox-journal.js";
import { RECORDED_PROPERTY, type InteractionInbox, type InteractionRunner, REPLAY_AFTER_MS } from "./interaction-inbox.js";

/** The bot's side of its ack thread. */
export interface AckThread {
  /** Where Slack's requests go (HTTP mode), and GET /healthz. */
  port: number;
  /** The ack thread's kernel thread id (Linux), or null. */
  threadId: number | null;
  /** Resolves once every request the ack thread has passed on so far has reached this thread. */
  caughtUp(): Promise<void>;
  /** Stops answering Slack; what was acked is in the inbox already. */
  stop(deadlineMs: number): Promise<void>;
}

/** The bot's Bolt app receives nothing itself: start-ack-thread feeds it. */
export class AckThreadReceiver implements Receiver {
  app: App | null = null;
  init(app: App): void {
    this.app = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

const LEVELS: Record<number, "trace" | "debug" | "info" | "warn" | "error" | "fatal"> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const COMPACT_EVERY_MS = 5_000;

/**
 * Starts the ack thread (ack-thread.ts) and runs what it passes on through `receiver`'s app:
 * modal submissions at once (their ack waits for the listener), everything else through
 * `runner`. On PGlite the ack thread journals interactions; each is copied into the inbox
 * table here, in arrival order, before it runs, and the journal is then cut back.
 */
export async function startAckThread(options: {
  receiver: AckThreadReceiver;
  data: AckThreadData;
  log: Logger;
  health: () => Promise<HealthReport>;
  /** GET /metrics: the Prometheus text of this thread's registry. */
  metrics: () => Promise<MetricsText>;
  runner: InteractionRunner;
  inbox: InteractionInbox;
  /** Receives the Socket Mode connection's events (connected, disconnected, …). */
  socketEvents: EventEmitter;
}): Promise<AckThread> {
  const { receiver, data, log, runner, inbox } = options;
  const app = receiver.app;
  if (!app) throw new Error("the ack thread's receiver is not attached to an app");
  const worker = startWorkerThread(new URL("./ack-thread.ts", import.meta.url), data);
  const send = (message: ToAckThread) => worker.postMessage(message);
  const { socketEvents } = options;

  let received = 0;
  const caughtUpWaiters: Array<{ count: number; resolve: () => void }> = [];
  const countWaiters = new Map<number, (forwarded: number) => void>();
  let nextId = 1;
  // Journal entries are copied into the inbox table one after another, so everything before
  // `recordedThrough` is in the table and may be cut from the journal.
  let recording: Promise<void> = Promise.resolve();
  let recordedThrough = 0;
  let compactedThrough = 0;

  const run = (message: Extract<FromAckThread, { type: "event" }>) => {
    const customProperties = message.key ? { [RECORDED_PROPERTY]: message.key } : {};
    const retry = { ...(message.retryNum !== undefined ? { retryNum: message.retryNum } : {}), ...(message.retryReason ? { retryReason: message.retryReason } : {}) };
    if (message.ackId !== undefined) {
      const ackId = message.ackId;
      let acked = false;
      const ack = async (response?: unknown) => {
        if (acked) return;
        acked = true;
        send({ type: "ack", ackId, ...(response !== undefined ? { response } : {}) });
      };
      runner.track(
        app
          .processEvent({ body: message.body, ack, customProperties, ...retry })
          .catch((error: unknown) => log.error({ err: error, key: message.key }, "a modal submission failed; the inbox replays it"))
          .finally(() => ack()),
      );
      return;
    }
    runner.schedule(message.key ?? String(message.body.type ?? "event"), () => app.processEvent({ body: message.body, ack: async () => {}, customProperties, ...retry }));
  };

  const onEvent = (message: Extract<FromAckThread, { type: "event" }>) => {
    if (message.journalEnd !== undefined && message.key) {
      const { key, body, journalEnd } = message;
      const recorded = recording.then(async () => {
        await inbox.record(key, body, REPLAY_AFTER_MS);
        // After a failure nothing is cut from the journal: the next start copies it again.
        if (!recordFailed) recordedThrough = journalEnd;
      });
      recording = recorded.catch(() => undefined);
      runner.track(
        recorded.then(
          () => run(message),
          (error: unknown) => {
            recordFailed = true;
            log.error({ err: error, key }, "could not copy a journalled interaction into the inbox; it is replayed from the journal at the next start");
          },
        ),
      );
    } else {
      run(message);
    }
    received++;
    for (const waiter of caughtUpWaiters.splice(0)) {
      if (received >= waiter.count) waiter.resolve();
      else caughtUpWaiters.push(waiter);
    }
  };

  const compactTimer = setInterval(() => {
    if (recordedThrough > compactedThrough) {
      compactedThrough = recordedThrough;
      send({ type: "compact", through: recordedThrough });
    }
  }, COMPACT_EVERY_MS);
  compactTimer.unref();

  let stopped = false;
  let resolveStopped: (forwarded: number | null) => void = () => {};
  const stoppedSignal = new Promise<number | null>((resolve) => (resolveStopped = resolve));
  let recordFailed = false;
  const { port, threadId } = await new Promise<{ port: number; threadId: number | null }>((resolve, reject) => {
    worker.on("message", (message: FromAckThread) => {
      switch (message.type) {
        case "ready":
          resolve({ port: message.port, threadId: message.threadId });
          break;
        case "failed":
          reject(new StartupError(message.message));
          break;
        case "log":
          relayLog(log, message.line);
          break;
        case "event":
          onEvent(message);
          break;
        case "health":
          void options
            .health()
            .catch((): HealthReport => ({ ok: false, database: false, pendingMigrations: [] }))
            .then((report) => send({ type: "health-report", id: message.id, report }));
          break;
        case "metrics":
          options.metrics().then(
            (metrics) => send({ type: "metrics-report", id: message.id, metrics }),
            (error: unknown) => send({ type: "metrics-report", id: message.id, metrics: null, error: error instanceof Error ? error.message : String(error) }),
          );
          break;
        case "count":
          countWaiters.get(message.id)?.(message.forwarded);
          countWaiters.delete(message.id);
          break;
        case "socket":
          socketEvents.emit(message.event);
          break;
        case "stopped":
          resolveStopped(message.forwarded);
          break;
      }
    });
    worker.once("error", (error) => {
      log.error({ err: error }, "the ack thread failed");
      reject(error);
    });
    worker.once("exit", (code) => {
      resolveStopped(null);
      if (!stopped) log.error({ code }, "the ack thread ended unexpectedly: Slack's requests are no longer answered");
      reject(new Error(`the ack thread ended (code ${code}) before it was ready`));
    });
  });

  return {
    port,
    threadId,
    async caughtUp() {
      const id = nextId++;
      const forwarded = await new Promise<number>((resolve) => {
        countWaiters.set(id, resolve);
        send({ type: "count", id });
      });
      if (received < forwarded) await new Promise<void>((resolve) => caughtUpWaiters.push({ count: forwarded, resolve }));
      await recording;
    },
    async stop(deadlineMs) {
      if (stopped) return;
      stopped = true;
      clearInterval(compactTimer);
      send({ type: "stop" });
      let timer: NodeJS.Timeout | undefined;
      const forwarded = await Promise.race([stoppedSignal, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), deadlineMs)))]);
      clearTimeout(timer);
      if (forwarded === null) log.warn({}, "the ack thread did not stop in time");
      await recording.catch(() => undefined);
      // Every journalled interaction is in the inbox table now: the next start must not
      // take the journal for acks this process never copied.
      if (data.durableInbox.kind === "journal" && forwarded !== null && received >= forwarded && !recordFailed) clearInboxJournal(data.durableInbox.path);
      await worker.terminate();
    },
  };
}

function relayLog(log: Logger, line: string): void {
  try {
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, app: _app, ...fields } = JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string };
    log[LEVELS[level] ?? "info"](fields, msg ?? "");
  } catch {
    log.info({ line }, "ack thread");
  }
}
