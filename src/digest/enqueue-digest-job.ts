import type { Prisma } from "../generated/prisma/client.js";

/** The durable job that posts one period's digest (dedupe key `digest:<since>`: once across replicas). */
export const DIGEST_JOB_KIND = "post-digest";
export const REMIND_DIGEST_JOB_KIND = "remind-digest";
/** Re-renders every copy of a digest (after its sign-off). */
export const REFRESH_DIGEST_JOB_KIND = "refresh-digest";
export const DIGEST_JOB_KINDS = [DIGEST_JOB_KIND, REMIND_DIGEST_JOB_KIND, REFRESH_DIGEST_JOB_KIND];

/** One lane for all of a digest's messages, so a refresh never races the reminder that posts a copy. */
const digestLane = (since: string) => `digest:${since}`;

/** Queues a digest job inside the caller's transaction (at most one per key, ever). */
export async function enqueueDigestJob(tx: Prisma.TransactionClient, kind: string, payload: { since: string; round?: number }, dedupeKey: string, runAt: Date): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO job (kind, payload, lane, dedupe_key, run_at)
    VALUES (${kind}, ${JSON.stringify(payload)}::jsonb, ${digestLane(payload.since)}, ${dedupeKey}, ${runAt})
    ON CONFLICT (dedupe_key) DO NOTHING`;
}
