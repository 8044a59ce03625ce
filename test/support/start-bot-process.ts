/**
 * Starts the real bot as a child process (`node bin/accessbot.mjs start`, or another entry such
 * as a compiled build), the way it runs in production: its own pid, its own event loop, its own
 * database pool, killable with SIGKILL. Tests use it for what an in-process bot cannot show:
 * several replicas on one database, and crash recovery after `kill -9`.
 *
 *   const bot = await startBotProcess({ env: { DATABASE_URL, SLACK_BOT_TOKEN, … } });
 *   await postToBot(bot.eventsUrl, SIGNING_SECRET, …);
 *   bot.kill("SIGKILL"); await bot.exited;          // a crash
 *   await bot.stop();                                // SIGTERM, then SIGKILL after a deadline
 *
 * The child gets only the environment given here (plus PATH, HOME and TMPDIR), never the test
 * runner's, so a stray DATABASE_URL cannot point a test bot at the wrong database. Every child
 * ever started is remembered: `stopAllBotProcesses()` stops the ones still running (call it in
 * `after` hooks), and the test process SIGKILLs any survivor when it exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { ensureCompiledBuild } from "./compiled-build.js";
import { buttonClickPayload, postToBot, slashCommandBody, type BotResponse } from "./slack-requests.js";
import { startSlackSimulator, type SimMessage, type SimResponse, type SlackSimulator } from "../../src/slack-simulator/slack-simulator.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The entry `accessbot` runs from a clone (TypeScript through tsx). */
export const DEFAULT_BOT_ENTRY = path.join(REPO_ROOT, "bin/accessbot.mjs");

export interface BotLogLine {
  stream: "stdout" | "stderr";
  /** The raw line, without the newline. */
  line: string;
  /** The parsed pino object when the line is JSON. */
  json?: Record<string, unknown>;
  at: number;
}

export interface BotExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartBotProcessOptions {
  /** The bot's environment (DATABASE_URL, SLACK_*, ACCESS_POLICY_FILE, …). PORT is added unless given. */
  env: Record<string, string | undefined>;
  /**
   * The script to run with `process.execPath`; default $ACCESSBOT_TEST_BOT_ENTRY or
   * bin/accessbot.mjs. Point it at a compiled build (e.g. dist/cli.js) to test that instead.
   */
  entry?: string;
  /**
   * Run the compiled build (test/support/compiled-build.ts: `npm run build` once per source
   * state) with plain node instead of the sources through tsx; default $ACCESSBOT_TEST_COMPILED=1.
   * Ignored when `entry` is given.
   */
  compiled?: boolean;
  /** Arguments after the entry; default ["start"]. */
  args?: string[];
  /** Working directory; default the repository root (matters for the default PGlite data dir). */
  cwd?: string;
  /** A name for error messages and echoed logs; default "bot". */
  name?: string;
  /** Default: a port that was free a moment ago. */
  port?: number;
  /** How long to wait for GET /healthz to answer 200; default 60 s. */
  healthTimeoutMs?: number;
  /** false: return as soon as the process is spawned (e.g. to watch it fail at start-up). */
  waitForHealthy?: boolean;
  /** Echo every line to the test's stderr, prefixed with the name (also: TEST_BOT_LOGS=1). */
  echo?: boolean;
}

export interface BotProcess {
  readonly name: string;
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** http://127.0.0.1:PORT/slack/events, where Slack's requests go. */
  readonly eventsUrl: string;
  readonly pid: number;
  /** Every line the process wrote so far (a copy). */
  logs(): BotLogLine[];
  /** The last `count` lines as text, for assertion messages. */
  tail(count?: number): string;
  /** Waits for a log line matching `predicate`; rejects on timeout or when the process exits first. */
  waitForLog(predicate: (line: BotLogLine) => boolean, options?: { timeoutMs?: number }): Promise<BotLogLine>;
  /** Sends a signal now (SIGKILL is the crash). No-op once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, wait up to `timeoutMs` (default 15 s) for the exit, then SIGKILL. Resolves with the exit. */
  stop(options?: { timeoutMs?: number }): Promise<BotExit>;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Settles when the process has exited (and been reaped, so its pid is dead). */
  readonly exited: Promise<BotExit>;
}

/** Lines kept per process; older ones are dropped (a long run at LOG_LEVEL=debug stays bounded). */
const MAX_LOG_LINES = 50_000;
const BASE_ENV_KEYS = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"] as const;

const live = new Set<BotProcess>();
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
let watchdog: ChildProcess | null = null;

function killLiveChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test file that crashes or forgets its `after` hook leaves no bot behind.
  process.once("exit", killLiveChildren);
  // A signal's default action ends the process without 'exit': kill the bots, then die of it as before.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killLiveChildren();
      process.kill(process.pid, signal);
    });
  }
  startWatchdog();
}

/**
 * Last resort for a test process that is itself SIGKILLed (a CI timeout): a small detached
 * process holds the read end of a pipe from this one and is told every bot's pid; when the pipe
 * closes (this process is gone, however it died) it SIGKILLs the bots still listed.
 */
function startWatchdog(): void {
  const script = `
    const pids = new Set();
    let pending = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      pending += chunk;
      let at;
      while ((at = pending.indexOf("\\n")) >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        const pid = Number(line.slice(1));
        if (line[0] === "+") pids.add(pid); else pids.delete(pid);
      }
    });
    const end = () => { for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch {} } process.exit(0); };
    process.stdin.on("end", end);
    process.stdin.on("error", end);
  `;
  try {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "ignore", "ignore"], detached: true });
    child.on("error", () => (watchdog = null));
    child.stdin!.on("error", () => (watchdog = null));
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    watchdog = child;
  } catch {
    watchdog = null;
  }
}

function tellWatchdog(line: string): void {
  try {
    watchdog?.stdin?.write(`${line}\n`);
  } catch {
    // no watchdog: the exit and signal hooks still apply
  }
}

/** Starts a bot process and (by default) waits until it is healthy. Throws with its last log lines if it is not. */
export async function startBotProcess(options: StartBotProcessOptions): Promise<BotProcess> {
  installExitHook();
  const name = options.name ?? "bot";
  const port = options.port ?? (options.env.PORT ? Number(options.env.PORT) : await freePort());
  const compiled = !options.entry && (options.compiled ?? process.env.ACCESSBOT_TEST_COMPILED === "1");
  const entry = options.entry ?? (compiled ? (await ensureCompiledBuild()).bin : (process.env.ACCESSBOT_TEST_BOT_ENTRY ?? DEFAULT_BOT_ENTRY));
  const env: Record<string, string> = {};
  for (const key of BASE_ENV_KEYS) if (process.env[key] !== undefined) env[key] = process.env[key] as string;
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  if (compiled) env.ACCESSBOT_COMPILED = "1";
  env.PORT = String(port);

  const child = spawn(process.execPath, [entry, ...(options.args ?? ["start"])], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  liveChildren.add(child);
  if (child.pid) tellWatchdog(`+${child.pid}`);
  const lines: BotLogLine[] = [];
  const listeners = new Set<(line: BotLogLine) => void>();
  const echo = options.echo ?? process.env.TEST_BOT_LOGS === "1";
  let running = true;

  const capture = (stream: "stdout" | "stderr") => {
    let pending = "";
    child[stream]!.setEncoding("utf8");
    child[stream]!.on("data", (chunk: string) => {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) record(stream, part);
    });
    child[stream]!.on("end", () => {
      if (pending !== "") record(stream, pending);
      pending = "";
    });
  };
  const record = (stream: "stdout" | "stderr", line: string) => {
    const entryLine: BotLogLine = { stream, line, at: Date.now(), ...parseJsonLine(line) };
    lines.push(entryLine);
    if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
    if (echo) process.stderr.write(`[${name}:${child.pid}] ${line}\n`);
    for (const listener of listeners) listener(entryLine);
  };
  capture("stdout");
  capture("stderr");

  const exited = new Promise<BotExit>((resolve) => {
    // 'close' fires after 'exit' and after stdio has ended, so every line is captured by then.
    child.once("close", (code, signal) => {
      running = false;
      liveChildren.delete(child);
      if (child.pid) tellWatchdog(`-${child.pid}`);
      live.delete(handle);
      resolve({ code, signal });
    });
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once("error", (error) => reject(new Error(`${name}: could not spawn ${process.execPath} ${entry}: ${error.message}`))));
  spawnFailed.catch(() => undefined);

  const tail = (count = 40) => lines.slice(-count).map((l) => l.line).join("\n");

  const handle: BotProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    pid: child.pid ?? -1,
    logs: () => lines.slice(),
    tail,
    get running() {
      return running;
    },
    exited,
    waitForLog(predicate, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<BotLogLine>((resolve, reject) => {
        const done = (action: () => void) => {
          clearTimeout(timer);
          listeners.delete(listener);
          action();
        };
        const listener = (line: BotLogLine) => {
          if (predicate(line)) done(() => resolve(line));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${name} (pid ${child.pid}): no matching log line within ${timeoutMs} ms. Last lines:\n${tail()}`))), timeoutMs);
        listeners.add(listener);
        void exited.then((exit) => done(() => reject(new Error(`${name} (pid ${child.pid}) exited (${describeExit(exit)}) before a matching log line. Last lines:\n${tail()}`))));
      });
    },
    kill(signal = "SIGTERM") {
      if (!running) return;
      try {
        child.kill(signal);
      } catch {
        // exited in between
      }
    },
    async stop(opts = {}) {
      if (!running) return exited;
      handle.kill("SIGTERM");
      const timeoutMs = opts.timeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        process.stderr.write(`${name} (pid ${child.pid}) did not exit within ${timeoutMs} ms of SIGTERM; sending SIGKILL. Last lines:\n${tail(15)}\n`);
        handle.kill("SIGKILL");
      }
      return exited;
    },
  };
  live.add(handle);

  if (options.waitForHealthy === false) return handle;
  try {
    await Promise.race([waitForHealthy(handle, options.healthTimeoutMs ?? 60_000), spawnFailed]);
  } catch (error) {
    handle.kill("SIGKILL");
    await exited;
    throw error;
  }
  return handle;
}

/** Polls GET /healthz until it answers 200; rejects (with the last log lines) on timeout or if the process exits. */
export async function waitForHealthy(bot: BotProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  let exit: BotExit | null = null;
  void bot.exited.then((value) => (exit = value));
  while (Date.now() < deadline) {
    if (exit) throw new Error(`${bot.name} (pid ${bot.pid}) exited (${describeExit(exit)}) before it was healthy. Last lines:\n${bot.tail()}`);
    try {
      const response = await fetch(`${bot.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      const text = await response.text();
      if (response.status === 200) return;
      last = `HTTP ${response.status} ${text.slice(0, 200)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(150);
  }
  throw new Error(`${bot.name} (pid ${bot.pid}) was not healthy on ${bot.url}/healthz within ${timeoutMs} ms (last: ${last}). Last lines:\n${bot.tail()}`);
}

/** Stops every bot process still running (SIGTERM, then SIGKILL after the deadline). */
export async function stopAllBotProcesses(options: { timeoutMs?: number } = {}): Promise<void> {
  await Promise.all([...live].map((bot) => bot.stop(options)));
}

/** A port that was free a moment ago (the OS's pick for port 0 on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function describeExit(exit: BotExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns something other than undefined/null/false,
 * and returns that. On timeout, throws with `describe()` (the state worth seeing) and the last
 * error `check` threw, if any.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string | Promise<string> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 200);
  }
  const detail = options.describe ? `\n${await options.describe()}` : "";
  const cause = lastError === undefined ? "" : `\nLast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${what}.${cause}${detail}`);
}

function parseJsonLine(line: string): { json?: Record<string, unknown> } {
  if (!line.startsWith("{")) return {};
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null ? { json: value as Record<string, unknown> } : {};
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a scratch schema per test, migrated by the bots themselves

export const DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test";

/** null when PostgreSQL answers at `baseUrl`, else why not (for a test's `skip`). */
export async function postgresUnreachable(baseUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return `PostgreSQL not reachable at ${new URL(baseUrl).host}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface ScratchSchema {
  schema: string;
  /** `baseUrl?schema=t_…`: give this to the bots as DATABASE_URL; they create and migrate the schema. */
  url: string;
  /** Runs SQL with the schema on the search path (one pooled connection at a time). */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Drops the schema and closes the pool. */
  drop(): Promise<void>;
}

/** A fresh schema name `t_<random>` on `baseUrl`, as test/support/test-databases.ts uses. Nothing is created until a bot starts. */
export function scratchSchema(baseUrl: string): ScratchSchema {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const url = new URL(baseUrl);
  url.searchParams.set("schema", schema);
  const withSearchPath = new URL(baseUrl);
  withSearchPath.searchParams.set("options", `-c search_path=${schema}`);
  const pool = new pg.Pool({ connectionString: withSearchPath.toString(), max: 2 });
  pool.on("error", () => undefined);
  return {
    schema,
    url: url.toString(),
    async query<Row extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
      return (await pool.query<Row>(sql, params)).rows;
    },
    async drop() {
      try {
        await pool.end();
      } finally {
        const admin = new pg.Client({ connectionString: baseUrl });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await admin.end();
        }
      }
    },
  };
}

export interface LedgerLine {
  seq: number;
  type: string;
  requestId: string | null;
  subjectId: string | null;
  data: Record<string, unknown>;
}

/** The whole ledger, in seq order, with each entry's `data` parsed. */
export async function readLedger(query: ScratchSchema["query"]): Promise<LedgerLine[]> {
  const rows = await query<{ seq: string; type: string; request_id: string | null; subject_id: string | null; body: string }>(
    `SELECT seq::text AS seq, type, request_id, subject_id, body FROM ledger_entry ORDER BY ledger_entry.seq`,
  );
  return rows.map((row) => ({
    seq: Number(row.seq),
    type: row.type,
    requestId: row.request_id,
    subjectId: row.subject_id,
    data: ((JSON.parse(row.body) as { data?: Record<string, unknown> }).data ?? {}),
  }));
}

// ---------------------------------------------------------------------------------------------
// Slack: what people do, sent to a bot process exactly as Slack sends it

export interface SlackExchange {
  http: BotResponse;
  /** The bot's ephemeral reply on the response_url (null if none was awaited). */
  reply: SimResponse | null;
  replyText: string;
}

/** Sends `/access <text>` as `userId` to `bot` and waits for the ephemeral reply (unless `expectReply: false`). */
export async function sendCommand(
  sim: SlackSimulator,
  bot: BotProcess,
  signingSecret: string,
  userId: string,
  text: string,
  options: { key?: string; expectReply?: boolean; replyTimeoutMs?: number } = {},
): Promise<SlackExchange> {
  const key = options.key ?? `cmd-${randomBytes(6).toString("hex")}`;
  const body = slashCommandBody({ userId, text, responseUrl: sim.responseUrl(key, { userId, channel: "C0GENERAL1" }), triggerId: sim.issueTriggerId(userId) });
  const http = await postToBot(bot.eventsUrl, signingSecret, { body, contentType: "application/x-www-form-urlencoded" });
  if (options.expectReply === false || http.status !== 200) return { http, reply: null, replyText: "" };
  const reply = await sim.waitForResponse((response) => response.key === key, { timeoutMs: options.replyTimeoutMs ?? 30_000 });
  return { http, reply, replyText: String((reply.body as { text?: string } | undefined)?.text ?? "") };
}

/** Clicks `actionId` on `message` as `userId`, sent to `bot`; waits for the ephemeral reply unless `expectReply: false`. */
export async function clickButton(
  sim: SlackSimulator,
  bot: BotProcess,
  signingSecret: string,
  userId: string,
  message: SimMessage,
  actionId: string,
  options: { key?: string; expectReply?: boolean; replyTimeoutMs?: number } = {},
): Promise<SlackExchange> {
  const key = options.key ?? `click-${randomBytes(6).toString("hex")}`;
  const body = buttonClickPayload({
    message,
    actionId,
    user: { id: userId },
    responseUrl: sim.responseUrl(key, { userId, channel: message.channel, messageTs: message.ts }),
    triggerId: sim.issueTriggerId(userId),
  });
  const http = await postToBot(bot.eventsUrl, signingSecret, { body, contentType: "application/x-www-form-urlencoded" });
  if (options.expectReply === false || http.status !== 200) return { http, reply: null, replyText: "" };
  const reply = await sim.waitForResponse((response) => response.key === key, { timeoutMs: options.replyTimeoutMs ?? 30_000 });
  return { http, reply, replyText: String((reply.body as { text?: string } | undefined)?.text ?? "") };
}

/** The request id (AR-XXXXXXXX) in a text, or null. */
export function requestIdOf(text: string): string | null {
  return /AR-[0-9A-Z]{8}/.exec(text)?.[0] ?? null;
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * The Slack workspace of the multi-process tests: the approvers of test/fixtures/replica-policy.yml,
 * the given requesters, the approval and audit channels.
 */
export function startReplicaSimulator(requesters: readonly string[], approvers: readonly string[]): Promise<SlackSimulator> {
  return startSlackSimulator({
    users: [...approvers, ...requesters].map((id) => ({ id, name: id.toLowerCase(), realName: `Real ${id}`, email: `${id.toLowerCase()}@example.com` })),
    usergroups: {},
    channels: [
      { id: "C0APPROVALS", name: "access-approvals" },
      { id: "C0AUDIT", name: "access-audit" },
      { id: "C0GENERAL1", name: "general" },
    ],
  });
}

/**
 * The audit channel as a multiset of ledger seqs: every line of every message that starts with
 * `#<seq>` (the relay may put several lines in one message). Returns seq → times seen.
 */
export function auditSeqCounts(sim: SlackSimulator, channel = "C0AUDIT"): Map<number, number> {
  const counts = new Map<number, number>();
  for (const message of sim.messages(channel)) {
    for (const line of message.text.split("\n")) {
      const match = /^`#(\d+)`/.exec(line);
      if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
    }
  }
  return counts;
}

/** The error and fatal log lines (pino level ≥ 50) of `bots`, at most `max` per bot, for failure messages. */
export function botErrorSummary(bots: readonly BotProcess[], max = 8): string {
  return bots
    .map((bot) => {
      const errors = bot.logs().filter((line) => Number(line.json?.level ?? 0) >= 50 || (!line.json && line.stream === "stderr"));
      if (errors.length === 0) return `${bot.name} (pid ${bot.pid}): no error lines`;
      const shown = errors.slice(0, max).map((line) => {
        const err = line.json?.err as { message?: string; stack?: string } | undefined;
        return `  ${String(line.json?.msg ?? line.line).slice(0, 300)}${err ? `: ${(err.stack ?? err.message ?? "").split("\n").slice(0, 4).join(" | ").slice(0, 600)}` : ""}`;
      });
      return `${bot.name} (pid ${bot.pid}): ${errors.length} error lines, first ${shown.length}:\n${shown.join("\n")}`;
    })
    .join("\n");
}

/** `promise`'s value, or null if it has not settled within `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one `accessbot …` command (bin/accessbot.mjs) with only `env` (plus PATH and HOME) and
 * collects its output. `closeStdout`: the reader goes away before the command writes, as
 * `| head` does once it has its line. Killed after `timeoutMs` (default 120 s).
 */
export function runAccessbotCommand(args: string[], env: Record<string, string>, options: { closeStdout?: boolean; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEFAULT_BOT_ENTRY, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
