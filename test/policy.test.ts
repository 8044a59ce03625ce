import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { checkPolicyCommand } from "../src/policy/check-policy-command.js";
import {
  PolicyError,
  loadPolicyFile,
  parsePolicy,
  type PolicyIssue,
  type ProvisionerTypes,
} from "../src/policy/load-policy.js";
import { evaluateApproval } from "../src/domain/evaluate-approval.js";
import { BUILTIN_PROVISIONER_TYPES } from "../src/provisioning/builtin-provisioners.js";
import { DEFAULT_PROVISION_MAX_ATTEMPTS, envVarName, type ProvisionerType } from "../src/provisioning/provisioner-type.js";

const FILE = "access-policy.yml";
const EXAMPLE = fileURLToPath(new URL("../access-policy.example.yml", import.meta.url));

/** Mirrors the format in the brief; every test below breaks exactly one thing in it. */
const BASE = `version: 1
settings:
  approval_channel: C0APPROVALS
  audit_channel: C0AUDIT
  timezone: Europe/Berlin
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
groups:
  sre-leads: { members: [U0SRE1, U0SRE2, U0SRE3] }
  security: { usergroup: S0SECURITY }
  engineering: { usergroup: S0ENG }
resources:
  prod-db:
    title: Production database (read-write)
    requesters: [engineering]
    default_duration: 1h
    max_duration: 4h
    require_reason: true
    approval:
      rules:
        - { group: sre-leads, count: 2 }
        - { group: security, count: 1 }
      allow_self_approval: false
  staging-admin:
    title: Staging admin
    max_duration: 8h
    approval: { rules: [ { group: sre-leads, count: 1 } ] }
`;

const tempDir = mkdtempSync(join(tmpdir(), "policy-test-"));
after(() => rmSync(tempDir, { recursive: true, force: true }));

/** BASE with one exact, unique piece of text replaced. */
function edit(from: string, to: string, text = BASE): string {
  assert.equal(text.split(from).length, 2, `fixture must contain ${JSON.stringify(from)} exactly once`);
  return text.replace(from, to);
}

/**
 * Small provisioner types of the tests' own, so these tests pin down how the loader treats
 * any registry rather than the built-in types' options (those have their own tests).
 */
const hookType: ProvisionerType<{ url: string; secretEnv: string }> = {
  type: "hook",
  optionsShape: {
    url: z.string().regex(/^https:\/\//, { error: "url must start with https://" }),
    secret_env: envVarName,
  },
  toOptions: (file) => ({ url: String(file.url), secretEnv: String(file.secret_env) }),
  defaultTimeoutSeconds: 10,
  create: () => assert.fail("policy loading must not build provisioners"),
};
const argv = z.array(z.string()).min(1, { error: "give the program and its arguments" });
const scriptType: ProvisionerType<{ grant: string[]; revoke: string[]; extend: string[] | null }> = {
  type: "script",
  optionsShape: { grant: argv, revoke: argv, extend: argv.optional() },
  toOptions: (file) => ({ grant: file.grant as string[], revoke: file.revoke as string[], extend: (file.extend as string[] | undefined) ?? null }),
  defaultTimeoutSeconds: 60,
  create: () => assert.fail("policy loading must not build provisioners"),
};
const TYPES: ProvisionerTypes = [hookType, scriptType];

/** BASE with every optional key of settings and resources set, for TYPES. */
const FULL = edit(
  '  digest_schedule: "0 9 * * MON"\n',
  `  digest_schedule: "0 9 * * MON"
  admin_group: security
  expiry_warning: 15m
  approval_reminder: 2h
`,
  edit(
    "      allow_self_approval: false\n",
    `      allow_self_approval: false
    request_ttl: 2h
    extension:
      requires_approval: false
      max_extensions: 3
    break_glass:
      allowed: true
      review_group: security
      review_within: 12h
    provisioner:
      type: hook
      url: https://grants.internal/db
      secret_env: GRANT_SECRET
      timeout: 30s
      max_attempts: 3
`,
  ),
);

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split("\n").findIndex((line) => line.includes(needle));
  assert.notEqual(index, -1, `fixture has no line containing ${JSON.stringify(needle)}`);
  return index + 1;
}

function policyError(text: string, types?: ProvisionerTypes): PolicyError {
  try {
    parsePolicy(text, FILE, types);
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected PolicyError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the policy to be rejected");
}

interface Expected {
  path: string;
  message: RegExp;
  /** The issue must be reported on the first line containing this text. */
  line: string;
  column?: number;
}

/** Asserts an issue with this path and message exists, on the right line, and is in the error message. */
function expectIssue(text: string, expected: Expected, types?: ProvisionerTypes): PolicyIssue {
  const error = policyError(text, types);
  const issue = error.issues.find((candidate) => candidate.path === expected.path && expected.message.test(candidate.message));
  assert.ok(issue, `no issue at ${expected.path} matching ${expected.message}; got:\n${error.message}`);
  assert.equal(issue.line, lineOf(text, expected.line), `line of ${expected.path}; got:\n${error.message}`);
  if (expected.column !== undefined) assert.equal(issue.column, expected.column);
  assert.ok(
    error.message
      .split("\n")
      .includes(`${FILE}:${issue.line}:${issue.column}${issue.path === "" ? "" : ` ${issue.path}`}: ${issue.message}`),
    `error message must have one line per issue:\n${error.message}`,
  );
  return issue;
}

describe("the example policy", () => {
  it("is valid and has the documented shape", async () => {
    const loaded = await loadPolicyFile(EXAMPLE);
    assert.deepEqual(Object.keys(loaded.policy.resources), [
      "prod-db",
      "prod-incident-channels",
      "aws-prod",
      "staging-admin",
      "billing-console",
    ]);
    assert.deepEqual(Object.keys(loaded.policy.groups), ["sre-leads", "security", "engineering"]);
    assert.equal(loaded.fileName, EXAMPLE);
  });

  it("shows every built-in provisioner type, an approval-only resource and the new options", async () => {
    // The environment variables the provisioners name are not needed to load the policy.
    for (const name of ["TARGET_PG_URL", "GRANT_WEBHOOK_SECRET"]) assert.equal(process.env[name], undefined, name);
    const { policy } = await loadPolicyFile(EXAMPLE);
    const { resources } = policy;
    const shown = Object.values(resources).map((resource) => resource.provisioner?.type ?? null);
    assert.deepEqual(shown, ["postgres-role", "slack-usergroup", "webhook", "command", null]);
    assert.deepEqual(shown.slice(0, -1), BUILTIN_PROVISIONER_TYPES.map((type) => type.type), "one resource per built-in type");
    assert.deepEqual(resources["prod-db"]?.provisioner, {
      type: "postgres-role",
      options: { connectionEnv: "TARGET_PG_URL", role: "prod_rw", logins: { U0ALICE: "alice" }, timeoutSeconds: 10 },
      timeoutSeconds: 10,
      maxAttempts: DEFAULT_PROVISION_MAX_ATTEMPTS,
    });
    assert.deepEqual(resources["prod-incident-channels"]?.provisioner?.options, { usergroup: "S0PRODACCESS" });
    assert.deepEqual(resources["aws-prod"]?.provisioner?.options, { url: "https://grants.internal/aws", secretEnv: "GRANT_WEBHOOK_SECRET" });
    assert.deepEqual(resources["staging-admin"]?.provisioner, {
      type: "command",
      options: { grant: ["/opt/grant", "k8s"], revoke: ["/opt/revoke", "k8s"], extend: null },
      timeoutSeconds: 30,
      maxAttempts: DEFAULT_PROVISION_MAX_ATTEMPTS,
    });
    assert.equal(resources["prod-db"]?.requestTtlSeconds, 4 * 3600);
    assert.deepEqual(resources["prod-db"]?.breakGlass, { reviewGroup: "security", reviewWithinSeconds: 24 * 3600 });
    assert.deepEqual(resources["staging-admin"]?.extension, { requiresApproval: false, maxExtensions: 2 });
    assert.equal(policy.settings.adminGroup, "sre-leads");
    // The alerts it shows are exactly the defaults, so copying it changes no threshold.
    assert.deepEqual(policy.alerts, parsePolicy(`${BASE}alerts: {}\n`, FILE).policy.alerts);
    assert.equal(policy.settings.workingHours.text, "Mon-Fri 08:00-19:00, Sat 10:00-14:00");
    const text = readFileSync(EXAMPLE, "utf8");
    assert.match(text, /without `provisioner` is approval-only: the grant is recorded, announced and expired, and\n# nothing is provisioned/);
  });

  it("has a sha256 equal to sha256sum of the file bytes", async () => {
    const loaded = await loadPolicyFile(EXAMPLE);
    const expected = execFileSync("sha256sum", [EXAMPLE], { encoding: "utf8" }).split(" ")[0];
    assert.equal(loaded.sha256, expected);
    assert.equal(loaded.text, readFileSync(EXAMPLE, "utf8"));
  });

  it("comments every field it sets", () => {
    const lines = readFileSync(EXAMPLE, "utf8").split("\n");
    const keys = ["version", "approval_channel", "audit_channel", "timezone", "request_ttl", "digest_schedule",
      "checkpoint_schedule", "groups", "resources", "title", "requesters", "default_duration", "max_duration",
      "require_reason", "approval", "rules", "allow_self_approval", "admin_group", "expiry_warning", "approval_reminder",
      "break_glass", "allowed", "review_group", "review_within", "extension", "requires_approval", "max_extensions",
      "provisioner", "type", "timeout", "max_attempts", "connection_env", "role", "logins", "url", "secret_env", "grant",
      "revoke", "# extend", "working_hours", "alerts", "rubber_stamp", "cosy_pair", "off_hours", "first_time_access",
      "unusual_duration", "repeated_break_glass", "request_burst"];
    for (const key of keys) {
      const index = lines.findIndex((line) => line.trimStart().startsWith(`${key}:`));
      assert.notEqual(index, -1, `${key} missing from the example`);
      assert.match(lines[index - 1] ?? "", /^\s*#/, `${key} must have a comment right above it`);
    }
  });
});

describe("parsePolicy: a valid policy", () => {
  it("maps the file to camelCase with every value converted", () => {
    const { policy } = parsePolicy(BASE, FILE);
    assert.deepEqual(policy.settings, {
      approvalChannel: "C0APPROVALS",
      auditChannel: "C0AUDIT",
      timezone: "Europe/Berlin",
      requestTtlSeconds: 86400,
      digestSchedule: "0 9 * * MON",
      checkpointSchedule: "0 0 * * *",
      adminGroup: null,
      reviewGroup: null,
      reviewWithinSeconds: 3 * 86400,
      expiryWarningSeconds: 600,
      approvalReminderSeconds: 3600,
      workingHours: { text: "Mon-Fri 08:00-19:00", spans: [{ days: [1, 2, 3, 4, 5], startMinute: 480, endMinute: 1140 }] },
    });
    assert.deepEqual(policy.groups["sre-leads"], { kind: "static", members: ["U0SRE1", "U0SRE2", "U0SRE3"] });
    assert.deepEqual(policy.groups.security, { kind: "usergroup", usergroupId: "S0SECURITY" });
    assert.deepEqual(policy.resources["prod-db"], {
      id: "prod-db",
      title: "Production database (read-write)",
      requesters: ["engineering"],
      defaultDurationSeconds: 3600,
      maxDurationSeconds: 4 * 3600,
      requireReason: true,
      rules: [
        { group: "sre-leads", count: 2 },
        { group: "security", count: 1 },
      ],
      allowSelfApproval: false,
      provisioner: null,
      requestTtlSeconds: null,
      extension: { requiresApproval: true, maxExtensions: 0 },
      breakGlass: null,
    });
  });

  it("applies the documented defaults", () => {
    const { policy } = parsePolicy(BASE, FILE);
    assert.deepEqual(policy.resources["staging-admin"], {
      id: "staging-admin",
      title: "Staging admin",
      requesters: null,
      defaultDurationSeconds: 3600,
      maxDurationSeconds: 8 * 3600,
      requireReason: true,
      rules: [{ group: "sre-leads", count: 1 }],
      allowSelfApproval: false,
      provisioner: null,
      requestTtlSeconds: null,
      extension: { requiresApproval: true, maxExtensions: 0 },
      breakGlass: null,
    });
    const shortMax = parsePolicy(edit("    max_duration: 8h\n", "    max_duration: 30m\n"), FILE).policy;
    assert.equal(shortMax.resources["staging-admin"]?.defaultDurationSeconds, 30 * 60, "default is min(1h, max)");
    const noMax = parsePolicy(edit("    max_duration: 8h\n", ""), FILE).policy;
    assert.equal(noMax.resources["staging-admin"]?.maxDurationSeconds, 8 * 3600);
  });

  it("takes explicit optional values", () => {
    const text = edit(
      '  digest_schedule: "0 9 * * MON"\n',
      '  digest_schedule: "0 9 * * MON"\n  checkpoint_schedule: "30 2 * * *"\n',
      edit("      allow_self_approval: false", "      allow_self_approval: true",
        edit("    require_reason: true", "    require_reason: false")),
    );
    const { policy } = parsePolicy(text, FILE);
    assert.equal(policy.settings.checkpointSchedule, "30 2 * * *");
    assert.equal(policy.resources["prod-db"]?.requireReason, false);
    assert.equal(policy.resources["prod-db"]?.allowSelfApproval, true);
  });

  it("hashes the exact UTF-8 bytes of the text", () => {
    const loaded = parsePolicy(BASE, FILE);
    assert.equal(loaded.sha256, createHash("sha256").update(Buffer.from(BASE, "utf8")).digest("hex"));
    assert.equal(loaded.text, BASE);
    assert.equal(loaded.fileName, FILE);
  });

  it("accepts durations in ISO-8601 and 6-field cron expressions", () => {
    const text = edit("  request_ttl: 24h", "  request_ttl: P1D", edit('"0 9 * * MON"', '"0 0 9 * * MON"'));
    const { policy } = parsePolicy(edit("    max_duration: 4h", "    max_duration: PT4H", text), FILE);
    assert.equal(policy.settings.requestTtlSeconds, 86400);
    assert.equal(policy.resources["prod-db"]?.maxDurationSeconds, 4 * 3600);
  });
});

describe("loadPolicyFile", () => {
  it("hashes the bytes on disk, not the decoded text (BOM, CRLF)", async () => {
    const path = join(tempDir, "bom.yml");
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(BASE.replaceAll("\n", "\r\n"))]);
    writeFileSync(path, bytes);
    const loaded = await loadPolicyFile(path);
    assert.equal(loaded.sha256, execFileSync("sha256sum", [path], { encoding: "utf8" }).split(" ")[0]);
    assert.equal(Object.keys(loaded.policy.resources).length, 2);
  });

  it("reports a missing file and says how to create one", async () => {
    const path = join(tempDir, "nope.yml");
    await assert.rejects(loadPolicyFile(path), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.equal(error.code, "INVALID_POLICY");
      assert.match(error.message, /not found/);
      assert.match(error.message, /access-policy\.example\.yml/);
      assert.match(error.message, /ACCESS_POLICY_FILE/);
      assert.equal(error.issues[0]?.line, null);
      return true;
    });
  });

  it("refuses a file that is not UTF-8", async () => {
    const path = join(tempDir, "latin1.yml");
    writeFileSync(path, Buffer.concat([Buffer.from(BASE), Buffer.from([0x23, 0x20, 0xe9, 0x0a])]));
    await assert.rejects(loadPolicyFile(path), /not valid UTF-8/);
  });
});

describe("parsePolicy: YAML problems", () => {
  it("reports syntax errors with their position", () => {
    const text = edit("    title: Staging admin", "    title: [Staging admin");
    const error = policyError(text);
    assert.ok(error.issues.length >= 1);
    assert.ok(error.issues.every((issue) => issue.line !== null && issue.line >= lineOf(text, "[Staging admin")));
    assert.match(error.message, /^access-policy\.yml:\d+:\d+: YAML: /);
  });

  it("reports duplicate keys instead of letting the last one win", () => {
    const text = edit("  staging-admin:\n", "  prod-db:\n");
    const error = policyError(text);
    assert.equal(error.issues[0]?.line, lineOf(text, "Staging admin") - 1);
    assert.match(error.issues[0]?.message ?? "", /unique/);
  });

  it("refuses more than one YAML document", () => {
    const text = `${BASE}---\nversion: 1\n`;
    expectIssue(text, { path: "", line: "---", message: /single YAML document/ });
  });

  it("reports an empty file", () => {
    assert.match(policyError("").message, /^access-policy\.yml:1:1: the policy file is empty/);
    assert.match(policyError("# only a comment\n").message, /empty/);
  });

  it("reports a document that is not a mapping", () => {
    assert.match(policyError("- a\n- b\n").message, /^access-policy\.yml:1:1: expected a mapping, got a list$/);
  });

  it("refuses alias bombs", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    assert.match(policyError(bomb).message, /YAML: /);
  });
});

describe("parsePolicy: structure", () => {
  it("requires version 1", () => {
    expectIssue(edit("version: 1", "version: 2"), { path: "version", line: "version: 2", column: 10, message: /version is 1/ });
    expectIssue(edit("version: 1\n", ""), { path: "version", line: "settings:", message: /missing required key 'version'/ });
  });

  it("reports unknown keys at every level, with a suggestion", () => {
    const cases: Array<[string, string, string, RegExp, string]> = [
      ["    max_duration: 4h", "    max_duraton: 4h", "resources.prod-db.max_duraton", /unknown key 'max_duraton' \(did you mean 'max_duration'\?/, "max_duraton"],
      ["version: 1", "version: 1\nextra: true", "extra", /unknown key 'extra' \(allowed keys: version, settings, groups, resources, alerts\)/, "extra"],
      ["  timezone: Europe/Berlin", "  time_zone: Europe/Berlin", "settings.time_zone", /did you mean 'timezone'/, "time_zone"],
      ["      allow_self_approval: false", "      allow_self_aproval: false", "resources.prod-db.approval.allow_self_aproval", /did you mean 'allow_self_approval'/, "allow_self_aproval"],
      ["{ group: security, count: 1 }", "{ group: security, count: 1, cuont: 2 }", "resources.prod-db.approval.rules[1].cuont", /unknown key 'cuont'/, "cuont"],
      ["  security: { usergroup: S0SECURITY }", "  security: { usergroup: S0SECURITY, member: [U0X1] }", "groups.security.member", /did you mean 'members'/, "member:"],
    ];
    for (const [from, to, path, message, key] of cases) {
      const text = edit(from, to);
      const issue = expectIssue(text, { path, message, line: key });
      // The column points at the misspelt key itself, not at its value or the line start.
      const lineText = text.split("\n")[(issue.line ?? 0) - 1] ?? "";
      assert.ok(lineText.slice((issue.column ?? 0) - 1).startsWith(key.replace(":", "")), `${path} column`);
    }
    assert.throws(() => parsePolicy(edit("    max_duration: 4h", "    max_duraton: 4h"), FILE), PolicyError);
  });

  it("names missing required keys and points at the mapping that lacks them", () => {
    expectIssue(edit("    title: Staging admin\n", ""), {
      path: "resources.staging-admin.title",
      line: "  staging-admin:",
      message: /missing required key 'title'/,
    });
    expectIssue(edit("  request_ttl: 24h\n", ""), {
      path: "settings.request_ttl",
      line: "settings:",
      message: /missing required key 'request_ttl'/,
    });
    expectIssue(edit("{ group: sre-leads, count: 1 }", "{ group: sre-leads }"), {
      path: "resources.staging-admin.approval.rules[0].count",
      line: "{ group: sre-leads }",
      message: /missing required key 'count'/,
    });
  });

  it("explains wrong value types in YAML terms", () => {
    expectIssue(edit("    require_reason: true", "    require_reason: yes"), {
      path: "resources.prod-db.require_reason",
      line: "require_reason: yes",
      message: /expected true or false, got 'yes'/,
    });
    expectIssue(edit("groups:\n  sre-leads: { members: [U0SRE1, U0SRE2, U0SRE3] }\n  security: { usergroup: S0SECURITY }\n  engineering: { usergroup: S0ENG }\n", "groups:\n"), {
      path: "groups",
      line: "groups:",
      message: /expected a mapping, got an empty value/,
    });
  });
});

describe("parsePolicy: Slack ids and names", () => {
  it("requires channel ids, not names", () => {
    expectIssue(edit("approval_channel: C0APPROVALS", 'approval_channel: "#approvals"'), {
      path: "settings.approval_channel",
      line: "#approvals",
      column: 21,
      message: /'#approvals' is not a Slack channel ID/,
    });
    expectIssue(edit("audit_channel: C0AUDIT", "audit_channel: D0DIRECT"), {
      path: "settings.audit_channel",
      line: "D0DIRECT",
      message: /not a Slack channel ID/,
    });
    assert.doesNotThrow(() => parsePolicy(edit("audit_channel: C0AUDIT", "audit_channel: G0PRIVATE"), FILE));
  });

  it("requires user ids (U or W) in members", () => {
    const text = edit("[U0SRE1, U0SRE2, U0SRE3]", "[U0SRE1, alice, W0SRE3]");
    expectIssue(text, { path: "groups.sre-leads.members[1]", line: "alice", column: 34, message: /'alice' is not a Slack user ID/ });
    assert.equal(policyError(text).issues.length, 1, "W ids are valid");
  });

  it("requires a user group id (S) for usergroup", () => {
    expectIssue(edit("usergroup: S0ENG", "usergroup: engineering-team"), {
      path: "groups.engineering.usergroup",
      line: "engineering-team",
      message: /not a Slack user group ID/,
    });
  });

  it("validates group names and resource ids", () => {
    expectIssue(edit("  engineering: { usergroup: S0ENG }", "  Engineering: { usergroup: S0ENG }\n  engineering: { usergroup: S0ENG2 }"), {
      path: "groups.Engineering",
      line: "  Engineering:",
      column: 3,
      message: /invalid group name 'Engineering'/,
    });
    expectIssue(edit("  staging-admin:", "  staging admin:"), {
      path: 'resources["staging admin"]',
      line: "  staging admin:",
      message: /invalid resource id 'staging admin'/,
    });
    expectIssue(edit("  staging-admin:", `  ${"a".repeat(64)}:`), {
      path: `resources.${"a".repeat(64)}`,
      line: "aaaa",
      message: /invalid resource id/,
    });
    assert.doesNotThrow(() => parsePolicy(edit("  staging-admin:", `  ${"s".repeat(63)}:`), FILE));
  });

  it("does not let a __proto__ group or resource vanish silently", () => {
    expectIssue(edit("  engineering: { usergroup: S0ENG }", "  engineering: { usergroup: S0ENG }\n  __proto__: { usergroup: S0X }"), {
      path: "groups.__proto__",
      line: "  __proto__:",
      column: 3,
      message: /invalid group name '__proto__'/,
    });
    expectIssue(edit("  staging-admin:", "  __proto__:"), {
      path: "resources.__proto__",
      line: "  __proto__:",
      message: /invalid resource id '__proto__'/,
    });
  });
});

describe("parsePolicy: groups", () => {
  it("needs exactly one of members or usergroup", () => {
    expectIssue(edit("  security: { usergroup: S0SECURITY }", "  security: { usergroup: S0SECURITY, members: [U0SEC1] }"), {
      path: "groups.security",
      line: "  security:",
      message: /exactly one of 'members'.*or 'usergroup'/,
    });
    expectIssue(edit("  security: { usergroup: S0SECURITY }", "  security: {}"), {
      path: "groups.security",
      line: "  security:",
      message: /exactly one of/,
    });
  });

  it("needs a non-empty list of unique members", () => {
    expectIssue(edit("[U0SRE1, U0SRE2, U0SRE3]", "[]"), {
      path: "groups.sre-leads.members",
      line: "  sre-leads:",
      message: /at least one user/,
    });
    expectIssue(edit("[U0SRE1, U0SRE2, U0SRE3]", "[U0SRE1, U0SRE2, U0SRE1]"), {
      path: "groups.sre-leads.members[2]",
      line: "  sre-leads:",
      column: 42,
      message: /U0SRE1 is listed twice/,
    });
  });
});

describe("parsePolicy: approval rules", () => {
  it("reports an unknown group in a rule with the known groups", () => {
    const text = edit("- { group: sre-leads, count: 2 }", "- { group: sre-lead, count: 2 }");
    const issue = expectIssue(text, {
      path: "resources.prod-db.approval.rules[0].group",
      line: "sre-lead,",
      column: 20,
      message: /^unknown group 'sre-lead' \(known groups: engineering, security, sre-leads\)$/,
    });
    assert.ok(
      policyError(text).message.includes(
        `access-policy.yml:${issue.line}:20 resources.prod-db.approval.rules[0].group: unknown group 'sre-lead' (known groups: engineering, security, sre-leads)`,
      ),
    );
  });

  it("reports an unknown group in requesters", () => {
    expectIssue(edit("    requesters: [engineering]", "    requesters: [engineering, contractors]"), {
      path: "resources.prod-db.requesters[1]",
      line: "contractors",
      message: /^unknown group 'contractors' \(known groups: /,
    });
    expectIssue(edit("    requesters: [engineering]", "    requesters: []"), {
      path: "resources.prod-db.requesters",
      line: "requesters: []",
      message: /omit it to let everyone request/,
    });
  });

  it("requires count to be a whole number ≥ 1", () => {
    for (const bad of ["0", "-1", "1.5", '"2"', "true"]) {
      expectIssue(edit("{ group: security, count: 1 }", `{ group: security, count: ${bad} }`), {
        path: "resources.prod-db.approval.rules[1].count",
        line: `count: ${bad}`,
        message: /count must be/,
      });
    }
  });

  it("reports a rule a static group could never satisfy", () => {
    expectIssue(edit("{ group: sre-leads, count: 2 }", "{ group: sre-leads, count: 4 }"), {
      path: "resources.prod-db.approval.rules[0].count",
      line: "count: 4",
      message: /needs 4 approvals from 'sre-leads' but that group has only 3 members/,
    });
  });

  it("refuses a resource without rules or without approval", () => {
    expectIssue(edit("{ rules: [ { group: sre-leads, count: 1 } ] }", "{ rules: [] }"), {
      path: "resources.staging-admin.approval.rules",
      line: "rules: []",
      message: /at least one approval rule/,
    });
    expectIssue(edit("    approval: { rules: [ { group: sre-leads, count: 1 } ] }\n", ""), {
      path: "resources.staging-admin.approval",
      line: "  staging-admin:",
      message: /missing required key 'approval'/,
    });
  });

  it("refuses the same group twice in one resource", () => {
    expectIssue(edit("- { group: security, count: 1 }", "- { group: sre-leads, count: 1 }"), {
      path: "resources.prod-db.approval.rules[1].group",
      line: "- { group: sre-leads, count: 1 }",
      message: /'sre-leads' already appears in rules\[0\]; merge them into one rule with a higher count/,
    });
  });
});

describe("parsePolicy: distinct approvers across rules", () => {
  const twoRules = (groupA: string, groupB: string, countA = 1, countB = 1) =>
    edit(
      "  engineering: { usergroup: S0ENG }",
      `  engineering: { usergroup: S0ENG }\n  a: { members: [${groupA}] }\n  b: { members: [${groupB}] }`,
      edit("{ rules: [ { group: sre-leads, count: 1 } ] }", `{ rules: [ { group: a, count: ${countA} }, { group: b, count: ${countB} } ] }`),
    );

  it("refuses 1 of A + 1 of B when A and B are the same single person", () => {
    expectIssue(twoRules("U0ALICE", "U0ALICE"), {
      path: "resources.staging-admin.approval.rules",
      line: "{ rules: [ { group: a",
      message: /need 2 different approvers .* at most 1/,
    });
  });

  it("accepts overlapping groups when an assignment of distinct people exists", () => {
    assert.doesNotThrow(() => parsePolicy(twoRules("U0ALICE, U0BOB", "U0ALICE"), FILE));
    assert.doesNotThrow(() => parsePolicy(twoRules("U0ALICE, U0BOB", "U0ALICE, U0BOB", 1, 1), FILE));
  });

  it("refuses overlapping groups that are too small together", () => {
    expectIssue(twoRules("U0ALICE, U0BOB", "U0ALICE, U0BOB", 2, 1), {
      path: "resources.staging-admin.approval.rules",
      line: "{ rules: [ { group: a",
      message: /need 3 different approvers .* at most 2/,
    });
  });

  it("skips user groups, which can only be resolved live", () => {
    const text = edit("{ rules: [ { group: sre-leads, count: 1 } ] }", "{ rules: [ { group: security, count: 50 }, { group: engineering, count: 50 } ] }");
    assert.doesNotThrow(() => parsePolicy(text, FILE));
  });

  it("matches like a bipartite matching, not greedily", () => {
    // Greedy would give U1 to the first rule and then fail the second.
    const filled = (rules: Array<{ group: string; count: number }>, people: Array<[string, string[]]>) =>
      evaluateApproval(rules, people.map(([userId, groups]) => ({ userId, groups }))).rules.reduce((sum, rule) => sum + rule.filled, 0);
    assert.equal(filled([{ group: "a", count: 1 }, { group: "b", count: 1 }], [["U1", ["a", "b"]], ["U2", ["a"]]]), 2);
    assert.equal(filled([{ group: "a", count: 1 }, { group: "b", count: 1 }], [["U1", ["a", "b"]]]), 1);
    assert.equal(filled([{ group: "a", count: 2 }, { group: "b", count: 1 }, { group: "c", count: 1 }], [["U1", ["a", "b"]], ["U2", ["a", "b"]], ["U3", ["a", "c"]]]), 3);
    assert.equal(filled([], []), 0);
  });
});

describe("parsePolicy: durations, time zone, cron", () => {
  it("refuses default_duration above max_duration", () => {
    expectIssue(edit("    default_duration: 1h", "    default_duration: 5h"), {
      path: "resources.prod-db.default_duration",
      line: "default_duration: 5h",
      message: /default_duration 5h is longer than max_duration 4h/,
    });
    expectIssue(edit("    max_duration: 8h", "    default_duration: 10h"), {
      path: "resources.staging-admin.default_duration",
      line: "default_duration: 10h",
      message: /longer than the default max_duration of 8h/,
    });
  });

  it("reports bad durations with the duration parser's sentence", () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ["  request_ttl: 24h", "  request_ttl: 0m", "settings.request_ttl", /“0m” is not a valid duration/],
      ["    max_duration: 4h", "    max_duration: 99999d", "resources.prod-db.max_duration", /longer than the maximum of 365d/],
      ["    max_duration: 4h", "    max_duration: 10", "resources.prod-db.max_duration", /no unit/],
      ["    default_duration: 1h", "    default_duration: -1h", "resources.prod-db.default_duration", /negative/],
      ["    default_duration: 1h", "    default_duration: 1.5h", "resources.prod-db.default_duration", /whole numbers/],
      ["    default_duration: 1h", "    default_duration: [1h]", "resources.prod-db.default_duration", /expected a duration like 30m, 2h or 1d/],
    ];
    for (const [from, to, path, message] of cases) {
      expectIssue(edit(from, to), { path, message, line: to.trim() });
    }
  });

  it("refuses an unknown time zone", () => {
    for (const zone of ["Mars/Olympus", "+01:00", "Europe/Berlinn"]) {
      expectIssue(edit("timezone: Europe/Berlin", `timezone: "${zone}"`), {
        path: "settings.timezone",
        line: `timezone: "${zone}"`,
        column: 13,
        message: /unknown time zone/,
      });
    }
    assert.doesNotThrow(() => parsePolicy(edit("timezone: Europe/Berlin", "timezone: UTC"), FILE));
  });

  it("refuses invalid cron expressions", () => {
    for (const expression of ["* * * *", "61 9 * * MON", "0 9 * * FUNDAY", "0 0 31 2 *", "1 2 3 4 5 6 7", ""]) {
      expectIssue(edit('digest_schedule: "0 9 * * MON"', `digest_schedule: "${expression}"`), {
        path: "settings.digest_schedule",
        line: "digest_schedule:",
        message: /invalid cron expression/,
      });
    }
    expectIssue(edit('  digest_schedule: "0 9 * * MON"', '  digest_schedule: "0 9 * * MON"\n  checkpoint_schedule: "every night"'), {
      path: "settings.checkpoint_schedule",
      line: "every night",
      message: /invalid cron expression 'every night'/,
    });
  });
});

describe("parsePolicy: reporting", () => {
  it("reports every issue at once, sorted by position", () => {
    let text = edit("version: 1", "version: 3");
    text = edit("timezone: Europe/Berlin", "timezone: Nowhere/City", text);
    text = edit("    max_duration: 4h", "    max_duraton: 4h", text);
    text = edit("- { group: sre-leads, count: 2 }", "- { group: sre-lead, count: 2 }", text);
    text = edit("{ rules: [ { group: sre-leads, count: 1 } ] }", "{ rules: [] }", text);
    const error = policyError(text);
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      [
        "version",
        "settings.timezone",
        "resources.prod-db.max_duraton",
        "resources.prod-db.approval.rules[0].group",
        "resources.staging-admin.approval.rules",
      ],
    );
    assert.equal(error.message.split("\n").length, 5);
    const lines = error.issues.map((issue) => issue.line ?? 0);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  });

  it("has the documented error shape", () => {
    const error = policyError(edit("version: 1", "version: 2"));
    assert.equal(error.code, "INVALID_POLICY");
    assert.equal(error.name, "PolicyError");
    assert.ok(error instanceof Error);
    assert.deepEqual(error.issues, [{ line: 1, column: 10, path: "version", message: "the only supported version is 1" }]);
    assert.equal(error.message, "access-policy.yml:1:10 version: the only supported version is 1");
  });
});

describe("parsePolicy: settings for admins, warnings and reminders", () => {
  it("takes admin_group, expiry_warning and approval_reminder", () => {
    const { settings } = parsePolicy(FULL, FILE, TYPES).policy;
    assert.equal(settings.adminGroup, "security");
    assert.equal(settings.expiryWarningSeconds, 15 * 60);
    assert.equal(settings.approvalReminderSeconds, 2 * 3600);
  });

  it("defaults to no admin group, a warning 10m before expiry and a reminder after 1h", () => {
    const { settings } = parsePolicy(BASE, FILE).policy;
    assert.equal(settings.adminGroup, null);
    assert.equal(settings.expiryWarningSeconds, 600);
    assert.equal(settings.approvalReminderSeconds, 3600);
  });

  it("turns the warning and the reminder off with `off`", () => {
    const text = edit("  expiry_warning: 15m", "  expiry_warning: off", edit("  approval_reminder: 2h", "  approval_reminder: off", FULL));
    const { settings } = parsePolicy(text, FILE, TYPES).policy;
    assert.equal(settings.expiryWarningSeconds, null);
    assert.equal(settings.approvalReminderSeconds, null);
    assert.doesNotThrow(() => parsePolicy(edit("  expiry_warning: 15m", '  expiry_warning: "off"', FULL), FILE, TYPES));
  });

  it("reports a bad warning or reminder duration and says how to turn it off", () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ["  expiry_warning: 15m", "  expiry_warning: 10", "settings.expiry_warning", /no unit.*Write off to send no expiry warning\.$/],
      ["  expiry_warning: 15m", "  expiry_warning: 30s", "settings.expiry_warning", /seconds are not accepted.*Write off/],
      ["  expiry_warning: 15m", "  expiry_warning: never", "settings.expiry_warning", /“never” is not a valid duration.*Write off to send no expiry warning/],
      ["  approval_reminder: 2h", "  approval_reminder: Off", "settings.approval_reminder", /“Off” is not a valid duration.*Write off to send no reminders/],
      ["  approval_reminder: 2h", "  approval_reminder: false", "settings.approval_reminder", /^expected a duration like 10m or 1h, or off to send no reminders, got false$/],
      ["  approval_reminder: 2h", "  approval_reminder: 0m", "settings.approval_reminder", /“0m” is not a valid duration/],
    ];
    for (const [from, to, path, message] of cases) {
      const column = to.indexOf(":") + 3;
      expectIssue(edit(from, to, FULL), { path, message, line: to.trim(), column }, TYPES);
    }
  });

  it("reports an admin_group that is not a group, and a misspelt key", () => {
    expectIssue(edit("  admin_group: security", "  admin_group: admins", FULL), {
      path: "settings.admin_group",
      line: "admin_group: admins",
      column: 16,
      message: /^unknown group 'admins' \(known groups: engineering, security, sre-leads\)$/,
    }, TYPES);
    expectIssue(edit("  admin_group: security", "  admin_grup: security", FULL), {
      path: "settings.admin_grup",
      line: "admin_grup",
      column: 3,
      message: /unknown key 'admin_grup' \(did you mean 'admin_group'\?/,
    }, TYPES);
    expectIssue(edit("  admin_group: security", "  admin_group: [security]", FULL), {
      path: "settings.admin_group",
      line: "admin_group:",
      message: /expected text, got a list/,
    }, TYPES);
  });
});

describe("parsePolicy: who signs off the digest", () => {
  it("defaults review_group to admin_group and review_within to 3 days", () => {
    const { settings } = parsePolicy(FULL, FILE, TYPES).policy;
    assert.equal(settings.reviewGroup, "security");
    assert.equal(settings.reviewWithinSeconds, 3 * 86400);
  });

  it("takes review_group and review_within", () => {
    const text = edit("  admin_group: security", "  admin_group: security\n  review_group: sre-leads\n  review_within: 12h", FULL);
    const { settings } = parsePolicy(text, FILE, TYPES).policy;
    assert.equal(settings.reviewGroup, "sre-leads");
    assert.equal(settings.adminGroup, "security");
    assert.equal(settings.reviewWithinSeconds, 12 * 3600);
  });

  it("reports a review_group that is not a group, and a bad review_within", () => {
    expectIssue(edit("  admin_group: security", "  admin_group: security\n  review_group: auditors", FULL), {
      path: "settings.review_group",
      line: "review_group: auditors",
      message: /^unknown group 'auditors' \(known groups: engineering, security, sre-leads\)$/,
    }, TYPES);
    expectIssue(edit("  admin_group: security", "  admin_group: security\n  review_within: soon", FULL), {
      path: "settings.review_within",
      line: "review_within: soon",
      message: /“soon” is not a valid duration/,
    }, TYPES);
  });
});

describe("parsePolicy: request_ttl, extension and break_glass per resource", () => {
  it("takes every key", () => {
    const resource = parsePolicy(FULL, FILE, TYPES).policy.resources["prod-db"];
    assert.equal(resource?.requestTtlSeconds, 2 * 3600);
    assert.deepEqual(resource?.extension, { requiresApproval: false, maxExtensions: 3 });
    assert.deepEqual(resource?.breakGlass, { reviewGroup: "security", reviewWithinSeconds: 12 * 3600 });
  });

  it("applies the documented defaults", () => {
    const defaults = (extension: string) =>
      parsePolicy(edit("    max_duration: 8h\n", `    max_duration: 8h\n${extension}`), FILE).policy.resources["staging-admin"];
    assert.deepEqual(defaults("")?.extension, { requiresApproval: true, maxExtensions: 0 });
    assert.equal(defaults("")?.requestTtlSeconds, null, "null: settings.request_ttl applies");
    assert.deepEqual(defaults("    extension: {}\n")?.extension, { requiresApproval: true, maxExtensions: 0 });
    assert.deepEqual(defaults("    extension: { requires_approval: true }\n")?.extension, { requiresApproval: true, maxExtensions: 0 });
    assert.deepEqual(defaults("    extension: { requires_approval: false }\n")?.extension, { requiresApproval: false, maxExtensions: 1 });
    assert.deepEqual(defaults("    extension: { requires_approval: false, max_extensions: 0 }\n")?.extension, { requiresApproval: false, maxExtensions: 0 });
    const breakGlass = defaults("    break_glass: { allowed: true, review_group: sre-leads }\n")?.breakGlass;
    assert.deepEqual(breakGlass, { reviewGroup: "sre-leads", reviewWithinSeconds: 24 * 3600 });
    assert.equal(defaults("    break_glass: { allowed: false }\n")?.breakGlass, null);
    assert.equal(defaults("    break_glass: { allowed: false, review_group: security }\n")?.breakGlass, null);
  });

  it("refuses max_extensions when extensions need approval, explaining why", () => {
    const explicit = edit("      requires_approval: false", "      requires_approval: true", FULL);
    expectIssue(explicit, {
      path: "resources.prod-db.extension.max_extensions",
      line: "max_extensions: 3",
      column: 7,
      message: /^max_extensions only limits extensions made without approval, but here every extension is approved like a request \(requires_approval is true\); remove max_extensions, or set requires_approval: false/,
    }, TYPES);
    const implicit = edit("      requires_approval: false\n", "", FULL);
    expectIssue(implicit, {
      path: "resources.prod-db.extension.max_extensions",
      line: "max_extensions: 3",
      message: /requires_approval is true by default/,
    }, TYPES);
    // A broken requires_approval is reported once, not second-guessed.
    const broken = policyError(edit("      requires_approval: false", "      requires_approval: no", FULL), TYPES);
    assert.deepEqual(broken.issues.map((issue) => issue.path), ["resources.prod-db.extension.requires_approval"]);
  });

  it("reports bad extension values", () => {
    for (const bad of ["-1", "1.5", "many"]) {
      expectIssue(edit("      max_extensions: 3", `      max_extensions: ${bad}`, FULL), {
        path: "resources.prod-db.extension.max_extensions",
        line: `max_extensions: ${bad}`,
        column: 23,
        message: /^max_extensions must be a whole number, 0 or more/,
      }, TYPES);
    }
    expectIssue(edit("      requires_approval: false", "      requires_aproval: false", FULL), {
      path: "resources.prod-db.extension.requires_aproval",
      line: "requires_aproval",
      column: 7,
      message: /unknown key 'requires_aproval' \(did you mean 'requires_approval'\? allowed keys: requires_approval, max_extensions\)/,
    }, TYPES);
    expectIssue(edit("      requires_approval: false", "      requires_approval: yes", FULL), {
      path: "resources.prod-db.extension.requires_approval",
      line: "requires_approval: yes",
      message: /expected true or false, got 'yes'/,
    }, TYPES);
  });

  it("reports a bad request_ttl", () => {
    expectIssue(edit("    request_ttl: 2h", "    request_ttl: 2 hours", FULL), {
      path: "resources.prod-db.request_ttl",
      line: "request_ttl: 2 hours",
      column: 18,
      message: /“2 hours” is not a valid duration/,
    }, TYPES);
    expectIssue(edit("    request_ttl: 2h", "    request_tll: 2h", FULL), {
      path: "resources.prod-db.request_tll",
      line: "request_tll",
      message: /did you mean 'request_ttl'/,
    }, TYPES);
  });

  it("needs a review group that exists when break-glass is allowed", () => {
    expectIssue(edit("      review_group: security", "      review_group: secops", FULL), {
      path: "resources.prod-db.break_glass.review_group",
      line: "review_group: secops",
      column: 21,
      message: /^unknown group 'secops' \(known groups: engineering, security, sre-leads\)$/,
    }, TYPES);
    expectIssue(edit("      review_group: security\n", "", FULL), {
      path: "resources.prod-db.break_glass.review_group",
      line: "    break_glass:",
      message: /^missing required key 'review_group' \(with allowed: true, name the group/,
    }, TYPES);
    // A misspelt group is a mistake even while break-glass is switched off.
    expectIssue(edit("      allowed: true\n      review_group: security", "      allowed: false\n      review_group: secops", FULL), {
      path: "resources.prod-db.break_glass.review_group",
      line: "review_group: secops",
      message: /unknown group 'secops'/,
    }, TYPES);
    assert.doesNotThrow(() => parsePolicy(edit("      allowed: true\n      review_group: security\n", "      allowed: false\n", FULL), FILE, TYPES));
  });

  it("reports bad break_glass values", () => {
    expectIssue(edit("      allowed: true\n", "", FULL), {
      path: "resources.prod-db.break_glass.allowed",
      line: "    break_glass:",
      message: /missing required key 'allowed'/,
    }, TYPES);
    expectIssue(edit("      allowed: true", "      allowed: yes", FULL), {
      path: "resources.prod-db.break_glass.allowed",
      line: "allowed: yes",
      column: 16,
      message: /expected true or false, got 'yes'/,
    }, TYPES);
    expectIssue(edit("      review_within: 12h", "      review_within: 1.5d", FULL), {
      path: "resources.prod-db.break_glass.review_within",
      line: "review_within: 1.5d",
      column: 22,
      message: /use whole numbers \(for example 2160m\)/,
    }, TYPES);
    expectIssue(edit("      review_within: 12h", "      review_in: 12h", FULL), {
      path: "resources.prod-db.break_glass.review_in",
      line: "review_in",
      message: /unknown key 'review_in' \(did you mean 'review_within'\? allowed keys: allowed, review_group, review_within\)/,
    }, TYPES);
    expectIssue(edit("    break_glass:\n      allowed: true\n      review_group: security\n      review_within: 12h\n", "    break_glass: true\n", FULL), {
      path: "resources.prod-db.break_glass",
      line: "break_glass: true",
      message: /expected a mapping, got true/,
    }, TYPES);
  });
});

describe("parsePolicy: provisioner", () => {
  it("builds the settings with the type's own options", () => {
    const resource = parsePolicy(FULL, FILE, TYPES).policy.resources["prod-db"];
    assert.deepEqual(resource?.provisioner, {
      type: "hook",
      options: { url: "https://grants.internal/db", secretEnv: "GRANT_SECRET" },
      timeoutSeconds: 30,
      maxAttempts: 3,
    });
    assert.equal(parsePolicy(FULL, FILE, TYPES).policy.resources["staging-admin"]?.provisioner, null, "no provisioner: approval-only");
  });

  it("defaults timeout to the type's and max_attempts to the global default", () => {
    const text = edit("      timeout: 30s\n      max_attempts: 3\n", "", FULL);
    const provisioner = parsePolicy(text, FILE, TYPES).policy.resources["prod-db"]?.provisioner;
    assert.equal(provisioner?.timeoutSeconds, hookType.defaultTimeoutSeconds);
    assert.equal(provisioner?.maxAttempts, DEFAULT_PROVISION_MAX_ATTEMPTS);
    const script = edit(
      "      type: hook\n      url: https://grants.internal/db\n      secret_env: GRANT_SECRET\n      timeout: 30s\n      max_attempts: 3\n",
      '      type: script\n      grant: ["/opt/grant", "db"]\n      revoke: ["/opt/revoke", "db"]\n',
      FULL,
    );
    assert.deepEqual(parsePolicy(script, FILE, TYPES).policy.resources["prod-db"]?.provisioner, {
      type: "script",
      options: { grant: ["/opt/grant", "db"], revoke: ["/opt/revoke", "db"], extend: null },
      timeoutSeconds: 60,
      maxAttempts: DEFAULT_PROVISION_MAX_ATTEMPTS,
    });
  });

  it("gives toOptions the type's keys as validated, plus the timeout and attempts in force", () => {
    const seen: Array<Record<string, unknown>> = [];
    const recording: ProvisionerType = { ...hookType, toOptions: (file) => (seen.push(file), {}) };
    parsePolicy(edit("      timeout: 30s\n", "      timeout: 2m\n", FULL), FILE, [recording]);
    assert.deepEqual(seen, [{ url: "https://grants.internal/db", secret_env: "GRANT_SECRET", timeout: 120, max_attempts: 3 }]);
  });

  it("accepts timeouts in seconds or minutes", () => {
    for (const [written, seconds] of [["45s", 45], ["2m", 120], ["90", 90], ["10m", 600], ["1s", 1]] as const) {
      const text = edit("      timeout: 30s", `      timeout: ${written}`, FULL);
      assert.equal(parsePolicy(text, FILE, TYPES).policy.resources["prod-db"]?.provisioner?.timeoutSeconds, seconds, written);
    }
  });

  it("reports an unknown type at the type line, listing the types", () => {
    const text = edit("      type: hook", "      type: hok", FULL);
    const issue = expectIssue(text, {
      path: "resources.prod-db.provisioner.type",
      line: "type: hok",
      column: 13,
      message: /^unknown provisioner type 'hok': use one of hook, script$/,
    }, TYPES);
    // Only the type is reported: its keys cannot be checked without knowing the type.
    assert.deepEqual(policyError(text, TYPES).issues, [issue]);
    expectIssue(edit("      type: hook", "      type: 5", FULL), {
      path: "resources.prod-db.provisioner.type",
      line: "type: 5",
      message: /^unknown provisioner type '5': use one of hook, script$/,
    }, TYPES);
  });

  it("names a missing type and the types to choose from", () => {
    expectIssue(edit("      type: hook\n", "", FULL), {
      path: "resources.prod-db.provisioner.type",
      line: "    provisioner:",
      column: 5,
      message: /^missing required key 'type' \(use one of hook, script\)$/,
    }, TYPES);
  });

  it("reports an unknown key with a suggestion from that type's keys", () => {
    const issue = expectIssue(edit("      secret_env: GRANT_SECRET", "      secret_evn: GRANT_SECRET", FULL), {
      path: "resources.prod-db.provisioner.secret_evn",
      line: "secret_evn",
      column: 7,
      message: /^unknown key 'secret_evn' \(did you mean 'secret_env'\? allowed keys: type, timeout, max_attempts, url, secret_env\)$/,
    }, TYPES);
    assert.equal(issue.path, "resources.prod-db.provisioner.secret_evn");
    const script = edit(
      "      type: hook\n      url: https://grants.internal/db\n      secret_env: GRANT_SECRET\n",
      '      type: script\n      grant: ["/opt/grant"]\n      revoke: ["/opt/revoke"]\n      extnd: ["/opt/extend"]\n',
      FULL,
    );
    expectIssue(script, {
      path: "resources.prod-db.provisioner.extnd",
      line: "extnd",
      message: /^unknown key 'extnd' \(did you mean 'extend'\? allowed keys: type, timeout, max_attempts, grant, revoke, extend\)$/,
    }, TYPES);
    expectIssue(edit("      max_attempts: 3", "      max_attempt: 3", FULL), {
      path: "resources.prod-db.provisioner.max_attempt",
      line: "max_attempt",
      message: /did you mean 'max_attempts'/,
    }, TYPES);
  });

  it("names a missing required key of the type", () => {
    expectIssue(edit("      url: https://grants.internal/db\n", "", FULL), {
      path: "resources.prod-db.provisioner.url",
      line: "    provisioner:",
      message: /^missing required key 'url'$/,
    }, TYPES);
  });

  it("reports the type's own validation messages at the value", () => {
    expectIssue(edit("      url: https://grants.internal/db", "      url: http://grants.internal/db", FULL), {
      path: "resources.prod-db.provisioner.url",
      line: "url: http://",
      column: 12,
      message: /url must start with https:\/\//,
    }, TYPES);
    expectIssue(edit("      secret_env: GRANT_SECRET", "      secret_env: grant-secret", FULL), {
      path: "resources.prod-db.provisioner.secret_env",
      line: "secret_env: grant-secret",
      message: /'grant-secret' is not an environment variable name/,
    }, TYPES);
  });

  it("reports a bad timeout or max_attempts", () => {
    for (const bad of ["0", "11m", "30 seconds", "1h", "1.5s"]) {
      expectIssue(edit("      timeout: 30s", `      timeout: ${bad}`, FULL), {
        path: "resources.prod-db.provisioner.timeout",
        line: `timeout: ${bad}`,
        column: 16,
        message: /^invalid timeout '.*': use whole seconds or minutes between 1s and 10m/,
      }, TYPES);
    }
    expectIssue(edit("      timeout: 30s", "      timeout: [30s]", FULL), {
      path: "resources.prod-db.provisioner.timeout",
      line: "timeout: [30s]",
      message: /^expected a timeout like 10s or 2m, got a list$/,
    }, TYPES);
    for (const bad of ["0", "101", "2.5", '"3"']) {
      expectIssue(edit("      max_attempts: 3", `      max_attempts: ${bad}`, FULL), {
        path: "resources.prod-db.provisioner.max_attempts",
        line: `max_attempts: ${bad}`,
        column: 21,
        message: /^max_attempts must be a whole number from 1 to 100/,
      }, TYPES);
    }
    assert.equal(parsePolicy(edit("      max_attempts: 3", "      max_attempts: 100", FULL), FILE, TYPES).policy.resources["prod-db"]?.provisioner?.maxAttempts, 100);
  });

  it("needs a mapping", () => {
    const text = edit(
      "    provisioner:\n      type: hook\n      url: https://grants.internal/db\n      secret_env: GRANT_SECRET\n      timeout: 30s\n      max_attempts: 3\n",
      "    provisioner: hook\n",
      FULL,
    );
    expectIssue(text, { path: "resources.prod-db.provisioner", line: "provisioner: hook", message: /^expected a mapping, got 'hook'$/ }, TYPES);
  });

  it("reports provisioner problems together with every other problem", () => {
    let text = edit("      secret_env: GRANT_SECRET", "      secret_evn: GRANT_SECRET", FULL);
    text = edit("      review_group: security", "      review_group: secops", text);
    text = edit("  expiry_warning: 15m", "  expiry_warning: soon", text);
    text = edit("      requires_approval: false", "      requires_approval: true", text);
    assert.deepEqual(policyError(text, TYPES).issues.map((issue) => issue.path), [
      "settings.expiry_warning",
      "resources.prod-db.extension.max_extensions",
      "resources.prod-db.break_glass.review_group",
      "resources.prod-db.provisioner.secret_env",
      "resources.prod-db.provisioner.secret_evn",
    ]);
  });

  it("refuses a registry that two types share a name in or that redefines a common key", () => {
    assert.throws(() => parsePolicy(BASE, FILE, [hookType, { ...hookType }]), /'hook' is registered twice/);
    assert.throws(() => parsePolicy(BASE, FILE, [{ ...hookType, optionsShape: { timeout: z.number() } }]), /redefines the common key 'timeout'/);
  });

  it("with no types registered, refuses any provisioner but loads policies without one", () => {
    expectIssue(FULL, { path: "resources.prod-db.provisioner", line: "type: hook", message: /no provisioner types are available/ }, []);
    assert.doesNotThrow(() => parsePolicy(BASE, FILE, []));
  });
});

describe("parsePolicy: the built-in provisioner types (the default registry)", () => {
  const withProvisioner = (lines: string) =>
    edit("    max_duration: 8h\n", `    max_duration: 8h\n    provisioner:\n${lines}`);

  it("accepts each type with the keys of its contract", () => {
    const cases: Array<[string, string]> = [
      ["postgres-role", "      type: postgres-role\n      connection_env: TARGET_PG_URL\n      role: prod_rw\n      logins: { U0ALICE: alice }\n"],
      ["slack-usergroup", "      type: slack-usergroup\n      usergroup: S0PRODACCESS\n"],
      ["webhook", "      type: webhook\n      url: https://grants.internal/aws\n      secret_env: GRANT_WEBHOOK_SECRET\n"],
      ["command", '      type: command\n      grant: ["/opt/grant", "k8s"]\n      revoke: ["/opt/revoke", "k8s"]\n      extend: ["/opt/extend", "k8s"]\n'],
    ];
    for (const [type, lines] of cases) {
      const provisioner = parsePolicy(withProvisioner(lines), FILE).policy.resources["staging-admin"]?.provisioner;
      assert.equal(provisioner?.type, type);
      assert.equal(provisioner?.maxAttempts, DEFAULT_PROVISION_MAX_ATTEMPTS);
    }
  });

  it("names the built-in types when the type is unknown", () => {
    expectIssue(withProvisioner("      type: postgres\n"), {
      path: "resources.staging-admin.provisioner.type",
      line: "type: postgres",
      column: 13,
      message: /^unknown provisioner type 'postgres': use one of postgres-role, slack-usergroup, webhook, command$/,
    });
  });

  it("suggests the type's own key for a misspelt one and names missing ones", () => {
    expectIssue(withProvisioner("      type: postgres-role\n      conection_env: TARGET_PG_URL\n      role: prod_rw\n      logins: { U0ALICE: alice }\n"), {
      path: "resources.staging-admin.provisioner.conection_env",
      line: "conection_env",
      column: 7,
      message: /^unknown key 'conection_env' \(did you mean 'connection_env'\? allowed keys: type, timeout, max_attempts, connection_env, role, logins\)$/,
    });
    expectIssue(withProvisioner("      type: webhook\n      url: https://grants.internal/aws\n"), {
      path: "resources.staging-admin.provisioner.secret_env",
      line: "    provisioner:",
      message: /^missing required key 'secret_env'/,
    });
  });
});

describe("parsePolicy: alerts and working hours", () => {
  const withAlerts = (alerts: string, text = BASE) => `${text}alerts:\n${alerts.replace(/^/gm, "  ")}\n`;
  const ALL_ON = {
    rubberStamp: { withinSeconds: 10 },
    cosyPair: { moreThan: 5, withinSeconds: 7 * 86400 },
    offHours: true,
    firstTimeAccess: true,
    unusualDuration: { nearMaxPercent: 90, timesUsual: 3, moreThan: 2, withinSeconds: 30 * 86400 },
    repeatedBreakGlass: { moreThan: 1, withinSeconds: 7 * 86400 },
    requestBurst: { perPerson: 10, workspace: 100, withinSeconds: 3600 },
  };

  it("without an alerts section no rule is on; with one, every rule has its defaults", () => {
    assert.deepEqual(parsePolicy(BASE, FILE).policy.alerts, {
      rubberStamp: null, cosyPair: null, offHours: false, firstTimeAccess: false, unusualDuration: null, repeatedBreakGlass: null, requestBurst: null,
    });
    assert.deepEqual(parsePolicy(withAlerts("{}"), FILE).policy.alerts, ALL_ON);
    assert.deepEqual(parsePolicy(withAlerts("rubber_stamp: {}\noff_hours: {}"), FILE).policy.alerts, ALL_ON);
  });

  it("takes every parameter, and switches a rule or a part of request_burst off", () => {
    const text = withAlerts(`rubber_stamp: { within: 45s }
cosy_pair: { more_than: 3, within: 14d }
off_hours: off
first_time_access: off
unusual_duration: { near_max: 80%, times_usual: 4, more_than: 1, within: 10d }
repeated_break_glass: { more_than: 0, within: 1d }
request_burst: { per_person: 20, within: 30m, workspace: off }`);
    assert.deepEqual(parsePolicy(text, FILE).policy.alerts, {
      rubberStamp: { withinSeconds: 45 },
      cosyPair: { moreThan: 3, withinSeconds: 14 * 86400 },
      offHours: false,
      firstTimeAccess: false,
      unusualDuration: { nearMaxPercent: 80, timesUsual: 4, moreThan: 1, withinSeconds: 10 * 86400 },
      repeatedBreakGlass: { moreThan: 0, withinSeconds: 86400 },
      requestBurst: { perPerson: 20, workspace: null, withinSeconds: 1800 },
    });
    const off = parsePolicy(withAlerts("rubber_stamp: off\ncosy_pair: off\nunusual_duration: off\nrepeated_break_glass: off\nrequest_burst: off"), FILE).policy.alerts;
    assert.deepEqual([off.rubberStamp, off.cosyPair, off.unusualDuration, off.repeatedBreakGlass, off.requestBurst, off.offHours], [null, null, null, null, null, true]);
    assert.equal(parsePolicy(withAlerts("rubber_stamp: { within: 2m }"), FILE).policy.alerts.rubberStamp?.withinSeconds, 120);
  });

  it("reports bad alert values at their line, saying what to write", () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ["rubber_stamp: { within: 10 }", "alerts.rubber_stamp.within", "within: 10", /^invalid time '10': use whole seconds or minutes from 1s to 60m, like 10s or 2m$/],
      ["rubber_stamp: { within: 2h }", "alerts.rubber_stamp.within", "within: 2h", /invalid time '2h'/],
      ["cosy_pair: { within: 30s }", "alerts.cosy_pair.within", "within: 30s", /seconds are not accepted/],
      ["cosy_pair: { more_than: -1 }", "alerts.cosy_pair.more_than", "more_than: -1", /^expected a whole number, 0 or more/],
      ["cosy_pair: { more_than: 2.5 }", "alerts.cosy_pair.more_than", "more_than: 2.5", /^expected a whole number, 0 or more/],
      ["unusual_duration: { near_max: 90 }", "alerts.unusual_duration.near_max", "near_max: 90", /^invalid percentage '90': use a whole percentage from 1% to 100%, like 90%$/],
      ["unusual_duration: { near_max: 120% }", "alerts.unusual_duration.near_max", "near_max: 120%", /invalid percentage '120%'/],
      ["unusual_duration: { times_usual: 1 }", "alerts.unusual_duration.times_usual", "times_usual: 1", /expected a whole number, 2 or more/],
      ["request_burst: { per_person: 0 }", "alerts.request_burst.per_person", "per_person: 0", /^expected a whole number, 1 or more, or off to alert on no one person's burst/],
      ["request_burst: { workspace: none }", "alerts.request_burst.workspace", "workspace: none", /or off to alert on no workspace-wide spike/],
      ["off_hours: on", "alerts.off_hours", "off_hours: on", /^expected off, or a mapping of the off_hours rule's settings \(\{\} for the defaults\)/],
      ["first_time_access:", "alerts.first_time_access", "first_time_access:", /expected off, or a mapping of the first_time_access rule's settings/],
      ["off_hours: { within: 1h }", "alerts.off_hours.within", "within: 1h", /^unknown key 'within'/],
      ["cosy_pair: { more_thn: 3 }", "alerts.cosy_pair.more_thn", "more_thn", /unknown key 'more_thn' \(did you mean 'more_than'\? allowed keys: more_than, within\)/],
      ["rubber_stmp: {}", "alerts.rubber_stmp", "rubber_stmp", /did you mean 'rubber_stamp'/],
    ];
    for (const [alerts, path, line, message] of cases) expectIssue(withAlerts(alerts), { path, message, line });
  });

  it("takes working_hours with several spans, and reports bad ones with the fix", () => {
    const text = edit('  digest_schedule: "0 9 * * MON"\n', '  digest_schedule: "0 9 * * MON"\n  working_hours: Mon-Fri 08:00-19:00, Sat 10:00-14:00\n');
    const { workingHours } = parsePolicy(text, FILE).policy.settings;
    assert.equal(workingHours.text, "Mon-Fri 08:00-19:00, Sat 10:00-14:00");
    assert.deepEqual(workingHours.spans.map((span) => [span.days, span.startMinute, span.endMinute]), [[[1, 2, 3, 4, 5], 480, 1140], [[6], 600, 840]]);
    const cases: Array<[string, RegExp]> = [
      ["Mon-Fri 9-17", /^invalid working_hours: 'Mon-Fri 9-17' is not a span of days and times; write spans like Mon-Fri 08:00-19:00/],
      ["Mon-Fry 08:00-19:00", /unknown day 'Fry'/],
      ["Mon-Fri 19:00-08:00", /the end 08:00 is not after the start 19:00/],
      ["Mon-Fri 08:00-19:60", /'19:60' is not a time of day/],
    ];
    for (const [value, message] of cases) {
      expectIssue(edit("  working_hours: Mon-Fri 08:00-19:00, Sat 10:00-14:00", `  working_hours: ${value}`, text), { path: "settings.working_hours", message, line: `working_hours: ${value}`, column: 18 });
    }
    expectIssue(edit("  working_hours: Mon-Fri 08:00-19:00, Sat 10:00-14:00", "  working_hours: 8", text), { path: "settings.working_hours", message: /expected working hours like Mon-Fri 08:00-19:00, got 8/, line: "working_hours: 8" });
  });
});

describe("checkPolicyCommand", () => {
  function capture() {
    const logs: string[] = [];
    const errors: string[] = [];
    return { logs, errors, out: { log: (s: string) => logs.push(s), error: (s: string) => errors.push(s) } };
  }

  it("prints a summary and returns 0 for a valid policy", async () => {
    const { logs, errors, out } = capture();
    assert.equal(await checkPolicyCommand(EXAMPLE, out), 0);
    const sha = createHash("sha256").update(readFileSync(EXAMPLE)).digest("hex");
    assert.deepEqual(logs, [`✔ ${EXAMPLE} is valid: 5 resources, 3 groups, sha256 ${sha}`]);
    assert.deepEqual(errors, []);
  });

  it("prints every issue and returns 1 for an invalid policy", async () => {
    const path = join(tempDir, "access-policy.yml");
    writeFileSync(path, edit("version: 1", "version: 2", edit("    max_duration: 4h", "    max_duraton: 4h")));
    const { logs, errors, out } = capture();
    assert.equal(await checkPolicyCommand(path, out), 1);
    assert.deepEqual(logs, []);
    assert.equal(errors.length, 3);
    assert.match(errors[0] ?? "", /is invalid \(2 issues\)/);
    assert.match(errors[1] ?? "", new RegExp(`^${escapeRegExp(path)}:1:10 version: `));
    assert.match(errors[2] ?? "", new RegExp(`^${escapeRegExp(path)}:\\d+:5 resources\\.prod-db\\.max_duraton: unknown key`));
  });

  it("returns 1 for a missing file", async () => {
    const { errors, out } = capture();
    assert.equal(await checkPolicyCommand(join(tempDir, "missing.yml"), out), 1);
    assert.match(errors.join("\n"), /ACCESS_POLICY_FILE/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
