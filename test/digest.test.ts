// The audit digest's numbers on a seeded week of known data (exact counts, percentiles, hours,
// top lists, the previous week beside it, the ledger verified), on PGlite and PostgreSQL; the
// period arithmetic across a daylight-saving change; and `accessbot digest` on the command line.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sha256OfCanonical } from "../src/ledger/ledger-hash.js";
import { after, before, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { computeDigestFigures } from "../src/db/compute-digest-figures.js";
import { periodBefore, periodOfDates, previousWeek } from "../src/domain/digest-period.js";
import { runDigestCli } from "../src/digest/run-digest-cli.js";
import type { DigestReport } from "../src/digest/build-digest-report.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { buildDigestMessage } from "../src/slack/blocks/build-digest-message.js";
import { renderDigestChart } from "../src/digest/render-digest-chart.js";
import { computeDigest } from "../src/digest/compute-digest.js";
import { createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { POLICY_FILE, replyText, requestIdIn, startTestBot, TestClock, USERS } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const TZ = "Europe/Berlin";
const SYSTEM = { kind: "system" as const, name: "accessbot" };
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Monday 2026-11-23 10:00 in Berlin (CET, UTC+1). */
const MONDAY_10 = Date.UTC(2026, 10, 23, 9, 0, 0);

test("digest periods are whole local weeks and days, also across a daylight-saving change", () => {
  // Thursday 2026-12-03: last week is Mon 2026-11-23 00:00 to Mon 2026-11-30 00:00, Berlin time.
  const week = previousWeek(new Date("2026-12-03T12:00:00Z"), TZ);
  assert.equal(week.since.toISOString(), "2026-11-22T23:00:00.000Z");
  assert.equal(week.until.toISOString(), "2026-11-29T23:00:00.000Z");
  // On Monday 00:30 local the week that just ended is "last week".
  assert.equal(previousWeek(new Date("2026-11-29T23:30:00Z"), TZ).since.toISOString(), "2026-11-22T23:00:00.000Z");
  // The week of the spring change (2027-03-28) has 167 hours; the one before it 168.
  const dst = periodOfDates("2027-03-22", "2027-03-28", TZ);
  assert.equal((dst.until.getTime() - dst.since.getTime()) / HOUR, 167);
  const before = periodBefore(dst);
  assert.equal(before.since.toISOString(), "2027-03-14T23:00:00.000Z");
  assert.equal(before.until.toISOString(), dst.since.toISOString());
  assert.throws(() => periodOfDates("2026-11-31", "2026-12-01", TZ), /not a date/);
  assert.throws(() => periodOfDates("2026-11-30", "2026-11-01", TZ), /before/);
});

for (const target of testDatabases) {
  describe(`the audit digest (${target.name})`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
      await resetDatabase(db);
      await seedWeek(db);
    });
    after(async () => {
      await db.close();
    });

    test("the figures of a seeded week are exact, and the week before is computed the same way", async () => {
      const week = periodOfDates("2026-11-23", "2026-11-29", TZ);
      const now = new Date(MONDAY_10 + 9 * 24 * HOUR);
      const figures = await computeDigestFigures(db.prisma, week, now);
      assert.equal(figures.requests, 6, "R8 at Monday 00:00 of the next week is not in it");
      assert.deepEqual([figures.approved, figures.denied, figures.expired, figures.cancelled, figures.breakGlass], [3, 1, 1, 1, 1]);
      // Decisions of R1, R2, R3 (the break-glass one is excluded): 60, 120, 300 s.
      assert.equal(figures.timeToDecisionP50Seconds, 120);
      assert.equal(figures.timeToDecisionP95Seconds, 282); // 120 + 0.9 × (300 − 120)
      assert.equal(figures.grantedHours, 3.5); // 2 h + 1 h + the break-glass grant revoked after 30 min
      assert.deepEqual(figures.longestGrants.map((g) => [g.grantId, g.hours]), [["GR-DIGEST01", 2], ["GR-DIGEST02", 1], ["GR-DIGEST06", 0.5]]);
      assert.deepEqual(figures.topResources, [{ resource: "prod-db", requests: 4 }, { resource: "staging", requests: 2 }]);
      assert.deepEqual(figures.topRequesters.map((r) => [r.userId, r.requests]), [["U0DIG1", 2], ["U0DIG2", 2], ["U0DIG3", 2]]);
      assert.deepEqual(figures.topApprovers, [
        { userId: "U0APP1", name: "approver one", approvals: 2, medianSecondsToApprove: 90 },
        { userId: "U0APP2", name: "approver two", approvals: 1, medianSecondsToApprove: 90 },
      ]);
      assert.deepEqual(figures.breakGlassUses, [{ requestId: "AR-DIGEST06", userId: "U0DIG3", resource: "prod-db", review: "OPEN", overdue: true }]);
      assert.deepEqual(figures.revokeFailures, { attempts: 2, grants: 1 });
      assert.deepEqual(figures.alerts.map((a) => a.type), ["alert.rubber_stamp"]);
      assert.deepEqual(figures.perDay, [
        { day: "2026-11-23", approved: 3, denied: 0, expired: 0, other: 0, medianDecisionSeconds: 90 },
        { day: "2026-11-24", approved: 0, denied: 1, expired: 1, other: 1, medianDecisionSeconds: 300 },
      ]);

      const previous = await computeDigestFigures(db.prisma, periodBefore(week), now);
      assert.deepEqual([previous.requests, previous.approved, previous.timeToDecisionP50Seconds, previous.grantedHours], [1, 1, 600, 0]);
    });

    test("the chart renders to a PNG with the bundled font, for a busy week and for an empty one", async () => {
      const report = await computeDigest(db.prisma, createPrismaLedgerQuery(db.prisma), periodOfDates("2026-11-23", "2026-11-29", TZ), new Date(MONDAY_10 + 9 * 24 * HOUR));
      for (const subject of [report, { ...report, per_day: [] }]) {
        const png = await renderDigestChart(subject);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
        const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
        assert.ok(width > 1000 && height > 700, `rendered at twice the spec's size: ${width}×${height}`);
      }
    });

    test("`accessbot digest --format json` has every field scripts rely on; --print reads as text", async () => {
      const lines: string[] = [];
      const out = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(`ERR ${text}`) };
      const code = await runDigestCli(["--since", "2026-11-23", "--until", "2026-11-29", "--timezone", TZ, "--format", "json"], out, { database: db });
      assert.equal(code, 0, lines.join("\n"));
      const report = JSON.parse(lines[0]!) as DigestReport;
      for (const key of ["requests", "approved", "denied", "expired", "cancelled", "break_glass", "time_to_decision_p50_seconds", "time_to_decision_p95_seconds", "granted_hours", "top_resources", "top_requesters", "top_approvers", "alerts", "ledger"]) {
        assert.ok(key in report, `the JSON has ${key}`);
      }
      assert.equal(report.requests, 6);
      assert.equal(report.previous.requests, 1);
      assert.deepEqual({ verified: report.ledger.verified, entries: report.ledger.entries, head: report.ledger.head_seq }, { verified: true, entries: 3, head: 3 });

      lines.length = 0;
      assert.equal(await runDigestCli(["--since", "2026-11-23", "--until", "2026-11-29", "--timezone", TZ], out, { database: db }), 0);
      const text = lines.join("\n");
      assert.match(text, /Requests {6}6 {2}\(\+5 vs 1\)/);
      assert.match(text, /^Access digest 2026-11-23 to 2026-11-29 \(Europe\/Berlin/);
      assert.match(text, /Time to decision {2}median 2\.0 min \(10\.0 min\), 95th percentile 4\.7 min \(10\.0 min\)/);
      assert.match(text, /AR-DIGEST06 {2}prod-db {2}U0DIG3 {2}review OPEN {2}OVERDUE/);
      assert.match(text, /Ledger: verified 3 entries, intact; head seq 3/);

      lines.length = 0;
      assert.equal(await runDigestCli(["--since", "2026-11-23"], out, { database: db }), 2);
      assert.match(lines.join("\n"), /Give both --since and --until/);
      lines.length = 0;
      assert.equal(await runDigestCli(["--since", "2026-11-23", "--until", "2026-11-29", "--timezone", "Mars/Olympus"], out, { database: db }), 2);
      assert.match(lines.join("\n"), /Unknown timezone/);
    });
  });
}

async function seedWeek(db: Database): Promise<void> {
  const at = (ms: number) => new Date(ms);
  const request = (n: number, fields: { requester: string; resource: string; status: "APPROVED" | "DENIED" | "EXPIRED" | "CANCELLED"; createdAt: number; decidedAfterMs?: number; breakGlass?: boolean }) => ({
    id: `AR-DIGEST0${n}`,
    teamId: "T0DIGEST",
    requesterId: fields.requester,
    requesterName: fields.requester.toLowerCase(),
    resource: fields.resource,
    durationSeconds: 3600,
    reason: `digest seed ${n}`,
    status: fields.status,
    policySha256: "0".repeat(64),
    idempotencyKey: `digest-${n}`,
    createdAt: at(fields.createdAt),
    pendingUntil: at(fields.createdAt + 24 * HOUR),
    decidedAt: fields.decidedAfterMs === undefined ? null : at(fields.createdAt + fields.decidedAfterMs),
    breakGlass: fields.breakGlass ?? false,
  });
  const day2 = MONDAY_10 + 24 * HOUR;
  await db.prisma.accessRequest.createMany({
    data: [
      request(1, { requester: "U0DIG1", resource: "prod-db", status: "APPROVED", createdAt: MONDAY_10, decidedAfterMs: MIN }),
      request(2, { requester: "U0DIG1", resource: "prod-db", status: "APPROVED", createdAt: MONDAY_10 + HOUR, decidedAfterMs: 2 * MIN }),
      request(3, { requester: "U0DIG2", resource: "staging", status: "DENIED", createdAt: day2, decidedAfterMs: 5 * MIN }),
      request(4, { requester: "U0DIG2", resource: "staging", status: "EXPIRED", createdAt: day2 + HOUR }),
      request(5, { requester: "U0DIG3", resource: "prod-db", status: "CANCELLED", createdAt: day2 + 2 * HOUR }),
      request(6, { requester: "U0DIG3", resource: "prod-db", status: "APPROVED", createdAt: MONDAY_10 + 2 * HOUR, decidedAfterMs: 0, breakGlass: true }),
      // The week before, and the first instant of the week after.
      request(7, { requester: "U0DIG1", resource: "prod-db", status: "APPROVED", createdAt: MONDAY_10 - 7 * 24 * HOUR, decidedAfterMs: 10 * MIN }),
      request(8, { requester: "U0DIG1", resource: "prod-db", status: "CANCELLED", createdAt: Date.UTC(2026, 10, 29, 23, 0, 0) }),
    ],
  });
  const grant = (n: number, status: "ACTIVE" | "EXPIRED" | "REVOKED", activatedAt: number, hours: number, endedAfterMs?: number) => ({
    id: `GR-DIGEST0${n}`,
    requestId: `AR-DIGEST0${n}`,
    userId: n === 6 ? "U0DIG3" : "U0DIG1",
    resource: "prod-db",
    status,
    activatedAt: at(activatedAt),
    expiresAt: at(activatedAt + hours * HOUR),
    endedAt: endedAfterMs === undefined ? null : at(activatedAt + endedAfterMs),
  });
  await db.prisma.grant.createMany({
    data: [grant(1, "EXPIRED", MONDAY_10 + MIN, 2), grant(2, "ACTIVE", MONDAY_10 + HOUR + 2 * MIN, 1), grant(6, "REVOKED", MONDAY_10 + 2 * HOUR, 4, 30 * MIN)],
  });
  await db.prisma.vote.createMany({
    data: [
      { requestId: "AR-DIGEST01", voterId: "U0APP1", voterName: "approver one", decision: "APPROVE", ledgerSeq: 1n, createdAt: at(MONDAY_10 + MIN) },
      { requestId: "AR-DIGEST02", voterId: "U0APP1", voterName: "approver one", decision: "APPROVE", ledgerSeq: 1n, createdAt: at(MONDAY_10 + HOUR + 2 * MIN) },
      { requestId: "AR-DIGEST02", voterId: "U0APP2", voterName: "approver two", decision: "APPROVE", ledgerSeq: 1n, createdAt: at(MONDAY_10 + HOUR + 90_000) },
      { requestId: "AR-DIGEST03", voterId: "U0APP2", voterName: "approver two", decision: "DENY", ledgerSeq: 1n, createdAt: at(day2 + 5 * MIN) },
    ],
  });
  await db.prisma.breakGlassReview.create({ data: { requestId: "AR-DIGEST06", reviewGroup: "security", status: "OPEN", dueAt: at(MONDAY_10 + 26 * HOUR) } });
  for (const [type, ts] of [["grant.deprovision_failed", MONDAY_10 + 3 * HOUR], ["grant.deprovision_failed", MONDAY_10 + 4 * HOUR], ["alert.rubber_stamp", MONDAY_10 + 5 * HOUR]] as const) {
    await db.prisma.$transaction((tx) => appendLedgerEntry(tx, { type, requestId: "AR-DIGEST01", subjectId: "U0DIG1", resource: "prod-db", actor: SYSTEM, data: {} }, new Date(ts)));
  }
}

for (const target of testDatabases) {
  describe(`the weekly digest in Slack (${target.name})`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });

    test("the cron's job posts last week's digest once, however many replicas ask, with its chart and the week's ledger as CSV", async () => {
      await resetDatabase(db);
      // Wednesday 2026-11-25, noon in Berlin.
      const clock = new TestClock(new Date("2026-11-25T11:00:00Z"));
      const t = await startTestBot(db, { clock });
      try {
        const { reply } = await t.command(USERS.eng, "staging-admin 1h digest week");
        const id = requestIdIn(replyText(reply));
        await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
        await t.command(USERS.eng, "staging-admin 1h another one");
        await t.bot.settle();
        const weekEntries = await db.prisma.ledgerEntry.count();

        clock.advance(6 * 24 * 3600 * 1000); // Tuesday of the next week
        await Promise.all([t.bot.scheduleDigest(), t.bot.scheduleDigest(), t.bot.scheduleDigest()]);
        await t.bot.settle();

        const digests = t.sim.messages("C0AUDIT").filter((message) => message.text.startsWith("Access digest"));
        assert.equal(digests.length, 1, "one digest, however many asked");
        const [digest] = digests;
        assert.match(digest!.text, /^Access digest 2026-11-23 to 2026-11-29: 2 requests, 1 approved, 0 denied; ledger intact/);
        assert.ok((digest!.blocks ?? []).length <= 50);
        assert.match(JSON.stringify(digest!.blocks), /Ledger verified: \d+ entries, intact/);
        // No review group in this policy: nobody is asked to sign it off.
        assert.ok(!JSON.stringify(digest!.blocks).includes(ActionIds.digestSignOff));

        // The chart: a PNG uploaded through files.getUploadURLExternal → upload → completeUploadExternal,
        // and shown in the message by an image block.
        const image = (digest!.blocks ?? []).find((block) => (block as { type?: string }).type === "image") as { slack_file: { id: string }; alt_text: string } | undefined;
        assert.ok(image, "the digest shows its chart");
        const files = t.sim.files();
        const chart = files.find((file) => file.id === image.slack_file.id);
        assert.ok(chart?.completed && chart.filename === "access-digest-2026-11-23-to-2026-11-29.png");
        assert.deepEqual([...chart.bytes!.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
        assert.deepEqual(chart.shares, [], "the chart is a private file the message shows");

        // The CSV: the week's ledger from the audit exporter, shared in the digest's thread.
        const csv = files.find((file) => file.filename.endsWith("-ledger.csv"));
        assert.ok(csv?.completed);
        assert.deepEqual(csv.shares.map((share) => ({ channel: share.channel, threadTs: share.threadTs })), [{ channel: "C0AUDIT", threadTs: digest!.ts }]);
        const rows = csv.bytes!.toString("utf8").split("\r\n").filter((line) => line !== "");
        assert.ok(rows[0]!.startsWith("\ufeffseq,"), "the audit export's header, with its BOM");
        assert.equal(rows.length - 1, weekEntries, "every entry of the week, none of the next");
        assert.ok(rows.some((row) => row.includes("vote.approved")));

        const posted = (await db.prisma.ledgerEntry.findMany({ where: { type: "digest.posted" } })).map((entry) => JSON.parse(entry.body) as { data: { since: string; requests: number; ts: string; sha256: string; chart_file_id: string } });
        assert.equal(posted.length, 1);
        assert.equal(posted[0]!.data.since, "2026-11-22T23:00:00.000Z");
        assert.equal(posted[0]!.data.requests, 2);
        assert.equal(posted[0]!.data.ts, digest!.ts);
        assert.equal(posted[0]!.data.chart_file_id, chart.id);
        const row = await db.prisma.digestReview.findUniqueOrThrow({ where: { since: new Date("2026-11-22T23:00:00.000Z") } });
        assert.equal(posted[0]!.data.sha256, createHash("sha256").update(row.report).digest("hex"), "the ledger names the report that was posted");

        // The job is done: asking again later changes nothing.
        await t.bot.scheduleDigest();
        await t.bot.settle();
        assert.equal(t.sim.messages("C0AUDIT").filter((message) => message.text.startsWith("Access digest")).length, 1);
        assert.equal(t.sim.files().length, 2);
      } finally {
        await t.stop();
      }
    });

    test("a retry after a failed upload resumes where it stopped: one chart, one message, one CSV", async () => {
      await resetDatabase(db);
      const clock = new TestClock(new Date("2026-11-25T11:00:00Z"));
      const t = await startTestBot(db, { clock });
      try {
        await t.command(USERS.eng, "staging-admin 1h digest retry");
        clock.advance(6 * 24 * 3600 * 1000);
        // The chart's upload fails twice (two attempts of the job); the third goes through to the end.
        t.sim.failNext("files.completeUploadExternal", "internal_error", { times: 2 });
        await t.bot.scheduleDigest();
        await t.bot.settle();
        const retryUntil = async (done: () => boolean) => {
          for (let round = 0; round < 20 && !done(); round++) {
            clock.advance(15 * 60 * 1000); // past the job's backoff
            await t.bot.sweep();
            await t.bot.settle();
          }
        };
        await retryUntil(() => t.sim.files().filter((file) => file.completed).length >= 2);
        assert.equal(t.sim.messages("C0AUDIT").filter((message) => message.text.startsWith("Access digest")).length, 1);
        assert.equal(t.sim.callsTo("files.completeUploadExternal").filter((call) => call.result.ok === false).length, 2, "the two injected failures happened");
        assert.equal(t.sim.files().filter((file) => file.completed && file.filename.endsWith(".png")).length, 1, "one chart: none uploaded again once it was complete");
        assert.equal(t.sim.files().filter((file) => file.completed && file.filename.endsWith(".csv")).length, 1);
        assert.equal(await db.prisma.ledgerEntry.count({ where: { type: "digest.posted" } }), 1);
      } finally {
        await t.stop();
      }
    });

    test("Reviewed: the review group signs off, the ledger has what they saw, a late digest is reminded, and the next one says so", async () => {
      await resetDatabase(db);
      const clock = new TestClock(new Date("2026-11-25T11:00:00Z"));
      const policyFile = path.join(mkdtempSync(path.join(tmpdir(), "accessbot-digest-")), "access-policy.yml");
      writeFileSync(policyFile, readFileSync(POLICY_FILE, "utf8").replace(/^(  digest_schedule: .*)$/m, "$1\n  review_group: sre-leads\n  review_within: 1d"));
      const t = await startTestBot(db, { clock, env: { ACCESS_POLICY_FILE: policyFile } });
      const digestsNow = () => t.sim.messages("C0AUDIT").filter((message) => /^(Reminder: )?Access digest/.test(message.text));
      try {
        await t.command(USERS.eng, "staging-admin 1h signed week");
        clock.advance(6 * 24 * 3600 * 1000); // Tue 2026-12-01
        await t.bot.scheduleDigest();
        await t.bot.settle();
        const [first] = digestsNow();
        assert.ok(first);
        assert.match(JSON.stringify(first.blocks), /Periodic access review/);

        // Nobody signed off within a day: it is posted again, with a reminder, once.
        clock.advance(25 * 3600 * 1000);
        await t.bot.sweep();
        await t.bot.settle();
        const copies = digestsNow();
        assert.equal(copies.length, 2, "the digest and one reminder");
        assert.match(copies[1]!.text, /^Reminder: Access digest 2026-11-23 to 2026-11-29/);
        assert.match(JSON.stringify(copies[1]!.blocks), /Reminder: this digest has not been signed off yet/);
        await t.bot.sweep();
        await t.bot.settle();
        assert.equal(digestsNow().length, 2, "not again before another day");
        assert.equal(await db.prisma.ledgerEntry.count({ where: { type: "digest.reminded" } }), 1);

        // Someone outside the review group is refused, and nothing changes.
        const refused = await t.click(USERS.eng, copies[1]!, ActionIds.digestSignOff);
        assert.match(replyText(refused.reply), /Only members of sre-leads can sign off the digest/);
        assert.equal(await db.prisma.ledgerEntry.count({ where: { type: "review.signed_off" } }), 0);

        // A member signs off on the reminder; every copy shows it and loses its button.
        const signed = await t.click(USERS.sre2, copies[1]!, ActionIds.digestSignOff);
        assert.match(replyText(signed.reply), /you signed off this digest/);
        await t.bot.settle();
        const entries = await db.prisma.ledgerEntry.findMany({ where: { type: "review.signed_off" } });
        assert.equal(entries.length, 1);
        const body = JSON.parse(entries[0]!.body) as { actor: { user_id: string }; data: { since: string; until: string; digest_sha256: string; seen: { blocks: unknown[]; sha256: string } } };
        const row = await db.prisma.digestReview.findUniqueOrThrow({ where: { since: new Date("2026-11-22T23:00:00.000Z") } });
        assert.equal(body.actor.user_id, USERS.sre2);
        assert.deepEqual({ since: body.data.since, until: body.data.until, sha: body.data.digest_sha256 }, { since: "2026-11-22T23:00:00.000Z", until: "2026-11-29T23:00:00.000Z", sha: row.sha256 });
        assert.deepEqual(body.data.seen.blocks, copies[1]!.blocks, "the blocks the reviewer clicked on");
        assert.equal(body.data.seen.sha256, sha256OfCanonical(copies[1]!.blocks));
        for (const copy of digestsNow()) {
          const text = JSON.stringify(copy.blocks);
          assert.match(text, new RegExp(`Signed off by <@${USERS.sre2}>`));
          assert.ok(!text.includes(ActionIds.digestSignOff), "no Reviewed button any more");
          assert.ok(!text.includes("has not been signed off yet"));
        }
        const again = await t.click(USERS.sre1, first, ActionIds.digestSignOff);
        assert.match(replyText(again.reply), new RegExp(`<@${USERS.sre2}> already signed off this digest`));
        assert.equal(await db.prisma.ledgerEntry.count({ where: { type: "review.signed_off" } }), 1);

        // No more reminders after the sign-off.
        clock.advance(2 * 24 * 3600 * 1000);
        await t.bot.sweep();
        await t.bot.settle();
        assert.equal(digestsNow().length, 2);

        // The next week's digest says the previous one was signed off (and by whom).
        clock.advance(5 * 24 * 3600 * 1000); // Tue 2026-12-08
        await t.bot.scheduleDigest();
        await t.bot.settle();
        const next = digestsNow().find((message) => message.text.startsWith("Access digest 2026-11-30"));
        assert.ok(next);
        assert.match(JSON.stringify(next.blocks), new RegExp(`The previous digest \\(2026-11-23 to 2026-11-29\\) was signed off by <@${USERS.sre2}>`));

        // Nobody signs that one off: the one after says so.
        clock.advance(7 * 24 * 3600 * 1000);
        await t.bot.scheduleDigest();
        await t.bot.settle();
        const third = digestsNow().find((message) => message.text.startsWith("Access digest 2026-12-07"));
        assert.match(JSON.stringify(third?.blocks), /The previous digest \(2026-11-30 to 2026-12-06\) was not signed off/);
      } finally {
        await t.stop();
      }
    });

    test("`accessbot digest --post` posts the period like the weekly job, once, and a second run posts nothing", async () => {
      await resetDatabase(db);
      const clock = new TestClock(new Date("2026-11-25T11:00:00Z"));
      const t = await startTestBot(db, { clock });
      try {
        await t.command(USERS.eng, "staging-admin 1h posted from the cli");
        await t.bot.settle();
        const lines: string[] = [];
        const out = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(`ERR ${text}`) };
        const env = { SLACK_BOT_TOKEN: t.sim.botToken, SLACK_API_URL: t.sim.apiUrl, ACCESS_POLICY_FILE: POLICY_FILE };
        const args = ["--since", "2026-11-23", "--until", "2026-11-29", "--post"];
        assert.equal(await runDigestCli(args, out, { database: db, env, now: new Date("2026-12-01T08:00:00Z") }), 0, lines.join("\n"));
        assert.match(lines.join("\n"), /Posted the digest of 2026-11-23 to 2026-11-29 to C0AUDIT \(ts \d+\.\d+\), with its chart and the period's ledger as CSV/);
        const digests = t.sim.messages("C0AUDIT").filter((message) => message.text.startsWith("Access digest"));
        assert.equal(digests.length, 1);
        assert.ok((digests[0]!.blocks ?? []).some((block) => (block as { type?: string }).type === "image"));
        assert.equal(t.sim.files().filter((file) => file.completed).length, 2);

        lines.length = 0;
        assert.equal(await runDigestCli(args, out, { database: db, env, now: new Date("2026-12-01T08:05:00Z") }), 0);
        assert.match(lines.join("\n"), /was already posted/);
        // The bot's weekly job for the same week finds it done.
        clock.advance(6 * 24 * 3600 * 1000);
        await t.bot.scheduleDigest();
        await t.bot.settle();
        assert.equal(t.sim.messages("C0AUDIT").filter((message) => message.text.startsWith("Access digest")).length, 1);

        lines.length = 0;
        assert.equal(await runDigestCli(["--post", "--format", "json"], out, { database: db, env }), 2);
        assert.match(lines.join("\n"), /Choose one of --print, --post and --format json/);
        lines.length = 0;
        assert.equal(await runDigestCli(args, out, { database: db, env: { ACCESS_POLICY_FILE: POLICY_FILE } }), 2);
        assert.match(lines.join("\n"), /--post needs SLACK_BOT_TOKEN/);
      } finally {
        await t.stop();
      }
    });

    test("with 50,000 requests in a week the digest still fits Slack's limits and its lists stay short", async () => {
      await resetDatabase(db);
      const since = Date.UTC(2026, 10, 22, 23, 0, 0);
      // 50,000 requests over the week: 500 people, 40 resources, every outcome.
      await db.prisma.$executeRawUnsafe(`
        INSERT INTO access_request (id, team_id, requester_id, requester_name, resource, duration_seconds, reason, status, policy_sha256, idempotency_key, created_at, pending_until, decided_at, break_glass)
        SELECT 'AR-BULK' || lpad(i::text, 5, '0'), 'T0BULK', 'U0BULK' || (i % 500), 'bulk user ' || (i % 500) || ' <!channel> *bold*', 'resource <!channel> ' || (i % 40), 3600, 'bulk',
               (ARRAY['APPROVED','DENIED','EXPIRED','CANCELLED']::"RequestStatus"[])[1 + i % 4], repeat('0', 64), 'bulk-' || i,
               to_timestamp(${since / 1000} + (i * 604799.0 / 50000)), to_timestamp(${since / 1000} + (i * 604799.0 / 50000) + 86400),
               CASE WHEN i % 4 < 2 THEN to_timestamp(${since / 1000} + (i * 604799.0 / 50000) + (i % 900)) END, i % 997 = 0
          FROM generate_series(1, 50000) AS i`);
      const period = periodOfDates("2026-11-23", "2026-11-29", TZ);
      const report = await computeDigest(db.prisma, createPrismaLedgerQuery(db.prisma), period, new Date(since + 8 * 24 * HOUR));
      assert.equal(report.requests, 50_000);
      assert.equal(report.approved, 12_500);
      assert.equal(report.top_resources.length, 5);
      assert.equal(report.top_requesters.length, 5);
      assert.equal(report.per_day.length, 7);
      const message = buildDigestMessage(report);
      assert.ok(message.blocks.length <= 50, `${message.blocks.length} blocks`);
      const texts = JSON.stringify(message.blocks).match(/"text":"(?:[^"\\]|\\.)*"/g) ?? [];
      for (const text of texts) assert.ok(text.length <= 3000, `a text of ${text.length} characters`);
      assert.ok(JSON.stringify(message.blocks).includes("resource &lt;!channel&gt;"), "the resources are listed");
      assert.ok(!JSON.stringify(message.blocks).includes("<!channel>"), "text from the database cannot ping");
    });
  });
}
