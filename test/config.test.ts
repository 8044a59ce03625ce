import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, readEnvConfig } from "../src/config/read-env-config.js";

test("missing Slack credentials are named, with where to find them", () => {
  assert.throws(() => readEnvConfig({}), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 2);
    assert.match(error.problems[0]!, /Missing SLACK_BOT_TOKEN: .*OAuth & Permissions/);
    assert.match(error.problems[1]!, /Missing SLACK_SIGNING_SECRET: .*Basic Information/);
    return true;
  });
});

test("Socket Mode needs no signing secret", () => {
  const config = readEnvConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1" });
  assert.equal(config.slack.appToken, "xapp-1");
  assert.equal(config.slack.apiUrl, "https://slack.com/api/");
  assert.equal(config.port, 3000);
  assert.equal(config.autoMigrate, true);
});

test("every malformed value gets its own one-line message", () => {
  assert.throws(
    () => readEnvConfig({ SLACK_BOT_TOKEN: "xapp-wrong", SLACK_SIGNING_SECRET: "s", PORT: "http", SLACK_API_URL: "not a url", ACCESSBOT_SWEEP_SCHEDULE: "every minute", LOG_LEVEL: "loud" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const text = error.problems.join("\n");
      for (const name of ["SLACK_BOT_TOKEN", "PORT", "SLACK_API_URL", "ACCESSBOT_SWEEP_SCHEDULE", "LOG_LEVEL"]) assert.match(text, new RegExp(name));
      return true;
    },
  );
});

test("SLACK_API_URL gets a trailing slash and the sweep schedule accepts seconds", () => {
  const config = readEnvConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s", SLACK_API_URL: "http://127.0.0.1:9/api", ACCESSBOT_SWEEP_SCHEDULE: "*/5 * * * * *", ACCESSBOT_AUTO_MIGRATE: "false" });
  assert.equal(config.slack.apiUrl, "http://127.0.0.1:9/api/");
  assert.equal(config.sweepSchedule, "*/5 * * * * *");
  assert.equal(config.autoMigrate, false);
});

test("a SIEM webhook without a secret is refused", () => {
  assert.throws(() => readEnvConfig({ SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s", AUDIT_WEBHOOK_URL: "https://siem.example/hook" }), /AUDIT_WEBHOOK_SECRET/);
});
