// Databases for tests: every DB test file runs against embedded PGlite, and also against real
// PostgreSQL when TEST_DATABASE_URL is set (CI sets postgresql://postgres@127.0.0.1:5432/test)
// or, when it is unset, a local server answers at that address.
//
// Usage, once per file:
//   for (const target of testDatabases) describe(target.name, () => {
//     let db: Database;
//     before(async () => { db = await target.open(); });
//     after(() => db.close());
//     beforeEach(() => resetDatabase(db));
//   });
//
// On PostgreSQL the tests run as the bot should in production: the schema is migrated by an
// owner role and the Database handed to the test is connected as a runtime role with exactly
// the grants `accessbot db setup-roles` gives (src/db/setup-database-roles.ts), so a test that
// needs more than the bot may do fails here too. TEST_DATABASE_AS_SUPERUSER=1 opts out (every
// connection is then TEST_DATABASE_URL's user, as before). Test support that must do what the
// bot cannot (resetDatabase, tampering with the ledger) uses privilegedPrisma(db).
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { readMigrationsDirectory } from "../../src/db/apply-migrations.js";
import { DEFAULT_MIGRATIONS_DIR, openDatabase, type Database } from "../../src/db/open-database.js";
import { setupDatabaseRoles } from "../../src/db/setup-database-roles.js";
import type { PrismaClient } from "../../src/generated/prisma/client.js";

export interface TestDatabase {
  name: "pglite" | "postgres";
  /** A fresh, fully migrated database of its own; `close()` disposes of it. */
  open(): Promise<Database>;
}

/** The local server CI and a developer's machine have (same as DEFAULT_TEST_DATABASE_URL in start-bot-process.ts). */
const LOCAL_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test";

/**
 * Why: `npm test` on a fresh clone should run the PostgreSQL suites whenever a local server is
 * there, without anyone knowing to set TEST_DATABASE_URL. Probed once per test process, at
 * load, with a short timeout; when it answers, TEST_DATABASE_URL is set for every file that
 * reads it after importing this module. TEST_DATABASE_URL="" turns PostgreSQL off.
 */
async function probeLocalPostgres(): Promise<void> {
  if (process.env.TEST_DATABASE_URL !== undefined) return;
  const client = new pg.Client({ connectionString: LOCAL_TEST_DATABASE_URL, connectionTimeoutMillis: 1000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    process.env.TEST_DATABASE_URL = LOCAL_TEST_DATABASE_URL;
  } catch {
    // No local server: the PostgreSQL suites are skipped (run-test-suites.mjs says so at the end).
  } finally {
    await client.end().catch(() => undefined);
  }
}
await probeLocalPostgres();

export const testDatabases: TestDatabase[] = [
  { name: "pglite", open: openTestPglite },
  ...(process.env.TEST_DATABASE_URL ? [{ name: "postgres" as const, open: () => openTestPostgres(process.env.TEST_DATABASE_URL as string) }] : []),
];

/**
 * Empties every application table (keeping `_prisma_migrations`) and restarts sequences, in
 * one transaction. The ledger's triggers forbid DELETE and TRUNCATE, so they are silenced for
 * this transaction only:
 *  - as a superuser (PGlite always; the usual local PostgreSQL): DELETE under
 *    `SET LOCAL session_replication_role = replica`, which skips user and foreign-key triggers
 *    for row changes. TRUNCATE is avoided: on a disk-backed PGlite it costs ~100 ms per reset,
 *    DELETE ~20 ms; and that setting would not silence TRUNCATE triggers anyway.
 *  - otherwise (table owner only): ALTER TABLE … DISABLE TRIGGER USER around a TRUNCATE; a
 *    failure rolls the ALTERs back too, so the triggers cannot stay disabled.
 */
export async function resetDatabase(db: Database): Promise<void> {
  await privilegedPrisma(db).$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ name: string }>>`
      SELECT tablename AS name FROM pg_tables
      WHERE schemaname = current_schema() AND tablename <> '_prisma_migrations'`;
    if (rows.length === 0) return;
    const tables = rows.map((r) => quoteIdent(r.name));
    const [role] = await tx.$queryRaw<Array<{ superuser: boolean }>>`SELECT current_setting('is_superuser') = 'on' AS superuser`;
    if (role?.superuser) {
      await tx.$executeRawUnsafe(`SET LOCAL session_replication_role = replica`);
      for (const table of tables) await tx.$executeRawUnsafe(`DELETE FROM ${table}`);
      const sequences = await tx.$queryRaw<Array<{ name: string }>>`
        SELECT sequence_name AS name FROM information_schema.sequences WHERE sequence_schema = current_schema()`;
      for (const { name } of sequences) await tx.$executeRaw`SELECT setval(${quoteIdent(name)}::regclass, 1, false)::text`;
    } else {
      for (const table of tables) await tx.$executeRawUnsafe(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      await tx.$executeRawUnsafe(`TRUNCATE ${tables.join(", ")} RESTART IDENTITY CASCADE`);
      for (const table of tables) await tx.$executeRawUnsafe(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    }
  });
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const quietLogger = { info() {}, warn() {}, error() {} };

/** The roles every PostgreSQL test schema is set up with; created on first use, kept between runs. */
export const TEST_OWNER_ROLE = "accessbot_test_owner";
export const TEST_RUNTIME_ROLE = "accessbot_test_app";
const TEST_RUNTIME_PASSWORD = "accessbot-test-app";

/** Databases connected as the runtime role → a connection as TEST_DATABASE_URL's (super)user. */
const privileged = new WeakMap<Database, Database>();

/**
 * A client that may do what the bot's runtime role may not (empty every table, disable the
 * ledger's triggers, insert any checkpoint): TEST_DATABASE_URL's user on PostgreSQL, the
 * database itself on PGlite (one superuser) or when the tests run as the superuser.
 */
export function privilegedPrisma(db: Database): PrismaClient {
  return (privileged.get(db) ?? db).prisma;
}

/** True when `db` is connected as the runtime role of setup-roles (PostgreSQL, unless opted out). */
export function connectedAsRuntimeRole(db: Database): boolean {
  return privileged.has(db);
}

/** `url` with `?schema=` set (and, when given, user and password replaced, or `-c role=` added). */
function urlFor(baseUrl: string, schema: string, as?: { user: string; password: string } | { role: string }): string {
  const url = new URL(baseUrl);
  url.searchParams.set("schema", schema);
  if (as && "user" in as) {
    url.username = encodeURIComponent(as.user);
    url.password = encodeURIComponent(as.password);
  } else if (as) {
    const existing = url.searchParams.get("options");
    url.searchParams.set("options", `${existing ? `${existing} ` : ""}-c role=${as.role}`);
  }
  return url.toString();
}

/**
 * PostgreSQL: a schema of its own (`t_<random>`) in the test database, dropped when the
 * database is closed. By default it is set up with {@link TEST_OWNER_ROLE} and
 * {@link TEST_RUNTIME_ROLE} exactly as `accessbot db setup-roles` does, migrated by the runtime
 * migrator as the owner (TEST_DATABASE_URL's user with `-c role=`), and the Database returned
 * is connected as the runtime role. `asSuperuser` (or TEST_DATABASE_AS_SUPERUSER=1) migrates and
 * connects as TEST_DATABASE_URL's user instead.
 */
export async function openTestPostgres(baseUrl: string, options: { asSuperuser?: boolean } = {}): Promise<Database> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const dropSchema = async () => {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    } finally {
      await admin.end();
    }
  };
  if (options.asSuperuser ?? process.env.TEST_DATABASE_AS_SUPERUSER === "1") {
    const db = await openDatabase({ target: { kind: "postgres", url: urlFor(baseUrl, schema), schema }, migrate: true, logger: quietLogger });
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          await dropSchema();
        }
      },
    };
  }

  const opened: Database[] = [];
  try {
    await setupDatabaseRoles(baseUrl, { schema, owner: TEST_OWNER_ROLE, runtime: TEST_RUNTIME_ROLE, runtimePassword: TEST_RUNTIME_PASSWORD });
    const owner = await openDatabase({ target: { kind: "postgres", url: urlFor(baseUrl, schema, { role: TEST_OWNER_ROLE }), schema }, migrate: true, logger: quietLogger });
    await owner.close();
    const admin = await openDatabase({ target: { kind: "postgres", url: urlFor(baseUrl, schema), schema }, migrate: false, logger: quietLogger });
    opened.push(admin);
    const runtimeUrl = urlFor(baseUrl, schema, { user: TEST_RUNTIME_ROLE, password: TEST_RUNTIME_PASSWORD });
    const db = await openDatabase({ target: { kind: "postgres", url: runtimeUrl, schema }, migrate: false, logger: quietLogger });
    opened.push(db);
    const wrapped: Database = {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          try {
            await admin.close();
          } finally {
            await dropSchema();
          }
        }
      },
    };
    privileged.set(wrapped, admin);
    return wrapped;
  } catch (error) {
    for (const db of opened) await db.close().catch(() => undefined);
    await dropSchema().catch(() => undefined);
    throw error;
  }
}

/**
 * PGlite: a private copy of a migrated template data directory. Creating a PGlite database
 * (initdb) costs 1.3 s in memory and 2.4 s on disk, every time; copying a closed, already
 * migrated directory and opening it costs about 0.4 s. The template is built once per set of
 * migrations (keyed by their checksums and the PGlite version) by the runtime migrator, and
 * reused by every later test process. Each copy is removed when the database is closed.
 */
export async function openTestPglite(): Promise<Database> {
  const template = await ensurePgliteTemplate();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-test-pglite-"));
  fs.cpSync(template, dataDir, { recursive: true });
  const removeCopy = (): void => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(`${dataDir}.lock`, { force: true });
  };
  // A test process that dies without closing should not leave 40 MB behind.
  process.once("exit", removeCopy);
  try {
    const db = await openDatabase({ target: { kind: "pglite", dataDir }, migrate: true, logger: quietLogger });
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          process.removeListener("exit", removeCopy);
          removeCopy();
        }
      },
    };
  } catch (error) {
    removeCopy();
    throw error;
  }
}

async function ensurePgliteTemplate(): Promise<string> {
  const migrations = await readMigrationsDirectory(DEFAULT_MIGRATIONS_DIR);
  const pgliteVersion = JSON.parse(
    fs.readFileSync(new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url), "utf8"),
  ) as { version: string };
  const key = createHash("sha256")
    .update(JSON.stringify({ pglite: pgliteVersion.version, migrations: migrations.map((m) => [m.name, m.checksum]) }))
    .digest("hex")
    .slice(0, 16);
  const templateDir = path.join(os.tmpdir(), `accessbot-pglite-template-${key}`);
  if (fs.existsSync(path.join(templateDir, "PG_VERSION"))) return templateDir;

  // Built aside and renamed into place, so a concurrent test process never copies a half-built
  // template; if two build at once, the first rename wins and the other copy is discarded.
  const buildDir = `${templateDir}.build-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const db = await openDatabase({ target: { kind: "pglite", dataDir: buildDir }, migrate: true, logger: quietLogger });
    await db.close();
    try {
      fs.renameSync(buildDir, templateDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" && code !== "ENOTEMPTY") throw error;
    }
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.rmSync(`${buildDir}.lock`, { force: true });
  }
  return templateDir;
}
