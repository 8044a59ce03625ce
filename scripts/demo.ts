/**
 * `npm run demo`: the whole product offline in half a minute. Starts the local Slack
 * simulator, the real bot (HTTP mode, signed requests) on a throw-away embedded database,
 * and walks one request from `/access` to expiry, printing what each person sees in Slack
 * and what the ledger recorded. Nothing leaves this machine.
 */
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { renderSeenBlocks } from "../src/audit/render-seen-blocks.js";
import { pino } from "pino";
import { openDatabase } from "../src/db/open-database.js";
import { createLogger } from "../src/logging/create-logger.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { replyText, requestIdIn, startTestBot, USERS } from "../test/support/start-test-bot.js";

const say = (text = "") => process.stdout.write(`${text}\n`);
const indent = (lines: string[]) => lines.map((line) => `    │ ${line}`).join("\n");

const db = await openDatabase({ target: { kind: "pglite", dataDir: ":memory:" }, migrate: true });
// The bot's own JSON logs go to stderr, so stdout reads as the story.
const t = await startTestBot(db, { log: createLogger(process.env.LOG_LEVEL ?? "warn", pino.destination(2)) });
try {
  say(`accessbot is running on port ${t.bot.port}, talking to a local Slack simulator at ${t.sim.apiUrl}`);
  say("Policy: test/fixtures/test-policy.yml (prod-db needs 2 of sre-leads + 1 of security)\n");

  say(`▶ ${USERS.eng} types: /access prod-db 2h fixing INC-4411`);
  const created = await t.command(USERS.eng, "prod-db 2h fixing INC-4411");
  say(`  ephemeral reply: ${replyText(created.reply)}`);
  const id = requestIdIn(replyText(created.reply));
  say(`  posted to #access-approvals and DMed to ${t.sim.callsTo("conversations.open").length} approvers:`);
  say(indent(renderSeenBlocks(t.approvalMessage(id).blocks)));

  for (const [who, note] of [[USERS.eng, "the requester tries to approve"], [USERS.sre3, "in sre-leads AND security"], [USERS.sre1, ""], [USERS.sre2, "the matching moves SRE3 to security"]] as const) {
    say(`\n▶ ${who} clicks Approve${note ? ` (${note})` : ""}`);
    const click = await t.click(who, t.approvalMessage(id), ActionIds.approve);
    say(`  ephemeral reply: ${replyText(click.reply)}`);
  }
  say("\n  every copy of the message now reads:");
  say(indent(renderSeenBlocks(t.approvalMessage(id).blocks)));

  const grant = await db.prisma.grant.findUniqueOrThrow({ where: { requestId: id } });
  say(`\n▶ the expiry job runs after ${grant.expiresAt.toISOString()}`);
  await t.bot.sweep(new Date(grant.expiresAt.getTime() + 1000));
  await t.bot.settle();
  say(`  the requester's DMs: ${t.sim.messages(t.sim.dmChannelFor(USERS.eng)).map((m) => m.text).join("\n                      ")}`);

  say("\n▶ #access-audit, mirrored from the ledger in order:");
  say(indent(t.sim.messages("C0AUDIT").flatMap((m) => m.text.split("\n"))));

  const out = { log: (text: string) => say(`  ${text}`), error: (text: string) => say(`  ${text}`) };
  say("\n▶ npx accessbot audit verify");
  await runAuditCli(["verify"], out, { database: db, progress: null });
  say(`\n▶ npx accessbot audit show ${id}`);
  await runAuditCli(["show", id], out, { database: db, progress: null });
} finally {
  await t.stop();
  await db.close();
}
