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
  /** Who fills this rule's slots in the chosen assignment, earliest candidate first. */
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
 * a maximum bipartite b-matching (rules with capacity `count`, people with capacity 1), so the
 * outcome never depends on the order of clicks: "1 of SRE + 1 of security" needs two people
 * even when one is in both groups, and an early SRE+security vote is moved to whichever rule
 * lets later votes count.
 *
 * Candidates are added in the given order and a candidate once counted stays counted (it may
 * only move to another rule), so with ties the earliest voters are the ones shown as filling a
 * rule. Each candidate is placed by one augmenting path searched over the rules only: from a
 * rule, the next rule is reachable when someone assigned to it is also in that next rule, so
 * the search costs O(R²) however big the groups are, and the whole matching
 * O(people × R²) plus the size of the input (a policy has a handful of rules; groups can hold
 * thousands of people). The same input always gives the same assignment.
 */
export function evaluateApproval(rules: readonly ApprovalRule[], candidates: readonly ApproverCandidate[]): ApprovalEvaluation {
  const ruleCount = rules.length;
  const rulesOfGroup = new Map<string, number[]>();
  rules.forEach((rule, index) => {
    const list = rulesOfGroup.get(rule.group);
    if (list) list.push(index);
    else rulesOfGroup.set(rule.group, [index]);
  });

  // Why: one person fills at most one slot, even if the caller listed them twice.
  const people = collectPeople(candidates, rulesOfGroup, ruleCount);

  /** Which rule each person fills, or -1. */
  const ruleOf = new Int32Array(people.length).fill(-1);
  const filled = new Array<number>(ruleCount).fill(0);
  /** movable[from][to]: people assigned to `from` who are also in `to`, oldest assignment first. */
  const movable: Array<Array<Set<number>>> = Array.from({ length: ruleCount }, () => Array.from({ length: ruleCount }, () => new Set<number>()));

  const place = (person: number, rule: number): void => {
    const previous = ruleOf[person]!;
    const memberOf = people[person]!.rules;
    if (previous >= 0) {
      filled[previous]! -= 1;
      for (const other of memberOf) movable[previous]![other]!.delete(person);
    }
    ruleOf[person] = rule;
    filled[rule]! += 1;
    for (const other of memberOf) if (other !== rule) movable[rule]![other]!.add(person);
  };

  const parent = new Int32Array(ruleCount);
  const queue = new Int32Array(ruleCount);
  // Once every slot is filled no path can end at a free one: the rest count toward nothing.
  let freeSlots = rules.reduce((sum, rule) => sum + Math.max(0, rule.count), 0);
  // The search depends only on the rules a person is in and on the assignment so far, so a
  // set of rules that found no path keeps finding none until someone is placed. People with
  // the same groups share one rules array: thousands of them cost one search.
  const failed = new Set<readonly number[]>();
  for (let person = 0; person < people.length && freeSlots > 0; person++) {
    const memberOf = people[person]!.rules;
    if (memberOf.length === 0 || failed.has(memberOf)) continue;
    // Breadth-first over rules: the first rule (in rule order) with a free slot, fewest moves first.
    parent.fill(-2);
    let head = 0;
    let tail = 0;
    let target = -1;
    for (const rule of memberOf) {
      parent[rule] = -1;
      queue[tail++] = rule;
      if (target < 0 && filled[rule]! < rules[rule]!.count) target = rule;
    }
    while (target < 0 && head < tail) {
      const from = queue[head++]!;
      for (let to = 0; to < ruleCount && target < 0; to++) {
        if (parent[to] !== -2 || movable[from]![to]!.size === 0) continue;
        parent[to] = from;
        queue[tail++] = to;
        if (filled[to]! < rules[to]!.count) target = to;
      }
    }
    if (target < 0) {
      failed.add(memberOf); // no assignment counts this person without dropping someone
      continue;
    }
    failed.clear();
    // Shift one person along each step of the path, from the free slot backwards.
    for (let to = target; parent[to]! >= 0; to = parent[to]!) {
      const from = parent[to]!;
      const moving = movable[from]![to]!.values().next().value as number;
      place(moving, to);
    }
    let first = target;
    while (parent[first]! >= 0) first = parent[first]!;
    place(person, first);
    freeSlots -= 1;
  }

  const progress: RuleProgress[] = rules.map((rule) => ({ group: rule.group, required: rule.count, filled: 0, assigned: [] }));
  const counted: Array<[string, string]> = [];
  people.forEach(({ userId }, person) => {
    const rule = ruleOf[person]!;
    if (rule < 0) return;
    const entry = progress[rule]!;
    entry.filled += 1;
    entry.assigned.push(userId);
    counted.push([userId, entry.group]);
  });
  // Why fromEntries: it defines properties, so a user id like "__proto__" stays a plain key.
  const assignment: Record<string, string> = Object.fromEntries(counted);

  return {
    satisfied: progress.every((rule) => rule.filled >= rule.required),
    rules: progress,
    assignment,
  };
}

interface Person {
  userId: string;
  /** Indexes of the rules this person may fill, ascending, without repeats; shared, never mutated. */
  rules: readonly number[];
}

function collectPeople(candidates: readonly ApproverCandidate[], rulesOfGroup: ReadonlyMap<string, readonly number[]>, ruleCount: number): Person[] {
  const people: Person[] = [];
  const indexOf = new Map<string, number>();
  const rulesFor = (groups: readonly string[]): number[] => [...new Set(groups.flatMap((group) => rulesOfGroup.get(group) ?? []))].sort((a, b) => a - b);
  // Most people share a handful of combinations of groups: with up to 30 rules each
  // combination is a bit mask, mapped to its rules once (this loop runs for every member).
  const bitOfGroup = ruleCount <= 30 ? new Map<string, number>() : null;
  for (const [group, indexes] of rulesOfGroup) bitOfGroup?.set(group, indexes.reduce((mask, index) => mask | (1 << index), 0));
  const rulesOfMask = new Map<number, readonly number[]>();
  for (const candidate of candidates) {
    let rules: readonly number[];
    if (bitOfGroup) {
      let mask = 0;
      for (const group of candidate.groups) mask |= bitOfGroup.get(group) ?? 0;
      let shared = rulesOfMask.get(mask);
      if (shared === undefined) {
        shared = rulesFor(candidate.groups);
        rulesOfMask.set(mask, shared);
      }
      rules = shared;
    } else {
      rules = rulesFor(candidate.groups);
    }
    const index = indexOf.get(candidate.userId);
    if (index === undefined) {
      indexOf.set(candidate.userId, people.length);
      people.push({ userId: candidate.userId, rules });
    } else {
      const person = people[index]!;
      person.rules = [...new Set([...person.rules, ...rules])].sort((a, b) => a - b);
    }
  }
  return people;
}

/** The rules still missing approvals, e.g. for "Security: 0 of 1". */
export function unmetRules(evaluation: ApprovalEvaluation): RuleProgress[] {
  return evaluation.rules.filter((rule) => rule.filled < rule.required);
}
