import type { GrantRecord } from "./access-records.js";
import { accessLane, dmLane, messageLane, type Notice, type PostTarget } from "./effects.js";
import type { AccessTx } from "./ports.js";

/**
 * The effects decisions enqueue, each in the decision's own transaction. Keys make a repeat
 * of the same decision (a retry, a second replica's sweep) enqueue nothing new.
 */
export async function enqueueRefresh(tx: AccessTx, requestId: string): Promise<void> {
  await tx.enqueue({ kind: "refresh-request", requestId }, { lane: messageLane(requestId) });
}

export async function enqueuePost(tx: AccessTx, requestId: string, target: PostTarget, dedupeKey: string): Promise<void> {
  await tx.enqueue({ kind: "post-request", requestId, target }, { lane: messageLane(requestId), dedupeKey });
}

export async function enqueueNotice(tx: AccessTx, userId: string, notice: Notice, dedupeKey: string): Promise<void> {
  await tx.enqueue({ kind: "notify", userId, notice }, { lane: dmLane(userId), dedupeKey });
}

export async function enqueueAlert(tx: AccessTx, notice: Notice, dedupeKey: string): Promise<void> {
  await tx.enqueue({ kind: "alert", notice }, { lane: "audit-alerts", dedupeKey });
}

export async function enqueueProvision(tx: AccessTx, grant: GrantRecord): Promise<void> {
  await tx.enqueue({ kind: "provision", grantId: grant.id }, { lane: accessLane(grant.resource, grant.userId), dedupeKey: `provision:${grant.id}` });
}

/** Only grants that a provisioner granted have anything to revoke. */
export async function enqueueDeprovision(tx: AccessTx, grant: GrantRecord): Promise<void> {
  if (grant.provisioner === null) return;
  await tx.enqueue({ kind: "deprovision", grantId: grant.id }, { lane: accessLane(grant.resource, grant.userId), dedupeKey: `deprovision:${grant.id}` });
}
