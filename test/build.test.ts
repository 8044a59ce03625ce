// The production recipe of deploy/Dockerfile, executed here (CI has no Docker): `npm run build`
// in a copy of the repository, a production install (`npm ci --omit=dev`) in a fresh directory
// holding only what the runtime image holds, the compiled bot started with plain node as an
// unprivileged user (when the tests run as root) against the Slack simulator, the image's
// HEALTHCHECK command (deploy/healthcheck.mjs), and SIGTERM ending it within the shutdown deadline.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveWorkerEntry } from "../src/runtime/start-worker-thread.js";
import { ensureCompiledBuild, REPO_ROOT, type CompiledBuild } from "./support/compiled-build.js";
import { postToBot, slashCommandBody } from "./support/slack-requests.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { freePort } from "./support/start-bot-process.js";
import { SIGNING_SECRET, USERS } from "./support/start-test-bot.js";

/** src/main.ts: the bot's shutdown deadline (shutdownDeadlineMs default); deploy/accessbot.service's TimeoutStopSec is above it. */
const SHUTDOWN_DEADLINE_MS = 10_000;
/** What deploy/Dockerfile copies into the runtime stage besides node_modules and dist/. */
const RUNTIME_FILES = ["package.json", "package-lock.json", "prisma.config.ts", "prisma", "bin", "deploy/healthcheck.mjs", "src/db/resolve-database-target.ts"];
const NOBODY = 65534;

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs as an unprivileged user when this process is root (as the image's USER and the unit's User= do). */
function asUnprivileged(argv: string[]): string[] {
  if (process.getuid?.() !== 0) return argv;
  return ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv];
}

test("a worker entry named by its .ts source is the .js beside it when compiled, itself from the sources", () => {
  const entry = new URL("file:///app/dist/slack/ack-thread.ts");
  assert.equal(resolveWorkerEntry(entry, true).href, "file:///app/dist/slack/ack-thread.js");
  assert.equal(resolveWorkerEntry(entry, false).href, entry.href);
  assert.equal(resolveWorkerEntry(new URL("file:///app/dist/x.js"), true).href, "file:///app/dist/x.js");
});

test("deploy/: the Dockerfile copies what the smoke test installs, probes with deploy/healthcheck.mjs, and the unit's stop timeout exceeds the bot's shutdown deadline", () => {
  const main = fs.readFileSync(path.join(REPO_ROOT, "src/main.ts"), "utf8");
  const deadline = /shutdownDeadlineMs \?\? ([0-9_]+)/.exec(main)?.[1];
  assert.equal(Number(deadline?.replaceAll("_", "")), SHUTDOWN_DEADLINE_MS, "src/main.ts's shutdown deadline");
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, "deploy/Dockerfile"), "utf8");
  const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
  for (const file of RUNTIME_FILES) assert.match(runtime, new RegExp(`^COPY (?:[^\\n]* )?${file.replaceAll(".", "\\.")} `, "m"), `the runtime stage copies ${file}`);
  assert.match(runtime, /^COPY --from=build \/src\/dist \.\/dist$/m);
  assert.match(runtime, /npm ci --omit=dev --ignore-scripts/);
  assert.match(runtime, /^HEALTHCHECK [^\n]*\\\n\s*CMD \["node", "\/app\/deploy\/healthcheck\.mjs"\]/m);
  assert.match(runtime, /^USER accessbot$/m);
  const unit = fs.readFileSync(path.join(REPO_ROOT, "deploy/accessbot.service"), "utf8");
  const stop = Number(/^TimeoutStopSec=(\d+)s?$/m.exec(unit)?.[1]);
  assert.ok(stop * 1000 > SHUTDOWN_DEADLINE_MS, `TimeoutStopSec=${stop} must exceed the ${SHUTDOWN_DEADLINE_MS} ms deadline`);
  for (const line of ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/accessbot", "Restart=on-failure", "User=accessbot"]) assert.ok(unit.split("\n").includes(line), line);
  // Both recipes give the process a CPU share of its own, which is what makes SCHED_IDLE work threads safe.
  assert.match(runtime, /^\s+ACCESSBOT_IDLE_SCHEDULING=true$/m);
  for (const line of ["CPUWeight=100", "Environment=ACCESSBOT_IDLE_SCHEDULING=true"]) assert.ok(unit.split("\n").includes(line), line);
});

describe("the compiled build, installed for production", () => {
  let build: CompiledBuild;
  let prodDir: string;
  let sim: SlackSimulator | undefined;
  let bot: ChildProcess | undefined;
  const scratch: string[] = [];

  before(async () => {
    build = await ensureCompiledBuild();
    prodDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-prod-"));
    scratch.push(prodDir);
    fs.chmodSync(prodDir, 0o755);
    for (const file of RUNTIME_FILES) fs.cpSync(path.join(REPO_ROOT, file), path.join(prodDir, file), { recursive: true });
    fs.cpSync(build.dist, path.join(prodDir, "dist"), { recursive: true });
    // As deploy/Dockerfile: no install scripts (dist/ already holds the compiled Prisma client),
    // packages from the local cache when it has them.
    const install = await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: prodDir, env: { ...process.env, NODE_ENV: "production" }, timeoutMs: 180_000 });
    assert.equal(install.code, 0, `npm ci --omit=dev failed:\n${install.output.slice(-3000)}`);
  });

  after(async () => {
    if (bot && bot.exitCode === null && bot.signalCode === null) bot.kill("SIGKILL");
    await sim?.close();
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("`npm run build` compiles every entry, worker threads and the Prisma client included, to JavaScript", (t) => {
    t.diagnostic(build.built ? `built in ${(build.buildMs / 1000).toFixed(1)} s (${build.root})` : `reused ${build.root}`);
    for (const file of ["cli/run-cli.js", "main.js", "slack/ack-thread.js", "db/pglite-server-thread.js", "runtime/start-worker-thread.js", "generated/prisma/client.js"]) {
      assert.ok(fs.existsSync(path.join(build.dist, file)), `dist/${file}`);
    }
    const stray: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith(".ts")) stray.push(path.relative(build.dist, full));
      }
    };
    walk(build.dist);
    assert.deepEqual(stray, [], "dist/ holds no TypeScript (worker entries named by their .ts source are mapped to .js at run time)");
  });

  test("`npm ci --omit=dev` installs no tsx, and `accessbot` runs dist/ with plain node", async (t) => {
    assert.ok(!fs.existsSync(path.join(prodDir, "node_modules/tsx")), "tsx is a dev dependency");
    const du = spawnSync("du", ["-sh", "node_modules"], { cwd: prodDir, encoding: "utf8" });
    if (du.status === 0) t.diagnostic(`production node_modules: ${du.stdout.trim()}`);
    const help = await run(process.execPath, ["bin/accessbot.mjs", "help"], { cwd: prodDir, env: { PATH: process.env.PATH ?? "" } });
    assert.equal(help.code, 0, help.output);
    assert.match(help.output, /Usage: accessbot/);
  });

  test("without dist/, a production start says to run `npm run build`", async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-nodist-"));
    scratch.push(bare);
    fs.cpSync(path.join(REPO_ROOT, "bin"), path.join(bare, "bin"), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(bare, "package.json"));
    const result = await run(process.execPath, ["bin/accessbot.mjs", "start"], { cwd: bare, env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" } });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /run `npm run build`/);
  });

  test("the compiled bot, as an unprivileged user: healthy, serves a command, HEALTHCHECK passes, SIGTERM ends it within the deadline", { timeout: 90_000 }, async () => {
    sim = await startSlackSimulator({ users: [{ id: USERS.eng, name: "eng" }], usergroups: { S0SECURITY: [], S0ENG: [USERS.eng], S0ONCALL: [], S0LONELY: [] }, channels: [{ id: "C0APPROVALS", name: "a" }, { id: "C0AUDIT", name: "b" }] });
    // The data directory: the image's volume, the unit's ReadWritePaths. Only it is writable for the bot.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-data-"));
    scratch.push(dataDir);
    fs.copyFileSync(path.join(REPO_ROOT, "test/fixtures/test-policy.yml"), path.join(dataDir, "access-policy.yml"));
    if (process.getuid?.() === 0) fs.chownSync(dataDir, NOBODY, NOBODY);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: dataDir,
      NODE_ENV: "production",
      PORT: String(port),
      SLACK_BOT_TOKEN: sim.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: sim.apiUrl,
      LOG_LEVEL: "info",
      // As the image sets it.
      ACCESSBOT_IDLE_SCHEDULING: "true",
    };
    const [command, ...args] = asUnprivileged([process.execPath, path.join(prodDir, "bin/accessbot.mjs"), "start"]);
    // As the image: the working directory is the data volume, so the embedded database is ./.data/pglite there.
    const child = spawn(command!, args, { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
    bot = child;
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once("close", (code) => resolve({ code, at: Date.now() })));

    const healthcheck = () => run(process.execPath, [path.join(prodDir, "deploy/healthcheck.mjs")], { cwd: prodDir, env: { PATH: env.PATH, PORT: env.PORT }, timeoutMs: 10_000 });
    const deadline = Date.now() + 60_000;
    let check = await healthcheck();
    while (check.code !== 0 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      check = await healthcheck();
    }
    assert.equal(check.code, 0, `HEALTHCHECK never passed (last: ${check.output.trim()}). Bot output:\n${output.slice(-4000)}`);
    assert.match(output, /"msg":"accessbot is running"/);
    assert.doesNotMatch(output, /tsx/, "nothing of tsx in a production run");
    if (process.getuid?.() === 0) assert.equal(fs.statSync(path.join(dataDir, ".data/pglite")).uid, NOBODY, "the database was created by the unprivileged user");

    const body = slashCommandBody({ userId: USERS.eng, text: "staging-admin 1h from the compiled build", responseUrl: sim.responseUrl("compiled") });
    const response = await postToBot(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET, { body, contentType: "application/x-www-form-urlencoded" });
    assert.equal(response.status, 200, output.slice(-3000));
    const reply = await sim.waitForResponse((r) => r.key === "compiled", { timeoutMs: 15_000 });
    assert.match(String((reply.body as { text: string }).text), /waiting for approval/);

    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    const exit = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), SHUTDOWN_DEADLINE_MS + 5_000))]);
    assert.ok(exit, `no exit within ${SHUTDOWN_DEADLINE_MS + 5_000} ms of SIGTERM:\n${output.slice(-3000)}`);
    assert.equal(exit.code, 0, output.slice(-3000));
    assert.ok(exit.at - stoppedAt < SHUTDOWN_DEADLINE_MS + 2_000, `exit took ${exit.at - stoppedAt} ms`);
    assert.equal((await healthcheck()).code, 1, "HEALTHCHECK fails once the bot is gone");
  });
});
