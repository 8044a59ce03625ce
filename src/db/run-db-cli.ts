import fs from "node:fs";
import path from "node:path";
import type { CommandSpec } from "../cli/command-spec.js";
import { formatUsageError, parseCommandLine, UsageError } from "../cli/parse-command-line.js";
import { renderCommandHelp } from "../cli/render-command-help.js";
import { backupPglite, restorePglite, RestoreTargetNotEmptyError } from "./backup-pglite.js";
import pg from "pg";
import { MigrationFailedError, MigrationHistoryError, MigrationPermissionError } from "./apply-migrations.js";
import { connectionStringWithSearchPath, openDatabase } from "./open-database.js";
import { DatabaseUrlError, databaseTargetToUrl, describeDatabaseTarget, parseDatabaseUrl, PGLITE_MEMORY, resolveDatabaseTarget } from "./resolve-database-target.js";
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

const DB_EXIT_CODES: Array<[number, string]> = [
  [0, "done"],
  [1, "the database refused (or the backup/restore failed)"],
  [2, "bad arguments, or no database to work on (e.g. `db backup` on PostgreSQL: use pg_dump)"],
];

export const DB_SPEC: CommandSpec = {
  name: "db",
  usage: ["db <command> [options]"],
  description: "Set up, migrate, back up and restore the bot's database.",
  options: {},
  subcommands: [
    { name: "setup-roles", description: "PostgreSQL: an owner role for migrations and a runtime role for the bot" },
    { name: "migrate", description: "apply pending migrations to DATABASE_URL's database" },
    { name: "backup", description: "PGlite: a consistent copy of the embedded database, even while the bot runs" },
    { name: "restore", description: "PGlite: unpack a backup into a new data directory" },
  ],
  exitCodes: DB_EXIT_CODES,
};

export const SETUP_ROLES_SPEC: CommandSpec = {
  name: "db setup-roles",
  usage: ["db setup-roles [--admin-url URL] [--owner NAME] [--runtime NAME] [--schema NAME] [--print]"],
  description: `As a PostgreSQL administrator, create or update an owner role that owns the schema and runs the migrations, and a runtime role for the bot, which may append to the ledger but never change it (README, "Database roles"). Passwords come from ${OWNER_PASSWORD_ENV} and ${RUNTIME_PASSWORD_ENV} when set (sent as SCRAM verifiers); without ${OWNER_PASSWORD_ENV} the owner role is NOLOGIN (use SET ROLE). Safe to run again.`,
  options: {
    "admin-url": { type: "string", value: "URL", description: "an administrator's PostgreSQL URL (default DATABASE_URL)" },
    owner: { type: "string", value: "NAME", description: `the owner role (default ${DEFAULT_OWNER_ROLE})` },
    runtime: { type: "string", value: "NAME", description: `the runtime role (default ${DEFAULT_RUNTIME_ROLE})` },
    schema: { type: "string", value: "NAME", description: "the schema (default the URL's ?schema=, else public)" },
    print: { type: "boolean", description: "write the SQL instead of running it" },
  },
  exitCodes: DB_EXIT_CODES,
};

export const MIGRATE_SPEC: CommandSpec = {
  name: "db migrate",
  usage: ["db migrate"],
  description: "Apply pending migrations to DATABASE_URL's database, as the role it names (the owner).",
  options: {},
  exitCodes: DB_EXIT_CODES,
};

export const BACKUP_SPEC: CommandSpec = {
  name: "db backup",
  usage: ["db backup --out FILE"],
  description:
    "PGlite (DATABASE_URL unset or pglite:…): write a consistent copy of the embedded database to FILE (a gzipped tarball). Beside a running bot the bot itself takes the copy, between two transactions, and keeps serving; with nothing running this command takes the directory lock and copies it. On PostgreSQL, use pg_dump (the command is printed).",
  options: { out: { type: "string", value: "FILE", description: "where to write the backup (replaced if it exists; written aside and renamed when complete)" } },
  exitCodes: DB_EXIT_CODES,
};

export const RESTORE_SPEC: CommandSpec = {
  name: "db restore",
  usage: ["db restore --from FILE --data-dir DIR"],
  description: "Unpack a backup made by `accessbot db backup` into DIR, which must not exist or be empty (nothing is overwritten), and open it once to check it. The command prints the DATABASE_URL that names it.",
  options: {
    from: { type: "string", value: "FILE", description: "the backup file" },
    "data-dir": { type: "string", value: "DIR", description: "the new PGlite data directory" },
  },
  exitCodes: DB_EXIT_CODES,
};

type Out = { log(text: string): void; error(text: string): void };

/** `accessbot db …`; returns the exit code. */
export async function runDbCli(args: string[], out: Out, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Promise<number> {
  const [command, ...rest] = args;
  const spec = { "setup-roles": SETUP_ROLES_SPEC, migrate: MIGRATE_SPEC, backup: BACKUP_SPEC, restore: RESTORE_SPEC }[command ?? ""];
  try {
    if (!spec) {
      if (command === "help") {
        out.log(renderCommandHelp(DB_SPEC));
        return 0;
      }
      const parsed = command?.startsWith("-") ? parseCommandLine(DB_SPEC, args) : null;
      if (parsed?.help) {
        out.log(parsed.text);
        return 0;
      }
      throw new UsageError(command === undefined ? "db needs a command." : `Unknown command "db ${command}".`, DB_SPEC);
    }
    const parsed = parseCommandLine(spec, rest);
    if (parsed.help) {
      out.log(parsed.text);
      return 0;
    }
    switch (command) {
      case "setup-roles":
        return await setupRolesCommand(parsed.values as SetupRolesValues, out, env);
      case "migrate":
        return await migrateCommand(out, env);
      case "backup":
        return await backupCommand(parsed.values as { out?: string }, out, env, cwd);
      default:
        return await restoreCommand(parsed.values as { from?: string; "data-dir"?: string }, out);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(formatUsageError(error));
      return 2;
    }
    throw error;
  }
}

type SetupRolesValues = { "admin-url"?: string; owner?: string; runtime?: string; schema?: string; print?: boolean };

async function backupCommand(values: { out?: string }, out: Out, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  if (!values.out?.trim()) throw new UsageError("db backup needs --out FILE (where to write the backup).", BACKUP_SPEC);
  let target;
  try {
    target = resolveDatabaseTarget(env, cwd);
  } catch (error) {
    out.error((error as Error).message);
    return 2;
  }
  if (target.kind === "postgres") {
    const url = new URL(connectionStringWithSearchPath(target.url, undefined));
    const hadPassword = url.password !== "";
    url.password = "";
    const schema = target.schema ? ` --schema=${shellQuote(target.schema)}` : "";
    out.error(
      [
        `db backup copies the embedded PGlite database; ${describeDatabaseTarget(target)} is backed up with PostgreSQL's own tool, which takes a consistent snapshot while the bot runs:`,
        `  pg_dump --format=custom${schema} --file=${shellQuote(values.out)} ${shellQuote(url.toString())}`,
        `${hadPassword ? "(the password is left out: give it in PGPASSWORD or ~/.pgpass) " : ""}Restore it with pg_restore --dbname=URL ${shellQuote(values.out)}.`,
      ].join("\n"),
    );
    return 2;
  }
  if (target.dataDir === PGLITE_MEMORY) {
    out.error("DATABASE_URL names an in-memory PGlite database: it lives only inside the process that opened it, and there is nothing on disk to back up.");
    return 2;
  }
  if (!fs.existsSync(target.dataDir)) {
    out.error(`There is no database at ${target.dataDir}. Run the backup in the bot's directory, or set DATABASE_URL as the bot has it.`);
    return 2;
  }
  try {
    const result = await backupPglite(target.dataDir, path.resolve(cwd, values.out));
    const by = result.takenBy.kind === "running-bot" ? `taken by the running bot (pid ${result.takenBy.pid}), which kept serving` : "taken under the directory lock (no bot was running)";
    out.log(`Backed up ${describeDatabaseTarget(target)} to ${values.out} (${result.bytes.toLocaleString("en-US")} bytes), ${by}. Restore with: accessbot db restore --from ${values.out} --data-dir DIR`);
    return 0;
  } catch (error) {
    out.error(`db backup failed, no file was written: ${(error as Error).message}`);
    return 1;
  }
}

async function restoreCommand(values: { from?: string; "data-dir"?: string }, out: Out): Promise<number> {
  if (!values.from?.trim() || !values["data-dir"]?.trim()) throw new UsageError("db restore needs --from FILE (a backup) and --data-dir DIR (a new directory).", RESTORE_SPEC);
  try {
    await restorePglite(values.from, values["data-dir"]);
  } catch (error) {
    if (error instanceof RestoreTargetNotEmptyError) {
      out.error(error.message);
      return 2;
    }
    out.error(`db restore failed: ${(error as Error).message}`);
    return 1;
  }
  const url = databaseTargetToUrl({ kind: "pglite", dataDir: path.resolve(values["data-dir"]) });
  out.log(`Restored ${values.from} into ${values["data-dir"]}. Check it with: DATABASE_URL='${url}' accessbot audit verify`);
  return 0;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

async function setupRolesCommand(given: SetupRolesValues, out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const values = { ...given, owner: given.owner ?? DEFAULT_OWNER_ROLE, runtime: given.runtime ?? DEFAULT_RUNTIME_ROLE, print: given.print === true };
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

async function migrateCommand(out: Out, env: NodeJS.ProcessEnv): Promise<number> {
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
