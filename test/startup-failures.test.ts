// What an operator sees when the bot cannot reach or be admitted by Slack at start-up: one
// line on stderr naming the fix, a non-zero exit, no stack trace, no process left running;
// in HTTP and Socket Mode alike. And HOST: the server binds only the interface it is told.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, readEnvConfig } from "../src/config/read-env-config.js";
import type { Database } from "../src/db/open-database.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { SIGNING_SECRET, startTestBot, USERS } from "./support/start-test-bot.js";
import { openTestPglite } from "./support/test-databases.js";

const root = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs `accessbot start` in a fresh directory until it exits (or 60 s pass, which fails the test). */
async function startExpectingFailure(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
  const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-startfail-"));
  copyFileSync(path.join(root, "test/fixtures/test-policy.yml"), path.join(workDir, "access-policy.yml"));
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(root, "bin/accessbot.mjs"), "start"], {
    cwd: workDir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: String(await freePort()), LOG_LEVEL: "info", ACCESSBOT_COMPILED: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  rmSync(workDir, { recursive: true, force: true });
  return { code, stderr, stdout, ms: Date.now() - started };
}

function assertOneLine(result: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, `exit code 1 (not killed, not 0): ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^accessbot cannot start: /);
  assert.match(lines[0]!, pattern);
  const all = result.stderr + result.stdout;
  assert.ok(!/node_modules|\n\s+at /.test(all), `no stack trace:\n${all}`);
  assert.ok(!/"msg":"accessbot is running"/.test(all), "it never claimed to be running");
}

describe("start-up failures", () => {
  let sim: SlackSimulator;
  before(async () => {
    sim = await startSlackSimulator({ users: [{ id: USERS.eng, name: "eng" }], channels: [{ id: "C0APPROVALS", name: "a" }, { id: "C0AUDIT", name: "b" }] });
  });
  after(async () => {
    await sim.close();
  });

  for (const mode of ["http", "socket"] as const) {
    const slack = () => ({ SLACK_API_URL: sim.apiUrl, ...(mode === "http" ? { SLACK_SIGNING_SECRET: SIGNING_SECRET } : { SLACK_APP_TOKEN: sim.appToken }) });

    test(`${mode} mode: a bot token Slack rejects is one line and exit 1`, { timeout: 90_000 }, async () => {
      const result = await startExpectingFailure({ ...slack(), SLACK_BOT_TOKEN: "xoxb-rejected-by-the-simulator" });
      assertOneLine(result, /Slack rejected SLACK_BOT_TOKEN \(invalid_auth\): copy the Bot User OAuth Token/);
      assert.ok(!result.stderr.includes("xoxb-rejected"), "the token is not echoed");
    });

    test(`${mode} mode: an unreachable Slack is one line and exit 1`, { timeout: 90_000 }, async () => {
      const closed = await freePort();
      const result = await startExpectingFailure({ ...slack(), SLACK_BOT_TOKEN: sim.botToken, SLACK_API_URL: `http://127.0.0.1:${closed}/api/` });
      assertOneLine(result, new RegExp(`Slack is unreachable at http://127\\.0\\.0\\.1:${closed}/api/ \\(ECONNREFUSED\\): check the network`));
    });
  }

  test("socket mode: an app token Slack rejects is one line and exit 1", { timeout: 90_000 }, async () => {
    const result = await startExpectingFailure({ SLACK_API_URL: sim.apiUrl, SLACK_BOT_TOKEN: sim.botToken, SLACK_APP_TOKEN: "xapp-rejected-by-the-simulator" });
    assertOneLine(result, /Slack rejected SLACK_APP_TOKEN \(invalid_auth\): create an app-level token with the connections:write scope/);
  });

  test("socket mode: a bot token given as the app token is refused the same way", { timeout: 90_000 }, async () => {
    // Slack answers not_allowed_token_type; the simulator checks the token's kind like Slack.
    const result = await startExpectingFailure({ SLACK_API_URL: sim.apiUrl, SLACK_BOT_TOKEN: sim.botToken, SLACK_APP_TOKEN: `xapp-${sim.botToken}` });
    assertOneLine(result, /Slack rejected SLACK_APP_TOKEN \((invalid_auth|not_allowed_token_type)\)/);
  });

  test("a port already taken is one line naming PORT", { timeout: 90_000 }, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "0.0.0.0", resolve));
    try {
      const result = await startExpectingFailure({ SLACK_API_URL: sim.apiUrl, SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, PORT: String((taken.address() as AddressInfo).port) });
      assertOneLine(result, /port \d+ on 0\.0\.0\.0 is already in use: stop the other process or set PORT/);
    } finally {
      taken.close();
    }
  });
});

describe("HOST", () => {
  let db: Database;
  before(async () => {
    db = await openTestPglite();
  });
  after(async () => {
    await db.close();
  });

  const externalAddress = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === "IPv4" && !address.internal)?.address;

  for (const mode of ["http", "socket"] as const) {
    test(`${mode} mode: HOST=127.0.0.1 serves on loopback only`, { skip: externalAddress ? false : "this machine has no non-loopback IPv4 address to try" }, async () => {
      const t = await startTestBot(db, { env: { HOST: "127.0.0.1" }, socketMode: mode === "socket" });
      try {
        assert.equal((await fetch(`http://127.0.0.1:${t.bot.port}/livez`)).status, 200);
        const outside = await fetch(`http://${externalAddress}:${t.bot.port}/livez`).then(
          (response) => `answered ${response.status}`,
          (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
        );
        assert.equal(outside, "ECONNREFUSED", `not reachable on ${externalAddress}`);
      } finally {
        await t.stop();
      }
    });
  }

  test("by default (0.0.0.0) it answers on every interface", { skip: externalAddress ? false : "this machine has no non-loopback IPv4 address to try" }, async () => {
    const t = await startTestBot(db);
    try {
      assert.equal((await fetch(`http://${externalAddress}:${t.bot.port}/livez`)).status, 200);
    } finally {
      await t.stop();
    }
  });

  test("a HOST that is not an address is refused before anything starts", async () => {
    const env = { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: SIGNING_SECRET };
    assert.throws(() => readEnvConfig({ ...env, HOST: "not a host!" }), (error: ConfigError) => error.problems.some((problem) => /^HOST must be an interface address or host name/.test(problem)));
    assert.equal(readEnvConfig({ ...env, HOST: "[::1]" }).host, "::1", "a bracketed IPv6 address is unwrapped");
    assert.equal(readEnvConfig(env).host, "0.0.0.0");
  });
});
