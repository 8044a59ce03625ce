import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { computeEntryHash, GENESIS_HASH, sha256OfCanonical } from "../src/ledger/ledger-hash.js";
import { ActionIds, BlockIds, CallbackIds, InputActionIds } from "../src/slack/slack-ids.js";
import { postToBot, stateValues, staticSelectValue, viewSubmissionPayload } from "./support/slack-requests.js";
import { replyText, requestIdIn, SIGNING_SECRET, startTestBot, TestClock, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const HOUR = 60 * 60 * 1000;

for (const target of testDatabases) {
  describe(`access flow end to end (${target.name})`, () => {
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

    const ledger = () => db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } });
    const request = (id: string) => db.prisma.accessRequest.findUniqueOrThrow({ where: { id }, include: { grant: true, votes: true } });

    async function openRequest(text = "prod-db 2h fixing INC-4411", user: string = USERS.eng): Promise<string> {
      const { reply } = await t.command(user, text);
      assert.match(replyText(reply), /waiting for approval/, replyText(reply));
      return requestIdIn(replyText(reply));
    }

    test("request → 2 of SRE + 1 of security → active → expired, with every copy updated and every step in the chained ledger", async () => {
      const id = await openRequest();
      const posted = t.approvalMessage(id);
      assert.ok(posted.blocks?.length, "request message has blocks");
      assert.match(JSON.stringify(posted.blocks), /sre-leads\*: 0 of 2/);
      assert.match(JSON.stringify(posted.blocks), /security\*: 0 of 1/);
      assert.match(JSON.stringify(posted.blocks), /has had no grants of/);
      // Every eligible approver got a DM copy; the requester did not.
      const dmed = (await db.prisma.requestMessage.findMany({ where: { requestId: id, kind: "dm" } })).map((m) => m.recipientId).sort();
      assert.deepEqual(dmed, [USERS.sec, USERS.sre1, USERS.sre2, USERS.sre3].sort());

      const first = await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      assert.equal(first.http.status, 200);
      assert.match(replyText(first.reply), /counted toward sre-leads/);
      assert.match(JSON.stringify(t.approvalMessage(id).blocks), /sre-leads\*: 1 of 2/);

      const seenBySre2 = t.approvalMessage(id);
      await t.click(USERS.sre2, seenBySre2, ActionIds.approve);
      assert.equal((await request(id)).status, "PENDING");
      // The approver can click on their own DM copy too.
      const dmCopy = t.sim.messages(t.sim.dmChannelFor(USERS.sec)).find((m) => m.text.includes(id))!;
      const last = await t.click(USERS.sec, dmCopy, ActionIds.approve);
      assert.match(replyText(last.reply), /access is now active/);

      const approved = await request(id);
      assert.equal(approved.status, "APPROVED");
      assert.ok(approved.grant);
      assert.equal(approved.grant.status, "ACTIVE");
      assert.equal(approved.grant.expiresAt.getTime() - approved.grant.activatedAt.getTime(), 2 * HOUR);

      // All copies updated in place, buttons gone, approvers named.
      const copies = await db.prisma.requestMessage.findMany({ where: { requestId: id } });
      assert.equal(copies.length, 5);
      for (const copy of copies) {
        const current = t.sim.message(copy.channelId, copy.ts)!;
        const json = JSON.stringify(current.blocks);
        assert.ok(!json.includes(ActionIds.approve), `buttons removed in ${copy.channelId}`);
        assert.match(json, /Active until/);
        assert.match(json, new RegExp(`Approved by <@${USERS.sec}>`));
      }
      const requesterDm = t.sim.messages(t.sim.dmChannelFor(USERS.eng));
      assert.ok(requesterDm.some((m) => /Approved: your request/.test(m.text)), "requester told");

      // The ledger: created, three votes, activation — chained, with what each approver saw.
      const entries = await ledger();
      assert.deepEqual(entries.map((e) => e.type), ["request.created", "vote.approved", "vote.approved", "vote.approved", "grant.activated"]);
      let prev = GENESIS_HASH;
      for (const entry of entries) {
        assert.equal(entry.prevHash, prev);
        assert.equal(entry.hash, computeEntryHash(prev, entry.body));
        prev = entry.hash;
      }
      const sre2Vote = JSON.parse(entries[2]!.body);
      assert.equal(sre2Vote.actor.user_id, USERS.sre2);
      assert.equal(sre2Vote.actor.team_id, t.sim.teamId);
      assert.equal(sre2Vote.actor.profile.email, "u0sre2@example.com");
      assert.deepEqual(sre2Vote.data.seen.blocks, seenBySre2.blocks);
      assert.equal(sre2Vote.data.seen.sha256, sha256OfCanonical(seenBySre2.blocks));
      assert.equal(sre2Vote.data.counted_toward, "sre-leads");
      assert.deepEqual(sre2Vote.data.evaluation.missing, [{ group: "security", missing: 1 }]);
      assert.match(sre2Vote.data.policy_sha256, /^[0-9a-f]{64}$/);

      // The audit channel mirrors every event in order.
      await t.bot.settle();
      const auditText = t.sim.messages("C0AUDIT").map((m) => m.text).join("\n");
      for (const seq of [1, 2, 3, 4, 5]) assert.match(auditText, new RegExp(`\`#${seq}\``));

      // Not yet due: nothing expires.
      assert.deepEqual((await t.bot.sweep(new Date(approved.grant.expiresAt.getTime() - 1000))).grantsExpired, []);
      const swept = await t.bot.sweep(new Date(approved.grant.expiresAt.getTime() + 1000));
      assert.deepEqual(swept.grantsExpired, [approved.grant.id]);
      await t.bot.settle();
      assert.equal((await request(id)).grant!.status, "EXPIRED");
      assert.equal((await ledger()).at(-1)!.type, "grant.expired");
      assert.ok(t.sim.messages(t.sim.dmChannelFor(USERS.eng)).some((m) => /has ended/.test(m.text)), "requester told of expiry");
      assert.match(JSON.stringify(t.approvalMessage(id).blocks), /Granted, now expired/);
      // A second sweep finds nothing: expiry happens once.
      assert.deepEqual((await t.bot.sweep(new Date(approved.grant.expiresAt.getTime() + 5000))).grantsExpired, []);
    });

    test("one person in two groups fills only one slot, and the matching reassigns them when others arrive", async () => {
      const dual = await openRequest("dual-control 1h pairing on INC-1");
      await t.click(USERS.sre3, t.approvalMessage(dual), ActionIds.approve);
      assert.equal((await request(dual)).status, "PENDING", "SRE3 is in both groups but is one person");

      const id = await openRequest("prod-db 1h INC-2");
      await t.click(USERS.sre3, t.approvalMessage(id), ActionIds.approve); // counts toward sre-leads first
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      assert.equal((await request(id)).status, "PENDING");
      // SRE2 fills sre-leads, so SRE3 can move to security: some assignment now satisfies all rules.
      await t.click(USERS.sre2, t.approvalMessage(id), ActionIds.approve);
      const approved = await request(id);
      assert.equal(approved.status, "APPROVED");
      const activation = JSON.parse((await ledger()).at(-1)!.body);
      assert.equal(activation.type, "grant.activated");
      assert.equal(activation.data.approvers[USERS.sre3], "security");
    });

    test("self-approval is refused and changes nothing; so is a click from a non-approver", async () => {
      const id = await openRequest("staging-admin 1h deploy check", USERS.sre1);
      const before = (await ledger()).length;
      const self = await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      assert.match(replyText(self.reply), /can't approve or deny your own request/);
      const outsider = await t.click(USERS.outsider, t.approvalMessage(id), ActionIds.approve);
      assert.match(replyText(outsider.reply), /not an approver for `staging-admin`/);
      assert.equal((await ledger()).length, before);
      assert.equal((await request(id)).votes.length, 0);
      assert.equal((await request(id)).status, "PENDING");
    });

    /** Clicks Deny on `seen` as `voter` and submits the modal with `reason`. */
    async function denyThroughModal(id: string, voter: string, seen: ReturnType<TestBot["approvalMessage"]>, reason: string): Promise<void> {
      await t.click(voter, seen, ActionIds.deny, { expectReply: false });
      const view = t.sim.views().filter((v) => v.callback_id === CallbackIds.denyModal).at(-1);
      assert.ok(view, "deny modal opened");
      assert.equal(view.private_metadata, id);
      const body = viewSubmissionPayload({
        user: { id: voter },
        view: { ...view, state: stateValues({ [BlockIds.denyReason]: { [InputActionIds.denyReason]: reason } }) },
      });
      const http = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
      assert.equal(http.status, 200);
      await t.bot.settle();
    }

    test("each request message shows the requester's history: grants and denials of the last 30 days, and the three latest grants", async () => {
      const history = (id: string) => JSON.stringify(t.approvalMessage(id).blocks).match(/:mag: [^"]*/)?.[0] ?? "";
      const approved = async (text: string) => {
        const id = await openRequest(text);
        await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
        assert.equal((await request(id)).grant?.status, "ACTIVE");
        t.clock.advance(2 * HOUR);
        return id;
      };
      const first = await openRequest("staging-admin 1h first look");
      assert.match(history(first), /has had no grants of `staging-admin` before\./);
      await t.click(USERS.sre1, t.approvalMessage(first), ActionIds.approve);
      t.clock.advance(2 * HOUR);
      await approved("staging-admin 2h second look");
      await approved("staging-admin 3h third look");
      const denied = await openRequest("staging-admin 1h not now");
      await denyThroughModal(denied, USERS.sre1, t.approvalMessage(denied), "no");
      await approved("staging-admin 4h fourth look");
      // Another person's grants and another resource's are not this history.
      const other = await openRequest("staging-admin 1h someone else", USERS.sre2);
      await t.click(USERS.sre1, t.approvalMessage(other), ActionIds.approve);
      assert.equal((await request(other)).grant?.status, "ACTIVE");

      const next = await openRequest("staging-admin 1h fifth look");
      assert.match(history(next), /had 4 grants of `staging-admin` in the last 30 days\. 1 denied\. Recent: [^;]* for 4h \(“fourth look”\); [^;]* for 3h \(“third look”\); [^;]* for 2h \(“second look”\)$/);
      assert.doesNotMatch(history(next), /first look|someone else/, "three latest only, the requester's own");

      // A month later the counts are back to zero, and the latest grants are still listed.
      t.clock.advance(31 * 24 * HOUR);
      const later = await openRequest("staging-admin 1h much later");
      assert.match(history(later), /had 0 grants of `staging-admin` in the last 30 days\. Recent: [^;]* for 4h \(“fourth look”\);/);
      assert.doesNotMatch(history(later), /denied/);
    });

    test("deny through the modal ends the request at once, escapes the reason and tells the requester", async () => {
      const id = await openRequest();
      const seen = t.approvalMessage(id);
      await denyThroughModal(id, USERS.sre2, seen, "<!channel> not during the freeze *now*");
      const denied = await request(id);
      assert.equal(denied.status, "DENIED");
      assert.equal(denied.denyReason, "<!channel> not during the freeze *now*");
      assert.ok(!JSON.stringify(t.approvalMessage(id).blocks).includes(ActionIds.approve));
      const told = t.sim.messages(t.sim.dmChannelFor(USERS.eng)).find((m) => /denied your request/.test(m.text));
      assert.ok(told, "requester told");
      assert.ok(!told.text.includes("<!channel>"), "the deny reason cannot ping the channel");
      assert.match(told.text, /&lt;!channel&gt;/);
      const entry = JSON.parse((await ledger()).at(-1)!.body);
      assert.equal(entry.type, "request.denied");
      assert.deepEqual(entry.data.seen.blocks, seen.blocks);

      // Clicks after the decision change nothing.
      const late = await t.click(USERS.sre1, seen, ActionIds.approve);
      assert.match(replyText(late.reply), /already denied/);
      assert.equal((await request(id)).votes.length, 1);
    });

    test("Slack retries and double clicks never create a second request, vote or grant", async () => {
      const first = await t.command(USERS.eng, "staging-admin 30m retry test", { triggerId: "1234567890.1234567890.abcdef0123456789abcdef0123456789" });
      const retried = await t.command(USERS.eng, "staging-admin 30m retry test", { triggerId: "1234567890.1234567890.abcdef0123456789abcdef0123456789", retryNum: 1 });
      assert.equal(requestIdIn(replyText(first.reply)), requestIdIn(replyText(retried.reply)));
      assert.equal(await db.prisma.accessRequest.count(), 1);
      const id = requestIdIn(replyText(first.reply));

      const click = await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      const again = await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve, { body: click.body, retryNum: 1 });
      assert.match(replyText(again.reply), /already voted/);
      const state = await request(id);
      assert.equal(state.votes.length, 1);
      assert.equal(state.status, "APPROVED");
      assert.equal(await db.prisma.grant.count(), 1);
      assert.equal((await ledger()).filter((e) => e.type === "grant.activated").length, 1);
    });

    test("many approvers clicking at the same moment yield exactly one activation and one consistent chain", async () => {
      const { ONCALL } = await import("./support/start-test-bot.js");
      for (const [resource, needed] of [["oncall-one", 1], ["oncall-three", 3]] as const) {
        const id = await openRequest(`${resource} 30m race test`);
        const message = t.approvalMessage(id);
        const updatesBefore = t.sim.callsTo("chat.update").length;
        const clicks = await Promise.all(ONCALL.map((user) => t.click(user, message, ActionIds.approve)));
        const copies = await db.prisma.requestMessage.count({ where: { requestId: id } });
        const updates = t.sim.callsTo("chat.update").length - updatesBefore;
        assert.ok(updates <= copies * 4, `a burst of ${ONCALL.length} clicks is coalesced into a few rounds of updates (${updates} chat.update calls for ${copies} copies)`);
        assert.ok(!JSON.stringify(t.approvalMessage(id).blocks).includes(ActionIds.approve), "the final state is rendered");
        assert.ok(clicks.every((click) => click.http.status === 200));
        const state = await request(id);
        assert.equal(state.status, "APPROVED");
        assert.equal(state.votes.length, needed, "votes after the activation are refused, not recorded");
        assert.equal(await db.prisma.grant.count({ where: { requestId: id } }), 1);
        const replies = clicks.map((click) => replyText(click.reply));
        assert.equal(replies.filter((text) => /access is now active/.test(text)).length, 1, "exactly one click activated");
        assert.equal(replies.filter((text) => /already approved/.test(text)).length, ONCALL.length - needed);
      }
      const entries = await ledger();
      assert.equal(entries.filter((e) => e.type === "grant.activated").length, 2);
      entries.forEach((entry, index) => {
        assert.equal(entry.seq, BigInt(index + 1), "gapless sequence");
        assert.equal(entry.prevHash, index === 0 ? GENESIS_HASH : entries[index - 1]!.hash);
        assert.equal(entry.hash, computeEntryHash(entry.prevHash, entry.body));
      });
    });

    test("bad input gets an ephemeral, actionable sentence and changes nothing", async () => {
      const cases: Array<[string, string, RegExp]> = [
        [USERS.eng, "prod-dbb 1h typo", /no resource called “prod-dbb”. Did you mean `prod-db`/],
        [USERS.eng, "prod-db 0m fixing", /“0m” is not a valid duration/],
        [USERS.eng, "prod-db -1h fixing", /not a valid duration/],
        [USERS.eng, "prod-db 99999d fixing", /not a valid duration|longer than the maximum/],
        [USERS.eng, "prod-db 5h fixing", /maximum for `prod-db`, which is 4h/],
        [USERS.eng, "prod-db 1h", /needs a reason/],
        [USERS.eng, "prod-db", /needs a reason/],
        [USERS.eng, `prod-db 1h ${"x".repeat(10_240)}`, /keep it under 1,000/],
        [USERS.outsider, "prod-db 1h sneaky", /not allowed to request `prod-db`/],
        [USERS.eng, "🚀💥 1h ünïcödé", /no resource called/],
        [USERS.eng, "cancel", /Give the id to cancel/],
        [USERS.eng, "cancel AR-NOTMINE1", /You have no request AR-NOTMINE1/],
        [USERS.eng, "revoke GR-12345678", /You have no grant GR-12345678/],
      ];
      for (const [user, text, expected] of cases) {
        const { http, reply } = await t.command(user, text);
        assert.equal(http.status, 200, text.slice(0, 40));
        assert.match(replyText(reply), expected, `reply to “${text.slice(0, 40)}”: ${replyText(reply)}`);
        assert.equal((reply?.body as { response_type?: string }).response_type, "ephemeral");
      }
      // A malformed button payload and a bad signature are refused too.
      const forged = await postToBot(t.botUrl, SIGNING_SECRET, {
        body: new URLSearchParams({ payload: JSON.stringify({ type: "block_actions", user: { id: USERS.sre1 }, actions: [{ action_id: ActionIds.approve, value: "DROP TABLE" }], response_url: t.sim.responseUrl("forged"), trigger_id: "1.2.abc" }) }).toString(),
        contentType: "application/x-www-form-urlencoded",
      });
      assert.equal(forged.status, 200);
      const forgedReply = await t.sim.waitForResponse((r) => r.key === "forged");
      assert.match(String((forgedReply.body as { text: string }).text), /didn't look like one of mine/);
      const unsigned = await postToBot(t.botUrl, "not-the-secret", { body: "command=%2Faccess&text=prod-db", contentType: "application/x-www-form-urlencoded" });
      assert.equal(unsigned.status, 401);
      const stale = await postToBot(t.botUrl, SIGNING_SECRET, { body: "command=%2Faccess&text=prod-db", contentType: "application/x-www-form-urlencoded", timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
      assert.equal(stale.status, 401);

      assert.equal(await db.prisma.accessRequest.count(), 0);
      assert.equal(await db.prisma.ledgerEntry.count(), 0);
    });

    test("a hostile reason is shown literally: it pings no one and restyles nothing", async () => {
      const id = await openRequest("prod-db 1h <!channel> <@U0SEC1> *bold* <https://evil.example|click>");
      const message = t.approvalMessage(id);
      assert.ok(!message.text.includes("<!channel>"));
      const mrkdwn = JSON.stringify(message.blocks).match(/"type":"mrkdwn","text":"[^"]*"/g) ?? [];
      assert.ok(mrkdwn.every((text) => !text.includes("<!channel>") && !text.includes("<https://evil")), "no mrkdwn field carries the raw reason");
      // plain_text decodes entities too, so it is escaped like every other user text.
      assert.ok(JSON.stringify(message.blocks).includes('"type":"plain_text","text":"Reason: &lt;!channel&gt; &lt;@U0SEC1&gt; *bold*'));
      await t.bot.settle();
      const audit = t.sim.messages("C0AUDIT").map((m) => m.text).join("\n");
      assert.match(audit, /&lt;!channel&gt;/);
      assert.ok(!audit.includes("<!channel>"));
    });

    test("when the approver groups cannot satisfy the rules, the requester and the audit channel are told at once", async () => {
      const { reply } = await t.command(USERS.eng, "solo 30m only I could approve this");
      assert.match(replyText(reply), /can't be approved with the current approver groups: lonely needs 1 approval, but it has only 0 eligible members once you, the requester, are excluded/);
      const id = requestIdIn(replyText(reply));
      assert.equal((await request(id)).status, "UNSATISFIABLE");
      assert.equal(t.sim.messages("C0APPROVALS").length, 0, "no approver is pinged for a request that can never pass");
      await t.bot.settle();
      assert.match(t.sim.messages("C0AUDIT").map((m) => m.text).join("\n"), /cannot be approved/);
    });

    test("cancel, list, revoke and help", async () => {
      const id = await openRequest("staging-admin 2h cleanup");
      const withButtons = t.approvalMessage(id);
      const listed = await t.command(USERS.eng, "list");
      assert.match(replyText(listed.reply), new RegExp(`${id}`));
      assert.match(replyText(listed.reply), /Pending requests/);
      const notMine = await t.command(USERS.eng2, `cancel ${id}`);
      assert.match(replyText(notMine.reply), /You have no request/);
      const cancelled = await t.command(USERS.eng, `cancel ${id.toLowerCase()}`);
      assert.match(replyText(cancelled.reply), /You cancelled/);
      assert.equal((await request(id)).status, "CANCELLED");
      assert.ok(!JSON.stringify(t.approvalMessage(id).blocks).includes(ActionIds.approve));
      const late = await t.click(USERS.sre1, withButtons, ActionIds.approve);
      assert.match(replyText(late.reply), /was cancelled by the requester/);

      const granted = await openRequest("staging-admin 2h hotfix");
      await t.click(USERS.sre2, t.approvalMessage(granted), ActionIds.approve);
      const grant = (await request(granted)).grant!;
      const stolen = await t.command(USERS.eng2, `revoke ${grant.id}`);
      assert.match(replyText(stolen.reply), /You have no grant/);
      const revoked = await t.command(USERS.eng, `revoke ${granted}`);
      assert.match(replyText(revoked.reply), /has ended/);
      assert.equal((await request(granted)).grant!.status, "REVOKED");
      assert.equal((await ledger()).at(-1)!.type, "grant.revoked");
      assert.match(replyText((await t.command(USERS.eng, "help")).reply), /\/access <resource> \[duration\] <reason>/);
    });

    test("the modal lists only what the person may request and creates the request once", async () => {
      await t.command(USERS.outsider, "", { expectReply: false });
      const outsiderView = t.sim.views().at(-1)!;
      assert.ok(!JSON.stringify(outsiderView.blocks).includes('"value":"prod-db"'), "prod-db is limited to engineering");
      await t.command(USERS.eng, "", { expectReply: false });
      const view = t.sim.views().at(-1)!;
      assert.equal(view.callback_id, CallbackIds.requestModal);
      assert.ok(JSON.stringify(view.blocks).includes('"value":"prod-db"'));

      const submit = (duration: string, reason: string) =>
        postToBot(t.botUrl, SIGNING_SECRET, {
          body: viewSubmissionPayload({
            user: { id: USERS.eng },
            view: { ...view, state: stateValues({ [BlockIds.resource]: { [InputActionIds.resource]: staticSelectValue("prod-db") }, [BlockIds.duration]: { [InputActionIds.duration]: duration }, [BlockIds.reason]: { [InputActionIds.reason]: reason } }) },
          }),
          contentType: "application/x-www-form-urlencoded",
        });
      const tooLong = await submit("9h", "fixing");
      assert.deepEqual(tooLong.json, { response_action: "errors", errors: { [BlockIds.duration]: "9h is longer than the maximum for `prod-db`, which is 4h. Ask for 4h or less." } });
      assert.equal(await db.prisma.accessRequest.count(), 0);
      const ok = await submit("2h", "from the modal");
      assert.equal(ok.status, 200);
      await submit("2h", "from the modal"); // Slack retry of the same view submission
      await t.bot.settle();
      assert.equal(await db.prisma.accessRequest.count(), 1);
      assert.ok(t.sim.messages(t.sim.dmChannelFor(USERS.eng)).some((m) => /waiting for approval/.test(m.text)));
    });

    test("pending requests expire after the TTL, and grants that fell due while the bot was down expire at start-up", async () => {
      const stale = await openRequest("staging-admin 1h will go stale");
      const kept = await openRequest("staging-admin 1h will be granted");
      await t.click(USERS.sre1, t.approvalMessage(kept), ActionIds.approve);
      const grant = (await request(kept)).grant!;
      const sim = t.sim;
      await t.bot.stop(); // the bot goes down; Slack (the simulator) stays up

      // Restart a day later with a clock past both deadlines: the start-up sweep catches up.
      const later = new TestClock(new Date(Date.now() + 25 * HOUR));
      t = await startTestBot(db, { clock: later, sim, env: { ACCESSBOT_SWEEP_SCHEDULE: "*/1 * * * * *" } });
      const deadline = Date.now() + 10_000;
      while ((await request(kept)).grant!.status === "ACTIVE" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await request(kept)).grant!.status, "EXPIRED");
      assert.equal((await request(grant.requestId)).grant!.id, grant.id);
      while ((await request(stale)).status === "PENDING" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await request(stale)).status, "EXPIRED");
      const types = (await ledger()).map((e) => e.type);
      assert.equal(types.filter((type) => type === "grant.expired").length, 1);
      assert.equal(types.filter((type) => type === "request.expired").length, 1);
      await t.bot.settle();
      assert.match(JSON.stringify(t.approvalMessage(kept).blocks), /Granted, now expired/);
      assert.match(JSON.stringify(t.approvalMessage(stale).blocks), /Expired without enough approvals/);
      await t.stop();
      await sim.close();
      t = await startTestBot(db); // afterEach stops this one
    });
  });
}
