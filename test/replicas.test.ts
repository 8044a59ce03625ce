// Replica safety: three real bot processes of the compiled build (`npm run build`, then
// `node bin/accessbot.mjs start` with ACCESSBOT_COMPILED=1: plain node on dist/) on one PostgreSQL
// database, one Slack simulator and one grant webhook. 200 people each request 1 minute of access,
// their commands and the approvers' clicks spread round-robin over the three processes; every
// grant must be provisioned once, expire once, be de-provisioned once, be told to its owner once,
// and every ledger entry must reach the audit channel once, whichever process did the work.
//
// PostgreSQL only (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test; skipped
// when unreachable): each run gets a scratch schema t_<random>, which the bots migrate on start
// and the test drops at the end. The last test shows PGlite's one-process-per-directory rule
// from the outside: a second process on the same data directory refuses to start.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureCompiledBuild } from "./support/compiled-build.js";
import { REPLICA_APPROVERS, REPLICA_RESOURCE, startGrantWebhookServer, writeReplicaPolicy, type GrantWebhookServer, type WebhookCall } from "./support/grant-webhook-server.js";
import type { SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import {
  auditSeqCounts,
  botErrorSummary,
  clickButton,
  DEFAULT_TEST_DATABASE_URL,
  describeExit,
  mapConcurrent,
  postgresUnreachable,
  readLedger,
  requestIdOf,
  scratchSchema,
  sendCommand,
  sleep,
  startBotProcess,
  startReplicaSimulator,
  stopAllBotProcesses,
  waitUntil,
  within,
  type BotProcess,
  type ScratchSchema,
} from "./support/start-bot-process.js";

const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const WEBHOOK_SECRET = "replica-webhook-secret-0123456789abcdef";
const BASE_URL = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
const REPLICAS = 3;
const PEOPLE = Number(process.env.REPLICA_TEST_PEOPLE ?? 200);
const REQUESTERS = Array.from({ length: PEOPLE }, (_, index) => `U0REQ${String(index).padStart(3, "0")}`);
/** How the requester is told their access ended (build-notice-message.ts, "grant-expired"). */
const EXPIRY_DM = /\bexpired\b|\bhas ended\b/i;
const LOG_LEVEL = process.env.TEST_BOT_LOG_LEVEL ?? "info";

const unreachable = await postgresUnreachable(BASE_URL);

/** Environment shared by every bot process of these tests. */
function botEnv(sim: SlackSimulator, databaseUrl: string, policyFile: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SLACK_BOT_TOKEN: sim.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: sim.apiUrl,
    ACCESS_POLICY_FILE: policyFile,
    LOG_LEVEL,
    GRANT_WEBHOOK_SECRET: WEBHOOK_SECRET,
    // Every 5 s instead of every minute: expiry is seen within seconds of expires_at.
    ACCESSBOT_SWEEP_SCHEDULE: "*/5 * * * * *",
  };
}

function countBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** "k: n" for every key whose count is not `expected`, for assertion messages (at most 10). */
function offenders(counts: Map<string, number>, keys: readonly string[], expected: number): string[] {
  return keys.filter((key) => (counts.get(key) ?? 0) !== expected).slice(0, 10).map((key) => `${key}: ${counts.get(key) ?? 0}`);
}

/** Runs `work`; if it throws, the error's message gains the bots' error log lines. */
async function withBotErrors(bots: readonly BotProcess[], work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    await sleep(500); // the bots' last log lines may still be in the pipe
    if (error instanceof Error) {
      const extra = `\n--- bot error logs ---\n${botErrorSummary(bots)}`;
      error.message += extra;
      if (error.stack) error.stack += extra;
    }
    throw error;
  }
}

describe(`${REPLICAS} bot processes on one PostgreSQL database`, { skip: unreachable ?? false }, () => {
  let sim: SlackSimulator | undefined;
  let webhook: GrantWebhookServer | undefined;
  let db: ScratchSchema | undefined;
  let workDir: string | undefined;
  const bots: BotProcess[] = [];

  // Built (or reused) before the test's clock starts: `npm run build` takes ~10–30 s.
  before(() => ensureCompiledBuild(), { timeout: 300_000 });

  after(async () => {
    await stopAllBotProcesses();
    await webhook?.close();
    await sim?.close();
    await db?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test(`${PEOPLE} one-minute grants approved across ${REPLICAS} replicas: each provisioned, expired, de-provisioned, told and audited exactly once`, { timeout: 175_000 }, (t) =>
    withBotErrors(bots, async () => {
      const started = Date.now();
      const phase = (name: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);
      sim = await startReplicaSimulator(REQUESTERS, REPLICA_APPROVERS);
      webhook = await startGrantWebhookServer({ secret: WEBHOOK_SECRET });
      db = scratchSchema(BASE_URL);
      workDir = mkdtempSync(path.join(tmpdir(), "accessbot-replicas-"));
      const policyFile = writeReplicaPolicy(workDir, { grantUrl: webhook.grantUrl, timeout: "10s" });

      // All three at once: they race to migrate the fresh schema (the migrator's advisory lock decides).
      bots.push(...(await Promise.all(Array.from({ length: REPLICAS }, (_, index) => startBotProcess({ name: `replica-${index + 1}`, env: botEnv(sim!, db!.url, policyFile), compiled: true })))));
      phase(`${REPLICAS} bots healthy (pids ${bots.map((bot) => bot.pid).join(", ")})`);
      const simulator = sim;
      const database = db;
      const hooks = webhook;

      // 1. Every requester asks once, round-robin over the replicas.
      const requestIds = await mapConcurrent(REQUESTERS, 12, async (userId, index) => {
        const bot = bots[index % REPLICAS]!;
        const { http, replyText } = await sendCommand(simulator, bot, SIGNING_SECRET, userId, `${REPLICA_RESOURCE} 1m replica test ${index}`, { key: `req-${index}` });
        assert.equal(http.status, 200, `${bot.name} answered ${http.status} to ${userId}'s command: ${http.text}`);
        const requestId = requestIdOf(replyText);
        assert.ok(requestId && /waiting for approval/i.test(replyText), `${userId} (via ${bot.name}) was told: ${replyText}`);
        return requestId;
      });
      assert.equal(new Set(requestIds).size, PEOPLE, "every command made its own request");
      phase(`${PEOPLE} requests created`);

      // 2. One approver approves each request on its approval-channel message, sent to another replica.
      const approvalMessages = await waitUntil(
        `${PEOPLE} request messages in the approval channel`,
        () => {
          const byRequest = new Map(simulator.messages("C0APPROVALS").map((message) => [requestIdOf(message.text), message]));
          return requestIds.every((id) => byRequest.has(id)) ? byRequest : false;
        },
        { timeoutMs: 60_000, intervalMs: 500, describe: () => `approval channel has ${simulator.messages("C0APPROVALS").length} messages` },
      );
      await mapConcurrent(requestIds, 12, async (requestId, index) => {
        const bot = bots[(index + 1) % REPLICAS]!;
        const approver = REPLICA_APPROVERS[index % REPLICA_APPROVERS.length]!;
        const { http, replyText } = await clickButton(simulator, bot, SIGNING_SECRET, approver, approvalMessages.get(requestId)!, "access_approve", { key: `approve-${index}` });
        assert.equal(http.status, 200, `${bot.name} answered ${http.status} to ${approver}'s click on ${requestId}`);
        assert.doesNotMatch(replyText, /went wrong|error|could not|couldn't/i, `${approver} clicking Approve on ${requestId} via ${bot.name} was told: ${replyText}`);
      });
      phase(`${PEOPLE} approvals clicked`);

      const grants = await waitUntil(
        `${PEOPLE} grants in the database`,
        async () => {
          const rows = await database.query<{ id: string; request_id: string; user_id: string; expires_at: Date }>(`SELECT id, request_id, user_id, expires_at FROM "grant"`);
          return rows.length >= PEOPLE ? rows : false;
        },
        { timeoutMs: 60_000, intervalMs: 500, describe: async () => `grants: ${(await database.query(`SELECT count(*)::int AS n FROM "grant"`))[0]?.n}` },
      );
      assert.equal(grants.length, PEOPLE, "one grant per approved request");
      const grantIds = grants.map((grant) => grant.id);
      const grantById = new Map(grants.map((grant) => [grant.id, grant]));

      // 3. Every grant is provisioned through the webhook (once, checked below).
      const distinctGrantIds = (action: string) => (calls: WebhookCall[]) => new Set(calls.filter((call) => call.action === action && call.outcome !== "aborted").map((call) => call.grant_id)).size >= PEOPLE;
      await hooks.waitFor(`${PEOPLE} grant calls`, distinctGrantIds("grant"), { timeoutMs: 60_000 });
      phase(`${PEOPLE} grants provisioned`);

      // 4. They expire (1 minute after activation) and are de-provisioned.
      const lastExpiry = Math.max(...(await database.query<{ expires_at: Date }>(`SELECT expires_at FROM "grant"`)).map((row) => row.expires_at.getTime()));
      await hooks.waitFor(`${PEOPLE} revoke calls`, distinctGrantIds("revoke"), { timeoutMs: Math.max(0, lastExpiry - Date.now()) + 60_000 });
      phase(`${PEOPLE} grants de-provisioned`);

      // 5. Let the after-commit effects (DMs, audit relay) finish, then give duplicates a chance to show.
      const ledgerHead = async () => Number((await database.query<{ head: string | null }>(`SELECT max(seq)::text AS head FROM ledger_entry`))[0]?.head ?? 0);
      await waitUntil(
        "every expiry DM and every ledger entry in the audit channel",
        async () => {
          const head = await ledgerHead();
          const seen = auditSeqCounts(simulator);
          const told = REQUESTERS.filter((userId) => simulator.messages(userId).some((message) => EXPIRY_DM.test(message.text))).length;
          return head > 0 && seen.size >= head && told >= PEOPLE;
        },
        {
          timeoutMs: 45_000,
          intervalMs: 1000,
          describe: async () => `ledger head ${await ledgerHead()}, audit lines ${auditSeqCounts(simulator).size}, requesters told ${REQUESTERS.filter((userId) => simulator.messages(userId).some((message) => EXPIRY_DM.test(message.text))).length}`,
        },
      ).catch((error: unknown) => t.diagnostic(String(error))); // the assertions below say what is missing
      await sleep(6_000); // longer than one sweep interval and the relay's 2 s retry tick
      phase("settled");

      // Every webhook call was signed with the shared secret.
      const unsigned = hooks.calls.filter((call) => !call.signatureValid);
      assert.equal(unsigned.length, 0, `unsigned or badly signed webhook calls: ${unsigned.slice(0, 5).map((call) => `#${call.n} ${call.action} ${call.grant_id}`).join(", ")}`);

      // Exactly one grant and one revoke call per grant, describing that grant.
      const grantCalls = hooks.callsWhere({ action: "grant" });
      const revokeCalls = hooks.callsWhere({ action: "revoke" });
      assert.deepEqual(offenders(countBy(grantCalls, (call) => call.grant_id), grantIds, 1), [], "grant webhook calls per grant (expected 1 each)");
      assert.deepEqual(offenders(countBy(revokeCalls, (call) => call.grant_id), grantIds, 1), [], "revoke webhook calls per grant (expected 1 each)");
      assert.equal(grantCalls.length, PEOPLE, "no grant call for an unknown grant");
      assert.equal(revokeCalls.length, PEOPLE, "no revoke call for an unknown grant");
      for (const call of [...grantCalls, ...revokeCalls]) {
        const grant = grantById.get(call.grant_id!)!;
        assert.equal(call.request_id, grant.request_id, `webhook call #${call.n} names the grant's request`);
        assert.ok(JSON.stringify(call.user ?? "").includes(grant.user_id), `webhook call #${call.n} names the grantee ${grant.user_id}: ${JSON.stringify(call.user)}`);
      }
      for (const call of revokeCalls) {
        const grant = grantById.get(call.grant_id!)!;
        assert.ok(call.receivedAt >= grant.expires_at.getTime() - 1000, `grant ${grant.id} was revoked at ${new Date(call.receivedAt).toISOString()}, before it expired at ${grant.expires_at.toISOString()}`);
      }
      const status = await database.query<{ status: string; n: number }>(`SELECT status::text AS status, count(*)::int AS n FROM "grant" GROUP BY status`);
      assert.deepEqual(status, [{ status: "EXPIRED", n: PEOPLE }], "every grant ended as EXPIRED");

      // The ledger: one grant.expired and one grant.deprovisioned per grant, and no gap in seq.
      const ledger = await readLedger(database.query);
      assert.deepEqual(
        ledger.map((entry) => entry.seq).filter((seq, index) => seq !== index + 1).slice(0, 5),
        [],
        `ledger seq is gapless from 1 (head ${ledger.at(-1)?.seq}, ${ledger.length} entries)`,
      );
      const requestIdsOfGrants = grants.map((grant) => grant.request_id);
      for (const type of ["grant.expired", "grant.deprovisioned"]) {
        const counts = countBy(ledger.filter((entry) => entry.type === type), (entry) => entry.requestId ?? undefined);
        assert.deepEqual(offenders(counts, requestIdsOfGrants, 1), [], `${type} ledger entries per request (expected 1 each); types in the ledger: ${[...countBy(ledger, (entry) => entry.type)].map(([k, v]) => `${k} ${v}`).join(", ")}`);
      }

      // Each requester was told once that their access ended.
      const told = new Map(REQUESTERS.map((userId) => [userId, simulator.messages(userId).filter((message) => EXPIRY_DM.test(message.text)).length]));
      assert.deepEqual(offenders(told, REQUESTERS, 1), [], "expiry DMs per requester (expected exactly 1 each)");

      // The audit channel shows every ledger entry exactly once.
      const audited = auditSeqCounts(simulator);
      const seqs = ledger.map((entry) => String(entry.seq));
      const auditedByKey = new Map([...audited].map(([seq, count]) => [String(seq), count]));
      assert.deepEqual(offenders(auditedByKey, seqs, 1), [], `audit channel lines per ledger seq (expected exactly 1 each; ${ledger.length} entries, ${[...audited.values()].reduce((a, b) => a + b, 0)} lines)`);
      assert.deepEqual([...audited.keys()].filter((seq) => seq > ledger.length), [], "no audit line for a seq the ledger does not have");

      for (const bot of bots) assert.ok(bot.running, `${bot.name} is still running: ${bot.tail(10)}`);
      phase("done");
    }),
  );
});

describe("PGlite: one process per data directory", () => {
  let workDir: string | undefined;
  let sim: SlackSimulator | undefined;
  after(async () => {
    await stopAllBotProcesses();
    await sim?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("a second process on the same PGlite data directory exits non-zero, naming the process that holds it", { timeout: 120_000 }, async () => {
    sim = await startReplicaSimulator([], REPLICA_APPROVERS);
    workDir = mkdtempSync(path.join(tmpdir(), "accessbot-pglite-two-"));
    const dataDir = path.join(workDir, "pglite");
    const policyFile = writeReplicaPolicy(workDir, { grantUrl: "http://127.0.0.1:9/grant" });
    const url = new URL("postgresql://pglite.invalid/pglite");
    url.searchParams.set("data_dir", dataDir);
    const env = botEnv(sim, url.toString(), policyFile);

    const first = await startBotProcess({ name: "pglite-first", env, cwd: workDir });
    const second = await startBotProcess({ name: "pglite-second", env, cwd: workDir, waitForHealthy: false });
    const exit = await within(second.exited, 60_000);
    assert.ok(exit, `the second process was still running after 60 s: ${second.tail()}`);
    assert.notEqual(exit.code, 0, `the second process must fail (${describeExit(exit)})`);
    assert.equal(exit.signal, null, "it exits by itself, not by a signal");
    const escaped = dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    assert.match(second.tail(), new RegExp(`PGlite data directory ${escaped} is in use by process ${first.pid}\\b`));

    // The first is unharmed and still owns the directory.
    const health = await fetch(`${first.url}/healthz`);
    assert.equal(health.status, 200, first.tail());
    assert.ok(first.running);
    assert.deepEqual(await first.stop(), { code: 0, signal: null }, first.tail());
  });
});
