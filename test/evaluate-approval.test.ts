import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluateApproval } from "../src/domain/evaluate-approval.js";

const rules = [
  { group: "sre", count: 2 },
  { group: "security", count: 1 },
];

describe("evaluateApproval: distinct people assigned to rule slots", () => {
  test("2 of SRE + 1 of security is met by three distinct people", () => {
    const result = evaluateApproval(rules, [
      { userId: "A", groups: ["sre"] },
      { userId: "B", groups: ["sre"] },
      { userId: "C", groups: ["security"] },
    ]);
    assert.equal(result.satisfied, true);
    assert.deepEqual(result.assignment, { A: "sre", B: "sre", C: "security" });
  });

  test("one person in both groups fills one slot only", () => {
    const result = evaluateApproval([{ group: "sre", count: 1 }, { group: "security", count: 1 }], [{ userId: "X", groups: ["sre", "security"] }]);
    assert.equal(result.satisfied, false);
    assert.equal(result.rules.reduce((sum, rule) => sum + rule.filled, 0), 1);
  });

  test("the order of clicks does not matter: an early dual-group vote is moved to the rule that needs it", () => {
    const voters = [
      { userId: "X", groups: ["sre", "security"] },
      { userId: "A", groups: ["sre"] },
      { userId: "B", groups: ["sre"] },
    ];
    const permutations = [
      [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0],
    ];
    for (const order of permutations) {
      const result = evaluateApproval(rules, order.map((index) => voters[index]!));
      assert.equal(result.satisfied, true, `order ${order.join("")}`);
      assert.equal(result.assignment.X, "security");
    }
  });

  test("non-members and surplus voters count toward nothing", () => {
    const result = evaluateApproval(rules, [
      { userId: "A", groups: ["sre"] },
      { userId: "B", groups: ["sre"] },
      { userId: "C", groups: ["sre"] },
      { userId: "Z", groups: [] },
    ]);
    assert.equal(result.satisfied, false);
    assert.deepEqual(result.rules.map((rule) => [rule.group, rule.filled]), [["sre", 2], ["security", 0]]);
    assert.equal(result.assignment.Z, undefined);
  });

  test("no votes: nothing filled, nothing satisfied", () => {
    const result = evaluateApproval(rules, []);
    assert.equal(result.satisfied, false);
    assert.deepEqual(result.rules.map((rule) => rule.filled), [0, 0]);
  });
});
