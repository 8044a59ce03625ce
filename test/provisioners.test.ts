// buildProvisioners: one error naming every resource and variable to fix; nothing is
// connected or run at build time. The provisioner types themselves are tested against real
// targets in test/provisioner-*.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import { pino } from "pino";
import type { ProvisionerSettings } from "../src/domain/policy-model.js";
import { buildProvisioners, findProvisionerProblems } from "../src/provisioning/build-provisioners.js";
import { BUILTIN_PROVISIONER_TYPES } from "../src/provisioning/builtin-provisioners.js";
import { ProvisionerConfigError, type ProvisionerDeps, type ProvisionerType } from "../src/provisioning/provisioner-type.js";

function deps(env: Record<string, string>): ProvisionerDeps {
  return { env, slack: new WebClient("xoxb-unused", { slackApiUrl: "http://127.0.0.1:1/api/" }), log: pino({ level: "silent" }) };
}

function settings(type: string, file: Record<string, unknown>): ProvisionerSettings {
  const provisionerType = BUILTIN_PROVISIONER_TYPES.find((candidate) => candidate.type === type);
  assert.ok(provisionerType, `no builtin type ${type}`);
  return { type, options: provisionerType.toOptions({ ...file, timeout: provisionerType.defaultTimeoutSeconds, max_attempts: 5 }), timeoutSeconds: provisionerType.defaultTimeoutSeconds, maxAttempts: 5 };
}

const RESOURCES = [
  { id: "prod-db", provisioner: settings("postgres-role", { connection_env: "TARGET_PG_URL", role: "reader", logins: { U0ALICE01: "alice" } }) },
  { id: "vault", provisioner: settings("webhook", { url: "https://hooks.example.com/vault", secret_env: "VAULT_HOOK_SECRET" }) },
  { id: "dba-group", provisioner: settings("slack-usergroup", { usergroup: "S0DBADMINS" }) },
  { id: "legacy-app", provisioner: settings("command", { grant: ["/bin/true"], revoke: ["/bin/true"] }) },
  { id: "wiki", provisioner: null },
];

describe("buildProvisioners", () => {
  test("every problem in one ProvisionerConfigError, each naming the resource and the variable", () => {
    assert.throws(() => buildProvisioners(RESOURCES, deps({})), (error: Error) => {
      assert.ok(error instanceof ProvisionerConfigError);
      assert.equal(
        error.message,
        [
          "2 provisioners are not configured:",
          "  - resource prod-db: provisioner postgres-role needs the environment variable TARGET_PG_URL (the connection string of the target database); it is not set",
          "  - resource vault: provisioner webhook needs the environment variable VAULT_HOOK_SECRET (the secret the webhook's requests are signed with); it is not set",
        ].join("\n"),
      );
      return true;
    });
    assert.deepEqual(findProvisionerProblems(RESOURCES, deps({ TARGET_PG_URL: "postgresql://bot@db.internal/app" })), [
      "resource vault: provisioner webhook needs the environment variable VAULT_HOOK_SECRET (the secret the webhook's requests are signed with); it is not set",
    ]);
  });

  test("with the environment set it builds without connecting anywhere, and looks provisioners up by resource", () => {
    // Port 1 on 127.0.0.1: nothing listens, so a connection attempt at build time would fail loudly later.
    const lookup = buildProvisioners(RESOURCES, deps({ TARGET_PG_URL: "postgresql://bot@127.0.0.1:1/app", VAULT_HOOK_SECRET: "s3cret" }));
    for (const id of ["prod-db", "vault", "dba-group", "legacy-app"]) assert.ok(lookup.forResource(id), `no provisioner for ${id}`);
    assert.equal(lookup.forResource("wiki"), null, "approval-only");
    assert.equal(lookup.forResource("not-in-policy"), null);
    assert.equal(lookup.forResource("prod-db")?.refusal?.("U0ALICE01"), null);
    assert.match(lookup.forResource("prod-db")?.refusal?.("U0BOB0001") ?? "", /no database login mapped for `prod-db`/);
    assert.deepEqual(findProvisionerProblems(RESOURCES, deps({ TARGET_PG_URL: "postgresql://x@h/d", VAULT_HOOK_SECRET: "s" })), []);
  });

  test("an unknown type is reported with the known ones; a bug in a type is not disguised as configuration", () => {
    const resources = [{ id: "crm", provisioner: { type: "salesforce", options: {}, timeoutSeconds: 10, maxAttempts: 5 } }];
    assert.throws(() => buildProvisioners(resources, deps({})), {
      message: "A provisioner is not configured:\n  - resource crm: unknown provisioner type 'salesforce' (known: postgres-role, slack-usergroup, webhook, command)",
    });
    const broken: ProvisionerType = {
      type: "broken",
      optionsShape: {},
      toOptions: () => ({}),
      defaultTimeoutSeconds: 1,
      create() {
        throw new TypeError("cannot read properties of undefined");
      },
    };
    assert.throws(() => buildProvisioners([{ id: "x", provisioner: { type: "broken", options: {}, timeoutSeconds: 1, maxAttempts: 1 } }], deps({}), [broken]), TypeError);
  });

  test("the builtin types: unique names, their own keys only, the documented default timeouts", () => {
    const names = BUILTIN_PROVISIONER_TYPES.map((type) => type.type);
    assert.deepEqual(names, ["postgres-role", "slack-usergroup", "webhook", "command"]);
    for (const type of BUILTIN_PROVISIONER_TYPES) {
      for (const common of ["type", "timeout", "max_attempts"]) assert.equal(Object.hasOwn(type.optionsShape, common), false, `${type.type} redefines ${common}`);
    }
    assert.deepEqual(Object.fromEntries(BUILTIN_PROVISIONER_TYPES.map((type) => [type.type, type.defaultTimeoutSeconds])), {
      "postgres-role": 10,
      "slack-usergroup": 10,
      webhook: 10,
      command: 30,
    });
  });
});
