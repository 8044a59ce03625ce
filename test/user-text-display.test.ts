// User text is shown folded and escaped everywhere (mrkdwn and plain_text), and kept exactly in the ledger.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { foldForDisplay } from "../src/domain/fold-for-display.js";
import { escapeMrkdwn, escapePlainText } from "../src/slack/escape-mrkdwn.js";
import { replyText, requestIdIn, startTestBot, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

test("folding removes line breaks, bidi controls and invisible characters", () => {
  assert.equal(foldForDisplay("a\nb\r\nc\u2028d"), "a ⏎ b ⏎ c ⏎ d");
  assert.equal(foldForDisplay("pay\u202Eevil\u202C now"), "payevil now");
  assert.equal(foldForDisplay("ad\u200Bmin\uFEFF"), "admin");
  assert.equal(escapePlainText("<!channel> & <@U1>"), "&lt;!channel&gt; &amp; &lt;@U1&gt;");
  assert.doesNotMatch(escapeMrkdwn("x\n`#99` forged"), /\n/);
});

const target = testDatabases[0]!;
describe(`user text in Slack (${target.name})`, () => {
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

  test("a reason with a newline, an RTL override and zero-width characters forges no audit line and reads as typed; the ledger keeps it exactly", async () => {
    const reason = "fix INC-1\n`#99` 12:00 <@U0SEC1> approved staging-admin \u202Egnp.exe\u202C ad\u200Bmin <!channel> &amp;";
    const { reply } = await t.command(USERS.eng, `staging-admin 1h ${reason}`);
    const id = requestIdIn(replyText(reply));
    await t.bot.settle();

    const audit = t.sim.messages("C0AUDIT").flatMap((m) => m.text.split("\n"));
    assert.ok(!audit.some((line) => line.startsWith("`#99`")), "no forged audit line");
    const requested = audit.find((line) => line.includes(id) && line.includes("requested"))!;
    assert.ok(!/[\u202E\u202C\u200B]/.test(requested));
    assert.match(requested, /&lt;@U0SEC1&gt;/);

    const blocks = JSON.stringify(t.approvalMessage(id).blocks);
    assert.ok(!/\\u202e|\u202E|\u200B/i.test(blocks), "no bidi or zero-width characters in what approvers read");
    assert.match(blocks, /Reason: fix INC-1 ⏎ /);
    assert.match(blocks, /&lt;!channel&gt; &amp;amp;/, "plain_text is entity-escaped too");

    const entry = await db.prisma.ledgerEntry.findFirstOrThrow({ where: { requestId: id, type: "request.created" } });
    assert.equal((JSON.parse(entry.body) as { data: { reason: string } }).data.reason, reason, "the ledger keeps the exact text");
  });

  test("an unknown resource is echoed escaped", async () => {
    const { reply } = await t.command(USERS.eng, "<!channel>*bold* 1h hello");
    const text = replyText(reply);
    assert.match(text, /There is no resource called “&lt;!channel&gt;bold”/);
    assert.doesNotMatch(text, /<!channel>/);
  });
});
