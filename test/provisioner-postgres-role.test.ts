// The postgres-role provisioner against a real PostgreSQL: each test connects AS the login to
// prove what it can and cannot do, not just what the catalog says.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import pg from "pg";
import { pino } from "pino";
import type { Provisioner } from "../src/domain/ports.js";
import { postgresRoleProvisionerType, quoteIdent, type PostgresRoleOptions } from "../src/provisioning/postgres-role-provisioner.js";
import { ProvisionerConfigError, type ProvisionerDeps } from "../src/provisioning/provisioner-type.js";
import { makeContext } from "./fixtures/provisioner-context.js";

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const suffix = randomBytes(4).toString("hex");
const ROLE = `jit_reader_${suffix}`;
const TABLE = `jit_secret_${suffix}`;
const LOGINS = {
  alice: `alice_${suffix}`,
  bob: `bob_${suffix}`, // a member of ROLE before any grant
  // Quotes, a statement separator, a comment and spaces: quoting must carry it as one name.
  hostile: `we"ird; DROP ROLE postgres; -- ${suffix}`,
  retry: `retry_${suffix}`,
  carol: `carol_${suffix}`, // a member before the grant, granted by a DBA
  dave: `dave_${suffix}`,
};
/** A least-privilege bot user: holds ROLE WITH ADMIN OPTION, so it may grant and revoke it. */
const BOT_LOGIN = `accessbot_${suffix}`;
const USERS = { alice: "U0ALICE01", bob: "U0BOB0001", hostile: "U0HOSTILE", retry: "U0RETRY01", carol: "U0CAROL01", dave: "U0DAVE001", nobody: "U0NOBODY1", ghost: "U0GHOST01" };

async function probe(): Promise<string | false> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return false;
  } catch (error) {
    return `no PostgreSQL answers at ${new URL(ADMIN_URL).host} (${(error as Error).message}); set TEST_DATABASE_URL to run these tests`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const skip = await probe();

function deps(env: Record<string, string>): ProvisionerDeps {
  return { env, slack: new WebClient("xoxb-unused"), log: pino({ level: "silent" }) };
}

/** Connects AS `login` (trust auth, no password) and tries to read the table through the role. */
async function readAs(login: string): Promise<string[]> {
  const url = new URL(ADMIN_URL);
  url.username = encodeURIComponent(login);
  url.password = "";
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query(`SET ROLE ${quoteIdent(ROLE)}`);
    const result = await client.query<{ v: string }>(`SELECT v FROM ${quoteIdent(TABLE)}`);
    return result.rows.map((row) => row.v);
  } finally {
    await client.end();
  }
}

async function assertCannotRead(login: string): Promise<void> {
  await assert.rejects(readAs(login), (error: pg.DatabaseError) => {
    assert.equal(error.code, "42501", `expected insufficient_privilege, got ${error.code}: ${error.message}`);
    assert.match(error.message, /permission denied to set role/);
    return true;
  });
}

describe("postgres-role provisioner (real PostgreSQL)", { skip }, () => {
  let admin: pg.Client;
  let provisioner: Provisioner;
  const options: PostgresRoleOptions = postgresRoleProvisionerType.toOptions({
    connection_env: "TARGET_PG_URL",
    role: ROLE,
    logins: { [USERS.alice]: LOGINS.alice, [USERS.bob]: LOGINS.bob, [USERS.hostile]: LOGINS.hostile, [USERS.retry]: LOGINS.retry, [USERS.carol]: LOGINS.carol, [USERS.dave]: LOGINS.dave, [USERS.ghost]: `ghost_${suffix}` },
  });

  const isMember = async (login: string): Promise<boolean> => {
    const result = await admin.query(
      `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles l ON l.oid = m.member WHERE r.rolname = $1 AND l.rolname = $2`,
      [ROLE, login],
    );
    return result.rowCount === 1;
  };

  before(async () => {
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${quoteIdent(ROLE)} NOLOGIN`);
    for (const login of Object.values(LOGINS)) await admin.query(`CREATE ROLE ${quoteIdent(login)} LOGIN`);
    await admin.query(`CREATE TABLE ${quoteIdent(TABLE)} (v text)`);
    await admin.query(`INSERT INTO ${quoteIdent(TABLE)} VALUES ('the secret')`);
    await admin.query(`REVOKE ALL ON ${quoteIdent(TABLE)} FROM PUBLIC`);
    await admin.query(`GRANT SELECT ON ${quoteIdent(TABLE)} TO ${quoteIdent(ROLE)}`);
    await admin.query(`GRANT ${quoteIdent(ROLE)} TO ${quoteIdent(LOGINS.bob)}`);
    await admin.query(`GRANT ${quoteIdent(ROLE)} TO ${quoteIdent(LOGINS.carol)}`);
    await admin.query(`CREATE ROLE ${quoteIdent(BOT_LOGIN)} LOGIN`);
    await admin.query(`GRANT ${quoteIdent(ROLE)} TO ${quoteIdent(BOT_LOGIN)} WITH ADMIN OPTION`);
    provisioner = postgresRoleProvisionerType.create(options, deps({ TARGET_PG_URL: ADMIN_URL }), "prod-db");
  });

  after(async () => {
    if (!admin) return;
    await admin.query(`DROP TABLE IF EXISTS ${quoteIdent(TABLE)}`);
    for (const login of [...Object.values(LOGINS), BOT_LOGIN]) await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(login)}`);
    await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(ROLE)}`);
    await admin.end();
  });

  test("grant lets the login SET ROLE and read; revoke takes it away; both are idempotent", async () => {
    await assertCannotRead(LOGINS.alice);

    const first = await provisioner.grant(makeContext({ user: USERS.alice }));
    assert.deepEqual(first.state, { preexisting: false, role: ROLE, login: LOGINS.alice });
    assert.deepEqual(await readAs(LOGINS.alice), ["the secret"]);

    // A second grant (a retry, or an overlapping request) changes nothing and keeps the state.
    const second = await provisioner.grant(makeContext({ user: USERS.alice, state: first.state }));
    assert.deepEqual(second.state, first.state);
    assert.deepEqual(await readAs(LOGINS.alice), ["the secret"]);

    const revoked = await provisioner.revoke(makeContext({ user: USERS.alice, state: second.state }));
    assert.equal(revoked.state, null);
    assert.equal(await isMember(LOGINS.alice), false);
    await assertCannotRead(LOGINS.alice);

    // A retried revoke whose first answer was lost (state not yet cleared) REVOKEs a
    // non-member: PostgreSQL only warns, so it succeeds.
    const retried = await provisioner.revoke(makeContext({ user: USERS.alice, state: second.state, attempt: 2 }));
    assert.equal(retried.state, null);
    assert.equal(retried.detail?.action, "revoked");
    // And once the state is cleared, there is nothing to do.
    const again = await provisioner.revoke(makeContext({ user: USERS.alice, state: null }));
    assert.equal(again.state, null);
    await assertCannotRead(LOGINS.alice);
  });

  test("a membership that existed before the grant is kept on revoke", async () => {
    assert.deepEqual(await readAs(LOGINS.bob), ["the secret"]);
    const granted = await provisioner.grant(makeContext({ user: USERS.bob }));
    assert.deepEqual(granted.state, { preexisting: true, role: ROLE, login: LOGINS.bob });

    // Granting again while it is still pre-existing must not turn it into the bot's own.
    const regranted = await provisioner.grant(makeContext({ user: USERS.bob, state: granted.state }));
    assert.deepEqual(regranted.state, granted.state);

    const revoked = await provisioner.revoke(makeContext({ user: USERS.bob, state: regranted.state }));
    assert.equal(revoked.state, null);
    assert.match(String(revoked.detail?.action), /kept/);
    assert.equal(await isMember(LOGINS.bob), true);
    assert.deepEqual(await readAs(LOGINS.bob), ["the secret"]);
  });

  test("a hostile login name is quoted as one identifier", async () => {
    const granted = await provisioner.grant(makeContext({ user: USERS.hostile }));
    assert.equal((granted.state as { preexisting: boolean }).preexisting, false);
    assert.equal(await isMember(LOGINS.hostile), true);
    assert.deepEqual(await readAs(LOGINS.hostile), ["the secret"]);
    // The "DROP ROLE postgres" inside the name was never run.
    const superuser = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'postgres'");
    assert.equal(superuser.rowCount, 1);

    await provisioner.revoke(makeContext({ user: USERS.hostile, state: granted.state }));
    assert.equal(await isMember(LOGINS.hostile), false);
    await assertCannotRead(LOGINS.hostile);
  });

  test("quoteIdent doubles embedded quotes", () => {
    assert.equal(quoteIdent("plain"), '"plain"');
    assert.equal(quoteIdent('a"b""c'), '"a""b""""c"');
    assert.throws(() => quoteIdent("nul\0byte"), /NUL/);
  });

  test("on a retry, a membership the bot's own database user granted is taken as the lost earlier attempt", async () => {
    // As if attempt 1 committed its GRANT and then timed out before the answer came back.
    await admin.query(`GRANT ${quoteIdent(ROLE)} TO ${quoteIdent(LOGINS.retry)}`);
    const firstTry = await provisioner.grant(makeContext({ user: USERS.retry, attempt: 1 }));
    assert.equal((firstTry.state as { preexisting: boolean }).preexisting, true, "on a first attempt an existing membership is pre-existing");

    const retry = await provisioner.grant(makeContext({ user: USERS.retry, attempt: 2 }));
    assert.equal((retry.state as { preexisting: boolean }).preexisting, false);
    await provisioner.revoke(makeContext({ user: USERS.retry, state: retry.state }));
    assert.equal(await isMember(LOGINS.retry), false);
  });

  test("a call stuck behind a lock is abandoned on abort, and leaves no membership behind", async () => {
    const blocker = new pg.Client({ connectionString: ADMIN_URL });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE pg_auth_members IN ACCESS EXCLUSIVE MODE");
      const controller = new AbortController();
      const started = Date.now();
      const call = provisioner.grant(makeContext({ user: USERS.alice, signal: controller.signal }));
      setTimeout(() => controller.abort(), 300);
      await assert.rejects(call, /abandoned/);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
    // The server rolled the abandoned transaction back once it noticed the closed connection.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await isMember(LOGINS.alice), false);
    const leftovers = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'accessbot' AND query LIKE '%pg_auth_members m%' AND pid <> pg_backend_pid()");
    assert.equal(leftovers.rows[0].n, 0);
  });

  test("with no state recorded, a dedicated bot user revokes only what it granted itself", async () => {
    const botUrl = new URL(ADMIN_URL);
    botUrl.username = BOT_LOGIN;
    const asBot = postgresRoleProvisionerType.create(options, deps({ TARGET_PG_URL: botUrl.toString() }), "prod-db");

    // Carol's membership came from a DBA. Every grant attempt failed, so the clean-up revoke
    // runs with no state: her standing access stays.
    const cleanup = await asBot.revoke(makeContext({ user: USERS.carol, state: null }));
    assert.match(String(cleanup.detail?.action), /kept/);
    assert.equal(await isMember(LOGINS.carol), true);
    assert.deepEqual(await readAs(LOGINS.carol), ["the secret"]);

    // Dave's membership came from the bot (an attempt whose answer was lost): the clean-up removes it.
    const granted = await asBot.grant(makeContext({ user: USERS.dave }));
    assert.deepEqual(granted.state, { preexisting: false, role: ROLE, login: LOGINS.dave });
    await asBot.revoke(makeContext({ user: USERS.dave, state: null }));
    assert.equal(await isMember(LOGINS.dave), false);
    await assertCannotRead(LOGINS.dave);

    // And a retried grant over the DBA's membership still counts it as pre-existing.
    const retried = await asBot.grant(makeContext({ user: USERS.carol, attempt: 2 }));
    assert.equal((retried.state as { preexisting: boolean }).preexisting, true);
  });

  test("revoke undoes what grant recorded, even after the policy changed", async () => {
    const granted = await provisioner.grant(makeContext({ user: USERS.alice }));
    const edited = postgresRoleProvisionerType.create({ ...options, role: `other_role_${suffix}`, logins: {} }, deps({ TARGET_PG_URL: ADMIN_URL }), "prod-db");
    await edited.revoke(makeContext({ user: USERS.alice, state: granted.state }));
    assert.equal(await isMember(LOGINS.alice), false);
  });

  test("a missing role or login is a clear error, and nothing is granted", async () => {
    const missingRole = postgresRoleProvisionerType.create({ ...options, role: `no_such_role_${suffix}` }, deps({ TARGET_PG_URL: ADMIN_URL }), "prod-db");
    await assert.rejects(missingRole.grant(makeContext({ user: USERS.alice })), {
      message: `role "no_such_role_${suffix}" does not exist on the target database of resource prod-db: create it, or fix \`role\` in the policy`,
    });
    await assert.rejects(provisioner.grant(makeContext({ user: USERS.ghost })), {
      message: `login "ghost_${suffix}" does not exist on the target database of resource prod-db: create it, or fix \`logins\` in the policy`,
    });
    await assert.rejects(provisioner.grant(makeContext({ user: USERS.nobody })), /no database login is mapped for Slack user U0NOBODY1/);
    assert.equal(await isMember(LOGINS.alice), false);
    // Revoking where there is nothing (no such login) succeeds: no access is left behind.
    const revoked = await provisioner.revoke(makeContext({ user: USERS.ghost }));
    assert.equal(revoked.state, null);
  });

  test("refusal() names the resource and the fix for an unmapped user, and is null for a mapped one", () => {
    assert.equal(provisioner.refusal?.(USERS.alice), null);
    assert.equal(
      provisioner.refusal?.(USERS.nobody),
      "You have no database login mapped for `prod-db` (postgres-role provisioner): ask a policy owner to add your Slack user id under `logins`.",
    );
    // Not fooled by keys every object has.
    assert.notEqual(provisioner.refusal?.("constructor"), null);
  });
});

describe("postgres-role provisioner (configuration and aborts)", () => {
  const options = postgresRoleProvisionerType.toOptions({ connection_env: "TARGET_PG_URL", role: "reader", logins: { U0ALICE01: "alice" } });

  test("create() names the missing variable and never the value of a bad one", () => {
    assert.throws(() => postgresRoleProvisionerType.create(options, deps({}), "prod-db"), (error: Error) => {
      assert.ok(error instanceof ProvisionerConfigError);
      assert.equal(error.message, "resource prod-db: provisioner postgres-role needs the environment variable TARGET_PG_URL (the connection string of the target database); it is not set");
      return true;
    });
    assert.throws(() => postgresRoleProvisionerType.create(options, deps({ TARGET_PG_URL: "mysql://u:hunter2@db" }), "prod-db"), (error: Error) => {
      assert.ok(error instanceof ProvisionerConfigError);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });

  test("an aborted call destroys the connection and rejects at once", async () => {
    // A server that accepts the TCP connection and never answers: connect() would hang.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // read (and ignore) the startup message, so the peer's close is seen
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const provisioner = postgresRoleProvisionerType.create(options, deps({ TARGET_PG_URL: `postgresql://bot@127.0.0.1:${port}/db` }), "prod-db");
      const controller = new AbortController();
      const started = Date.now();
      const call = provisioner.grant(makeContext({ user: "U0ALICE01", signal: controller.signal }));
      setTimeout(() => controller.abort(), 200);
      await assert.rejects(call, /abandoned/);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      // The client side of the connection is gone too.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sockets.size, 0);

      const already = new AbortController();
      already.abort();
      await assert.rejects(provisioner.revoke(makeContext({ user: "U0ALICE01", signal: already.signal })), /abandoned/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test("the policy keys are validated with actionable messages", async () => {
    const { z } = await import("zod");
    const schema = z.object(postgresRoleProvisionerType.optionsShape).strict();
    assert.equal(schema.safeParse({ connection_env: "TARGET_PG_URL", role: "reader", logins: { U0ALICE01: "alice" } }).success, true);
    const bad = schema.safeParse({ connection_env: "not a name", role: "", logins: { alice: "alice" } });
    assert.equal(bad.success, false);
    const messages = bad.error?.issues.map((issue) => issue.message).join("\n") ?? "";
    assert.match(messages, /'not a name' is not an environment variable name/);
    assert.match(messages, /role name is empty/);
    assert.match(messages, /'alice' is not a Slack user id/);
    const empty = schema.safeParse({ connection_env: "X", role: "reader", logins: {} });
    assert.match(empty.error?.issues[0]?.message ?? "", /map at least one Slack user id/);
    const tooLong = schema.safeParse({ connection_env: "X", role: "r".repeat(64), logins: { U0ALICE01: "alice" } });
    assert.match(tooLong.error?.issues[0]?.message ?? "", /at most 63 bytes/);
  });
});
