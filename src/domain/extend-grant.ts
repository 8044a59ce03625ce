import type { RequestSnapshot } from "./access-records.js";
import { AppError } from "./app-error.js";
import { createAccessRequest, type CreateRequestResult } from "./create-access-request.js";
import type { SlackIdentity } from "./describe-actor.js";
import { recordExtension } from "./open-grant.js";
import { formatDuration, parseDuration } from "./parse-duration.js";
import type { AccessDeps } from "./ports.js";

export type ExtensionResult = { kind: "extended"; snapshot: RequestSnapshot; expiresAt: Date } | { kind: "requested"; result: CreateRequestResult };

/** How much longer this grant may still run: `max_duration` in total, counted from activation. */
export function remainingExtensionSeconds(grant: { activatedAt: Date; expiresAt: Date }, maxDurationSeconds: number): number {
  return Math.max(0, maxDurationSeconds - Math.round((grant.expiresAt.getTime() - grant.activatedAt.getTime()) / 1000));
}

/**
 * "Extend": the grantee asks for more time on an active grant, up to `max_duration` in
 * total. Without `extension.requires_approval: false` this files an extension request that
 * goes to the same approvers under the same rules; with it, the grant is extended at once,
 * at most `max_extensions` times. Either way the target access never lapses in between.
 */
export async function extendGrant(deps: AccessDeps, input: { grantId: string; user: SlackIdentity; duration: string; reason: string; idempotencyKey: string }): Promise<ExtensionResult> {
  const grant = await deps.store.findGrant(input.grantId);
  if (!grant || grant.userId !== input.user.id) throw new AppError("NOT_YOUR_GRANT", `You have no grant ${input.grantId}. \`/access list\` shows your active grants.`);
  if (grant.status !== "ACTIVE") throw new AppError("GRANT_NOT_ACTIVE", `Grant ${grant.id} is no longer active, so it can't be extended. Request access again instead.`);
  const resource = deps.policy.current().policy.resources[grant.resource];
  if (!resource) throw new AppError("RESOURCE_REMOVED", `\`${grant.resource}\` is no longer in the access policy, so its grants can't be extended.`);
  let seconds: number;
  try {
    seconds = parseDuration(input.duration);
  } catch (error) {
    throw new AppError("INVALID_DURATION", (error as { userMessage?: string }).userMessage ?? `“${input.duration}” is not a valid duration: use 30m, 1h or 2h.`);
  }
  const remaining = remainingExtensionSeconds(grant, resource.maxDurationSeconds);
  if (seconds > remaining) {
    throw new AppError(
      "EXTENSION_TOO_LONG",
      remaining === 0
        ? `Grant ${grant.id} already runs for the maximum of ${formatDuration(resource.maxDurationSeconds)} for \`${resource.id}\`; it can't be extended. Request access again when it ends.`
        : `You can extend grant ${grant.id} by at most ${formatDuration(remaining)} (\`${resource.id}\` allows ${formatDuration(resource.maxDurationSeconds)} in total).`,
    );
  }

  if (resource.extension.requiresApproval) {
    const result = await createAccessRequest(deps, {
      requester: input.user,
      resource: resource.id,
      duration: input.duration,
      reason: input.reason.trim() === "" ? `extension of ${grant.id}` : input.reason,
      idempotencyKey: input.idempotencyKey,
      extendsGrantId: grant.id,
    });
    return { kind: "requested", result };
  }

  const expiresAt = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const locked = await tx.lockGrant(grant.id);
    if (!locked || locked.status !== "ACTIVE") throw new AppError("GRANT_NOT_ACTIVE", `Grant ${grant.id} ended just now, so it can't be extended. Request access again instead.`);
    // A double submit or a Slack retry of the same form: already applied, nothing more.
    if (locked.extensionKeys.includes(input.idempotencyKey)) return locked.expiresAt;
    if (locked.extensions >= resource.extension.maxExtensions) {
      throw new AppError("TOO_MANY_EXTENSIONS", `Grant ${grant.id} was already extended ${locked.extensions} time(s), the most \`${resource.id}\` allows without approval. Request access again when it ends.`);
    }
    if (seconds > remainingExtensionSeconds(locked, resource.maxDurationSeconds)) throw new AppError("EXTENSION_TOO_LONG", `That would take grant ${grant.id} past the ${formatDuration(resource.maxDurationSeconds)} maximum.`);
    const next = new Date(locked.expiresAt.getTime() + seconds * 1000);
    await tx.patchGrant(locked.id, { expiresAt: next, warnedAt: null, extensions: locked.extensions + 1, extensionKeys: [...locked.extensionKeys, input.idempotencyKey] });
    await recordExtension(tx, locked, locked.expiresAt, next, { without_approval: true, reason: input.reason.trim() || null, duration_seconds: seconds }, input.user.id, now);
    return next;
  });
  return { kind: "extended", snapshot: (await deps.store.getSnapshot(grant.requestId))!, expiresAt };
}
