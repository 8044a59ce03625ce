import type { AlertStore, AlertToRaise } from "../domain/alert-store.js";
import { SYSTEM_ACTOR } from "../domain/describe-actor.js";
import { REQUEST_TYPES } from "../domain/detect-alerts.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { appendLedgerEntry, LEDGER_LOCK_KEY } from "../ledger/append-ledger-entry.js";

type Row = Record<string, unknown>;
const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/**
 * The alert detector's facts, each one aggregate query over an index: a person's requests
 * (`access_request (requester_id, …)`), their grants (`grant (user_id, resource, …)`), one
 * request's entries (`ledger_entry (request_id)`), or at most the window of a burst
 * (`ledger_entry (ts)`). Nothing loads rows into the bot, whatever the size of the ledger.
 * Every count is cut at the examined entry's seq, so examining it again gives the same answer.
 */
export class PrismaAlertStore implements AlertStore {
  constructor(private readonly prisma: PrismaClient) {}

  private q<T extends Row>(sql: string, ...params: unknown[]): Promise<T[]> {
    return this.prisma.$queryRawUnsafe<T[]>(sql, ...params);
  }

  async requestCreatedAt(requestId: string): Promise<Date | null> {
    const [row] = await this.q<{ ts: Date }>(
      `SELECT ts FROM ledger_entry WHERE request_id = $1 AND type = 'request.created' ORDER BY seq LIMIT 1`,
      requestId,
    );
    return row?.ts ?? null;
  }

  async pairApprovals(approverId: string, requesterId: string, since: Date, uptoSeq: bigint): Promise<number> {
    const [row] = await this.q(
      `SELECT count(*) AS n FROM access_request r JOIN vote v ON v.request_id = r.id
        WHERE r.requester_id = $2 AND v.voter_id = $1 AND v.decision = 'APPROVE' AND v.created_at > $3 AND v.ledger_seq <= $4`,
      approverId,
      requesterId,
      since,
      uptoSeq,
    );
    return num(row?.n);
  }

  async earlierGrants(userId: string, resource: string, requestId: string, beforeSeq: bigint): Promise<number> {
    const [row] = await this.q(
      `SELECT count(*) AS n FROM "grant" g
        WHERE g.user_id = $1 AND g.resource = $2 AND g.request_id <> $3
          AND EXISTS (SELECT 1 FROM ledger_entry l WHERE l.request_id = g.request_id AND l.type = 'grant.activated' AND l.seq < $4)`,
      userId,
      resource,
      requestId,
      beforeSeq,
    );
    return num(row?.n);
  }

  async longGrants(query: Parameters<AlertStore["longGrants"]>[0]): Promise<{ long: number; usualSeconds: number | null }> {
    // A grant's time is its `grant.activated` entry; `activated_at` only narrows the index
    // range (with a day to spare: it is set when provisioning starts, before activation).
    const lower = new Date(query.since.getTime() - query.windowSeconds * 1000 - 24 * 3600 * 1000);
    const [row] = await this.q(
      `WITH mine AS (
         SELECT g.request_id, g.resource, extract(epoch FROM l.ts) AS at, r.duration_seconds AS d
           FROM "grant" g
           JOIN access_request r ON r.id = g.request_id
           JOIN ledger_entry l ON l.request_id = g.request_id AND l.type = 'grant.activated'
          WHERE g.user_id = $1 AND g.activated_at > $2 AND l.seq <= $3
       ), rated AS (
         SELECT request_id, resource, at, d,
                avg(d) OVER (PARTITION BY resource ORDER BY at RANGE BETWEEN $4::numeric PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) AS usual
           FROM mine
       )
       SELECT count(*) FILTER (WHERE at > extract(epoch FROM $5::timestamptz)
                                 AND (d * 100 >= $6::int * (($7::jsonb ->> resource)::numeric)
                                      OR (usual IS NOT NULL AND d >= $8::int * usual))) AS long,
              max(usual) FILTER (WHERE request_id = $9) AS usual
         FROM rated`,
      query.userId,
      lower,
      query.uptoSeq,
      query.windowSeconds,
      query.since,
      query.nearMaxPercent,
      JSON.stringify(query.maxSeconds),
      query.timesUsual,
      query.requestId,
    );
    return { long: num(row?.long), usualSeconds: row?.usual === null || row?.usual === undefined ? null : Number(row.usual) };
  }

  async breakGlassUses(userId: string, since: Date, uptoSeq: bigint): Promise<number> {
    const [row] = await this.q(
      `SELECT count(*) AS n FROM access_request r
        WHERE r.requester_id = $1 AND r.break_glass AND r.created_at > $2
          AND EXISTS (SELECT 1 FROM ledger_entry l WHERE l.request_id = r.id AND l.type = 'request.break_glass' AND l.seq <= $3)`,
      userId,
      since,
      uptoSeq,
    );
    return num(row?.n);
  }

  async requestCounts(userId: string, since: Date, uptoSeq: bigint): Promise<{ person: number; workspace: number }> {
    const [row] = await this.q(
      `SELECT count(*) FILTER (WHERE subject_id = $1) AS person, count(*) AS workspace
         FROM ledger_entry WHERE ts > $2 AND seq <= $3 AND type = ANY($4::text[])`,
      userId,
      since,
      uptoSeq,
      [...REQUEST_TYPES],
    );
    return { person: num(row?.person), workspace: num(row?.workspace) };
  }

  async raiseOnce(alert: AlertToRaise, at: Date): Promise<boolean> {
    return this.prisma.$transaction(
      async (tx) => {
        // The ledger's own lock, taken before the check: two replicas (or a redelivery racing
        // the first delivery) cannot both find no alert and both append one.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_KEY}::bigint)`;
        const { dedupe } = alert;
        const existing =
          dedupe.scope === "request"
            ? await tx.$queryRawUnsafe<Row[]>(
                `SELECT 1 FROM ledger_entry WHERE request_id = $1 AND type = 'alert.raised' AND body::jsonb #>> '{data,dedupe_key}' = $2 LIMIT 1`,
                alert.requestId,
                dedupe.key,
              )
            : await tx.$queryRawUnsafe<Row[]>(
                `SELECT 1 FROM ledger_entry WHERE ts >= $1 AND type = 'alert.raised' AND body::jsonb #>> '{data,dedupe_key}' = $2 LIMIT 1`,
                dedupe.since,
                dedupe.key,
              );
        if (existing.length > 0) return false;
        await appendLedgerEntry(
          tx,
          { type: "alert.raised", requestId: alert.requestId, subjectId: alert.subjectId, resource: alert.resource, actor: SYSTEM_ACTOR, data: alert.data },
          at,
        );
        return true;
      },
      { maxWait: 20_000, timeout: 30_000 },
    );
  }
}
