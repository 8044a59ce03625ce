// By default `accessbot start` changes no thread's priority; with ACCESSBOT_IDLE_SCHEDULING
// every thread but the ack thread runs under SCHED_IDLE at nice +19
// (src/runtime/deprioritise-other-threads.ts). Read back from /proc, in real
// processes: the policy is per thread, so it is set and checked in a child, never in the test
// runner itself.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { REPLICA_APPROVERS, REPLICA_RESOURCE, writeReplicaPolicy } from "./support/grant-webhook-server.js";
import { requestIdOf, sendCommand, startBotProcess, startReplicaSimulator, stopAllBotProcesses } from "./support/start-bot-process.js";
import type { SlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
const linux = process.platform === "linux";
const MODULE = new URL("../src/runtime/deprioritise-other-threads.ts", import.meta.url).href;

interface ThreadState {
  tid: number;
  policy: number;
  nice: number;
}

function threadsOf(pid: number): ThreadState[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((name) => {
    try {
      const sched = readFileSync(`/proc/${pid}/task/${name}/sched`, "utf8");
      const stat = readFileSync(`/proc/${pid}/task/${name}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may hold spaces; nice is field 19.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return [{ tid: Number(name), policy: Number(/^policy\s*:\s*(\d+)/m.exec(sched)?.[1]), nice: Number(fields[16]) }];
    } catch {
      return []; // the thread ended while being read
    }
  });
}

/** Runs `script` (ESM, top-level await) in a fresh node with tsx and returns what it printed as JSON. */
function runChild(script: string, env: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe("thread priorities", { skip: linux ? false : "SCHED_IDLE and /proc are Linux's" }, () => {
  test("every thread but the kept one goes under SCHED_IDLE, the caller at nice +19; threads started later inherit from their starter", async () => {
    const result = (await runChild(`
      import { Worker } from "node:worker_threads";
      import fs from "node:fs";
      const { currentThreadId, deprioritiseOtherThreads } = await import(${JSON.stringify(MODULE)});
      // The child runs with --input-type=module, which its eval'd workers inherit: ESM here too.
      const reportTid = \`
        import { parentPort } from "node:worker_threads";
        import fs from "node:fs";
        parentPort.postMessage(Number(fs.readlinkSync("/proc/thread-self").split("/").pop()));
        setInterval(() => {}, 1000);
      \`;
      const worker = new Worker(reportTid, { eval: true });
      const kept = await new Promise((resolve) => worker.once("message", resolve));
      const outcome = await deprioritiseOtherThreads(kept, 19);
      // A thread started afterwards by the main thread (a second worker) inherits SCHED_IDLE.
      const late = new Worker(reportTid, { eval: true });
      const lateTid = await new Promise((resolve) => late.once("message", resolve));
      const policyOf = (tid) => Number(/^policy\\s*:\\s*(\\d+)/m.exec(fs.readFileSync("/proc/self/task/" + tid + "/sched", "utf8"))[1]);
      const tids = fs.readdirSync("/proc/self/task").map(Number);
      console.log(JSON.stringify({ kept, main: currentThreadId(), pid: process.pid, outcome, lateTid, policies: Object.fromEntries(tids.map((tid) => [tid, policyOf(tid)])) }));
      process.exit(0);
    `)) as { kept: number; main: number; pid: number; outcome: { idle: number[]; problem: string | null }; lateTid: number; policies: Record<string, number> };
    assert.equal(result.outcome.problem, null);
    assert.equal(result.main, result.pid, "the main thread's id is the process id");
    assert.equal(result.policies[result.kept], SCHED_OTHER, "the kept thread stays at the normal policy");
    assert.equal(result.policies[result.main], SCHED_IDLE);
    assert.equal(result.policies[result.lateTid], SCHED_IDLE, "a thread the main thread starts later inherits SCHED_IDLE");
    const others = Object.entries(result.policies).filter(([tid]) => Number(tid) !== result.kept);
    assert.ok(others.length >= 3, "node runs helper threads besides the two workers");
    assert.deepEqual(others.filter(([, policy]) => policy !== SCHED_IDLE), [], "no other thread is left at the normal policy");
  });

  test("without chrt the caller is still lowered to nice +19 and the reason is reported", async () => {
    const result = (await runChild(
      `
      import os from "node:os";
      const { deprioritiseOtherThreads } = await import(${JSON.stringify(MODULE)});
      const outcome = await deprioritiseOtherThreads(null, 19);
      const withoutChrt = await deprioritiseOtherThreads(-1, 0);
      console.log(JSON.stringify({ outcome, withoutChrt, nice: os.getPriority(0) }));
    `,
      // The child's own node is started by absolute path; its PATH then has no chrt.
      { PATH: "/nonexistent" },
    )) as { outcome: { idle: number[]; problem: string | null }; withoutChrt: { idle: number[]; problem: string | null }; nice: number };
    assert.equal(result.nice, 19);
    assert.match(result.outcome.problem ?? "", /not Linux/);
    assert.deepEqual(result.withoutChrt, { idle: [], problem: "chrt (util-linux) is not installed" });
  });

  describe("accessbot start", () => {
    let sim: SlackSimulator | undefined;
    let workDir: string | undefined;
    after(async () => {
      await stopAllBotProcesses();
      await sim?.close();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    const secret = "priorities-signing-secret-0123456";
    async function startBot(name: string, extraEnv: Record<string, string>) {
      sim ??= await startReplicaSimulator(["U0REQPRIO"], REPLICA_APPROVERS);
      workDir ??= mkdtempSync(path.join(tmpdir(), "accessbot-priorities-"));
      const url = new URL("postgresql://pglite.invalid/pglite");
      url.searchParams.set("data_dir", path.join(workDir, `pglite-${name}`));
      return startBotProcess({
        name,
        cwd: workDir,
        env: { DATABASE_URL: url.toString(), SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: sim.apiUrl, ACCESS_POLICY_FILE: writeReplicaPolicy(workDir, { grantUrl: "http://127.0.0.1:9/grant", provisioner: false }), LOG_LEVEL: "debug", ...extraEnv },
      });
    }

    test("by default no thread's priority is changed: every thread at nice 0 under the normal policy", { timeout: 120_000 }, async () => {
      const bot = await startBot("priorities-default", {});
      const sent = await sendCommand(sim!, bot, secret, "U0REQPRIO", `${REPLICA_RESOURCE} 30m default priorities`);
      assert.ok(requestIdOf(sent.replyText), sent.replyText);
      const threads = threadsOf(bot.pid);
      const main = threads.find((thread) => thread.tid === bot.pid);
      assert.deepEqual(main && { policy: main.policy, nice: main.nice }, { policy: SCHED_OTHER, nice: 0 });
      assert.deepEqual(threads.filter((thread) => thread.policy !== SCHED_OTHER || thread.nice !== 0), [], `every thread as it started: ${JSON.stringify(threads)}`);
      assert.equal(bot.logs().filter((line) => line.json?.msg === "every thread but the ack thread runs under SCHED_IDLE").length, 0);
      await bot.stop();
    });

    test("ACCESSBOT_IDLE_SCHEDULING=true leaves exactly one thread, the one that acks, at the normal priority, and the bot still does its work", { timeout: 120_000 }, async () => {
      const bot = await startBot("priorities-idle", { ACCESSBOT_IDLE_SCHEDULING: "true" });
      await bot.waitForLog((line) => line.json?.msg === "every thread but the ack thread runs under SCHED_IDLE", { timeoutMs: 30_000 });
      const threads = threadsOf(bot.pid);
      const main = threads.find((thread) => thread.tid === bot.pid);
      assert.deepEqual(main && { policy: main.policy, nice: main.nice }, { policy: SCHED_IDLE, nice: 19 }, "the bot's own thread does throughput work");
      const normal = threads.filter((thread) => thread.policy !== SCHED_IDLE);
      assert.equal(normal.length, 1, `one thread at the normal policy: ${JSON.stringify(threads)}`);
      assert.deepEqual({ policy: normal[0]!.policy, nice: normal[0]!.nice }, { policy: SCHED_OTHER, nice: 0 });

      // It still acks, and its own thread carries out what was acked: the request is created.
      const sent = await sendCommand(sim!, bot, secret, "U0REQPRIO", `${REPLICA_RESOURCE} 30m priorities check`);
      assert.ok(requestIdOf(sent.replyText), sent.replyText);
    });
  });
});
