// `npm run bench:decisions`: how long a decision takes to reach everyone, on PostgreSQL.
// One bot process (`accessbot start`, HTTP mode) against the Slack simulator, which this process
// plays. The policy is one approval from a group of four, so a click decides its request, and
// each request has five copies (the approval channel and four approver DMs) plus the
// requester's DM.
//  - steady: BENCH_DECISIONS_RATE (default 20) Approve clicks per second on pending requests;
//    for each, the time from sending the click until the ledger has the decision, every copy of
//    the message shows its final state, and the requester has been told. Reports p50/p99/max.
//  - burst: BENCH_DECISIONS_BURST (default 400) clicks sent at once (64 in flight); committed
//    decisions per second, from the first click to the last decision in the ledger.
// Baseline, same run: the Slack calls a decision needs at the least (update the five copies,
// post one DM), made directly with @slack/web-api against the same simulator at the same rate,
// and, for the burst, the same number of one-row transactions through `pg` that each take the
// ledger's advisory lock (the serialisation every decision goes through).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { WebClient } from "@slack/web-api";
import { benchBotEnv } from "./support/bench-bot-env.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { buttonClickPayload, postToBot } from "../test/support/slack-requests.js";
import { startSlackSimulator, type SimMessage, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { SIGNING_SECRET } from "../test/support/start-test-bot.js";
import { mapConcurrent, requestIdOf, scratchSchema, sendCommand, sleep, startBotProcess, waitUntil, type BotProcess, type ScratchSchema } from "../test/support/start-bot-process.js";

const RATE = Number(process.env.BENCH_DECISIONS_RATE ?? 20);
const STEADY = Number(process.env.BENCH_DECISIONS_COUNT ?? 200);
const BURST = Number(process.env.BENCH_DECISIONS_BURST ?? 400);
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

const APPROVERS = ["U0APPR1", "U0APPR2", "U0APPR3", "U0APPR4"];
const REQUESTERS = Array.from({ length: 100 }, (_, i) => `U0REQ${String(i).padStart(3, "0")}`);
const COPIES = 1 + APPROVERS.length;

const POLICY = `version: 1
settings:
  approval_channel: C0APPROVALS
  audit_channel: C0AUDIT
  timezone: UTC
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
groups:
  approvers: { usergroup: S0APPROVERS }
resources:
  svc:
    title: Service console
    max_duration: 1h
    require_reason: false
    approval: { rules: [ { group: approvers, count: 1 } ] }
`;

interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

function quantiles(values: number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
}

/** Creates `count` pending requests and returns their approval-channel messages once every copy is posted. */
async function pendingRequests(sim: SlackSimulator, bot: BotProcess, count: number, tag: string): Promise<Array<{ id: string; requester: string; message: SimMessage }>> {
  const made = await mapConcurrent(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const requester = REQUESTERS[i % REQUESTERS.length]!;
    let replyText = "";
    for (let attempt = 1; ; attempt++) {
      try {
        ({ replyText } = await sendCommand(sim, bot, SIGNING_SECRET, requester, `svc 30m ${tag} ${i}`));
        break;
      } catch (error) {
        // See sendClick: an idle kept-alive connection the bot closed.
        if (attempt >= 3 || !(error instanceof TypeError)) throw error;
      }
    }
    const id = requestIdOf(replyText);
    if (!id) throw new Error(`no request id in the reply: ${replyText}`);
    return { id, requester };
  });
  const ids = new Set(made.map((r) => r.id));
  const copies = () => ["C0APPROVALS", ...APPROVERS].flatMap((channel) => sim.messages(channel)).filter((m) => ids.has(requestIdOf(m.text + JSON.stringify(m.blocks)) ?? "")).length;
  await waitUntil("every copy posted", () => copies() >= count * COPIES, { timeoutMs: 600_000, describe: () => `${copies()} of ${count * COPIES}` });
  await quiet(sim);
  return made.map((r) => ({ ...r, message: structuredClone(sim.messages("C0APPROVALS").find((m) => (m.text + JSON.stringify(m.blocks)).includes(r.id))!) }));
}

/** Waits until the simulator has seen no call for a second. */
async function quiet(sim: SlackSimulator): Promise<void> {
  for (;;) {
    const last = sim.calls.at(-1)?.at ?? 0;
    if (Date.now() - last > 1000) return;
    await sleep(200);
  }
}

function clickBody(sim: SlackSimulator, message: SimMessage, approver: string): string {
  return buttonClickPayload({
    message,
    actionId: ActionIds.approve,
    user: { id: approver },
    responseUrl: sim.responseUrl(`click-${randomBytes(4).toString("hex")}`, { userId: approver, channel: message.channel, messageTs: message.ts }),
    triggerId: sim.issueTriggerId(approver),
  });
}

/**
 * Posts a click. A kept-alive connection the bot's server closed while idle (between phases)
 * fails the first write; Slack would retry, and so does this (the bot dedupes a repeated body).
 */
async function sendClick(url: string, body: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const http = await postToBot(url, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
      if (http.status !== 200) throw new Error(`click answered ${http.status}`);
      return;
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TypeError)) throw error;
    }
  }
}

/**
 * When everyone had seen request `id` decided: the latest of the decision's ledger time, each
 * of its messages' first showing of its final content after `since`, and the requester's DM.
 */
function doneAt(sim: SlackSimulator, id: string, requester: string, since: number, decidedAt: number): number {
  let done = decidedAt;
  for (const message of ["C0APPROVALS", ...APPROVERS, requester].flatMap((channel) => sim.messages(channel))) {
    if (!(message.text + JSON.stringify(message.blocks)).includes(id)) continue;
    const final = JSON.stringify(message.history.at(-1)!.blocks ?? message.history.at(-1)!.text);
    const first = message.history.find((version) => version.at >= since && JSON.stringify(version.blocks ?? version.text) === final);
    if (first) done = Math.max(done, first.at);
  }
  return done;
}

async function decisionTimes(schema: ScratchSchema, ids: string[]): Promise<Map<string, number>> {
  const rows = await schema.query<{ request_id: string; ts: Date }>(
    `SELECT request_id, ts FROM ledger_entry WHERE type = 'vote.approved' AND request_id = ANY($1)`,
    [ids],
  );
  return new Map(rows.map((row) => [row.request_id, row.ts.getTime()]));
}

/** The least Slack work a decision needs, made directly: update five copies, post one DM. */
async function slackFloor(sim: SlackSimulator, count: number): Promise<Quantiles> {
  const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } });
  const posted = await client.chat.postMessage({ channel: "C0APPROVALS", text: "floor" });
  const times: number[] = [];
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    await sleep((i * 1000) / RATE);
    const start = Date.now();
    await Promise.all([
      ...Array.from({ length: COPIES }, () => client.chat.update({ channel: "C0APPROVALS", ts: posted.ts!, text: `floor ${i}` })),
      client.chat.postMessage({ channel: REQUESTERS[i % REQUESTERS.length]!, text: `floor ${i}` }),
    ]);
    times.push(Date.now() - start);
  }));
  return quantiles(times);
}

/** `count` transactions through `pg` that each take the ledger's advisory lock and insert a row: decisions per second at the least. */
async function databaseFloor(count: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 8 });
  const table = `bench_floor_${randomBytes(4).toString("hex")}`;
  await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, body text)`);
  try {
    const start = Date.now();
    await mapConcurrent(Array.from({ length: count }, (_, i) => i), 64, async (i) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(4242)");
        await client.query(`INSERT INTO ${table} (body) VALUES ($1)`, [`decision ${i}`]);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    });
    return count / ((Date.now() - start) / 1000);
  } finally {
    await pool.query(`DROP TABLE ${table}`);
    await pool.end();
  }
}

async function main(): Promise<void> {
  const sim = await startSlackSimulator({
    users: [...APPROVERS, ...REQUESTERS].map((id) => ({ id, name: id.toLowerCase() })),
    usergroups: { S0APPROVERS: APPROVERS },
    channels: [
      { id: "C0APPROVALS", name: "approvals" },
      { id: "C0AUDIT", name: "audit" },
      { id: "C0GENERAL1", name: "general" },
    ],
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), "accessbot-bench-decisions-"));
  const policyFile = path.join(workDir, "access-policy.yml");
  writeFileSync(policyFile, POLICY);
  const schema = scratchSchema(PG_URL);
  const loadBefore = os.loadavg()[0]!;
  try {
    const floor = await slackFloor(sim, STEADY);
    const dbFloor = await databaseFloor(BURST);
    sim.reset();

    const bot = await startBotProcess({
      name: "bot-postgres",
      env: benchBotEnv(sim, schema.url, policyFile),
    });
    try {
      // Steady rate.
      const steady = await pendingRequests(sim, bot, STEADY, `steady-${randomBytes(2).toString("hex")}`);
      const sentAt = new Map<string, number>();
      await Promise.all(steady.map(async (request, i) => {
        await sleep((i * 1000) / RATE);
        sentAt.set(request.id, Date.now());
        await sendClick(bot.eventsUrl, clickBody(sim, request.message, APPROVERS[i % APPROVERS.length]!));
      }));
      const ids = steady.map((r) => r.id);
      let decided = new Map<string, number>();
      await waitUntil("every steady decision in the ledger", async () => (decided = await decisionTimes(schema, ids)).size === ids.length, { timeoutMs: 300_000, describe: () => `${decided.size} of ${ids.length}` });
      await quiet(sim);
      const latencies = steady.map((r) => doneAt(sim, r.id, r.requester, sentAt.get(r.id)!, decided.get(r.id)!) - sentAt.get(r.id)!);
      const told = steady.filter((r) => sim.messages(r.requester).some((m) => JSON.stringify(m).includes(r.id) && m.history.some((v) => v.at >= sentAt.get(r.id)!))).length;
      const steadyQ = quantiles(latencies);

      // Burst.
      const burst = await pendingRequests(sim, bot, BURST, `burst-${randomBytes(2).toString("hex")}`);
      const burstStart = Date.now();
      await mapConcurrent(burst, 64, async (request, i) => {
        await sendClick(bot.eventsUrl, clickBody(sim, request.message, APPROVERS[i % APPROVERS.length]!));
      });
      const burstIds = burst.map((r) => r.id);
      await waitUntil("every burst decision in the ledger", async () => (decided = await decisionTimes(schema, burstIds)).size === burstIds.length, { timeoutMs: 300_000, describe: () => `${decided.size} of ${burstIds.length}` });
      const lastDecision = Math.max(...decided.values());
      const perSecond = BURST / ((lastDecision - burstStart) / 1000);
      await quiet(sim);
      const burstAll = quantiles(burst.map((r) => doneAt(sim, r.id, r.requester, burstStart, decided.get(r.id)!) - burstStart));

      const load = os.loadavg()[0]!;
      console.log(`PostgreSQL, ${COPIES} copies per request; load (1 min) before ${loadBefore.toFixed(2)}, after ${load.toFixed(2)}\n`);
      console.log(`| steady, ${RATE}/s, ${STEADY} decisions | p50 ms | p99 ms | max ms | p99 / floor |`);
      console.log("|---|---:|---:|---:|---:|");
      console.log(`| floor: the same Slack calls made directly | ${floor.p50.toFixed(0)} | ${floor.p99.toFixed(0)} | ${floor.max.toFixed(0)} | 1.00× |`);
      console.log(`| accessbot: click → ledger → every copy → requester | ${steadyQ.p50.toFixed(0)} | ${steadyQ.p99.toFixed(0)} | ${steadyQ.max.toFixed(0)} | ${(steadyQ.p99 / floor.p99).toFixed(2)}× |`);
      console.log(`\nrequesters told after the click: ${told} of ${STEADY}\n`);
      console.log(`| burst of ${BURST} clicks | decisions/s | ratio to floor |`);
      console.log("|---|---:|---:|");
      console.log(`| floor: one-row transactions under one advisory lock through pg | ${dbFloor.toFixed(0)} | 1.00× |`);
      console.log(`| accessbot: committed decisions | ${perSecond.toFixed(0)} | ${(perSecond / dbFloor).toFixed(2)}× |`);
      console.log(`\nburst: every copy and requester up to date ${burstAll.max.toFixed(0)} ms after the first click (p50 ${burstAll.p50.toFixed(0)} ms)`);
      console.log(`Slack calls per decision (steady and burst): ${(sim.calls.filter((c) => c.at >= Math.min(...sentAt.values())).length / (STEADY + BURST)).toFixed(2)}`);
    } finally {
      await bot.stop();
    }
  } finally {
    await schema.drop();
    await sim.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
