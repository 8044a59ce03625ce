import type { AccessRequestRecord, GrantRecord } from "./access-records.js";
import { SYSTEM_ACTOR } from "./describe-actor.js";
import { enqueueNotice, enqueueProvision, enqueueRefresh } from "./enqueue-effects.js";
import { generateId } from "./generate-id.js";
import type { ResourcePolicy } from "./policy-model.js";
import type { AccessTx } from "./ports.js";

export type OpenedGrant = { kind: "grant"; grant: GrantRecord } | { kind: "extended"; grant: GrantRecord; previousExpiresAt: Date };

/**
 * What an approved request turns into, inside the approving transaction: a grant that is
 * PROVISIONING (a durable job will call the provisioner) or, for an approval-only resource,
 * ACTIVE at once. An approved extension request moves its grant's expiry instead, without a
 * gap, as long as that grant is still active.
 */
export async function openGrant(
  tx: AccessTx,
  request: AccessRequestRecord,
  resource: ResourcePolicy,
  decision: { approvers: Record<string, string>; policySha256: string; breakGlass?: boolean },
  now: Date,
): Promise<OpenedGrant> {
  if (request.extendsGrantId) {
    const extended = await extendGrant(tx, request, resource, decision, now);
    if (extended) return extended;
  }
  const provisioner = resource.provisioner?.type ?? null;
  const grant: GrantRecord = {
    id: generateId("GR"),
    requestId: request.id,
    userId: request.requesterId,
    resource: request.resource,
    status: provisioner ? "PROVISIONING" : "ACTIVE",
    activatedAt: now,
    expiresAt: new Date(now.getTime() + request.durationSeconds * 1000),
    endedAt: null,
    endedBy: null,
    endReason: null,
    provisioner,
    deprovisionedAt: null,
    warnedAt: null,
    extensions: 0,
    extensionKeys: [],
  };
  await tx.insertGrant(grant);
  const common = { requestId: request.id, subjectId: request.requesterId, resource: request.resource, actor: SYSTEM_ACTOR };
  const data = {
    grant_id: grant.id,
    duration_seconds: request.durationSeconds,
    approvers: decision.approvers,
    policy_sha256: decision.policySha256,
    ...(decision.breakGlass ? { break_glass: true } : {}),
  };
  if (provisioner) {
    await tx.appendLedger({ ...common, type: "grant.provisioning", data: { ...data, provisioner } }, now);
    await enqueueProvision(tx, grant);
  } else {
    await tx.appendLedger({ ...common, type: "grant.activated", data: { ...data, activated_at: now.toISOString(), expires_at: grant.expiresAt.toISOString(), provisioner: null } }, now);
  }
  await enqueueNotice(tx, request.requesterId, { kind: "outcome", requestId: request.id, change: { kind: "approved", voterId: request.decidedBy ?? request.requesterId } }, `approved:${request.id}`);
  await enqueueRefresh(tx, request.id);
  return { kind: "grant", grant };
}

async function extendGrant(tx: AccessTx, request: AccessRequestRecord, resource: ResourcePolicy, decision: { approvers: Record<string, string>; policySha256: string }, now: Date): Promise<OpenedGrant | null> {
  const grant = await tx.lockGrant(request.extendsGrantId!);
  if (!grant || grant.status !== "ACTIVE" || grant.userId !== request.requesterId || grant.expiresAt.getTime() <= now.getTime()) return null;
  const previousExpiresAt = grant.expiresAt;
  // Why: two extension requests approved one after the other must not add up past max_duration;
  // the check is made here, under the grant's lock, not only when each was filed.
  const allowedMs = resource.maxDurationSeconds * 1000 - (previousExpiresAt.getTime() - grant.activatedAt.getTime());
  const addMs = Math.min(request.durationSeconds * 1000, Math.max(0, allowedMs));
  if (addMs <= 0) {
    await tx.appendLedger(
      {
        requestId: grant.requestId,
        subjectId: grant.userId,
        resource: grant.resource,
        actor: SYSTEM_ACTOR,
        type: "grant.extension_refused",
        data: { grant_id: grant.id, extension_request_id: request.id, reason: `the grant already runs for the ${resource.maxDurationSeconds} s maximum`, expires_at: previousExpiresAt.toISOString() },
      },
      now,
    );
    await enqueueRefresh(tx, request.id);
    return { kind: "extended", grant, previousExpiresAt };
  }
  const expiresAt = new Date(previousExpiresAt.getTime() + addMs);
  await tx.patchGrant(grant.id, { expiresAt, warnedAt: null, extensions: grant.extensions + 1 });
  await recordExtension(tx, grant, previousExpiresAt, expiresAt, { extension_request_id: request.id, approvers: decision.approvers, policy_sha256: decision.policySha256, ...(addMs < request.durationSeconds * 1000 ? { capped_to_seconds: addMs / 1000 } : {}) }, request.requesterId, now);
  await enqueueRefresh(tx, request.id);
  return { kind: "extended", grant: { ...grant, expiresAt, extensions: grant.extensions + 1 }, previousExpiresAt };
}

/** The ledger entry and effects of any extension, approved or not. */
export async function recordExtension(tx: AccessTx, grant: GrantRecord, previousExpiresAt: Date, expiresAt: Date, data: Record<string, unknown>, byUserId: string, now: Date): Promise<void> {
  await tx.appendLedger(
    {
      requestId: grant.requestId,
      subjectId: grant.userId,
      resource: grant.resource,
      actor: SYSTEM_ACTOR,
      type: "grant.extended",
      data: { grant_id: grant.id, previous_expires_at: previousExpiresAt.toISOString(), expires_at: expiresAt.toISOString(), extension: grant.extensions + 1, ...data },
    },
    now,
  );
  if (grant.provisioner) {
    await tx.enqueue({ kind: "extend-provision", grantId: grant.id, previousExpiresAt: previousExpiresAt.toISOString() }, { lane: `access:${grant.resource}:${grant.userId}`, dedupeKey: `extend:${grant.id}:${grant.extensions + 1}` });
  }
  await enqueueNotice(tx, grant.userId, { kind: "extended", requestId: grant.requestId, grantId: grant.id, previousExpiresAt: previousExpiresAt.toISOString(), byUserId }, `extended:${grant.id}:${grant.extensions + 1}`);
  await enqueueRefresh(tx, grant.requestId);
}
