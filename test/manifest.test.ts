import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { SLASH_COMMAND } from "../src/slack/slack-ids.js";

const manifest = parse(readFileSync(new URL("../manifest.yml", import.meta.url), "utf8")) as Record<string, any>;
const schemaPath = fileURLToPath(new URL("./fixtures/slack-manifest.schema.1.0.0.json", import.meta.url));

test("manifest.yml is valid against Slack's published app-manifest schema", () => {
  const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as object;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const valid = validate(manifest);
  assert.ok(valid, JSON.stringify(validate.errors, null, 2));
});

test("the schema check is not vacuous: a broken manifest is rejected", () => {
  const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const broken = structuredClone(manifest);
  broken.features.slash_commands[0].command = "access without slash";
  delete broken.display_information;
  assert.equal(validate(broken), false);
});

test("the manifest declares what the code uses: the slash command, interactivity and every Web API scope", () => {
  assert.deepEqual(manifest.features.slash_commands.map((c: { command: string }) => c.command), [SLASH_COMMAND]);
  assert.equal(manifest.settings.interactivity.is_enabled, true);
  assert.equal(typeof manifest.settings.socket_mode_enabled, "boolean");
  const scopes = new Set<string>(manifest.oauth_config.scopes.bot);
  // chat.postMessage/update, conversations.open, conversations.history (a post whose answer was lost), users.info (with email), usergroups.users.list
  for (const scope of ["commands", "chat:write", "im:write", "im:history", "channels:history", "groups:history", "users:read", "users:read.email", "usergroups:read", "files:write"]) {
    assert.ok(scopes.has(scope), scope);
  }
  assert.match(manifest.features.slash_commands[0].url, /\/slack\/events$/);
  assert.match(manifest.settings.interactivity.request_url, /\/slack\/events$/);
});

test("the manifest enables the Home tab and subscribes to app_home_opened, which publishes it", () => {
  assert.equal(manifest.features.app_home.home_tab_enabled, true);
  // The bot's DMs (request copies, notices) live in the Messages tab.
  assert.equal(manifest.features.app_home.messages_tab_enabled, true);
  assert.ok(manifest.settings.event_subscriptions.bot_events.includes("app_home_opened"));
});
