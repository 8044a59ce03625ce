import type { PrismaClient } from "../generated/prisma/client.js";
import type { OperationalGauges } from "../metrics/bot-metrics.js";

/**
 * The database half of /metrics, in two statements. `sinks` are the configured audit sinks:
 * one that has never delivered has no cursor row yet and is the whole ledger behind.
 */
export async function readOperationalGauges(prisma: PrismaClient, sinks: readonly string[], now: Date): Promise<OperationalGauges> {
  const [row] = await prisma.$queryRaw<Array<{ grants_active: number; requests_pending: number; head: bigint; oldest_due: Date | null; jobs_due: number }>>`
    SELECT
      (SELECT count(*) FROM "grant" WHERE status = 'ACTIVE')::int AS grants_active,
      (SELECT count(*) FROM access_request WHERE status = 'PENDING')::int AS requests_pending,
      (SELECT coalesce(max(seq), 0) FROM ledger_entry)::bigint AS head,
      (SELECT min(run_at) FROM job WHERE done_at IS NULL AND run_at <= ${now}) AS oldest_due,
      (SELECT count(*) FROM job WHERE done_at IS NULL AND run_at <= ${now})::int AS jobs_due`;
  const cursors = await prisma.auditSinkCursor.findMany({ select: { sink: true, deliveredSeq: true } });
  const head = Number(row!.head);
  const delivered = new Map(cursors.map((cursor) => [cursor.sink, Number(cursor.deliveredSeq)]));
  return {
    grantsActive: row!.grants_active,
    requestsPending: row!.requests_pending,
    ledgerHeadSeq: head,
    jobLagSeconds: row!.oldest_due ? Math.max(0, (now.getTime() - row!.oldest_due.getTime()) / 1000) : 0,
    jobsDue: row!.jobs_due,
    sinks: sinks.map((sink) => ({ sink, entriesBehind: Math.max(0, head - (delivered.get(sink) ?? 0)) })),
  };
}
