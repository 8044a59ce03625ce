import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ensureCompiledBuild } from "./support/compiled-build.js";
import { postToBot, slashCommandBody } from "./support/slack-requests.js";
import { SIGNING_SECRET, USERS } from "./support/start-test-bot.js";
import { startSlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const root = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `accessbot start` as a newcomer runs it: `entry` in `workDir`, with only `env` (plus PATH and HOME). */
function spawnStart(entry: string, workDir: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry, "start"], { cwd: workDir, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes; returns the last answer. */
async function firstOk(url: string, child: ChildProcess, timeoutMs: number): Promise<Response | null> {
  const deadline = Date.now() + timeoutMs;
  let answer: Response | null = null;
  while (Date.now() < deadline && child.exitCode === null) {
    answer = await fetch(url).catch(() => null);
    if (answer?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return answer;
}

// Both ways `accessbot` runs: a clone's TypeScript sources through tsx (`npm ci && npm start`),
// and the compiled build (`npm run build`; plain node on dist/, as in production).
for (const mode of ["sources", "compiled"] as const) {
  test(`\`accessbot start\` (${mode === "compiled" ? "compiled build" : "TypeScript sources"}) in a fresh directory: embedded database created and migrated, Slack served, clean exit on SIGTERM`, { timeout: 300_000 }, async () => {
    const entry = mode === "compiled" ? (await ensureCompiledBuild()).bin : path.join(root, "bin/accessbot.mjs");
    const sim = await startSlackSimulator({ users: [{ id: USERS.eng, name: "eng" }], usergroups: { S0SECURITY: [], S0ENG: [USERS.eng], S0ONCALL: [], S0LONELY: [] }, channels: [{ id: "C0APPROVALS", name: "a" }, { id: "C0AUDIT", name: "b" }] });
    const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-start-"));
    copyFileSync(path.join(root, "test/fixtures/test-policy.yml"), path.join(workDir, "access-policy.yml"));
    const port = await freePort();
    const { child, exited, output } = spawnStart(entry, workDir, { SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: sim.apiUrl, PORT: String(port), LOG_LEVEL: "info", ACCESSBOT_COMPILED: mode === "compiled" ? "1" : "0" });
    try {
      const health = await firstOk(`http://127.0.0.1:${port}/healthz`, child, 60_000);
      assert.equal(health?.status, 200, output());
      assert.ok(existsSync(path.join(workDir, ".data/pglite")), "the default embedded database lives in ./.data/pglite");
      assert.match(output(), /"msg":"accessbot is running"/);

      const body = slashCommandBody({ userId: USERS.eng, text: "staging-admin 1h from the real entry point", responseUrl: sim.responseUrl("start") });
      const response = await postToBot(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
      assert.equal(response.status, 200);
      const reply = await sim.waitForResponse((r) => r.key === "start", { timeoutMs: 15_000 });
      assert.match(String((reply.body as { text: string }).text), /waiting for approval/);

      child.kill("SIGTERM");
      assert.equal(await exited, 0, output());
      assert.ok(!existsSync(path.join(workDir, ".data/pglite.lock")), "the database lock is released on shutdown");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await sim.close();
    }
  });
}

// `npm ci && npm start` on a fresh clone, with no Slack variables at all: the sandbox, not an error.
for (const mode of ["sources", "compiled"] as const) {
  test(`\`accessbot start\` (${mode === "compiled" ? "compiled build" : "TypeScript sources"}) with no Slack variables starts the sandbox on 127.0.0.1, its data in ./.data/sandbox; clean exit on SIGTERM`, { timeout: 300_000 }, async () => {
    const entry = mode === "compiled" ? (await ensureCompiledBuild()).bin : path.join(root, "bin/accessbot.mjs");
    const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-sandbox-start-"));
    const port = await freePort();
    const { child, exited, output } = spawnStart(entry, workDir, { PORT: String(port), LOG_LEVEL: "info", ACCESSBOT_COMPILED: mode === "compiled" ? "1" : "0" });
    try {
      const page = await firstOk(`http://127.0.0.1:${port}/`, child, 90_000);
      assert.equal(page?.status, 200, output());
      assert.match(await page!.text(), /accessbot sandbox/);
      assert.match(output(), new RegExp(`SANDBOX: not connected to Slack[\\s\\S]*Open http://127\\.0\\.0\\.1:${port}/`));
      assert.match(output(), /"sandbox":true/, "the bot's log lines say they come from the sandbox");
      assert.ok(existsSync(path.join(workDir, ".data/sandbox/pglite")), "the sandbox's database lives in ./.data/sandbox");
      assert.ok(!existsSync(path.join(workDir, ".data/pglite")), "never in the production data directory");
      const state = (await (await fetch(`http://127.0.0.1:${port}/api/state`)).json()) as { sandbox: boolean };
      assert.equal(state.sandbox, true);

      child.kill("SIGTERM");
      assert.equal(await exited, 0, output());
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
}
