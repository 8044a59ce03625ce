// A post whose answer is lost must not be posted twice: the once-only poster against the Slack
// simulator, whose faults include "the call took effect and the answer never came".
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import { pino } from "pino";
import { OnceOnlyPoster, POST_METADATA_EVENT } from "../src/slack/once-only-poster.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const silent = pino({ level: "silent" });
const CHANNEL = "C0AUDIT";

describe("once-only poster", () => {
  let sim: SlackSimulator;
  let poster: OnceOnlyPoster;

  before(async () => {
    sim = await startSlackSimulator({ channels: [{ id: CHANNEL, name: "audit" }] });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
    const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, timeout: 300, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    poster = new OnceOnlyPoster(client, silent, { retryDelayMs: 20 });
  });

  const key = (name: string, repeated = false) => ({ key: name, since: new Date(), repeated });
  const posts = () => sim.calls.filter((call) => call.method === "chat.postMessage");
  const lookups = () => sim.calls.filter((call) => call.method === "conversations.history");

  test("an answer lost after the post went through: found in the history, not posted again", async () => {
    sim.injectFault("chat.postMessage", "lost-response");
    const posted = await poster.post({ channel: CHANNEL, text: "hello" }, key("k1"), { n: 1 });
    assert.equal(sim.messages(CHANNEL).length, 1, "one message in the channel");
    assert.equal(posted.earlier, true);
    assert.equal(posted.ts, sim.messages(CHANNEL)[0]!.ts);
    assert.deepEqual(posted.payload, { n: 1, key: "k1" }, "what the earlier try carried");
    assert.deepEqual(sim.messages(CHANNEL)[0]!.metadata, { event_type: POST_METADATA_EVENT, event_payload: { n: 1, key: "k1" } });
    assert.equal(lookups().length, 1);
  });

  test("a timeout before Slack did anything: the history shows no such post, so it is posted once", async () => {
    sim.injectFault("chat.postMessage", "hang");
    const posted = await poster.post({ channel: CHANNEL, text: "hello" }, key("k2"));
    assert.equal(posted.earlier, false);
    assert.equal(sim.messages(CHANNEL).length, 1);
    assert.equal(lookups().length, 1, "looked before posting again");
  });

  test("HTTP 500 and dropped connections are unknown outcomes too; another key's post is not mistaken for this one", async () => {
    await poster.post({ channel: CHANNEL, text: "other" }, key("other"));
    sim.injectFault("chat.postMessage", "http500");
    sim.injectFault("chat.postMessage", "drop");
    const posted = await poster.post({ channel: CHANNEL, text: "hello" }, key("k3"));
    assert.equal(posted.earlier, false);
    assert.deepEqual(sim.messages(CHANNEL).map((m) => m.text), ["other", "hello"]);
    assert.equal(lookups().length, 2);
  });

  test("a repeated run looks first, and finds its post among many pages of others", async () => {
    await poster.post({ channel: CHANNEL, text: "mine" }, key("k4"));
    for (let i = 0; i < 450; i++) await poster.post({ channel: CHANNEL, text: `noise ${i}` }, key(`noise-${i}`));
    const callsBefore = posts().length;
    const posted = await poster.post({ channel: CHANNEL, text: "mine" }, key("k4", true));
    assert.equal(posted.earlier, true);
    assert.equal(posts().length, callsBefore, "nothing posted");
    assert.equal(lookups().length, 3, "three pages of 200");
  });

  test("a repeated run whose earlier try never posted posts now", async () => {
    const posted = await poster.post({ channel: CHANNEL, text: "late" }, key("k5", true));
    assert.equal(posted.earlier, false);
    assert.equal(sim.messages(CHANNEL).length, 1);
  });

  test("posts older than the key's since are not searched", async () => {
    await poster.post({ channel: CHANNEL, text: "old" }, key("k6"));
    const posted = await poster.post({ channel: CHANNEL, text: "new" }, { key: "k6", since: new Date(Date.now() + 3_600_000), repeated: true });
    assert.equal(posted.earlier, false, "an hour ahead: the old post is outside the window");
    assert.equal(sim.messages(CHANNEL).length, 2);
  });

  test("a lookup that fails throws and posts nothing (the job tries again later)", async () => {
    sim.injectFault("chat.postMessage", "lost-response");
    sim.injectFault("conversations.history", "hang");
    await assert.rejects(poster.post({ channel: CHANNEL, text: "hello" }, key("k7")));
    assert.equal(sim.messages(CHANNEL).length, 1, "only the post whose answer was lost");
    sim.clearFaults();
    const posted = await poster.post({ channel: CHANNEL, text: "hello" }, key("k7", true));
    assert.equal(posted.earlier, true);
    assert.equal(sim.messages(CHANNEL).length, 1);
  });

  test("a rate limit is waited out (nothing was posted), a long one is handed back", async () => {
    sim.rateLimit("chat.postMessage", { retryAfterSeconds: 1 });
    const posted = await poster.post({ channel: CHANNEL, text: "hello" }, key("k8"));
    assert.equal(posted.earlier, false);
    assert.equal(lookups().length, 0, "a 429 is known not to have posted");
    assert.equal(sim.messages(CHANNEL).length, 1);
    sim.rateLimit("chat.postMessage", { retryAfterSeconds: 120 });
    await assert.rejects(poster.post({ channel: CHANNEL, text: "again" }, key("k9")), (error: { code?: string }) => error.code === "slack_webapi_rate_limited_error");
  });

  test("an app installed without the history scopes posts again rather than never (and says which scopes to add)", async () => {
    const lines: string[] = [];
    const log = pino({ level: "error" }, { write: (line: string) => lines.push(line) });
    const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, timeout: 300, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const withoutScopes = new OnceOnlyPoster(client, log, { retryDelayMs: 20 });
    sim.failNext("conversations.history", "missing_scope", { times: 2 });
    const posted = await withoutScopes.post({ channel: CHANNEL, text: "again" }, key("k12", true));
    assert.equal(posted.earlier, false);
    assert.equal(sim.messages(CHANNEL).length, 1);
    await withoutScopes.post({ channel: CHANNEL, text: "again" }, key("k13", true));
    assert.equal(lines.length, 1, "said once");
    assert.match(lines[0]!, /im:history, channels:history and groups:history/);
  });

  test("Slack's own errors are final: not retried, nothing looked up", async () => {
    sim.failNext("chat.postMessage", "channel_not_found");
    await assert.rejects(poster.post({ channel: CHANNEL, text: "x" }, key("k10")), (error: { data?: { error?: string } }) => error.data?.error === "channel_not_found");
    assert.equal(posts().length, 1);
    assert.equal(lookups().length, 0);
  });

  test("no call starts after the budget, so a run ends within its job's lease (the next run looks first)", async () => {
    const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, timeout: 300, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    const hurried = new OnceOnlyPoster(client, silent, { retryDelayMs: 20, budgetMs: 200 });
    sim.injectFault("chat.postMessage", "lost-response");
    const started = Date.now();
    await assert.rejects(hurried.post({ channel: CHANNEL, text: "x" }, key("k14")), /no answer from Slack within 200 ms/);
    assert.ok(Date.now() - started < 1500, "it stopped instead of trying again");
    assert.equal(sim.messages(CHANNEL).length, 1);
    assert.equal(sim.faultLog.filter((entry) => entry.method === "chat.postMessage" && entry.at >= started).length, 1, "one post, not a second");
    assert.equal(sim.calls.filter((call) => call.method === "conversations.history" && call.at >= started).length, 0, "not even a lookup past the budget");
    sim.clearFaults();
    const again = await hurried.post({ channel: CHANNEL, text: "x" }, key("k14", true));
    assert.equal(again.earlier, true);
    assert.equal(sim.messages(CHANNEL).length, 1);
  });

  test("an outage that outlasts the tries throws after looking each time", async () => {
    const faultsBefore = sim.faultLog.length;
    sim.injectFault("chat.postMessage", "http500", { times: Number.POSITIVE_INFINITY });
    await assert.rejects(poster.post({ channel: CHANNEL, text: "x" }, key("k11")), (error: { code?: string }) => error.code === "slack_webapi_http_error");
    assert.equal(sim.faultLog.slice(faultsBefore).filter((entry) => entry.method === "chat.postMessage").length, 3, "three tries");
    assert.equal(lookups().length, 2, "a look before each retry");
  });
});
