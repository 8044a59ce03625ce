import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = path.join(root, "bin/accessbot.mjs");

function run(args: string[], env: Record<string, string> = {}) {
  // A clean environment: only what a newcomer's shell would have.
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("`accessbot start` without Slack credentials names each missing variable and where to get it", () => {
  const { code, stderr } = run(["start"]);
  assert.equal(code, 1);
  assert.match(stderr, /Missing SLACK_BOT_TOKEN: .*OAuth & Permissions/);
  assert.match(stderr, /Missing SLACK_SIGNING_SECRET: .*Signing Secret/);
  assert.match(stderr, /manifest\.yml/);
  assert.doesNotMatch(stderr, /at .*\.ts:\d+/, "no stack trace for a configuration problem");
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
