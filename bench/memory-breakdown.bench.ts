// `npm run bench:memory-breakdown`: where the bot's resident memory goes (issue 9, item 5).
//  1. Staged processes of the compiled build, each RSS measured alone: plain node; the bot's
//     modules loaded and nothing started; plus a Prisma client connected to PostgreSQL.
//  2. The whole compiled bot, on PostgreSQL and on PGlite, after start and after
//     BENCH_MEMORY_REQUESTS (default 2,000) signed `/access` commands: RSS of the process, and
//     per thread (main, ack thread, PGlite's thread) the V8 heap and the memory held outside
//     it (buffers, WebAssembly memories), from Node's diagnostic report (SIGUSR2).
// The rest of RSS is native: code, the Prisma and PGlite WebAssembly modules' compiled code,
// and malloc arenas.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { startSlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { ensureCompiledBuild } from "../test/support/compiled-build.js";
import { ONCALL, POLICY_FILE, SIGNING_SECRET } from "../test/support/start-test-bot.js";
import { mapConcurrent, scratchSchema, sendCommand, startBotProcess } from "../test/support/start-bot-process.js";
import { benchBotEnv } from "./support/bench-bot-env.js";

const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 2_000);
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MB = 1024 * 1024;

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/** Runs `script` (an ES module) in a fresh node until it prints "ready", then reads its RSS. */
async function stagedRss(script: string): Promise<number> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => String(chunk).includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`stage exited with ${code}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return rssMb(child.pid!);
  } finally {
    child.kill("SIGKILL");
  }
}

interface ThreadMemory {
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** Node's diagnostic report of the running bot: each isolate's heap and external memory. */
async function threadReport(pid: number, dir: string): Promise<{ main: ThreadMemory; workers: ThreadMemory[] }> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (let tries = 0; tries < 100; tries++) {
    const written = readdirSync(dir).find((file) => !before.has(file) && file.endsWith(".json"));
    if (written) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const report = JSON.parse(readFileSync(path.join(dir, written), "utf8")) as { javascriptHeap: Record<string, number>; workers: Array<{ javascriptHeap: Record<string, number> }> };
      const of = (heap: Record<string, number>): ThreadMemory => ({ heapTotal: heap.totalMemory! / MB, heapUsed: heap.usedMemory! / MB, external: heap.externalMemory! / MB });
      return { main: of(report.javascriptHeap), workers: report.workers.map((worker) => of(worker.javascriptHeap)) };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("no diagnostic report was written");
}

const fmt = (value: number) => value.toFixed(0);
const describeThread = (memory: ThreadMemory) => `heap ${fmt(memory.heapUsed)}/${fmt(memory.heapTotal)}, outside ${fmt(memory.external)}`;

async function main(): Promise<void> {
  const { dist } = await ensureCompiledBuild();
  const mainUrl = pathToFileURL(path.join(dist, "main.js")).href;
  const openUrl = pathToFileURL(path.join(dist, "db/open-database.js")).href;
  const schema = scratchSchema(PG_URL);

  console.log("# Staged processes (compiled build), RSS in MB");
  const node = await stagedRss(`console.log("ready"); setInterval(() => {}, 1000);`);
  const modules = await stagedRss(`await import(${JSON.stringify(mainUrl)}); console.log("ready"); setInterval(() => {}, 1000);`);
  const prisma = await stagedRss(
    `const { openDatabase } = await import(${JSON.stringify(openUrl)});
     const db = await openDatabase({ target: { kind: "postgres", url: ${JSON.stringify(schema.url)}, schema: ${JSON.stringify(schema.schema)} }, migrate: true, logger: { info() {}, warn() {}, error() {} } });
     await db.ping(); console.log("ready"); setInterval(() => {}, 1000);`,
  );
  console.log(`| plain node | ${fmt(node)} |`);
  console.log(`| + every module of the bot loaded (Bolt, web-api, Prisma client, pino, zod, vega…), nothing started | ${fmt(modules)} (+${fmt(modules - node)}) |`);
  console.log(`| + a Prisma client connected to PostgreSQL (its WebAssembly query compiler, the pg pool) | ${fmt(prisma)} (+${fmt(prisma - modules)}) |`);

  const sim = await startSlackSimulator({
    users: ONCALL.map((id) => ({ id, name: id.toLowerCase() })),
    usergroups: { S0SECURITY: [], S0ENG: [], S0ONCALL: ONCALL, S0LONELY: [] },
    channels: [
      { id: "C0APPROVALS", name: "access-approvals" },
      { id: "C0AUDIT", name: "access-audit" },
    ],
  });
  try {
    console.log("\n# The whole bot (compiled), MB: RSS, and per thread the V8 heap (used/total) and memory outside it");
    console.log("| database | when | RSS | main thread | ack thread | PGlite thread | rest of RSS (code, WebAssembly code, malloc) |");
    console.log("|---|---|---:|---|---|---|---:|");
    for (const database of ["postgres", "pglite"] as const) {
      const cwd = mkdtempSync(path.join(os.tmpdir(), "accessbot-mem-parts-"));
      const reports = path.join(cwd, "reports");
      const target = database === "postgres" ? scratchSchema(PG_URL) : null;
      const policyFile = path.join(cwd, "access-policy.yml");
      writeFileSync(policyFile, readFileSync(POLICY_FILE));
      mkdirSync(reports);
      const pglite = new URL("postgresql://pglite.invalid/pglite");
      pglite.searchParams.set("data_dir", path.join(cwd, "pglite"));
      const env = {
        ...benchBotEnv(sim, target ? target.url : pglite.toString(), policyFile),
        NODE_OPTIONS: `--report-on-signal --report-signal=SIGUSR2 --report-directory=${reports} --report-compact`,
      };
      const bot = await startBotProcess({ name: `mem-${database}`, env, cwd, compiled: true });
      try {
        const row = async (when: string) => {
          const rss = rssMb(bot.pid);
          const threads = await threadReport(bot.pid, reports);
          // The PGlite thread holds the database's WebAssembly memory: the worker with the most outside its heap.
          const workers = [...threads.workers].sort((a, b) => a.external - b.external);
          const ack = workers[0]!;
          const pgliteThread = database === "pglite" ? workers[workers.length - 1]! : null;
          const counted = [threads.main, ...threads.workers].reduce((sum, thread) => sum + thread.heapTotal + thread.external, 0);
          console.log(`| ${database} | ${when} | ${fmt(rss)} | ${describeThread(threads.main)} | ${describeThread(ack)} | ${pgliteThread ? describeThread(pgliteThread) : "–"} | ${fmt(rss - counted)} |`);
        };
        await row("after start");
        await mapConcurrent(Array.from({ length: REQUESTS }, (_, i) => i), 8, async (i) => {
          await sendCommand(sim, bot, SIGNING_SECRET, ONCALL[i % ONCALL.length]!, `oncall-one 30m memory ${i}`, { expectReply: false });
        });
        sim.reset();
        await row(`after ${REQUESTS.toLocaleString("en")} requests`);
      } finally {
        await bot.stop();
        await target?.drop();
        rmSync(cwd, { recursive: true, force: true });
      }
    }
  } finally {
    await sim.close();
    await schema.drop();
  }
}

await main();
