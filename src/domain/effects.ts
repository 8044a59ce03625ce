import type { DeliveryKey, RequestChange } from "./ports.js";

/**
 * Work that must happen after a decision commits: provisioning, revokes and everything
 * people are told. An effect is enqueued in the same transaction as the decision that needs
 * it (so it exists exactly when the decision does), claimed by one replica, retried until
 * done, and performed by `performEffect` from the state in the database at that moment.
 */
export type Effect =
  | { kind: "provision"; grantId: string }
  | { kind: "deprovision"; grantId: string }
  | { kind: "extend-provision"; grantId: string; previousExpiresAt: string }
  /** One copy of a request message: the approval channel, an approver's DM, or a break-glass review copy. */
  | { kind: "post-request"; requestId: string; target: PostTarget }
  /** Re-render every copy of a request's message from the latest state. */
  | { kind: "refresh-request"; requestId: string }
  | { kind: "notify"; userId: string; notice: Notice }
  /** A line in the audit channel beyond the ledger mirror (alerts that need attention). */
  | { kind: "alert"; notice: Notice }
  /** Finds who has not acted yet and queues their reminder DMs (resolved when it runs, not in the sweep's transaction). */
  | { kind: "remind-approvers"; requestId: string }
  | { kind: "remind-reviewers"; requestId: string; round: number; overdue: boolean }
  /** Re-renders one person's App Home tab from the latest state (coalesced while one is waiting). */
  | { kind: "publish-home"; userId: string };

export type PostTarget =
  | { kind: "channel" }
  | { kind: "dm"; userId: string; reminder?: boolean }
  | { kind: "review"; where: "audit-channel" | { userId: string }; reminder?: boolean };

/** What someone is told, by DM or in the audit channel. Rendered from the latest state when sent. */
export type Notice =
  | { kind: "outcome"; requestId: string; change: RequestChange }
  | { kind: "provisioning-slow"; requestId: string; grantId: string; attempt: number; error: string; retryAt: string }
  | { kind: "provisioning-failed"; requestId: string; grantId: string; attempts: number; error: string }
  | { kind: "expiry-warning"; requestId: string; grantId: string }
  | { kind: "extended"; requestId: string; grantId: string; previousExpiresAt: string; byUserId: string }
  | { kind: "approvers-reminded"; requestId: string; approverIds: string[] }
  | { kind: "break-glass"; requestId: string }
  | { kind: "review-escalated"; requestId: string; reviewerId: string };

export type EffectKind = Effect["kind"];

export interface EnqueueOptions {
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Jobs of one lane never run concurrently (one person's access to a resource, one request's messages). */
  lane?: string;
  /** At most one job with this key is ever enqueued; a second enqueue is a no-op. */
  dedupeKey?: string;
}

/** Serialises everything that touches one person's access to one resource. */
export function accessLane(resource: string, userId: string): string {
  return `access:${resource}:${userId}`;
}

export function messageLane(requestId: string): string {
  return `msg:${requestId}`;
}

/** DMs to one person go out in the order they were decided. */
export function dmLane(userId: string): string {
  return `dm:${userId}`;
}

/** One person's Home tab: publishes never overlap, so an older render cannot overwrite a newer one. */
export function homeLane(userId: string): string {
  return `home:${userId}`;
}

/** How `performEffect` ended: done, or retry at a time it chose (after recording why). */
export type EffectResult = { kind: "done" } | { kind: "retry"; at: Date; error: string };

/** One run of an effect's job. */
export interface EffectRun {
  /** 1 on the first run. */
  attempt: number;
  /** Names what this job posts to Slack, so that a repeated run finds a post that went through instead of posting again. */
  delivery: DeliveryKey;
}
