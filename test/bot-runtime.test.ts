import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { createLogger } from "../src/logging/create-logger.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import type { Database } from "../src/db/open-database.js";
import { replyText, requestIdIn, SIGNING_SECRET, startTestBot, USERS } from "./support/start-test-bot.js";
import { openTestPglite } from "./support/test-databases.js";

/** A stream that collects what the logger writes, one JSON line per entry. */
function captureLines(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, sink };
}

describe("the running bot", () => {
  let db: Database;
  before(async () => {
    db = await openTestPglite();
  });
  after(async () => {
    await db.close();
  });

  test("logs are JSON with a child logger per Slack request, and never contain a token or the signing secret", async () => {
    const { lines, sink } = captureLines();
    const t = await startTestBot(db, { log: createLogger("debug", sink) });
    try {
      const { reply } = await t.command(USERS.eng, "staging-admin 1h log check");
      const id = requestIdIn(replyText(reply));
      await t.click(USERS.outsider, t.approvalMessage(id), ActionIds.approve);
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
    } finally {
      await t.stop();
    }
    assert.ok(lines.length > 10, `debug logging produced ${lines.length} lines`);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const all = lines.join("\n");
    assert.ok(!/xox[bp]-[0-9]/.test(all), "no bot token in the logs");
    assert.ok(!all.includes(t.sim.botToken), "not the simulator's bot token either");
    assert.ok(!all.includes(SIGNING_SECRET), "no signing secret in the logs");
    const perRequest = parsed.filter((entry) => typeof entry.slackRequest === "string");
    assert.ok(perRequest.some((entry) => entry.code === "NOT_AN_APPROVER" && entry.user === USERS.outsider && entry.action === ActionIds.approve), "the refused click is logged with its request context");
  });

  test("at info, a request can be followed through the log by its id: filed, each vote, granted, revoked, and every job run", async () => {
    const { lines, sink } = captureLines();
    const t = await startTestBot(db, { log: createLogger("info", sink) });
    let id = "";
    try {
      const { reply } = await t.command(USERS.eng, "staging-admin 1h follow me in the log");
      id = requestIdIn(replyText(reply));
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      await t.bot.settle();
      const grant = await db.prisma.grant.findUniqueOrThrow({ where: { requestId: id } });
      await t.command(USERS.eng, `revoke ${grant.id}`);
      await t.bot.settle();
    } finally {
      await t.stop();
    }
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; msg: string });
    const aboutRequest = parsed.filter((entry) => entry.requestId === id && entry.level === 30);
    const events = aboutRequest.filter((entry) => typeof entry.event === "string").map((entry) => `${String(entry.event)}: ${entry.msg}`);
    const ledger = (await db.prisma.ledgerEntry.findMany({ where: { requestId: id }, orderBy: { seq: "asc" } })).map((entry) => entry.type);
    assert.deepEqual(events.map((line) => line.split(":")[0]), ledger, "one info line per ledger entry of the request, in order");
    assert.ok(events.includes("request.created: access requested"), events.join("\n"));
    assert.ok(events.includes("vote.approved: approval recorded"));
    assert.ok(events.includes("grant.activated: access granted"));
    assert.ok(events.some((line) => /^grant\.revoked: /.test(line)), "the early end is logged");
    const vote = aboutRequest.find((entry) => entry.event === "vote.approved")!;
    assert.equal(vote.actor, USERS.sre1);
    assert.equal(vote.resource, "staging-admin");
    assert.match(String(vote.seq), /^\d+$/);
    const jobs = aboutRequest.filter((entry) => entry.msg === "job done");
    assert.ok(jobs.some((entry) => entry.kind === "post-request") && jobs.some((entry) => entry.kind === "notify"), `job runs with the request's id: ${jobs.map((entry) => entry.kind).join(", ")}`);
    assert.ok(jobs.every((entry) => typeof entry.ms === "number" && typeof entry.jobId === "string"));
  });

  test("LOG_LEVEL is the one switch: Bolt's start-up defaults do not override it", async () => {
    const { lines, sink } = captureLines();
    const t = await startTestBot(db, { log: createLogger("warn", sink) });
    try {
      await t.command(USERS.eng, "staging-admin 1h quiet please");
    } finally {
      await t.stop();
    }
    const levels = lines.map((line) => (JSON.parse(line) as { level: number }).level);
    assert.ok(levels.every((level) => level >= 40), `only warn and above at LOG_LEVEL=warn, got levels ${[...new Set(levels)].join(", ")}`);
  });

  test("GET /healthz is 200 when the database answers and migrations are applied", async () => {
    const t = await startTestBot(db);
    try {
      const response = await fetch(`http://127.0.0.1:${t.bot.port}/healthz`);
      assert.equal(response.status, 200);
      const report = (await response.json()) as { ok: boolean; database: boolean; pendingMigrations: string[]; slack: { ok: boolean; lastOkAt: string | null } };
      assert.deepEqual({ ...report, slack: { ok: report.slack.ok } }, { ok: true, database: true, pendingMigrations: [], slack: { ok: true } });
      assert.ok(report.slack.lastOkAt, "Slack answered the health probe");
      const ready = await fetch(`http://127.0.0.1:${t.bot.port}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { ok: boolean }).ok, true);
      const live = await fetch(`http://127.0.0.1:${t.bot.port}/livez`);
      assert.deepEqual([live.status, await live.json()], [200, { ok: true }]);
    } finally {
      await t.stop();
    }
  });

  test("at start-up the ledger head is published to the audit channel, recorded, and checked by `audit verify`", async () => {
    const first = await startTestBot(db);
    const sim = first.sim;
    const { reply } = await first.command(USERS.eng, "staging-admin 1h checkpoint check");
    await first.click(USERS.sre1, first.approvalMessage(requestIdIn(replyText(reply))), ActionIds.approve);
    await first.bot.stop();
    const head = await db.prisma.ledgerEntry.findFirstOrThrow({ orderBy: { seq: "desc" } });

    const second = await startTestBot(db, { sim });
    try {
      const posted = sim.messages("C0AUDIT").find((message) => message.text.includes(`Ledger checkpoint: seq ${head.seq} hash ${head.hash}`));
      assert.ok(posted, "checkpoint posted to the audit channel");
      const stored = await db.prisma.ledgerCheckpoint.findFirstOrThrow({ where: { seq: head.seq } });
      assert.equal(stored.hash, head.hash);
      assert.equal(stored.channelId, "C0AUDIT");
      assert.equal(stored.messageTs, posted.ts);

      const logs: string[] = [];
      const out = { log: (text: string) => logs.push(text), error: (text: string) => logs.push(text) };
      assert.equal(await runAuditCli(["verify"], out, { database: db, progress: null }), 0, logs.join("\n"));
      assert.match(logs.join("\n"), /checkpoint/i);
      logs.length = 0;
      assert.equal(await runAuditCli(["verify", "--checkpoint", `${head.seq}:${"0".repeat(64)}`], out, { database: db, progress: null }), 1, logs.join("\n"));
      assert.match(logs.join("\n"), /checkpoint-mismatch/);
    } finally {
      await second.stop();
      await sim.close();
    }
  });
});
