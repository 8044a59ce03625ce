import type { ApprovalRule } from "./policy-model.js";

/** One approver's vote with the rule groups they belonged to when it was evaluated. */
export interface ApproverCandidate {
  userId: string;
  groups: readonly string[];
}

export interface RuleProgress {
  group: string;
  required: number;
  filled: number;
  /** Who fills this rule's slots in the chosen assignment. */
  assigned: string[];
}

export interface ApprovalEvaluation {
  satisfied: boolean;
  rules: RuleProgress[];
  /** For each approver counted, the rule group their vote fills; absent when it fills none. */
  assignment: Record<string, string>;
}

/**
 * Decides whether a set of approvers satisfies every rule, treating each rule as `count`
 * slots and each person as able to fill at most one slot of a group they belong to. This is
 * a maximum bipartite matching (Kuhn's augmenting paths), so the outcome never depends on the
 * order of clicks: "1 of SRE + 1 of security" needs two people even when one is in both
 * groups, and an early SRE+security vote is moved to whichever rule lets later votes count.
 *
 * Candidates are tried in the given order, so with ties the earliest voters are the ones
 * shown as filling a rule.
 */
export function evaluateApproval(rules: readonly ApprovalRule[], candidates: readonly ApproverCandidate[]): ApprovalEvaluation {
  const slots: string[] = rules.flatMap((rule) => Array.from({ length: rule.count }, () => rule.group));
  const slotOwner: Array<number | null> = slots.map(() => null);

  const tryAssign = (candidate: number, visited: boolean[]): boolean => {
    const groups = candidates[candidate]!.groups;
    for (let slot = 0; slot < slots.length; slot++) {
      if (visited[slot] || !groups.includes(slots[slot]!)) continue;
      visited[slot] = true;
      const owner = slotOwner[slot];
      if (owner === null || owner === undefined || tryAssign(owner, visited)) {
        slotOwner[slot] = candidate;
        return true;
      }
    }
    return false;
  };

  for (let candidate = 0; candidate < candidates.length; candidate++) {
    tryAssign(candidate, slots.map(() => false));
  }

  const assignment: Record<string, string> = {};
  const progress = rules.map((rule) => ({ group: rule.group, required: rule.count, filled: 0, assigned: [] as string[] }));
  slotOwner.forEach((owner, slot) => {
    if (owner === null || owner === undefined) return;
    const group = slots[slot]!;
    const userId = candidates[owner]!.userId;
    assignment[userId] = group;
    const rule = progress.find((entry) => entry.group === group)!;
    rule.filled += 1;
    rule.assigned.push(userId);
  });

  return {
    satisfied: progress.every((rule) => rule.filled >= rule.required),
    rules: progress,
    assignment,
  };
}

/** The rules still missing approvals, e.g. for "Security: 0 of 1". */
export function unmetRules(evaluation: ApprovalEvaluation): RuleProgress[] {
  return evaluation.rules.filter((rule) => rule.filled < rule.required);
}
