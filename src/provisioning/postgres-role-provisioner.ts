import pg from "pg";
import { z } from "zod";
import type { ProvisionContext, Provisioner, ProvisionResult } from "../domain/ports.js";
import { envVarName, ProvisionerConfigError, type ProvisionerType } from "./provisioner-type.js";

const TYPE = "postgres-role";
const DEFAULT_TIMEOUT_SECONDS = 10;
/** PostgreSQL truncates longer names (NAMEDATALEN - 1), so a longer one could never match. */
const MAX_IDENTIFIER_BYTES = 63;
/** The bootstrap superuser; PostgreSQL 16+ records it as the grantor of a superuser's GRANT. */
const BOOTSTRAP_SUPERUSER_OID = 10;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

const identifier = (what: string) =>
  z
    .string({ error: `expected the name of a ${what}` })
    .min(1, { error: `the ${what} name is empty` })
    .refine((name) => Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES, { error: `a PostgreSQL ${what} name has at most ${MAX_IDENTIFIER_BYTES} bytes` })
    .refine((name) => !name.includes("\0"), { error: `a PostgreSQL ${what} name cannot contain a NUL character` });

export interface PostgresRoleOptions extends Record<string, unknown> {
  /** The environment variable holding the target database's connection string. */
  connectionEnv: string;
  role: string;
  /** Slack user id → database login. */
  logins: Record<string, string>;
  /** Bounds connecting and each statement on the server side; the caller's signal bounds the whole call. */
  timeoutSeconds: number;
}

/** What grant() returns as state, so revoke() undoes exactly what grant() did. */
interface PostgresRoleState {
  /** The login was a direct member before the bot granted anything: revoke leaves it. */
  preexisting: boolean;
  role?: string;
  login?: string;
}

/** `"name"` with embedded double quotes doubled: safe for any role name PostgreSQL accepts. */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) throw new Error("a PostgreSQL identifier cannot contain a NUL character");
  return `"${name.replaceAll('"', '""')}"`;
}

export const postgresRoleProvisionerType: ProvisionerType<PostgresRoleOptions> = {
  type: TYPE,
  optionsShape: {
    connection_env: envVarName,
    role: identifier("role"),
    logins: z
      .record(z.string(), identifier("login"), { error: "expected a map of Slack user id → database login" })
      .superRefine((logins, ctx) => {
        // Checked here rather than by the record's key schema, whose issue would only say "Invalid key in record".
        for (const userId of Object.keys(logins)) {
          if (!SLACK_USER_ID.test(userId)) ctx.addIssue({ code: "custom", path: [userId], message: `'${userId}' is not a Slack user id (like U012AB3CD)` });
        }
        if (Object.keys(logins).length === 0) ctx.addIssue({ code: "custom", message: "map at least one Slack user id to a database login" });
      }),
  },
  toOptions(file) {
    return {
      connectionEnv: file.connection_env as string,
      role: file.role as string,
      logins: { ...(file.logins as Record<string, string>) },
      // The policy loader passes the resource's `timeout` in seconds (default applied) alongside our keys.
      timeoutSeconds: typeof file.timeout === "number" ? file.timeout : DEFAULT_TIMEOUT_SECONDS,
    };
  },
  defaultTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  create(options, deps, resourceId) {
    const connectionString = deps.env[options.connectionEnv];
    if (!connectionString) {
      throw new ProvisionerConfigError(
        `resource ${resourceId}: provisioner ${TYPE} needs the environment variable ${options.connectionEnv} (the connection string of the target database); it is not set`,
      );
    }
    if (!/^postgres(ql)?:\/\//.test(connectionString)) {
      // The value is a secret: say what is wrong with it, never what it is.
      throw new ProvisionerConfigError(
        `resource ${resourceId}: provisioner ${TYPE}: the environment variable ${options.connectionEnv} must be a postgresql:// connection string`,
      );
    }
    return new PostgresRoleProvisioner(resourceId, options, connectionString);
  },
};

/**
 * Grants and revokes direct membership of one PostgreSQL role. Each call opens its own
 * connection, does its work in one transaction, and closes it; an aborted call destroys the
 * connection, so the server rolls back whatever had not been committed.
 *
 * A membership the login had before the grant is never revoked. The state returned by
 * grant() says whose a membership is; where no state was recorded (a retry after a lost
 * answer, a clean-up after failed attempts) the membership's grantor decides: one granted by
 * the bot's own database user is the bot's. Connect as a dedicated user (holding the role
 * WITH ADMIN OPTION) so that grantor means something; with a shared superuser it cannot tell.
 */
export class PostgresRoleProvisioner implements Provisioner {
  constructor(
    private readonly resourceId: string,
    private readonly options: PostgresRoleOptions,
    private readonly connectionString: string,
  ) {}

  refusal(userId: string): string | null {
    if (Object.hasOwn(this.options.logins, userId)) return null;
    return `You have no database login mapped for \`${this.resourceId}\` (${TYPE} provisioner): ask a policy owner to add your Slack user id under \`logins\`.`;
  }

  async grant(context: ProvisionContext): Promise<ProvisionResult> {
    const role = this.options.role;
    const login = this.loginOf(context.user.id);
    const previous = readState(context.state);
    return this.withTransaction(context.signal, async (client) => {
      await this.requireRoles(client, role, login);
      const membership = await directMembership(client, role, login);
      if (membership) {
        // Already a member. Who put them there decides whether revoke() may take it away.
        const botAddedBefore = previous !== null && !previous.preexisting && (previous.role ?? role) === role && (previous.login ?? login) === login;
        // A retry whose earlier attempt may have committed its GRANT and then lost the answer:
        // a membership granted by the bot's own database user is taken to be that GRANT, so the
        // access is removed at the end (rather than kept forever).
        const ownEarlierAttempt = previous === null && context.attempt > 1 && membership.grantedByMe;
        const preexisting = !botAddedBefore && !ownEarlierAttempt;
        return {
          state: { preexisting, role, login } satisfies PostgresRoleState,
          detail: { role, login, action: preexisting ? "kept existing membership" : "already granted" },
        };
      }
      await client.query(`GRANT ${quoteIdent(role)} TO ${quoteIdent(login)}`);
      return { state: { preexisting: false, role, login } satisfies PostgresRoleState, detail: { role, login, action: "granted" } };
    });
  }

  async revoke(context: ProvisionContext): Promise<ProvisionResult> {
    const previous = readState(context.state);
    // Revoke what was granted, even if the policy has been edited since.
    const role = previous?.role ?? this.options.role;
    const login = previous?.login ?? this.loginOf(context.user.id);
    if (previous?.preexisting) {
      return { state: null, detail: { role, login, action: "kept: the login was a member before the grant" } };
    }
    return this.withTransaction(context.signal, async (client) => {
      const existing = await existingRoles(client, [role, login]);
      // Without the role or the login there is no membership left to remove.
      if (!existing.has(role) || !existing.has(login)) {
        return { state: null, detail: { role, login, action: `nothing to revoke: ${!existing.has(role) ? "role" : "login"} does not exist` } };
      }
      if (previous === null) {
        // No grant was ever recorded (a clean-up after failed attempts, or a repeat of a revoke):
        // only a membership the bot's own database user granted can be the bot's doing.
        const membership = await directMembership(client, role, login);
        if (!membership) return { state: null, detail: { role, login, action: "nothing to revoke: not a member" } };
        if (!membership.grantedByMe) return { state: null, detail: { role, login, action: "kept: no grant recorded and the membership was granted by someone else" } };
      }
      // Revoking a membership that is already gone is only a WARNING in PostgreSQL.
      await client.query(`REVOKE ${quoteIdent(role)} FROM ${quoteIdent(login)}`);
      return { state: null, detail: { role, login, action: "revoked" } };
    });
  }

  private loginOf(userId: string): string {
    const login = Object.hasOwn(this.options.logins, userId) ? this.options.logins[userId] : undefined;
    if (login === undefined) throw new Error(`no database login is mapped for Slack user ${userId} under \`logins\` of resource ${this.resourceId}`);
    return login;
  }

  private async requireRoles(client: pg.Client, role: string, login: string): Promise<void> {
    const existing = await existingRoles(client, [role, login]);
    if (!existing.has(role)) throw new Error(`role "${role}" does not exist on the target database of resource ${this.resourceId}: create it, or fix \`role\` in the policy`);
    if (!existing.has(login)) throw new Error(`login "${login}" does not exist on the target database of resource ${this.resourceId}: create it, or fix \`logins\` in the policy`);
  }

  private async withTransaction(signal: AbortSignal, work: (client: pg.Client) => Promise<ProvisionResult>): Promise<ProvisionResult> {
    if (signal.aborted) throw abandoned();
    const timeoutMs = this.options.timeoutSeconds * 1000;
    const client = new pg.Client({
      connectionString: this.connectionString,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      lock_timeout: timeoutMs,
      application_name: "accessbot",
    });
    // Without a listener, an error on an idle client (the server going away) would crash the process.
    client.on("error", () => undefined);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        // Closing the socket makes the server roll the open transaction back.
        client.connection.stream.destroy();
        reject(abandoned());
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([aborted, this.run(client, work)]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
      // After an abort the socket is already destroyed; waiting for a clean end could hang.
      if (!signal.aborted) await client.end().catch(() => undefined);
    }
  }

  private async run(client: pg.Client, work: (client: pg.Client) => Promise<ProvisionResult>): Promise<ProvisionResult> {
    try {
      await client.connect();
    } catch (error) {
      throw new Error(`could not connect to the target database of resource ${this.resourceId}: ${describe(error)}`);
    }
    await client.query("BEGIN");
    try {
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      if (error instanceof pg.DatabaseError) throw new Error(`the target database of resource ${this.resourceId} refused: ${error.message}`);
      throw error;
    }
  }
}

async function existingRoles(client: pg.Client, names: string[]): Promise<Set<string>> {
  const result = await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])", [names]);
  return new Set(result.rows.map((row) => row.rolname));
}

/** The login's direct membership of the role (indirect ones are not ours to grant or revoke). */
async function directMembership(client: pg.Client, role: string, login: string): Promise<{ grantedByMe: boolean } | null> {
  const result = await client.query<{ granted_by_me: boolean }>(
    `SELECT bool_or(m.grantor = me.oid OR (m.grantor = $3 AND me.rolsuper)) AS granted_by_me
       FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid
       JOIN pg_roles l ON l.oid = m.member
       JOIN pg_roles me ON me.rolname = current_user
      WHERE r.rolname = $1 AND l.rolname = $2
      HAVING count(*) > 0`,
    [role, login, BOOTSTRAP_SUPERUSER_OID],
  );
  const row = result.rows[0];
  return row ? { grantedByMe: row.granted_by_me } : null;
}

function readState(state: unknown): PostgresRoleState | null {
  if (typeof state !== "object" || state === null) return null;
  const { preexisting, role, login } = state as Record<string, unknown>;
  if (typeof preexisting !== "boolean") return null;
  return { preexisting, ...(typeof role === "string" ? { role } : {}), ...(typeof login === "string" ? { login } : {}) };
}

function describe(error: unknown): string {
  // pg's connection errors name the host and port, never the password.
  return error instanceof Error ? error.message : String(error);
}

function abandoned(): Error {
  return new Error(`${TYPE}: the call was abandoned (the provisioner's timeout ran out); the connection was closed`);
}
