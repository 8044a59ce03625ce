import { AppError } from "./app-error.js";
import { createAccessRequest, type CreateRequestResult } from "./create-access-request.js";
import type { SlackIdentity } from "./describe-actor.js";
import { formatDuration } from "./parse-duration.js";
import type { AccessDeps } from "./ports.js";

/**
 * "Request again" on an expired request: files the same request anew, under the policy in
 * force now. Keyed by the old request, so a double click files it once.
 */
export async function requestAgain(deps: AccessDeps, requestId: string, user: SlackIdentity): Promise<CreateRequestResult> {
  const old = await deps.store.getSnapshot(requestId);
  if (!old || old.request.requesterId !== user.id) throw new AppError("NOT_YOUR_REQUEST", `You have no request ${requestId}.`);
  if (old.request.status !== "EXPIRED") throw new AppError("REQUEST_NOT_EXPIRED", `Request ${requestId} did not expire, so there is nothing to file again.`);
  return createAccessRequest(deps, {
    requester: user,
    resource: old.request.resource,
    duration: formatDuration(old.request.durationSeconds),
    reason: old.request.reason,
    idempotencyKey: `again:${requestId}`,
  });
}
