import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino, type Logger } from "pino";
import type { Database } from "../../src/db/open-database.js";
import type { Clock } from "../../src/domain/ports.js";
import { startBot, type Bot, type BotOptions } from "../../src/main.js";
import { buttonClickPayload, postToBot, slashCommandBody, type BotResponse } from "./slack-requests.js";
import { startSlackSimulator, type SimMessage, type SimResponse, type SlackSimulator } from "../../src/slack-simulator/slack-simulator.js";

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
export const POLICY_FILE = fileURLToPath(new URL("../fixtures/test-policy.yml", import.meta.url));

export const USERS = {
  eng: "U0ENG1",
  eng2: "U0ENG2",
  sre1: "U0SRE1",
  sre2: "U0SRE2",
  sre3: "U0SRE3", // also in security: one person, two groups
  sec: "U0SEC1",
  outsider: "U0OUT1",
} as const;

export const ONCALL = Array.from({ length: 30 }, (_, index) => `U0ONC${String(index).padStart(2, "0")}`);

/** A clock tests can move; the bot reads it for every decision. */
export class TestClock implements Clock {
  constructor(private current = new Date()) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface TestBot {
  sim: SlackSimulator;
  bot: Bot;
  botUrl: string;
  clock: TestClock;
  /** Sends `/access <text>` as `userId`, then waits for the bot's ephemeral reply (if `expectReply`). */
  command(userId: string, text: string, options?: { triggerId?: string; retryNum?: number; expectReply?: boolean }): Promise<{ http: BotResponse; reply: SimResponse | null; body: string }>;
  /** Clicks a button on a message exactly as Slack would send it; waits for the bot's ephemeral reply. */
  click(userId: string, message: SimMessage, actionId: string, options?: { body?: string; retryNum?: number; expectReply?: boolean }): Promise<{ http: BotResponse; reply: SimResponse | null; body: string }>;
  /** A copy of the request's message in the approval channel, as it is now. */
  approvalMessage(requestId: string): SimMessage;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Starts the Slack simulator and the real bot (Bolt, HTTP mode, signature checks on) against `database`.
 * `socketMode: true` starts it in Socket Mode instead: SLACK_APP_TOKEN set, no signing secret, and
 * PORT a free port chosen here (Bolt's SocketModeReceiver does not report the port it listens on,
 * so PORT=0 would leave /healthz unreachable). In Socket Mode `command()` and `click()` (HTTP posts)
 * do not apply: send envelopes with `sim.sendEnvelope()`.
 */
export async function startTestBot(
  database: Database,
  options: { clock?: TestClock; env?: Record<string, string>; sim?: SlackSimulator; log?: Logger; socketMode?: boolean; botOptions?: Pick<BotOptions, "slackUnreachableAfterMs" | "shutdownDeadlineMs" | "slackTimeoutMs"> } = {},
): Promise<TestBot> {
  const ownsSim = !options.sim;
  const sim = options.sim ?? await startSlackSimulator({
    users: [
      ...Object.values(USERS).map((id) => ({ id, name: id.toLowerCase(), realName: `Real ${id}`, email: `${id.toLowerCase()}@example.com` })),
      ...ONCALL.map((id) => ({ id, name: id.toLowerCase() })),
    ],
    usergroups: { S0SECURITY: [USERS.sec, USERS.sre3], S0ENG: [USERS.eng, USERS.eng2, USERS.sre1], S0ONCALL: ONCALL, S0LONELY: [USERS.eng] },
    channels: [
      { id: "C0APPROVALS", name: "access-approvals" },
      { id: "C0AUDIT", name: "access-audit" },
      { id: "C0GENERAL1", name: "general" },
    ],
  });
  const clock = options.clock ?? new TestClock();
  const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-test-"));
  const policyFile = path.join(workDir, "access-policy.yml");
  const { readFileSync } = await import("node:fs");
  writeFileSync(policyFile, readFileSync(POLICY_FILE));
  const bot = await startBot({
    env: {
      SLACK_BOT_TOKEN: sim.botToken,
      ...(options.socketMode ? { SLACK_APP_TOKEN: sim.appToken } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
      SLACK_API_URL: sim.apiUrl,
      PORT: options.socketMode ? String(await freePort()) : "0",
      ACCESS_POLICY_FILE: policyFile,
      LOG_LEVEL: "silent",
      // Far in the future: tests call bot.sweep() themselves with a chosen time.
      ACCESSBOT_SWEEP_SCHEDULE: "0 0 1 1 *",
      ACCESSBOT_GROUP_CACHE_SECONDS: "0",
      // Activity checkpoints tick in real time; tests that want them turn them on.
      ACCESSBOT_CHECKPOINT_EVERY_ENTRIES: "0",
      ACCESSBOT_CHECKPOINT_EVERY_MINUTES: "0",
      ...options.env,
    },
    database,
    clock,
    // Tests move their own clock and call bot.sweep(); a real-time timer would race them.
    dueTimer: false,
    ...options.botOptions,
    log: options.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  });
  const botUrl = `http://127.0.0.1:${bot.port}/slack/events`;

  /**
   * Signs and sends a body as Slack would, then waits for the bot to finish with it and for
   * the next reply on its response_url. A replayed body carries the response_url of the
   * original request, so the reply is awaited there.
   */
  const send = async (body: string, opts: { retryNum?: number; expectReply?: boolean }) => {
    const form = new URLSearchParams(body);
    const responseUrl = form.get("response_url") ?? (JSON.parse(form.get("payload") ?? "{}") as { response_url?: string }).response_url ?? "";
    const key = responseUrl.split("/").pop() ?? "";
    const earlier = sim.responses.filter((response) => response.key === key).length;
    const http = await postToBot(botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded", ...(opts.retryNum ? { retryNum: opts.retryNum, retryReason: "http_timeout" } : {}) });
    await bot.settle();
    const reply =
      opts.expectReply === false
        ? null
        : await sim.waitFor(() => sim.responses.filter((response) => response.key === key)[earlier], { timeoutMs: 10_000 });
    return { http, reply, body };
  };

  return {
    sim,
    bot,
    botUrl,
    clock,
    command(userId, text, opts = {}) {
      const key = `cmd-${++counter}`;
      const body = slashCommandBody({ userId, text, responseUrl: sim.responseUrl(key, { userId, channel: "C0GENERAL1" }), ...(opts.triggerId ? { triggerId: opts.triggerId } : {}) });
      return send(body, opts);
    },
    click(userId, message, actionId, opts = {}) {
      const key = `click-${++counter}`;
      const body =
        opts.body ??
        buttonClickPayload({ message, actionId, user: { id: userId }, responseUrl: sim.responseUrl(key, { userId, channel: message.channel, messageTs: message.ts }), triggerId: sim.issueTriggerId(userId) });
      return send(body, opts);
    },
    approvalMessage(requestId) {
      const message = sim.messages("C0APPROVALS").find((candidate) => candidate.text.includes(requestId));
      if (!message) throw new Error(`no approval message for ${requestId}; channel has: ${sim.messages("C0APPROVALS").map((m) => m.text).join(" | ")}`);
      // A copy: what a person saw stays as it was when later updates change the message.
      return structuredClone(message);
    },
    async stop() {
      await bot.stop();
      if (ownsSim) await sim.close();
    },
  };
}

/** A port that was free a moment ago (the OS's pick for port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The text of an ephemeral reply the bot sent through a response_url. */
export function replyText(reply: SimResponse | null): string {
  return String((reply?.body as { text?: string } | undefined)?.text ?? "");
}

/** The request id in a reply like "Request AR-XXXX for …". */
export function requestIdIn(text: string): string {
  const match = /AR-[0-9A-Z]{8}/.exec(text);
  if (!match) throw new Error(`no request id in: ${text}`);
  return match[0];
}
