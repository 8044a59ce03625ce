// Databases for tests: every DB test file runs against embedded PGlite, and also against real
// PostgreSQL when TEST_DATABASE_URL is set (CI sets postgresql://postgres@127.0.0.1:5432/test).
//
// Usage, once per file:
//   for (const target of testDatabases) describe(target.name, () => {
//     let db: Database;
//     before(async () => { db = await target.open(); });
//     after(() => db.close());
//     beforeEach(() => resetDatabase(db));
//   });
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { readMigrationsDirectory } from "../../src/db/apply-migrations.js";
import { DEFAULT_MIGRATIONS_DIR, openDatabase, type Database } from "../../src/db/open-database.js";

export interface TestDatabase {
  name: "pglite" | "postgres";
  /** A fresh, fully migrated database of its own; `close()` disposes of it. */
  open(): Promise<Database>;
}

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
  await db.prisma.$transaction(async (tx) => {
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

/**
 * PostgreSQL: a schema of its own (`t_<random>`) in the test database, migrated by the runtime
 * migrator exactly as the bot would, and dropped when the database is closed.
 */
export async function openTestPostgres(baseUrl: string): Promise<Database> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const url = new URL(baseUrl);
  url.searchParams.set("schema", schema);
  const db = await openDatabase({ target: { kind: "postgres", url: url.toString(), schema }, migrate: true, logger: quietLogger });
  return {
    ...db,
    async close() {
      try {
        await db.close();
      } finally {
        const admin = new pg.Client({ connectionString: baseUrl });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        } finally {
          await admin.end();
        }
      }
    },
  };
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
