import { parseArgs } from "node:util";
import pg from "pg";
import { MigrationFailedError, MigrationHistoryError, MigrationPermissionError } from "./apply-migrations.js";
import { connectionStringWithSearchPath, openDatabase } from "./open-database.js";
import { DatabaseUrlError, describeDatabaseTarget, parseDatabaseUrl, resolveDatabaseTarget } from "./resolve-database-target.js";
import {
  databaseRolesSql,
  DatabaseRolesError,
  DEFAULT_OWNER_ROLE,
  DEFAULT_RUNTIME_ROLE,
  OWNER_PASSWORD_ENV,
  quoteIdent,
  RUNTIME_PASSWORD_ENV,
  setupDatabaseRoles,
  type DatabaseRolesPlan,
} from "./setup-database-roles.js";

export const DB_USAGE = `Usage: accessbot db <command>

  setup-roles [--admin-url URL] [--owner NAME] [--runtime NAME] [--schema NAME] [--print]
      As a PostgreSQL administrator (--admin-url, default DATABASE_URL), create or update an
      owner role (default ${DEFAULT_OWNER_ROLE}) that owns the schema and runs the migrations, and a
      runtime role (default ${DEFAULT_RUNTIME_ROLE}) for the bot, which may append to the ledger but
      never change it. The schema defaults to the URL's ?schema=, else public. Passwords come
      from ${OWNER_PASSWORD_ENV} and ${RUNTIME_PASSWORD_ENV} when set (sent as SCRAM
      verifiers); without ${OWNER_PASSWORD_ENV} the owner role is NOLOGIN (use SET ROLE).
      --print writes the SQL instead of running it. Safe to run again.
  migrate
      Apply pending migrations to DATABASE_URL's database, as the role it names (the owner).

Exit codes: 0 done; 1 the database refused; 2 bad arguments or no database to work on.`;

type Out = { log(text: string): void; error(text: string): void };

/** `accessbot db …`; returns the exit code. */
export async function runDbCli(args: string[], out: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "setup-roles":
      return setupRolesCommand(rest, out, env);
    case "migrate":
      return migrateCommand(rest, out, env);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out.log(DB_USAGE);
      return command === undefined ? 2 : 0;
    default:
      out.error(`Unknown command "db ${command}".\n\n${DB_USAGE}`);
      return 2;
  }
}

async function setupRolesCommand(args: string[], out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "admin-url": { type: "string" },
        owner: { type: "string", default: DEFAULT_OWNER_ROLE },
        runtime: { type: "string", default: DEFAULT_RUNTIME_ROLE },
        schema: { type: "string" },
        print: { type: "boolean", default: false },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${DB_USAGE}`);
    return 2;
  }
  const adminUrl = values["admin-url"]?.trim() || env.DATABASE_URL?.trim() || "";
  let schema = values.schema;
  if (!values.print || !schema) {
    if (!adminUrl) {
      out.error(`db setup-roles needs an administrator's PostgreSQL URL: pass --admin-url postgresql://admin@host:5432/db or set DATABASE_URL${values.print ? " (or pass --schema to print without one)" : ""}.`);
      return 2;
    }
    let target;
    try {
      target = parseDatabaseUrl(adminUrl);
    } catch (error) {
      out.error((error as DatabaseUrlError).message.replace(/^DATABASE_URL/, "The administrator's URL"));
      return 2;
    }
    if (target.kind !== "postgres") {
      out.error("db setup-roles is for PostgreSQL: embedded PGlite has a single superuser and no roles to set up.");
      return 2;
    }
    schema ??= target.schema ?? "public";
  }
  const plan: DatabaseRolesPlan = {
    schema: schema!,
    owner: values.owner,
    runtime: values.runtime,
    ownerPassword: env[OWNER_PASSWORD_ENV] || null,
    runtimePassword: env[RUNTIME_PASSWORD_ENV] || null,
  };
  let sql: string;
  try {
    sql = databaseRolesSql(plan);
  } catch (error) {
    if (error instanceof DatabaseRolesError) {
      out.error(error.message);
      return 2;
    }
    throw error;
  }
  if (values.print) {
    out.log(sql.trimEnd());
    return 0;
  }
  try {
    for (const warning of await setupDatabaseRoles(adminUrl, plan)) out.error(`Warning: ${warning}`);
  } catch (error) {
    out.error(`db setup-roles failed, nothing was changed: ${(error as Error).message}`);
    return 1;
  }
  out.log(
    [
      `Roles ready on ${describeDatabaseTarget({ kind: "postgres", url: adminUrl, schema: plan.schema })}:`,
      `  owner   ${plan.owner} (${plan.ownerPassword ? "LOGIN, password from " + OWNER_PASSWORD_ENV : "NOLOGIN: reach it with SET ROLE, or ?options=-c%20role%3D" + encodeURIComponent(plan.owner) + " in an administrator's URL"}) owns schema ${quoteIdent(plan.schema)} and runs the migrations;`,
      `  runtime ${plan.runtime} (LOGIN${plan.runtimePassword ? ", password from " + RUNTIME_PASSWORD_ENV : ""}) runs the bot: SELECT and INSERT on ledger_entry, SELECT on ledger_checkpoint and _prisma_migrations, the other tables in full.`,
      "Next:",
      "  1. migrate as the owner:  DATABASE_URL=<owner url> npx accessbot db migrate   (or npx prisma migrate deploy)",
      "  2. run the bot as the runtime role, with ACCESSBOT_AUTO_MIGRATE=false:  DATABASE_URL=<runtime url> npm start",
    ].join("\n"),
  );
  return 0;
}

async function migrateCommand(args: string[], out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  if (args.length > 0) {
    out.error(`db migrate takes no arguments (it migrates DATABASE_URL's database).\n\n${DB_USAGE}`);
    return 2;
  }
  let target;
  try {
    target = resolveDatabaseTarget(env);
  } catch (error) {
    out.error((error as Error).message);
    return 2;
  }
  const warnings: string[] = [];
  const applied: string[] = [];
  const logger = {
    info(obj: object, msg?: string) {
      if (msg === "applied migration") applied.push((obj as { migration: string }).migration);
    },
    warn(obj: object, msg?: string) {
      warnings.push(`${msg ?? "warning"}${"migration" in obj ? `: ${String(obj.migration)}` : ""}`);
    },
    error() {},
  };
  if (target.kind === "postgres") {
    const owner = await schemaOwnerMismatch(target.url, target.schema).catch(() => null);
    if (owner) out.error(`Warning: connected as ${owner.role}, but schema ${quoteIdent(owner.schema)} belongs to ${owner.owner}; what this run creates will belong to ${owner.role}, not to the owner role. Migrate as the owner (its login, or ?options=-c%20role%3D${encodeURIComponent(owner.owner)}).`);
  }
  try {
    const db = await openDatabase({ target, migrate: true, logger });
    await db.close();
  } catch (error) {
    if (error instanceof MigrationPermissionError || error instanceof MigrationFailedError || error instanceof MigrationHistoryError) {
      out.error(error.message);
      return 1;
    }
    out.error(`Cannot migrate ${describeDatabaseTarget(target)}: ${(error as Error).message}`);
    return 1;
  }
  for (const warning of warnings) out.error(`Warning: ${warning}`);
  out.log(applied.length > 0 ? `Applied ${applied.length} migration(s) to ${describeDatabaseTarget(target)}: ${applied.join(", ")}` : `No pending migrations on ${describeDatabaseTarget(target)}.`);
  return 0;
}

/** The connected role, when the schema exists and belongs to another role (objects created now would not be the owner's). */
async function schemaOwnerMismatch(url: string, schema: string | undefined): Promise<{ role: string; schema: string; owner: string } | null> {
  const client = new pg.Client({ connectionString: connectionStringWithSearchPath(url, schema) });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; schema: string; owner: string }>(
      `SELECT current_user::text AS role, n.nspname::text AS schema, pg_get_userbyid(n.nspowner)::text AS owner
       FROM pg_namespace n WHERE n.nspname = current_schema()`,
    );
    const row = rows[0];
    // pg_database_owner owns public until setup-roles hands it over: nothing to warn about then.
    return row && row.owner !== row.role && row.owner !== "pg_database_owner" ? row : null;
  } finally {
    await client.end();
  }
}
