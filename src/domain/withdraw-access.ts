import type { RequestSnapshot } from "./access-records.js";
import { AppError } from "./app-error.js";
import { describeActor, type SlackIdentity } from "./describe-actor.js";
import { describeClosedRequest } from "./describe-closed-request.js";
import { normaliseId } from "./generate-id.js";
import type { AccessDeps, RequestChange } from "./ports.js";

/** `/access cancel <id>`: the requester withdraws their own pending request. */
export async function cancelRequest(deps: AccessDeps, typedId: string, user: SlackIdentity): Promise<RequestSnapshot> {
  const id = requireId(typedId, "cancel");
  const actor = await describeActor(user, deps.directory);
  const requestId = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const request = await tx.lockRequest(id);
    // Why: someone else's request id must not reveal whether it exists.
    if (!request || request.requesterId !== user.id) {
      throw new AppError("NOT_YOUR_REQUEST", `You have no request ${id}. \`/access list\` shows your pending requests and their ids.`);
    }
    if (request.status !== "PENDING") throw new AppError("REQUEST_CLOSED", describeClosedRequest(request));
    await tx.transitionRequest(id, "PENDING", { status: "CANCELLED", decidedAt: now, decidedBy: user.id });
    await tx.appendLedger({ type: "request.cancelled", requestId: id, subjectId: user.id, resource: request.resource, actor, data: {} }, now);
    return id;
  });
  return notify(deps, requestId, { kind: "cancelled" });
}

/** `/access revoke <id>`: the grantee ends their own active grant early (grant id or request id). */
export async function revokeGrant(deps: AccessDeps, typedId: string, user: SlackIdentity): Promise<RequestSnapshot> {
  const id = requireId(typedId, "revoke");
  const actor = await describeActor(user, deps.directory);
  const revoked = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const grant = await tx.lockGrant(id);
    if (!grant || grant.userId !== user.id) {
      throw new AppError("NOT_YOUR_GRANT", `You have no grant ${id}. \`/access list\` shows your active grants and their ids.`);
    }
    if (grant.status !== "ACTIVE") {
      throw new AppError("GRANT_NOT_ACTIVE", `Grant ${grant.id} already ${grant.status === "EXPIRED" ? "expired" : "was revoked"}; there is nothing to end.`);
    }
    await tx.transitionGrant(grant.id, "ACTIVE", { status: "REVOKED", endedAt: now, endedBy: user.id });
    await tx.appendLedger(
      { type: "grant.revoked", requestId: grant.requestId, subjectId: grant.userId, resource: grant.resource, actor, data: { grant_id: grant.id, ended_at: now.toISOString(), scheduled_expiry: grant.expiresAt.toISOString() } },
      now,
    );
    return { ...grant, status: "REVOKED" as const, endedAt: now, endedBy: user.id };
  });
  try {
    await deps.provisioner.revoke(revoked, "revoked");
  } catch (error) {
    deps.onSideEffectError(error, `de-provisioning grant ${revoked.id}`);
  }
  return notify(deps, revoked.requestId, { kind: "grant-revoked", byUserId: user.id });
}

function requireId(typed: string, verb: string): string {
  const id = normaliseId(typed);
  if (!/^(AR|GR)-[0-9A-Z]{4,16}$/.test(id)) {
    throw new AppError("BAD_ID", `Give the id to ${verb}, like \`/access ${verb} AR-7K3F9Q2M\`. \`/access list\` shows your ids.`);
  }
  return id;
}

async function notify(deps: AccessDeps, requestId: string, change: RequestChange): Promise<RequestSnapshot> {
  const snapshot = (await deps.store.getSnapshot(requestId))!;
  try {
    await deps.notifier.requestChanged(snapshot, change);
  } catch (error) {
    deps.onSideEffectError(error, `updating messages of ${requestId}`);
  }
  return snapshot;
}
