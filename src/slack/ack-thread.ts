// The thread that answers Slack. It verifies each request (Bolt's receiver, plus
// guard-http-requests), records interactions durably, acks, and hands the body to the bot's
// thread, which runs the listeners. Nothing the bot is busy with (transactions, Slack calls,
// rendering) delays an ack, and an ack is only sent once what it acknowledges is on disk.
import { parentPort, workerData } from "node:worker_threads";
import type { AnyMiddlewareArgs } from "@slack/bolt";
import pg from "pg";
import { pino } from "pino";
import type { Server } from "node:http";
import { createBoltApp } from "./create-bolt-app.js";
import { operationalRoutes, serveOperationalRoutes, type HealthReport, type MetricsText } from "./operational-routes.js";
import type { AckThreadData, FromAckThread, ToAckThread } from "./ack-thread-protocol.js";
import { clearInboxJournal, InboxJournal } from "./inbox-journal.js";
import { acksWithoutBody, INBOX_JOB_KIND, inboxKey, isInteraction } from "./interaction-inbox.js";

const port = parentPort;
if (!port) throw new Error("ack-thread runs only as a worker thread");
const data = workerData as AckThreadData;
const post = (message: FromAckThread) => port.postMessage(message);
/** A modal's ack may carry field errors, so it waits for the listener, within Slack's 3 s. */
const VIEW_ACK_TIMEOUT_MS = 2_500;
const HEALTH_TIMEOUT_MS = 5_000;

// Log lines go to the bot's own logger, so there is one stream (and tests see them).
const log = pino({ level: data.config.logLevel, base: { app: "accessbot", thread: "ack" } }, { write: (line: string) => post({ type: "log", line }) });

interface DurableRecord {
  /** Returns the journal offset past the entry, when there is a journal. */
  record(key: string, body: unknown): Promise<number | undefined>;
  /** The journal only: drop what the bot has copied into the inbox table. */
  compact?(through: number): void;
  close(): Promise<void>;
}

function openDurableRecord(): DurableRecord {
  const target = data.durableInbox;
  if (target.kind === "journal") {
    const journal = new InboxJournal(target.path);
    return {
      record: async (key, body) => journal.append({ key, body }),
      compact: (through) => journal.compact(through),
      close: async () => journal.close(),
    };
  }
  // Without the flush, a committed row is in PostgreSQL's memory and WAL buffers: it survives
  // this process, as the PGlite journal (written, not fsynced) does. See AppConfig.inboxFlush.
  const pool = new pg.Pool({
    connectionString: target.pool.connectionString,
    max: 8,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 5_000,
    options: data.config.inboxFlush ? undefined : "-c synchronous_commit=off",
  });
  pool.on("error", (err) => log.warn({ err }, "an idle inbox connection failed"));
  const insert = (key: string, body: unknown) => {
    const runAt = new Date(Date.now() + data.clockOffsetMs + data.replayAfterMs);
    return pool.query("INSERT INTO job (kind, payload, dedupe_key, run_at) VALUES ($1, $2::jsonb, $3, $4) ON CONFLICT (dedupe_key) DO NOTHING", [INBOX_JOB_KIND, JSON.stringify({ key, body }), key, runAt]);
  };
  if (!data.overflowJournal) {
    return {
      record: async (key, body) => {
        await insert(key, body);
        return undefined;
      },
      close: () => pool.end(),
    };
  }
  const overflow = new OverflowRecord(new InboxJournal(data.overflowJournal), data.overflowJournal, insert, log);
  return {
    record: (key, body) => overflow.record(key, body),
    close: async () => {
      await overflow.close();
      await pool.end();
    },
  };
}

/** How long an ack waits for the inbox row's commit before it journals the interaction instead. */
const INBOX_COMMIT_BUDGET_MS = 3;
const OVERFLOW_RETRY_MS = 1_000;

/**
 * The inbox row on PostgreSQL, with a local journal for the slow tail: the ack waits for the
 * row's commit for at most INBOX_COMMIT_BUDGET_MS; a commit that takes longer (a busy
 * database, a failover) goes on in the background while the interaction is appended to this
 * process's journal and acked. Either record survives this process: the row for every
 * replica, the journal for whoever starts on this directory next (main.ts copies leftover
 * journals into the table before it takes requests). An insert that fails is retried until it
 * succeeds; the journal keeps only entries whose row is not committed yet. An insert that fails
 * within the budget fails the request, as before: nothing is acked that was not recorded.
 */
class OverflowRecord {
  /** Journal end offsets of entries whose row is not committed yet, in append order. */
  private readonly pending: Array<{ end: number; key: string; body: unknown; done: boolean }> = [];
  private inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly journal: InboxJournal,
    private readonly file: string,
    private readonly insert: (key: string, body: unknown) => Promise<unknown>,
    private readonly log: { warn(details: object, message: string): void },
  ) {}

  async record(key: string, body: unknown): Promise<undefined> {
    const committing = this.insert(key, body);
    const committed = committing.then(() => true);
    // A failure after the budget is track()'s to retry; one within it fails the request.
    committed.catch(() => undefined);
    const budget = new Promise<false>((resolve) => setTimeout(() => resolve(false), INBOX_COMMIT_BUDGET_MS).unref());
    if (await Promise.race([committed, budget])) return undefined;
    const entry = { end: this.journal.append({ key, body }), key, body, done: false };
    this.pending.push(entry);
    this.track(committing, entry);
    return undefined;
  }

  private track(outcome: Promise<unknown>, entry: { end: number; key: string; body: unknown; done: boolean }): void {
    const work = outcome.then(
      () => {
        entry.done = true;
        this.scheduleCompaction();
      },
      (error: unknown) => {
        this.log.warn({ err: error, key: entry.key }, "an acknowledged interaction's inbox row did not commit; it is journalled and retried");
        if (!this.closed) setTimeout(() => this.track(this.insert(entry.key, entry.body), entry), OVERFLOW_RETRY_MS).unref();
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private scheduleCompaction(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.compact();
    }, 1_000);
    this.timer.unref();
  }

  private compact(): void {
    let through = 0;
    while (this.pending[0]?.done) through = this.pending.shift()!.end;
    if (through > 0) this.journal.compact(through);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.compact();
    this.journal.close();
    // Every row committed: nothing is left for the next start.
    if (this.pending.length === 0) clearInboxJournal(this.file);
  }
}

const durable = openDurableRecord();
let forwarded = 0;
let nextId = 1;
const waitingAcks = new Map<number, (response: unknown) => void>();
const waitingHealth = new Map<number, (report: HealthReport) => void>();
const waitingMetrics = new Map<number, (answer: Extract<ToAckThread, { type: "metrics-report" }>) => void>();

function forward(message: Extract<FromAckThread, { type: "event" }>): void {
  forwarded++;
  post(message);
}

const health = () =>
  new Promise<HealthReport>((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waitingHealth.delete(id);
      resolve({ ok: false, database: false, pendingMigrations: [], problem: "the bot did not answer within 5 s" } as HealthReport);
    }, HEALTH_TIMEOUT_MS);
    waitingHealth.set(id, (report) => {
      clearTimeout(timer);
      resolve(report);
    });
    post({ type: "health", id });
  });

const metrics = () =>
  new Promise<MetricsText>((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waitingMetrics.delete(id);
      reject(new Error("the bot did not answer within 5 s"));
    }, HEALTH_TIMEOUT_MS);
    waitingMetrics.set(id, (answer) => {
      clearTimeout(timer);
      if (answer.metrics) resolve(answer.metrics);
      else reject(new Error(answer.error ?? "no metrics"));
    });
    post({ type: "metrics", id });
  });

let routeServer: Server | null = null;
try {
  const routes = operationalRoutes({ health, metrics, metricsToken: data.config.metricsToken });
  const app = createBoltApp(data.config, log, { routes, slackTimeoutMs: data.slackTimeoutMs });
  app.use(async (middlewareArgs) => {
    const args = middlewareArgs as unknown as AnyMiddlewareArgs & { ack?: (response?: unknown) => Promise<void>; context: { retryNum?: number; retryReason?: string } };
    const body = args.body as Record<string, unknown>;
    const key = isInteraction(body) ? inboxKey(body) : null;
    const journalEnd = key ? await durable.record(key, body) : undefined;
    const retry = { ...(args.context.retryNum !== undefined ? { retryNum: args.context.retryNum } : {}), ...(args.context.retryReason ? { retryReason: args.context.retryReason } : {}) };
    const event = { type: "event" as const, body, key, ...retry, ...(journalEnd !== undefined ? { journalEnd } : {}) };
    if (args.ack && !acksWithoutBody(body)) {
      const ackId = nextId++;
      const response = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => {
          waitingAcks.delete(ackId);
          resolve(undefined);
        }, VIEW_ACK_TIMEOUT_MS);
        waitingAcks.set(ackId, (value) => {
          clearTimeout(timer);
          resolve(value);
        });
        forward({ ...event, ackId });
      });
      await args.ack(response);
      return;
    }
    forward(event);
    if (args.ack) await args.ack();
  });

  const socket = (app as unknown as { receiver?: { client?: { on(event: string, listener: () => void): unknown } } }).receiver?.client;
  if (data.config.slack.appToken && socket) {
    for (const event of ["connected", "disconnected", "reconnecting", "disconnecting"]) socket.on(event, () => post({ type: "socket", event }));
  }

  port.on("message", (message: ToAckThread) => {
    switch (message.type) {
      case "ack":
        waitingAcks.get(message.ackId)?.(message.response);
        waitingAcks.delete(message.ackId);
        break;
      case "health-report":
        waitingHealth.get(message.id)?.(message.report);
        waitingHealth.delete(message.id);
        break;
      case "metrics-report":
        waitingMetrics.get(message.id)?.(message);
        waitingMetrics.delete(message.id);
        break;
      case "count":
        post({ type: "count", id: message.id, forwarded });
        break;
      case "compact":
        try {
          durable.compact?.(message.through);
        } catch (error) {
          // Only the file's size is at stake: the entries stay, and the next start skips those already in the inbox.
          log.warn({ err: error }, "could not cut back the inbox journal; it keeps growing until the next clean stop");
        }
        break;
      case "stop":
        void (async () => {
          await app.stop().catch((error: unknown) => log.warn({ err: error }, "the Slack receiver did not stop cleanly"));
          routeServer?.closeAllConnections();
          routeServer?.close();
          await durable.close().catch(() => undefined);
          post({ type: "stopped", forwarded });
          port.close();
        })();
        break;
    }
  });

  const listen = { host: data.config.host, port: data.config.port };
  // Socket Mode: Bolt's own server for custom routes ignores the host, so health and metrics
  // get theirs, bound like the HTTP receiver (and reporting the port it got, for PORT=0).
  if (data.config.slack.appToken) routeServer = await serveOperationalRoutes(routes, listen);
  const server = (await app.start(listen)) as unknown;
  const address = (routeServer ?? (server as { address?: () => unknown } | undefined))?.address?.();
  post({ type: "ready", port: address && typeof address === "object" && "port" in address ? Number((address as { port: number }).port) : data.config.port });
} catch (error) {
  routeServer?.close();
  post({ type: "failed", message: describeStartFailure(error) });
  await durable.close().catch(() => undefined);
  port.close();
}

/** Why the server could not start, as the fix an operator needs. */
function describeStartFailure(error: unknown): string {
  const { host, port } = data.config;
  switch ((error as { code?: string }).code) {
    case "EADDRINUSE":
      return `port ${port} on ${host} is already in use: stop the other process or set PORT to a free port.`;
    case "EACCES":
      return `listening on port ${port} needs privileges this process lacks: set PORT above 1023 (put a proxy or load balancer in front for 80/443).`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `HOST ${host} is not an address of this machine: set HOST to 0.0.0.0 (every interface), 127.0.0.1 or one of its addresses.`;
    default:
      return `the Slack receiver could not start: ${error instanceof Error ? error.message : String(error)}`;
  }
}
