// The real Prisma CLI (npx prisma, nothing but the npm registry) running on the wasm schema
// engine stand-in (prisma/engine/schema-engine.mjs), against PGlite and, when
// TEST_DATABASE_URL is set, PostgreSQL; and the proof that the runtime migrator
// (src/db/apply-migrations.ts) keeps `_prisma_migrations` interchangeable with the CLI's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { MigrationFailedError, readMigrationsDirectory, type MigrationFile } from "../src/db/apply-migrations.js";
import { DEFAULT_MIGRATIONS_DIR, openDatabase, type Database, type DatabaseLogger } from "../src/db/open-database.js";
import { databaseTargetToUrl, type DatabaseTarget } from "../src/db/resolve-database-target.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL;

interface CliRun {
  code: number | null;
  output: string;
}

/** Runs `npx prisma …` as a developer would, with DATABASE_URL as the only database input. */
function runPrisma(args: string[], options: { databaseUrl?: string; cwd?: string } = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
  // The project's prisma.config.ts must be what picks the engine and the database.
  delete env.PRISMA_SCHEMA_ENGINE_BINARY;
  delete env.SHADOW_DATABASE_URL;
  delete env.DATABASE_URL;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["--no", "--", "prisma", ...args], { cwd: options.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

function assertRun(run: CliRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, run.output);
  assert.match(run.output, pattern, run.output);
}

const quietLogger: DatabaseLogger = { info() {}, warn() {}, error() {} };

/** After `prisma migrate deploy`, the bot's own migrator must see a complete history and apply nothing. */
async function assertRuntimeMigratorFindsNothing(target: DatabaseTarget, migrations: MigrationFile[]): Promise<void> {
  const { logger, applied } = recordingLogger();
  const db = await openDatabase({ target, migrate: true, logger });
  try {
    assert.deepEqual(applied, []);
    assert.deepEqual(await db.migrationsPending(), []);
    assertCompleteHistory(await readHistory(db), migrations);
  } finally {
    await db.close();
  }
}

function recordingLogger(): { logger: DatabaseLogger; applied: string[] } {
  const applied: string[] = [];
  return {
    applied,
    logger: {
      info(obj: object, msg?: string) {
        if (msg === "applied migration") applied.push((obj as { migration: string }).migration);
      },
      warn() {},
      error() {},
    },
  };
}

interface HistoryRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

function readHistory(db: Database): Promise<HistoryRow[]> {
  return db.prisma.$queryRawUnsafe<HistoryRow[]>(
    `SELECT id, migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name`,
  );
}

/** Exactly what `prisma migrate deploy` records for a fully applied directory. */
function assertCompleteHistory(rows: HistoryRow[], migrations: MigrationFile[]): void {
  assert.deepEqual(
    rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count, r.rolled_back_at, r.logs]),
    migrations.map((m) => [m.name, m.checksum, 1, null, null]),
  );
  for (const row of rows) {
    assert.ok(row.finished_at instanceof Date, `${row.migration_name} is finished`);
    assert.match(row.id, /^[0-9a-f-]{36}$/);
  }
}

async function withDatabase<T>(target: DatabaseTarget, fn: (db: Database) => Promise<T>, migrationsDir?: string): Promise<T> {
  const db = await openDatabase({ target, migrate: false, logger: quietLogger, ...(migrationsDir ? { migrationsDir } : {}) });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** A throw-away copy of the project's Prisma files, so `migrate dev` can never write to the repo. */
function copyProject(into: string): string {
  const dir = path.join(into, `project-${randomBytes(3).toString("hex")}`);
  for (const file of ["package.json", "prisma.config.ts", "prisma/schema.prisma", "prisma/engine/schema-engine.mjs", "src/db/resolve-database-target.ts"]) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  fs.cpSync(path.join(ROOT, "prisma/migrations"), path.join(dir, "prisma/migrations"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

function listMigrationDirs(projectDir: string): string[] {
  return fs.readdirSync(path.join(projectDir, "prisma/migrations")).filter((n) => !n.endsWith(".toml")).sort();
}

/** The project's migrations plus one that creates things and then fails. */
function migrationsWithBrokenOne(into: string): { dir: string; broken: string } {
  const dir = path.join(into, `migrations-${randomBytes(3).toString("hex")}`);
  fs.cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  const broken = "29991231000000_broken";
  fs.mkdirSync(path.join(dir, broken));
  fs.writeFileSync(
    path.join(dir, broken, "migration.sql"),
    [
      "CREATE TABLE half_applied (id integer);",
      "INSERT INTO half_applied VALUES (1);",
      `ALTER TABLE "access_request" ADD COLUMN "half_applied_column" integer;`,
      "-- A ';' inside a string must not split the script: 'a;b'",
      "SELECT 'a;b', 1 / 0;",
    ].join("\n"),
  );
  return { dir, broken };
}

async function assertBrokenMigrationLeftNothing(target: DatabaseTarget, migrationsDir: string, broken: string, migrations: MigrationFile[]): Promise<void> {
  await withDatabase(
    target,
    async (db) => {
      assert.deepEqual(await db.migrationsPending(), [broken]);
      const [state] = await db.prisma.$queryRawUnsafe<Array<{ table: string | null; column: number }>>(
        `SELECT to_regclass('half_applied')::text AS "table",
                (SELECT count(*)::int FROM information_schema.columns
                 WHERE table_schema = current_schema() AND column_name = 'half_applied_column') AS "column"`,
      );
      assert.deepEqual(state, { table: null, column: 0 });
      // No failed row either: the next start retries, and the CLI sees a clean history.
      assertCompleteHistory(await readHistory(db), migrations);
    },
    migrationsDir,
  );
}

async function expectBrokenMigrationToFail(target: DatabaseTarget, migrationsDir: string, broken: string): Promise<void> {
  await assert.rejects(openDatabase({ target, migrate: true, logger: quietLogger, migrationsDir }), (error: unknown) => {
    assert.ok(error instanceof MigrationFailedError, String(error));
    assert.equal(error.migrationName, broken);
    assert.match(error.message, /division by zero/);
    return true;
  });
}

describe("prisma CLI on the wasm schema engine", { concurrency: 2 }, () => {
  let tmp: string;
  let migrations: MigrationFile[];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-prisma-cli-"));
    migrations = await readMigrationsDirectory(DEFAULT_MIGRATIONS_DIR);
    assert.ok(migrations.length > 0, "prisma/migrations has migrations");
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe("without a migrated database", { concurrency: 1 }, () => {
    test("prisma --version runs the stand-in engine, at the CLI's engine hash", async () => {
      const run = await runPrisma(["--version"]);
      const hash = /Default Engines Hash\s*:\s*([0-9a-f]{40})/.exec(run.output)?.[1];
      assert.ok(hash, run.output);
      assertRun(run, 0, new RegExp(`Schema Engine\\s*:\\s*schema-engine-cli ${hash} \\(at .*schema-engine\\.mjs, resolved by PRISMA_SCHEMA_ENGINE_BINARY\\)`));
    });

    test("migrate diff --from-empty --to-schema --script prints the schema's SQL", async () => {
      // The engine probes the configured server even for a diff between files: PostgreSQL when
      // there is one (a read-only probe), else an in-memory PGlite (which costs an initdb).
      const run = await runPrisma(["migrate", "diff", "--from-empty", "--to-schema", "prisma/schema.prisma", "--script"], {
        databaseUrl: PG_URL ?? databaseTargetToUrl({ kind: "pglite", dataDir: ":memory:" }),
      });
      assertRun(run, 0, /CREATE TABLE "ledger_entry"/);
      assert.match(run.output, /CREATE TYPE "RequestStatus" AS ENUM/);
    });
  });

  // Each group's tests build on each other (same directory or schema): one at a time inside a
  // group, while the groups themselves run side by side.
  describe("PGlite", { concurrency: 1 }, () => {
    let cliDir: string;
    let runtimeDir: string;
    const pgliteTarget = (dataDir: string): DatabaseTarget => ({ kind: "pglite", dataDir });

    before(() => {
      cliDir = path.join(tmp, "pglite-cli");
      runtimeDir = path.join(tmp, "pglite-runtime");
    });

    test("migrate deploy migrates a fresh directory, and the runtime migrator then finds nothing to do", async () => {
      const run = await runPrisma(["migrate", "deploy"], { databaseUrl: databaseTargetToUrl(pgliteTarget(cliDir)) });
      assertRun(run, 0, /All migrations have been successfully applied/);
      assert.ok(!fs.existsSync(`${cliDir}.lock`), "the engine released its lock");

      await assertRuntimeMigratorFindsNothing(pgliteTarget(cliDir), migrations);
    });

    test("after the runtime migrator, migrate status is up to date and migrate deploy is a no-op", async () => {
      const { logger, applied } = recordingLogger();
      const before = await (async () => {
        const db = await openDatabase({ target: pgliteTarget(runtimeDir), migrate: true, logger });
        try {
          return await readHistory(db);
        } finally {
          await db.close();
        }
      })();
      assert.deepEqual(applied, migrations.map((m) => m.name));
      assertCompleteHistory(before, migrations);

      const url = databaseTargetToUrl(pgliteTarget(runtimeDir));
      assertRun(await runPrisma(["migrate", "status"], { databaseUrl: url }), 0, /Database schema is up to date!/);
      assertRun(await runPrisma(["migrate", "deploy"], { databaseUrl: url }), 0, /No pending migrations to apply/);
      assert.deepEqual(await withDatabase(pgliteTarget(runtimeDir), readHistory), before);
    });

    test("migrate dev on the up-to-date database finds no drift and creates nothing", async () => {
      const project = copyProject(tmp);
      const run = await runPrisma(["migrate", "dev"], { cwd: project, databaseUrl: databaseTargetToUrl(pgliteTarget(runtimeDir)) });
      assertRun(run, 0, /Already in sync, no schema change or pending migration was found/);
      assert.deepEqual(listMigrationDirs(project), migrations.map((m) => m.name));
    });

    test("the directory lock refuses a second opener: in this process, another process, and the CLI", async () => {
      const db = await openDatabase({ target: pgliteTarget(runtimeDir), migrate: false, logger: quietLogger });
      const refusal = new RegExp(`PGlite data directory ${runtimeDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by process ${process.pid}\\b`);
      try {
        await assert.rejects(openDatabase({ target: pgliteTarget(runtimeDir), migrate: false }), refusal);

        const child = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const script = `
            const { openDatabase } = await import(${JSON.stringify(path.join(ROOT, "src/db/open-database.ts"))});
            try { await openDatabase({ target: { kind: "pglite", dataDir: ${JSON.stringify(runtimeDir)} }, migrate: false }); }
            catch (error) { console.error(error.message); process.exit(3); }`;
          const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
          let stderr = "";
          proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          proc.on("error", reject);
          proc.on("close", (code) => resolve({ code, stderr }));
        });
        assert.equal(child.code, 3, child.stderr);
        assert.match(child.stderr, refusal);

        const run = await runPrisma(["migrate", "status"], { databaseUrl: databaseTargetToUrl(pgliteTarget(runtimeDir)) });
        assert.notEqual(run.code, 0, run.output);
        assert.match(run.output, refusal);
      } finally {
        await db.close();
      }
      assert.ok(!fs.existsSync(`${runtimeDir}.lock`), "close() released the lock");
    });

    test("a failing migration is rolled back whole by the runtime migrator, leaving no trace", async () => {
      const { dir, broken } = migrationsWithBrokenOne(tmp);
      await expectBrokenMigrationToFail(pgliteTarget(runtimeDir), dir, broken);
      await assertBrokenMigrationLeftNothing(pgliteTarget(runtimeDir), dir, broken, migrations);
    });
  });

  describe("PostgreSQL", { concurrency: 1, skip: PG_URL ? false : "set TEST_DATABASE_URL to run against PostgreSQL" }, () => {
    const schemas: string[] = [];
    const pgTarget = (): DatabaseTarget & { kind: "postgres" } => {
      const schema = `t_cli_${randomBytes(5).toString("hex")}`;
      schemas.push(schema);
      const url = new URL(PG_URL as string);
      url.searchParams.set("schema", schema);
      return { kind: "postgres", url: url.toString(), schema };
    };

    after(async () => {
      if (!PG_URL || schemas.length === 0) return;
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join("\n"));
      } finally {
        await client.end();
      }
    });

    test("migrate deploy migrates a fresh schema, and the runtime migrator then finds nothing to do", async () => {
      const target = pgTarget();
      assertRun(await runPrisma(["migrate", "deploy"], { databaseUrl: target.url }), 0, /All migrations have been successfully applied/);
      await assertRuntimeMigratorFindsNothing(target, migrations);
    });

    test("after the runtime migrator (two instances at once): status up to date, deploy a no-op, migrate dev finds nothing", async () => {
      const target = pgTarget();
      // Two instances starting at once: the advisory lock lets one migrate, the other waits.
      const first = recordingLogger();
      const second = recordingLogger();
      const dbs = await Promise.all([
        openDatabase({ target, migrate: true, logger: first.logger }),
        openDatabase({ target, migrate: true, logger: second.logger }),
      ]);
      const before = await readHistory(dbs[0]!);
      await Promise.all(dbs.map((db) => db.close()));
      assert.deepEqual([...first.applied, ...second.applied], migrations.map((m) => m.name));
      assertCompleteHistory(before, migrations);

      assertRun(await runPrisma(["migrate", "status"], { databaseUrl: target.url }), 0, /Database schema is up to date!/);
      assertRun(await runPrisma(["migrate", "deploy"], { databaseUrl: target.url }), 0, /No pending migrations to apply/);
      const project = copyProject(tmp);
      assertRun(await runPrisma(["migrate", "dev"], { cwd: project, databaseUrl: target.url }), 0, /Already in sync, no schema change or pending migration was found/);
      assert.deepEqual(listMigrationDirs(project), migrations.map((m) => m.name));
      assert.deepEqual(await withDatabase(target, readHistory), before);
    });

    test("a failing migration is rolled back whole by the runtime migrator, leaving no trace", async () => {
      const target = pgTarget();
      const { dir, broken } = migrationsWithBrokenOne(tmp);
      await expectBrokenMigrationToFail(target, dir, broken);
      await assertBrokenMigrationLeftNothing(target, dir, broken, migrations);
    });
  });
});
