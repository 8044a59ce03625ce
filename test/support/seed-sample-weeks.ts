import type { PrismaClient } from "../../src/generated/prisma/client.js";

/**
 * Two weeks of plausible traffic (2026-11-16 to 2026-11-29, Berlin), the same every time: a
 * quieter weekend, a few denials and unanswered requests, decisions from seconds to an hour,
 * grants for most approvals, two break-glass uses. For pictures and benchmarks, not for exact
 * assertions (test/digest.test.ts seeds its own small week).
 */
export async function seedSampleWeeks(prisma: PrismaClient, perWeek = 420): Promise<void> {
  const since = Date.UTC(2026, 10, 15, 23, 0, 0) / 1000;
  const count = perWeek * 2;
  await prisma.$executeRawUnsafe(`
    WITH s AS (
      SELECT i,
             -- weekdays busier than weekends: skip 70 % of the weekend slots
             ${since} + (i * 1209599.0 / ${count}) AS t,
             (i * 2654435761::bigint) % 1000 AS r
        FROM generate_series(1, ${count}) AS i)
    INSERT INTO access_request (id, team_id, requester_id, requester_name, resource, duration_seconds, reason, status, policy_sha256, idempotency_key, created_at, pending_until, decided_at, break_glass)
    SELECT 'AR-SAMPLE' || lpad(i::text, 4, '0'), 'T0SAMPLE', 'U0PERSON' || (r % 23), 'person ' || (r % 23),
           (ARRAY['prod-db','k8s-admin','aws-prod','staging-admin','billing-db'])[1 + (r % 5)], 3600 * (1 + r % 4), 'sample',
           (CASE WHEN r < 820 THEN 'APPROVED' WHEN r < 900 THEN 'DENIED' WHEN r < 960 THEN 'EXPIRED' ELSE 'CANCELLED' END)::"RequestStatus",
           repeat('0', 64), 'sample-' || i, to_timestamp(t), to_timestamp(t + 86400),
           CASE WHEN r < 900 THEN to_timestamp(t + 20 + (r * r) % 3600) END, r = 7
      FROM s
     WHERE extract(isodow FROM to_timestamp(t) AT TIME ZONE 'Europe/Berlin') < 6 OR r % 10 < 3`);
  await prisma.$executeRawUnsafe(`
    INSERT INTO "grant" (id, request_id, user_id, resource, status, activated_at, expires_at)
    SELECT 'GR' || substr(id, 3), id, requester_id, resource, 'EXPIRED', decided_at, decided_at + duration_seconds * interval '1 second'
      FROM access_request WHERE status = 'APPROVED' AND id LIKE 'AR-SAMPLE%'`);
  await prisma.$executeRawUnsafe(`
    INSERT INTO vote (request_id, voter_id, voter_name, decision, ledger_seq, created_at)
    SELECT id, 'U0APPROVER' || (ascii(substr(id, 13, 1)) % 6), 'approver ' || (ascii(substr(id, 13, 1)) % 6), 'APPROVE', 0, decided_at
      FROM access_request WHERE status = 'APPROVED' AND id LIKE 'AR-SAMPLE%'`);
}
