import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client.js";
import { acquirePgliteLock, PgliteLockedError } from "./acquire-pglite-lock.js";
import {
  applyMigrations,
  listPendingMigrations,
  PRISMA_MIGRATE_ADVISORY_LOCK_KEY,
  type MigrationConnection,
  type MigrationLogger,
  type MigrationSession,
} from "./apply-migrations.js";
import { PGLITE_MEMORY, type DatabaseTarget } from "./resolve-database-target.js";
import { PGLITE_SOCKET_PORT, readPgliteServerInfo, startPgliteServer, type PgliteServer, type PgliteServerInfo } from "./start-pglite-server.js";

export type DatabaseLogger = MigrationLogger;

/**
 * Where the ack thread records an interaction before acking it: on PostgreSQL the inbox row
 * itself, through its own small pool; on PGlite a journal file (one session: a row would wait
 * behind the bot's open transaction). Null for a database the bot does not own.
 */
export type DurableInboxTarget = { kind: "table"; pool: { connectionString: string } } | { kind: "journal"; path: string } | null;

export interface Database {
  prisma: PrismaClient;
  kind: "pglite" | "postgres";
  durableInbox: DurableInboxTarget;
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
  /**
   * PGlite only: when a running bot holds the directory, connect to the database it serves
   * instead of refusing (the read-only tools beside the bot). Never set by `start`.
   */
  shareWithRunningBot?: boolean;
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
  const inMemory = dataDir === PGLITE_MEMORY;
  // The lock comes first: opening the directory is itself a write.
  let releaseLock: () => void;
  try {
    releaseLock = inMemory ? () => {} : acquirePgliteLock(dataDir);
  } catch (error) {
    // A tool beside the running bot reaches its database through the bot's own server rather
    // than a second copy; the lock still keeps a second bot out. (Only the bot's OS user can
    // reach the socket: its directory is 0700.)
    const running = options.shareWithRunningBot && error instanceof PgliteLockedError ? readPgliteServerInfo(dataDir) : null;
    if (!running || running.pid !== (error as PgliteLockedError).holderPid) throw error;
    return openPool(pgliteClientPool(running), "pglite", undefined, { ...options, migrate: false }, null, async () => {});
  }
  let server: PgliteServer | undefined;
  try {
    if (!inMemory) await fs.mkdir(dataDir, { recursive: true });
    server = await startPgliteServer(dataDir, (message) => options.logger?.error({}, message));
    const running = server;
    return await openPool(pgliteClientPool(server), "pglite", undefined, options, { kind: "journal", path: path.join(server.runDir, "inbox.jsonl") }, async () => {
      try {
        await running.close();
      } finally {
        releaseLock();
      }
    });
  } catch (error) {
    await server?.close().catch(() => {});
    releaseLock();
    throw error;
  }
}

/**
 * PGlite is one session served by its own thread (start-pglite-server.ts): a client owns it
 * for a whole transaction, so a few connections are enough; more would only queue there.
 */
function pgliteClientPool(server: PgliteServerInfo): pg.Pool {
  return new pg.Pool({
    host: server.socketDir,
    port: PGLITE_SOCKET_PORT,
    user: "accessbot",
    database: "accessbot",
    password: server.password,
    max: 8,
    connectionTimeoutMillis: 30_000,
  });
}

async function openPostgres(url: string, schema: string | undefined, options: OpenDatabaseOptions): Promise<Database> {
  // Room for a burst of decisions (each holds a connection for its transaction) beside the job
  // worker's concurrent jobs; pg's default of 10 starved the job claims under 30 concurrent clicks.
  const connectionString = connectionStringWithSearchPath(url, schema);
  const pool = new pg.Pool({ connectionString, max: 25 });
  return openPool(pool, "postgres", schema, options, { kind: "table", pool: { connectionString } }, async () => {});
}

async function openPool(
  pool: pg.Pool,
  kind: Database["kind"],
  schema: string | undefined,
  options: OpenDatabaseOptions,
  durableInbox: DurableInboxTarget,
  closeServer: () => Promise<void>,
): Promise<Database> {
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  pool.on("error", (err) => options.logger?.error({ err }, "idle database connection failed"));
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
    const prisma = new PrismaClient({
      adapter: new PrismaPg(pool, schema ? { schema } : {}),
      // On PGlite transactions take turns on its one session, and Prisma counts that queueing
      // against maxWait, whose 2 s default made queued transactions fail under load.
      ...(kind === "pglite" ? { transactionOptions: { maxWait: PGLITE_TRANSACTION_MAX_WAIT_MS } } : {}),
    });
    return {
      prisma,
      kind,
      durableInbox,
      migrationsPending: () => onPgClient((connection) => listPendingMigrations(connection, migrationsDir)),
      ping: () => ping(prisma),
      close: once(async () => {
        try {
          await prisma.$disconnect();
          await pool.end();
        } finally {
          await closeServer();
        }
      }),
    };
  } catch (error) {
    await pool.end().catch(() => {});
    await closeServer().catch(() => {});
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
