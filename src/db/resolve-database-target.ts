import path from "node:path";

/**
 * Where the app keeps its data: embedded PGlite persisted in a directory (the default, so a
 * fresh checkout runs with no database server), or a real PostgreSQL server.
 * `dataDir` is absolute, or ":memory:" for a throw-away in-memory database.
 */
export type DatabaseTarget =
  | { kind: "pglite"; dataDir: string }
  | { kind: "postgres"; url: string; schema?: string };

/** Used when DATABASE_URL is unset; relative to the project directory. */
export const DEFAULT_PGLITE_DATA_DIR = ".data/pglite";

/**
 * The Prisma CLI only accepts postgres(ql):// URLs for a postgresql datasource, and hands the
 * URL verbatim to the schema engine, so PGlite is written as a PostgreSQL URL on a host that
 * cannot exist: `.invalid` is reserved (RFC 2606), so a tool that does not know this scheme
 * fails to resolve it instead of reaching some real server. prisma/engine/schema-engine.mjs
 * decodes the same form (it is plain JS and cannot import this file; keep the two in step).
 */
export const PGLITE_URL_HOST = "pglite.invalid";
const PGLITE_DATA_DIR_PARAM = "data_dir";
export const PGLITE_MEMORY = ":memory:";

export class DatabaseUrlError extends Error {
  readonly code = "DATABASE_URL_INVALID";
}

/**
 * Reads DATABASE_URL from `env`. Unset or empty means PGlite in `<baseDir>/.data/pglite`;
 * `postgresql://…` means PostgreSQL (`?schema=x` selects a schema); the PGlite URL form made
 * by {@link databaseTargetToUrl} is accepted too, so the CLI's URL can be pasted back.
 */
export function resolveDatabaseTarget(
  env: NodeJS.ProcessEnv = process.env,
  baseDir: string = process.cwd(),
): DatabaseTarget {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return { kind: "pglite", dataDir: path.resolve(baseDir, DEFAULT_PGLITE_DATA_DIR) };
  return parseDatabaseUrl(raw, baseDir);
}

export function parseDatabaseUrl(raw: string, baseDir: string = process.cwd()): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo the URL: it may carry a password.
    throw new DatabaseUrlError(
      "DATABASE_URL is not a valid URL. Use postgresql://user@host:5432/db, or unset it to use embedded PGlite in ./.data/pglite.",
    );
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new DatabaseUrlError(
      `DATABASE_URL uses the unsupported protocol "${url.protocol}". Use postgresql://user@host:5432/db, or unset it to use embedded PGlite in ./.data/pglite.`,
    );
  }
  if (url.hostname === PGLITE_URL_HOST) {
    const dataDir = url.searchParams.get(PGLITE_DATA_DIR_PARAM);
    if (!dataDir) {
      throw new DatabaseUrlError(
        `A PGlite DATABASE_URL needs ?${PGLITE_DATA_DIR_PARAM}=<directory>, e.g. postgresql://${PGLITE_URL_HOST}/pglite?${PGLITE_DATA_DIR_PARAM}=.data%2Fpglite`,
      );
    }
    return { kind: "pglite", dataDir: dataDir === PGLITE_MEMORY ? PGLITE_MEMORY : path.resolve(baseDir, dataDir) };
  }
  const schema = url.searchParams.get("schema") ?? undefined;
  return schema ? { kind: "postgres", url: raw, schema } : { kind: "postgres", url: raw };
}

/** The datasource URL handed to the Prisma CLI (prisma.config.ts). */
export function databaseTargetToUrl(target: DatabaseTarget): string {
  if (target.kind === "postgres") return target.url;
  const url = new URL(`postgresql://${PGLITE_URL_HOST}/pglite`);
  url.searchParams.set(PGLITE_DATA_DIR_PARAM, target.dataDir);
  return url.toString();
}

/** A description safe for logs: no password. */
export function describeDatabaseTarget(target: DatabaseTarget): string {
  if (target.kind === "pglite") {
    return target.dataDir === PGLITE_MEMORY ? "PGlite (in memory)" : `PGlite at ${target.dataDir}`;
  }
  const url = new URL(target.url);
  const schema = target.schema ? `, schema ${target.schema}` : "";
  return `PostgreSQL ${url.hostname}:${url.port || "5432"}${url.pathname}${schema}`;
}
