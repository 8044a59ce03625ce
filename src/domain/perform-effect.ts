import type { RequestSnapshot } from "./access-records.js";
import { buildRequestView } from "./build-request-view.js";
import { SYSTEM_ACTOR } from "./describe-actor.js";
import type { Effect, EffectResult, EffectRun, Notice, PostTarget } from "./effects.js";
import { enqueueNotice, enqueuePost } from "./enqueue-effects.js";
import { deprovisionGrant, extendProvision, provisionGrant } from "./provision-grant.js";
import type { AccessDeps, DeliveryKey, MessageDestination, NoticeView } from "./ports.js";
import { eligibleApprovers, resolveRuleGroups } from "./resolve-approvers.js";
import { MAX_APPROVER_DMS } from "./create-access-request.js";
import { publishHome } from "./publish-home.js";
import { refreshHomesOf } from "./refresh-homes.js";

const DONE: EffectResult = { kind: "done" };

/**
 * Performs one durable effect from the state in the database now. Called by the job worker,
 * possibly more than once for the same effect (a crash after the work but before "done"), so
 * each branch is safe to repeat. Throwing means "retry later".
 */
export async function performEffect(deps: AccessDeps, effect: Effect, run: EffectRun, now: Date): Promise<EffectResult> {
  const { attempt, delivery } = run;
  switch (effect.kind) {
    case "provision":
      return provisionGrant(deps, effect.grantId, attempt, now);
    case "deprovision":
      return deprovisionGrant(deps, effect.grantId, attempt, now);
    case "extend-provision":
      return extendProvision(deps, effect.grantId, new Date(effect.previousExpiresAt), attempt, now);
    case "post-request":
      if (announcesRequest(effect.target)) await refreshHomesOf(deps, effect.requestId);
      return postRequestCopy(deps, effect.requestId, effect.target, delivery);
    case "refresh-request": {
      // Every change of a request queues this refresh, so it is the one place the Home tabs of
      // the people concerned are re-published from (coalesced per person, like this refresh).
      await refreshHomesOf(deps, effect.requestId);
      const snapshot = await deps.store.getSnapshot(effect.requestId);
      if (!snapshot || snapshot.messages.length === 0) return DONE;
      await deps.notifier.updateRequestCopies(await buildRequestView(deps, snapshot), snapshot.messages);
      return DONE;
    }
    case "notify":
    case "alert": {
      const view = await noticeView(deps, effect.notice);
      if (!view || isStale(view)) return DONE;
      const to = effect.kind === "notify" ? { userId: effect.userId } : { channelId: deps.policy.current().policy.settings.auditChannel };
      await deps.notifier.sendNotice(to, view, delivery);
      return DONE;
    }
    case "remind-approvers":
      return remindApprovers(deps, effect.requestId, now);
    case "remind-reviewers":
      return remindReviewers(deps, effect.requestId, effect.round, effect.overdue);
    case "publish-home":
      return publishHome(deps, effect.userId);
  }
}

/** The one post every new request gets (the approval channel, or a break-glass's audit-channel copy); DMs and reminders add nothing to a Home tab. */
function announcesRequest(target: PostTarget): boolean {
  return target.kind === "channel" || (target.kind === "review" && target.where === "audit-channel" && target.reminder !== true);
}

async function postRequestCopy(deps: AccessDeps, requestId: string, target: PostTarget, delivery: DeliveryKey): Promise<EffectResult> {
  const snapshot = await deps.store.getSnapshot(requestId);
  if (!snapshot) return DONE;
  const { settings } = deps.policy.current().policy;
  const destination = toDestination(target, settings);
  const repeat = (target.kind === "dm" || target.kind === "review") && target.reminder === true;
  if (repeat ? !stillOpen(snapshot) : alreadyPosted(snapshot, destination)) return DONE;
  const ref = await deps.notifier.postRequestCopy(await buildRequestView(deps, snapshot), destination, delivery);
  await deps.store.addRequestMessage(requestId, ref);
  return DONE;
}

function toDestination(target: PostTarget, settings: { approvalChannel: string; auditChannel: string }): MessageDestination {
  switch (target.kind) {
    case "channel":
      return { kind: "channel", channelId: settings.approvalChannel };
    case "dm":
      return { kind: "dm", userId: target.userId, reminder: target.reminder ?? false };
    case "review":
      return target.where === "audit-channel" ? { kind: "review", channelId: settings.auditChannel } : { kind: "review-dm", userId: target.where.userId };
  }
}

/** Repeats after the copy was recorded; a crash between posting and recording is the delivery key's to catch. */
function alreadyPosted(snapshot: RequestSnapshot, destination: MessageDestination): boolean {
  return snapshot.messages.some((ref) => {
    if (destination.kind === "channel") return ref.kind === "channel";
    if (destination.kind === "dm") return ref.kind === "dm" && ref.recipientId === destination.userId;
    if (destination.kind === "review") return ref.kind === "review" && ref.recipientId === null;
    return ref.kind === "review" && ref.recipientId === destination.userId;
  });
}

function stillOpen(snapshot: RequestSnapshot): boolean {
  return snapshot.request.breakGlass ? snapshot.review?.status === "OPEN" : snapshot.request.status === "PENDING";
}

async function noticeView(deps: AccessDeps, notice: Notice): Promise<NoticeView | null> {
  const snapshot = await deps.store.getSnapshot(notice.requestId);
  if (!snapshot) return null;
  const resource = deps.policy.current().policy.resources[snapshot.request.resource];
  return { notice, snapshot, resourceTitle: resource?.title ?? snapshot.request.resource };
}

/** Notices about a state that has moved on since they were queued are not worth sending. */
function isStale(view: NoticeView): boolean {
  const { notice, snapshot } = view;
  if (notice.kind === "expiry-warning") return snapshot.grant?.status !== "ACTIVE";
  return false;
}

async function remindApprovers(deps: AccessDeps, requestId: string, now: Date): Promise<EffectResult> {
  const snapshot = await deps.store.getSnapshot(requestId);
  if (!snapshot || snapshot.request.status !== "PENDING") return DONE;
  const { policy } = deps.policy.current();
  const resource = policy.resources[snapshot.request.resource];
  if (!resource) return DONE;
  const membership = await resolveRuleGroups(policy, resource, deps.directory);
  const voted = new Set(snapshot.votes.map((vote) => vote.voterId));
  const waiting = eligibleApprovers(resource, membership, snapshot.request.requesterId)
    .map((candidate) => candidate.userId)
    .filter((id) => !voted.has(id))
    .slice(0, MAX_APPROVER_DMS);
  await deps.store.transaction(async (tx) => {
    await tx.appendLedger(
      { type: "request.reminded", requestId, subjectId: snapshot.request.requesterId, resource: snapshot.request.resource, actor: SYSTEM_ACTOR, data: { approvers: waiting } },
      now,
    );
    for (const userId of waiting) await enqueuePost(tx, requestId, { kind: "dm", userId, reminder: true }, `remind:${requestId}:${userId}`);
    await enqueueNotice(tx, snapshot.request.requesterId, { kind: "approvers-reminded", requestId, approverIds: waiting }, `reminded:${requestId}`);
  });
  return DONE;
}

async function remindReviewers(deps: AccessDeps, requestId: string, round: number, overdue: boolean): Promise<EffectResult> {
  const snapshot = await deps.store.getSnapshot(requestId);
  if (!snapshot?.review || snapshot.review.status !== "OPEN") return DONE;
  const { policy } = deps.policy.current();
  const group = policy.groups[snapshot.review.reviewGroup];
  const reviewers = group ? (await deps.directory.membersOf(group)).filter((id) => id !== snapshot.request.requesterId).slice(0, MAX_APPROVER_DMS) : [];
  await deps.store.transaction(async (tx) => {
    if (overdue) await enqueuePost(tx, requestId, { kind: "review", where: "audit-channel", reminder: true }, `review-repost:${requestId}:${round}`);
    for (const userId of reviewers) {
      await enqueuePost(tx, requestId, { kind: "review", where: { userId }, reminder: true }, `review-remind:${requestId}:${round}:${userId}`);
    }
  });
  return DONE;
}
