import type { CreateRequestResult } from "../domain/create-access-request.js";
import { formatDuration } from "../domain/parse-duration.js";
import type { VoteResult } from "../domain/vote-on-request.js";

/** The requester's confirmation after `/access …` or the modal. */
export function describeCreateResult(result: CreateRequestResult, approvalChannel: string): string {
  const { request } = result.snapshot;
  const what = `${request.id} for \`${request.resource}\` (${formatDuration(request.durationSeconds)})`;
  if (result.kind === "unsatisfiable") {
    return `:warning: Request ${what} can't be approved with the current approver groups: ${result.problems.join("; ")}. The audit channel has been told. Ask a policy owner to fix the groups or the rules, then request again.`;
  }
  if (request.status !== "PENDING") return `Request ${what} was already created and is now ${request.status.toLowerCase()}.`;
  return `:hourglass_flowing_sand: Request ${what} is waiting for approval. Approvers were notified in <#${approvalChannel}> and by DM. Withdraw it with \`/access cancel ${request.id}\`.`;
}

/** The approver's ephemeral confirmation after a click. */
export function describeVoteResult(result: VoteResult): string {
  const id = result.snapshot.request.id;
  if (result.kind === "duplicate") return `You already voted on ${id}; your vote is counted once.`;
  if (result.outcome === "denied") return `You denied ${id}. The requester has been told.`;
  if (result.outcome === "approved") return `Your approval completed ${id}: access is now active.`;
  const missing = (result.evaluation?.rules ?? []).filter((rule) => rule.filled < rule.required).map((rule) => `${rule.required - rule.filled} more from ${rule.group}`);
  const counted = result.countedToward ? `counted toward ${result.countedToward}` : "was recorded, but every rule you could fill is already filled by others";
  return `Your approval of ${id} ${counted}. Still needed: ${missing.join(", ")}.`;
}
