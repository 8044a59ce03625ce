// `npm run bench:ack`: how long Slack waits for the bot's ack, now that every command and
// click is written to the durable inbox before it is acked. Signed `/access` commands at a
// steady rate (BENCH_ACK_RATE, default 50/s, BENCH_ACK_COUNT, default 500) against:
//  - a bare Bolt app that only acks (same Bolt, same signing, same machine, same run): the baseline;
//  - the real bot on embedded PGlite (on disk, the default) and on PostgreSQL.
// Reports p50/p99/max of the HTTP response time and the p99 ratio to the baseline.
import { App } from "@slack/bolt";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { openDatabase, type Database } from "../src/db/open-database.js";
import { startBot } from "../src/main.js";
import { postToBot, slashCommandBody } from "../test/support/slack-requests.js";
import { ONCALL, POLICY_FILE, SIGNING_SECRET } from "../test/support/start-test-bot.js";
import { startSlackSimulator, type SlackSimulator } from "../test/support/slack-simulator.js";

const RATE = Number(process.env.BENCH_ACK_RATE ?? 50);
const COUNT = Number(process.env.BENCH_ACK_COUNT ?? 500);
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

interface Result {
  name: string;
  p50: number;
  p99: number;
  max: number;
}

async function measure(name: string, url: string, sim: SlackSimulator): Promise<Result> {
  const times: number[] = [];
  const sends: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const user = ONCALL[i % ONCALL.length]!;
    const body = slashCommandBody({ userId: user, text: `oncall-one 30m bench ${i}`, responseUrl: sim.responseUrl(`bench-${name}-${i}`, { userId: user }), triggerId: sim.issueTriggerId(user) });
    sends.push(
      (async () => {
        const t0 = performance.now();
        const response = await postToBot(url, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
        times.push(performance.now() - t0);
        if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}`);
      })(),
    );
  }
  await Promise.all(sends);
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { name, p50: at(0.5), p99: at(0.99), max: times.at(-1)! };
}

async function bareBolt(sim: SlackSimulator): Promise<{ url: string; stop(): Promise<void> }> {
  const app = new App({ token: sim.botToken, signingSecret: SIGNING_SECRET, clientOptions: { slackApiUrl: sim.apiUrl }, logLevel: undefined, logger: { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => "error" as never, setName() {} } });
  app.command("/access", async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as { address(): { port: number } };
  return { url: `http://127.0.0.1:${server.address().port}/slack/events`, stop: async () => void (await app.stop()) };
}

async function realBot(sim: SlackSimulator, database: Database) {
  const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-bench-"));
  const policyFile = path.join(workDir, "access-policy.yml");
  writeFileSync(policyFile, readFileSync(POLICY_FILE));
  const bot = await startBot({
    env: { SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: sim.apiUrl, PORT: "0", ACCESS_POLICY_FILE: policyFile, LOG_LEVEL: "silent" },
    database,
    log: pino({ level: "silent" }),
  });
  return { url: `http://127.0.0.1:${bot.port}/slack/events`, stop: () => bot.stop() };
}

async function main(): Promise<void> {
  const sim = await startSlackSimulator({ users: ONCALL.map((id) => ({ id, name: id.toLowerCase() })), usergroups: { S0SECURITY: [], S0ENG: [], S0ONCALL: ONCALL, S0LONELY: [] }, channels: [{ id: "C0APPROVALS", name: "approvals" }, { id: "C0AUDIT", name: "audit" }] });
  const results: Result[] = [];
  const bare = await bareBolt(sim);
  results.push(await measure("bare Bolt (ack only)", bare.url, sim));
  await bare.stop();

  // On disk, as the default database is.
  const pglite = await openDatabase({ target: { kind: "pglite", dataDir: mkdtempSync(path.join(tmpdir(), "accessbot-bench-pglite-")) }, migrate: true });
  const onPglite = await realBot(sim, pglite);
  results.push(await measure("accessbot on PGlite", onPglite.url, sim));
  await onPglite.stop();
  await pglite.close();

  const schema = `bench_${randomBytes(4).toString("hex")}`;
  const url = new URL(PG_URL);
  url.searchParams.set("schema", schema);
  const postgres = await openDatabase({ target: { kind: "postgres", url: url.toString(), schema }, migrate: true });
  try {
    const onPostgres = await realBot(sim, postgres);
    results.push(await measure("accessbot on PostgreSQL", onPostgres.url, sim));
    await onPostgres.stop();
  } finally {
    await postgres.prisma.$executeRawUnsafe(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
    await postgres.close();
  }
  await sim.close();

  const baseline = results[0]!.p99;
  console.log(`signed /access commands at ${RATE}/s, ${COUNT} each\n`);
  console.log("| | p50 ms | p99 ms | max ms | p99 / bare p99 |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of results) console.log(`| ${r.name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${(r.p99 / baseline).toFixed(2)}× |`);
}

await main();
