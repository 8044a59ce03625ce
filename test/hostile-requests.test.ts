// Signed but malformed bodies and timestamps from the future: answered, logged, nothing changes,
// and the bot keeps serving.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { nowSeconds, postToBot } from "./support/slack-requests.js";
import { replyText, SIGNING_SECRET, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { testDatabases } from "./support/test-databases.js";

const target = testDatabases[0]!;

describe(`hostile requests (${target.name})`, () => {
  let db: Database;
  let t: TestBot;
  before(async () => {
    db = await target.open();
    t = await startTestBot(db);
  });
  after(async () => {
    await t.stop();
    await db.close();
  });

  const form = "application/x-www-form-urlencoded" as const;
  const cases: Array<{ name: string; body: string; contentType: typeof form | "application/json"; status: number }> = [
    { name: "payload=null", body: "payload=null", contentType: form, status: 400 },
    { name: "payload=[]", body: "payload=%5B%5D", contentType: form, status: 400 },
    { name: "payload=42", body: "payload=42", contentType: form, status: 400 },
    { name: "payload that is not JSON", body: "payload=%7Bnope", contentType: form, status: 400 },
    { name: "a JSON body of null", body: "null", contentType: "application/json", status: 400 },
    { name: "a JSON body that is a string", body: '"hello"', contentType: "application/json", status: 400 },
  ];
  for (const { name, body, contentType, status } of cases) {
    test(`signed ${name} is answered ${status}, the process lives on`, async () => {
      const response = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType });
      assert.equal(response.status, status);
      const health = await fetch(t.botUrl.replace("/slack/events", "/healthz"));
      assert.equal(health.status, 200, "still serving");
    });
  }

  for (const skew of [60 * 60, 10 * 365 * 24 * 60 * 60]) {
    test(`a correctly signed command stamped ${skew} s in the future is refused and creates nothing`, async () => {
      const before = await db.prisma.accessRequest.count();
      const body = new URLSearchParams({ command: "/access", text: "staging-admin 1h from the future", user_id: USERS.eng, user_name: "eng", team_id: "T0SIMTEAM1", channel_id: "C0GENERAL1", trigger_id: t.sim.issueTriggerId(USERS.eng), response_url: t.sim.responseUrl(`future-${skew}`) }).toString();
      const response = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: form, timestamp: nowSeconds() + skew });
      assert.equal(response.status, 401);
      await t.bot.settle();
      assert.equal(await db.prisma.accessRequest.count(), before);
    });
  }

  test("a command signed four minutes ahead (a skewed clock) is still accepted", async () => {
    const responseUrl = t.sim.responseUrl("skewed");
    const body = new URLSearchParams({ command: "/access", text: "staging-admin 1h slightly skewed clock", user_id: USERS.eng, user_name: "eng", team_id: "T0SIMTEAM1", channel_id: "C0GENERAL1", trigger_id: t.sim.issueTriggerId(USERS.eng), response_url: responseUrl }).toString();
    const response = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: form, timestamp: nowSeconds() + 4 * 60 });
    assert.equal(response.status, 200);
    await t.bot.settle();
    const reply = await t.sim.waitFor(() => t.sim.responses.find((r) => r.key === "skewed"));
    assert.match(replyText(reply), /waiting for approval/);
  });
});
