// Anomaly alerts: working hours (parsing, time zones, a daylight-saving change); every rule
// firing, not firing just below its threshold, and switched off; one alert per incident, also
// when the relay delivers an entry twice; no alerts for history; and, through the real bot, a
// rubber-stamp approval that lands in the ledger and the audit channel. On every test database.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { pino } from "pino";
import { AlertDetectorSink } from "../src/audit-stream/alert-detector-sink.js";
import { AuditRelay } from "../src/audit-stream/audit-relay.js";
import { formatAuditLine } from "../src/audit-stream/format-audit-line.js";
import type { Database } from "../src/db/open-database.js";
import { PrismaAlertStore } from "../src/db/prisma-alert-store.js";
import { isWithinWorkingHours, parseWorkingHours, WorkingHoursError } from "../src/domain/parse-working-hours.js";
import type { Policy } from "../src/domain/policy-model.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { parsePolicy } from "../src/policy/load-policy.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { POLICY_FILE, replyText, requestIdIn, startTestBot, TestClock, USERS } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Monday 2026-11-23 10:00 in Berlin (CET, UTC+1): inside the working hours. */
const MONDAY_10 = Date.UTC(2026, 10, 23, 9, 0, 0);
/** Sunday 2026-11-22 03:00 in Berlin: outside them. */
const SUNDAY_3 = Date.UTC(2026, 10, 22, 2, 0, 0);
const TZ = "Europe/Berlin";

describe("working hours", () => {
  test("parses one or several spans, day ranges that wrap, and 24:00", () => {
    assert.deepEqual(parseWorkingHours("Mon-Fri 08:00-19:00").spans, [{ days: [1, 2, 3, 4, 5], startMinute: 480, endMinute: 1140 }]);
    const several = parseWorkingHours("Mon-Fri 08:00-19:00, Sat 10:00-14:00");
    assert.deepEqual(several.spans.map((span) => span.days), [[1, 2, 3, 4, 5], [6]]);
    assert.equal(several.text, "Mon-Fri 08:00-19:00, Sat 10:00-14:00");
    assert.deepEqual(parseWorkingHours("fri-mon 22:00-24:00").spans, [{ days: [5, 6, 0, 1], startMinute: 1320, endMinute: 1440 }]);
  });

  test("refuses what it cannot read, saying what to write", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /working hours are empty/],
      ["Mon-Fri", /'Mon-Fri' is not a span of days and times/],
      ["Mon-Fro 08:00-19:00", /unknown day 'Fro'/],
      ["Mon-Fri 19:00-08:00", /the end 08:00 is not after the start 19:00 \(overnight spans are written as two spans/],
      ["Mon-Fri 08:00-25:00", /'25:00' is not a time of day/],
      ["Mon-Fri 08:00-19:00,", /a span is empty/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseWorkingHours(text), (error: unknown) => error instanceof WorkingHoursError && message.test(error.message) && /write spans like Mon-Fri 08:00-19:00/.test(error.message), text);
    }
  });

  test("tells inside from outside in the policy's zone, at the edges and across daylight-saving changes", () => {
    const hours = parseWorkingHours("Mon-Fri 08:00-19:00, Sat 10:00-14:00");
    const within = (iso: string) => isWithinWorkingHours(new Date(iso), hours, TZ);
    assert.equal(within("2026-11-23T07:00:00Z"), true, "Monday 08:00 CET: the start is inside");
    assert.equal(within("2026-11-23T06:59:59Z"), false, "Monday 07:59:59 CET");
    assert.equal(within("2026-11-23T18:00:00Z"), false, "Monday 19:00 CET: the end is outside");
    assert.equal(within("2026-11-28T09:30:00Z"), true, "Saturday 10:30 CET");
    assert.equal(within("2026-11-28T13:30:00Z"), false, "Saturday 14:30 CET");
    assert.equal(within("2026-11-22T10:00:00Z"), false, "Sunday");
    // Spring forward on Sunday 2027-03-28: Friday before is UTC+1, Monday after is UTC+2.
    assert.equal(within("2027-03-26T07:30:00Z"), true, "Friday 08:30 CET");
    assert.equal(within("2027-03-29T06:30:00Z"), true, "Monday 08:30 CEST (a fixed +1 offset would say 07:30)");
    assert.equal(within("2027-03-29T17:30:00Z"), false, "Monday 19:30 CEST (a fixed +1 offset would say 18:30)");
    // Fall back on Sunday 2026-10-25: Monday 07:30Z is 08:30 CET, and 06:30Z is 07:30.
    assert.equal(within("2026-10-26T07:30:00Z"), true);
    assert.equal(within("2026-10-26T06:30:00Z"), false);
    assert.equal(within("2026-10-23T06:30:00Z"), true, "Friday before, still CEST: 08:30");
  });
});

/** The policy the database tests run under; `alerts` is the YAML of the `alerts:` section. */
function policyWith(alerts: string | null): Policy {
  const text = `version: 1
settings:
  approval_channel: C0APPROVALS
  audit_channel: C0AUDIT
  timezone: ${TZ}
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
  working_hours: Mon-Fri 08:00-19:00, Sat 10:00-14:00
groups:
  sre-leads: { members: [U0SRE1, U0SRE2, U0SRE3] }
resources:
  prod-db:
    title: Production database
    max_duration: 4h
    approval: { rules: [ { group: sre-leads, count: 1 } ] }
    break_glass: { allowed: true, review_group: sre-leads }
  staging-admin:
    title: Staging admin
    max_duration: 8h
    approval: { rules: [ { group: sre-leads, count: 1 } ] }
${alerts === null ? "" : `alerts:\n${alerts.replace(/^/gm, "  ")}\n`}`;
  return parsePolicy(text, "alerts-test.yml").policy;
}

/** Every rule switched off but the ones given (`name: {…}`), so each test sees one rule at work. */
function only(rules: string): Policy {
  const all = ["rubber_stamp", "cosy_pair", "off_hours", "first_time_access", "unusual_duration", "repeated_break_glass", "request_burst"];
  const given = rules.split("\n").map((line) => line.split(":")[0]!.trim()).filter(Boolean);
  return policyWith([rules, ...all.filter((rule) => !given.includes(rule)).map((rule) => `${rule}: off`)].join("\n"));
}

const silent = pino({ level: "silent" });
const REQUESTER = "U0ENG1";
const APPROVER = "U0SRE1";

for (const target of testDatabases) {
  describe(`anomaly alerts (${target.name})`, () => {
    let db: Database;
    let policy: Policy;
    /** The detector's clock: moved to the newest entry before each run, like a live bot's. */
    let nowMs = MONDAY_10;
    const clock = { now: () => new Date(nowMs) };
    let relay: AuditRelay;
    let sink: AlertDetectorSink;
    let counter = 0;

    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
      policy = policyWith("{}");
      nowMs = MONDAY_10;
      sink = new AlertDetectorSink(new PrismaAlertStore(db.prisma), () => policy, clock);
      relay = new AuditRelay(db.prisma, [sink], silent, { now: () => clock.now().getTime() });
      // The detector's cursor is created now, at the (empty) head.
      await relay.drain();
    });

    /** Appends one entry as the decisions do, inside the transaction that changes the tables. */
    const append = (at: number, event: Parameters<typeof appendLedgerEntry>[1], change?: (tx: Parameters<Parameters<Database["prisma"]["$transaction"]>[0]>[0], seq: bigint) => Promise<unknown>) =>
      db.prisma.$transaction(async (tx) => {
        const entry = await appendLedgerEntry(tx, event, new Date(at));
        if (change) await change(tx, entry.seq);
        return entry;
      });

    /** A request (`request.created`, or `request.break_glass`) and its row. */
    async function request(at: number, options: { requester?: string; resource?: string; durationSeconds?: number; breakGlass?: boolean } = {}): Promise<string> {
      const id = `AR-ALERT${String(++counter).padStart(3, "0")}`;
      const requester = options.requester ?? REQUESTER;
      const resource = options.resource ?? "prod-db";
      const durationSeconds = options.durationSeconds ?? 3600;
      const breakGlass = options.breakGlass ?? false;
      await append(
        at,
        { type: breakGlass ? "request.break_glass" : "request.created", requestId: id, subjectId: requester, resource, actor: { kind: "user", user_id: requester }, data: { duration_seconds: durationSeconds, reason: "testing" } },
        (tx) =>
          tx.accessRequest.create({
            data: {
              id, teamId: "T1", requesterId: requester, requesterName: requester.toLowerCase(), resource, durationSeconds, reason: "testing",
              status: breakGlass ? "APPROVED" : "PENDING", policySha256: "0".repeat(64), idempotencyKey: `key-${id}`, createdAt: new Date(at),
              pendingUntil: new Date(at + DAY), breakGlass,
            },
          }),
      );
      return id;
    }

    async function approve(requestId: string, at: number, approver = APPROVER): Promise<void> {
      const row = await db.prisma.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
      await append(
        at,
        { type: "vote.approved", requestId, subjectId: row.requesterId, resource: row.resource, actor: { kind: "user", user_id: approver }, data: { decision: "approve", counted_toward: "sre-leads" } },
        (tx, seq) => tx.vote.create({ data: { requestId, voterId: approver, voterName: approver.toLowerCase(), decision: "APPROVE", ledgerSeq: seq, createdAt: new Date(at) } }),
      );
    }

    async function grant(requestId: string, at: number): Promise<void> {
      const row = await db.prisma.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
      const grantId = requestId.replace("AR-", "GR-");
      await append(
        at,
        { type: "grant.activated", requestId, subjectId: row.requesterId, resource: row.resource, actor: { kind: "system", name: "accessbot" }, data: { grant_id: grantId, duration_seconds: row.durationSeconds, activated_at: new Date(at).toISOString() } },
        (tx) => tx.grant.create({ data: { id: grantId, requestId, userId: row.requesterId, resource: row.resource, status: "ACTIVE", activatedAt: new Date(at), expiresAt: new Date(at + row.durationSeconds * 1000) } }),
      );
    }

    /** Request, approval `approveAfterMs` later, and the grant, like an approval-only resource. */
    async function approvedGrant(at: number, options: Parameters<typeof request>[1] & { approveAfterMs?: number; approver?: string } = {}): Promise<string> {
      const id = await request(at, options);
      const approvedAt = at + (options.approveAfterMs ?? 5 * MINUTE);
      await approve(id, approvedAt, options.approver);
      await grant(id, approvedAt);
      return id;
    }

    /** Runs the detector over everything new and returns every alert in the ledger. */
    async function detect(): Promise<Array<{ seq: bigint; requestId: string | null; subjectId: string | null; data: Record<string, any> }>> {
      const head = await db.prisma.ledgerEntry.findFirst({ orderBy: { seq: "desc" }, select: { ts: true } });
      nowMs = Math.max(nowMs, head?.ts.getTime() ?? 0);
      await relay.drain();
      const rows = await db.prisma.ledgerEntry.findMany({ where: { type: "alert.raised" }, orderBy: { seq: "asc" } });
      return rows.map((row) => ({ seq: row.seq, requestId: row.requestId, subjectId: row.subjectId, data: JSON.parse(row.body).data }));
    }
    const rulesOf = async () => (await detect()).map((alert) => alert.data.rule);

    test("no alerts section: no rule runs, whatever happens", async () => {
      policy = policyWith(null);
      assert.deepEqual(policy.alerts, { rubberStamp: null, cosyPair: null, offHours: false, firstTimeAccess: false, unusualDuration: null, repeatedBreakGlass: null, requestBurst: null });
      await approvedGrant(SUNDAY_3, { approveAfterMs: 1 * SECOND });
      await request(SUNDAY_3 + MINUTE, { breakGlass: true });
      await request(SUNDAY_3 + 2 * MINUTE, { breakGlass: true });
      assert.deepEqual(await detect(), []);
    });

    test("rubber-stamp: an approval within 10 s of the request, at 10 s, not at 11 s, nor when off", async () => {
      policy = only("rubber_stamp: {}");
      const fast = await request(MONDAY_10);
      await approve(fast, MONDAY_10 + 4 * SECOND);
      const edge = await request(MONDAY_10 + MINUTE);
      await approve(edge, MONDAY_10 + MINUTE + 10 * SECOND);
      const slow = await request(MONDAY_10 + 2 * MINUTE);
      await approve(slow, MONDAY_10 + 2 * MINUTE + 11 * SECOND);
      const alerts = await detect();
      assert.deepEqual(alerts.map((alert) => [alert.requestId, alert.data.rule, alert.data.figures.seconds_to_approve]), [[fast, "rubber_stamp", 4], [edge, "rubber_stamp", 10]]);
      const [first] = alerts;
      assert.deepEqual(first!.data.subject, { kind: "pair", approver_id: APPROVER, requester_id: REQUESTER });
      assert.equal(first!.data.dedupe_key, `rubber_stamp:${fast}:${APPROVER}`);
      assert.equal(first!.data.figures.within_seconds, 10);
      assert.equal(first!.data.trigger.type, "vote.approved");
      assert.equal(first!.subjectId, REQUESTER);

      policy = only("rubber_stamp: { within: 30s }");
      const configured = await request(MONDAY_10 + 3 * MINUTE);
      await approve(configured, MONDAY_10 + 3 * MINUTE + 20 * SECOND);
      assert.equal((await detect()).length, 3, "within: 30s catches a 20 s approval");

      policy = only("rubber_stamp: off");
      const off = await request(MONDAY_10 + 4 * MINUTE);
      await approve(off, MONDAY_10 + 4 * MINUTE + 1 * SECOND);
      assert.equal((await detect()).length, 3, "switched off: nothing new");
    });

    test("cosy pair: the approval that takes a pair past more_than in the window, once; other pairs and old approvals do not count", async () => {
      policy = only("cosy_pair: { more_than: 2, within: 7d }");
      // Eight days ago: outside the window.
      await approvedGrant(MONDAY_10 - 8 * DAY);
      await approvedGrant(MONDAY_10);
      await approvedGrant(MONDAY_10 + HOUR);
      await approvedGrant(MONDAY_10 + 2 * HOUR, { approver: "U0SRE2" });
      await approvedGrant(MONDAY_10 + 3 * HOUR, { requester: "U0ENG2" });
      assert.deepEqual(await detect(), [], "two approvals of this pair in 7 days: not more than 2");
      const third = await approvedGrant(MONDAY_10 + 4 * HOUR);
      await approvedGrant(MONDAY_10 + 5 * HOUR);
      await approvedGrant(MONDAY_10 + 6 * HOUR);
      const alerts = await detect();
      assert.equal(alerts.length, 1, "one incident, one alert");
      assert.equal(alerts[0]!.requestId, third);
      assert.deepEqual(alerts[0]!.data.subject, { kind: "pair", approver_id: APPROVER, requester_id: REQUESTER });
      assert.deepEqual(alerts[0]!.data.figures, { approvals: 3, more_than: 2, within_seconds: 7 * 86400 });
      assert.equal(alerts[0]!.data.dedupe_key, `cosy_pair:${APPROVER}:${REQUESTER}`);

      // The default is more than 5; switched off, nothing.
      assert.equal(policyWith("{}").alerts.cosyPair?.moreThan, 5);
      policy = only("cosy_pair: off");
      await approvedGrant(MONDAY_10 + 7 * HOUR, { requester: "U0ENG2" });
      await approvedGrant(MONDAY_10 + 8 * HOUR, { requester: "U0ENG2" });
      assert.equal((await detect()).length, 1);
    });

    test("off-hours: an approval, a grant or a break-glass outside the working hours, one alert per request", async () => {
      policy = only("off_hours: {}");
      await approvedGrant(MONDAY_10);
      // Saturday 11:00 is inside the Saturday span.
      await approvedGrant(Date.UTC(2026, 10, 28, 10, 0, 0));
      assert.deepEqual(await detect(), []);
      const night = await approvedGrant(SUNDAY_3 + 7 * DAY);
      const breakGlass = await request(SUNDAY_3 + 7 * DAY + HOUR, { breakGlass: true });
      const alerts = await detect();
      assert.deepEqual(alerts.map((alert) => [alert.requestId, alert.data.figures.event]), [[night, "approval"], [breakGlass, "break-glass"]], "the night's approval and its grant are one incident");
      assert.deepEqual(alerts[0]!.data.figures, { event: "approval", at: new Date(SUNDAY_3 + 7 * DAY + 5 * MINUTE).toISOString(), local_time: "Sun 03:05", working_hours: "Mon-Fri 08:00-19:00, Sat 10:00-14:00", timezone: TZ });
      assert.deepEqual(alerts[0]!.data.subject, { kind: "person", user_id: APPROVER });

      // A grant activated late (provisioning took until 19:30) alerts on its own.
      const late = await request(MONDAY_10 + 7 * DAY + 8 * HOUR);
      await approve(late, MONDAY_10 + 7 * DAY + 8 * HOUR + 5 * MINUTE);
      await grant(late, MONDAY_10 + 7 * DAY + 9 * HOUR + 30 * MINUTE);
      const withLate = await detect();
      assert.deepEqual(withLate.at(-1)!.data.figures.event, "grant");
      assert.equal(withLate.at(-1)!.requestId, late);

      policy = only("off_hours: off");
      await approvedGrant(SUNDAY_3 + 14 * DAY);
      assert.equal((await detect()).length, 3);
    });

    test("first-time access: a requester's first grant of a resource, not the second", async () => {
      policy = only("first_time_access: {}");
      const first = await approvedGrant(MONDAY_10);
      await approvedGrant(MONDAY_10 + HOUR);
      const other = await approvedGrant(MONDAY_10 + 2 * HOUR, { resource: "staging-admin" });
      // A request that was never granted does not count as access.
      await request(MONDAY_10 + 3 * HOUR, { requester: "U0ENG2" });
      const alerts = await detect();
      assert.deepEqual(alerts.map((alert) => [alert.requestId, alert.data.dedupe_key]), [[first, `first_time_access:${REQUESTER}:prod-db`], [other, `first_time_access:${REQUESTER}:staging-admin`]]);
      assert.deepEqual(alerts[0]!.data.subject, { kind: "person", user_id: REQUESTER });

      policy = only("first_time_access: off");
      await approvedGrant(MONDAY_10 + 4 * HOUR, { requester: "U0ENG2" });
      assert.equal((await detect()).length, 2);
    });

    test("unusual duration: grants near max_duration more than twice in 30 days; two are not enough", async () => {
      policy = only("unusual_duration: {}");
      // 4h maximum; 90% is 3h 36m.
      await approvedGrant(MONDAY_10 - 31 * DAY, { durationSeconds: 4 * 3600 });
      await approvedGrant(MONDAY_10, { durationSeconds: 4 * 3600 });
      await approvedGrant(MONDAY_10 + DAY, { durationSeconds: 3 * 3600 + 36 * 60 });
      await approvedGrant(MONDAY_10 + 2 * DAY, { durationSeconds: 3 * 3600 });
      assert.deepEqual(await detect(), [], "two long grants in 30 days (the first is older, 3h is short of 90%)");
      const third = await approvedGrant(MONDAY_10 + 3 * DAY, { durationSeconds: 4 * 3600 });
      await approvedGrant(MONDAY_10 + 4 * DAY, { durationSeconds: 4 * 3600 });
      const alerts = await detect();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.requestId, third);
      assert.equal(alerts[0]!.data.figures.long_grants, 3);
      assert.equal(alerts[0]!.data.figures.reason, "near_max");
      assert.equal(alerts[0]!.data.figures.max_duration_seconds, 4 * 3600);

      policy = only("unusual_duration: off");
      await approvedGrant(MONDAY_10 + 5 * DAY, { requester: "U0ENG2", durationSeconds: 4 * 3600 });
      await approvedGrant(MONDAY_10 + 5 * DAY + HOUR, { requester: "U0ENG2", durationSeconds: 4 * 3600 });
      await approvedGrant(MONDAY_10 + 5 * DAY + 2 * HOUR, { requester: "U0ENG2", durationSeconds: 4 * 3600 });
      assert.equal((await detect()).length, 1);
    });

    test("unusual duration: grants far above the requester's usual count too", async () => {
      policy = only("unusual_duration: { times_usual: 2, more_than: 2, within: 30d }");
      for (let index = 0; index < 6; index++) await approvedGrant(MONDAY_10 + index * HOUR, { resource: "staging-admin", durationSeconds: 600 });
      await approvedGrant(MONDAY_10 + DAY, { resource: "staging-admin", durationSeconds: 3600 });
      await approvedGrant(MONDAY_10 + DAY + HOUR, { resource: "staging-admin", durationSeconds: 3600 });
      assert.deepEqual(await detect(), []);
      // The average is now (6 × 10m + 2 × 1h) / 8 = 22.5m: 1h is still more than twice that.
      const third = await approvedGrant(MONDAY_10 + DAY + 2 * HOUR, { resource: "staging-admin", durationSeconds: 3600 });
      const alerts = await detect();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.requestId, third);
      assert.deepEqual(
        [alerts[0]!.data.figures.reason, alerts[0]!.data.figures.long_grants, alerts[0]!.data.figures.usual_seconds, alerts[0]!.data.figures.times_usual],
        ["above_usual", 3, 1350, 2],
      );
    });

    test("repeated break-glass: the second use in 7 days, once; a second use after 8 days is none", async () => {
      policy = only("repeated_break_glass: {}");
      await request(MONDAY_10 - 8 * DAY, { breakGlass: true });
      await request(MONDAY_10, { breakGlass: true });
      await request(MONDAY_10 + HOUR, { requester: "U0ENG2", breakGlass: true });
      assert.deepEqual(await detect(), []);
      const second = await request(MONDAY_10 + DAY, { breakGlass: true });
      await request(MONDAY_10 + 2 * DAY, { breakGlass: true });
      const alerts = await detect();
      assert.deepEqual(alerts.map((alert) => [alert.requestId, alert.data.figures.uses]), [[second, 2]]);
      assert.deepEqual(alerts[0]!.data.subject, { kind: "person", user_id: REQUESTER });

      policy = only("repeated_break_glass: off");
      await request(MONDAY_10 + 3 * DAY, { requester: "U0ENG2", breakGlass: true });
      assert.equal((await detect()).length, 1);
    });

    test("request burst: 10 requests in an hour are fine; 30 give ONE alert; the workspace spike has its own", async () => {
      policy = only("request_burst: { workspace: off }");
      for (let index = 0; index < 10; index++) await request(MONDAY_10 + index * MINUTE);
      assert.deepEqual(await detect(), [], "10 is not more than 10");
      for (let index = 10; index < 30; index++) await request(MONDAY_10 + index * MINUTE);
      const alerts = await detect();
      assert.equal(alerts.length, 1, `one burst, one alert (got ${alerts.length})`);
      assert.deepEqual(alerts[0]!.data.figures, { requests: 11, more_than: 10, within_seconds: 3600 });
      assert.equal(alerts[0]!.data.dedupe_key, `request_burst:person:${REQUESTER}`);
      // The same pace for another hour keeps the count above 10 without a new alert; a new
      // burst after a quiet hour is a new incident.
      for (let index = 30; index < 70; index += 2) await request(MONDAY_10 + index * MINUTE);
      assert.equal((await detect()).length, 1);
      for (let index = 0; index < 11; index++) await request(MONDAY_10 + 4 * HOUR + index * MINUTE);
      assert.equal((await detect()).length, 2);

      policy = only("request_burst: { per_person: off, workspace: 5, within: 1h }");
      const base = MONDAY_10 + DAY;
      for (let index = 0; index < 5; index++) await request(base + index * MINUTE, { requester: `U0ENG${index}` });
      assert.equal((await detect()).length, 2, "5 requests across the workspace are not more than 5");
      for (let index = 5; index < 9; index++) await request(base + index * MINUTE, { requester: `U0ENG${index}` });
      const spike = (await detect()).slice(2);
      assert.deepEqual(spike.map((alert) => [alert.data.subject.kind, alert.data.figures.requests]), [["workspace", 6]]);

      policy = only("request_burst: off");
      for (let index = 0; index < 12; index++) await request(base + 3 * HOUR + index * MINUTE);
      assert.equal((await detect()).length, 3);
    });

    test("an entry delivered twice still gives one alert, and a new detector raises nothing for history", async () => {
      policy = only("rubber_stamp: {}");
      const id = await request(MONDAY_10);
      await approve(id, MONDAY_10 + 2 * SECOND);
      assert.equal((await detect()).length, 1);
      // The relay is at-least-once: hand the same entries to the detector again.
      const rows = await db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } });
      await sink.deliver(rows);
      await new AlertDetectorSink(new PrismaAlertStore(db.prisma), () => policy, clock).deliver(rows);
      assert.equal((await detect()).length, 1, "the de-dup key was already in the ledger");

      // History written before the detector first ran (a fresh sink name on an old database).
      const old = await request(MONDAY_10 + HOUR);
      await approve(old, MONDAY_10 + HOUR + 1 * SECOND);
      const fresh = new AlertDetectorSink(new PrismaAlertStore(db.prisma), () => policy, clock);
      Object.defineProperty(fresh, "name", { value: "alert-detector-new" });
      const freshRelay = new AuditRelay(db.prisma, [fresh], silent, { now: () => clock.now().getTime() });
      await freshRelay.drain();
      const head = await db.prisma.ledgerEntry.count();
      assert.equal((await db.prisma.auditSinkCursor.findUniqueOrThrow({ where: { sink: "alert-detector-new" } })).deliveredSeq, BigInt(head), "starts at the head");
      assert.equal((await db.prisma.ledgerEntry.count({ where: { type: "alert.raised" } })), 1, "nothing raised for the history");
      const next = await request(MONDAY_10 + 2 * HOUR);
      await approve(next, MONDAY_10 + 2 * HOUR + 1 * SECOND);
      await freshRelay.drain();
      assert.deepEqual((await db.prisma.ledgerEntry.findMany({ where: { type: "alert.raised" }, orderBy: { seq: "asc" } })).map((row) => row.requestId), [id, next]);
    });

    test("each alert reads as one escaped line in the audit channel, linked to its request", async () => {
      policy = only("rubber_stamp: {}\noff_hours: {}");
      const id = await request(SUNDAY_3, { requester: REQUESTER });
      await approve(id, SUNDAY_3 + 3 * SECOND);
      await detect();
      const rows = await db.prisma.ledgerEntry.findMany({ where: { type: "alert.raised" }, orderBy: { seq: "asc" } });
      const lines = rows.map((row) => formatAuditLine(row, "https://example.slack.com/archives/C0APPROVALS/p1"));
      assert.match(lines[0]!, new RegExp(`:rotating_light: ALERT <https://example.slack.com/archives/C0APPROVALS/p1\\|${id}> \`prod-db\` · \\*Rubber-stamp approval\\*: <@${APPROVER}> approved <@${REQUESTER}>'s request 3 s after it was made`));
      assert.match(lines[1]!, /\*Off-hours activity\*: approval by <@U0SRE1> at Sun 03:00 Europe\/Berlin, outside Mon-Fri 08:00-19:00, Sat 10:00-14:00/);
      // Whatever a body holds, it reaches mrkdwn escaped: no mention, link or broadcast from it.
      const hostile = { ...rows[0]!, body: JSON.stringify({ ...JSON.parse(rows[0]!.body), data: { rule: "rubber_stamp", title: "<!channel> *x*", subject: { approver_id: "<!here>", requester_id: "U0ENG1" }, figures: { seconds_to_approve: "<http://evil|x>" } } }) };
      const line = formatAuditLine(hostile, null);
      assert.ok(!line.includes("<!channel>") && !line.includes("<!here>") && !line.includes("<http://evil"), line);
      assert.match(line, /&lt;!channel&gt;/);
    });
  });

  describe(`anomaly alerts through the real bot (${target.name})`, () => {
    let db: Database;
    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });
    let t: Awaited<ReturnType<typeof startTestBot>>;
    beforeEach(async () => {
      await resetDatabase(db);
      const dir = mkdtempSync(path.join(tmpdir(), "accessbot-alerts-"));
      const policyFile = path.join(dir, "access-policy.yml");
      writeFileSync(policyFile, `${readFileSync(POLICY_FILE, "utf8")}alerts:\n  first_time_access: off\n`);
      t = await startTestBot(db, { clock: new TestClock(new Date(MONDAY_10)), env: { ACCESS_POLICY_FILE: policyFile } });
    });
    afterEach(async () => {
      await t.stop();
    });

    test("an approval 3 seconds after the request raises a rubber-stamp alert in the ledger and the audit channel", async () => {
      const { reply } = await t.command(USERS.eng, "staging-admin 1h checking a deploy");
      const id = requestIdIn(replyText(reply));
      t.clock.advance(3 * SECOND);
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      await t.bot.settle();

      const entries = await db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } });
      assert.deepEqual(entries.map((entry) => entry.type), ["request.created", "vote.approved", "grant.activated", "alert.raised"]);
      const alert = entries.at(-1)!;
      assert.equal(alert.requestId, id);
      const data = JSON.parse(alert.body).data;
      assert.equal(data.rule, "rubber_stamp");
      assert.deepEqual(data.figures, { seconds_to_approve: 3, within_seconds: 10, request_created_at: entries[0]!.ts.toISOString() });
      assert.equal(data.dedupe_key, `rubber_stamp:${id}:${USERS.sre1}`);

      const audit = t.sim.messages("C0AUDIT").flatMap((message) => message.text.split("\n"));
      const line = audit.find((candidate) => candidate.includes(`\`#${alert.seq}\``));
      assert.ok(line, `the alert is mirrored to the audit channel:\n${audit.join("\n")}`);
      assert.match(line, /:rotating_light: ALERT/);
      assert.match(line, new RegExp(`\\*Rubber-stamp approval\\*: <@${USERS.sre1}> approved <@${USERS.eng}>'s request 3 s after it was made`));
      assert.ok(line.includes(id), "names the request");

      // A second, unhurried approval on another request raises nothing more.
      const second = requestIdIn(replyText((await t.command(USERS.eng, "staging-admin 1h again")).reply));
      t.clock.advance(MINUTE);
      await t.click(USERS.sre2, t.approvalMessage(second), ActionIds.approve);
      await t.bot.settle();
      assert.equal(await db.prisma.ledgerEntry.count({ where: { type: "alert.raised" } }), 1);
    });
  });
}
