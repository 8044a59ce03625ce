import type pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";

/**
 * Runs one read-only SQL statement with PostgreSQL-style `$n` parameters and returns its rows
 * as arrays, in select-list order. Parameters are strings (cast in the SQL), which both
 * drivers pass through unchanged.
 */
export type LedgerQuery = (sql: string, params: readonly string[]) => Promise<unknown[][]>;

/** Through Prisma's raw query: works on PGlite and PostgreSQL alike. */
export function createPrismaLedgerQuery(prisma: PrismaClient): LedgerQuery {
  return async (sql, params) => {
    const rows = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...params);
    return rows.map((row) => Object.values(row));
  };
}

/**
 * Straight through node-postgres, rows as arrays: no per-row object building and no result
 * type mapping (measured in src/audit/read-ledger-rows.ts).
 */
export function createPgLedgerQuery(client: pg.ClientBase): LedgerQuery {
  const query: LedgerQuery = async (sql, params) => (await client.query<unknown[]>({ text: sql, values: [...params], rowMode: "array" })).rows;
  pgClients.set(query, client);
  return query;
}

// Which queries have a node-postgres connection behind them: verification then streams the
// ledger with COPY (src/audit/verify-ledger-copy.ts) while callers keep passing a LedgerQuery.
const pgClients = new WeakMap<LedgerQuery, pg.ClientBase>();

/** The node-postgres connection behind a query from createPgLedgerQuery, if it is one. */
export function pgClientOf(query: LedgerQuery): pg.ClientBase | undefined {
  return pgClients.get(query);
}
