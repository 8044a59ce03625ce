/**
 * Drives the Slack simulator with the real WebClient (the one Bolt uses) and
 * Bolt's real HTTP receiver, so the simulator's fidelity is checked against
 * the exact client/server code the bot runs in production.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { App, LogLevel, webApi, type BlockAction, type ButtonAction, type types } from "@slack/bolt";
import {
  buttonClickPayload,
  postToBot,
  signSlackRequest,
  slashCommandBody,
  stateValues,
  viewSubmissionPayload,
} from "./support/slack-requests.js";
import { startSlackSimulator, type SimUser, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const ALICE: SimUser = { id: "U0ALICE001", name: "alice", realName: "Alice Liddell", displayName: "alice", email: "alice@example.com" };
const BOB: SimUser = { id: "U0BOB00001", name: "bob", realName: "Bob Builder", email: "bob@example.com", tz: "Europe/Berlin" };
const FORMER: SimUser = { id: "U0GONE0001", name: "former", deleted: true };
const APPROVERS_GROUP = "S0APPROVE1";

/** Keeps expected `[ERROR]` lines (Slack's response_metadata.messages) out of the test output. */
const silentLogger: webApi.Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => webApi.LogLevel.ERROR,
  setName: () => {},
};

/** `token` undefined builds a client that sends no token at all. */
function newClient(sim: SlackSimulator, token: string | undefined): webApi.WebClient {
  return new webApi.WebClient(token, {
    slackApiUrl: sim.apiUrl,
    // p-retry's default backoff would add seconds; the Retry-After wait still applies.
    retryConfig: webApi.retryPolicies.rapidRetryPolicy,
    logger: silentLogger,
  });
}

/** Asserts a WebClient call fails with the given Slack platform error code. */
async function rejectsWith(promise: Promise<unknown>, error: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof webApi.WebAPIPlatformError, `expected a platform error, got ${String(e)}`);
    assert.equal(e.data.error, error);
    return true;
  });
}

const SECTION_WITH_BUTTONS = [
  { type: "section", text: { type: "mrkdwn", text: "*alice* requests `prod-db` for 2h" } },
  {
    type: "actions",
    block_id: "decision",
    elements: [
      { type: "button", action_id: "approve", text: { type: "plain_text", text: "Approve" }, style: "primary", value: "req-1" },
      { type: "button", action_id: "deny", text: { type: "plain_text", text: "Deny" }, style: "danger", value: "req-1" },
    ],
  },
];

const REQUEST_MODAL: types.ModalView = {
  type: "modal",
  callback_id: "access_request",
  private_metadata: JSON.stringify({ channel: "C0GENERAL1" }),
  title: { type: "plain_text", text: "Request access" },
  submit: { type: "plain_text", text: "Submit" },
  blocks: [
    { type: "input", block_id: "reason", label: { type: "plain_text", text: "Reason" }, element: { type: "plain_text_input", action_id: "value" } },
  ],
};

describe("Slack simulator via the real WebClient", () => {
  let sim: SlackSimulator;
  let client: webApi.WebClient;

  before(async () => {
    sim = await startSlackSimulator({
      users: [ALICE, BOB, FORMER],
      usergroups: { [APPROVERS_GROUP]: [BOB.id] },
      channels: [
        { id: "C0GENERAL1", name: "general" },
        { id: "C0PRIVATE1", name: "secret-ops", isPrivate: true, botIsMember: false },
      ],
    });
    client = newClient(sim, sim.botToken);
  });
  afterEach(() => sim.reset());
  after(() => sim.close());

  it("auth.test answers the bot identity; wrong or missing tokens are rejected", async () => {
    const auth = await client.auth.test();
    assert.equal(auth.ok, true);
    assert.equal(auth.user_id, sim.botUserId);
    assert.equal(auth.team_id, sim.teamId);
    assert.equal(auth.bot_id, sim.botId);
    assert.equal(auth.url, `https://${sim.teamDomain}.slack.com/`);

    await rejectsWith(newClient(sim, "xoxb-wrong").auth.test(), "invalid_auth");
    await rejectsWith(newClient(sim, undefined).auth.test(), "not_authed");
    const [first] = sim.callsTo("auth.test");
    assert.equal(first?.token, sim.botToken, "WebClient sends the token as a Bearer header");
    assert.equal(first?.contentType, "application/x-www-form-urlencoded");
    assert.equal(sim.calls.length, 3, "failed calls are recorded too");
  });

  it("chat.postMessage to a user id lands in the DM and answers the D… channel", async () => {
    const result = await client.chat.postMessage({ channel: ALICE.id, text: "Your request is pending", blocks: SECTION_WITH_BUTTONS });
    const dm = sim.dmChannelFor(ALICE.id);
    assert.match(dm, /^D/);
    assert.equal(result.channel, dm);
    assert.match(result.ts ?? "", /^\d{10}\.\d{6}$/);
    assert.equal(result.message?.user, sim.botUserId);
    assert.equal(result.message?.bot_id, sim.botId);
    assert.equal(result.message?.text, "Your request is pending");

    const [stored] = sim.messages(ALICE.id);
    assert.deepEqual(sim.messages(dm), sim.messages(ALICE.id));
    assert.equal(stored?.ts, result.ts);
    assert.equal(stored?.channel, dm);
    const firstBlock = stored?.blocks?.[0] as { block_id?: unknown } | undefined;
    assert.equal(typeof firstBlock?.block_id, "string", "Slack assigns block_ids to blocks without one");

    const [call] = sim.callsTo("chat.postMessage");
    assert.ok(Array.isArray(call?.params.blocks), "form-encoded blocks are JSON-decoded in the record");
    assert.equal(call?.params.channel, ALICE.id);
  });

  it("ts values are unique and increasing", async () => {
    const tss: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const r = await client.chat.postMessage({ channel: "C0GENERAL1", text: `m${i}` });
      tss.push(r.ts ?? "");
    }
    assert.equal(new Set(tss).size, tss.length);
    const asNumbers = tss.map(Number);
    assert.deepEqual([...asNumbers].sort((a, b) => a - b), asNumbers);
    assert.equal(sim.messages("C0GENERAL1").length, 5);
    assert.deepEqual(sim.messages("#general"), sim.messages("C0GENERAL1"), "channel names resolve like on Slack");
  });

  it("chat.postMessage reports channel_not_found, not_in_channel and no_text like Slack", async () => {
    await rejectsWith(client.chat.postMessage({ channel: "C0NOPE0001", text: "x" }), "channel_not_found");
    await rejectsWith(client.chat.postMessage({ channel: "U0NOBODY01", text: "x" }), "channel_not_found");
    await rejectsWith(client.chat.postMessage({ channel: "C0PRIVATE1", text: "x" }), "not_in_channel");
    sim.setBotMembership("C0PRIVATE1", true);
    await client.chat.postMessage({ channel: "C0PRIVATE1", text: "now a member" });
    await rejectsWith(client.chat.postMessage({ channel: "C0GENERAL1", text: "" }), "no_text");
    const longSection = [{ type: "section", text: { type: "mrkdwn", text: "x".repeat(3001) } }];
    await rejectsWith(client.chat.postMessage({ channel: "C0GENERAL1", text: "long", blocks: longSection }), "invalid_blocks");
  });

  it("chat.update replaces content, keeps history, and needs the channel id", async () => {
    const posted = await client.chat.postMessage({ channel: BOB.id, text: "Approve?", blocks: SECTION_WITH_BUTTONS });
    const channel = posted.channel ?? "";
    const ts = posted.ts ?? "";

    const updated = await client.chat.update({ channel, ts, text: "Approved by bob", blocks: [] });
    assert.equal(updated.ts, ts);
    assert.equal(updated.channel, channel);

    const message = sim.message(channel, ts);
    assert.equal(message?.text, "Approved by bob");
    assert.equal(message?.blocks, undefined, "an empty blocks array removes the blocks");
    assert.deepEqual(message?.history.map((v) => [v.source, v.text]), [
      ["chat.postMessage", "Approve?"],
      ["chat.update", "Approved by bob"],
    ]);
    assert.equal(message?.edited?.user, sim.botUserId);

    await rejectsWith(client.chat.update({ channel, ts: "1.000000", text: "x" }), "message_not_found");
    await rejectsWith(client.chat.update({ channel: BOB.id, ts, text: "x" }), "channel_not_found");
  });

  it("429 with Retry-After is retried by WebClient until it succeeds", async () => {
    sim.rateLimit("chat.postMessage", { times: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    const result = await client.chat.postMessage({ channel: "C0GENERAL1", text: "eventually" });
    const elapsed = Date.now() - started;

    assert.equal(result.ok, true);
    const calls = sim.callsTo("chat.postMessage");
    assert.deepEqual(calls.map((c) => c.status), [429, 200], "one throttled attempt, then the retry");
    assert.equal(calls[0]?.result.error, "ratelimited");
    assert.ok(elapsed >= 950, `WebClient honoured Retry-After (waited ${elapsed} ms)`);
    assert.equal(sim.messages("C0GENERAL1").length, 1, "the throttled attempt left no message behind");
  });

  it("answers 429 on the wire exactly as Slack does", async () => {
    sim.rateLimit("users.info", { retryAfterSeconds: 7 });
    const response = await fetch(`${sim.apiUrl}users.info`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.botToken}`, "content-type": "application/x-www-form-urlencoded" },
      body: `user=${ALICE.id}`,
    });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "7");
    assert.deepEqual(await response.json(), { ok: false, error: "ratelimited" });
  });

  it("failNext injects platform errors for a number of calls", async () => {
    sim.failNext("users.info", "fatal_error", { times: 2 });
    await rejectsWith(client.users.info({ user: ALICE.id }), "fatal_error");
    await rejectsWith(client.users.info({ user: ALICE.id }), "fatal_error");
    const third = await client.users.info({ user: ALICE.id });
    assert.equal(third.user?.id, ALICE.id);
  });

  it("views.open needs a trigger_id; trigger_ids are single use; views.update checks the hash", async () => {
    await rejectsWith(client.views.open({ trigger_id: "", view: REQUEST_MODAL }), "invalid_trigger_id");
    await rejectsWith(client.views.open({ trigger_id: "not-a-trigger", view: REQUEST_MODAL }), "invalid_trigger_id");

    const triggerId = sim.issueTriggerId(ALICE.id);
    const opened = await client.views.open({ trigger_id: triggerId, view: REQUEST_MODAL });
    const view = opened.view;
    assert.match(view?.id ?? "", /^V[A-Z0-9]+$/);
    assert.match(view?.hash ?? "", /^\d+\.[0-9a-f]+$/);
    assert.equal(view?.callback_id, "access_request");
    assert.equal(sim.view(view?.id ?? "")?.user_id, ALICE.id);

    await rejectsWith(client.views.open({ trigger_id: triggerId, view: REQUEST_MODAL }), "exchanged_trigger_id");
    await rejectsWith(client.views.update({ view_id: view?.id ?? "", hash: "stale.hash", view: REQUEST_MODAL }), "hash_conflict");
    const updated = await client.views.update({ view_id: view?.id ?? "", hash: view?.hash ?? "", view: REQUEST_MODAL });
    assert.notEqual(updated.view?.hash, view?.hash);
    assert.equal(sim.view(view?.id ?? "")?.history.length, 2);

    const longTitle: types.ModalView = { ...REQUEST_MODAL, title: { type: "plain_text", text: "This title is far too long for Slack" } };
    await rejectsWith(client.views.open({ trigger_id: sim.issueTriggerId(), view: longTitle }), "invalid_arguments");
  });

  it("users.info, usergroups.users.list, conversations.open, permalinks and ephemerals", async () => {
    const bob = await client.users.info({ user: BOB.id });
    assert.equal(bob.user?.profile?.email, BOB.email);
    assert.equal(bob.user?.real_name, BOB.realName);
    assert.equal(bob.user?.tz, "Europe/Berlin");
    assert.equal(bob.user?.is_bot, false);
    const former = await client.users.info({ user: FORMER.id });
    assert.equal(former.user?.deleted, true);
    await rejectsWith(client.users.info({ user: "U0NOBODY01" }), "user_not_found");

    const group = await client.usergroups.users.list({ usergroup: APPROVERS_GROUP });
    assert.deepEqual(group.users, [BOB.id]);
    sim.setUsergroup(APPROVERS_GROUP, [BOB.id, ALICE.id]);
    assert.deepEqual((await client.usergroups.users.list({ usergroup: APPROVERS_GROUP })).users, [BOB.id, ALICE.id]);
    await rejectsWith(client.usergroups.users.list({ usergroup: "S0MISSING1" }), "no_such_subteam");

    const opened = await client.conversations.open({ users: ALICE.id });
    assert.equal(opened.channel?.id, sim.dmChannelFor(ALICE.id));
    const again = await client.conversations.open({ users: ALICE.id });
    assert.equal(again.already_open, true);
    await rejectsWith(client.conversations.open({ users: "U0NOBODY01" }), "user_not_found");

    const posted = await client.chat.postMessage({ channel: "C0GENERAL1", text: "hello" });
    const link = await client.chat.getPermalink({ channel: "C0GENERAL1", message_ts: posted.ts ?? "" });
    assert.equal(link.permalink, `https://${sim.teamDomain}.slack.com/archives/C0GENERAL1/p${(posted.ts ?? "").replace(".", "")}`);

    const eph = await client.chat.postEphemeral({ channel: "C0GENERAL1", user: ALICE.id, text: "only you" });
    assert.match(eph.message_ts ?? "", /^\d+\.\d{6}$/);
    assert.equal(sim.ephemerals("C0GENERAL1")[0]?.user, ALICE.id);
  });

  it("unknown methods answer unknown_method and are recorded", async () => {
    await rejectsWith(client.apiCall("reactions.add", { channel: "C0GENERAL1", name: "eyes" }), "unknown_method");
    assert.equal(sim.callsTo("reactions.add")[0]?.params.name, "eyes");
  });

  it("accepts JSON bodies with a Bearer token, and ignores a token inside JSON as Slack does", async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${sim.apiUrl}chat.postMessage`, { method: "POST", headers, body: JSON.stringify(body) }).then((r) => r.json());
    const json = "application/json; charset=utf-8";
    const okResult = (await post({ authorization: `Bearer ${sim.botToken}`, "content-type": json }, { channel: ALICE.id, text: "json" })) as Record<string, unknown>;
    assert.equal(okResult.ok, true);
    assert.equal(okResult.channel, sim.dmChannelFor(ALICE.id));
    const noAuth = (await post({ "content-type": json }, { token: sim.botToken, channel: ALICE.id, text: "json" })) as Record<string, unknown>;
    assert.deepEqual(noAuth, { ok: false, error: "not_authed" });

    const form = await fetch(`${sim.apiUrl}auth.test`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${sim.botToken}`,
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal(form.ok, true, "a form token field is accepted");
  });

  it("records response_url posts and applies replace_original to the bound message", async () => {
    const posted = await client.chat.postMessage({ channel: BOB.id, text: "Approve?", blocks: SECTION_WITH_BUTTONS });
    const url = sim.responseUrl("click-1", { channel: posted.channel ?? "", messageTs: posted.ts ?? "", userId: BOB.id });
    assert.equal(url, `${sim.url}/response/click-1`);

    const answer = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ replace_original: true, text: "Approved" }),
    });
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), "ok");

    const recorded = await sim.waitForResponse((r) => r.key === "click-1");
    assert.deepEqual(recorded.body, { replace_original: true, text: "Approved" });
    assert.equal(recorded.effect, "replaced");
    assert.equal(sim.message(BOB.id, posted.ts ?? "")?.text, "Approved");

    const unknown = await fetch(`${sim.url}/response/never-issued`, { method: "POST", body: "{}" });
    assert.equal(unknown.status, 404);
  });

  it("conversations.history pages newest first, bounds by oldest/latest, and returns metadata only when asked", async () => {
    const posted = [];
    for (let i = 0; i < 5; i++) {
      posted.push(await client.chat.postMessage({ channel: "C0GENERAL1", text: `m${i}`, metadata: { event_type: "probe", event_payload: { i } } }));
    }
    const plain = await client.conversations.history({ channel: "C0GENERAL1" });
    assert.deepEqual(plain.messages?.map((m) => m.text), ["m4", "m3", "m2", "m1", "m0"]);
    assert.equal(plain.messages?.[0]?.metadata, undefined, "no metadata unless include_all_metadata");
    const first = await client.conversations.history({ channel: "C0GENERAL1", limit: 2, include_all_metadata: true });
    assert.deepEqual(first.messages?.map((m) => m.metadata?.event_payload), [{ i: 4 }, { i: 3 }]);
    assert.equal(first.has_more, true);
    const second = await client.conversations.history({ channel: "C0GENERAL1", limit: 2, cursor: first.response_metadata?.next_cursor! });
    assert.deepEqual(second.messages?.map((m) => m.text), ["m2", "m1"]);
    const bounded = await client.conversations.history({ channel: "C0GENERAL1", oldest: posted[1]!.ts!, latest: posted[3]!.ts! });
    assert.deepEqual(bounded.messages?.map((m) => m.text), ["m2"], "oldest and latest are exclusive");
    const inclusive = await client.conversations.history({ channel: "C0GENERAL1", oldest: posted[1]!.ts!, latest: posted[3]!.ts!, inclusive: true });
    assert.deepEqual(inclusive.messages?.map((m) => m.text), ["m3", "m2", "m1"]);
    await rejectsWith(client.conversations.history({ channel: "C0PRIVATE1" }), "not_in_channel");
    await rejectsWith(client.conversations.history({ channel: "C0NOPE0001" }), "channel_not_found");
  });

  it("lost-response: the call takes effect and its answer never comes", async () => {
    const impatient = new webApi.WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, timeout: 200, retryConfig: { retries: 0 }, logger: silentLogger });
    sim.injectFault("chat.postMessage", "lost-response");
    await assert.rejects(impatient.chat.postMessage({ channel: "C0GENERAL1", text: "did it" }), (e: { code?: string }) => e.code === "slack_webapi_request_error");
    assert.deepEqual(sim.messages("C0GENERAL1").map((m) => m.text), ["did it"], "posted although the client saw a timeout");
    assert.equal(sim.faultLog.at(-1)?.fault, "lost-response");
    sim.clearFaults();
    assert.equal(sim.hungCount, 0);
  });

  it("waitFor resolves on later calls and times out with the calls seen so far", async () => {
    const waiting = sim.waitForCall("chat.postMessage", (c) => c.params.text === "later");
    setTimeout(() => void client.chat.postMessage({ channel: "C0GENERAL1", text: "later" }), 20);
    const call = await waiting;
    assert.equal(call.result.ok, true);

    await assert.rejects(
      sim.waitFor((s) => s.callsTo("views.open").length > 0, { timeoutMs: 50 }),
      (e: unknown) => e instanceof Error && /timed out after 50 ms/.test(e.message) && /chat\.postMessage \[200 ok\]/.test(e.message),
    );
  });
});

describe("signSlackRequest", () => {
  it("matches the example from Slack's request-verification docs", () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const headers = signSlackRequest("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618);
    assert.deepEqual(headers, {
      "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "x-slack-request-timestamp": "1531420618",
    });
  });
});

describe("Bolt's HTTP receiver against signed requests and the simulator", () => {
  const signingSecret = "0123456789abcdef0123456789abcdef";
  const FORM = "application/x-www-form-urlencoded";
  let sim: SlackSimulator;
  let app: App;
  let botUrl: string;
  const seen: { retryNums: Array<number | undefined>; submitted: unknown[] } = { retryNums: [], submitted: [] };

  before(async () => {
    // The simulator must be up first: Bolt calls auth.test from the App constructor.
    sim = await startSlackSimulator({ users: [ALICE, BOB] });
    app = new App({
      signingSecret,
      token: sim.botToken,
      clientOptions: { slackApiUrl: sim.apiUrl, retryConfig: webApi.retryPolicies.rapidRetryPolicy },
      port: 0,
      logLevel: LogLevel.ERROR,
    });
    app.command("/access", async ({ ack, command, respond, client, context }) => {
      seen.retryNums.push(context.retryNum);
      await ack();
      await respond({ response_type: "ephemeral", text: `Got it: ${command.text}` });
      if (command.text === "modal") {
        await client.views.open({ trigger_id: command.trigger_id, view: REQUEST_MODAL });
      } else {
        await client.chat.postMessage({ channel: command.user_id, text: "Approve?", blocks: SECTION_WITH_BUTTONS });
      }
    });
    app.action<BlockAction<ButtonAction>>({ action_id: "approve" }, async ({ ack, body, client, action }) => {
      await ack();
      await client.chat.update({ channel: body.channel?.id ?? "", ts: body.message?.ts ?? "", text: `Approved ${action.value}`, blocks: [] });
    });
    app.view("access_request", async ({ ack, view }) => {
      seen.submitted.push({ values: view.state.values, metadata: view.private_metadata });
      await ack();
    });
    const server = await app.start();
    botUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  after(async () => {
    await app.stop();
    await sim.close();
  });

  it("accepts a signed slash command, runs the listener, and passes retry headers through", async () => {
    const body = slashCommandBody({ text: "prod-db 2h", userId: ALICE.id, userName: "alice", responseUrl: sim.responseUrl("cmd-1") });
    const response = await postToBot(botUrl, signingSecret, { body, contentType: FORM, retryNum: 1, retryReason: "http_timeout" });
    assert.equal(response.status, 200);

    const reply = await sim.waitForResponse((r) => r.key === "cmd-1");
    assert.deepEqual(reply.body, { response_type: "ephemeral", text: "Got it: prod-db 2h" });
    const [dm] = await sim.waitFor((s) => (s.messages(ALICE.id).length > 0 ? s.messages(ALICE.id) : undefined));
    assert.equal(dm?.text, "Approve?");
    assert.deepEqual(seen.retryNums, [1]);
    assert.ok(sim.callsTo("auth.test").length >= 1, "Bolt verified its token against the simulator");
  });

  it("round-trips a button click on a message the bot posted", async () => {
    const body = slashCommandBody({ text: "prod-db", userId: BOB.id, responseUrl: sim.responseUrl() });
    assert.equal((await postToBot(botUrl, signingSecret, { body, contentType: FORM })).status, 200);
    const [message] = await sim.waitFor((s) => (s.messages(BOB.id).length > 0 ? s.messages(BOB.id) : undefined));
    assert.ok(message);

    const click = buttonClickPayload({ message, actionId: "approve", user: { id: BOB.id }, responseUrl: sim.responseUrl(undefined, { channel: message.channel, messageTs: message.ts }) });
    assert.equal((await postToBot(botUrl, signingSecret, { body: click, contentType: FORM })).status, 200);
    const updated = await sim.waitFor((s) => s.message(BOB.id, message.ts)?.history.length === 2 && s.message(BOB.id, message.ts));
    assert.equal(updated.text, "Approved req-1");
  });

  it("opens a modal from the command's trigger_id and accepts its view_submission", async () => {
    const triggerId = sim.issueTriggerId(ALICE.id);
    const body = slashCommandBody({ text: "modal", userId: ALICE.id, triggerId, responseUrl: sim.responseUrl() });
    assert.equal((await postToBot(botUrl, signingSecret, { body, contentType: FORM })).status, 200);
    const [view] = await sim.waitFor((s) => (s.views().length > 0 ? s.views() : undefined));
    assert.ok(view);
    assert.equal(view.trigger_id, triggerId);

    const submission = viewSubmissionPayload({ user: { id: ALICE.id }, view: { ...view, state: stateValues({ reason: { value: "incident 42" } }) } });
    const response = await postToBot(botUrl, signingSecret, { body: submission, contentType: FORM });
    assert.equal(response.status, 200);
    assert.equal(response.text, "", "ack() with no arguments closes the modal with an empty 200");
    assert.deepEqual(seen.submitted.at(-1), {
      values: { reason: { value: { type: "plain_text_input", value: "incident 42" } } },
      metadata: REQUEST_MODAL.private_metadata,
    });
  });

  it("rejects a bad signature and a stale timestamp with 401", async () => {
    const body = slashCommandBody({ userId: ALICE.id, responseUrl: sim.responseUrl("never-used") });
    const bad = await postToBot(botUrl, signingSecret, { body, contentType: FORM, badSignature: true });
    assert.equal(bad.status, 401);
    const staleTimestamp = Math.floor(Date.now() / 1000) - 5 * 60 - 1;
    const stale = await postToBot(botUrl, signingSecret, { body, contentType: FORM, timestamp: staleTimestamp });
    assert.equal(stale.status, 401);
    const wrongSecret = await postToBot(botUrl, "not-the-secret", { body, contentType: FORM });
    assert.equal(wrongSecret.status, 401);
    assert.equal(sim.responses.filter((r) => r.key === "never-used").length, 0, "no listener ran");
  });
});
