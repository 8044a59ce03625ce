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

  test("a vote reaches a free slot through a chain of moves, and everyone stays counted", () => {
    // X can only fill a; a is full with P (a, b); b is full with Q (b, c); c is free.
    const chain = [{ group: "a", count: 1 }, { group: "b", count: 1 }, { group: "c", count: 1 }];
    const result = evaluateApproval(chain, [
      { userId: "P", groups: ["a", "b"] },
      { userId: "Q", groups: ["b", "c"] },
      { userId: "X", groups: ["a"] },
    ]);
    assert.equal(result.satisfied, true);
    assert.deepEqual(result.assignment, { P: "b", Q: "c", X: "a" });
    assert.deepEqual(result.rules.map((rule) => rule.assigned), [["X"], ["P"], ["Q"]]);
  });

  test("a person listed twice fills one slot, with the groups of both entries", () => {
    const result = evaluateApproval(rules, [
      { userId: "A", groups: ["sre"] },
      { userId: "A", groups: ["security"] },
      { userId: "B", groups: ["sre"] },
    ]);
    assert.equal(result.rules.reduce((sum, rule) => sum + rule.filled, 0), 2);
    assert.equal(result.satisfied, false);
    assert.deepEqual(Object.keys(result.assignment).sort(), ["A", "B"]);
    // With a third person only in sre, A's second entry (security) is what satisfies the rules.
    const merged = evaluateApproval(rules, [
      { userId: "A", groups: ["sre"] },
      { userId: "B", groups: ["sre"] },
      { userId: "A", groups: ["security"] },
      { userId: "C", groups: ["sre"] },
    ]);
    assert.equal(merged.satisfied, true);
    assert.deepEqual(merged.assignment, { A: "security", B: "sre", C: "sre" });
  });

  test("a user id like __proto__ is just a key of the assignment", () => {
    const result = evaluateApproval([{ group: "sre", count: 1 }], [{ userId: "__proto__", groups: ["sre"] }]);
    assert.equal(Object.getPrototypeOf(result.assignment), Object.prototype);
    assert.deepEqual(Object.entries(result.assignment), [["__proto__", "sre"]]);
  });

  test("fills as many slots as the best assignment, on 500 random small cases checked exhaustively", () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const groups = ["a", "b", "c"];
    for (let round = 0; round < 500; round++) {
      const ruleSet = groups.slice(0, 1 + random(3)).map((group) => ({ group, count: 1 + random(3) }));
      const people = Array.from({ length: random(7) }, (_, index) => ({ userId: `U${index}`, groups: groups.filter(() => random(2) === 1) }));
      // Exhaustive: every way of giving each person one rule they are in, or none.
      let best = 0;
      const filled = ruleSet.map(() => 0);
      const search = (index: number, total: number): void => {
        if (index === people.length) {
          best = Math.max(best, total);
          return;
        }
        search(index + 1, total);
        ruleSet.forEach((rule, r) => {
          if (!people[index]!.groups.includes(rule.group) || filled[r]! >= rule.count) return;
          filled[r]! += 1;
          search(index + 1, total + 1);
          filled[r]! -= 1;
        });
      };
      search(0, 0);
      const result = evaluateApproval(ruleSet, people);
      const label = JSON.stringify({ ruleSet, people });
      assert.equal(result.rules.reduce((sum, rule) => sum + rule.filled, 0), best, label);
      assert.deepEqual(evaluateApproval(ruleSet, people), result, `deterministic: ${label}`);
      for (const rule of result.rules) {
        assert.ok(rule.filled <= rule.required, label);
        for (const person of rule.assigned) assert.ok(people.find((p) => p.userId === person)!.groups.includes(rule.group), label);
      }
      assert.equal(new Set(result.rules.flatMap((rule) => rule.assigned)).size, result.rules.reduce((sum, rule) => sum + rule.filled, 0), label);
    }
  });

  test("more than 30 rules work the same (no bit masks there)", () => {
    const many = Array.from({ length: 35 }, (_, index) => ({ group: `g${index}`, count: 1 }));
    // Person i is in g(i) and g(i+1); listed in reverse, so early voters must move along.
    const people = many.map((_, index) => ({ userId: `U${index}`, groups: [`g${index}`, `g${(index + 1) % 35}`] })).reverse();
    const result = evaluateApproval(many, people);
    assert.equal(result.satisfied, true);
    assert.equal(new Set(Object.keys(result.assignment)).size, 35);
    for (const [userId, group] of Object.entries(result.assignment)) assert.ok(people.find((p) => p.userId === userId)!.groups.includes(group));
    assert.equal(evaluateApproval(many, people.slice(1)).rules.reduce((sum, rule) => sum + rule.filled, 0), 34);
  });
});
