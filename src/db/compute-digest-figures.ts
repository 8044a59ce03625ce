import type { DigestFigures } from "../domain/digest-figures.js";
import { DIGEST_TOP } from "../domain/digest-figures.js";
import type { DigestPeriod } from "../domain/digest-period.js";
import type { PrismaClient } from "../generated/prisma/client.js";

type Row = Record<string, unknown>;
const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * The digest's figures for one period, each one aggregate query in the database: the cost
 * grows with the indexes' ranges, never with loading rows into the bot (50,000 requests a
 * week stay a handful of grouped rows here).
 */
export async function computeDigestFigures(prisma: PrismaClient, period: DigestPeriod, now: Date = new Date()): Promise<DigestFigures> {
  const { since, until, timeZone } = period;
  const q = <T extends Row>(sql: string, ...params: unknown[]) => prisma.$queryRawUnsafe<T[]>(sql, ...params);
  const [counts] = await q(
    `SELECT count(*) AS requests,
            count(*) FILTER (WHERE status = 'APPROVED') AS approved,
            count(*) FILTER (WHERE status = 'DENIED') AS denied,
            count(*) FILTER (WHERE status = 'EXPIRED') AS expired,
            count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
            count(*) FILTER (WHERE status = 'UNSATISFIABLE') AS unsatisfiable,
            count(*) FILTER (WHERE break_glass) AS break_glass,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at))
              FILTER (WHERE status IN ('APPROVED', 'DENIED') AND NOT break_glass AND decided_at IS NOT NULL) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at))
              FILTER (WHERE status IN ('APPROVED', 'DENIED') AND NOT break_glass AND decided_at IS NOT NULL) AS p95
       FROM access_request WHERE created_at >= $1 AND created_at < $2`,
    since,
    until,
  );
  const grantWindow = `extract(epoch FROM coalesce(ended_at, expires_at) - activated_at) / 3600`;
  const granted = `FROM "grant" WHERE activated_at >= $1 AND activated_at < $2 AND status IN ('ACTIVE', 'EXPIRED', 'REVOKED')`;
  const [hours] = await q(`SELECT coalesce(sum(${grantWindow}), 0) AS hours ${granted}`, since, until);
  const longest = await q(`SELECT id, user_id, resource, ${grantWindow} AS hours ${granted} ORDER BY hours DESC, id LIMIT ${DIGEST_TOP}`, since, until);
  const resources = await q(
    `SELECT resource, count(*) AS n FROM access_request WHERE created_at >= $1 AND created_at < $2 GROUP BY resource ORDER BY n DESC, resource LIMIT ${DIGEST_TOP}`,
    since,
    until,
  );
  const requesters = await q(
    `SELECT requester_id, max(requester_name) AS name, count(*) AS n FROM access_request WHERE created_at >= $1 AND created_at < $2
      GROUP BY requester_id ORDER BY n DESC, requester_id LIMIT ${DIGEST_TOP}`,
    since,
    until,
  );
  const approvers = await q(
    `SELECT v.voter_id, max(v.voter_name) AS name, count(*) AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM v.created_at - r.created_at)) AS median
       FROM vote v JOIN access_request r ON r.id = v.request_id
      WHERE v.decision = 'APPROVE' AND v.created_at >= $1 AND v.created_at < $2
      GROUP BY v.voter_id ORDER BY n DESC, v.voter_id LIMIT ${DIGEST_TOP}`,
    since,
    until,
  );
  const breakGlass = await q(
    `SELECT r.id, r.requester_id, r.resource, coalesce(b.status::text, 'NONE') AS review, (b.status = 'OPEN' AND b.due_at < $3) AS overdue
       FROM access_request r LEFT JOIN break_glass_review b ON b.request_id = r.id
      WHERE r.break_glass AND r.created_at >= $1 AND r.created_at < $2
      ORDER BY (b.status = 'OPEN' AND b.due_at < $3) DESC NULLS LAST, r.created_at LIMIT 10`,
    since,
    until,
    now,
  );
  const [revokes] = await q(
    `SELECT count(*) AS attempts, count(DISTINCT subject_id || ':' || coalesce(request_id, '')) AS grants
       FROM ledger_entry WHERE type = 'grant.deprovision_failed' AND ts >= $1 AND ts < $2`,
    since,
    until,
  );
  const [failed] = await q(`SELECT count(*) AS n FROM ledger_entry WHERE type = 'grant.failed' AND ts >= $1 AND ts < $2`, since, until);
  const alerts = await q(
    `SELECT seq, type, request_id, subject_id, body::jsonb -> 'data' ->> 'rule' AS rule, body::jsonb -> 'data' ->> 'title' AS title, count(*) OVER () AS total
       FROM ledger_entry WHERE type LIKE 'alert.%' AND ts >= $1 AND ts < $2 ORDER BY seq LIMIT 50`,
    since,
    until,
  );
  const days = await q(
    `SELECT to_char(created_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day,
            count(*) FILTER (WHERE status = 'APPROVED') AS approved,
            count(*) FILTER (WHERE status = 'DENIED') AS denied,
            count(*) FILTER (WHERE status = 'EXPIRED') AS expired,
            count(*) FILTER (WHERE status NOT IN ('APPROVED', 'DENIED', 'EXPIRED')) AS other,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at))
              FILTER (WHERE status IN ('APPROVED', 'DENIED') AND NOT break_glass AND decided_at IS NOT NULL) AS median
       FROM access_request WHERE created_at >= $1 AND created_at < $2 GROUP BY day ORDER BY day`,
    since,
    until,
    timeZone,
  );
  return {
    requests: num(counts?.requests),
    approved: num(counts?.approved),
    denied: num(counts?.denied),
    expired: num(counts?.expired),
    cancelled: num(counts?.cancelled),
    unsatisfiable: num(counts?.unsatisfiable),
    breakGlass: num(counts?.break_glass),
    timeToDecisionP50Seconds: numOrNull(counts?.p50),
    timeToDecisionP95Seconds: numOrNull(counts?.p95),
    grantedHours: num(hours?.hours),
    longestGrants: longest.map((row) => ({ grantId: String(row.id), userId: String(row.user_id), resource: String(row.resource), hours: num(row.hours) })),
    topResources: resources.map((row) => ({ resource: String(row.resource), requests: num(row.n) })),
    topRequesters: requesters.map((row) => ({ userId: String(row.requester_id), name: String(row.name), requests: num(row.n) })),
    topApprovers: approvers.map((row) => ({ userId: String(row.voter_id), name: String(row.name), approvals: num(row.n), medianSecondsToApprove: num(row.median) })),
    breakGlassUses: breakGlass.map((row) => ({ requestId: String(row.id), userId: String(row.requester_id), resource: String(row.resource), review: String(row.review) as DigestFigures["breakGlassUses"][number]["review"], overdue: row.overdue === true })),
    revokeFailures: { attempts: num(revokes?.attempts), grants: num(revokes?.grants) },
    failedGrants: num(failed?.n),
    alerts: alerts.map((row) => ({
      seq: num(row.seq),
      type: String(row.type),
      rule: row.rule === null ? null : String(row.rule),
      title: row.title === null ? null : String(row.title),
      subjectId: row.subject_id === null ? null : String(row.subject_id),
      requestId: row.request_id === null ? null : String(row.request_id),
    })),
    alertsTotal: num(alerts[0]?.total),
    perDay: days.map((row) => ({ day: String(row.day), approved: num(row.approved), denied: num(row.denied), expired: num(row.expired), other: num(row.other), medianDecisionSeconds: numOrNull(row.median) })),
  };
}
