import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { AUDIT_SPEC, EXPORT_SPEC, SHOW_SPEC, VERIFY_SPEC } from "../src/audit/cli/parse-audit-args.js";
import type { CommandSpec } from "../src/cli/command-spec.js";
import { POLICY_CHECK_SPEC, POLICY_SPEC, ROOT_SPEC, runCli, START_SPEC } from "../src/cli/run-cli.js";
import { BACKUP_SPEC, DB_SPEC, MIGRATE_SPEC, RESTORE_SPEC, SETUP_ROLES_SPEC } from "../src/db/run-db-cli.js";
import { DIGEST_SPEC } from "../src/digest/run-digest-cli.js";
import type { PolicyCheckJson } from "../src/policy/check-policy-command.js";
import { SANDBOX_SPEC } from "../src/sandbox/run-sandbox-command.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = path.join(root, "bin/accessbot.mjs");

function run(args: string[], env: Record<string, string> = {}) {
  // A clean environment: only what a newcomer's shell would have.
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("`accessbot start` with a partial Slack configuration stays strict: each missing variable named, no sandbox", () => {
  // Only the bot token: a half-configured deployment must never fall into the sandbox.
  const partial = run(["start"], { SLACK_BOT_TOKEN: "xoxb-1" });
  assert.equal(partial.code, 1);
  assert.match(partial.stderr, /Missing SLACK_SIGNING_SECRET: .*Signing Secret/);
  assert.match(partial.stderr, /manifest\.yml/);
  assert.doesNotMatch(partial.stdout + partial.stderr, /SANDBOX/);
  assert.doesNotMatch(partial.stderr, /at .*\.ts:\d+/, "no stack trace for a configuration problem");
  // Present but empty counts as set: an emptied secret is a configuration problem, not a sandbox.
  const empty = run(["start"], { SLACK_SIGNING_SECRET: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /Missing SLACK_BOT_TOKEN: .*OAuth & Permissions/);
  assert.match(empty.stderr, /Missing SLACK_SIGNING_SECRET: .*Signing Secret/);
  assert.doesNotMatch(empty.stdout + empty.stderr, /SANDBOX/);
  // A production install (NODE_ENV=production, as deploy/ sets it) with an empty environment is a mistake, not a sandbox.
  const production = run(["start"], { NODE_ENV: "production", ACCESSBOT_COMPILED: "0" });
  assert.equal(production.code, 1);
  assert.match(production.stderr, /Missing SLACK_BOT_TOKEN: .*OAuth & Permissions/);
  assert.doesNotMatch(production.stdout + production.stderr, /SANDBOX/);
});

test("`accessbot start` with a missing policy file says how to create one", () => {
  const { code, stderr } = run(["start"], { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s", ACCESS_POLICY_FILE: "/nonexistent/policy.yml" });
  assert.equal(code, 1);
  assert.match(stderr, /copy access-policy\.example\.yml/);
});

test("`accessbot policy check` validates without starting the bot", () => {
  const ok = run(["policy", "check", "access-policy.example.yml"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /is valid: 5 resources, 3 groups, sha256 [0-9a-f]{64}/);

  const dir = mkdtempSync(path.join(tmpdir(), "policy-"));
  const bad = path.join(dir, "bad.yml");
  writeFileSync(bad, "version: 1\nsettings:\n  approval_channel: C0A\n  audit_channel: C0B\n  timezone: Mars/Olympus\n  request_ttl: 24h\n  digest_schedule: '0 9 * * MON'\ngroups: {}\nresources:\n  x:\n    title: X\n    approval: { rules: [ { group: nobody, count: 1 } ] }\n");
  const failed = run(["policy", "check", bad]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr + failed.stdout, /bad\.yml:5:\d+ settings\.timezone/);
  assert.match(failed.stderr + failed.stdout, /bad\.yml:12:\d+ resources\.x\.approval\.rules\[0\]\.group: unknown group 'nobody'/);
});

test("unknown commands print usage and exit 2", () => {
  const { code, stderr } = run(["frobnicate"]);
  assert.equal(code, 2);
  assert.match(stderr, /Usage: accessbot/);
});

// ---------------------------------------------------------------------------------------------
// One parser for every command: --help, --version, unknown options.

const EVERY_COMMAND: Array<{ argv: string[]; spec: CommandSpec }> = [
  { argv: [], spec: ROOT_SPEC },
  { argv: ["start"], spec: START_SPEC },
  { argv: ["sandbox"], spec: SANDBOX_SPEC },
  { argv: ["policy"], spec: POLICY_SPEC },
  { argv: ["policy", "check"], spec: POLICY_CHECK_SPEC },
  { argv: ["audit"], spec: AUDIT_SPEC },
  { argv: ["audit", "verify"], spec: VERIFY_SPEC },
  { argv: ["audit", "export"], spec: EXPORT_SPEC },
  { argv: ["audit", "show"], spec: SHOW_SPEC },
  { argv: ["digest"], spec: DIGEST_SPEC },
  { argv: ["db"], spec: DB_SPEC },
  { argv: ["db", "setup-roles"], spec: SETUP_ROLES_SPEC },
  { argv: ["db", "migrate"], spec: MIGRATE_SPEC },
  { argv: ["db", "backup"], spec: BACKUP_SPEC },
  { argv: ["db", "restore"], spec: RESTORE_SPEC },
];

async function runInProcess(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(argv, { log: (text) => stdout.push(text), error: (text) => stderr.push(text) });
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

test("every command and subcommand answers --help and -h on stdout, exit 0, with its options and exit codes", async () => {
  for (const { argv, spec } of EVERY_COMMAND) {
    for (const flag of ["--help", "-h"]) {
      const run = await runInProcess([...argv, flag]);
      const what = [...argv, flag].join(" ");
      assert.equal(run.code, 0, `${what}: ${run.stderr}`);
      assert.equal(run.stderr, "", what);
      assert.ok(run.stdout.startsWith(`Usage: accessbot ${argv.join(" ")}`.trimEnd()), `${what}: ${run.stdout.slice(0, 80)}`);
      for (const option of Object.keys(spec.options)) assert.ok(run.stdout.includes(`--${option}`), `${what} mentions --${option}`);
      assert.match(run.stdout, /Exit codes:\n {2}0 {2}/, what);
      for (const [code] of spec.exitCodes) assert.match(run.stdout, new RegExp(`\\n {2}${code} {2}\\S`), `${what} documents exit ${code}`);
    }
  }
  // The three that used to do something else entirely.
  assert.match((await runInProcess(["audit", "verify", "--help"])).stdout, /--checkpoint SEQ:HASH/);
  assert.match((await runInProcess(["policy", "check", "--help"])).stdout, /--json/);
  assert.match((await runInProcess(["digest", "--help"])).stdout, /--json .*\n[\s\S]*--format json/);
});

test("an unknown option is an error: the problem and the usage on stderr, exit 2, nothing run", async () => {
  for (const { argv } of EVERY_COMMAND) {
    const run = await runInProcess([...argv, "--bogus"]);
    const what = [...argv, "--bogus"].join(" ");
    assert.equal(run.code, 2, `${what}: ${run.stdout}${run.stderr}`);
    assert.equal(run.stdout, "", what);
    assert.match(run.stderr, /unknown option --bogus/, what);
    assert.match(run.stderr, new RegExp(`Usage: accessbot ${argv.join(" ")}`.trimEnd()), what);
  }
  const missingValue = await runInProcess(["audit", "export", "--format"]);
  assert.equal(missingValue.code, 2);
  assert.match(missingValue.stderr, /--format needs a value/);
});

test("as a process: --version prints package.json's version; start --help does not start the bot", () => {
  const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  const printed = run(["--version"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, `${version}\n`);
  const help = run(["start", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: accessbot start/);
  assert.doesNotMatch(help.stderr, /Missing SLACK_BOT_TOKEN/);
  const none = run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: accessbot <command>/);
});

test("policy check --json: one document, checked against the file; exit codes as without it", () => {
  const ok = run(["policy", "check", "access-policy.example.yml", "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const valid = JSON.parse(ok.stdout) as PolicyCheckJson;
  const text = readFileSync(path.join(root, "access-policy.example.yml"));
  assert.equal(valid.valid, true);
  assert.equal(valid.sha256, createHash("sha256").update(text).digest("hex"));
  assert.equal(valid.resources.length, 5);
  assert.equal(valid.groups.length, 3);
  assert.deepEqual(valid.issues, []);

  const dir = mkdtempSync(path.join(tmpdir(), "policy-json-"));
  const bad = path.join(dir, "bad.yml");
  writeFileSync(bad, "version: 1\nsettings:\n  approval_channel: C0A\n  audit_channel: C0B\n  timezone: Mars/Olympus\n  request_ttl: 24h\n  digest_schedule: '0 9 * * MON'\ngroups: {}\nresources:\n  x:\n    title: X\n    approval: { rules: [ { group: nobody, count: 1 } ] }\n");
  const failed = run(["policy", "check", bad, "--json"]);
  assert.equal(failed.code, 1);
  const invalid = JSON.parse(failed.stdout) as PolicyCheckJson;
  assert.equal(invalid.valid, false);
  assert.ok(invalid.issues.some((issue) => issue.path === "settings.timezone" && issue.line === 5));
  assert.ok(invalid.issues.some((issue) => issue.path === "resources.x.approval.rules[0].group" && issue.line === 12));
});

test("output to a reader that has gone ends quietly: no EPIPE stack, the exit code intact", async () => {
  // The parent closes its end of the pipe before the child writes: every write then fails
  // with EPIPE, as with `accessbot … | head -1` once head has exited.
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "audit", "export", "--help"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /EPIPE|Error|at .*:\d+/);

  const viaHead = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${bin}" --help | head -1`], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(viaHead.status, 0, viaHead.stderr);
  assert.equal(viaHead.stdout, "Usage: accessbot <command> [options]\n");
  assert.equal(viaHead.stderr, "");
});
