import { readLedgerRows } from "../audit/read-ledger-rows.js";
import { readStoredCheckpoints } from "../audit/read-stored-checkpoints.js";
import { verifyLedger } from "../audit/verify-ledger.js";
import type { LedgerQuery } from "../audit/ledger-query.js";
import { computeDigestFigures } from "../db/compute-digest-figures.js";
import { localDate } from "../domain/add-local-days.js";
import { periodBefore, type DigestPeriod } from "../domain/digest-period.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { buildDigestReport, type DigestLedger, type DigestReport, type PreviousReview } from "./build-digest-report.js";

/** The digest of `period` against the one before it, with the ledger verified as of now. */
export async function computeDigest(prisma: PrismaClient, query: LedgerQuery, period: DigestPeriod, now: Date): Promise<DigestReport> {
  const previousPeriod = periodBefore(period);
  const current = await computeDigestFigures(prisma, period, now);
  const previous = await computeDigestFigures(prisma, previousPeriod, now);
  return buildDigestReport(period, previousPeriod, current, previous, await verifyForDigest(prisma, query), await previousReview(prisma, previousPeriod));
}

async function previousReview(prisma: PrismaClient, period: DigestPeriod): Promise<PreviousReview | null> {
  const row = await prisma.digestReview.findUnique({ where: { since: period.since } });
  if (!row || row.postedAt === null) return null;
  return {
    first_day: localDate(row.since, row.timeZone),
    last_day: localDate(new Date(row.until.getTime() - 1), row.timeZone),
    signed_off_by: row.signedOffBy,
    signed_off_at: row.signedOffAt?.toISOString() ?? null,
  };
}

async function verifyForDigest(prisma: PrismaClient, query: LedgerQuery): Promise<DigestLedger> {
  const checkpoints = await readStoredCheckpoints(prisma);
  const result = await verifyLedger(readLedgerRows(query), { checkpoints, checkpointsBeyondHead: "fail" });
  if (result.ok) return { headSeq: Number(result.headSeq), headHash: result.entries === 0 ? null : result.headHash, verified: true, entries: result.entries };
  return { headSeq: Number(result.firstBadSeq) - 1, headHash: null, verified: false, entries: 0, problem: `verification failed at seq ${result.firstBadSeq}: ${result.reason} (${result.detail})` };
}
