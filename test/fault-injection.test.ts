// Slack that hangs, fails with 500, rate-limits with 429, drops connections or loses answers: every acknowledged decision still
// reaches every message, DM and audit line once Slack recovers, health says when Slack is
// gone, and shutdown never waits on a hung call.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { postToBot, slashCommandBody } from "./support/slack-requests.js";
import { replyText, requestIdIn, SIGNING_SECRET, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

// Short, so hung calls end quickly (a post whose answer is late is looked up before it is sent again).
const SLACK_TIMEOUT_MS = 1500;

for (const target of testDatabases) {
  describe(`Slack faults (${target.name})`, () => {
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
      t = await startTestBot(db, { botOptions: { slackTimeoutMs: SLACK_TIMEOUT_MS, slackUnreachableAfterMs: 4000, shutdownDeadlineMs: 2000 } });
    });
    afterEach(async () => {
      t.sim.clearFaults();
      await t.stop();
    });

    /** Lets every job that failed while Slack was broken come due, and runs it. */
    async function recover(): Promise<void> {
      t.sim.clearFaults();
      for (let round = 0; round < 12; round++) {
        t.clock.advance(10 * 60 * 1000);
        await t.bot.sweep();
        await t.bot.relay.drain();
        const open = await db.prisma.job.count({ where: { doneAt: null, kind: { not: "slack-interaction" } } });
        if (open === 0) return;
      }
    }

    const jobsOpen = () => db.prisma.job.count({ where: { doneAt: null, kind: { not: "slack-interaction" } } });

    // lost-response: Slack does the work and the answer never comes, so a blind retry would post twice.
    for (const fault of ["hang", "http500", "drop", "lost-response", "ratelimit"] as const) {
      test(`chat.* and conversations.open ${fault}: the approval's messages, DM and audit lines converge after recovery`, async () => {
        const { reply } = await t.command(USERS.eng, "staging-admin 1h fault test");
        const id = requestIdIn(replyText(reply));
        for (const method of ["chat.update", "chat.postMessage", "conversations.open"]) {
          // 429 with Retry-After: the client waits and retries a few times, then the job backs off.
          if (fault === "ratelimit") t.sim.rateLimit(method, { times: Number.POSITIVE_INFINITY, retryAfterSeconds: 1 });
          else t.sim.injectFault(method, fault, { times: Number.POSITIVE_INFINITY });
        }

        const click = await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve, { expectReply: false });
        assert.equal(click.http.status, 200, "acked at once although Slack is broken");
        // The decision is committed regardless of Slack.
        assert.equal((await db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).status, "APPROVED");
        if (fault === "ratelimit") {
          await t.sim.waitFor(() => t.sim.calls.some((call) => call.status === 429), { timeoutMs: 10_000 });
        } else assert.ok(t.sim.faultLog.some((entry) => entry.fault === fault), "the fault was actually served");
        assert.ok((await jobsOpen()) > 0, "the effects wait as jobs, not lost");

        await recover();
        assert.equal(await jobsOpen(), 0, "every job done after recovery");
        assert.doesNotMatch(JSON.stringify(t.approvalMessage(id).blocks), /access_approve/, "the channel copy lost its buttons");
        for (const dm of await db.prisma.requestMessage.findMany({ where: { requestId: id, kind: "dm" } })) {
          assert.doesNotMatch(JSON.stringify(t.sim.message(dm.channelId, dm.ts)?.blocks), /access_approve/, `DM copy of ${dm.recipientId} updated`);
        }
        const told = t.sim.messages(t.sim.dmChannelFor(USERS.eng)).filter((m) => m.text.includes("Approved"));
        assert.equal(told.length, 1, "the requester is told exactly once");
        const audit = t.sim.messages("C0AUDIT").flatMap((m) => m.text.split("\n"));
        const head = await db.prisma.ledgerEntry.count();
        for (let seq = 1; seq <= head; seq++) assert.equal(audit.filter((line) => line.startsWith(`\`#${seq}\``)).length, 1, `audit line #${seq} once`);
      });
    }

    test("every method hangs: health turns 503 with the reason, shutdown keeps its deadline, and the bot works again after recovery", async () => {
      const healthUrl = t.botUrl.replace("/slack/events", "/healthz");
      assert.equal((await fetch(healthUrl)).status, 200);
      t.sim.injectFault("*", "hang", { times: Number.POSITIVE_INFINITY });
      // Sent without waiting for the listener: its Slack calls hang until the outage ends.
      const body = slashCommandBody({ userId: USERS.eng, text: "staging-admin 1h during an outage", responseUrl: t.sim.responseUrl("outage", { userId: USERS.eng }), triggerId: t.sim.issueTriggerId(USERS.eng) });
      const acked = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
      assert.equal(acked.status, 200, "acked although Slack does not answer");
      // The probe cannot reach Slack: past the threshold health says so.
      let report: { ok: boolean; slack?: { ok: boolean; problem?: string } } = { ok: true };
      for (let i = 0; i < 150 && report.ok; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const response = await fetch(healthUrl);
        report = (await response.json()) as typeof report;
        if (!report.ok) assert.equal(response.status, 503);
      }
      assert.equal(report.ok, false, "health reports Slack down");
      assert.match(report.slack?.problem ?? "", /Slack has not answered/);
      const ready = await fetch(healthUrl.replace("/healthz", "/readyz"));
      assert.equal(ready.status, 503, "not ready while Slack is unreachable");
      assert.match(((await ready.json()) as { slack?: { problem?: string } }).slack?.problem ?? "", /Slack has not answered/);
      const live = await fetch(healthUrl.replace("/healthz", "/livez"));
      assert.equal(live.status, 200, "alive: a restart would not bring Slack back");

      t.sim.clearFaults();
      await t.bot.settle();
      await recover();
      const request = await db.prisma.accessRequest.findFirstOrThrow({ where: { reason: "during an outage" } });
      assert.ok(t.sim.messages("C0APPROVALS").some((m) => m.text.includes(request.id)), "the request posted once Slack answered");
    });

    test("stop() with Slack calls hanging ends within its deadline", async () => {
      const { reply } = await t.command(USERS.eng, "staging-admin 1h hang at shutdown");
      const id = requestIdIn(replyText(reply));
      t.sim.injectFault("*", "hang", { times: Number.POSITIVE_INFINITY });
      void t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve, { expectReply: false }).catch(() => undefined);
      await t.sim.waitFor(() => t.sim.hungCount > 0, { timeoutMs: 5000 });
      const started = Date.now();
      await t.bot.stop();
      const took = Date.now() - started;
      assert.ok(took < 6000, `stopped in ${took} ms`);
      t.sim.clearFaults();
      // A fresh bot on the same simulator for afterEach; it closes the simulator this test's bot owned.
      const sim = t.sim;
      t = await startTestBot(db, { sim, clock: t.clock });
      const stopNext = t.stop.bind(t);
      t.stop = async () => {
        await stopNext();
        await sim.close();
      };
    });
  });
}
