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
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_KEY}::bigint)`;
  const head = await tx.ledgerEntry.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true, ts: true } });
  const seq = (head?.seq ?? 0n) + 1n;
  const prevHash = head?.hash ?? GENESIS_HASH;
  // `at` was read before the lock was ours; never let time run backwards along the chain.
  const ts = head && head.ts.getTime() > at.getTime() ? head.ts : at;
  const body = canonicalJson(buildEntryBody(event, seq, ts));
  const hash = computeEntryHash(prevHash, body);
  await tx.ledgerEntry.create({
    data: {
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
    },
  });
  return { seq, hash };
}
