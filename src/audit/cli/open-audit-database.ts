import fs from "node:fs";
import pg from "pg";
import { PgliteLockedError } from "../../db/acquire-pglite-lock.js";
import { connectionStringWithSearchPath, openDatabase, type Database } from "../../db/open-database.js";
import { DatabaseUrlError, describeDatabaseTarget, PGLITE_MEMORY, resolveDatabaseTarget } from "../../db/resolve-database-target.js";
import type { PrismaClient } from "../../generated/prisma/client.js";
import { createPgLedgerQuery, createPrismaLedgerQuery, type LedgerQuery } from "../ledger-query.js";
import { AuditCliError } from "./audit-cli-error.js";

export interface AuditDatabase {
  prisma: PrismaClient;
  /** The fast path for streaming ledger rows (see src/audit/read-ledger-rows.ts). */
  query: LedgerQuery;
  /** "PostgreSQL host:5432/db, schema x" or "PGlite at …", without any password. */
  description: string;
  close(): Promise<void>;
}

export interface OpenAuditDatabaseOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** An already open database (tests, embedding): used as is and not closed. */
  database?: Database;
}

/**
 * Opens the bot's database for reading, found exactly as the bot finds it (DATABASE_URL, or
 * the embedded PGlite directory). Never migrates: an audit must not change what it audits,
 * so a database with pending migrations is refused with the command that fixes it.
 */
export async function openAuditDatabase(options: OpenAuditDatabaseOptions): Promise<AuditDatabase> {
  if (options.database) {
    const database = options.database;
    await refuseIfMigrationsPending(database);
    return { prisma: database.prisma, query: createPrismaLedgerQuery(database.prisma), description: `the given ${database.kind} database`, close: async () => {} };
  }

  let target;
  try {
    target = resolveDatabaseTarget(options.env, options.cwd);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new AuditCliError(error.message);
    throw error;
  }
  const description = describeDatabaseTarget(target);
  if (target.kind === "pglite" && target.dataDir !== PGLITE_MEMORY && !fs.existsSync(target.dataDir)) {
    throw new AuditCliError(
      `There is no database at ${target.dataDir} (${options.env.DATABASE_URL?.trim() ? "the PGlite directory DATABASE_URL names" : "DATABASE_URL is unset, so the embedded PGlite default is used"}). Run the audit in the bot's directory, or set DATABASE_URL as the bot has it.`,
    );
  }

  let database: Database;
  try {
    // Beside a running bot on PGlite, the audit reads through the bot's own database server.
    database = await openDatabase({ target, migrate: false, shareWithRunningBot: true });
  } catch (error) {
    if (error instanceof PgliteLockedError) throw new AuditCliError(`${error.message} (The process holding it serves no database to local tools: if it is an \`accessbot db\` command, wait for it to finish; if it is a bot of an older version, stop it for the audit.)`);
    throw new AuditCliError(`Cannot open ${description}: ${(error as Error).message}`);
  }
  try {
    await refuseIfMigrationsPending(database);
  } catch (error) {
    await database.close().catch(() => {});
    if (error instanceof AuditCliError) throw error;
    throw new AuditCliError(`Cannot read ${description}: ${(error as Error).message}`);
  }
  if (target.kind === "pglite") {
    return { prisma: database.prisma, query: createPrismaLedgerQuery(database.prisma), description, close: () => database.close() };
  }

  // A dedicated driver connection for the stream (no pool slot, no Prisma row mapping), set
  // read-only so that nothing an audit runs can write.
  const client = new pg.Client({ connectionString: connectionStringWithSearchPath(target.url, target.schema), application_name: "accessbot-audit" });
  try {
    await client.connect();
    await client.query("SET default_transaction_read_only = on");
  } catch (error) {
    await client.end().catch(() => {});
    await database.close().catch(() => {});
    throw new AuditCliError(`Cannot connect to ${description}: ${(error as Error).message}`);
  }
  client.on("error", () => undefined);
  return {
    prisma: database.prisma,
    query: createPgLedgerQuery(client),
    description,
    async close() {
      await client.end().catch(() => {});
      await database.close();
    },
  };
}

async function refuseIfMigrationsPending(database: Database): Promise<void> {
  const pending = await database.migrationsPending();
  if (pending.length === 0) return;
  throw new AuditCliError(
    `The database has ${pending.length} migration${pending.length === 1 ? "" : "s"} not applied yet (${pending.join(", ")}). The audit tools only read and never change the schema: run \`npx prisma migrate deploy\` (or start the bot once), then run the audit again.`,
  );
}
