import type { PrismaClient } from "../generated/prisma/client.js";
import { canonicalJson } from "./canonical-json.js";
import { buildEntryBody, computeEntryHash, GENESIS_HASH, type LedgerEventInput } from "./ledger-hash.js";

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

/**
 * Any constant works as long as every writer uses the same one; this is "ledger" in ASCII.
 * Held until the transaction ends, so the next append sees this one's hash: one chain, no
 * forks, no gaps, and a rolled-back transaction leaves no hole because the sequence number
 * is read from the table, not from a database sequence.
 */
export const LEDGER_LOCK_KEY = 0x6c6564676572;

/** Appends one hash-chained entry inside the caller's transaction. */
export async function appendLedgerEntry(tx: Tx, event: LedgerEventInput, at: Date): Promise<{ seq: bigint; hash: string }> {
  const [appended] = await appendLedgerEntries(tx, [{ event, at }]);
  return appended!;
}

/**
 * Appends entries, chained in order, inside the caller's transaction: the lock, the head and
 * one INSERT of every row, so a transaction holds the ledger's lock for three statements and
 * its commit, whatever else it did before.
 */
export async function appendLedgerEntries(tx: Tx, entries: ReadonlyArray<{ event: LedgerEventInput; at: Date }>): Promise<Array<{ seq: bigint; hash: string }>> {
  if (entries.length === 0) return [];
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_KEY}::bigint)`;
  // A statement of its own after the lock: in READ COMMITTED each statement takes a new
  // snapshot, so this one sees the append that held the lock before us.
  const head = await tx.ledgerEntry.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true, ts: true } });
  let seq = head?.seq ?? 0n;
  let prevHash = head?.hash ?? GENESIS_HASH;
  let previousTs = head?.ts ?? null;
  const rows = entries.map(({ event, at }) => {
    seq += 1n;
    // `at` was read before the lock was ours; never let time run backwards along the chain.
    const ts = previousTs && previousTs.getTime() > at.getTime() ? previousTs : at;
    const body = canonicalJson(buildEntryBody(event, seq, ts));
    const hash = computeEntryHash(prevHash, body);
    const row = {
      seq,
      ts,
      type: event.type,
      requestId: event.requestId ?? null,
      actorId: event.actor.user_id ?? null,
      subjectId: event.subjectId ?? null,
      resource: event.resource ?? null,
      body,
      prevHash,
      hash,
    };
    prevHash = hash;
    previousTs = ts;
    return row;
  });
  await tx.ledgerEntry.createMany({ data: rows });
  return rows.map((row) => ({ seq: row.seq, hash: row.hash }));
}
