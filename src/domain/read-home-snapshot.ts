import type { AccessRequestRecord, GrantRecord } from "./access-records.js";
import type { RuleProgress } from "./evaluate-approval.js";
import { HOME_LIMITS } from "./home-records.js";
import type { GroupSource, Policy } from "./policy-model.js";
import type { AccessDeps, Directory } from "./ports.js";
import { resolveRuleGroups, type GroupMembership } from "./resolve-approvers.js";
import { evaluateVotes, mayVote } from "./vote-on-request.js";

export interface HomeRequestItem {
  request: AccessRequestRecord;
  resourceTitle: string;
  /** Progress per rule, or null when the approver groups could not be resolved just now. */
  rules: RuleProgress[] | null;
}

/** Everything one person's Home tab shows, as it is at `renderedAt`. */
export interface HomeSnapshot {
  userId: string;
  renderedAt: Date;
  grants: Array<{ grant: GrantRecord; request: AccessRequestRecord; resourceTitle: string }>;
  pending: HomeRequestItem[];
  waiting: HomeRequestItem[];
  recent: Array<{ request: AccessRequestRecord; grant: GrantRecord | null }>;
  /** Lists cut at their limit: the rest is reachable with `/access list` or in the approval channel. */
  more: { grants: boolean; pending: boolean; waiting: boolean };
  /** Some approver group could not be resolved, so "Waiting for me" may be missing requests. */
  incomplete: boolean;
}

/**
 * Reads what one person's Home tab shows. "Waiting for me" holds the pending requests whose
 * rules name a group the person is in right now, checked with the same rule a vote is
 * (`mayVote`, membership resolved live): the tab never offers a button the click would refuse.
 */
export async function readHomeSnapshot(deps: Pick<AccessDeps, "store" | "policy" | "directory" | "clock">, userId: string): Promise<HomeSnapshot> {
  const { policy } = deps.policy.current();
  const now = deps.clock.now();
  const { memberships, incomplete } = await resolveAllRuleGroups(policy, memoizeGroups(deps.directory));
  const approvableResources = [...memberships]
    .filter(([, membership]) => [...membership.values()].some((members) => members.has(userId)))
    .map(([resourceId]) => resourceId);
  const records = await deps.store.listHomeRecords(userId, { approvableResources, now });

  const title = (resourceId: string) => policy.resources[resourceId]?.title ?? resourceId;
  const progress = (request: AccessRequestRecord, votes: Parameters<typeof evaluateVotes>[3]): RuleProgress[] | null => {
    const resource = policy.resources[request.resource];
    const membership = memberships.get(request.resource);
    return resource && membership ? evaluateVotes(resource, membership, request, votes).rules : null;
  };
  const waiting = records.approvable.filter(({ request }) => {
    const resource = policy.resources[request.resource];
    const membership = memberships.get(request.resource);
    return resource !== undefined && membership !== undefined && mayVote(resource, membership, request, userId);
  });
  return {
    userId,
    renderedAt: now,
    grants: records.grants.slice(0, HOME_LIMITS.grants).map(({ grant, request }) => ({ grant, request, resourceTitle: title(grant.resource) })),
    pending: records.pending.slice(0, HOME_LIMITS.pending).map(({ request, votes }) => ({ request, resourceTitle: title(request.resource), rules: progress(request, votes) })),
    waiting: waiting.slice(0, HOME_LIMITS.waiting).map(({ request, votes }) => ({ request, resourceTitle: title(request.resource), rules: progress(request, votes) })),
    recent: records.recent.slice(0, HOME_LIMITS.recent),
    more: { grants: records.grants.length > HOME_LIMITS.grants, pending: records.pending.length > HOME_LIMITS.pending, waiting: waiting.length > HOME_LIMITS.waiting },
    incomplete,
  };
}

/** Each resource's rule groups; a group Slack can't resolve now drops its resources, not the whole tab. */
async function resolveAllRuleGroups(policy: Policy, directory: Directory): Promise<{ memberships: Map<string, GroupMembership>; incomplete: boolean }> {
  const memberships = new Map<string, GroupMembership>();
  let incomplete = false;
  for (const resource of Object.values(policy.resources)) {
    try {
      memberships.set(resource.id, await resolveRuleGroups(policy, resource, directory));
    } catch {
      incomplete = true;
    }
  }
  return { memberships, incomplete };
}

/** Several resources name the same groups: each is looked up once per render. */
function memoizeGroups(directory: Directory): Directory {
  const seen = new Map<GroupSource, Promise<string[]>>();
  return {
    membersOf: (source) => {
      let members = seen.get(source);
      if (!members) seen.set(source, (members = directory.membersOf(source)));
      return members;
    },
    lookupUser: (id) => directory.lookupUser(id),
  };
}
