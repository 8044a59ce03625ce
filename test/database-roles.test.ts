// `accessbot db setup-roles` on a real PostgreSQL: an owner role that migrates, a runtime role
// the bot runs as. Each check connects AS the role, so it proves what the role can and cannot
// do, not what the catalog says. PostgreSQL only (TEST_DATABASE_URL, default
// postgresql://postgres@127.0.0.1:5432/test; skipped when no server answers there).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { WebClient } from "@slack/web-api";
import pg from "pg";
import { pino } from "pino";
import { runAuditCli } from "../src/audit/cli/run-audit-cli.js";
import { publishCheckpoint, publishCheckpointIfDue } from "../src/audit-stream/publish-checkpoint.js";
import { MigrationPermissionError } from "../src/db/apply-migrations.js";
import { DEFAULT_MIGRATIONS_DIR, openDatabase, type Database } from "../src/db/open-database.js";
import { runDbCli } from "../src/db/run-db-cli.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { startSlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { POLICY_FILE, replyText, requestIdIn, startTestBot, USERS } from "./support/start-test-bot.js";
import { connectedAsRuntimeRole, openTestPostgres, resetDatabase, TEST_OWNER_ROLE, TEST_RUNTIME_ROLE } from "./support/test-databases.js";

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ADMIN_URL = process.env.TEST_DATABASE_URL?.trim() || "postgresql://postgres@127.0.0.1:5432/test";

async function probe(): Promise<string | false> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ superuser: boolean }>("SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user");
    return rows[0]?.superuser ? false : `${new URL(ADMIN_URL).username || "the user"} at ${new URL(ADMIN_URL).host} is not a superuser; these tests create and drop roles`;
  } catch (error) {
    return `no PostgreSQL answers at ${new URL(ADMIN_URL).host} (${(error as Error).message}); set TEST_DATABASE_URL to run these tests`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const skip = await probe();

const suffix = randomBytes(4).toString("hex");
const SCHEMA = `t_roles_${suffix}`;
const OWNER = `accessbot_owner_${suffix}`;
const RUNTIME = `accessbot_app_${suffix}`;
const OWNER_PASSWORD = randomBytes(12).toString("hex");
const RUNTIME_PASSWORD = randomBytes(12).toString("hex");

/** ADMIN_URL logged in as `user`, with ?schema=. */
function urlAs(user: string, password: string): string {
  const url = new URL(ADMIN_URL);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.searchParams.set("schema", SCHEMA);
  return url.toString();
}
const OWNER_URL = urlAs(OWNER, OWNER_PASSWORD);
const RUNTIME_URL = urlAs(RUNTIME, RUNTIME_PASSWORD);

function capture() {
  const lines: string[] = [];
  return { lines, out: { log: (text: string) => lines.push(text), error: (text: string) => lines.push(text) } };
}

/** A session as `user` with the schema on the search path. */
async function connectAs(url: string): Promise<pg.Client> {
  const parsed = new URL(url);
  parsed.searchParams.delete("schema");
  parsed.searchParams.set("options", `-c search_path=${SCHEMA}`);
  const client = new pg.Client({ connectionString: parsed.toString() });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

async function sqlstate(client: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await client.query(sql, params);
  } catch (error) {
    return (error as { code?: string }).code ?? `no SQLSTATE: ${(error as Error).message}`;
  }
  return "succeeded";
}

/** A Slack client that records checkpoint posts (slowly, to widen any race between replicas). */
function fakeSlack(posts: string[], delayMs = 0): WebClient {
  return {
    chat: {
      async postMessage(args: { text: string }) {
        posts.push(args.text);
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        return { ok: true, channel: "C0AUDIT", ts: `1795341807.${String(posts.length).padStart(6, "0")}` };
      },
    },
  } as unknown as WebClient;
}

const silent = pino({ level: "silent" });
const SYSTEM = { kind: "system" as const, name: "accessbot" };

describe("database roles (PostgreSQL)", { skip, concurrency: 1 }, () => {
  let admin: pg.Client;

  before(async () => {
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const env = { ACCESSBOT_OWNER_PASSWORD: OWNER_PASSWORD, ACCESSBOT_RUNTIME_PASSWORD: RUNTIME_PASSWORD };
    const setup = capture();
    const args = ["setup-roles", "--admin-url", ADMIN_URL, "--schema", SCHEMA, "--owner", OWNER, "--runtime", RUNTIME];
    assert.equal(await runDbCli(args, setup.out, env), 0, setup.lines.join("\n"));
    // Idempotent: a second run changes nothing and succeeds.
    assert.equal(await runDbCli(args, setup.out, env), 0, setup.lines.join("\n"));
    const migrate = capture();
    assert.equal(await runDbCli(["migrate"], migrate.out, { DATABASE_URL: OWNER_URL }), 0, migrate.lines.join("\n"));
    assert.match(migrate.lines.join("\n"), /Applied \d+ migration\(s\) to PostgreSQL .*20261202090000_database_roles/);
    assert.doesNotMatch(migrate.lines.join("\n"), /Warning/, "the owner migrates its own schema");
  });

  after(async () => {
    if (!admin) return;
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
      for (const role of [RUNTIME, OWNER]) {
        const exists = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
        if (exists.rowCount) await admin.query(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`);
      }
    } finally {
      await admin.end();
    }
  });

  test("--print shows the SQL it would run, without a password in clear", async () => {
    const printed = capture();
    const code = await runDbCli(["setup-roles", "--print", "--schema", "acc", "--owner", "o1", "--runtime", "r1"], printed.out, { ACCESSBOT_RUNTIME_PASSWORD: "hunter2-secret" });
    const sql = printed.lines.join("\n");
    assert.equal(code, 0, sql);
    assert.match(sql, /^-- accessbot db setup-roles/);
    assert.match(sql, /WHEN 'ledger_entry' THEN 'SELECT, INSERT' WHEN 'ledger_checkpoint' THEN 'SELECT' WHEN '_prisma_migrations' THEN 'SELECT'/);
    assert.match(sql, /ALTER DEFAULT PRIVILEGES FOR ROLE "o1" IN SCHEMA "acc" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "r1"/);
    assert.match(sql, /ALTER ROLE "r1" LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
    assert.doesNotMatch(sql, /hunter2-secret/);
    const same = capture();
    assert.equal(await runDbCli(["setup-roles", "--print", "--schema", "acc", "--owner", "o1", "--runtime", "o1"], same.out, {}), 2);
    assert.match(same.lines.join("\n"), /runtime role must not own the tables/);
  });

  test("the runtime role can append to the ledger but not change it, and cannot forge a checkpoint", async () => {
    const db = await openDatabase({ target: { kind: "postgres", url: RUNTIME_URL, schema: SCHEMA }, migrate: false });
    const runtime = await connectAs(RUNTIME_URL);
    const owner = await connectAs(OWNER_URL);
    try {
      const [who] = (await runtime.query<{ user: string; superuser: string }>("SELECT current_user::text AS user, current_setting('is_superuser') AS superuser")).rows;
      assert.deepEqual(who, { user: RUNTIME, superuser: "off" });
      for (let index = 0; index < 3; index++) {
        await db.prisma.$transaction((tx) => appendLedgerEntry(tx, { type: "request.expired", requestId: `AR-ROLES00${index}`, actor: SYSTEM, data: { n: index } }, new Date()));
      }
      const entries = await db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } });
      assert.equal(entries.length, 3);
      const head = entries.at(-1)!;

      // 42501 insufficient_privilege: not the owner (ALTER/DROP TRIGGER, CREATE OR REPLACE) or no grant.
      const refused: Array<[string, string]> = [
        ["ALTER TABLE ledger_entry DISABLE TRIGGER USER", "42501"],
        ["ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only", "42501"],
        ["DROP TRIGGER ledger_entry_append_only ON ledger_entry", "42501"],
        ["DROP TRIGGER ledger_entry_no_truncate ON ledger_entry", "42501"],
        ["ALTER TABLE ledger_checkpoint DISABLE TRIGGER USER", "42501"],
        ["DELETE FROM ledger_entry WHERE seq = 3", "42501"],
        ["UPDATE ledger_entry SET body = body WHERE seq = 1", "42501"],
        ["TRUNCATE ledger_entry", "42501"],
        [`INSERT INTO ledger_checkpoint (seq, hash) VALUES (3, '${head.hash}')`, "42501"],
        ["DELETE FROM ledger_checkpoint", "42501"],
        ["UPDATE ledger_checkpoint SET hash = repeat('0', 64)", "42501"],
        ["TRUNCATE ledger_checkpoint", "42501"],
        ["DELETE FROM _prisma_migrations", "42501"],
        ["UPDATE _prisma_migrations SET checksum = checksum", "42501"],
        ["INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'x', 'x')", "42501"],
        ["CREATE TABLE ledger_shadow (seq bigint)", "42501"],
        ["CREATE OR REPLACE FUNCTION accessbot_record_checkpoint(p_seq BIGINT, p_hash TEXT, p_channel_id TEXT, p_message_ts TEXT, p_webhook_ok BOOLEAN) RETURNS BIGINT LANGUAGE sql AS 'SELECT 1::bigint'", "42501"],
        ["ALTER TABLE ledger_entry OWNER TO CURRENT_USER", "42501"],
        [`SET ROLE "${OWNER}"`, "42501"],
        ["SELECT 1 FROM ledger_entry FOR UPDATE", "42501"],
      ];
      for (const [sql, code] of refused) assert.equal(await sqlstate(runtime, sql), code, sql);

      // Checkpoints go through the SECURITY DEFINER function: a head that is not an entry is
      // refused (23503), the real one is recorded and its id returned.
      const record = "SELECT accessbot_record_checkpoint($1::bigint, $2::text, 'C0AUDIT', '1795341807.000100', NULL) AS id";
      assert.equal(await sqlstate(runtime, record, [3, "ab".repeat(32)]), "23503", "a forged hash");
      assert.equal(await sqlstate(runtime, record, [4, head.hash]), "23503", "a real hash at another seq");
      assert.equal(await sqlstate(runtime, record, [99, "ab".repeat(32)]), "23503", "a head beyond the ledger");
      // A temporary table cannot shadow ledger_entry inside the function (search_path is pinned, pg_temp last).
      await runtime.query("CREATE TEMP TABLE ledger_entry (seq BIGINT, hash TEXT)");
      await runtime.query("INSERT INTO ledger_entry VALUES (99, $1)", ["cd".repeat(32)]);
      assert.equal(await sqlstate(runtime, record, [99, "cd".repeat(32)]), "23503", "a head only in a temporary table");
      await runtime.query("DROP TABLE pg_temp.ledger_entry");
      const recorded = await runtime.query<{ id: string }>(record, [3, head.hash]);
      assert.match(recorded.rows[0]!.id, /^\d+$/);
      const rows = await db.prisma.ledgerCheckpoint.findMany();
      assert.deepEqual(rows.map((row) => [row.id.toString(), row.seq, row.hash, row.channelId]), [[recorded.rows[0]!.id, 3n, head.hash, "C0AUDIT"]]);

      // What the runtime role may do: read everything, append entries, write the state tables.
      for (const sql of ["SELECT count(*) FROM ledger_entry", "SELECT count(*) FROM ledger_checkpoint", "SELECT count(*) FROM _prisma_migrations", "INSERT INTO policy_version (sha256, text) VALUES (repeat('1', 64), 'x')", "DELETE FROM policy_version"]) {
        assert.equal(await sqlstate(runtime, sql), "succeeded", sql);
      }

      // Who CAN change the ledger: the owner role (no superuser) disables the trigger and
      // rewrites an entry. Rolled back here; the docs say exactly this.
      await owner.query("BEGIN");
      try {
        await owner.query("ALTER TABLE ledger_entry DISABLE TRIGGER USER");
        const updated = await owner.query("UPDATE ledger_entry SET body = body WHERE seq = 1");
        assert.equal(updated.rowCount, 1, "the owner can rewrite the ledger");
      } finally {
        await owner.query("ROLLBACK");
      }
      const [ownerIs] = (await owner.query<{ superuser: string }>("SELECT current_setting('is_superuser') AS superuser")).rows;
      assert.equal(ownerIs!.superuser, "off");
    } finally {
      await runtime.end();
      await owner.end();
      await admin.query(`SET search_path = "${SCHEMA}"; ALTER TABLE ledger_entry DISABLE TRIGGER USER; ALTER TABLE ledger_checkpoint DISABLE TRIGGER USER; DELETE FROM ledger_checkpoint; DELETE FROM ledger_entry; ALTER TABLE ledger_entry ENABLE TRIGGER USER; ALTER TABLE ledger_checkpoint ENABLE TRIGGER USER; RESET search_path`);
      await db.close();
    }
  });

  test("as the runtime role the bot runs request → approvals → grant → expiry, publishes a checkpoint, and `audit verify` passes", async () => {
    // Auto-migrate on (the default), nothing pending: the runtime role starts without needing CREATE.
    const db = await openDatabase({ target: { kind: "postgres", url: RUNTIME_URL, schema: SCHEMA }, migrate: true });
    const t = await startTestBot(db, { env: { ACCESSBOT_CHECKPOINT_EVERY_ENTRIES: "0", ACCESSBOT_CHECKPOINT_EVERY_MINUTES: "0" } });
    try {
      const { reply } = await t.command(USERS.eng, "prod-db 2h fixing INC-4411 as the runtime role");
      assert.match(replyText(reply), /waiting for approval/, replyText(reply));
      const id = requestIdIn(replyText(reply));
      await t.click(USERS.sre1, t.approvalMessage(id), ActionIds.approve);
      await t.click(USERS.sre2, t.approvalMessage(id), ActionIds.approve);
      const last = await t.click(USERS.sec, t.approvalMessage(id), ActionIds.approve);
      assert.match(replyText(last.reply), /access is now active/, replyText(last.reply));
      const grant = await db.prisma.grant.findFirstOrThrow({ where: { requestId: id } });
      assert.equal(grant.status, "ACTIVE");
      const swept = await t.bot.sweep(new Date(grant.expiresAt.getTime() + 1000));
      assert.deepEqual(swept.grantsExpired, [grant.id]);
      await t.bot.settle();
      assert.equal((await db.prisma.grant.findUniqueOrThrow({ where: { id: grant.id } })).status, "EXPIRED");
      const types = (await db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } })).map((entry) => entry.type);
      assert.deepEqual([types[0], types.at(-1)], ["request.created", "grant.expired"]);

      // The head is published and recorded through accessbot_record_checkpoint, as the runtime role.
      const posts: string[] = [];
      const published = await publishCheckpoint({ prisma: db.prisma, client: fakeSlack(posts), auditChannel: "C0AUDIT", webhookUrl: null, webhookSecret: null, log: silent, databaseKind: "postgres" });
      assert.ok(published?.id, "recorded");
      assert.equal(posts.length, 1);
      assert.equal(await publishCheckpoint({ prisma: db.prisma, client: fakeSlack(posts), auditChannel: "C0AUDIT", webhookUrl: null, webhookSecret: null, log: silent, databaseKind: "postgres" }), null, "the same head is not published twice");

      const out = capture();
      const code = await runAuditCli(["verify", "--checkpoint", `${published.seq}:${published.hash}`], out.out, { env: { DATABASE_URL: RUNTIME_URL }, progress: null });
      assert.equal(code, 0, out.lines.join("\n"));
      assert.match(out.lines.join("\n"), new RegExp(`Ledger intact: ${types.length} entries`));
      assert.match(out.lines.join("\n"), /Checkpoints checked: 2 \(1 from ledger_checkpoint, 1 from --checkpoint\)/);
    } finally {
      await t.stop();
      await db.close();
    }
  });

  test("two replicas publishing a due checkpoint at once post it once", async () => {
    const replicas = await Promise.all([0, 1].map(() => openDatabase({ target: { kind: "postgres", url: RUNTIME_URL, schema: SCHEMA }, migrate: false })));
    try {
      const [first] = replicas;
      await first!.prisma.$transaction((tx) => appendLedgerEntry(tx, { type: "request.expired", requestId: "AR-REPLICA1", actor: SYSTEM, data: {} }, new Date()));
      const before = await first!.prisma.ledgerCheckpoint.count();
      const posts: string[] = [];
      const slack = fakeSlack(posts, 300);
      const results = await Promise.all(
        replicas.flatMap((db) =>
          [0, 1].map(() => publishCheckpointIfDue({ prisma: db.prisma, client: slack, auditChannel: "C0AUDIT", webhookUrl: null, webhookSecret: null, log: silent, databaseKind: "postgres", everyEntries: 1, everyMinutes: 0 })),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, "one publication");
      assert.equal(posts.length, 1, "one Slack post");
      assert.equal(await first!.prisma.ledgerCheckpoint.count(), before + 1);
    } finally {
      await Promise.all(replicas.map((db) => db.close()));
    }
  });

  test("with auto-migrate on and a migration pending, the runtime role is refused with a sentence, not a stack", async () => {
    // A migration directory with one more migration than the database has.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-roles-migrations-"));
    try {
      fs.cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      fs.mkdirSync(path.join(dir, "29991231000000_later"));
      fs.writeFileSync(path.join(dir, "29991231000000_later", "migration.sql"), "CREATE TABLE later (id INT);\n");
      await assert.rejects(
        openDatabase({ target: { kind: "postgres", url: RUNTIME_URL, schema: SCHEMA }, migrate: true, migrationsDir: dir }),
        (error: unknown) => {
          assert.ok(error instanceof MigrationPermissionError, String(error));
          assert.match(error.message, new RegExp(`1 pending migration \\(29991231000000_later\\), but role "${RUNTIME}" cannot apply it: it lacks CREATE on schema "${SCHEMA}"`));
          assert.match(error.message, /ACCESSBOT_AUTO_MIGRATE=false/);
          return true;
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // The real command: make the newest migration pending again, start the bot as the runtime role.
    const newest = (await admin.query<{ id: string; migration_name: string }>(`SELECT id, migration_name FROM "${SCHEMA}"._prisma_migrations ORDER BY migration_name DESC LIMIT 1`)).rows[0]!;
    const saved = await admin.query(`SELECT * FROM "${SCHEMA}"._prisma_migrations WHERE id = $1`, [newest.id]);
    await admin.query(`DELETE FROM "${SCHEMA}"._prisma_migrations WHERE id = $1`, [newest.id]);
    // Slack answers (start-up checks the token before the database): the database is what fails.
    const sim = await startSlackSimulator();
    try {
      const run = await execFileAsync(process.execPath, [path.join(ROOT, "bin/accessbot.mjs"), "start"], {
        cwd: ROOT,
        timeout: 60_000,
        env: { PATH: process.env.PATH, DATABASE_URL: RUNTIME_URL, SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: "unused", SLACK_API_URL: sim.apiUrl, ACCESS_POLICY_FILE: POLICY_FILE, LOG_LEVEL: "silent" },
      }).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`^accessbot cannot start: The database has 1 pending migration \\(${newest.migration_name}\\), but role "${RUNTIME}" cannot apply it: it lacks CREATE`));
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    } finally {
      await sim.close();
      const row = saved.rows[0] as Record<string, unknown>;
      const columns = Object.keys(row);
      await admin.query(
        `INSERT INTO "${SCHEMA}"._prisma_migrations (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
        columns.map((c) => row[c]),
      );
    }
  });
});

describe("the PostgreSQL test databases (test/support/test-databases.ts)", { skip: skip || (process.env.TEST_DATABASE_AS_SUPERUSER === "1" ? "TEST_DATABASE_AS_SUPERUSER=1" : false) }, () => {
  test("are migrated by the owner role and connected as the runtime role, with setup-roles' grants", async () => {
    const db = await openTestPostgres(ADMIN_URL);
    try {
      assert.equal(connectedAsRuntimeRole(db), true);
      const [row] = await db.prisma.$queryRaw<Array<{ user: string; owner: string; update: boolean; insert: boolean }>>`
        SELECT current_user::text AS user, pg_get_userbyid(c.relowner)::text AS owner,
               has_table_privilege('ledger_entry', 'UPDATE') AS update, has_table_privilege('ledger_checkpoint', 'INSERT') AS insert
        FROM pg_class c WHERE c.oid = 'ledger_entry'::regclass`;
      assert.deepEqual(row, { user: TEST_RUNTIME_ROLE, owner: TEST_OWNER_ROLE, update: false, insert: false });
      await resetDatabase(db);
    } finally {
      await db.close();
    }
  });
});

describe("the documentation says who can change the ledger", () => {
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

  test("no claim that only a superuser can, and the owner role and the unprotected tail are named", () => {
    for (const file of ["README.md", "docs/ledger-format.md"]) {
      const text = read(file);
      assert.doesNotMatch(text, /[Oo]nly a superuser/, file);
      assert.match(text, /owner role/, file);
      assert.match(text, /ACCESSBOT_CHECKPOINT_EVERY_ENTRIES/, file);
    }
    assert.match(read("README.md"), /### Database roles/);
    assert.match(read("README.md"), /accessbot db setup-roles/);
  });
});
