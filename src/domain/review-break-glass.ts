import type { RequestSnapshot } from "./access-records.js";
import { AppError } from "./app-error.js";
import { describeActor, type SlackIdentity } from "./describe-actor.js";
import { enqueueAlert, enqueueRefresh } from "./enqueue-effects.js";
import { sha256OfCanonical } from "../ledger/ledger-hash.js";
import type { AccessDeps } from "./ports.js";

export interface ReviewInput {
  requestId: string;
  reviewer: SlackIdentity;
  outcome: "ok" | "escalate";
  /** The blocks the reviewer clicked on, from the signed payload. */
  seenBlocks: unknown[] | null;
}

/**
 * "Reviewed: OK" / "Reviewed: escalate" on a break-glass grant. Only a member of the
 * resource's review group may review, never the person who broke the glass; the first
 * review closes it, and a second click is told who reviewed it.
 */
export async function reviewBreakGlass(deps: AccessDeps, input: ReviewInput): Promise<RequestSnapshot> {
  const before = await deps.store.getSnapshot(input.requestId);
  if (!before?.review) throw new AppError("REVIEW_NOT_FOUND", `There is no break-glass review for ${input.requestId}.`);
  if (input.reviewer.id === before.request.requesterId) {
    throw new AppError("SELF_REVIEW", "You can't review your own break-glass access; someone else in the review group has to. Nothing was changed.");
  }
  const { policy } = deps.policy.current();
  const group = policy.groups[before.review.reviewGroup];
  const members = group ? await deps.directory.membersOf(group) : [];
  // Why: authorization comes from the signed user id and live membership, never the message.
  if (!members.includes(input.reviewer.id)) {
    throw new AppError("NOT_A_REVIEWER", `Only members of ${before.review.reviewGroup} can review break-glass access. Nothing was changed.`);
  }
  const actor = await describeActor(input.reviewer, deps.directory);
  const seen = input.seenBlocks ? { blocks: input.seenBlocks, sha256: sha256OfCanonical(input.seenBlocks) } : null;
  await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const review = await tx.lockReview(input.requestId);
    if (!review) throw new AppError("REVIEW_NOT_FOUND", `There is no break-glass review for ${input.requestId}.`);
    if (review.status !== "OPEN") {
      throw new AppError("ALREADY_REVIEWED", `<@${review.reviewerId}> already reviewed this break-glass access (${review.status === "OK" ? "OK" : "escalated"}).`);
    }
    await tx.patchReview(review.requestId, { status: input.outcome === "ok" ? "OK" : "ESCALATED", reviewerId: input.reviewer.id, reviewedAt: now, nextReminderAt: null });
    await tx.appendLedger(
      {
        type: "break_glass.reviewed",
        requestId: review.requestId,
        subjectId: before.request.requesterId,
        resource: before.request.resource,
        actor,
        data: { outcome: input.outcome, due_at: review.dueAt.toISOString(), overdue: now.getTime() > review.dueAt.getTime(), seen },
      },
      now,
    );
    if (input.outcome === "escalate") await enqueueAlert(tx, { kind: "review-escalated", requestId: review.requestId, reviewerId: input.reviewer.id }, `escalated:${review.requestId}`);
    await enqueueRefresh(tx, review.requestId);
  });
  return (await deps.store.getSnapshot(input.requestId))!;
}
