import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { PGlite, type Transaction as PGliteTransaction } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { acquirePgliteLock } from "./acquire-pglite-lock.js";
import {
  applyMigrations,
  listPendingMigrations,
  PRISMA_MIGRATE_ADVISORY_LOCK_KEY,
  type MigrationConnection,
  type MigrationLogger,
  type MigrationSession,
} from "./apply-migrations.js";
import { PGLITE_MEMORY, type DatabaseTarget } from "./resolve-database-target.js";

export type DatabaseLogger = MigrationLogger;

export interface Database {
  prisma: PrismaClient;
  kind: "pglite" | "postgres";
  /** Migrations in the migrations directory that this database has not applied. */
  migrationsPending(): Promise<string[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** Disconnects, and on PGlite flushes to disk and releases the directory lock. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  target: DatabaseTarget;
  /** Apply pending migrations before returning (the bot does; tools that only read do not). */
  migrate: boolean;
  logger?: DatabaseLogger;
  /** Defaults to prisma/migrations of this project. */
  migrationsDir?: string;
}

/** Default maxWait of interactive transactions on PGlite (Prisma's own default is 2 s). */
export const PGLITE_TRANSACTION_MAX_WAIT_MS = 60_000;

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/**
 * Opens the app's database: embedded PGlite (directory-locked against other processes) or
 * PostgreSQL through @prisma/adapter-pg, and optionally brings its schema up to date.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.target.kind === "pglite"
    ? openPglite(options.target.dataDir, options)
    : openPostgres(options.target.url, options.target.schema, options);
}

async function openPglite(dataDir: string, options: OpenDatabaseOptions): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const inMemory = dataDir === PGLITE_MEMORY;
  // The lock comes first: opening the directory is itself a write.
  const releaseLock = inMemory ? () => {} : acquirePgliteLock(dataDir);
  let db: PGlite | undefined;
  try {
    if (!inMemory) await fs.mkdir(dataDir, { recursive: true });
    db = await PGlite.create(inMemory ? "memory://" : dataDir);
    const connection = pgliteMigrationConnection(db);
    if (options.migrate) await applyMigrations({ connection, migrationsDir, ...loggerOption(options) });

    const prisma = new PrismaClient({
      adapter: new PrismaPGlite(db),
      // PGlite is one connection: its own mutex runs interactive transactions one after another
      // (verified: 50 concurrent read-modify-write transactions never interleave, and plain
      // queries wait for the open transaction). Prisma counts that queueing against maxWait,
      // whose 2 s default made queued transactions fail under load, so the default is raised
      // to what a pool of connections would give. A caller's own maxWait still applies.
      transactionOptions: { maxWait: PGLITE_TRANSACTION_MAX_WAIT_MS },
    });
    const pglite = db;
    return {
      prisma,
      kind: "pglite",
      migrationsPending: () => listPendingMigrations(connection, migrationsDir),
      ping: () => ping(prisma),
      close: once(async () => {
        try {
          await prisma.$disconnect();
        } finally {
          try {
            // A clean shutdown checkpoints the directory, so the next open needs no recovery.
            await pglite.close();
          } finally {
            releaseLock();
          }
        }
      }),
    };
  } catch (error) {
    await db?.close().catch(() => {});
    releaseLock();
    throw error;
  }
}

async function openPostgres(url: string, schema: string | undefined, options: OpenDatabaseOptions): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  // Room for a burst of decisions (each holds a connection for its transaction) beside the job
  // worker's concurrent jobs; pg's default of 10 starved the job claims under 30 concurrent clicks.
  const pool = new pg.Pool({ connectionString: connectionStringWithSearchPath(url, schema), max: 25 });
  pool.on("error", (err) => options.logger?.error({ err }, "idle PostgreSQL connection failed"));
  const onPgClient = async <T>(fn: (connection: MigrationConnection) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let failed = false;
    try {
      return await fn(pgMigrationConnection(client, schema, options.logger));
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // After a failure the session may still hold the advisory lock or an aborted
      // transaction: discard the connection rather than hand it to the app.
      client.release(failed);
    }
  };
  try {
    if (options.migrate) {
      await onPgClient((connection) => applyMigrations({ connection, migrationsDir, ...loggerOption(options) }));
    }
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : {}) });
    return {
      prisma,
      kind: "postgres",
      migrationsPending: () => onPgClient((connection) => listPendingMigrations(connection, migrationsDir)),
      ping: () => ping(prisma),
      close: once(async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await pool.end();
        }
      }),
    };
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

/** Makes `close()` safe to call twice (shutdown paths overlap). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

function loggerOption(options: OpenDatabaseOptions): { logger?: MigrationLogger } {
  return options.logger ? { logger: options.logger } : {};
}

async function ping(prisma: PrismaClient): Promise<boolean> {
  try {
    await prisma.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `?schema=x` is Prisma's convention, not libpq's: adapter-pg qualifies model queries with it,
 * but raw SQL and migrations use unqualified names, so every connection also gets
 * `search_path=x` as a startup option (it survives RESET/DISCARD, unlike a SET).
 */
export function connectionStringWithSearchPath(url: string, schema: string | undefined): string {
  const parsed = new URL(url);
  parsed.searchParams.delete("schema");
  if (schema) {
    const searchPath = `-c search_path=${quoteIdent(schema).replace(/[\\ ]/g, "\\$&")}`;
    const existing = parsed.searchParams.get("options");
    parsed.searchParams.set("options", existing ? `${existing} ${searchPath}` : searchPath);
  }
  return parsed.toString();
}

function pgMigrationConnection(client: pg.PoolClient, schema: string | undefined, logger?: DatabaseLogger): MigrationConnection {
  const session: MigrationSession = {
    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await client.query<Row>(sql, params)).rows;
    },
    async exec(script: string) {
      // No parameters: node-postgres sends a simple-protocol query, so a multi-statement
      // migration goes to the server as one piece, exactly like the Prisma engine sends it.
      await client.query(script);
    },
  };
  return {
    ...session,
    async transaction(fn) {
      await client.query("BEGIN");
      try {
        const result = await fn(session);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    },
    async withMigrationLock(fn) {
      const [attempt] = (await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [PRISMA_MIGRATE_ADVISORY_LOCK_KEY])).rows;
      if (!attempt?.locked) {
        logger?.info({}, "waiting for another process to finish migrating");
        await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_ADVISORY_LOCK_KEY]);
      }
      try {
        // Under the lock: concurrent CREATE SCHEMA IF NOT EXISTS can still collide. Only when it
        // is missing: even with IF NOT EXISTS it needs CREATE on the database, which the owner
        // role of a schema made by `accessbot db setup-roles` does not have.
        if (schema) {
          const { rows } = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
          if (rows.length === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        }
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_ADVISORY_LOCK_KEY]).catch(() => {});
      }
    },
  };
}

function pgliteMigrationConnection(db: PGlite): MigrationConnection {
  const sessionOf = (q: PGlite | PGliteTransaction): MigrationSession => ({
    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await q.query<Row>(sql, params)).rows;
    },
    async exec(script: string) {
      await q.exec(script);
    },
  });
  return {
    ...sessionOf(db),
    transaction: (fn) => db.transaction((tx) => fn(sessionOf(tx))),
    // One process per data directory (the lock file) and one connection: nothing to serialize.
    withMigrationLock: (fn) => fn(),
  };
}
