import { requestTtlSecondsOf, type LoadedPolicy, type Policy, type ResourcePolicy } from "./policy-model.js";
import { formatDuration, parseDuration } from "./parse-duration.js";
import type { AccessRequestRecord, RequestSnapshot } from "./access-records.js";
import { AppError } from "./app-error.js";
import { describeActor, type SlackIdentity } from "./describe-actor.js";
import { quoteTyped } from "./fold-for-display.js";
import { generateId } from "./generate-id.js";
import { enqueueNotice, enqueuePost } from "./enqueue-effects.js";
import { openGrant } from "./open-grant.js";
import type { AccessDeps, AccessTx, Directory } from "./ports.js";
import { eligibleApprovers, explainUnsatisfiable, resolveRuleGroups } from "./resolve-approvers.js";
import { suggestClosest } from "./suggest-closest.js";

export const MAX_REASON_LENGTH = 1000;

export interface NewAccessRequest {
  requester: SlackIdentity;
  resource: string;
  /** As typed; absent means the resource's default duration. */
  duration: string | null;
  reason: string;
  /** Slack's trigger_id (slash command) or view id (modal): a retry carries the same one. */
  idempotencyKey: string;
  /** `--break-glass`: granted at once without approvals, reviewed afterwards. */
  breakGlass?: boolean;
  /** An extension of this (active) grant of the requester's. */
  extendsGrantId?: string | null;
}

export type CreateRequestResult =
  | { kind: "created"; snapshot: RequestSnapshot; approverIds: string[] }
  | { kind: "already-created"; snapshot: RequestSnapshot }
  | { kind: "unsatisfiable"; snapshot: RequestSnapshot; problems: string[] }
  | { kind: "break-glass"; snapshot: RequestSnapshot; alerted: string[] };

/** At most this many approvers are DMed; the rest still see the approval channel. */
export const MAX_APPROVER_DMS = 25;

/**
 * Validates a request against the policy and opens it: PENDING with the approvers notified,
 * or UNSATISFIABLE (recorded, and the requester told which rule cannot be met) when the
 * people in the approver groups right now could never approve it.
 */
export async function createAccessRequest(deps: AccessDeps, input: NewAccessRequest): Promise<CreateRequestResult> {
  const loaded = deps.policy.current();
  const { resource, durationSeconds, reason } = checkRequestInput(loaded.policy, input);
  await assertMayRequest(loaded.policy, resource, input.requester.id, deps.directory);
  // Why: a request the target system could never provision must not reach approvers.
  const refusal = deps.provisioners.forResource(resource.id)?.refusal?.(input.requester.id) ?? null;
  if (refusal) throw new AppError("CANNOT_PROVISION", refusal);
  if (input.breakGlass) return openBreakGlass(deps, { ...input, resource, durationSeconds, reason, loaded });

  const membership = await resolveRuleGroups(loaded.policy, resource, deps.directory);
  const problems = explainUnsatisfiable(resource, membership, input.requester.id);
  const approverIds = eligibleApprovers(resource, membership, input.requester.id).map((candidate) => candidate.userId);
  const actor = await describeActor(input.requester, deps.directory);
  await deps.store.rememberPolicy(loaded.sha256, loaded.text);

  const now = deps.clock.now();
  const request = newRequestRecord(input.requester, { resource: resource.id, durationSeconds, reason, policySha256: loaded.sha256, now }, {
    status: problems.length === 0 ? "PENDING" : "UNSATISFIABLE",
    pendingUntil: new Date(now.getTime() + requestTtlSecondsOf(loaded.policy, resource) * 1000),
    decidedAt: problems.length === 0 ? null : now,
    decidedBy: null,
    breakGlass: false,
    extendsGrantId: input.extendsGrantId ?? null,
  });

  const created = await insertOnce(deps, input.idempotencyKey, async (tx) => {
    await tx.insertRequest(request, input.idempotencyKey);
    await tx.appendLedger(
      {
        type: problems.length === 0 ? "request.created" : "request.unsatisfiable",
        requestId: request.id,
        subjectId: request.requesterId,
        resource: request.resource,
        actor,
        data: {
          resource_title: resource.title,
          duration_seconds: durationSeconds,
          reason,
          pending_until: request.pendingUntil.toISOString(),
          policy_sha256: loaded.sha256,
          rules: resource.rules.map((rule) => ({ group: rule.group, count: rule.count })),
          allow_self_approval: resource.allowSelfApproval,
          eligible_approvers: approverIds,
          ...(request.extendsGrantId ? { extends_grant_id: request.extendsGrantId } : {}),
          ...(problems.length > 0 ? { problems } : {}),
        },
      },
      now,
    );
    if (problems.length === 0) {
      await enqueuePost(tx, request.id, { kind: "channel" }, `post:${request.id}:channel`);
      for (const approverId of approverIds.slice(0, MAX_APPROVER_DMS)) {
        await enqueuePost(tx, request.id, { kind: "dm", userId: approverId }, `post:${request.id}:dm:${approverId}`);
      }
    }
  });

  if (created.kind === "existing") return { kind: "already-created", snapshot: created.snapshot };
  const snapshot = (await deps.store.getSnapshot(request.id))!;
  if (problems.length > 0) return { kind: "unsatisfiable", snapshot, problems };
  return { kind: "created", snapshot, approverIds };
}

function newRequestRecord(
  requester: SlackIdentity,
  base: { resource: string; durationSeconds: number; reason: string; policySha256: string; now: Date },
  state: Pick<AccessRequestRecord, "status" | "pendingUntil" | "decidedAt" | "decidedBy" | "breakGlass" | "extendsGrantId">,
): AccessRequestRecord {
  return {
    id: generateId("AR"),
    teamId: requester.teamId,
    requesterId: requester.id,
    requesterName: requester.name,
    resource: base.resource,
    durationSeconds: base.durationSeconds,
    reason: base.reason,
    policySha256: base.policySha256,
    createdAt: base.now,
    denyReason: null,
    remindedAt: null,
    ...state,
  };
}

/**
 * Runs `insert` once per idempotency key. A concurrent twin (a Slack retry racing the
 * original, a double submit) loses on the unique key and is answered with the request the
 * winner created, never with an error.
 */
async function insertOnce(deps: AccessDeps, key: string, insert: (tx: AccessTx) => Promise<void>): Promise<{ kind: "inserted" } | { kind: "existing"; snapshot: RequestSnapshot }> {
  const findExisting = async () => {
    const existing = await deps.store.findRequestByIdempotencyKey(key);
    return existing ? deps.store.getSnapshot(existing.id) : null;
  };
  try {
    const inserted = await deps.store.transaction(async (tx) => {
      if (await tx.findRequestByIdempotencyKey(key)) return false;
      await insert(tx);
      return true;
    });
    if (inserted) return { kind: "inserted" };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const snapshot = await findExisting();
  if (!snapshot) throw new Error(`request for idempotency key ${key} vanished`);
  return { kind: "existing", snapshot };
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "P2002" || /unique constraint|duplicate key/i.test(String((error as Error | null)?.message ?? ""));
}

/**
 * `--break-glass`: access at once, without approvals, where the policy allows it. The grant,
 * the loud alerts and the review that must follow are one transaction, so there is never a
 * break-glass grant nobody was told about or nobody has to review.
 */
async function openBreakGlass(
  deps: AccessDeps,
  input: Omit<NewAccessRequest, "resource" | "reason"> & { resource: ResourcePolicy; durationSeconds: number; reason: string; loaded: LoadedPolicy },
): Promise<CreateRequestResult> {
  const { resource, loaded } = input;
  if (!resource.breakGlass) {
    throw new AppError("BREAK_GLASS_NOT_ALLOWED", `Break-glass is not allowed for \`${resource.id}\`. Request it normally: \`/access ${resource.id} ${formatDuration(input.durationSeconds)} <reason>\`.`);
  }
  if (input.reason.length === 0) {
    throw new AppError("REASON_REQUIRED", `Break-glass needs a reason, like \`/access ${resource.id} 1h fixing INC-1234 --break-glass\`.`);
  }
  const review = resource.breakGlass;
  const membership = await resolveRuleGroups(loaded.policy, resource, deps.directory);
  const approverIds = eligibleApprovers(resource, membership, input.requester.id).map((candidate) => candidate.userId);
  const reviewSource = loaded.policy.groups[review.reviewGroup];
  const reviewers = reviewSource ? (await deps.directory.membersOf(reviewSource)).filter((id) => id !== input.requester.id) : [];
  const actor = await describeActor(input.requester, deps.directory);
  await deps.store.rememberPolicy(loaded.sha256, loaded.text);
  const now = deps.clock.now();
  const request = newRequestRecord(input.requester, { resource: resource.id, durationSeconds: input.durationSeconds, reason: input.reason, policySha256: loaded.sha256, now }, {
    status: "APPROVED",
    pendingUntil: now,
    decidedAt: now,
    decidedBy: input.requester.id,
    breakGlass: true,
    extendsGrantId: null,
  });
  const dueAt = new Date(now.getTime() + review.reviewWithinSeconds * 1000);
  const created = await insertOnce(deps, input.idempotencyKey, async (tx) => {
    await tx.insertRequest(request, input.idempotencyKey);
    await tx.appendLedger(
      {
        type: "request.break_glass",
        requestId: request.id,
        subjectId: request.requesterId,
        resource: request.resource,
        actor,
        data: {
          resource_title: resource.title,
          duration_seconds: input.durationSeconds,
          reason: input.reason,
          policy_sha256: loaded.sha256,
          review_group: review.reviewGroup,
          review_due_at: dueAt.toISOString(),
          alerted: approverIds,
        },
      },
      now,
    );
    await tx.insertReview({ requestId: request.id, reviewGroup: review.reviewGroup, status: "OPEN", dueAt, nextReminderAt: new Date(now.getTime() + (review.reviewWithinSeconds * 1000) / 2), reminders: 0, reviewerId: null, reviewedAt: null });
    await openGrant(tx, request, resource, { approvers: {}, policySha256: loaded.sha256, breakGlass: true }, now);
    // The review copy in the audit channel carries the Reviewed buttons; reviewers get a copy too.
    await enqueuePost(tx, request.id, { kind: "review", where: "audit-channel" }, `post:${request.id}:review`);
    for (const reviewerId of reviewers.slice(0, MAX_APPROVER_DMS)) {
      await enqueuePost(tx, request.id, { kind: "review", where: { userId: reviewerId } }, `post:${request.id}:review:${reviewerId}`);
    }
    for (const approverId of approverIds.slice(0, MAX_APPROVER_DMS)) {
      if (reviewers.includes(approverId)) continue;
      await enqueueNotice(tx, approverId, { kind: "break-glass", requestId: request.id }, `break-glass:${request.id}:${approverId}`);
    }
  });
  if (created.kind === "existing") return { kind: "already-created", snapshot: created.snapshot };
  return { kind: "break-glass", snapshot: (await deps.store.getSnapshot(request.id))!, alerted: approverIds };
}

/**
 * The checks that need no network or database, so a modal can show them as field errors
 * within Slack's 3 seconds. Throws an AppError whose code names the field.
 */
export function checkRequestInput(policy: Policy, input: { resource: string; duration: string | null; reason: string }): { resource: ResourcePolicy; durationSeconds: number; reason: string } {
  const resource = findResource(policy, input.resource);
  return { resource, durationSeconds: resolveDuration(resource, input.duration), reason: normaliseReason(input.reason, resource) };
}

export function findResource(policy: Policy, typed: string): ResourcePolicy {
  const id = typed.trim().toLowerCase();
  const resource = policy.resources[id];
  if (resource) return resource;
  const names = Object.keys(policy.resources);
  const close = suggestClosest(id, names);
  // Why: this echoes what was typed into a message shown as mrkdwn, so it is quoted, never raw.
  const shown = quoteTyped(id.length > 40 ? `${id.slice(0, 40)}…` : id);
  const hint = close.length > 0 ? `Did you mean ${close.map((name) => `\`${name}\``).join(" or ")}?` : `Known resources: ${names.map((name) => `\`${name}\``).join(", ")}.`;
  throw new AppError("UNKNOWN_RESOURCE", `There is no resource called “${shown}”. ${hint} Type \`/access help\` for usage.`);
}

/** Resources this person may request, for the modal's picker. */
export async function listRequestableResources(policy: Policy, userId: string, directory: Directory): Promise<ResourcePolicy[]> {
  const allowed: ResourcePolicy[] = [];
  for (const resource of Object.values(policy.resources)) {
    if (await mayRequest(policy, resource, userId, directory)) allowed.push(resource);
  }
  return allowed;
}

async function mayRequest(policy: Policy, resource: ResourcePolicy, userId: string, directory: Directory): Promise<boolean> {
  if (resource.requesters === null) return true;
  for (const group of resource.requesters) {
    const source = policy.groups[group];
    if (source && (await directory.membersOf(source)).includes(userId)) return true;
  }
  return false;
}

async function assertMayRequest(policy: Policy, resource: ResourcePolicy, userId: string, directory: Directory): Promise<void> {
  let allowed: boolean;
  try {
    allowed = await mayRequest(policy, resource, userId, directory);
  } catch (error) {
    throw new AppError(
      "DIRECTORY_UNAVAILABLE",
      "I couldn't check your group membership in Slack just now. Nothing was changed; please try again in a minute.",
      `requester check failed: ${(error as Error).message}`,
    );
  }
  if (!allowed) {
    // Why: the requester list is part of the policy's least-privilege promise; not even a
    // request (which would ping approvers) is created for someone outside it.
    throw new AppError(
      "NOT_ALLOWED_TO_REQUEST",
      `You are not allowed to request \`${resource.id}\`: it is limited to members of ${resource.requesters!.join(", ")}. Ask a policy owner to add you, or check \`/access\` for the resources you can request.`,
    );
  }
}

function resolveDuration(resource: ResourcePolicy, typed: string | null): number {
  if (typed === null || typed.trim() === "") return resource.defaultDurationSeconds;
  let seconds: number;
  try {
    seconds = parseDuration(typed);
  } catch (error) {
    const userMessage = (error as { userMessage?: string }).userMessage;
    throw new AppError("INVALID_DURATION", userMessage ?? `“${typed}” is not a valid duration: use 30m, 2h or 1d.`);
  }
  if (seconds > resource.maxDurationSeconds) {
    throw new AppError(
      "DURATION_TOO_LONG",
      `${formatDuration(seconds)} is longer than the maximum for \`${resource.id}\`, which is ${formatDuration(resource.maxDurationSeconds)}. Ask for ${formatDuration(resource.maxDurationSeconds)} or less.`,
    );
  }
  return seconds;
}

function normaliseReason(typed: string, resource: ResourcePolicy): string {
  // Control characters would let a reason fake extra lines in logs and exports.
  const reason = typed.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  if (reason.length === 0 && resource.requireReason) {
    throw new AppError(
      "REASON_REQUIRED",
      `\`${resource.id}\` needs a reason. Try \`/access ${resource.id} ${formatDuration(resource.defaultDurationSeconds)} fixing INC-1234\`.`,
    );
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new AppError(
      "REASON_TOO_LONG",
      `Your reason is ${reason.length.toLocaleString("en-US")} characters long; keep it under ${MAX_REASON_LENGTH.toLocaleString("en-US")} and link to the ticket for details.`,
    );
  }
  return reason;
}

