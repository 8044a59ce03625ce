import { addLocalDays } from "./add-local-days.js";
import { SYSTEM_ACTOR } from "./describe-actor.js";
import { enqueueDeprovision, enqueueNotice, enqueueRefresh } from "./enqueue-effects.js";
import type { AccessDeps } from "./ports.js";

export interface LifecycleReport {
  grantsExpired: string[];
  requestsExpired: string[];
  grantsWarned: string[];
  requestsReminded: string[];
  reviewsReminded: string[];
}

const BATCH = 50;

/**
 * Every time-driven step of the lifecycle that is due at `now`: grants past their window end,
 * pending requests past their TTL expire, grantees are warned before the end, approvers who
 * have not acted are reminded once, and open break-glass reviews are chased. A pure function
 * of `now` and the database. Safe from several replicas at once: each sweep locks the rows it
 * takes and skips rows another replica holds, and moves each by a guarded update, so every
 * item is processed exactly once; what people are told is queued in the same transaction.
 */
export async function advanceLifecycle(deps: AccessDeps, now: Date): Promise<LifecycleReport> {
  const report: LifecycleReport = { grantsExpired: [], requestsExpired: [], grantsWarned: [], requestsReminded: [], reviewsReminded: [] };
  const { settings } = deps.policy.current().policy;

  await drainBatches(async () => {
    const ids = await deps.store.transaction(async (tx) => {
      const due = await tx.lockDueGrants(now, BATCH);
      for (const grant of due) {
        await tx.transitionGrant(grant.id, "ACTIVE", { status: "EXPIRED", endedAt: now, endedBy: null, endReason: "window ended" });
        await tx.appendLedger(
          { type: "grant.expired", requestId: grant.requestId, subjectId: grant.userId, resource: grant.resource, actor: SYSTEM_ACTOR, data: { grant_id: grant.id, expires_at: grant.expiresAt.toISOString(), ended_at: now.toISOString() } },
          now,
        );
        await enqueueDeprovision(tx, { ...grant, status: "EXPIRED" });
        await enqueueNotice(tx, grant.userId, { kind: "outcome", requestId: grant.requestId, change: { kind: "grant-expired" } }, `grant-expired:${grant.id}`);
        await enqueueRefresh(tx, grant.requestId);
      }
      return due.map((grant) => grant.id);
    });
    report.grantsExpired.push(...ids);
    return ids.length;
  });

  await drainBatches(async () => {
    const ids = await deps.store.transaction(async (tx) => {
      const stale = await tx.lockStalePending(now, BATCH);
      for (const request of stale) {
        await tx.transitionRequest(request.id, "PENDING", { status: "EXPIRED", decidedAt: now });
        await tx.appendLedger(
          { type: "request.expired", requestId: request.id, subjectId: request.requesterId, resource: request.resource, actor: SYSTEM_ACTOR, data: { pending_until: request.pendingUntil.toISOString() } },
          now,
        );
        await enqueueNotice(tx, request.requesterId, { kind: "outcome", requestId: request.id, change: { kind: "expired" } }, `expired:${request.id}`);
        await enqueueRefresh(tx, request.id);
      }
      return stale.map((request) => request.id);
    });
    report.requestsExpired.push(...ids);
    return ids.length;
  });

  if (settings.expiryWarningSeconds !== null) {
    const warnBefore = new Date(now.getTime() + settings.expiryWarningSeconds * 1000);
    await drainBatches(async () => {
      const ids = await deps.store.transaction(async (tx) => {
        const grants = (await tx.lockGrantsToWarn(warnBefore, BATCH)).filter((grant) => grant.expiresAt.getTime() > now.getTime());
        for (const grant of grants) {
          await tx.patchGrant(grant.id, { warnedAt: now });
          await enqueueNotice(tx, grant.userId, { kind: "expiry-warning", requestId: grant.requestId, grantId: grant.id }, `warn:${grant.id}:${grant.expiresAt.toISOString()}`);
        }
        return grants.map((grant) => grant.id);
      });
      report.grantsWarned.push(...ids);
      return ids.length;
    });
  }

  if (settings.approvalReminderSeconds !== null) {
    const openedBefore = new Date(now.getTime() - settings.approvalReminderSeconds * 1000);
    await drainBatches(async () => {
      const ids = await deps.store.transaction(async (tx) => {
        const requests = await tx.lockRequestsToRemind(openedBefore, BATCH);
        for (const request of requests) {
          await tx.patchRequest(request.id, { remindedAt: now });
          await tx.enqueue({ kind: "remind-approvers", requestId: request.id }, { dedupeKey: `remind:${request.id}` });
        }
        return requests.map((request) => request.id);
      });
      report.requestsReminded.push(...ids);
      return ids.length;
    });
  }

  await drainBatches(async () => {
    const ids = await deps.store.transaction(async (tx) => {
      const reviews = await tx.lockReviewsDue(now, BATCH);
      for (const review of reviews) {
        const round = review.reminders + 1;
        const overdue = review.dueAt.getTime() <= now.getTime();
        // Before the deadline one reminder; from the deadline on, re-posted daily at the same
        // local time until someone reviews it.
        const next = overdue ? addLocalDays(review.dueAt, Math.max(1, daysSince(review.dueAt, now, settings.timezone) + 1), settings.timezone) : review.dueAt;
        await tx.patchReview(review.requestId, { reminders: round, nextReminderAt: next });
        await tx.enqueue({ kind: "remind-reviewers", requestId: review.requestId, round, overdue }, { dedupeKey: `review-remind:${review.requestId}:${round}` });
      }
      return reviews.map((review) => review.requestId);
    });
    report.reviewsReminded.push(...ids);
    return ids.length;
  });
  return report;
}

/** Whole local days from `from` to `to` (0 on the same day before the next repeat). */
function daysSince(from: Date, to: Date, timeZone: string): number {
  let days = 0;
  while (days < 3660 && addLocalDays(from, days + 1, timeZone).getTime() <= to.getTime()) days++;
  return days;
}

async function drainBatches(batch: () => Promise<number>): Promise<void> {
  for (let round = 0; round < 100_000; round++) {
    if ((await batch()) < BATCH) return;
  }
}
