import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { escapeMrkdwn, truncate } from "../src/slack/escape-mrkdwn.js";
import { parseAccessCommand } from "../src/slack/parse-access-command.js";

describe("parseAccessCommand", () => {
  test("reads resource, optional duration and reason", () => {
    assert.deepEqual(parseAccessCommand("prod-db 2h fixing INC-4411"), { kind: "request", resource: "prod-db", duration: "2h", reason: "fixing INC-4411" });
    assert.deepEqual(parseAccessCommand("prod-db fixing INC-4411"), { kind: "request", resource: "prod-db", duration: null, reason: "fixing INC-4411" });
    assert.deepEqual(parseAccessCommand("  prod-db   PT2H   x  "), { kind: "request", resource: "prod-db", duration: "PT2H", reason: "x" });
  });
  test("malformed durations are still read as durations, so they get a duration error", () => {
    for (const bad of ["0m", "-1h", "99999d"]) assert.equal((parseAccessCommand(`prod-db ${bad} reason`) as { duration: string }).duration, bad);
  });
  test("verbs", () => {
    assert.deepEqual(parseAccessCommand(""), { kind: "modal" });
    assert.deepEqual(parseAccessCommand("help"), { kind: "help" });
    assert.deepEqual(parseAccessCommand("LIST"), { kind: "list" });
    assert.deepEqual(parseAccessCommand("cancel AR-1234ABCD"), { kind: "cancel", id: "AR-1234ABCD" });
    assert.deepEqual(parseAccessCommand("revoke GR-1234ABCD"), { kind: "revoke", id: "GR-1234ABCD" });
  });
});

describe("escapeMrkdwn", () => {
  test("neutralises mentions, broadcasts and links", () => {
    const escaped = escapeMrkdwn("<!channel> <@U123> <https://x|y> a&b");
    assert.ok(!escaped.includes("<") && !escaped.includes(">"));
    assert.match(escaped, /&lt;!channel&gt; &lt;@U123&gt;/);
    assert.match(escaped, /a&amp;b/);
  });
  test("breaks formatting characters so user text can't restyle the message", () => {
    assert.notEqual(escapeMrkdwn("*bold*"), "*bold*");
    assert.equal(escapeMrkdwn("*bold*").replace(/\u200d/g, ""), "*bold*");
  });
  test("truncate never splits a surrogate pair", () => {
    const text = "😀".repeat(10);
    const cut = truncate(text, 5);
    assert.ok(cut.length <= 5);
    assert.ok(!/[\ud800-\udbff]…$/.test(cut));
  });
});
