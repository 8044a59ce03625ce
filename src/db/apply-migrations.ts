// Applies prisma/migrations at start-up, keeping `_prisma_migrations` interchangeable with
// `prisma migrate deploy` / `migrate status`.
//
// Why a small migrator instead of the wasm schema engine's applyMigrations in-process: the engine
// is 5 MB of WebAssembly that only reaches the database through driver adapters with known
// defects (see prisma/engine/schema-engine.mjs), takes its PostgreSQL advisory lock on whatever
// pooled connection comes first, and records a migration as "started" before running it, so a
// failure leaves a row that blocks every later start until someone runs `prisma migrate resolve`.
// Applying a directory of SQL files is small enough to own completely:
//   - the bookkeeping is Prisma's native layout (same DDL, checksum = sha256 of migration.sql,
//     applied_steps_count = 1, finished_at set), so the CLI reads it as its own;
//   - each migration and its `_prisma_migrations` row commit in ONE transaction. A failing
//     migration leaves nothing behind: PostgreSQL rolls the DDL back, no failed row is written,
//     `migrate status` truthfully lists it as pending, and start-up fails loudly with the
//     database's error. (Prisma itself would leave a failed row; nothing here needs one.)
//     Consequence, the same as with Prisma: a migration cannot use statements that refuse to run
//     in a transaction (CREATE INDEX CONCURRENTLY, COMMIT, …).
//   - on PostgreSQL the whole run holds pg_advisory_lock(72707369), the key the Prisma schema
//     engine uses, so bot replicas and `prisma migrate deploy` never migrate at the same time.
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** The advisory lock key of Prisma's schema engine (sql-schema-connector, postgres flavour). */
export const PRISMA_MIGRATE_ADVISORY_LOCK_KEY = 72707369;

/** What the migrator needs from a connection; one session, simple protocol for `exec`. */
export interface MigrationSession {
  query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a multi-statement script (simple query protocol). */
  exec(script: string): Promise<void>;
}

export interface MigrationConnection extends MigrationSession {
  /** Runs `fn` in BEGIN … COMMIT on this session, rolling back if it throws. */
  transaction<T>(fn: (tx: MigrationSession) => Promise<T>): Promise<T>;
  /** Holds the cross-process migration lock while `fn` runs (no-op where one process is all). */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
}

export interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export class MigrationFailedError extends Error {
  readonly code = "MIGRATION_FAILED";
  constructor(
    readonly migrationName: string,
    cause: unknown,
  ) {
    super(
      `Migration ${migrationName} failed and was rolled back; nothing of it was applied: ${
        cause instanceof Error ? cause.message : String(cause)
      }. Fix prisma/migrations/${migrationName}/migration.sql (or the data it trips on) and start again.`,
      { cause },
    );
    this.name = "MigrationFailedError";
  }
}

export class MigrationHistoryError extends Error {
  readonly code = "MIGRATION_HISTORY_BLOCKED";
}

/**
 * Pending migrations, and a database role that cannot apply them: the runtime role made by
 * `accessbot db setup-roles` has no CREATE on the schema and owns none of its tables, by design.
 */
export class MigrationPermissionError extends Error {
  readonly code = "MIGRATION_NOT_PERMITTED";
  constructor(
    readonly pending: string[],
    readonly role: string,
    readonly schema: string | null,
  ) {
    const count = `${pending.length} pending migration${pending.length === 1 ? "" : "s"} (${pending.join(", ")})`;
    const where = schema ? `schema "${schema}"` : "the database (the schema does not exist yet)";
    super(
      `The database has ${count}, but role "${role}" cannot apply ${pending.length === 1 ? "it" : "them"}: it lacks CREATE on ${where} or does not own its tables, as the runtime role should. ` +
        `Apply them as the owner role (DATABASE_URL=<owner url> npx accessbot db migrate, or npx prisma migrate deploy) and run the bot as the runtime role with ACCESSBOT_AUTO_MIGRATE=false.`,
    );
    this.name = "MigrationPermissionError";
  }
}

// Byte-for-byte the table the Prisma schema engine creates on PostgreSQL.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationRow extends Record<string, unknown> {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Reads `<dir>/<name>/migration.sql` in name order, as the Prisma CLI does. */
export async function readMigrationsDirectory(migrationsDir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await fs.readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    // Read as bytes: the checksum Prisma compares is the sha256 of the file exactly as stored.
    const bytes = await fs.readFile(path.join(migrationsDir, name, "migration.sql")).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    });
    if (!bytes) continue;
    files.push({ name, script: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") });
  }
  return files;
}

async function readHistory(session: MigrationSession): Promise<MigrationRow[] | null> {
  // to_regclass follows search_path, like the unqualified names in the migrations.
  const [exists] = await session.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists?.present) return null;
  return session.query<MigrationRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
}

function appliedNames(history: MigrationRow[] | null): Set<string> {
  return new Set(
    (history ?? []).filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name),
  );
}

/** Names of migrations on disk that the database has not applied. */
export async function listPendingMigrations(connection: MigrationSession, migrationsDir: string): Promise<string[]> {
  const [files, history] = await Promise.all([readMigrationsDirectory(migrationsDir), readHistory(connection)]);
  const applied = appliedNames(history);
  return files.filter((f) => !applied.has(f.name)).map((f) => f.name);
}

/**
 * Applies every pending migration, each in its own transaction with its bookkeeping row.
 * Returns the names applied. Throws {@link MigrationFailedError} (after rolling that migration
 * back) or {@link MigrationHistoryError} (a failed migration recorded by the Prisma CLI).
 */
export async function applyMigrations(options: {
  connection: MigrationConnection;
  migrationsDir: string;
  logger?: MigrationLogger;
}): Promise<string[]> {
  const { connection, migrationsDir, logger } = options;
  const files = await readMigrationsDirectory(migrationsDir);

  // Nothing to do is decided before anything is created or locked, so a role that may only
  // read the history (the runtime role) starts fine with auto-migrate on; a pending migration
  // it could not apply is refused with a sentence instead of a "permission denied" halfway.
  const seen = await readHistory(connection);
  const pending = files.filter((f) => !appliedNames(seen).has(f.name));
  const failedBefore = (seen ?? []).filter((r) => r.finished_at === null && r.rolled_back_at === null);
  if (pending.length === 0 && failedBefore.length === 0) {
    warnAboutHistory(seen ?? [], files, logger);
    return [];
  }
  await refuseWithoutMigratePrivileges(connection, pending.map((f) => f.name));

  return connection.withMigrationLock(async () => {
    await connection.exec(CREATE_MIGRATIONS_TABLE);
    const history = (await readHistory(connection)) ?? [];

    // Same rule as `prisma migrate deploy` (P3009): a failed migration must be resolved first.
    const failed = history.filter((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed.length > 0) {
      const names = failed.map((r) => r.migration_name).join(", ");
      throw new MigrationHistoryError(
        `The database records failed migration(s) ${names}; no migration is applied until they are resolved. Inspect the database, then run \`npx prisma migrate resolve --rolled-back <name>\` (or --applied) and start again.`,
      );
    }

    const applied = appliedNames(history);
    warnAboutHistory(history, files, logger);

    const appliedNow: string[] = [];
    for (const file of files) {
      if (applied.has(file.name)) continue;
      const startedAt = Date.now();
      try {
        await connection.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
             VALUES ($1, $2, $3, now(), 0)`,
            [randomUUID(), file.checksum, file.name],
          );
          await tx.exec(file.script);
          await tx.query(
            `UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1 WHERE "migration_name" = $1 AND "finished_at" IS NULL`,
            [file.name],
          );
        });
      } catch (error) {
        const failure = new MigrationFailedError(file.name, error);
        logger?.error({ migration: file.name, err: error }, failure.message);
        throw failure;
      }
      logger?.info({ migration: file.name, ms: Date.now() - startedAt }, "applied migration");
      appliedNow.push(file.name);
    }
    return appliedNow;
  });
}

function warnAboutHistory(history: MigrationRow[], files: MigrationFile[], logger: MigrationLogger | undefined): void {
  const applied = appliedNames(history);
  const onDisk = new Map(files.map((f) => [f.name, f]));
  for (const row of history) {
    if (!applied.has(row.migration_name)) continue;
    const file = onDisk.get(row.migration_name);
    if (!file) {
      logger?.warn({ migration: row.migration_name }, "database has a migration that is not in prisma/migrations (is this build older than the database?)");
    } else if (file.checksum !== row.checksum) {
      logger?.warn({ migration: row.migration_name }, "migration.sql was edited after it was applied");
    }
  }
}

/**
 * A migration creates objects in the schema and alters its tables: that takes CREATE on the
 * schema (on the database, while the schema does not exist) and ownership of every table.
 * A superuser (PGlite always) passes.
 */
async function refuseWithoutMigratePrivileges(session: MigrationSession, pending: string[]): Promise<void> {
  const [check] = await session.query<{ role: string; schema: string | null; may_create: boolean; owns_tables: boolean }>(
    `SELECT current_user::text AS role,
            current_schema()::text AS schema,
            CASE WHEN current_schema() IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                 ELSE has_schema_privilege(current_schema(), 'CREATE') END AS may_create,
            NOT EXISTS (SELECT 1 FROM pg_class c
                        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                          AND c.relkind IN ('r', 'p') AND NOT pg_has_role(c.relowner, 'USAGE')) AS owns_tables`,
  );
  if (check && (!check.may_create || !check.owns_tables)) throw new MigrationPermissionError(pending, check.role, check.schema);
}
