// `npm run bench:matching`: how long the approval matching takes on user groups of 4,000 and
// 10,000 people, against two references measured in the same run:
//  - baseline: building what any matching needs first, the membership Sets and the candidate
//    list (`eligibleApprovers`), with no matching at all;
//  - before: the previous matching (Kuhn's augmenting paths over every single slot, copied
//    below from the commit before this benchmark), which rescanned all slots at each step.
// Cases: one rule needing every member (the worst case for the slot-by-slot search, and what a
// `policy check` of an "N of N" static group runs), the same one short (the requester is
// excluded: unsatisfiable), and 3 of A + 2 of B (half of A) + 1 of C (one person, in A and B).
// Also `parsePolicy` of a file with one static group of N members and an "N of N" rule (what
// `policy check` and a SIGHUP reload run), after only.
//
// Medians of BENCH_MATCHING_RUNS (21) runs after a warm-up; the before algorithm runs once where
// that takes over a second, and only where it finishes in reasonable time: up to
// BENCH_BEFORE_LIMIT (4,000) members for "N of N", where it is O(N³) (above that the table
// gives the cubic extrapolation), and at every size for the few-slot case.
// Prints logs to stderr and a markdown section for bench/RESULTS.md to stdout.
import os from "node:os";
import { evaluateApproval, type ApprovalEvaluation, type ApproverCandidate } from "../src/domain/evaluate-approval.js";
import type { ApprovalRule, ResourcePolicy } from "../src/domain/policy-model.js";
import { eligibleApprovers, type GroupMembership } from "../src/domain/resolve-approvers.js";
import { parsePolicy } from "../src/policy/load-policy.js";
import { bigGroupPolicyText } from "../test/support/big-group-policy.js";

const SIZES = (process.env.BENCH_MATCHING_SIZES ?? "4000,10000").split(",").map(Number);
const BEFORE_LIMIT = Number(process.env.BENCH_BEFORE_LIMIT ?? 4_000);
const RUNS = Number(process.env.BENCH_MATCHING_RUNS ?? 21);

const log = (text: string) => process.stderr.write(`${text}\n`);
const fmt = (n: number) => n.toLocaleString("en-US");
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The matching as it was before (git show e820580:src/domain/evaluate-approval.ts), unchanged. */
function evaluateApprovalBefore(rules: readonly ApprovalRule[], candidates: readonly ApproverCandidate[]): ApprovalEvaluation {
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

  return { satisfied: progress.every((rule) => rule.filled >= rule.required), rules: progress, assignment };
}

interface Case {
  name: string;
  members: number;
  rules: ApprovalRule[];
  /** Member lists as a directory returns them. */
  groups: Array<[string, string[]]>;
  requester: string;
}

const userId = (index: number) => `U${String(index).padStart(7, "0")}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => userId(from + index));

function cases(n: number): Case[] {
  const everyone = range(0, n);
  return [
    { name: `${fmt(n)} of ${fmt(n)} (one group)`, members: n, rules: [{ group: "all", count: n }], groups: [["all", everyone]], requester: "U0REQUESTER" },
    { name: `${fmt(n)} of ${fmt(n)}, requester excluded (1 short)`, members: n, rules: [{ group: "all", count: n }], groups: [["all", everyone]], requester: userId(7) },
    {
      name: "3 of A + 2 of B (½ of A) + 1 of C (in A and B)",
      members: n,
      rules: [{ group: "a", count: 3 }, { group: "b", count: 2 }, { group: "c", count: 1 }],
      groups: [["a", everyone], ["b", range(0, n / 2)], ["c", [userId(n / 2 - 1)]]],
      requester: "U0REQUESTER",
    },
  ];
}

function prepare(c: Case): ApproverCandidate[] {
  const membership: GroupMembership = new Map(c.groups.map(([group, members]) => [group, new Set(members)]));
  const resource = { rules: c.rules, allowSelfApproval: false } as ResourcePolicy;
  return eligibleApprovers(resource, membership, c.requester);
}

/** Median wall time of `runs` calls, in ms, and the last result. */
function time<T>(runs: number, fn: () => T): { median: number; all: number[]; result: T } {
  const all: number[] = [];
  let result!: T;
  if (runs > 1) fn(); // warm-up, not counted: the first call also pays for compiling the code
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    result = fn();
    all.push(performance.now() - started);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, all, result };
}

function summary(evaluation: ApprovalEvaluation): string {
  return `${evaluation.satisfied ? "satisfied" : "unsatisfied"}, ${evaluation.rules.map((rule) => `${rule.filled}/${rule.required}`).join(" + ")}`;
}

function policyText(n: number): string {
  return bigGroupPolicyText(range(0, n), `        - { group: everyone, count: ${n} }`);
}

const loadBefore = os.loadavg()[0]!;
const rows: string[] = [];
/** The largest measured before time per case (by position), to estimate the sizes not run. */
const measuredBefore = new Map<number, { n: number; ms: number }>();
for (const n of SIZES) {
  for (const [index, c] of cases(n).entries()) {
    log(`${c.name}, ${fmt(n)} members…`);
    const baseline = time(RUNS, () => prepare(c));
    const candidates = baseline.result;
    const after = time(RUNS, () => evaluateApproval(c.rules, candidates));
    let before = "not run";
    let ratio = "";
    // With a few slots the old search is linear in the candidates: run it at every size.
    const slots = c.rules.reduce((sum, rule) => sum + rule.count, 0);
    if (n <= BEFORE_LIMIT || slots <= 100) {
      // One run where it takes seconds (at 4,000 members, "N of N" takes tens of them); a
      // median like the others where it is quick.
      let measured = time(1, () => evaluateApprovalBefore(c.rules, candidates));
      if (measured.median < 1_000) measured = time(RUNS, () => evaluateApprovalBefore(c.rules, candidates));
      if (summary(measured.result) !== summary(after.result)) throw new Error(`before and after disagree on ${c.name}: ${summary(measured.result)} vs ${summary(after.result)}`);
      before = ms(measured.median);
      measuredBefore.set(index, { n, ms: measured.median });
      const speedup = measured.median / after.median;
      ratio = `${speedup >= 10 ? fmt(Math.round(speedup)) : speedup.toFixed(1)}×`;
    }
    const reference = measuredBefore.get(index);
    // Only "N of N" is cubic in N; the few-slot case grows linearly.
    if (n > BEFORE_LIMIT && reference && index < 2 && reference.ms > 1_000) before = `not run (≈ ${fmt(Math.round((reference.ms * (n / reference.n) ** 3) / 1000))} s if O(N³))`;
    rows.push(`| ${c.name} | ${fmt(n)} | ${ms(baseline.median)} | ${before} | ${ms(after.median)} | ${ratio} | ${summary(after.result)} |`);
    log(`  baseline ${ms(baseline.median)} ms, before ${before}${ratio ? " ms" : ""}, after ${ms(after.median)} ms (${after.all.map(ms).join(", ")})`);
  }
  const text = policyText(n);
  const parsed = time(Math.min(RUNS, 3), () => parsePolicy(text, "bench-policy.yml"));
  rows.push(`| \`parsePolicy\`: static group of ${fmt(n)}, rule ${fmt(n)} of ${fmt(n)} | ${fmt(n)} | | | ${ms(parsed.median)} | | valid (whole parse: YAML, schema, semantics) |`);
  log(`  parsePolicy ${ms(parsed.median)} ms`);
}
const loadAfter = os.loadavg()[0]!;

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
process.stdout.write(`
# Benchmark: approval matching (\`npm run bench:matching\`)

Produced by bench/approval-matching.bench.ts on ${new Date().toISOString().slice(0, 10)}.

- Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}
- Load average (1 min) before: ${loadBefore.toFixed(2)}, after: ${loadAfter.toFixed(2)} (other processes shared the cores; times are wall-clock)
- Times in ms, wall clock: medians of ${RUNS} runs after one warm-up; before is a single run where it takes over a second
- baseline = building the membership Sets and the candidate list (\`eligibleApprovers\`), no matching;
  before = the previous slot-by-slot Kuhn matching; after = \`evaluateApproval\` (augmenting paths over rules)

| case | members | baseline | before | after | before/after | result |
|---|---:|---:|---:|---:|---:|---|
${rows.join("\n")}
`);
