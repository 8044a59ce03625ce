/** Plain records the domain works with; the database layer maps its rows onto these. */

export type RequestStatus = "PENDING" | "APPROVED" | "DENIED" | "CANCELLED" | "EXPIRED" | "UNSATISFIABLE";
export type GrantStatus = "ACTIVE" | "EXPIRED" | "REVOKED";
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
}

export type MessageKind = "channel" | "dm";

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
}

/** What approvers are shown so they don't approve blind. */
export interface RequesterHistory {
  grantsLast30Days: number;
  recentGrants: Array<{ requestId: string; activatedAt: Date; durationSeconds: number; reason: string; status: GrantStatus }>;
  deniedLast30Days: number;
}
