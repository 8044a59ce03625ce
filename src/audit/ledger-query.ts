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
  return async (sql, params) => (await client.query<unknown[]>({ text: sql, values: [...params], rowMode: "array" })).rows;
}
