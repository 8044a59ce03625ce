import { homeLane } from "./effects.js";
import type { AccessDeps, AccessTx } from "./ports.js";
import { eligibleApprovers, resolveRuleGroups } from "./resolve-approvers.js";

/** Queues a re-render of one person's Home tab; a render still waiting to start absorbs it (PrismaAccessStore). */
export async function enqueueHomePublish(tx: AccessTx, userId: string): Promise<void> {
  await tx.enqueue({ kind: "publish-home", userId }, { lane: homeLane(userId) });
}

/**
 * After a request changed (its messages are being posted or refreshed): re-publishes the Home
 * tab of everyone it shows up for, namely the requester, whoever voted, and everyone who could
 * approve it now, so that it appears in or leaves their "Waiting for me". Only people who
 * have opened the Home tab are published to: the others get a fresh tab when they first open
 * it, and a large approver group does not cost a views.publish per member per change.
 */
export async function refreshHomesOf(deps: AccessDeps, requestId: string): Promise<void> {
  const snapshot = await deps.store.getSnapshot(requestId);
  if (!snapshot) return;
  const people = new Set([snapshot.request.requesterId, ...snapshot.votes.map((vote) => vote.voterId)]);
  const { policy } = deps.policy.current();
  const resource = policy.resources[snapshot.request.resource];
  if (resource) {
    try {
      const membership = await resolveRuleGroups(policy, resource, deps.directory);
      for (const candidate of eligibleApprovers(resource, membership, snapshot.request.requesterId)) people.add(candidate.userId);
    } catch {
      // The approvers' tabs catch up on their next change or when they open the tab; the requester's still refreshes.
    }
  }
  const recipients = await deps.store.homeTabUsers([...people]);
  if (recipients.length === 0) return;
  await deps.store.transaction(async (tx) => {
    for (const userId of recipients.sort()) await enqueueHomePublish(tx, userId);
  });
}
