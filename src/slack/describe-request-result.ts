import type { RequestSnapshot } from "../domain/access-records.js";
import type { CreateRequestResult } from "../domain/create-access-request.js";
import type { ExtensionResult } from "../domain/extend-grant.js";
import { formatDuration } from "../domain/parse-duration.js";
import type { VoteResult } from "../domain/vote-on-request.js";
import { formatSlackDate } from "./blocks/format-slack-date.js";
import { escapeMrkdwn, truncate } from "./escape-mrkdwn.js";

/** The requester's confirmation after `/access …` or the modal. */
export function describeCreateResult(result: CreateRequestResult, approvalChannel: string): string {
  const { request } = result.snapshot;
  const what = `${request.id} for \`${request.resource}\` (${formatDuration(request.durationSeconds)})`;
  if (result.kind === "unsatisfiable") {
    return `:warning: Request ${what} can't be approved with the current approver groups: ${result.problems.join("; ")}. The audit channel has been told. Ask a policy owner to fix the groups or the rules, then request again.`;
  }
  if (request.breakGlass) return describeBreakGlass(result.snapshot, result.kind === "break-glass" ? result.alerted : null);
  if (request.status !== "PENDING") return `Request ${what} was already created and is now ${request.status.toLowerCase()}.`;
  const kind = request.extendsGrantId ? `Extension request ${what} of grant ${request.extendsGrantId}` : `Request ${what}`;
  return `:hourglass_flowing_sand: ${kind} is waiting for approval. Approvers were notified in <#${approvalChannel}> and by DM. Withdraw it with \`/access cancel ${request.id}\`.`;
}

/**
 * `--break-glass`: what the person now has, who was alerted, and that a review follows.
 * `alerted` is null when this is a repeat of a command that already broke the glass.
 */
function describeBreakGlass(snapshot: RequestSnapshot, alerted: string[] | null): string {
  const { request, grant, review } = snapshot;
  const access =
    grant?.status === "ACTIVE"
      ? `is active until ${formatSlackDate(grant.expiresAt)}`
      : grant?.status === "PROVISIONING"
        ? "is being set up now; I'll DM you as soon as it is active"
        : `is ${(grant?.status ?? request.status).toLowerCase()}`;
  const who = alerted === null ? "" : alerted.length > 0 ? ` I alerted ${alerted.map((id) => `<@${id}>`).join(", ")} and the audit channel.` : " I alerted the audit channel.";
  const reviewLine = review ? ` A member of ${escapeMrkdwn(review.reviewGroup)} has to review it by ${formatSlackDate(review.dueAt)}.` : "";
  const repeat = alerted === null ? " (You had already broken the glass with this command; nothing new was done.)" : "";
  return `:rotating_light: Break-glass ${request.id}: your access to \`${request.resource}\` for ${formatDuration(request.durationSeconds)} ${access}.${who}${reviewLine} End it early with \`/access revoke ${grant?.id ?? request.id}\`.${repeat}`;
}

/** "Request again": the new request's id, or the one a previous click already filed. */
export function describeRequestAgainResult(result: CreateRequestResult, previousId: string, approvalChannel: string): string {
  if (result.kind === "already-created") {
    const { request } = result.snapshot;
    return `You already filed ${previousId} again as ${request.id} (now ${request.status.toLowerCase()}). \`/access list\` shows it.`;
  }
  if (result.kind !== "created") return describeCreateResult(result, approvalChannel);
  const { request } = result.snapshot;
  return `:hourglass_flowing_sand: Filed ${previousId} again as ${request.id} for \`${request.resource}\` (${formatDuration(request.durationSeconds)}), waiting for approval. Approvers were notified in <#${approvalChannel}> and by DM. Withdraw it with \`/access cancel ${request.id}\`.`;
}

/** The approver's ephemeral confirmation after a click. */
export function describeVoteResult(result: VoteResult): string {
  const { request, grant } = result.snapshot;
  const id = request.id;
  if (result.kind === "duplicate") return `You already voted on ${id}; your vote is counted once.`;
  if (result.outcome === "denied") return `You denied ${id}. The requester has been told.`;
  if (result.outcome === "approved") {
    if (request.extendsGrantId && !grant) return `Your approval completed ${id}: grant ${request.extendsGrantId} is extended by ${formatDuration(request.durationSeconds)}.`;
    if (grant?.status === "PROVISIONING") return `Your approval completed ${id}: access is being set up on \`${request.resource}\`; the requester is told when it is active.`;
    return `Your approval completed ${id}: access is now active.`;
  }
  const missing = (result.evaluation?.rules ?? []).filter((rule) => rule.filled < rule.required).map((rule) => `${rule.required - rule.filled} more from ${rule.group}`);
  const counted = result.countedToward ? `counted toward ${result.countedToward}` : "was recorded, but every rule you could fill is already filled by others";
  return `Your approval of ${id} ${counted}. Still needed: ${missing.join(", ")}.`;
}

/** After `/access cancel` or Cancel on the Home tab. */
export function describeCancelResult(snapshot: RequestSnapshot): string {
  return `You cancelled ${snapshot.request.id} for \`${snapshot.request.resource}\`. Approvers' messages have been updated.`;
}

/** After `/access revoke` or "I'm done": whose access ended, and that the target is being cleaned up. */
export function describeRevokeResult(snapshot: RequestSnapshot, byUserId: string): string {
  const { request, grant } = snapshot;
  const grantId = grant?.id ?? request.id;
  const cleanup = grant?.provisioner ? ` The access is being removed from \`${request.resource}\` now.` : "";
  if (grant && grant.userId !== byUserId) {
    const reason = grant.endReason ? ` Reason shown to them: “${escapeMrkdwn(truncate(grant.endReason, 300))}”.` : "";
    return `You ended <@${grant.userId}>'s access to \`${request.resource}\` (grant ${grantId}). They have been told.${reason}${cleanup}`;
  }
  return `Your access to \`${request.resource}\` has ended (grant ${grantId}).${cleanup}`;
}

/** After the extend modal was submitted. */
export function describeExtensionResult(result: ExtensionResult, approvalChannel: string): string {
  if (result.kind === "extended") {
    const grant = result.snapshot.grant;
    return `:arrows_counterclockwise: Extended: your access to \`${result.snapshot.request.resource}\`${grant ? ` (grant ${grant.id})` : ""} now lasts until ${formatSlackDate(result.expiresAt)}.`;
  }
  const { request } = result.result.snapshot;
  if (result.result.kind === "unsatisfiable") return describeCreateResult(result.result, approvalChannel);
  if (result.result.kind === "already-created") {
    return `Your extension request ${request.id} for grant ${request.extendsGrantId ?? "?"} was already sent to the approvers (now ${request.status.toLowerCase()}).`;
  }
  return `:hourglass_flowing_sand: Your extension of grant ${request.extendsGrantId ?? "?"} by ${formatDuration(request.durationSeconds)} went to the approvers as ${request.id} (<#${approvalChannel}> and by DM). Your access stays as it is meanwhile; if they approve, it is extended without a gap. Withdraw it with \`/access cancel ${request.id}\`.`;
}

/** After "Reviewed: OK" / "Reviewed: escalate". */
export function describeReviewResult(snapshot: RequestSnapshot, outcome: "ok" | "escalate"): string {
  const { request } = snapshot;
  const what = `the break-glass use ${request.id} of \`${request.resource}\` by <@${request.requesterId}>`;
  if (outcome === "escalate") return `:rotating_light: You escalated ${what}. The audit channel has been alerted, and every copy of the review now shows your decision.`;
  return `:white_check_mark: You reviewed ${what} as OK. Every copy of the review now shows it.`;
}
