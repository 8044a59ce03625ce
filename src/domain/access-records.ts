/** Plain records the domain works with; the database layer maps its rows onto these. */

export type RequestStatus = "PENDING" | "APPROVED" | "DENIED" | "CANCELLED" | "EXPIRED" | "UNSATISFIABLE";
export type GrantStatus = "PROVISIONING" | "ACTIVE" | "EXPIRED" | "REVOKED" | "FAILED";
export type ReviewStatus = "OPEN" | "OK" | "ESCALATED";
export type VoteDecision = "APPROVE" | "DENY";

export interface AccessRequestRecord {
  id: string;
  teamId: string;
  requesterId: string;
  requesterName: string;
  resource: string;
  durationSeconds: number;
  reason: string;
  status: RequestStatus;
  policySha256: string;
  createdAt: Date;
  pendingUntil: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  denyReason: string | null;
  /** Granted at once without approvals; a review follows. */
  breakGlass: boolean;
  /** An extension request: approval moves this grant's expiry instead of opening a new grant. */
  extendsGrantId: string | null;
  remindedAt: Date | null;
}

export interface VoteRecord {
  requestId: string;
  voterId: string;
  voterName: string;
  decision: VoteDecision;
  createdAt: Date;
}

export interface GrantRecord {
  id: string;
  requestId: string;
  userId: string;
  resource: string;
  status: GrantStatus;
  activatedAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endedBy: string | null;
  endReason: string | null;
  /** The provisioner type that grants the access; null for approval-only resources. */
  provisioner: string | null;
  /** When the target system confirmed the end of access (null while a revoke is still due). */
  deprovisionedAt: Date | null;
  warnedAt: Date | null;
  extensions: number;
  /** Idempotency keys of extensions applied without approval. */
  extensionKeys: string[];
}

/** channel: the approval channel; dm: an approver's DM; review: a break-glass review copy (audit channel or reviewer DM). */
export type MessageKind = "channel" | "dm" | "review";

export interface RequestMessageRef {
  channelId: string;
  ts: string;
  kind: MessageKind;
  recipientId: string | null;
}

/** A request with everything needed to render it. */
export interface RequestSnapshot {
  request: AccessRequestRecord;
  votes: VoteRecord[];
  grant: GrantRecord | null;
  messages: RequestMessageRef[];
  review: BreakGlassReviewRecord | null;
}

export interface BreakGlassReviewRecord {
  requestId: string;
  reviewGroup: string;
  status: ReviewStatus;
  dueAt: Date;
  nextReminderAt: Date | null;
  reminders: number;
  reviewerId: string | null;
  reviewedAt: Date | null;
}

/** What approvers are shown so they don't approve blind. */
export interface RequesterHistory {
  grantsLast30Days: number;
  recentGrants: Array<{ requestId: string; activatedAt: Date; durationSeconds: number; reason: string; status: GrantStatus }>;
  deniedLast30Days: number;
}
