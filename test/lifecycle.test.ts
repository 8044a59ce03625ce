// The grant lifecycle end to end: provisioning through real targets (a signed webhook on
// 127.0.0.1, a command, a Slack user group in the simulator, a PostgreSQL role), retries,
// overlapping grants, expiry warnings with Extend / I'm done, admin revokes, reminders,
// request TTLs with Request again, and break-glass with its review, on every test database.
import assert from "node:assert/strict";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Database } from "../src/db/open-database.js";
import { extendGrant } from "../src/domain/extend-grant.js";
import { sha256OfCanonical } from "../src/ledger/ledger-hash.js";
import { ActionIds, BlockIds, CallbackIds, InputActionIds } from "../src/slack/slack-ids.js";
import { blockActionsPayload, postToBot, stateValues, staticSelectValue, viewSubmissionPayload, type StateValue } from "./support/slack-requests.js";
import type { SimMessage, SimView } from "../src/slack-simulator/slack-simulator.js";
import { replyText, requestIdIn, SIGNING_SECRET, startTestBot, TestClock, USERS, type TestBot } from "./support/start-test-bot.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const POLICY_TEMPLATE = fileURLToPath(new URL("./fixtures/lifecycle-policy.yml", import.meta.url));
const RECORD_SCRIPT = fileURLToPath(new URL("./fixtures/lifecycle-record.mjs", import.meta.url));
const WEBHOOK_SECRET = "lifecycle-webhook-secret-0123456789";
/** A Slack user group the team-chat resource adds grantees to; sre1 is a permanent member. */
const TARGET_GROUP = "S0TARGET";

// ---------------------------------------------------------------------------------------
// The webhook target: a real HTTP server that checks the bot's signature and answers as told.
// ---------------------------------------------------------------------------------------

interface HookCall {
  action: string;
  grantId: string;
  userId: string;
  expiresAt: string;
  idempotencyKey: string | undefined;
  signatureValid: boolean;
  /** 0 while the answer is held back. */
  status: number;
}

interface HookServer {
  url: string;
  calls: HookCall[];
  callsFor(action: string, grantId?: string): HookCall[];
  /** Answers `status` to the next `times` calls of `action`. */
  failNext(action: string, times: number, status?: number): void;
  /** Holds the answer to the next call of `action` until the returned function is called. */
  hold(action: string): () => void;
  reset(): void;
  close(): Promise<void>;
}

async function startHookServer(secret: string): Promise<HookServer> {
  const calls: HookCall[] = [];
  let failures: Array<{ action: string; remaining: number; status: number }> = [];
  let holds: Array<{ action: string; gate: Promise<void> }> = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => {
      void (async () => {
        const timestamp = String(req.headers["x-accessbot-timestamp"] ?? "");
        const signature = String(req.headers["x-accessbot-signature"] ?? "");
        const expected = `v1=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;
        const signatureValid = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
        const body = JSON.parse(raw) as { action?: string; grant_id?: string; user?: { id?: string }; expires_at?: string };
        const call: HookCall = {
          action: String(body.action),
          grantId: String(body.grant_id),
          userId: String(body.user?.id),
          expiresAt: String(body.expires_at),
          idempotencyKey: req.headers["idempotency-key"] as string | undefined,
          signatureValid,
          status: 0,
        };
        calls.push(call);
        const hold = holds.find((candidate) => candidate.action === call.action);
        if (hold) {
          holds = holds.filter((candidate) => candidate !== hold);
          await hold.gate;
        }
        const failure = failures.find((candidate) => candidate.action === call.action && candidate.remaining > 0);
        if (failure) failure.remaining--;
        call.status = !signatureValid ? 401 : (failure?.status ?? 200);
        res.writeHead(call.status, { "content-type": "application/json" });
        res.end(call.status === 200 ? '{"ok":true}' : '{"error":"target system is down"}');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/grant`,
    calls,
    callsFor: (action, grantId) => calls.filter((call) => call.action === action && (grantId === undefined || call.grantId === grantId)),
    failNext(action, times, status = 500) {
      failures.push({ action, remaining: times, status });
    },
    hold(action) {
      let release!: () => void;
      holds.push({ action, gate: new Promise<void>((resolve) => (release = resolve)) });
      return () => release();
    },
    reset() {
      calls.length = 0;
      failures = [];
      holds = [];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface LedgerLine {
  seq: bigint;
  type: string;
  requestId: string | null;
  actorId: string | null;
  data: Record<string, unknown>;
}

for (const target of testDatabases) {
  describe(`grant lifecycle end to end (${target.name})`, () => {
    let db: Database;
    let hook: HookServer;
    let workDir: string;
    let policyFile: string;
    let recordFile: string;
    let t: TestBot | null = null;
    const suffix = randomBytes(4).toString("hex");
    const pgRole = `accessbot_lc_role_${suffix}`;
    const pgLogin = `accessbot_lc_login_${suffix}`;
    const pgUrl = process.env.TEST_DATABASE_URL || "postgresql://127.0.0.1:1/unused";

    before(async () => {
      db = await target.open();
      hook = await startHookServer(WEBHOOK_SECRET);
      workDir = mkdtempSync(path.join(tmpdir(), "accessbot-lifecycle-"));
      recordFile = path.join(workDir, "command-target.jsonl");
      policyFile = path.join(workDir, "access-policy.yml");
      const policy = readFileSync(POLICY_TEMPLATE, "utf8")
        .replaceAll("{{WEBHOOK_URL}}", hook.url)
        .replaceAll("{{NODE}}", process.execPath)
        .replaceAll("{{RECORD_SCRIPT}}", RECORD_SCRIPT)
        .replaceAll("{{PG_ROLE}}", pgRole)
        .replaceAll("{{PG_LOGIN}}", pgLogin);
      assert.ok(!policy.includes("{{"), "every placeholder is filled");
      writeFileSync(policyFile, policy);
    });
    after(async () => {
      await hook.close();
      await db.close();
      rmSync(workDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await resetDatabase(db);
      hook.reset();
      writeFileSync(recordFile, "");
      t = null;
    });
    afterEach(async () => {
      await t?.stop();
    });

    async function start(clock?: TestClock): Promise<TestBot> {
      t = await startTestBot(db, {
        env: { ACCESS_POLICY_FILE: policyFile, GRANT_WEBHOOK_SECRET: WEBHOOK_SECRET, LIFECYCLE_RECORD_FILE: recordFile, LIFECYCLE_PG_URL: pgUrl },
        ...(clock ? { clock } : {}),
      });
      t.sim.setUsergroup(TARGET_GROUP, [USERS.sre1]);
      return t;
    }
    const bot = (): TestBot => {
      assert.ok(t, "the bot was started");
      return t;
    };

    // ---- helpers ------------------------------------------------------------------------
    const ledger = async (requestId?: string): Promise<LedgerLine[]> =>
      (await db.prisma.ledgerEntry.findMany({ where: requestId ? { requestId } : {}, orderBy: { seq: "asc" } })).map((entry) => ({
        seq: entry.seq,
        type: entry.type,
        requestId: entry.requestId,
        actorId: entry.actorId,
        data: (JSON.parse(entry.body) as { data: Record<string, unknown> }).data,
      }));
    const typesOf = async (requestId?: string) => (await ledger(requestId)).map((entry) => entry.type);
    const grantOf = (requestId: string) => db.prisma.grant.findUniqueOrThrow({ where: { requestId } });
    const describeJobs = async () =>
      (await db.prisma.job.findMany({ orderBy: { id: "asc" } }))
        .map((job) => `  #${job.id} ${job.kind} lane=${job.lane ?? "-"} runAt=${job.runAt.toISOString()} attempts=${job.attempts} locked=${job.lockedBy ?? "-"} until ${job.lockedUntil?.toISOString() ?? "-"} done=${job.doneAt?.toISOString() ?? "-"} ${job.outcome ?? ""} error=${job.lastError ?? "-"}`)
        .join("\n");
    const requestRow = (id: string) => db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    const dms = (userId: string): SimMessage[] => bot().sim.messages(bot().sim.dmChannelFor(userId));
    const dmsMatching = (userId: string, pattern: RegExp) => dms(userId).filter((message) => pattern.test(message.text));
    const auditText = () => bot().sim.messages("C0AUDIT").map((message) => message.text).join("\n");
    const buttonsOf = (message: SimMessage) => (JSON.stringify(message.blocks ?? []).match(/"action_id":"[a-z_]+"/g) ?? []).map((text) => text.slice(13, -1));

    /** Moves the bot's clock to `at` (never back) and runs every lifecycle step due then, and every job due after them. */
    async function sweepAt(at: Date) {
      const delta = at.getTime() - bot().clock.now().getTime();
      if (delta > 0) bot().clock.advance(delta);
      const report = await bot().bot.sweep(at);
      await bot().bot.settle();
      return report;
    }
    async function advance(ms: number) {
      bot().clock.advance(ms);
      await bot().bot.settle();
    }
    async function command(userId: string, text: string): Promise<string> {
      const { reply } = await bot().command(userId, text);
      assert.equal((reply?.body as { response_type?: string }).response_type, "ephemeral");
      return replyText(reply);
    }
    async function openRequest(text: string, userId: string = USERS.eng): Promise<string> {
      const reply = await command(userId, text);
      assert.match(reply, /waiting for approval/, reply);
      return requestIdIn(reply);
    }
    async function approve(requestId: string, by: string = USERS.sre1): Promise<string> {
      return replyText((await bot().click(by, bot().approvalMessage(requestId), ActionIds.approve)).reply);
    }
    async function activeGrant(text: string) {
      const id = await openRequest(text);
      await approve(id);
      const grant = await grantOf(id);
      assert.equal(grant.status, "ACTIVE", `grant of “${text}” is active`);
      return { id, grant };
    }
    function warningFor(grantId: string): SimMessage {
      const warnings = dmsMatching(USERS.eng, new RegExp(`grant ${grantId}\\) ends .*Need more time`));
      assert.equal(warnings.length, 1, `exactly one expiry warning for ${grantId}`);
      return structuredClone(warnings[0]!);
    }
    async function openExtendModal(warning: SimMessage): Promise<SimView> {
      const before = bot().sim.views().length;
      await bot().click(USERS.eng, warning, ActionIds.extend, { expectReply: false });
      const views = bot().sim.views();
      assert.equal(views.length, before + 1, "the extend modal opened");
      const view = views.at(-1)!;
      assert.equal(view.callback_id, CallbackIds.extendModal);
      return view;
    }
    const durationOptions = (view: SimView): string[] => {
      const block = view.blocks.find((candidate) => (candidate as { block_id?: string }).block_id === BlockIds.extendDuration) as { element: { options: Array<{ value: string }> } };
      return block.element.options.map((option) => option.value);
    };
    async function submitExtend(view: SimView, duration: string | null, reason = "", userId: string = USERS.eng) {
      const values: Record<string, Record<string, string | StateValue>> = { [BlockIds.extendReason]: { [InputActionIds.reason]: reason } };
      if (duration !== null) values[BlockIds.extendDuration] = { [InputActionIds.duration]: staticSelectValue(duration) };
      const http = await postToBot(bot().botUrl, SIGNING_SECRET, {
        body: viewSubmissionPayload({ user: { id: userId }, view: { ...view, state: stateValues(values) } }),
        contentType: "application/x-www-form-urlencoded",
      });
      assert.equal(http.status, 200);
      await bot().bot.settle();
      return http.json as { response_action?: string; errors?: Record<string, string> } | undefined;
    }

    // ---- provisioning through the webhook ---------------------------------------------------

    test("webhook: approve → provisioning job → signed grant call → active; expiry → signed revoke call → deprovisioned; the requester is told each step", async () => {
      await start();
      const id = await openRequest("hook-db 1h deploying INC-7001");
      // Hold the target's answer, so what happens before provisioning finishes can be seen.
      const release = hook.hold("grant");
      const clicked = bot().click(USERS.sre1, bot().approvalMessage(id), ActionIds.approve);
      // The DM and the grant call are separate jobs in separate lanes: either may come first.
      // (This wait timed out in 2 of 12 runs on 2026-12-04, the grant call never made; the job
      // table at that moment is what would say why.)
      await bot()
        .sim.waitFor(() => dmsMatching(USERS.eng, /Approved: your request .*being set up/).length > 0 && hook.callsFor("grant").length > 0, { timeoutMs: 10_000 })
        .catch(async (error: Error) => {
          throw new Error(`${error.message}\nGrant calls seen: ${hook.callsFor("grant").length}\nJobs now (${new Date().toISOString()}):\n${await describeJobs()}`);
        });
      assert.equal((await grantOf(id)).status, "PROVISIONING", "the grant is not active before the target confirmed it");
      assert.equal(hook.callsFor("grant").length, 1, "the job called the webhook once");
      assert.ok((await typesOf(id)).includes("grant.provisioning"));
      assert.ok(!(await typesOf(id)).includes("grant.activated"));
      release();
      assert.match(replyText((await clicked).reply), /access is being set up on `hook-db`/);
      await bot().bot.settle();
      // The released webhook answer may still be on its way back to the provisioning job.
      for (let tries = 0; tries < 50 && (await grantOf(id)).status === "PROVISIONING"; tries++) await new Promise((resolve) => setTimeout(resolve, 200));
      await bot().bot.settle();

      const grant = await grantOf(id);
      assert.equal(grant.status, "ACTIVE");
      assert.equal(grant.expiresAt.getTime() - grant.activatedAt.getTime(), HOUR, "the window starts when the access exists");
      assert.deepEqual(await typesOf(id), ["request.created", "vote.approved", "grant.provisioning", "grant.provisioned", "grant.activated"]);
      const [grantCall] = hook.callsFor("grant");
      assert.ok(grantCall!.signatureValid, "the grant call is signed with the shared secret");
      assert.equal(grantCall!.grantId, grant.id);
      assert.equal(grantCall!.userId, USERS.eng);
      assert.equal(grantCall!.idempotencyKey, `${grant.id}:grant`);
      const told = dms(USERS.eng).map((message) => message.text);
      const setUp = told.findIndex((text) => /being set up/.test(text));
      const active = told.findIndex((text) => new RegExp(`\`hook-db\` \\(grant ${grant.id}\\) is active until`).test(text));
      assert.ok(setUp >= 0 && active > setUp, `first “being set up”, then “active”: ${told.join(" | ")}`);
      assert.match(JSON.stringify(bot().approvalMessage(id).blocks), /Active until/);

      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() - SECOND))).grantsExpired, []);
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() + SECOND))).grantsExpired, [grant.id]);
      const ended = await grantOf(id);
      assert.equal(ended.status, "EXPIRED");
      assert.ok(ended.deprovisionedAt, "the target confirmed the revoke");
      assert.deepEqual((await typesOf(id)).slice(-2), ["grant.expired", "grant.deprovisioned"]);
      const revokes = hook.callsFor("revoke", grant.id);
      assert.equal(revokes.length, 1);
      assert.ok(revokes[0]!.signatureValid);
      assert.equal(revokes[0]!.idempotencyKey, `${grant.id}:revoke`);
      assert.equal(dmsMatching(USERS.eng, new RegExp(`\`hook-db\` \\(grant ${grant.id}\\) has ended`)).length, 1, "the requester is told once");
      assert.match(JSON.stringify(bot().approvalMessage(id).blocks), /Granted, now expired/);
    });

    test("webhook grant failing: retried with backoff, the requester told once that it is slow; after max_attempts FAILED, cleaned up, told, messages updated", async () => {
      await start();
      hook.failNext("grant", 3);
      const id = await openRequest("hook-db 1h the target is down");
      assert.match(await approve(id), /being set up/);
      let entries = await ledger(id);
      assert.deepEqual(entries.filter((entry) => entry.type === "grant.provision_failed").map((entry) => entry.data.attempt), [1]);
      assert.match(String(entries.at(-1)!.data.error), /HTTP 500/);
      assert.equal((await grantOf(id)).status, "PROVISIONING");
      assert.equal(dmsMatching(USERS.eng, /taking longer than expected/).length, 1);

      // Not due yet: nothing happens until the backoff has passed.
      await advance(4 * SECOND);
      assert.equal(hook.callsFor("grant").length, 1);
      await advance(1 * SECOND);
      assert.equal(hook.callsFor("grant").length, 2, "the second attempt after 5 s");
      await advance(10 * SECOND);
      assert.equal(hook.callsFor("grant").length, 3, "the third attempt 10 s later");

      const grant = await grantOf(id);
      assert.equal(grant.status, "FAILED");
      entries = await ledger(id);
      assert.deepEqual(entries.filter((entry) => entry.type === "grant.provision_failed").map((entry) => entry.data.attempt), [1, 2, 3]);
      assert.ok(entries.some((entry) => entry.type === "grant.failed" && entry.data.attempts === 3));
      assert.ok(!entries.some((entry) => entry.type === "grant.activated"), "never active");
      assert.equal(hook.callsFor("revoke", grant.id).length, 1, "a clean-up revoke, in case an attempt half-succeeded");
      assert.equal(entries.at(-1)!.type, "grant.deprovisioned");
      assert.equal(dmsMatching(USERS.eng, /taking longer than expected/).length, 1, "told once that it is slow");
      assert.equal(dmsMatching(USERS.eng, /could not be set up after 3 attempts/).length, 1);
      assert.match(JSON.stringify(bot().approvalMessage(id).blocks), /provisioning failed/);
      assert.match(await command(USERS.eng, "list"), /no active grants/);
      assert.equal(await db.prisma.grant.count({ where: { status: { in: ["ACTIVE", "PROVISIONING"] } } }), 0);
      // Nothing more is tried.
      await advance(10 * MINUTE);
      assert.equal(hook.callsFor("grant").length, 3);
    });

    test("webhook revoke failing: every failed attempt is in the ledger and the audit channel, retried until the target recovers, deprovisioned once", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-db 1h revoke will fail");
      hook.failNext("revoke", 3);
      await sweepAt(new Date(grant.expiresAt.getTime() + SECOND));
      assert.equal(hook.callsFor("revoke").length, 1);
      for (const wait of [5, 10, 20]) await advance(wait * SECOND);
      assert.equal(hook.callsFor("revoke").length, 4);
      assert.deepEqual(hook.callsFor("revoke").map((call) => call.status), [500, 500, 500, 200]);
      const entries = await ledger(id);
      const failed = entries.filter((entry) => entry.type === "grant.deprovision_failed");
      assert.deepEqual(failed.map((entry) => entry.data.attempt), [1, 2, 3]);
      assert.ok(failed.every((entry) => /HTTP 500/.test(String(entry.data.error))));
      assert.equal(entries.filter((entry) => entry.type === "grant.deprovisioned").length, 1);
      assert.equal(entries.at(-1)!.type, "grant.deprovisioned");
      assert.ok((await grantOf(id)).deprovisionedAt);
      for (const entry of failed) assert.match(auditText(), new RegExp(`\`#${entry.seq}\`.*revoke failing.*\\(attempt ${String(entry.data.attempt)}\\).*HTTP 500`), `entry #${entry.seq} is in the audit channel`);
      await advance(10 * MINUTE);
      assert.equal(hook.callsFor("revoke").length, 4, "no revoke after it succeeded");
    });

    // ---- overlapping grants, for every built-in provisioner type ------------------------------

    /** Two grants of one person and resource: the first ending keeps the access, the last removes it. */
    async function checkOverlap(resource: string, probe: { hasAccess(): Promise<boolean>; revokeCalls(): number | Promise<number> }) {
      await start();
      const first = await activeGrant(`${resource} 1h first task`);
      const second = await activeGrant(`${resource} 2h second task`);
      assert.ok(await probe.hasAccess(), "granted");
      await sweepAt(new Date(first.grant.expiresAt.getTime() + SECOND));
      assert.equal((await grantOf(first.id)).status, "EXPIRED");
      const kept = (await ledger(first.id)).find((entry) => entry.type === "grant.deprovisioned");
      assert.ok(kept, "the first grant's revoke is recorded");
      assert.deepEqual(kept.data.kept_for, [second.grant.id]);
      assert.equal(await probe.revokeCalls(), 0, "the target was not asked to revoke");
      assert.ok(await probe.hasAccess(), "the access stays for the second grant");

      await sweepAt(new Date(second.grant.expiresAt.getTime() + SECOND));
      assert.equal((await grantOf(second.id)).status, "EXPIRED");
      const removed = (await ledger(second.id)).find((entry) => entry.type === "grant.deprovisioned");
      assert.ok(removed);
      assert.equal(removed.data.kept_for, undefined);
      assert.equal(await probe.revokeCalls(), 1);
      assert.ok(!(await probe.hasAccess()), "the access is gone when the last grant ends");
    }

    test("overlapping grants, webhook: the first end keeps the access, the last removes it", async () => {
      await checkOverlap("hook-db", {
        hasAccess: async () => {
          const last = hook.calls.filter((call) => call.status === 200).at(-1);
          return last?.action === "grant";
        },
        revokeCalls: () => hook.callsFor("revoke").length,
      });
      assert.equal(hook.callsFor("grant").length, 2, "each grant was provisioned");
    });

    test("overlapping grants, command: the first end runs no revoke command, the last does", async () => {
      const lines = () =>
        readFileSync(recordFile, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { action: string; argv_action: string; user: string });
      await checkOverlap("cmd-box", {
        hasAccess: async () => lines().at(-1)?.action === "grant",
        revokeCalls: () => lines().filter((line) => line.action === "revoke").length,
      });
      assert.deepEqual(lines().map((line) => [line.action, line.argv_action, line.user]), [["grant", "grant", USERS.eng], ["grant", "grant", USERS.eng], ["revoke", "revoke", USERS.eng]]);
    });

    test("overlapping grants, slack-usergroup: the person stays in the group until the last grant ends, and the other member is never touched", async () => {
      const members = async () => (await bot().bot.app.client.usergroups.users.list({ usergroup: TARGET_GROUP })).users ?? [];
      const updates = () => bot().sim.callsTo("usergroups.users.update").filter((call) => call.result.ok === true);
      await checkOverlap("team-chat", {
        hasAccess: async () => (await members()).includes(USERS.eng),
        revokeCalls: () => updates().filter((call) => !String(call.params.users).includes(USERS.eng)).length,
      });
      assert.deepEqual(await members(), [USERS.sre1]);
    });

    test("overlapping grants, postgres-role: SET ROLE works after the grant and after the first grant ends, and fails after the last", { skip: target.name === "postgres" ? false : "runs in the PostgreSQL half: the postgres-role target is a role on that server" }, async () => {
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE "${pgRole}" NOLOGIN`);
        await admin.query(`CREATE ROLE "${pgLogin}" LOGIN`);
        const loginUrl = new URL(pgUrl);
        loginUrl.username = pgLogin;
        loginUrl.password = "";
        const canSetRole = async () => {
          const login = new pg.Client({ connectionString: loginUrl.toString() });
          await login.connect();
          try {
            await login.query(`SET ROLE "${pgRole}"`);
            return true;
          } catch (error) {
            assert.match((error as Error).message, /permission denied to set role/);
            return false;
          } finally {
            await login.end();
          }
        };
        assert.equal(await canSetRole(), false, "no access before the grant");
        await checkOverlap("pg-db", {
          hasAccess: canSetRole,
          // What the provisioner did is in each revoke's ledger entry.
          revokeCalls: async () => (await ledger()).filter((entry) => entry.type === "grant.deprovisioned" && (entry.data.detail as { action?: string }).action === "revoked").length,
        });
      } finally {
        await admin.query(`DROP ROLE IF EXISTS "${pgLogin}"`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS "${pgRole}"`).catch(() => undefined);
        await admin.end();
      }
    });

    // ---- expiry warning, Extend and I'm done --------------------------------------------------

    test("expiry warning once; Extend without approval moves the expiry with no revoke in between, and a second extension is refused", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-free 1h warn me");
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() - 11 * MINUTE))).grantsWarned, [], "not before expiry_warning");
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() - 9 * MINUTE))).grantsWarned, [grant.id]);
      const warning = warningFor(grant.id);
      assert.deepEqual(buttonsOf(warning), [ActionIds.extend, ActionIds.release]);
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() - 8 * MINUTE))).grantsWarned, [], "warned once");
      warningFor(grant.id);

      const view = await openExtendModal(warning);
      assert.equal(view.private_metadata, grant.id);
      assert.deepEqual(durationOptions(view), ["15m", "30m", "1h"], "up to what is left of the 2h maximum");
      assert.match(JSON.stringify(view.blocks), /extended at once, without approval \(1 of 1 extension\(s\) left\)/);
      // The submitter comes from the signed payload: someone else submitting this view is refused.
      const forged = await submitExtend(view, "30m", "", USERS.eng2);
      assert.match(forged!.errors![BlockIds.extendDuration]!, new RegExp(`You have no grant ${grant.id}`));
      assert.equal((await grantOf(id)).extensions, 0);
      assert.equal(await submitExtend(view, "30m"), undefined, "a plain ack closes the modal");

      const extended = await grantOf(id);
      assert.equal(extended.id, grant.id);
      assert.equal(extended.status, "ACTIVE");
      assert.equal(extended.expiresAt.getTime(), grant.expiresAt.getTime() + 30 * MINUTE);
      assert.equal(extended.extensions, 1);
      const entry = (await ledger(id)).find((candidate) => candidate.type === "grant.extended");
      assert.ok(entry);
      assert.equal(entry.data.without_approval, true);
      assert.equal(entry.data.previous_expires_at, grant.expiresAt.toISOString());
      assert.equal(entry.data.expires_at, extended.expiresAt.toISOString());
      assert.equal(entry.actorId, null, "the ledger names the system as actor");
      assert.equal(hook.callsFor("revoke").length, 0, "no revoke in between");
      assert.equal(hook.callsFor("extend", grant.id).length, 1, "the target is told the new expiry");
      assert.equal(dmsMatching(USERS.eng, /^:arrows_counterclockwise: Extended: your access to `hook-free`/).length, 1);
      // The old expiry passes: nothing ends.
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() + SECOND))).grantsExpired, []);

      // A second extension: refused at the button, and a stale modal is refused as a field error.
      assert.match(replyText((await bot().click(USERS.eng, warning, ActionIds.extend)).reply), /already extended 1 time\(s\), the most `hook-free` allows without approval/);
      const again = await submitExtend(view, "15m");
      assert.equal(again?.response_action, "errors");
      assert.match(again!.errors![BlockIds.extendDuration]!, /already extended 1 time/);
      assert.equal((await grantOf(id)).expiresAt.getTime(), extended.expiresAt.getTime());
      assert.equal((await typesOf(id)).filter((type) => type === "grant.extended").length, 1);
    });

    test("I'm done ends the grant at once and the target revokes it; clicking again or someone else's click changes nothing", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-free 1h short job");
      await sweepAt(new Date(grant.expiresAt.getTime() - 9 * MINUTE));
      const warning = warningFor(grant.id);
      const stranger = await bot().click(USERS.eng2, warning, ActionIds.release);
      assert.match(replyText(stranger.reply), /You have no grant/);
      assert.match(replyText((await bot().click(USERS.eng2, warning, ActionIds.extend)).reply), /You have no grant/);
      // An admin ends someone else's grant with a reason (`/access revoke`), never as "I'm done".
      assert.match(replyText((await bot().click(USERS.sec, warning, ActionIds.release)).reply), /You have no grant/);
      // A button value that is not a grant id never reaches the domain.
      for (const [actionId, value] of [[ActionIds.release, "DROP TABLE"], [ActionIds.extend, id]] as const) {
        const key = `forged-${actionId}`;
        const forged = await postToBot(bot().botUrl, SIGNING_SECRET, {
          body: blockActionsPayload({ user: { id: USERS.eng }, actions: [{ action_id: actionId, block_id: BlockIds.actions, value }], response_url: bot().sim.responseUrl(key, { userId: USERS.eng }) }),
          contentType: "application/x-www-form-urlencoded",
        });
        assert.equal(forged.status, 200);
        const answer = await bot().sim.waitForResponse((response) => response.key === key);
        assert.match(String((answer.body as { text: string }).text), /didn't look like one of mine/);
      }
      assert.equal((await grantOf(id)).status, "ACTIVE");

      const done = await bot().click(USERS.eng, warning, ActionIds.release);
      assert.match(replyText(done.reply), new RegExp(`Your access to \`hook-free\` has ended \\(grant ${grant.id}\\)`));
      const ended = await grantOf(id);
      assert.equal(ended.status, "REVOKED");
      assert.equal(ended.endedBy, USERS.eng);
      assert.equal(ended.endReason, "done (I'm done button)");
      assert.ok(ended.deprovisionedAt);
      assert.equal(hook.callsFor("revoke", grant.id).length, 1);
      const revoked = (await ledger(id)).find((entry) => entry.type === "grant.revoked");
      assert.equal(revoked?.data.reason, "done (I'm done button)");
      assert.equal(revoked?.data.by_admin, false);
      assert.match(JSON.stringify(bot().approvalMessage(id).blocks), /ended early by/);

      assert.match(replyText((await bot().click(USERS.eng, warning, ActionIds.release)).reply), /was already revoked/);
      assert.match(replyText((await bot().click(USERS.eng, warning, ActionIds.extend)).reply), /no longer active/);
      assert.equal(hook.callsFor("revoke").length, 1);
    });

    test("Extend with approval files an extension request; its approval extends the same grant without a new grant; more than max_duration is refused", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-db 1h long migration");
      await sweepAt(new Date(grant.expiresAt.getTime() - 9 * MINUTE));
      const view = await openExtendModal(warningFor(grant.id));
      assert.deepEqual(durationOptions(view), ["15m", "30m", "1h", "2h", "3h"]);
      assert.match(JSON.stringify(view.blocks), /goes to the approvers/);
      // hook-db requires a reason, so the extension does too.
      const noReason = await submitExtend(view, "1h", "   ");
      assert.equal(noReason?.response_action, "errors");
      assert.match(noReason!.errors![BlockIds.extendReason]!, /needs a reason/);
      // More than what is left of the 4h maximum (a crafted value the select never offers).
      const tooLong = await submitExtend(view, "4h", "more");
      assert.deepEqual(tooLong, { response_action: "errors", errors: { [BlockIds.extendDuration]: `You can extend grant ${grant.id} by at most 3h (\`hook-db\` allows 4h in total).` } });
      const missing = await submitExtend(view, null, "more");
      assert.match(missing!.errors![BlockIds.extendDuration]!, /Choose how much longer/);
      assert.equal(await db.prisma.accessRequest.count(), 1, "nothing was filed for bad input");

      assert.equal(await submitExtend(view, "1h", "still migrating <!channel>"), undefined);
      const told = dmsMatching(USERS.eng, /went to the approvers as AR-/);
      assert.equal(told.length, 1);
      const extensionId = requestIdIn(told[0]!.text);
      const extensionRequest = await requestRow(extensionId);
      assert.equal(extensionRequest.extendsGrantId, grant.id);
      assert.equal(extensionRequest.durationSeconds, 3600);
      assert.equal(extensionRequest.reason, "still migrating <!channel>");
      const posted = bot().approvalMessage(extensionId);
      assert.match(JSON.stringify(posted.blocks), /Extension request/);
      assert.ok(!posted.text.includes("<!channel>"));
      assert.equal((await grantOf(id)).expiresAt.getTime(), grant.expiresAt.getTime(), "nothing changes until it is approved");
      // The same modal submitted again, or a second Extend while this one waits, files nothing new.
      const twice = await submitExtend(view, "1h", "still migrating <!channel>");
      assert.match(twice!.errors![BlockIds.extendDuration]!, new RegExp(`Your extension request ${extensionId} for grant ${grant.id} is still waiting for approval`));
      assert.match(replyText((await bot().click(USERS.eng, warningFor(grant.id), ActionIds.extend)).reply), /still waiting for approval/);
      assert.equal(await db.prisma.accessRequest.count({ where: { extendsGrantId: grant.id } }), 1);

      assert.match(await approve(extensionId), new RegExp(`grant ${grant.id} is extended by 1h`));
      const extended = await grantOf(id);
      assert.equal(extended.status, "ACTIVE");
      assert.equal(extended.expiresAt.getTime(), grant.expiresAt.getTime() + HOUR);
      assert.equal(await db.prisma.grant.count(), 1, "no second grant");
      const entry = (await ledger(id)).find((candidate) => candidate.type === "grant.extended");
      assert.equal(entry?.data.grant_id, grant.id);
      assert.equal(entry?.data.extension_request_id, extensionId);
      assert.equal((await requestRow(extensionId)).status, "APPROVED");
      assert.equal(hook.callsFor("grant").length, 1, "the target was not granted again");
      assert.equal(hook.callsFor("extend", grant.id).length, 1);
      assert.equal(hook.callsFor("revoke").length, 0);
      assert.ok((await typesOf(id)).includes("grant.extension_provisioned"));
      assert.equal(dmsMatching(USERS.eng, new RegExp(`grant ${grant.id}\\) now lasts until`)).length, 1);

      // A grant already at the maximum offers no modal at all.
      const full = await activeGrant("hook-db 4h the whole window");
      await sweepAt(new Date(full.grant.expiresAt.getTime() - 9 * MINUTE));
      const refused = await bot().click(USERS.eng, warningFor(full.grant.id), ActionIds.extend);
      assert.match(replyText(refused.reply), new RegExp(`Grant ${full.grant.id} already runs for the maximum of 4h for \`hook-db\``));
    });

    test("a repeated submission of one extend modal extends once (the view id is the idempotency key)", async () => {
      await start();
      const { id, grant } = await activeGrant("free-extend 1h twice?");
      await sweepAt(new Date(grant.expiresAt.getTime() - 9 * MINUTE));
      const view = await openExtendModal(warningFor(grant.id));
      await submitExtend(view, "30m");
      await submitExtend(view, "30m"); // a double submit, or Slack delivering the submission twice
      const extended = await grantOf(id);
      assert.equal(extended.extensions, 1);
      assert.equal(extended.expiresAt.getTime(), grant.expiresAt.getTime() + 30 * MINUTE);
    });

    test("two extension requests approved one after the other never take a grant past max_duration", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-db 1h needs more later");
      // The extend modal refuses a second request while one is pending; two filed at the same
      // moment (two modals, two replicas) both reach the domain, as here.
      const user = { id: USERS.eng, teamId: bot().sim.teamId, name: "u0eng1" };
      for (const key of ["first", "second"]) await extendGrant(bot().bot.deps, { grantId: grant.id, user, duration: "3h", reason: "more time", idempotencyKey: `extend:${key}` });
      await bot().bot.settle();
      const extensions = await db.prisma.accessRequest.findMany({ where: { extendsGrantId: grant.id } });
      assert.equal(extensions.length, 2);
      for (const extension of extensions) await approve(extension.id);
      const extended = await grantOf(id);
      assert.ok(extended.expiresAt.getTime() - extended.activatedAt.getTime() <= 4 * HOUR, `the grant runs ${(extended.expiresAt.getTime() - extended.activatedAt.getTime()) / HOUR}h, past the 4h maximum`);
    });

    // ---- admin revoke -----------------------------------------------------------------------

    test("an admin revokes someone else's grant with a reason the grantee is shown; without a reason, or as a non-admin, nothing happens", async () => {
      await start();
      const { id, grant } = await activeGrant("hook-db 2h on call");
      assert.match(await command(USERS.eng2, `revoke ${grant.id} I want it gone`), new RegExp(`You have no grant ${grant.id}`));
      assert.match(await command(USERS.sec, `revoke ${grant.id}`), /needs a reason they will be shown/);
      assert.equal((await grantOf(id)).status, "ACTIVE");
      assert.equal(hook.callsFor("revoke").length, 0);

      const reply = await command(USERS.sec, `revoke ${grant.id} left the team <!channel> *now*`);
      assert.match(reply, /You ended <@U0ENG1>'s access to `hook-db`/);
      assert.ok(!reply.includes("<!channel>"), "the reason is escaped in the reply");
      const ended = await grantOf(id);
      assert.equal(ended.status, "REVOKED");
      assert.equal(ended.endedBy, USERS.sec);
      assert.equal(ended.endReason, "left the team <!channel> *now*");
      const entry = (await ledger(id)).find((candidate) => candidate.type === "grant.revoked");
      assert.equal(entry?.actorId, USERS.sec);
      assert.equal(entry?.data.by_admin, true);
      assert.equal(entry?.data.reason, "left the team <!channel> *now*");
      assert.equal(hook.callsFor("revoke", grant.id).length, 1);
      const told = dmsMatching(USERS.eng, /was ended early by <@U0SEC1>/);
      assert.equal(told.length, 1);
      assert.match(told[0]!.text, /Reason: left the team &lt;!channel&gt;/);
      assert.ok(!told[0]!.text.includes("<!channel>"));

      // The grantee's own revoke with a reason records it (and they get no DM about their own act).
      const own = await activeGrant("hook-db 1h another");
      assert.match(await command(USERS.eng, `revoke ${own.grant.id} finished early`), /Your access to `hook-db` has ended/);
      assert.equal((await grantOf(own.id)).endReason, "finished early");
      assert.equal(dmsMatching(USERS.eng, new RegExp(`grant ${own.grant.id}\\) was ended early`)).length, 0);
    });

    // ---- reminders and TTL ------------------------------------------------------------------

    test("approval reminder: after an hour, approvers who have not voted are reminded once and the requester is told who was asked", async () => {
      await start();
      const id = await openRequest("two-keys 1h needs two of three");
      const createdAt = (await requestRow(id)).createdAt;
      assert.match(await approve(id, USERS.sre1), /Still needed: 1 more from trio/);
      const copiesIn = (userId: string) => dms(userId).filter((message) => message.text.includes(id)).length;
      assert.deepEqual([copiesIn(USERS.sre1), copiesIn(USERS.sre2), copiesIn(USERS.sre3)], [1, 1, 1]);

      assert.deepEqual((await sweepAt(new Date(createdAt.getTime() + HOUR - SECOND))).requestsReminded, []);
      assert.deepEqual((await sweepAt(new Date(createdAt.getTime() + HOUR))).requestsReminded, [id]);
      assert.deepEqual([copiesIn(USERS.sre1), copiesIn(USERS.sre2), copiesIn(USERS.sre3)], [1, 2, 2], "only those who have not voted");
      const reminder = dms(USERS.sre2).filter((message) => message.text.includes(id)).at(-1)!;
      assert.match(reminder.text, /^Reminder: /);
      assert.ok(buttonsOf(reminder).includes(ActionIds.approve), "the reminder can be acted on");
      const told = dmsMatching(USERS.eng, /still waiting\. I reminded/);
      assert.equal(told.length, 1);
      assert.match(told[0]!.text, /<@U0SRE2>, <@U0SRE3>/);
      assert.ok(!told[0]!.text.includes("U0SRE1"));
      const entry = (await ledger(id)).find((candidate) => candidate.type === "request.reminded");
      assert.deepEqual(entry?.data.approvers, [USERS.sre2, USERS.sre3]);

      assert.deepEqual((await sweepAt(new Date(createdAt.getTime() + 3 * HOUR))).requestsReminded, []);
      assert.deepEqual([copiesIn(USERS.sre1), copiesIn(USERS.sre2), copiesIn(USERS.sre3)], [1, 2, 2], "no second reminder");
      assert.equal(dmsMatching(USERS.eng, /still waiting/).length, 1);
      // The reminder copy is a live copy: approving from it completes the request, and every copy is updated.
      await bot().click(USERS.sre2, reminder, ActionIds.approve);
      assert.equal((await requestRow(id)).status, "APPROVED");
      assert.ok(!JSON.stringify(bot().sim.message(reminder.channel, reminder.ts)!.blocks).includes(ActionIds.approve));
    });

    test("request TTL per resource: stale after 2h, messages updated, Request again files the same request once", async () => {
      await start();
      const id = await openRequest("short-ttl 30m look at the logs");
      const before = await requestRow(id);
      assert.equal(before.pendingUntil.getTime() - before.createdAt.getTime(), 2 * HOUR, "the resource's request_ttl, not the 24h default");
      assert.deepEqual((await sweepAt(new Date(before.pendingUntil.getTime() - SECOND))).requestsExpired, []);
      assert.deepEqual((await sweepAt(before.pendingUntil)).requestsExpired, [id]);
      assert.equal((await requestRow(id)).status, "EXPIRED");
      const message = bot().approvalMessage(id);
      assert.match(JSON.stringify(message.blocks), /Expired without enough approvals/);
      assert.ok(!buttonsOf(message).includes(ActionIds.approve));
      const expired = dmsMatching(USERS.eng, new RegExp(`${id} .*expired without enough approvals`));
      assert.equal(expired.length, 1);
      assert.deepEqual(buttonsOf(expired[0]!), [ActionIds.requestAgain]);

      const again = replyText((await bot().click(USERS.eng, expired[0]!, ActionIds.requestAgain)).reply);
      assert.match(again, new RegExp(`Filed ${id} again as AR-`));
      const newId = requestIdIn(again.replace(id, ""));
      assert.notEqual(newId, id);
      const filed = await requestRow(newId);
      assert.deepEqual([filed.resource, filed.durationSeconds, filed.reason, filed.status, filed.requesterId], ["short-ttl", 30 * 60, "look at the logs", "PENDING", USERS.eng]);
      assert.ok(bot().approvalMessage(newId), "approvers see the new request");
      const twice = replyText((await bot().click(USERS.eng, expired[0]!, ActionIds.requestAgain)).reply);
      assert.match(twice, new RegExp(`already filed ${id} again as ${newId}`));
      assert.equal(await db.prisma.accessRequest.count(), 2);
      // Only the requester can file it again.
      assert.match(replyText((await bot().click(USERS.eng2, expired[0]!, ActionIds.requestAgain)).reply), /You have no request/);
      assert.equal(await db.prisma.accessRequest.count(), 2);
    });

    // ---- break-glass ------------------------------------------------------------------------

    test("break-glass: refused where not allowed, needs a reason, capped by max_duration", async () => {
      await start();
      assert.match(await command(USERS.eng, "hook-db 1h prod is down --break-glass"), /Break-glass is not allowed for `hook-db`/);
      assert.match(await command(USERS.eng, "breakable 1h --break-glass"), /Break-glass needs a reason/);
      assert.match(await command(USERS.eng, "breakable 3h prod is down --break-glass"), /3h is longer than the maximum for `breakable`, which is 2h/);
      assert.equal(await db.prisma.accessRequest.count(), 0);
      assert.equal(await db.prisma.ledgerEntry.count(), 0);
      assert.equal(hook.calls.length, 0);
    });

    test("break-glass: access without approvals, loud alerts, reviewed only by someone else in the review group, chased until reviewed", async () => {
      await start();
      const startedAt = bot().clock.now().getTime();
      const reply = await command(USERS.eng, "breakable 1h prod down INC-9 <!here> --break-glass");
      assert.match(reply, /^:rotating_light: Break-glass AR-/);
      assert.match(reply, /I alerted <@U0SRE1>, <@U0SRE2>, <@U0SRE3> and the audit channel/);
      assert.match(reply, /A member of security has to review it by/);
      const id = requestIdIn(reply);
      await bot().bot.settle();
      const grant = await grantOf(id);
      assert.equal(grant.status, "ACTIVE", "provisioned without any approval");
      assert.equal(await db.prisma.vote.count(), 0);
      assert.deepEqual(await typesOf(id), ["request.break_glass", "grant.provisioning", "grant.provisioned", "grant.activated"]);
      assert.equal(hook.callsFor("grant", grant.id).length, 1);
      const created = (await ledger(id))[0]!;
      assert.equal(created.data.review_group, "security");
      assert.deepEqual(created.data.alerted, [USERS.sre1, USERS.sre2, USERS.sre3]);

      const reviewCopies = () => bot().sim.messages("C0AUDIT").filter((message) => message.text.startsWith(`Break-glass ${id}`));
      assert.equal(reviewCopies().length, 1, "the audit channel gets the review message");
      const review = structuredClone(reviewCopies()[0]!);
      assert.deepEqual(buttonsOf(review), [ActionIds.reviewOk, ActionIds.reviewEscalate]);
      // The reason pings no one: plain_text in the review copy, escaped in the alerts.
      const mrkdwn = JSON.stringify(review.blocks).match(/"type":"mrkdwn","text":"[^"]*"/g) ?? [];
      assert.ok(mrkdwn.every((text) => !text.includes("<!here>")), "no mrkdwn field carries the raw reason");
      assert.ok(JSON.stringify(review.blocks).includes('"type":"plain_text","text":"Reason: prod down INC-9 &lt;!here&gt;"'));
      for (const reviewer of [USERS.sec, USERS.sre3]) assert.equal(dms(reviewer).filter((message) => message.text.startsWith(`Break-glass ${id}`)).length, 1, `${reviewer} got a review copy`);
      for (const approver of [USERS.sre1, USERS.sre2]) {
        const alerts = dmsMatching(approver, /Break-glass:\* <@U0ENG1> took `breakable`/);
        assert.equal(alerts.length, 1, `${approver} was alerted`);
        assert.match(alerts[0]!.text, /Reason: prod down INC-9 &lt;!here&gt;/);
      }
      assert.equal(dmsMatching(USERS.sre3, /Break-glass:\*/).length, 0, "a reviewer gets the review copy, not a second alert");
      assert.equal(dmsMatching(USERS.eng, /Break-glass access to `breakable` is/).length, 1);

      assert.match(replyText((await bot().click(USERS.eng, review, ActionIds.reviewOk)).reply), /can't review your own break-glass access/);
      assert.match(replyText((await bot().click(USERS.sre1, review, ActionIds.reviewOk)).reply), /Only members of security can review/);
      assert.equal((await db.prisma.breakGlassReview.findUniqueOrThrow({ where: { requestId: id } })).status, "OPEN");

      // 12 h: one reminder to the reviewers; 24 h: overdue, re-posted to the audit channel; then daily.
      const reviewerCopies = () => dms(USERS.sec).filter((message) => message.text.startsWith(`Break-glass ${id}`)).length;
      assert.deepEqual((await sweepAt(new Date(startedAt + 12 * HOUR - MINUTE))).reviewsReminded, []);
      assert.deepEqual((await sweepAt(new Date(startedAt + 12 * HOUR + SECOND))).reviewsReminded, [id]);
      assert.equal(reviewerCopies(), 2);
      assert.equal(reviewCopies().length, 1, "no re-post before the deadline");
      assert.deepEqual((await sweepAt(new Date(startedAt + 13 * HOUR))).reviewsReminded, []);
      assert.deepEqual((await sweepAt(new Date(startedAt + 24 * HOUR + SECOND))).reviewsReminded, [id]);
      assert.equal(reviewCopies().length, 2);
      assert.match(JSON.stringify(reviewCopies().at(-1)!.blocks), /Review overdue/);
      assert.equal(reviewerCopies(), 3);
      assert.deepEqual((await sweepAt(new Date(startedAt + 36 * HOUR))).reviewsReminded, []);
      assert.deepEqual((await sweepAt(new Date(startedAt + 48 * HOUR + SECOND))).reviewsReminded, [id]);
      assert.equal(reviewCopies().length, 3);

      const seen = structuredClone(reviewCopies().at(-1)!);
      const ok = await bot().click(USERS.sec, seen, ActionIds.reviewOk);
      assert.match(replyText(ok.reply), /You reviewed the break-glass use .* as OK/);
      const entry = (await ledger(id)).find((candidate) => candidate.type === "break_glass.reviewed");
      assert.ok(entry);
      assert.equal(entry.actorId, USERS.sec);
      assert.equal(entry.data.outcome, "ok");
      assert.equal(entry.data.overdue, true);
      assert.deepEqual((entry.data.seen as { blocks: unknown }).blocks, seen.blocks);
      assert.equal((entry.data.seen as { sha256: string }).sha256, sha256OfCanonical(seen.blocks));
      const copies = await db.prisma.requestMessage.findMany({ where: { requestId: id, kind: "review" } });
      assert.equal(copies.length, 3 + 2 * 4, "3 audit posts, 4 copies each for 2 reviewers");
      for (const copy of copies) {
        const current = bot().sim.message(copy.channelId, copy.ts)!;
        assert.match(JSON.stringify(current.blocks), /Reviewed: OK by <@U0SEC1>/);
        assert.ok(!buttonsOf(current).includes(ActionIds.reviewOk), "the buttons are gone from every copy");
      }
      assert.match(replyText((await bot().click(USERS.sre3, review, ActionIds.reviewEscalate)).reply), /<@U0SEC1> already reviewed this break-glass access \(OK\)/);
      assert.deepEqual((await sweepAt(new Date(startedAt + 72 * HOUR + SECOND))).reviewsReminded, [], "no more reminders once reviewed");
    });

    test("break-glass escalate alerts the audit channel", async () => {
      await start();
      const id = requestIdIn(await command(USERS.eng, "breakable 30m --break-glass hotfix INC-10"));
      await bot().bot.settle();
      const review = bot().sim.messages("C0AUDIT").find((message) => message.text.startsWith(`Break-glass ${id}`))!;
      assert.match(replyText((await bot().click(USERS.sre3, review, ActionIds.reviewEscalate)).reply), /You escalated/);
      assert.equal((await db.prisma.breakGlassReview.findUniqueOrThrow({ where: { requestId: id } })).status, "ESCALATED");
      assert.match(auditText(), new RegExp(`<@U0SRE3> \\*escalated\\* the break-glass use ${id}`));
    });

    test("an overdue review stays marked overdue when its copies are refreshed", async () => {
      await start();
      const startedAt = bot().clock.now().getTime();
      const id = requestIdIn(await command(USERS.eng, "quick-review 2h db on fire --break-glass"));
      await bot().bot.settle();
      assert.deepEqual((await sweepAt(new Date(startedAt + HOUR + SECOND))).reviewsReminded, [id]);
      const repost = bot().sim.messages("C0AUDIT").filter((message) => message.text.startsWith(`Break-glass ${id}`)).at(-1)!;
      assert.match(JSON.stringify(repost.blocks), /Review overdue/);
      // Any change to the request re-renders every copy, here the requester ending the grant.
      assert.match(await command(USERS.eng, `revoke ${id}`), /has ended/);
      await bot().bot.settle();
      assert.match(JSON.stringify(bot().sim.message(repost.channel, repost.ts)!.blocks), /Review overdue/, "still overdue, still unreviewed");
    });

    // ---- time zones ---------------------------------------------------------------------------

    test("DST: an overdue review is re-posted at the same local time across the change (23 h later); a grant across it lasts its exact duration", async () => {
      // 2027-03-28 is the last Sunday of March: Berlin moves from CET (UTC+1) to CEST (UTC+2).
      await start(new TestClock(new Date("2027-03-26T09:00:00.000Z")));
      const id = requestIdIn(await command(USERS.eng, "breakable 1h fixing INC-11 --break-glass"));
      await bot().bot.settle();
      const reviewRow = () => db.prisma.breakGlassReview.findUniqueOrThrow({ where: { requestId: id } });
      assert.equal((await reviewRow()).dueAt.toISOString(), "2027-03-27T09:00:00.000Z", "due 10:00 in Berlin on the 27th");
      assert.deepEqual((await sweepAt(new Date("2027-03-26T21:00:00.000Z"))).reviewsReminded, [id], "the half-way reminder");
      assert.deepEqual((await sweepAt(new Date("2027-03-27T09:00:00.000Z"))).reviewsReminded, [id], "overdue at the deadline");
      const next = (await reviewRow()).nextReminderAt!;
      assert.equal(next.toISOString(), "2027-03-28T08:00:00.000Z", "10:00 CEST on the 28th");
      assert.equal(next.getTime() - new Date("2027-03-27T09:00:00.000Z").getTime(), 23 * HOUR);

      // A 4h grant from 01:30 CET lasts 4 real hours, although the wall clock jumps an hour.
      await sweepAt(new Date("2027-03-28T00:30:00.000Z"));
      const { grant } = await activeGrant("hook-db 4h across the change");
      assert.equal(grant.activatedAt.toISOString(), "2027-03-28T00:30:00.000Z");
      assert.equal(grant.expiresAt.toISOString(), "2027-03-28T04:30:00.000Z");
      assert.equal(grant.expiresAt.getTime() - grant.activatedAt.getTime(), 4 * HOUR);
      assert.deepEqual((await sweepAt(new Date(grant.expiresAt.getTime() - 1))).grantsExpired, []);
      assert.deepEqual((await sweepAt(grant.expiresAt)).grantsExpired, [grant.id]);

      assert.deepEqual((await sweepAt(new Date("2027-03-28T07:59:59.000Z"))).reviewsReminded, []);
      assert.deepEqual((await sweepAt(new Date("2027-03-28T08:00:00.000Z"))).reviewsReminded, [id]);
      assert.equal((await reviewRow()).nextReminderAt!.toISOString(), "2027-03-29T08:00:00.000Z", "then daily, 24 h apart");
      const reposts = bot().sim.messages("C0AUDIT").filter((message) => message.text.startsWith(`Break-glass ${id}`));
      assert.equal(reposts.length, 3, "the first post and two overdue re-posts");
    });
  });
}
