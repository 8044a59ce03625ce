// `npm run bench:memory`: the bot's resident memory and cold start, against a bare Bolt app
// measured in the same run (bench/support/bare-bolt-app.mjs: same Bolt, same machine).
//  - cold start: spawn → GET /healthz 200, with a database that already exists (second start);
//  - RSS (VmRSS of the process, which holds every thread: the ack thread, and PGlite's on the
//    embedded database) after start, and after BENCH_MEMORY_REQUESTS (default 10,000) signed
//    `/access` commands, sampled every 1,000 so growth shows.
// BENCH_MEMORY_TARGETS=pglite,postgres picks the databases; ACCESSBOT_TEST_BOT_ENTRY runs a
// compiled build instead of the TypeScript sources.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchBotEnv } from "./support/bench-bot-env.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { ONCALL, POLICY_FILE, SIGNING_SECRET } from "../test/support/start-test-bot.js";
import { mapConcurrent, scratchSchema, sendCommand, startBotProcess, type BotProcess } from "../test/support/start-bot-process.js";

const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 10_000);
const TARGETS = new Set((process.env.BENCH_MEMORY_TARGETS ?? "pglite,postgres").split(","));
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const BARE_BOLT = new URL("./support/bare-bolt-app.mjs", import.meta.url).pathname;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function coldStart(start: () => Promise<BotProcess>): Promise<{ bot: BotProcess; ms: number }> {
  const began = performance.now();
  const bot = await start();
  return { bot, ms: performance.now() - began };
}

async function measure(name: string, sim: SlackSimulator, env: Record<string, string>, cwd: string): Promise<string> {
  const start = () => startBotProcess({ name, env, cwd });
  // The first start creates and migrates the database; the second is the cold start measured.
  await (await start()).stop();
  const { bot, ms } = await coldStart(start);
  try {
    const afterStart = rssMb(bot.pid);
    const samples: number[] = [];
    for (let done = 0; done < REQUESTS; done += 1000) {
      const batch = Math.min(1000, REQUESTS - done);
      await mapConcurrent(Array.from({ length: batch }, (_, i) => done + i), 8, async (i) => {
        const user = ONCALL[i % ONCALL.length]!;
        await sendCommand(sim, bot, SIGNING_SECRET, user, `oncall-one 30m memory ${i}`, { expectReply: false });
      });
      samples.push(rssMb(bot.pid));
    }
    sim.reset();
    return `| ${name} | ${ms.toFixed(0)} | ${afterStart.toFixed(0)} | ${samples.map((s) => s.toFixed(0)).join(" → ")} |`;
  } finally {
    await bot.stop();
  }
}

async function main(): Promise<void> {
  const sim = await startSlackSimulator({
    users: ONCALL.map((id) => ({ id, name: id.toLowerCase() })),
    usergroups: { S0SECURITY: [], S0ENG: [], S0ONCALL: ONCALL, S0LONELY: [] },
    channels: [
      { id: "C0APPROVALS", name: "approvals" },
      { id: "C0AUDIT", name: "audit" },
      { id: "C0GENERAL1", name: "general" },
    ],
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), "accessbot-bench-memory-"));
  const policyFile = path.join(workDir, "access-policy.yml");
  writeFileSync(policyFile, readFileSync(POLICY_FILE));
  const env = (databaseUrl: string) => benchBotEnv(sim, databaseUrl, policyFile);
  const rows: string[] = [];
  const loadBefore = os.loadavg()[0]!;
  try {
    const { bot: bare, ms: bareMs } = await coldStart(() => startBotProcess({ name: "bare-bolt", entry: BARE_BOLT, args: [], env: env("") }));
    rows.push(`| bare Bolt (ack only) | ${bareMs.toFixed(0)} | ${rssMb(bare.pid).toFixed(0)} | |`);
    await bare.stop();
    if (TARGETS.has("pglite")) {
      const url = new URL("postgresql://pglite.invalid/pglite");
      url.searchParams.set("data_dir", path.join(workDir, "pglite"));
      rows.push(await measure("accessbot on PGlite (on disk)", sim, env(url.toString()), workDir));
    }
    if (TARGETS.has("postgres")) {
      const schema = scratchSchema(PG_URL);
      try {
        rows.push(await measure("accessbot on PostgreSQL", sim, env(schema.url), workDir));
      } finally {
        await schema.drop();
      }
    }
  } finally {
    await sim.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  console.log(`${REQUESTS} signed /access commands, 8 in flight; entry ${process.env.ACCESSBOT_TEST_BOT_ENTRY ?? "bin/accessbot.mjs (tsx)"}; load (1 min) before ${loadBefore.toFixed(2)}, after ${os.loadavg()[0]!.toFixed(2)}\n`);
  console.log("| | cold start to /healthz 200, ms | RSS after start, MB | RSS every 1,000 requests, MB |");
  console.log("|---|---:|---:|---|");
  for (const row of rows) console.log(row);
}

await main();
