// Socket Mode end to end: the real bot, started with SLACK_APP_TOKEN and no signing secret, opens
// its WebSocket through the simulator's apps.connections.open and receives slash commands and
// button clicks as envelopes, which it must ack over the socket within Slack's 3 s.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import WebSocket from "ws";
import type { Database } from "../src/db/open-database.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { buildBlockActions, findButton, slashCommandBody } from "./support/slack-requests.js";
import { SocketAckTimeoutError, startSlackSimulator, type SimMessage, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { replyText, requestIdIn, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

/** A slash command as a Socket Mode payload: the same fields Slack would post as a form, as JSON. */
function slashCommandPayload(input: Parameters<typeof slashCommandBody>[0]): Record<string, unknown> {
  return Object.fromEntries(new URLSearchParams(slashCommandBody(input)));
}

/** The block_actions payload Slack sends when `userId` clicks `actionId` on `message`. */
function buttonClick(sim: SlackSimulator, message: SimMessage, actionId: string, userId: string, responseUrl: string): Record<string, unknown> {
  const found = findButton(message.blocks, actionId);
  assert.ok(found, `no ${actionId} button on message ${message.ts}`);
  const text = (found.element.text as { text?: string } | undefined)?.text;
  return buildBlockActions({
    user: { id: userId },
    actions: [{
      action_id: actionId,
      block_id: found.block_id,
      type: "button",
      ...(typeof found.element.value === "string" ? { value: found.element.value } : {}),
      ...(typeof found.element.style === "string" ? { style: found.element.style } : {}),
      ...(text ? { text: { type: "plain_text" as const, text, emoji: true } } : {}),
    }],
    message,
    channel: { id: message.channel, name: "access-approvals" },
    response_url: responseUrl,
    trigger_id: sim.issueTriggerId(userId),
  });
}

for (const target of testDatabases) {
  describe(`Socket Mode end to end (${target.name})`, () => {
    let db: Database;
    let t: TestBot;

    before(async () => {
      db = await target.open();
      await resetDatabase(db);
      t = await startTestBot(db, { socketMode: true });
    });
    after(async () => {
      await t?.stop();
      await db?.close();
    });

    const request = (id: string) => db.prisma.accessRequest.findUniqueOrThrow({ where: { id }, include: { grant: true, votes: true } });
    const ledgerTypes = async () => (await db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } })).map((e) => e.type);

    test("connects with the app-level token through SLACK_API_URL and gets Slack's hello", async () => {
      assert.equal(t.bot.config.slack.signingSecret, null, "no signing secret in Socket Mode");
      const connection = await t.sim.socketConnected({ timeoutMs: 1000 });
      assert.ok(connection.helloAt !== undefined);
      // The first is start-up's check of the app token (its URL is left unused); the second connects.
      const opens = t.sim.callsTo("apps.connections.open");
      assert.equal(opens.length, 2);
      for (const open of opens) {
        assert.equal(open.token, t.sim.appToken, "the app token, from the Authorization header");
        assert.equal(open.result.ok, true);
      }
      assert.equal(connection.ticket, new URL(String(opens[1]!.result.url)).searchParams.get("ticket"));
      // Everything else still uses the bot token.
      assert.ok(t.sim.calls.filter((c) => c.method !== "apps.connections.open").every((c) => c.token === t.sim.botToken));
      // The socket client's own settings (100 retries for apps.connections.open) must not leak into
      // the options Bolt builds every listener's `client` from: ours stay bounded.
      assert.equal(t.bot.app.webClientOptions.retryConfig?.retries, 3);
      assert.equal(t.bot.app.webClientOptions.timeout, 10_000);
    });

    test("/access over the socket is acked, answered via response_url, approved by a click; a redelivered click adds no vote", async () => {
      const commandUrl = t.sim.responseUrl("socket-cmd", { userId: USERS.eng, channel: "C0GENERAL1" });
      const commandAck = await t.sim.sendEnvelope({
        type: "slash_commands",
        payload: slashCommandPayload({ userId: USERS.eng, text: "staging-admin 1h socket test", responseUrl: commandUrl }),
      });
      assert.deepEqual(commandAck.payload, {}, "a bare ack: the reply comes through response_url, not the ack");
      assert.ok(commandAck.ms < 3000, `acked in ${commandAck.ms} ms`);
      await t.bot.settle();
      const reply = await t.sim.waitForResponse((r) => r.key === "socket-cmd");
      assert.match(replyText(reply), /waiting for approval/, replyText(reply));
      assert.equal((reply.body as { response_type?: string }).response_type, "ephemeral");
      assert.equal(reply.effect, "ephemeral");
      const id = requestIdIn(replyText(reply));

      // Posted to the approval channel, with buttons.
      const posted = t.approvalMessage(id);
      assert.equal(posted.channel, "C0APPROVALS");
      assert.ok(findButton(posted.blocks, ActionIds.approve), "approve button");

      const clickUrl = t.sim.responseUrl("socket-click", { userId: USERS.sre1, channel: posted.channel, messageTs: posted.ts });
      const click = await t.sim.sendEnvelope({ type: "interactive", payload: buttonClick(t.sim, posted, ActionIds.approve, USERS.sre1, clickUrl) });
      assert.deepEqual(click.payload, {});
      assert.ok(click.ms < 3000, `acked in ${click.ms} ms`);
      await t.bot.settle();
      const approvedReply = await t.sim.waitForResponse((r) => r.key === "socket-click");
      assert.match(replyText(approvedReply), /access is now active/, replyText(approvedReply));

      const approved = await request(id);
      assert.equal(approved.status, "APPROVED");
      assert.equal(approved.grant?.status, "ACTIVE");
      assert.equal(approved.votes.length, 1);
      assert.ok(!JSON.stringify(t.approvalMessage(id).blocks).includes(ActionIds.approve), "buttons removed from the approval message");

      // Slack's retry of the same click: same payload, retry_attempt 1, a new envelope.
      const retry = await t.sim.redeliver(click);
      assert.equal(retry.delivery.frame.retry_attempt, 1);
      assert.equal(retry.delivery.frame.retry_reason, "timeout");
      assert.notEqual(retry.envelope_id, click.envelope_id);
      assert.deepEqual(retry.delivery.payload, click.delivery.payload);
      assert.deepEqual(retry.payload, {}, "the retry is acked too");
      await t.bot.settle();
      const retryReply = await t.sim.waitFor(() => t.sim.responses.filter((r) => r.key === "socket-click")[1]);
      assert.match(replyText(retryReply), /already voted/, replyText(retryReply));

      const after = await request(id);
      assert.equal(after.votes.length, 1, "no second vote");
      assert.equal(await db.prisma.grant.count(), 1, "no second grant");
      const types = await ledgerTypes();
      assert.deepEqual(types.filter((type) => type === "vote.approved" || type === "grant.activated"), ["vote.approved", "grant.activated"]);

      // Every envelope was acked in time; none went unmatched.
      assert.deepEqual(t.sim.deliveries.map((d) => d.status), ["acked", "acked", "acked"]);
    });

    test("GET /healthz is served on PORT in Socket Mode; there is no HTTP events endpoint", async () => {
      assert.ok(t.bot.port > 0);
      const health = await fetch(`http://127.0.0.1:${t.bot.port}/healthz`);
      assert.equal(health.status, 200);
      const report = (await health.json()) as { slack?: { ok: boolean; socketConnected?: boolean } };
      assert.deepEqual({ ...report, slack: { ok: report.slack?.ok, socketConnected: report.slack?.socketConnected } }, { ok: true, database: true, pendingMigrations: [], slack: { ok: true, socketConnected: true } });
      const events = await fetch(`http://127.0.0.1:${t.bot.port}/slack/events`, { method: "POST", body: "payload=%7B%7D", headers: { "content-type": "application/x-www-form-urlencoded" } });
      assert.equal(events.status, 404, "events arrive only over the socket");
      await events.arrayBuffer();
    });
  });
}

describe("Slack simulator: Socket Mode protocol", () => {
  let sim: SlackSimulator;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    sim = await startSlackSimulator();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await sim.close();
  });

  const appClient = (token: string | undefined) =>
    new WebClient(undefined, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 }, ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) });

  async function rejectsWith(promise: Promise<unknown>, error: string): Promise<void> {
    await assert.rejects(promise, (e: unknown) => (e as { data?: { error?: string } }).data?.error === error);
  }

  type Frame = Record<string, unknown>;

  /** Connects like an app: open the URL, wait for hello; `next()` gives each later message in turn. */
  async function connect(url: string): Promise<{ socket: WebSocket; hello: Frame; next: () => Promise<Frame> }> {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const queued: Frame[] = [];
    const waiting: Array<(frame: Frame) => void> = [];
    const hello = await new Promise<Frame>((resolve, reject) => {
      socket.once("error", reject);
      socket.on("message", (data) => {
        const message = JSON.parse(String(data)) as Frame;
        if (message.type === "hello") return resolve(message);
        const waiter = waiting.shift();
        if (waiter) waiter(message);
        else queued.push(message);
      });
    });
    const next = () => {
      const frame = queued.shift();
      return frame ? Promise.resolve(frame) : new Promise<Frame>((resolve) => waiting.push(resolve));
    };
    return { socket, hello, next };
  }

  test("apps.connections.open takes only the app token, from the Authorization header; tickets are single use", async () => {
    await rejectsWith(appClient(undefined).apps.connections.open({}), "not_authed");
    // A token only in the form body is not enough: Slack wants it in the Authorization header.
    const formOnly = await fetch(`${sim.apiUrl}apps.connections.open`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${sim.appToken}` });
    assert.deepEqual(await formOnly.json(), { ok: false, error: "not_authed" });
    await rejectsWith(new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl }).apps.connections.open({}), "not_allowed_token_type");
    await rejectsWith(appClient("xapp-1-A0OTHER-1-wrong").apps.connections.open({}), "invalid_auth");
    await rejectsWith(new WebClient(sim.appToken, { slackApiUrl: sim.apiUrl }).chat.postMessage({ channel: "C0GENERAL1", text: "hi" }), "not_allowed_token_type");

    const opened = await appClient(sim.appToken).apps.connections.open({});
    assert.match(String(opened.url), /^ws:\/\/127\.0\.0\.1:\d+\/socket\?ticket=[0-9a-f-]{36}/);
    const { hello } = await connect(String(opened.url));
    assert.equal(hello.num_connections, 1);
    assert.deepEqual(hello.connection_info, { app_id: sim.appId });
    await sim.socketConnected({ timeoutMs: 500 });
    // The same URL again is refused.
    await assert.rejects(connect(String(opened.url)), /Unexpected server response: 401/);
  });

  test("sendEnvelope resolves with the ack, rejects after the deadline; redeliver counts retries", async () => {
    await assert.rejects(sim.sendEnvelope({ type: "interactive", payload: { type: "block_actions" } }), /no app is connected/);
    const { socket, next } = await connect(String((await appClient(sim.appToken).apps.connections.open({})).url));
    const ackNext = (payload?: Frame) => next().then((frame) => socket.send(JSON.stringify({ envelope_id: frame.envelope_id, ...(payload ? { payload } : {}) })));

    const acking = ackNext({ text: "ok" });
    const ack = await sim.sendEnvelope({ type: "slash_commands", payload: { command: "/access", text: "help" } });
    await acking;
    assert.deepEqual(ack.payload, { text: "ok" });
    assert.deepEqual(ack.delivery.frame, { envelope_id: ack.envelope_id, payload: { command: "/access", text: "help" }, type: "slash_commands", accepts_response_payload: true });

    // No ack in time: rejected, and the late ack is still recorded.
    const timedOut = await sim.sendEnvelope({ type: "events_api", payload: { type: "event_callback", event: { type: "app_mention" } } }, { ackTimeoutMs: 100 }).then(
      () => assert.fail("should time out"),
      (error: unknown) => error,
    );
    assert.ok(timedOut instanceof SocketAckTimeoutError);
    assert.equal(timedOut.delivery.status, "timed_out");
    assert.equal(timedOut.delivery.frame.retry_attempt, 0);
    assert.equal(timedOut.delivery.frame.accepts_response_payload, false);
    await ackNext();
    await sim.waitFor(() => timedOut.delivery.ack?.late);

    const acking2 = ackNext();
    const retry = await sim.redeliver(timedOut.delivery, { retryReason: "timeout" });
    await acking2;
    assert.equal(retry.delivery.retryAttempt, 1);
    assert.equal(retry.delivery.frame.retry_attempt, 1);
    assert.equal(retry.payload, undefined);
    assert.deepEqual(retry.delivery.payload, timedOut.delivery.payload);

    // Slack stops after its third retry.
    const third = { ...retry.delivery, retryAttempt: 3 };
    await assert.rejects(sim.redeliver(third), /at most 3 times/);

    // A closed connection fails a pending delivery at once.
    const pending = sim.sendEnvelope({ type: "interactive", payload: { type: "block_actions" } });
    await next();
    socket.close();
    await assert.rejects(pending, /closed .* before envelope/);
  });
});
