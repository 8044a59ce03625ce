import type { RequestSnapshot } from "./access-records.js";
import { AppError } from "./app-error.js";
import { describeActor, type SlackIdentity } from "./describe-actor.js";
import { describeClosedRequest } from "./describe-closed-request.js";
import { normaliseId } from "./generate-id.js";
import { enqueueDeprovision, enqueueNotice, enqueueRefresh } from "./enqueue-effects.js";
import type { AccessDeps } from "./ports.js";

/** `/access cancel <id>`: the requester withdraws their own pending request. */
export async function cancelRequest(deps: AccessDeps, typedId: string, user: SlackIdentity): Promise<RequestSnapshot> {
  const id = requireId(typedId, "cancel");
  const actor = await describeActor(user, deps.directory);
  await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const request = await tx.lockRequest(id);
    // Why: someone else's request id must not reveal whether it exists.
    if (!request || request.requesterId !== user.id) {
      throw new AppError("NOT_YOUR_REQUEST", `You have no request ${id}. \`/access list\` shows your pending requests and their ids.`);
    }
    if (request.status !== "PENDING") throw new AppError("REQUEST_CLOSED", describeClosedRequest(request));
    await tx.transitionRequest(id, "PENDING", { status: "CANCELLED", decidedAt: now, decidedBy: user.id });
    await tx.appendLedger({ type: "request.cancelled", requestId: id, subjectId: user.id, resource: request.resource, actor, data: {} }, now);
    await enqueueRefresh(tx, id);
  });
  return (await deps.store.getSnapshot(id))!;
}

export const MAX_REVOKE_REASON_LENGTH = 500;

/**
 * `/access revoke <id> [reason]` (and "I'm done"): the grantee ends their own grant early, or
 * a member of `settings.admin_group` ends anyone's, with a reason the grantee is shown. The
 * access itself is removed by the durable revoke job.
 */
export async function revokeGrant(deps: AccessDeps, typedId: string, user: SlackIdentity, typedReason: string | null = null): Promise<RequestSnapshot> {
  const id = requireId(typedId, "revoke");
  const reason = normaliseRevokeReason(typedReason);
  const existing = await deps.store.findGrant(id);
  const own = existing?.userId === user.id;
  const admin = !own && existing !== null && (await isAdmin(deps, user.id));
  // Why: someone else's grant id must not reveal whether it exists, unless you may revoke it.
  if (!existing || (!own && !admin)) {
    throw new AppError("NOT_YOUR_GRANT", `You have no grant ${id}. \`/access list\` shows your active grants and their ids.`);
  }
  if (admin && !reason) {
    throw new AppError("REASON_REQUIRED", `Revoking someone else's grant needs a reason they will be shown: \`/access revoke ${existing.id} <reason>\`.`);
  }
  const actor = await describeActor(user, deps.directory);
  const revoked = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const grant = await tx.lockGrant(existing.id);
    if (!grant) throw new AppError("NOT_YOUR_GRANT", `You have no grant ${id}.`);
    if (grant.status !== "ACTIVE" && grant.status !== "PROVISIONING") {
      throw new AppError("GRANT_NOT_ACTIVE", `Grant ${grant.id} ${describeEnded(grant.status)}; there is nothing to end.`);
    }
    await tx.transitionGrant(grant.id, ["ACTIVE", "PROVISIONING"], { status: "REVOKED", endedAt: now, endedBy: user.id, endReason: reason });
    await tx.appendLedger(
      {
        type: "grant.revoked",
        requestId: grant.requestId,
        subjectId: grant.userId,
        resource: grant.resource,
        actor,
        data: { grant_id: grant.id, ended_at: now.toISOString(), scheduled_expiry: grant.expiresAt.toISOString(), reason, by_admin: admin, was: grant.status.toLowerCase() },
      },
      now,
    );
    const ended = { ...grant, status: "REVOKED" as const, endedAt: now, endedBy: user.id, endReason: reason };
    await enqueueDeprovision(tx, ended);
    if (admin) {
      await enqueueNotice(tx, grant.userId, { kind: "outcome", requestId: grant.requestId, change: { kind: "grant-revoked", byUserId: user.id, reason } }, `revoked:${grant.id}`);
    }
    await enqueueRefresh(tx, grant.requestId);
    return ended;
  });
  return (await deps.store.getSnapshot(revoked.requestId))!;
}

async function isAdmin(deps: AccessDeps, userId: string): Promise<boolean> {
  const { policy } = deps.policy.current();
  const group = policy.settings.adminGroup ? policy.groups[policy.settings.adminGroup] : undefined;
  if (!group) return false;
  try {
    return (await deps.directory.membersOf(group)).includes(userId);
  } catch (error) {
    throw new AppError("DIRECTORY_UNAVAILABLE", "I couldn't check the admin group in Slack just now. Nothing was changed; please try again in a minute.", `admin check failed: ${(error as Error).message}`);
  }
}

function describeEnded(status: string): string {
  if (status === "EXPIRED") return "already expired";
  if (status === "FAILED") return "was never provisioned (provisioning failed)";
  return "was already revoked";
}

function normaliseRevokeReason(text: string | null): string | null {
  if (text === null) return null;
  const reason = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ").trim();
  if (reason.length > MAX_REVOKE_REASON_LENGTH) {
    throw new AppError("REASON_TOO_LONG", `Your reason is ${reason.length.toLocaleString("en-US")} characters long; keep it under ${MAX_REVOKE_REASON_LENGTH}.`);
  }
  return reason.length === 0 ? null : reason;
}

function requireId(typed: string, verb: string): string {
  const id = normaliseId(typed);
  if (!/^(AR|GR)-[0-9A-Z]{4,16}$/.test(id)) {
    throw new AppError("BAD_ID", `Give the id to ${verb}, like \`/access ${verb} AR-7K3F9Q2M\`. \`/access list\` shows your ids.`);
  }
  return id;
}
