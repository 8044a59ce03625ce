import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { evaluateApproval, type ApprovalEvaluation, type ApproverCandidate } from "../src/domain/evaluate-approval.js";
import type { ResourcePolicy } from "../src/domain/policy-model.js";
import { eligibleApprovers, explainUnsatisfiable, type GroupMembership } from "../src/domain/resolve-approvers.js";
import { checkPolicyCommand } from "../src/policy/check-policy-command.js";
import { bigGroupPolicyText } from "./support/big-group-policy.js";

const userId = (index: number) => `U${String(index).padStart(6, "0")}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => userId(from + index));

/** Every structural promise of an evaluation: distinct people, members only, counts that add up. */
function assertConsistent(evaluation: ApprovalEvaluation, candidates: readonly ApproverCandidate[]): void {
  const groupsOf = new Map(candidates.map((candidate) => [candidate.userId, new Set(candidate.groups)]));
  const seen = new Set<string>();
  for (const rule of evaluation.rules) {
    assert.equal(rule.assigned.length, rule.filled, `${rule.group}: filled matches assigned`);
    assert.ok(rule.filled <= rule.required, `${rule.group}: never more than required`);
    for (const person of rule.assigned) {
      assert.ok(!seen.has(person), `${person} fills one slot only`);
      seen.add(person);
      assert.ok(groupsOf.get(person)?.has(rule.group), `${person} is a member of ${rule.group}`);
      assert.equal(evaluation.assignment[person], rule.group);
    }
  }
  assert.equal(Object.keys(evaluation.assignment).length, seen.size);
  assert.equal(evaluation.satisfied, evaluation.rules.every((rule) => rule.filled === rule.required));
}

describe("evaluateApproval at the size of real user groups", () => {
  test("3 of A (10,000) + 2 of B (5,000 inside A) + 1 of C (only in A and B) is met by six distinct members", () => {
    // C's only member is also in A and B, so the matching must keep them for C.
    const a = new Set(range(0, 10_000));
    const b = new Set(range(0, 5_000));
    const c = new Set([userId(0)]);
    const membership: GroupMembership = new Map([["a", a], ["b", b], ["c", c]]);
    const resource = { rules: [{ group: "a", count: 3 }, { group: "b", count: 2 }, { group: "c", count: 1 }], allowSelfApproval: false } as ResourcePolicy;

    const candidates = eligibleApprovers(resource, membership, "U0REQUESTER");
    assert.equal(candidates.length, 10_000);
    const evaluation = evaluateApproval(resource.rules, candidates);
    assertConsistent(evaluation, candidates);
    assert.equal(evaluation.satisfied, true);
    assert.deepEqual(evaluation.rules.map((rule) => [rule.group, rule.filled]), [["a", 3], ["b", 2], ["c", 1]]);
    assert.equal(evaluation.assignment[userId(0)], "c");
    assert.equal(Object.keys(evaluation.assignment).length, 6);
    assert.deepEqual(explainUnsatisfiable(resource, membership, "U0REQUESTER"), []);
  });

  test("the same votes in reverse order fill the same number of slots, and the same input gives the same assignment", () => {
    const candidates: ApproverCandidate[] = range(0, 10_000).map((id, index) => ({
      userId: id,
      groups: index < 5_000 ? ["a", "b"] : ["a"],
    }));
    candidates.push({ userId: "U0C", groups: ["a", "b", "c"] });
    const rules = [{ group: "a", count: 3 }, { group: "b", count: 2 }, { group: "c", count: 1 }];
    const forward = evaluateApproval(rules, candidates);
    const backward = evaluateApproval(rules, [...candidates].reverse());
    assertConsistent(forward, candidates);
    assertConsistent(backward, candidates);
    assert.equal(forward.satisfied, true);
    assert.equal(backward.satisfied, true);
    assert.equal(forward.assignment.U0C, "c");
    assert.equal(backward.assignment.U0C, "c");
    assert.deepEqual(evaluateApproval(rules, candidates), forward);
  });

  test("a rule for all 10,000 members of a group is met with everyone counted once", () => {
    const members = new Set(range(0, 10_000));
    const resource = { rules: [{ group: "everyone", count: 10_000 }], allowSelfApproval: false } as ResourcePolicy;
    const candidates = eligibleApprovers(resource, new Map([["everyone", members]]), "U0REQUESTER");
    const evaluation = evaluateApproval(resource.rules, candidates);
    assertConsistent(evaluation, candidates);
    assert.equal(evaluation.satisfied, true);
    assert.equal(evaluation.rules[0]!.filled, 10_000);
  });

  test("10,000 of a group of 10,000 with the requester excluded falls one short, and says so", () => {
    const members = new Set(range(0, 10_000));
    const requester = userId(42);
    const membership: GroupMembership = new Map([["everyone", members]]);
    const resource = { rules: [{ group: "everyone", count: 10_000 }], allowSelfApproval: false } as ResourcePolicy;

    const candidates = eligibleApprovers(resource, membership, requester);
    assert.equal(candidates.length, 9_999);
    const evaluation = evaluateApproval(resource.rules, candidates);
    assertConsistent(evaluation, candidates);
    assert.equal(evaluation.satisfied, false);
    assert.equal(evaluation.rules[0]!.filled, 9_999);
    assert.equal(evaluation.assignment[requester], undefined);
    assert.deepEqual(explainUnsatisfiable(resource, membership, requester), [
      "everyone needs 10000 approvals, but it has only 9999 eligible members once you, the requester, are excluded",
    ]);
  });

  test("overlapping groups too small together report the matching's shortfall, not the group sizes", () => {
    // 10,000 people, all in both groups: 9,000 of A + 1,001 of B needs 10,001 distinct people.
    const everyone = new Set(range(0, 10_000));
    const membership: GroupMembership = new Map([["a", everyone], ["b", everyone]]);
    const resource = { rules: [{ group: "a", count: 9_000 }, { group: "b", count: 1_001 }], allowSelfApproval: true } as ResourcePolicy;
    const candidates = eligibleApprovers(resource, membership, "U0REQUESTER");
    const evaluation = evaluateApproval(resource.rules, candidates);
    assertConsistent(evaluation, candidates);
    assert.equal(evaluation.satisfied, false);
    assert.equal(evaluation.rules.reduce((sum, rule) => sum + rule.filled, 0), 10_000);
    assert.deepEqual(explainUnsatisfiable(resource, membership, "U0REQUESTER"), [
      "b needs 1001 approvals, but its members are also needed for the other rules, and one person can fill only one rule",
    ]);
  });
});

describe("policy check with a static group of 10,000", () => {
  const dir = mkdtempSync(join(tmpdir(), "matching-scale-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const policyText = (rules: string, extraGroups = "") => bigGroupPolicyText(range(0, 10_000), rules, extraGroups);

  function capture() {
    const logs: string[] = [];
    const errors: string[] = [];
    return { logs, errors, out: { log: (s: string) => logs.push(s), error: (s: string) => errors.push(s) } };
  }

  test("a 10,000-of-10,000 rule is proved satisfiable and the policy is valid", async () => {
    const path = join(dir, "everyone.yml");
    writeFileSync(path, policyText("        - { group: everyone, count: 10000 }"));
    const { logs, errors, out } = capture();
    assert.equal(await checkPolicyCommand(path, out), 0, errors.join("\n"));
    assert.match(logs[0] ?? "", /is valid: 1 resource, 2 groups/);
    assert.deepEqual(errors, []);
  });

  test("9,000 of the 10,000 plus 1,001 of a subgroup is refused: 10,001 distinct people do not exist", async () => {
    const path = join(dir, "too-many.yml");
    const subgroup = `  leads: { members: [${range(0, 1_001).join(", ")}] }\n`;
    writeFileSync(path, policyText("        - { group: everyone, count: 9000 }\n        - { group: leads, count: 1001 }", subgroup));
    const { logs, errors, out } = capture();
    assert.equal(await checkPolicyCommand(path, out), 1);
    assert.deepEqual(logs, []);
    assert.match(errors[0] ?? "", /is invalid \(1 issue\)/);
    assert.match(errors[1] ?? "", /resources\.big-vote\.approval\.rules: the rules on static groups need 10001 different approvers .* at most 10000/);
  });
});
