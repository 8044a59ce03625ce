import type { ResourcePolicy } from "./policy-model.js";
import type { AccessRequestRecord, RequestSnapshot, VoteRecord } from "./access-records.js";
import { AppError } from "./app-error.js";
import { describeActor, type SlackIdentity } from "./describe-actor.js";
import { evaluateApproval, unmetRules, type ApprovalEvaluation } from "./evaluate-approval.js";
import { enqueueNotice, enqueueRefresh } from "./enqueue-effects.js";
import { openGrant } from "./open-grant.js";
import type { AccessDeps } from "./ports.js";
import { groupsOf, resolveRuleGroups, type GroupMembership } from "./resolve-approvers.js";
import { sha256OfCanonical } from "../ledger/ledger-hash.js";
import { describeClosedRequest } from "./describe-closed-request.js";

export interface VoteInput {
  requestId: string;
  voter: SlackIdentity;
  decision: "APPROVE" | "DENY";
  denyReason?: string | null;
  /** The message blocks the voter clicked on, verbatim from the signed payload (null from a modal). */
  seenBlocks: unknown[] | null;
}

export type VoteResult =
  | { kind: "recorded"; snapshot: RequestSnapshot; evaluation: ApprovalEvaluation | null; countedToward: string | null; outcome: "pending" | "approved" | "denied" }
  | { kind: "duplicate"; snapshot: RequestSnapshot };

export const MAX_DENY_REASON_LENGTH = 1000;

/**
 * Records an approval or denial. The request row is locked for the whole transaction, so
 * concurrent clicks are evaluated one after another against the same committed votes:
 * exactly one of them can activate the grant, and a repeated click (or a Slack retry) finds
 * its own vote and changes nothing.
 */
export async function voteOnRequest(deps: AccessDeps, input: VoteInput): Promise<VoteResult> {
  const { loaded, resource, membership } = await checkVoter(deps, input.requestId, input.voter.id);
  const denyReason = input.decision === "DENY" ? normaliseDenyReason(input.denyReason ?? null) : null;
  const actor = await describeActor(input.voter, deps.directory);
  await deps.store.rememberPolicy(loaded.sha256, loaded.text);
  const seen = input.seenBlocks ? { blocks: input.seenBlocks, sha256: sha256OfCanonical(input.seenBlocks) } : null;

  const outcome = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const request = await tx.lockRequest(input.requestId);
    if (!request) throw new Error(`request ${input.requestId} disappeared`);
    const votes = await tx.listVotes(request.id);
    if (votes.some((vote) => vote.voterId === input.voter.id)) return { kind: "duplicate" as const };
    if (request.status !== "PENDING") throw new AppError("REQUEST_CLOSED", describeClosedRequest(request));
    if (request.pendingUntil.getTime() <= now.getTime()) {
      throw new AppError("REQUEST_CLOSED", `Request ${request.id} expired at ${request.pendingUntil.toISOString()} without enough approvals. Nothing was changed.`);
    }

    const vote: VoteRecord = { requestId: request.id, voterId: input.voter.id, voterName: input.voter.name, decision: input.decision, createdAt: now };
    const common = {
      requestId: request.id,
      subjectId: request.requesterId,
      resource: request.resource,
      actor,
    };

    if (input.decision === "DENY") {
      const entry = await tx.appendLedger(
        { ...common, type: "request.denied", data: { decision: "deny", reason: denyReason, voter_groups: groupsOf(input.voter.id, membership), policy_sha256: loaded.sha256, seen } },
        now,
      );
      await tx.insertVote(vote, entry);
      await tx.transitionRequest(request.id, "PENDING", { status: "DENIED", decidedAt: now, decidedBy: input.voter.id, denyReason });
      await enqueueNotice(tx, request.requesterId, { kind: "outcome", requestId: request.id, change: { kind: "denied", voterId: input.voter.id, reason: denyReason } }, `denied:${request.id}`);
      await enqueueRefresh(tx, request.id);
      return { kind: "recorded" as const, evaluation: null, countedToward: null, outcome: "denied" as const };
    }

    const evaluation = evaluateVotes(resource, membership, request, [...votes, vote]);
    const countedToward = evaluation.assignment[input.voter.id] ?? null;
    const entry = await tx.appendLedger(
      {
        ...common,
        type: "vote.approved",
        data: {
          decision: "approve",
          counted_toward: countedToward,
          voter_groups: groupsOf(input.voter.id, membership),
          evaluation: describeEvaluation(evaluation),
          policy_sha256: loaded.sha256,
          seen,
        },
      },
      now,
    );
    await tx.insertVote(vote, entry);
    if (!evaluation.satisfied) {
      await enqueueRefresh(tx, request.id);
      return { kind: "recorded" as const, evaluation, countedToward, outcome: "pending" as const };
    }
    const moved = await tx.transitionRequest(request.id, "PENDING", { status: "APPROVED", decidedAt: now, decidedBy: input.voter.id });
    if (!moved) throw new Error(`request ${request.id} left PENDING while locked`);
    await openGrant(tx, { ...request, status: "APPROVED", decidedAt: now, decidedBy: input.voter.id }, resource, { approvers: evaluation.assignment, policySha256: loaded.sha256 }, now);
    return { kind: "recorded" as const, evaluation, countedToward, outcome: "approved" as const };
  });

  const snapshot = (await deps.store.getSnapshot(input.requestId))!;
  if (outcome.kind === "duplicate") return { kind: "duplicate", snapshot };

  return { kind: "recorded", snapshot, evaluation: outcome.evaluation, countedToward: outcome.countedToward, outcome: outcome.outcome };
}

/**
 * Whether this person may vote on this request right now: it exists, is pending, and they
 * are an eligible approver. Used before opening the deny modal, and by every vote.
 */
export async function checkVoter(deps: AccessDeps, requestId: string, voterId: string) {
  const before = await deps.store.getSnapshot(requestId);
  if (!before) {
    throw new AppError("REQUEST_NOT_FOUND", `I can't find request ${requestId}. It may have been created by another installation of accessbot.`);
  }
  const loaded = deps.policy.current();
  const resource = loaded.policy.resources[before.request.resource];
  if (!resource) {
    throw new AppError(
      "RESOURCE_REMOVED",
      `\`${before.request.resource}\` is no longer in the access policy, so this request can't be decided. Ask the requester to file a new one if it's still needed.`,
    );
  }
  // Membership is resolved live at the moment of the click; state carried in the message is never trusted.
  const membership = await resolveRuleGroups(loaded.policy, resource, deps.directory);
  assertMayVote(resource, membership, before.request, voterId);
  if (before.request.status !== "PENDING" && !before.votes.some((vote) => vote.voterId === voterId)) {
    throw new AppError("REQUEST_CLOSED", describeClosedRequest(before.request));
  }
  return { loaded, resource, membership, snapshot: before };
}

/** Evaluates the approve votes of a request against the rules, with membership as of now. */
export function evaluateVotes(resource: ResourcePolicy, membership: GroupMembership, request: AccessRequestRecord, votes: VoteRecord[]): ApprovalEvaluation {
  const candidates = votes
    .filter((vote) => vote.decision === "APPROVE")
    // Why: a requester's own vote never counts unless the policy says so, even if it got recorded.
    .filter((vote) => resource.allowSelfApproval || vote.voterId !== request.requesterId)
    .map((vote) => ({ userId: vote.voterId, groups: groupsOf(vote.voterId, membership) }));
  return evaluateApproval(resource.rules, candidates);
}

function describeEvaluation(evaluation: ApprovalEvaluation): Record<string, unknown> {
  return {
    satisfied: evaluation.satisfied,
    rules: evaluation.rules.map((rule) => ({ group: rule.group, required: rule.required, filled: rule.filled, approvers: rule.assigned })),
    missing: unmetRules(evaluation).map((rule) => ({ group: rule.group, missing: rule.required - rule.filled })),
  };
}

/** The rule `assertMayVote` enforces, as a yes or no (the Home tab lists only what a click would accept). */
export function mayVote(resource: ResourcePolicy, membership: GroupMembership, request: AccessRequestRecord, voterId: string): boolean {
  if (voterId === request.requesterId && !resource.allowSelfApproval) return false;
  return groupsOf(voterId, membership).length > 0;
}

function assertMayVote(resource: ResourcePolicy, membership: GroupMembership, request: AccessRequestRecord, voterId: string): void {
  // Why: authorization is re-derived from the signed user id and live group membership, never from the message.
  if (voterId === request.requesterId && !resource.allowSelfApproval) {
    throw new AppError("SELF_APPROVAL", "You can't approve or deny your own request. It needs other approvers; if it's no longer needed, use `/access cancel " + request.id + "`.");
  }
  if (groupsOf(voterId, membership).length === 0) {
    const groups = resource.rules.map((rule) => rule.group).join(", ");
    throw new AppError("NOT_AN_APPROVER", `You're not an approver for \`${resource.id}\`: approvals come from ${groups}. Nothing was changed.`);
  }
}

function normaliseDenyReason(text: string | null): string | null {
  if (text === null) return null;
  const reason = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  if (reason.length > MAX_DENY_REASON_LENGTH) {
    throw new AppError("REASON_TOO_LONG", `Your reason is ${reason.length.toLocaleString("en-US")} characters long; keep it under ${MAX_DENY_REASON_LENGTH.toLocaleString("en-US")}.`);
  }
  return reason.length === 0 ? null : reason;
}
