import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { sha256OfCanonical } from "../src/ledger/ledger-hash.js";
import { ActionIds, BlockIds, CallbackIds, HOME_WAITING_BLOCK_PREFIX, InputActionIds } from "../src/slack/slack-ids.js";
import { appHomeOpenedBody, homeButtonClickPayload, postToBot, stateValues, viewSubmissionPayload } from "./support/slack-requests.js";
import type { SimHomeView } from "../src/slack-simulator/slack-simulator.js";
import { replyText, requestIdIn, SIGNING_SECRET, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const HOUR = 60 * 60 * 1000;

interface Block {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: Array<{ action_id?: string; value?: string; text?: unknown }>;
  accessory?: { action_id?: string; value?: string };
}

for (const target of testDatabases) {
  describe(`App Home tab (${target.name})`, () => {
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

    async function openRequest(text: string, user: string = USERS.eng): Promise<string> {
      const { reply } = await t.command(user, text);
      assert.match(replyText(reply), /waiting for approval/, replyText(reply));
      return requestIdIn(replyText(reply));
    }

    /** Sends `app_home_opened` signed as Slack does, and returns the Home view the bot published. */
    async function openHome(userId: string, tab: "home" | "messages" = "home"): Promise<SimHomeView | undefined> {
      const http = await postToBot(t.botUrl, SIGNING_SECRET, { body: appHomeOpenedBody({ userId, tab }), contentType: "application/json" });
      assert.equal(http.status, 200);
      await t.bot.settle();
      return t.sim.homeView(userId);
    }

    function home(userId: string): SimHomeView {
      const view = t.sim.homeView(userId);
      assert.ok(view, `a Home view was published for ${userId}`);
      return view;
    }

    const blocksOf = (view: SimHomeView) => view.blocks as Block[];
    const textOf = (view: SimHomeView) => JSON.stringify(view.blocks);
    /** The blocks between one section header and the next. */
    function sectionOf(view: SimHomeView, title: string): Block[] {
      const blocks = blocksOf(view);
      const start = blocks.findIndex((block) => block.type === "header" && block.text?.text === title);
      assert.ok(start >= 0, `section ${title}`);
      const end = blocks.findIndex((block, index) => index > start && block.type === "header");
      return blocks.slice(start + 1, end < 0 ? undefined : end).filter((block) => block.type !== "divider");
    }
    const waitingBlocks = (view: SimHomeView, requestId: string) => blocksOf(view).filter((block) => block.block_id?.startsWith(`${HOME_WAITING_BLOCK_PREFIX}${requestId}:`));

    /** Clicks a button on a Home view (by default the clicker's own) exactly as Slack sends it. */
    async function clickHome(userId: string, actionId: string, value?: string, view: SimHomeView = home(userId)) {
      const body = homeButtonClickPayload({ view, actionId, ...(value !== undefined ? { value } : {}), user: { id: userId }, triggerId: t.sim.issueTriggerId(userId) });
      const dmsBefore = t.sim.messages(t.sim.dmChannelFor(userId)).length;
      const http = await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
      assert.equal(http.status, 200);
      await t.bot.settle();
      // A click on the Home tab has no response_url: the answer comes by DM.
      const dms = t.sim.messages(t.sim.dmChannelFor(userId)).slice(dmsBefore).map((message) => message.text);
      return { http, view, dms };
    }

    test("renders each section for a user with known data, within Slack's limits", async () => {
      const granted = await openRequest("staging-admin 2h deploy check");
      await t.click(USERS.sre1, t.approvalMessage(granted), ActionIds.approve);
      t.clock.advance(60_000);
      const pending = await openRequest("prod-db 2h fixing INC-4411");
      t.clock.advance(60_000);
      const cancelled = await openRequest("dual-control 1h pairing on INC-1");
      await t.command(USERS.eng, `cancel ${cancelled}`);
      const grant = (await request(granted)).grant!;

      const view = await openHome(USERS.eng);
      assert.ok(view);
      assert.equal(view.type, "home");
      assert.ok(view.blocks.length <= 100);
      const headers = blocksOf(view).filter((block) => block.type === "header").map((block) => block.text?.text);
      assert.deepEqual(headers, ["My access", "My requests", "Waiting for me", "Recent history"]);
      const intro = blocksOf(view)[0]!;
      assert.equal(intro.accessory?.action_id, ActionIds.openRequestModal);

      const access = JSON.stringify(sectionOf(view, "My access"));
      assert.match(access, /staging-admin/);
      assert.match(access, /1h 58m left/);
      const buttons = sectionOf(view, "My access").flatMap((block) => block.elements ?? []);
      assert.deepEqual(buttons.map((button) => [button.action_id, button.value]), [[ActionIds.extend, grant.id], [ActionIds.release, grant.id]]);

      const mine = sectionOf(view, "My requests");
      assert.equal(mine.length, 1);
      assert.match(mine[0]!.text!.text, new RegExp(pending));
      assert.match(mine[0]!.text!.text, /sre-leads\*: 0 of 2/);
      assert.match(mine[0]!.text!.text, /security\*: 0 of 1/);
      assert.deepEqual([mine[0]!.accessory?.action_id, mine[0]!.accessory?.value], [ActionIds.cancel, pending]);

      assert.match(JSON.stringify(sectionOf(view, "Waiting for me")), /Nothing is waiting for your approval/);

      const history = sectionOf(view, "Recent history").map((block) => JSON.stringify(block));
      assert.equal(history.length, 3);
      assert.match(history[0]!, new RegExp(`${cancelled}.*cancelled`));
      assert.match(history[1]!, new RegExp(`${pending}.*waiting for approval`));
      assert.match(history[2]!, new RegExp(`${granted}.*active`));

      // An approver sees the pending request, with inline buttons, and nothing already decided.
      const sre = await openHome(USERS.sre1);
      assert.ok(sre);
      const waiting = sectionOf(sre, "Waiting for me");
      assert.match(JSON.stringify(waiting), new RegExp(pending));
      assert.doesNotMatch(JSON.stringify(waiting), new RegExp(`${granted}|${cancelled}`));
      const [summary, actions] = waitingBlocks(sre, pending);
      assert.match(summary!.text!.text, new RegExp(`<@${USERS.eng}> asks for \`prod-db\``));
      assert.match(summary!.text!.text, /sre-leads\*: 0 of 2/);
      assert.deepEqual(actions!.elements!.map((button) => [button.action_id, button.value]), [[ActionIds.approve, pending], [ActionIds.deny, pending]]);

      // The same data renders the same blocks: the builder is pure (Slack's own block ids for
      // blocks without one differ, so the views as sent are compared).
      const again = await openHome(USERS.sre1);
      const sent = t.sim.callsTo("views.publish").filter((call) => call.params.user_id === USERS.sre1).map((call) => call.params.view);
      assert.equal(sent.length, 2);
      assert.deepEqual(sent[1], sent[0]);
      assert.equal(again!.id, sre.id, "one Home view per user");
    });

    test("refreshes after a new request, a vote, a grant and an expiry without the user reopening it", async () => {
      assert.equal((await openHome(USERS.eng))?.type, "home");
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My requests")), /no pending requests/);
      await openHome(USERS.sre1);
      await openHome(USERS.sec);
      assert.match(JSON.stringify(sectionOf(home(USERS.sre1), "Waiting for me")), /Nothing is waiting/);

      // A new request the user can approve appears in their tab; the requester's tab shows it too.
      const id = await openRequest("prod-db 2h fixing INC-4411");
      await t.bot.settle();
      assert.equal(waitingBlocks(home(USERS.sre1), id).length, 2, "new request in sre1's Waiting for me");
      assert.equal(waitingBlocks(home(USERS.sec), id).length, 2);
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My requests")), /sre-leads\*: 0 of 2/);

      // A vote: the voter's list loses it, the requester's progress moves.
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      await t.bot.settle();
      assert.equal(waitingBlocks(home(USERS.sre1), id).length, 0);
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My requests")), /sre-leads\*: 1 of 2/);
      assert.match(JSON.stringify(waitingBlocks(home(USERS.sec), id)), /sre-leads\*: 1 of 2/);

      // The grant: My access shows it, the pending request is gone, and nobody is asked any more.
      await t.click(USERS.sre2, t.approvalMessage(id), ActionIds.approve);
      await t.click(USERS.sec, t.approvalMessage(id), ActionIds.approve);
      await t.bot.settle();
      const grant = (await request(id)).grant!;
      assert.equal(grant.status, "ACTIVE");
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My access")), new RegExp(grant.id));
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My requests")), /no pending requests/);
      assert.equal(waitingBlocks(home(USERS.sec), id).length, 0);

      // The expiry, through the test clock's sweep.
      t.clock.advance(2 * HOUR + 1000);
      assert.deepEqual((await t.bot.sweep()).grantsExpired, [grant.id]);
      await t.bot.settle();
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My access")), /no active access/);
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "Recent history")), /granted, expired/);

      // Only people who opened the tab are published to; sre2 never did.
      assert.equal(t.sim.homeView(USERS.sre2), undefined);
      assert.ok(t.sim.callsTo("views.publish").every((call) => (call.params as { user_id?: string }).user_id !== USERS.sre2));
      assert.ok(home(USERS.eng).history.length >= 5, "the requester's tab was re-published at each step");
    });

    test("inline Approve records a vote whose ledger `seen` is the Home blocks of that request, with their sha256", async () => {
      const id = await openRequest("prod-db 2h fixing INC-4411");
      const other = await openRequest("dual-control 1h pairing on INC-1");
      const view = await openHome(USERS.sre1);
      assert.ok(view);
      const shown = waitingBlocks(view, id);
      assert.equal(shown.length, 2);

      const { dms } = await clickHome(USERS.sre1, ActionIds.approve, id, view);
      assert.match(dms.join("\n"), /Your approval of .* counted toward sre-leads/);
      const entry = JSON.parse((await ledger()).filter((row) => row.type === "vote.approved").at(-1)!.body);
      assert.equal(entry.actor.user_id, USERS.sre1);
      assert.deepEqual(entry.data.seen.blocks, shown);
      assert.equal(entry.data.seen.sha256, sha256OfCanonical(shown));
      assert.doesNotMatch(JSON.stringify(entry.data.seen.blocks), new RegExp(other), "only that request's blocks");
      assert.equal((await request(id)).votes.length, 1);

      // The tab was refreshed; a second click from the old view is the same no-op as on a message.
      assert.equal(waitingBlocks(home(USERS.sre1), id).length, 0);
      const repeat = await clickHome(USERS.sre1, ActionIds.approve, id, view);
      assert.match(repeat.dms.join("\n"), /already voted/);
      assert.equal((await request(id)).votes.length, 1);

      // A payload whose view lacks that request's blocks is refused, never recorded with `seen: null`.
      await openHome(USERS.sec);
      const secView = home(USERS.sec);
      const stripped = { ...secView, blocks: (secView.blocks as Block[]).filter((block) => !(block.block_id?.startsWith(`${HOME_WAITING_BLOCK_PREFIX}${id}:`) && block.type === "section")) };
      const refused = await clickHome(USERS.sec, ActionIds.approve, id, stripped as SimHomeView);
      assert.match(refused.dms.join("\n"), /didn't match what your Home tab shows/);
      assert.equal((await request(id)).votes.length, 1);
    });

    test("Deny opens the deny modal; its submission records the Home blocks as seen", async () => {
      const id = await openRequest("prod-db 2h fixing INC-4411");
      const view = await openHome(USERS.sec);
      assert.ok(view);
      const shown = waitingBlocks(view, id);
      await clickHome(USERS.sec, ActionIds.deny, id, view);
      const modal = t.sim.views().find((candidate) => candidate.callback_id === CallbackIds.denyModal);
      assert.ok(modal, "deny modal opened");
      assert.equal(modal.private_metadata, id);
      const body = viewSubmissionPayload({ user: { id: USERS.sec }, view: { ...modal, state: stateValues({ [BlockIds.denyReason]: { [InputActionIds.denyReason]: "not during the freeze" } }) } });
      assert.equal((await postToBot(t.botUrl, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" })).status, 200);
      await t.bot.settle();
      assert.equal((await request(id)).status, "DENIED");
      const entry = JSON.parse((await ledger()).at(-1)!.body);
      assert.equal(entry.type, "request.denied");
      assert.deepEqual(entry.data.seen.blocks, shown);
      assert.equal(entry.data.seen.sha256, sha256OfCanonical(shown));
      assert.equal(waitingBlocks(home(USERS.sec), id).length, 0, "the tab no longer offers it");
    });

    test("Cancel, Extend, I'm done and Request access work from the Home tab", async () => {
      const granted = await openRequest("staging-admin 2h deploy check");
      await t.click(USERS.sre1, t.approvalMessage(granted), ActionIds.approve);
      const pending = await openRequest("prod-db 2h fixing INC-4411");
      const grant = (await request(granted)).grant!;
      await openHome(USERS.eng);

      const cancel = await clickHome(USERS.eng, ActionIds.cancel, pending);
      assert.match(cancel.dms.join("\n"), new RegExp(`You cancelled ${pending}`));
      assert.equal((await request(pending)).status, "CANCELLED");
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My requests")), /no pending requests/);

      await clickHome(USERS.eng, ActionIds.extend, grant.id);
      const extendModal = t.sim.views().find((candidate) => candidate.callback_id === CallbackIds.extendModal);
      assert.ok(extendModal, "extend modal opened");
      assert.equal(extendModal.private_metadata, grant.id);

      const done = await clickHome(USERS.eng, ActionIds.release, grant.id);
      assert.match(done.dms.join("\n"), /Your access to `staging-admin` has ended/);
      assert.equal((await request(granted)).grant!.status, "REVOKED");
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "My access")), /no active access/);
      assert.match(JSON.stringify(sectionOf(home(USERS.eng), "Recent history")), /granted, ended early/);

      await clickHome(USERS.eng, ActionIds.openRequestModal);
      const requestModal = t.sim.views().find((candidate) => candidate.callback_id === CallbackIds.requestModal);
      assert.ok(requestModal, "the /access modal opened");
      assert.match(JSON.stringify(requestModal.blocks), /prod-db/);

      // Someone else's Cancel (a forged view) is refused as `/access cancel` refuses it.
      const other = await openRequest("prod-db 1h another one");
      const forged = await clickHome(USERS.eng2, ActionIds.cancel, other, home(USERS.eng));
      assert.match(forged.dms.join("\n"), new RegExp(`You have no request ${other}`));
      assert.equal((await request(other)).status, "PENDING");
    });

    test("a non-approver's click is refused exactly as from the channel message", async () => {
      const id = await openRequest("prod-db 2h fixing INC-4411");
      const view = await openHome(USERS.sec);
      assert.ok(view);
      const before = (await ledger()).length;
      // sec leaves the security group after the tab was rendered: the click is re-checked live.
      t.sim.setUsergroup("S0SECURITY", [USERS.sre3]);
      const fromHome = await clickHome(USERS.sec, ActionIds.approve, id, view);
      const fromMessage = await t.click(USERS.sec, t.approvalMessage(id), ActionIds.approve);
      assert.match(replyText(fromMessage.reply), /not an approver for `prod-db`/);
      assert.deepEqual(fromHome.dms, [replyText(fromMessage.reply)]);
      // An outsider replaying an approver's tab is refused the same way.
      const outsider = await clickHome(USERS.outsider, ActionIds.approve, id, view);
      const outsiderMessage = await t.click(USERS.outsider, t.approvalMessage(id), ActionIds.approve);
      assert.deepEqual(outsider.dms, [replyText(outsiderMessage.reply)]);
      assert.equal((await ledger()).length, before);
      assert.equal((await request(id)).votes.length, 0);
    });

    test("a hostile reason is escaped, and the Messages tab publishes nothing", async () => {
      const id = await openRequest("prod-db 1h <!channel> *x*");
      const view = await openHome(USERS.sre1);
      assert.ok(view);
      const [summary] = waitingBlocks(view, id);
      assert.ok(!summary!.text!.text.includes("<!channel>"), summary!.text!.text);
      assert.match(summary!.text!.text, /&lt;!channel&gt; \*\u200dx\*\u200d/);
      const mine = await openHome(USERS.eng);
      assert.ok(!textOf(mine!).includes("<!channel>"));
      assert.match(JSON.stringify(sectionOf(mine!, "Recent history")), /&lt;!channel&gt;/);

      const publishes = t.sim.callsTo("views.publish").length;
      assert.equal(await openHome(USERS.sre2, "messages"), undefined);
      assert.equal(t.sim.callsTo("views.publish").length, publishes);
    });
  });
}
