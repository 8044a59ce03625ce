// The thread that answers Slack. It verifies each request (Bolt's receiver, plus
// guard-http-requests), records interactions durably, acks, and hands the body to the bot's
// thread, which runs the listeners. Nothing the bot is busy with (transactions, Slack calls,
// rendering) delays an ack, and an ack is only sent once what it acknowledges is on disk.
import { parentPort, workerData } from "node:worker_threads";
import type { AnyMiddlewareArgs } from "@slack/bolt";
import pg from "pg";
import { pino } from "pino";
import type { Server } from "node:http";
import { currentThreadId } from "../runtime/deprioritise-other-threads.js";
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

/** Where an interaction stands once the ack may go out. */
interface Recorded {
  /** The PGlite journal's offset past the entry: the bot copies it into the inbox table. */
  journalEnd?: number;
  /** On PostgreSQL, when the inbox row is still committing: the bot may run it once this settles. */
  committed?: Promise<void>;
}

interface DurableRecord {
  record(key: string, body: unknown): Promise<Recorded>;
  /** The journal only: drop what the bot has copied into the inbox table. */
  compact?(through: number): void;
  close(): Promise<void>;
}

function openDurableRecord(): DurableRecord {
  const target = data.durableInbox;
  if (target.kind === "journal") {
    const journal = new InboxJournal(target.path);
    return {
      record: async (key, body) => ({ journalEnd: journal.append({ key, body }) }),
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
  // ACCESSBOT_INBOX_FLUSH asks for every ack to rest on a flushed commit: no journal then.
  if (!data.overflowJournal || data.config.inboxFlush) {
    return {
      record: async (key, body) => {
        await insert(key, body);
        return {};
      },
      close: () => pool.end(),
    };
  }
  const journalled = new JournalledInsert(new InboxJournal(data.overflowJournal), data.overflowJournal, insert, log);
  return {
    record: async (key, body) => ({ committed: journalled.record(key, body) }),
    close: async () => {
      await journalled.close();
      await pool.end();
    },
  };
}

const INSERT_RETRY_MS = 1_000;

interface PendingEntry {
  /** The journal offset past the entry. */
  end: number;
  key: string;
  body: unknown;
  done: boolean;
  committed: () => void;
}

/**
 * The inbox row on PostgreSQL, and this process's journal to rest the ack on while the row
 * commits: the row's INSERT is sent, the interaction is appended to the journal (write(2),
 * PGlite's own guarantee, see inbox-journal.ts) and the ack goes out; once the row has
 * committed, the bot's thread runs the interaction and the entry is cut from the journal.
 * Either record survives this process: the row for every replica, the journal for whoever
 * starts on this directory next (main.ts copies leftover journals into the table before it
 * takes requests). An insert that fails is retried until it succeeds. Waiting for the commit
 * instead put a database round trip, on cores PostgreSQL shares with the bot, into every ack
 * (bench/RESULTS.md); running the interaction only after its commit keeps the bot from settling
 * a row that is not there yet, which would replay it a minute later.
 */
class JournalledInsert {
  /** Entries whose row is not committed yet, or committed but not cut from the journal, in append order. */
  private readonly pending: PendingEntry[] = [];
  private inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly journal: InboxJournal,
    private readonly file: string,
    private readonly insert: (key: string, body: unknown) => Promise<unknown>,
    private readonly log: { warn(details: object, message: string): void },
  ) {}

  /** Returns once the interaction is journalled; the promise it returns settles when its row has committed. */
  record(key: string, body: unknown): Promise<void> {
    // The journal first: if it cannot be written, the request fails with no row on its way
    // (Slack retries it), and no insert is left without a tracker to handle its failure.
    const end = this.journal.append({ key, body });
    let committed!: () => void;
    const done = new Promise<void>((resolve) => (committed = resolve));
    const entry: PendingEntry = { end, key, body, done: false, committed };
    this.pending.push(entry);
    this.track(this.insert(key, body), entry);
    return done;
  }

  private track(outcome: Promise<unknown>, entry: PendingEntry): void {
    const work = outcome.then(
      () => {
        entry.done = true;
        entry.committed();
        this.scheduleCompaction();
      },
      (error: unknown) => {
        this.log.warn({ err: error, key: entry.key }, "an acknowledged interaction's inbox row did not commit; it is journalled and retried");
        if (this.closed) return;
        // Tracked, so that close() cancels it rather than let it query a pool that has ended.
        const retry = setTimeout(() => {
          this.retries.delete(retry);
          if (!this.closed) this.track(this.insert(entry.key, entry.body), entry);
        }, INSERT_RETRY_MS);
        retry.unref();
        this.retries.add(retry);
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
    for (const retry of this.retries) clearTimeout(retry);
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

/** Forwards still waiting for their inbox row's commit; "count" answers once they are through. */
const forwarding = new Set<Promise<void>>();

let stopping = false;

function forwardOnceCommitted(message: Extract<FromAckThread, { type: "event" }>, committed: Promise<void> | undefined): void {
  if (!committed) return forward(message);
  // A row that commits while the bot stops is due for replay like any unsettled one: no need to hand it to a thread that is shutting down.
  const sent = committed.then(() => {
    if (!stopping) forward(message);
  });
  forwarding.add(sent);
  void sent.finally(() => forwarding.delete(sent));
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
    const recorded: Recorded = key ? await durable.record(key, body) : {};
    const retry = { ...(args.context.retryNum !== undefined ? { retryNum: args.context.retryNum } : {}), ...(args.context.retryReason ? { retryReason: args.context.retryReason } : {}) };
    const event = { type: "event" as const, body, key, ...retry, ...(recorded.journalEnd !== undefined ? { journalEnd: recorded.journalEnd } : {}) };
    if (args.ack && !acksWithoutBody(body)) {
      const ackId = nextId++;
      const response = await new Promise<unknown>((resolve) => {
        // The listener's answer is only worth waiting for within Slack's 3 s; a row still
        // committing by then runs after the ack, whose answer then goes nowhere.
        const timer = setTimeout(() => {
          waitingAcks.delete(ackId);
          resolve(undefined);
        }, VIEW_ACK_TIMEOUT_MS);
        waitingAcks.set(ackId, (value) => {
          clearTimeout(timer);
          resolve(value);
        });
        forwardOnceCommitted({ ...event, ackId }, recorded.committed);
      });
      await args.ack(response);
      return;
    }
    if (args.ack) await args.ack();
    forwardOnceCommitted(event, recorded.committed);
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
      case "count": {
        const { id } = message;
        void Promise.all([...forwarding]).then(() => post({ type: "count", id, forwarded }));
        break;
      }
      case "compact":
        try {
          durable.compact?.(message.through);
        } catch (error) {
          // Only the file's size is at stake: the entries stay, and the next start skips those already in the inbox.
          log.warn({ err: error }, "could not cut back the inbox journal; it keeps growing until the next clean stop");
        }
        break;
      case "stop":
        stopping = true;
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
  post({ type: "ready", port: address && typeof address === "object" && "port" in address ? Number((address as { port: number }).port) : data.config.port, threadId: currentThreadId() });
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
