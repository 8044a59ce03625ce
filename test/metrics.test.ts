// GET /metrics after a request's whole journey: filed, approved, provisioned through a real
// webhook (one failed attempt, then success), revoked at expiry; a second request expires
// unanswered; Slack rate-limits one call. Every figure is checked against what happened.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { startGrantWebhookServer, type GrantWebhookServer } from "./support/grant-webhook-server.js";
import { replyText, requestIdIn, startTestBot, TestClock, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const WEBHOOK_SECRET = "metrics-webhook-secret-0123456789";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const HOUR = 3600_000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (what a scraper reads), and the declared TYPE of each family. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a well-formed sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  assert.ok(found.length <= 1 || Object.keys(labels).length === 0, `at most one ${name} sample with ${JSON.stringify(labels)}`);
  return found.length === 0 ? undefined : found.reduce((sum, sample) => sum + sample.value, 0);
}

function policy(grantUrl: string): string {
  return `version: 1
settings:
  approval_channel: C0APPROVALS
  audit_channel: C0AUDIT
  timezone: UTC
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
groups:
  sre-leads: { members: [U0SRE1, U0SRE2, U0SRE3] }
  engineering: { usergroup: S0ENG }
resources:
  hooked-db:
    title: Database behind the test webhook
    requesters: [engineering]
    max_duration: 4h
    approval: { rules: [ { group: sre-leads, count: 1 } ] }
    provisioner:
      type: webhook
      url: "${grantUrl}"
      secret_env: GRANT_WEBHOOK_SECRET
      timeout: 20s
      max_attempts: 5
`;
}

for (const target of testDatabases) {
  describe(`GET /metrics (${target.name})`, () => {
    let db: Database;
    let hook: GrantWebhookServer;
    let workDir: string;
    let policyFile: string;
    let t: TestBot | null = null;

    before(async () => {
      db = await target.open();
      hook = await startGrantWebhookServer({ secret: WEBHOOK_SECRET });
      workDir = mkdtempSync(path.join(tmpdir(), "accessbot-metrics-"));
      policyFile = path.join(workDir, "access-policy.yml");
      writeFileSync(policyFile, policy(hook.grantUrl));
    });
    after(async () => {
      await hook.close();
      await db.close();
      rmSync(workDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await resetDatabase(db);
      hook.reset();
    });
    afterEach(async () => {
      await t?.stop();
      t = null;
    });

    const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) => fetch(`http://127.0.0.1:${t!.bot.port}/metrics`, { headers });
    const metrics = async () => {
      const response = await scrape();
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return parseExposition(await response.text());
    };
    const waitForLedger = async (type: string, count = 1) => {
      for (let tries = 0; tries < 150; tries++) {
        if ((await db.prisma.ledgerEntry.count({ where: { type } })) >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.fail(`no ${type} entry in the ledger`);
    };

    test("a bearer token guards it when ACCESSBOT_METRICS_TOKEN is set", async () => {
      t = await startTestBot(db, { env: { ACCESS_POLICY_FILE: policyFile, GRANT_WEBHOOK_SECRET: WEBHOOK_SECRET, ACCESSBOT_METRICS_TOKEN: METRICS_TOKEN } });
      const missing = await scrape({});
      assert.equal(missing.status, 401);
      assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.equal((await scrape({ authorization: `Bearer ${METRICS_TOKEN}x` })).status, 401);
      assert.equal((await scrape({ authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString("base64")}` })).status, 401);
      assert.equal((await scrape()).status, 200);
      // Health and liveness stay open to the orchestrator.
      assert.equal((await fetch(`http://127.0.0.1:${t.bot.port}/livez`)).status, 200);
    });

    test("after a request's journey every figure matches what happened", async () => {
      const clock = new TestClock();
      t = await startTestBot(db, { clock, env: { ACCESS_POLICY_FILE: policyFile, GRANT_WEBHOOK_SECRET: WEBHOOK_SECRET, ACCESSBOT_METRICS_TOKEN: METRICS_TOKEN } });
      const bot = t;
      const before = await metrics();
      assert.equal(valueOf(before.samples, "accessbot_ledger_head_seq"), Number((await db.prisma.ledgerEntry.aggregate({ _max: { seq: true } }))._max.seq ?? 0));

      const filed = await bot.command(USERS.eng, "hooked-db 1h fixing INC-4411");
      const id = requestIdIn(replyText(filed.reply));
      const unanswered = requestIdIn(replyText((await bot.command(USERS.eng2, "hooked-db 2h left unanswered")).reply));
      await bot.bot.settle();
      let m = await metrics();
      assert.equal(valueOf(m.samples, "accessbot_requests_created_total", { resource: "hooked-db" }), 2);
      assert.equal(valueOf(m.samples, "accessbot_requests_pending"), 2);

      // The grant call hangs while the provisioning job is due: job lag grows with the clock.
      hook.hangNext(1, { action: "grant" });
      bot.sim.rateLimit("chat.update", { times: 1, retryAfterSeconds: 1 });
      clock.advance(90_000);
      const clicked = bot.click(USERS.sre1, bot.approvalMessage(id), ActionIds.approve);
      for (let tries = 0; tries < 100 && hook.hanging().length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(hook.hanging().length, 1, "the grant call is held by the target");
      clock.advance(30_000);
      m = await metrics();
      assert.ok((valueOf(m.samples, "accessbot_job_lag_seconds") ?? 0) >= 30, "the hanging provisioning job has been due for the 30 s the clock moved");
      assert.ok((valueOf(m.samples, "accessbot_jobs_due") ?? 0) >= 1);

      // The held call fails (500): one failed attempt, retried later with success.
      hook.release(500);
      await clicked;
      await waitForLedger("grant.provision_failed");
      clock.advance(15 * 60_000);
      await bot.bot.sweep();
      await waitForLedger("grant.activated");
      await bot.bot.settle();

      m = await metrics();
      assert.equal(valueOf(m.samples, "accessbot_votes_total", { decision: "approve" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_votes_total", { decision: "deny" }), undefined);
      assert.equal(valueOf(m.samples, "accessbot_requests_total", { outcome: "approved", resource: "hooked-db" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_time_to_decision_seconds_count", { outcome: "approved" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_time_to_decision_seconds_sum", { outcome: "approved" }), 90, "filed, then approved 90 s later by the bot's clock");
      assert.equal(valueOf(m.samples, "accessbot_time_to_decision_seconds_bucket", { outcome: "approved", le: "60" }), 0);
      assert.equal(valueOf(m.samples, "accessbot_time_to_decision_seconds_bucket", { outcome: "approved", le: "120" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_provisioning_attempts_total", { action: "provision", result: "failed", resource: "hooked-db" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_provisioning_attempts_total", { action: "provision", result: "ok", resource: "hooked-db" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_grants_active"), 1);
      assert.equal(valueOf(m.samples, "accessbot_requests_pending"), 1);
      assert.equal(valueOf(m.samples, "accessbot_job_lag_seconds"), 0);
      assert.ok((valueOf(m.samples, "accessbot_job_runs_total", { kind: "provision", result: "retry" }) ?? 0) >= 1, "the failed attempt was a run that asked to retry");
      assert.ok((valueOf(m.samples, "accessbot_job_runs_total", { kind: "provision", result: "done" }) ?? 0) >= 1);
      // Slack: every call by method and result, the rate limit counted and waited for.
      assert.ok((valueOf(m.samples, "accessbot_slack_api_calls_total", { method: "chat.postMessage", result: "ok" }) ?? 0) >= 3, "approval message, DM and audit lines");
      assert.equal(valueOf(m.samples, "accessbot_slack_api_calls_total", { method: "chat.update", result: "ratelimited" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_slack_rate_limit_waits_total", { method: "chat.update" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_slack_rate_limit_wait_seconds_total", { method: "chat.update" }), 1);
      const postCalls = bot.sim.callsTo("chat.postMessage").length;
      assert.equal(valueOf(m.samples, "accessbot_slack_api_calls_total", { method: "chat.postMessage" }), postCalls, "every chat.postMessage the simulator served is counted once");

      // Expiry: the grant is revoked on the target; the unanswered request expires at its TTL.
      clock.advance(HOUR + 60_000);
      await bot.bot.sweep();
      await waitForLedger("grant.deprovisioned");
      clock.advance(24 * HOUR);
      await bot.bot.sweep();
      await bot.bot.settle();
      m = await metrics();
      assert.equal(valueOf(m.samples, "accessbot_provisioning_attempts_total", { action: "deprovision", result: "ok", resource: "hooked-db" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_grants_active"), 0);
      assert.equal(valueOf(m.samples, "accessbot_requests_total", { outcome: "expired", resource: "hooked-db" }), 1);
      assert.equal(valueOf(m.samples, "accessbot_requests_pending"), 0);
      assert.equal((await db.prisma.accessRequest.findUniqueOrThrow({ where: { id: unanswered } })).status, "EXPIRED");
      const head = Number((await db.prisma.ledgerEntry.aggregate({ _max: { seq: true } }))._max.seq);
      assert.equal(valueOf(m.samples, "accessbot_ledger_head_seq"), head);
      // Every sink has delivered up to the head once the relay has drained.
      const sinks = m.samples.filter((sample) => sample.name === "accessbot_audit_sink_lag_entries");
      assert.deepEqual(sinks.map((sample) => sample.labels.sink).sort(), ["alert-detector", "slack-audit-channel"], "a lag per configured sink");
      for (const sink of sinks) assert.equal(sink.value, 0, `${sink.labels.sink} is caught up`);

      // Types a scraper relies on.
      for (const [name, type] of [
        ["accessbot_requests_total", "counter"],
        ["accessbot_votes_total", "counter"],
        ["accessbot_time_to_decision_seconds", "histogram"],
        ["accessbot_provisioning_attempts_total", "counter"],
        ["accessbot_grants_active", "gauge"],
        ["accessbot_job_lag_seconds", "gauge"],
        ["accessbot_audit_sink_lag_entries", "gauge"],
        ["accessbot_slack_api_calls_total", "counter"],
        ["accessbot_slack_rate_limit_waits_total", "counter"],
        ["accessbot_ledger_head_seq", "gauge"],
        ["accessbot_process_resident_memory_bytes", "gauge"],
      ] as const) {
        assert.equal(m.types.get(name.replace(/_total$/, "")) ?? m.types.get(name), type, name);
      }
    });
  });
}
