// `accessbot db setup-roles`: an owner role that owns the schema and runs the migrations, and a
// runtime role the bot runs as, which can append to the ledger but never change it.
//
// Why two roles: the ledger's triggers refuse UPDATE, DELETE and TRUNCATE, but the role that
// owns a table may disable or drop its triggers (no superuser needed). A bot that migrates its
// own schema owns it, so anyone holding the bot's credentials could rewrite the ledger. Run as
// the runtime role, the bot keeps exactly what it needs:
//   - SELECT, INSERT, UPDATE, DELETE on every table of the schema except the protected ones
//     (now and later: default privileges cover the tables the owner creates in future migrations);
//   - USAGE and SELECT on the sequences, EXECUTE on the functions;
//   - ledger_entry: SELECT and INSERT only (no UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER,
//     and it is not the owner, so no ALTER TABLE … DISABLE TRIGGER and no DROP TRIGGER);
//   - ledger_checkpoint: SELECT only; checkpoints are recorded by the SECURITY DEFINER function
//     accessbot_record_checkpoint (prisma/migrations/20261202090000_database_roles), which
//     refuses a (seq, hash) that is not an entry of the ledger;
//   - _prisma_migrations: SELECT only (health checks read it; only the owner writes it);
//   - USAGE on the schema and no CREATE: it cannot migrate, and says so (apply-migrations.ts).
//
// The statements are idempotent: run it again after adding roles, after a migration done by
// another role, or to adopt a schema an older version migrated as the bot's own role (every
// object in the schema is handed to the owner role).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import pg from "pg";
import { connectionStringWithSearchPath } from "./open-database.js";

export const DEFAULT_OWNER_ROLE = "accessbot_owner";
export const DEFAULT_RUNTIME_ROLE = "accessbot_app";
/** Read by `db setup-roles`: when set, the role may log in with this password. */
export const OWNER_PASSWORD_ENV = "ACCESSBOT_OWNER_PASSWORD";
export const RUNTIME_PASSWORD_ENV = "ACCESSBOT_RUNTIME_PASSWORD";

/** What the runtime role may do to each table; any other table gets {@link RUNTIME_STATE_TABLE_PRIVILEGES}. */
export const PROTECTED_TABLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  ledger_entry: ["SELECT", "INSERT"],
  ledger_checkpoint: ["SELECT"],
  _prisma_migrations: ["SELECT"],
};
export const RUNTIME_STATE_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;
export const CHECKPOINT_FUNCTION_SIGNATURE = "accessbot_record_checkpoint(BIGINT, TEXT, TEXT, TEXT, BOOLEAN)";

/** Serialises concurrent runs in one database ("roles" in ASCII). */
const SETUP_LOCK_KEY = 0x726f6c6573;

export interface DatabaseRolesPlan {
  schema: string;
  owner: string;
  runtime: string;
  /** Set: the owner role may log in with it. Unset: a new owner role is NOLOGIN (use SET ROLE). */
  ownerPassword?: string | null;
  /** Set: the runtime role's password becomes this. Unset: a new role has none (peer, cert, IAM…). */
  runtimePassword?: string | null;
}

export class DatabaseRolesError extends Error {
  readonly code = "DATABASE_ROLES_INVALID";
}

const IDENTIFIER_MAX_BYTES = 63;

/** Refuses names PostgreSQL would truncate or reserve, and an owner that is also the runtime role. */
export function checkDatabaseRolesPlan(plan: DatabaseRolesPlan): void {
  for (const [what, name] of [["--schema", plan.schema], ["--owner", plan.owner], ["--runtime", plan.runtime]] as const) {
    if (name.length === 0 || Buffer.byteLength(name) > IDENTIFIER_MAX_BYTES || name.includes("\0")) {
      throw new DatabaseRolesError(`${what} must be a name of 1 to ${IDENTIFIER_MAX_BYTES} bytes.`);
    }
    if (name.toLowerCase().startsWith("pg_")) throw new DatabaseRolesError(`${what} ${name} starts with pg_, which PostgreSQL reserves; pick another name.`);
  }
  if (plan.owner === plan.runtime) {
    throw new DatabaseRolesError(`--owner and --runtime are both ${plan.owner}: the runtime role must not own the tables, or it could disable the ledger's triggers.`);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, 4096 iterations,
 * as libpq's PQencryptPasswordConn computes it). Sending this instead of the password keeps the
 * clear text out of the server's statement log and out of `--print`.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password.normalize("NFKC"), "utf8"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/**
 * The whole setup as one SQL script (BEGIN … COMMIT), runnable with psql as an administrator.
 * `--print` shows exactly this; `setupDatabaseRoles` runs exactly this.
 */
export function databaseRolesSql(plan: DatabaseRolesPlan): string {
  checkDatabaseRolesPlan(plan);
  const schema = quoteIdent(plan.schema);
  const owner = quoteIdent(plan.owner);
  const runtime = quoteIdent(plan.runtime);
  const schemaLit = quoteLiteral(plan.schema);
  const ownerLit = quoteLiteral(plan.owner);
  const runtimeLit = quoteLiteral(plan.runtime);
  const grantFor = (table: string) => (PROTECTED_TABLE_PRIVILEGES[table] ?? RUNTIME_STATE_TABLE_PRIVILEGES).join(", ");
  const protectedCases = Object.keys(PROTECTED_TABLE_PRIVILEGES)
    .map((table) => `WHEN ${quoteLiteral(table)} THEN ${quoteLiteral(grantFor(table))}`)
    .join(" ");
  const protectedNames = Object.keys(PROTECTED_TABLE_PRIVILEGES).map(quoteLiteral).join(", ");
  const keptOnProtected = Object.entries(PROTECTED_TABLE_PRIVILEGES)
    .map(([table, privileges]) => `(c.relname = ${quoteLiteral(table)} AND acl.privilege_type IN (${privileges.map(quoteLiteral).join(", ")}))`)
    .join("\n        OR ");
  const password = (role: string, value: string | null | undefined) =>
    value ? `ALTER ROLE ${role} LOGIN PASSWORD ${quoteLiteral(scramSha256Verifier(value))};\n` : "";

  return `-- accessbot db setup-roles: owner role ${owner}, runtime role ${runtime}, schema ${schema}.
-- Run as a superuser (or an administrator that may create roles and is, or may become, a member
-- of the owner role). Idempotent.
BEGIN;
SELECT pg_advisory_xact_lock(${SETUP_LOCK_KEY});

-- 1. The roles. Neither may be a superuser or create roles (the runtime role could otherwise
--    make itself the owner), and the runtime role must not be a member of the owner role.
DO $setup$
DECLARE
  existing RECORD;
BEGIN
  FOR existing IN SELECT rolname, rolsuper, rolcreaterole, rolbypassrls, rolreplication FROM pg_roles WHERE rolname IN (${ownerLit}, ${runtimeLit}) LOOP
    IF existing.rolsuper OR existing.rolcreaterole OR existing.rolbypassrls OR existing.rolreplication THEN
      RAISE EXCEPTION 'accessbot: role % already exists and is a superuser or may create roles, bypass row security or replicate; name a dedicated role with --owner / --runtime', quote_ident(existing.rolname)
        USING ERRCODE = 'invalid_role_specification';
    END IF;
  END LOOP;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${ownerLit}) THEN
      CREATE ROLE ${owner} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created by a concurrent run
  END;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${runtimeLit}) THEN
      CREATE ROLE ${runtime} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  IF pg_has_role(${runtimeLit}, ${ownerLit}, 'MEMBER') THEN
    RAISE EXCEPTION 'accessbot: role % is a member of the owner role %, so it could act as the owner; REVOKE % FROM % first', ${runtimeLit}, ${ownerLit}, quote_ident(${ownerLit}), quote_ident(${runtimeLit})
      USING ERRCODE = 'invalid_grant_operation';
  END IF;
  -- An administrator that is not a superuser (a managed service's admin user) needs membership
  -- in the owner role to hand it the schema and to set its default privileges.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND NOT pg_has_role(current_user, ${ownerLit}, 'MEMBER') THEN
    EXECUTE format('GRANT %I TO %I', ${ownerLit}, current_user);
  END IF;
END
$setup$;
ALTER ROLE ${runtime} LOGIN;
${password(owner, plan.ownerPassword)}${password(runtime, plan.runtimePassword)}
-- 2. The schema belongs to the owner; the runtime role may use it but create nothing in it.
CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${owner};
ALTER SCHEMA ${schema} OWNER TO ${owner};
REVOKE CREATE ON SCHEMA ${schema} FROM PUBLIC;
REVOKE ALL ON SCHEMA ${schema} FROM ${runtime};
GRANT USAGE ON SCHEMA ${schema} TO ${runtime};

-- 3. Whatever is already in the schema (migrated earlier, perhaps by the bot's own role) is
--    handed to the owner: tables (with their sequences), standalone sequences, functions
--    (accessbot_record_checkpoint then runs with the owner's rights) and types.
DO $setup$
DECLARE
  ns CONSTANT oid := (SELECT oid FROM pg_namespace WHERE nspname = ${schemaLit});
  owner_id CONSTANT oid := (SELECT oid FROM pg_roles WHERE rolname = ${ownerLit});
  obj RECORD;
BEGIN
  FOR obj IN
    SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
    WHERE c.relnamespace = ns AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner <> owner_id
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, obj.name, ${ownerLit});
  END LOOP;
  FOR obj IN
    SELECT c.oid::regclass AS name FROM pg_class c
    WHERE c.relnamespace = ns AND c.relkind = 'S' AND c.relowner <> owner_id
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', obj.name, ${ownerLit});
  END LOOP;
  FOR obj IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p
    WHERE p.pronamespace = ns AND p.proowner <> owner_id
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, ${ownerLit});
  END LOOP;
  FOR obj IN
    SELECT t.oid::regtype AS name, t.typtype FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = ns AND t.typowner <> owner_id AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', CASE obj.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, obj.name, ${ownerLit});
  END LOOP;
END
$setup$;

-- 4. The runtime role's privileges on what exists now: every table but the protected ones
--    (${Object.keys(PROTECTED_TABLE_PRIVILEGES).join(", ")}) in full, those read-only (and INSERT on ledger_entry).
--    On the protected tables every other role but the owner keeps at most the same.
DO $setup$
DECLARE
  ns CONSTANT oid := (SELECT oid FROM pg_namespace WHERE nspname = ${schemaLit});
  obj RECORD;
BEGIN
  FOR obj IN SELECT c.oid::regclass AS name, c.relname FROM pg_class c WHERE c.relnamespace = ns AND c.relkind IN ('r', 'p') LOOP
    EXECUTE format('REVOKE ALL ON TABLE %s FROM %I', obj.name, ${runtimeLit});
    EXECUTE format('GRANT %s ON TABLE %s TO %I', CASE obj.relname ${protectedCases} ELSE ${quoteLiteral(RUNTIME_STATE_TABLE_PRIVILEGES.join(", "))} END, obj.name, ${runtimeLit});
  END LOOP;
  FOR obj IN
    SELECT c.oid::regclass AS name, acl.grantee, acl.privilege_type
    FROM pg_class c, aclexplode(c.relacl) acl
    WHERE c.relnamespace = ns AND c.relname IN (${protectedNames}) AND acl.grantee <> c.relowner
      AND NOT (${keptOnProtected})
  LOOP
    EXECUTE format('REVOKE %s ON TABLE %s FROM %s', obj.privilege_type, obj.name,
      CASE WHEN obj.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(obj.grantee)) END);
  END LOOP;
END
$setup$;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${runtime};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${runtime};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${runtime};

-- 5. And on what the owner creates later (future migrations). A new table that must be protected
--    like the ledger revokes what it must in its own migration.
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT ${RUNTIME_STATE_TABLE_PRIVILEGES.join(", ")} ON TABLES TO ${runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT EXECUTE ON FUNCTIONS TO ${runtime};

-- 6. The ledger's append-only triggers are on (whoever owned the tables before could have
--    disabled them); a missing one is reported, not silently accepted.
DO $setup$
DECLARE
  ns CONSTANT oid := (SELECT oid FROM pg_namespace WHERE nspname = ${schemaLit});
  expected RECORD;
BEGIN
  FOR expected IN
    SELECT c.oid::regclass AS tbl, want.tgname, t.tgenabled
    FROM (VALUES ('ledger_entry', 'ledger_entry_append_only'), ('ledger_entry', 'ledger_entry_no_truncate'),
                 ('ledger_checkpoint', 'ledger_checkpoint_append_only'), ('ledger_checkpoint', 'ledger_checkpoint_no_truncate')) AS want(relname, tgname)
    JOIN pg_class c ON c.relnamespace = ns AND c.relname = want.relname
    LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = want.tgname
  LOOP
    IF expected.tgenabled IS NULL THEN
      RAISE WARNING 'accessbot: trigger % on % is missing (dropped by its owner or a superuser); check the ledger with accessbot audit verify --checkpoint against the latest head in the audit channel', expected.tgname, expected.tbl;
    ELSIF expected.tgenabled <> 'O' THEN
      EXECUTE format('ALTER TABLE %s ENABLE TRIGGER %I', expected.tbl, expected.tgname);
    END IF;
  END LOOP;
END
$setup$;
COMMIT;
`;
}

/**
 * Runs {@link databaseRolesSql} on `adminUrl` (a `?schema=` in it is ignored; the plan names the
 * schema). Returns the warnings the server raised (a missing ledger trigger).
 */
export async function setupDatabaseRoles(adminUrl: string, plan: DatabaseRolesPlan): Promise<string[]> {
  const script = databaseRolesSql(plan);
  const client = new pg.Client({ connectionString: connectionStringWithSearchPath(adminUrl, undefined) });
  const warnings: string[] = [];
  client.on("notice", (notice) => {
    if ((notice as { severity?: string }).severity === "WARNING") warnings.push(notice.message ?? String(notice));
  });
  await client.connect();
  try {
    // One simple-protocol query: the script's own BEGIN … COMMIT makes it all or nothing.
    await client.query(script);
    return warnings;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}
