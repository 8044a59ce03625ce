// Races that used to give false errors: the first burst after a start (policy text recorded
// concurrently) and concurrent twins of one command or one modal submission (idempotency key
// checked, then inserted). Every caller must get the truthful answer.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { BlockIds, InputActionIds } from "../src/slack/slack-ids.js";
import { postToBot, stateValues, staticSelectValue, viewSubmissionPayload } from "./support/slack-requests.js";
import { ONCALL, replyText, requestIdIn, SIGNING_SECRET, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

for (const target of testDatabases) {
  describe(`races (${target.name})`, () => {
    let db: Database;
    let t: TestBot;
    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
      t = await startTestBot(db);
    });
    afterEach(async () => {
      await t.stop();
    });

    test("the first burst after a start: 10 concurrent requests from 10 people all succeed, and the policy text is kept once", async () => {
      assert.equal(await db.prisma.policyVersion.count(), 0, "fresh database: no policy recorded yet");
      const people = ONCALL.slice(0, 10);
      const results = await Promise.all(people.map((user, i) => t.command(user, `staging-admin 1h burst ${i}`)));
      for (const { reply } of results) assert.match(replyText(reply), /waiting for approval/, replyText(reply));
      assert.equal(await db.prisma.accessRequest.count(), 10);
      assert.equal(await db.prisma.policyVersion.count(), 1);
    });

    test("five concurrent deliveries of one command (same trigger_id) make one request, and every reply names it", async () => {
      const triggerId = t.sim.issueTriggerId(USERS.eng);
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => t.command(USERS.eng, "staging-admin 1h one request only", { triggerId, ...(i > 0 ? { retryNum: i } : {}) })));
      assert.equal(await db.prisma.accessRequest.count(), 1);
      const id = (await db.prisma.accessRequest.findFirstOrThrow()).id;
      for (const { reply } of results) {
        const text = replyText(reply);
        assert.doesNotMatch(text, /not applied|went wrong/i, text);
        assert.equal(requestIdIn(text), id, text);
      }
    });

    test("a double modal submission, sent concurrently, creates one request and neither submitter is told of an error", async () => {
      await t.command(USERS.eng, "", { expectReply: false });
      const view = t.sim.views().at(-1)!;
      const body = viewSubmissionPayload({
        user: { id: USERS.eng },
        view: { ...view, state: stateValues({ [BlockIds.resource]: { [InputActionIds.resource]: staticSelectValue("staging-admin") }, [BlockIds.duration]: { [InputActionIds.duration]: "1h" }, [BlockIds.reason]: { [InputActionIds.reason]: "double submit" } }) },
      });
      const responses = await Promise.all(Array.from({ length: 4 }, () => postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" })));
      for (const response of responses) {
        assert.equal(response.status, 200);
        assert.doesNotMatch(response.text, /errors/);
      }
      await t.bot.settle();
      assert.equal(await db.prisma.accessRequest.count(), 1);
      const dms = t.sim.messages(t.sim.dmChannelFor(USERS.eng)).map((m) => m.text);
      assert.ok(dms.some((text) => /waiting for approval/.test(text)), dms.join(" | "));
      assert.ok(!dms.some((text) => /not applied|went wrong/i.test(text)), dms.join(" | "));
    });
  });
}

describe("user group changes", () => {
  const target = testDatabases[0]!;
  test("someone removed from an approver group is refused at once when Slack sends subteam_members_changed, despite a 60 s cache", async () => {
    const db = await target.open();
    const t = await startTestBot(db, { env: { ACCESSBOT_GROUP_CACHE_SECONDS: "60" } });
    try {
      // A request resolves the security group once, so its members are now cached.
      assert.match(replyText((await t.command(USERS.eng, "dual-control 1h warm the cache")).reply), /waiting for approval/);
      // sec is in S0SECURITY (and nothing else); the membership is now cached for 60 s.
      t.sim.setUsergroup("S0SECURITY", [USERS.sre3]);
      const event = { token: "x", team_id: "T0SIMTEAM1", api_app_id: "A0SIMAPP1", type: "event_callback", event_id: "Ev0REMOVED1", event_time: Math.floor(Date.now() / 1000), event: { type: "subteam_members_changed", subteam_id: "S0SECURITY", team_id: "T0SIMTEAM1", date_previous_update: 1, date_update: 2, added_users: [], added_users_count: "0", removed_users: [USERS.sec], removed_users_count: "1", event_ts: "1.2" } };
      const acked = await postToBot(t.botUrl, SIGNING_SECRET, { body: JSON.stringify(event), contentType: "application/json" });
      assert.equal(acked.status, 200);
      await t.bot.settle();
      const second = requestIdIn(replyText((await t.command(USERS.eng2, "dual-control 1h after the removal")).reply));
      const click = await t.click(USERS.sec, t.approvalMessage(second), "access_approve");
      assert.match(replyText(click.reply), /not an approver/i, replyText(click.reply));
    } finally {
      await t.stop();
      await db.close();
    }
  });
});
