import { SYSTEM_ACTOR } from "./describe-actor.js";
import type { AccessDeps } from "./ports.js";

export interface ExpiryReport {
  grantsExpired: string[];
  requestsExpired: string[];
}

const BATCH = 100;

/**
 * Ends every grant whose window has passed and every pending request past its TTL, as of
 * `now`. Safe to run from several processes at once and after downtime: each item is
 * re-checked under its row lock and moved by a guarded transition, so it expires once.
 */
export async function expireDueAccess(deps: AccessDeps, now: Date): Promise<ExpiryReport> {
  const report: ExpiryReport = { grantsExpired: [], requestsExpired: [] };

  for (;;) {
    const due = await deps.store.listDueGrants(now, BATCH);
    if (due.length === 0) break;
    for (const candidate of due) {
      const expired = await deps.store.transaction(async (tx) => {
        const grant = await tx.lockGrant(candidate.id);
        if (!grant || grant.status !== "ACTIVE" || grant.expiresAt.getTime() > now.getTime()) return null;
        await tx.transitionGrant(grant.id, "ACTIVE", { status: "EXPIRED", endedAt: now, endedBy: null });
        await tx.appendLedger(
          { type: "grant.expired", requestId: grant.requestId, subjectId: grant.userId, resource: grant.resource, actor: SYSTEM_ACTOR, data: { grant_id: grant.id, expires_at: grant.expiresAt.toISOString(), ended_at: now.toISOString() } },
          now,
        );
        return { ...grant, status: "EXPIRED" as const, endedAt: now };
      });
      if (!expired) continue;
      report.grantsExpired.push(expired.id);
      try {
        await deps.provisioner.revoke(expired, "expired");
      } catch (error) {
        deps.onSideEffectError(error, `de-provisioning grant ${expired.id}`);
      }
      await notifyChanged(deps, expired.requestId, "grant-expired");
    }
    if (due.length < BATCH) break;
  }

  for (;;) {
    const stale = await deps.store.listStalePending(now, BATCH);
    if (stale.length === 0) break;
    for (const candidate of stale) {
      const expired = await deps.store.transaction(async (tx) => {
        const request = await tx.lockRequest(candidate.id);
        if (!request || request.status !== "PENDING" || request.pendingUntil.getTime() > now.getTime()) return false;
        await tx.transitionRequest(request.id, "PENDING", { status: "EXPIRED", decidedAt: now });
        await tx.appendLedger(
          { type: "request.expired", requestId: request.id, subjectId: request.requesterId, resource: request.resource, actor: SYSTEM_ACTOR, data: { pending_until: request.pendingUntil.toISOString() } },
          now,
        );
        return true;
      });
      if (!expired) continue;
      report.requestsExpired.push(candidate.id);
      await notifyChanged(deps, candidate.id, "expired");
    }
    if (stale.length < BATCH) break;
  }
  return report;
}

async function notifyChanged(deps: AccessDeps, requestId: string, kind: "expired" | "grant-expired"): Promise<void> {
  try {
    const snapshot = await deps.store.getSnapshot(requestId);
    if (snapshot) await deps.notifier.requestChanged(snapshot, { kind });
  } catch (error) {
    deps.onSideEffectError(error, `notifying expiry of ${requestId}`);
  }
}
