// Streams ledger rows out of the database in seq order, a page at a time.
//
// Keyset pagination (`WHERE seq > $last ORDER BY seq LIMIT n`) rather than OFFSET or one big
// SELECT: every page is an index range scan that costs the same at seq 1 and at seq 10^7,
// memory stays at one or two pages whatever the ledger's size, and an append-only table needs
// no snapshot for it to be complete (rows committed while we read only show up at the end).
// The next page is requested as soon as the current one arrives, so the server reads and
// sends it while this process hashes the current one.
//
// Prisma or the driver? Measured here (2 cores shared with PostgreSQL 15, ~900-byte bodies,
// the full verify including sha256 and JSON.parse of every body, runs alternating): on
// 200,000 entries, 5 runs each, node-postgres with array rows took a median 2.57 s and
// Prisma's $queryRawUnsafe 2.79 s, about 8 % more; on 1,000,000 entries (bench/RESULTS.md,
// 3 runs each) 10.7 s against 11.8 s, about 10 % more. Prisma's row mapping is not the
// bottleneck: receiving ~1 KB per row (~4 µs) and checking it (~6 µs: sha256, JSON.parse)
// are. The CLI still reads PostgreSQL through its own node-postgres connection: it is the
// (slightly) faster path, takes no slot of the pool, and is set read-only. PGlite, a single
// in-process connection, is read through Prisma. Both use this code, via a LedgerQuery.
//
// Verification no longer iterates these pages on node-postgres: verifyLedger recognises rows
// read through createPgLedgerQuery and reads the same rows with one binary COPY, checked by
// worker threads (src/audit/verify-ledger-copy.ts; 2026-12-02 figures in bench/RESULTS.md).
// Exports, filtered reads and Prisma (PGlite) still use the pages.
//
// `seq` is selected as text and `ts` as the exact ISO string the body carries, so the row
// can be compared with the hashed body without Date or BigInt round trips in the driver.
// ORDER BY names the table column: the select-list alias `seq` is text, and ordering by it
// would sort "10" before "9".
import { pgClientOf, type LedgerQuery } from "./ledger-query.js";
import type pg from "pg";
import type { LedgerRecord } from "../ledger/ledger-record.js";

export interface LedgerRowFilter {
  /** ts >= since */
  since?: Date;
  /** ts < until (callers turn an inclusive date into the next midnight) */
  until?: Date;
  resource?: string;
  /** Actor or subject. */
  userId?: string;
  requestId?: string;
}

export interface ReadLedgerRowsOptions {
  /** Start after this seq (default 0: from the beginning). */
  afterSeq?: bigint;
  /** Stop after this seq (inclusive). */
  upToSeq?: bigint;
  filter?: LedgerRowFilter;
  pageSize?: number;
}

export const DEFAULT_PAGE_SIZE = 5000;

const COLUMNS = `seq::text AS seq, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, type, request_id, actor_id, subject_id, resource, body, prev_hash, hash`;

/** What verifyLedger needs to read the same rows with COPY instead (src/audit/verify-ledger-copy.ts). */
export interface CopyableLedgerRows {
  client: pg.ClientBase;
  afterSeq?: bigint;
  upToSeq?: bigint;
}

export const COPYABLE_ROWS = Symbol("accessbot.copyableLedgerRows");

/**
 * Yields pages (arrays) of rows in ascending seq order until the table (or `upToSeq`) is
 * exhausted. Pages rather than single rows: an await per row would cost more than hashing
 * the row. Breaking out of the loop stops the reads.
 */
export function readLedgerRows(query: LedgerQuery, options: ReadLedgerRowsOptions = {}): AsyncGenerator<LedgerRecord[], void, undefined> & { [COPYABLE_ROWS]?: CopyableLedgerRows } {
  const rows = readPages(query, options);
  const client = pgClientOf(query);
  // Unfiltered rows over node-postgres: verifyLedger, handed this, verifies with one COPY and
  // worker threads instead of iterating (the generator then never starts, so nothing is read twice).
  if (client && options.filter === undefined) return Object.assign(rows, { [COPYABLE_ROWS]: { client, afterSeq: options.afterSeq, upToSeq: options.upToSeq } });
  return rows;
}

async function* readPages(query: LedgerQuery, options: ReadLedgerRowsOptions): AsyncGenerator<LedgerRecord[], void, undefined> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  const { where, params } = buildWhere(options);
  const sql = `SELECT ${COLUMNS} FROM ledger_entry WHERE ledger_entry.seq > $1::bigint${where} ORDER BY ledger_entry.seq LIMIT ${pageSize}`;
  const fetchAfter = (seq: string) => query(sql, [seq, ...params]).then((rows) => rows.map(toLedgerRecord));

  let pending: Promise<LedgerRecord[]> | null = fetchAfter((options.afterSeq ?? 0n).toString());
  try {
    while (pending) {
      const page: LedgerRecord[] = await pending;
      pending = null;
      if (page.length === 0) return;
      // A short page is the last one; otherwise ask for the next before handing this one out.
      if (page.length === pageSize) {
        pending = fetchAfter(page[page.length - 1]!.seq.toString());
        // Consumers may stop early; an unobserved rejection must not crash the process.
        pending.catch(() => undefined);
      }
      yield page;
    }
  } finally {
    // Let an in-flight prefetch finish before the caller closes the connection under it.
    if (pending) await pending.catch(() => undefined);
  }
}

function buildWhere(options: ReadLedgerRowsOptions): { where: string; params: string[] } {
  const params: string[] = [];
  const clauses: string[] = [];
  const param = (value: string, cast = "") => {
    params.push(value);
    return `$${params.length + 1}${cast}`;
  };
  const filter = options.filter ?? {};
  if (options.upToSeq !== undefined) clauses.push(`ledger_entry.seq <= ${param(options.upToSeq.toString(), "::bigint")}`);
  if (filter.since) clauses.push(`ts >= ${param(filter.since.toISOString(), "::timestamptz")}`);
  if (filter.until) clauses.push(`ts < ${param(filter.until.toISOString(), "::timestamptz")}`);
  if (filter.resource !== undefined) clauses.push(`resource = ${param(filter.resource)}`);
  if (filter.requestId !== undefined) clauses.push(`request_id = ${param(filter.requestId)}`);
  if (filter.userId !== undefined) {
    const user = param(filter.userId);
    clauses.push(`(actor_id = ${user} OR subject_id = ${user})`);
  }
  return { where: clauses.map((clause) => ` AND ${clause}`).join(""), params };
}

function toLedgerRecord(row: unknown[]): LedgerRecord {
  return {
    seq: BigInt(row[0] as string),
    ts: row[1] as string,
    type: row[2] as string,
    requestId: row[3] as string | null,
    actorId: row[4] as string | null,
    subjectId: row[5] as string | null,
    resource: row[6] as string | null,
    body: row[7] as string,
    prevHash: row[8] as string,
    hash: row[9] as string,
  };
}
