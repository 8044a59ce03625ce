import type { GrantRecord } from "../../domain/access-records.js";
import { AppError } from "../../domain/app-error.js";
import { MAX_REASON_LENGTH } from "../../domain/create-access-request.js";
import { remainingExtensionSeconds } from "../../domain/extend-grant.js";
import { formatDuration, parseDuration } from "../../domain/parse-duration.js";
import type { ResourcePolicy } from "../../domain/policy-model.js";
import type { AccessDeps } from "../../domain/ports.js";
import { extensionChoices } from "../blocks/build-extend-modal.js";

export interface Extendable {
  grant: GrantRecord;
  resource: ResourcePolicy;
  remainingSeconds: number;
}

/**
 * Whether this person may extend this grant right now, read before the modal opens (and
 * again before its submission is acked) so that a refusal is a sentence at once rather than
 * after filling in a form. Only a pre-check: `extendGrant` decides again, under the grant's
 * row lock, when the extension is made.
 */
export async function checkExtendable(deps: Pick<AccessDeps, "store" | "policy">, grantId: string, userId: string): Promise<Extendable> {
  const grant = await deps.store.findGrant(grantId);
  // Why: someone else's grant id must not reveal whether it exists.
  if (!grant || grant.userId !== userId) throw new AppError("NOT_YOUR_GRANT", `You have no grant ${grantId}. \`/access list\` shows your active grants.`);
  if (grant.status !== "ACTIVE") throw new AppError("GRANT_NOT_ACTIVE", `Grant ${grant.id} is no longer active, so it can't be extended. Request access again instead.`);
  const resource = deps.policy.current().policy.resources[grant.resource];
  if (!resource) throw new AppError("RESOURCE_REMOVED", `\`${grant.resource}\` is no longer in the access policy, so its grants can't be extended.`);
  const remainingSeconds = remainingExtensionSeconds(grant, resource.maxDurationSeconds);
  if (extensionChoices(remainingSeconds).length === 0) {
    throw new AppError(
      "EXTENSION_TOO_LONG",
      `Grant ${grant.id} already runs for the maximum of ${formatDuration(resource.maxDurationSeconds)} for \`${resource.id}\`; it can't be extended. Request access again when it ends.`,
    );
  }
  if (!resource.extension.requiresApproval && grant.extensions >= resource.extension.maxExtensions) {
    throw new AppError(
      "TOO_MANY_EXTENSIONS",
      `Grant ${grant.id} was already extended ${grant.extensions} time(s), the most \`${resource.id}\` allows without approval. Request access again when it ends.`,
    );
  }
  if (resource.extension.requiresApproval) {
    // One extension request at a time: approvers decide on the time actually left.
    const waiting = (await deps.store.listOpenForUser(userId)).pending.find((request) => request.extendsGrantId === grant.id);
    if (waiting) {
      throw new AppError(
        "EXTENSION_PENDING",
        `Your extension request ${waiting.id} for grant ${grant.id} is still waiting for approval. You can ask again once it is decided, or withdraw it with \`/access cancel ${waiting.id}\`.`,
      );
    }
  }
  return { grant, resource, remainingSeconds };
}

/** The modal's fields, checked against what is extendable; throws an AppError naming the field by its code. */
export function checkExtensionInput(extendable: Extendable, input: { duration: string | null; reason: string }): { duration: string; reason: string } {
  const { grant, resource, remainingSeconds } = extendable;
  if (input.duration === null || input.duration.trim() === "") throw new AppError("INVALID_DURATION", "Choose how much longer you need.");
  let seconds: number;
  try {
    seconds = parseDuration(input.duration);
  } catch (error) {
    throw new AppError("INVALID_DURATION", (error as { userMessage?: string }).userMessage ?? `“${input.duration}” is not a valid duration.`);
  }
  if (seconds > remainingSeconds) {
    throw new AppError("EXTENSION_TOO_LONG", `You can extend grant ${grant.id} by at most ${formatDuration(remainingSeconds)} (\`${resource.id}\` allows ${formatDuration(resource.maxDurationSeconds)} in total).`);
  }
  const reason = input.reason.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  if (reason === "" && resource.requireReason) throw new AppError("REASON_REQUIRED", `\`${resource.id}\` needs a reason for an extension too: say why you need more time.`);
  if (reason.length > MAX_REASON_LENGTH) {
    throw new AppError("REASON_TOO_LONG", `Your reason is ${reason.length.toLocaleString("en-US")} characters long; keep it under ${MAX_REASON_LENGTH.toLocaleString("en-US")}.`);
  }
  return { duration: input.duration, reason };
}
