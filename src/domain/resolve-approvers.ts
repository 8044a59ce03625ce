import type { Policy, ResourcePolicy } from "./policy-model.js";
import { AppError } from "./app-error.js";
import { evaluateApproval, type ApproverCandidate } from "./evaluate-approval.js";
import type { Directory } from "./ports.js";

/** Who is in each of a resource's rule groups right now. */
export type GroupMembership = Map<string, Set<string>>;

export async function resolveRuleGroups(policy: Policy, resource: ResourcePolicy, directory: Directory): Promise<GroupMembership> {
  const membership: GroupMembership = new Map();
  for (const rule of resource.rules) {
    const source = policy.groups[rule.group];
    if (!source) throw new Error(`policy names unknown group ${rule.group}`);
    try {
      membership.set(rule.group, new Set(await directory.membersOf(source)));
    } catch (error) {
      throw new AppError(
        "DIRECTORY_UNAVAILABLE",
        `I couldn't look up the members of the approver group “${rule.group}” in Slack just now. Nothing was changed; please try again in a minute.`,
        `resolving group ${rule.group} failed: ${(error as Error).message}`,
      );
    }
  }
  return membership;
}

/** The rule groups a person is in, in the membership's order; one Set lookup per group. */
export function groupsOf(userId: string, membership: GroupMembership): string[] {
  const groups: string[] = [];
  for (const [group, members] of membership) if (members.has(userId)) groups.push(group);
  return groups;
}

/**
 * Everyone who could approve, as matching candidates sorted by user id; the requester only if
 * self-approval is allowed. Linear in the members of the groups (one pass over each Set), so a
 * group of thousands costs milliseconds, not a frozen event loop.
 */
export function eligibleApprovers(resource: ResourcePolicy, membership: GroupMembership, requesterId: string): ApproverCandidate[] {
  const groupsByPerson = new Map<string, string[]>();
  for (const [group, members] of membership) {
    for (const person of members) {
      const groups = groupsByPerson.get(person);
      if (groups) groups.push(group);
      else groupsByPerson.set(person, [group]);
    }
  }
  if (!resource.allowSelfApproval) groupsByPerson.delete(requesterId);
  return [...groupsByPerson.keys()].sort().map((userId) => ({ userId, groups: groupsByPerson.get(userId)! }));
}

/**
 * Says why the people who exist right now could never satisfy the rules, one sentence per
 * rule that falls short, or returns [] when some assignment of distinct people works.
 */
export function explainUnsatisfiable(resource: ResourcePolicy, membership: GroupMembership, requesterId: string): string[] {
  const candidates = eligibleApprovers(resource, membership, requesterId);
  const evaluation = evaluateApproval(resource.rules, candidates);
  if (evaluation.satisfied) return [];
  const excluded = !resource.allowSelfApproval;
  return evaluation.rules
    .filter((rule) => rule.filled < rule.required)
    .map((rule) => {
      const members = membership.get(rule.group) ?? new Set<string>();
      const eligible = members.size - (excluded && members.has(requesterId) ? 1 : 0);
      const why =
        eligible < rule.required
          ? `it has only ${eligible} eligible ${eligible === 1 ? "member" : "members"}${excluded && members.has(requesterId) ? " once you, the requester, are excluded" : ""}`
          : "its members are also needed for the other rules, and one person can fill only one rule";
      return `${rule.group} needs ${rule.required} ${rule.required === 1 ? "approval" : "approvals"}, but ${why}`;
    });
}
