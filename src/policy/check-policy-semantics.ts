/**
 * Cross-reference checks that no single-field schema can express: groups that do not exist,
 * rules that nobody could ever satisfy, a default duration above the maximum, keys that only
 * make sense together (break-glass review group, extension limits).
 *
 * Why these are errors and not warnings: an unsatisfiable rule means requests that hang until
 * they expire, and people then route around the bot. Better to refuse the policy at deploy
 * time with a message that says how to fix it.
 *
 * These checks read the file leniently and skip only what depends on a broken value, so they
 * still run when other parts of the file are broken (the schema pass reports those), and
 * every problem comes out in one run.
 */
import type { z } from "zod";
import { formatDuration } from "../domain/parse-duration.js";
import type { PathIssue } from "./policy-error.js";
import { evaluateApproval } from "../domain/evaluate-approval.js";
import {
  DEFAULT_DEFAULT_DURATION_SECONDS,
  DEFAULT_MAX_DURATION_SECONDS,
  breakGlassFileSchema,
  extensionFileSchema,
  groupFileSchema,
  resourceFileShape,
  ruleFileSchema,
  type GroupSource,
} from "./policy-schema.js";

/** Every group name in the file; the source is null when the group itself is invalid. */
type KnownGroups = ReadonlyMap<string, GroupSource | null>;
type Path = ReadonlyArray<string | number>;

/**
 * The parts of a resource these checks need, read leniently: a field that fails the schema
 * becomes null (the schema pass reports it) and the checks that depend on it are skipped,
 * while the other checks still run. A typo in `max_duraton` must not hide an unknown group.
 */
interface ResourceView {
  /** undefined when absent; entries that are not text are null. */
  requesters: Array<string | null> | undefined;
  /** undefined when absent, null when invalid. */
  defaultDuration: number | null | undefined;
  maxDuration: number | null | undefined;
  /** null when `approval.rules` is not a list. */
  rules: Array<{ group: string | null; count: number | null }> | null;
  /** undefined when `extension` is absent or not a mapping. */
  extension: { requiresApproval: boolean | null | undefined; hasMaxExtensions: boolean } | undefined;
  /** undefined when `break_glass` is absent or not a mapping; reviewGroup null when not text. */
  breakGlass: { allowed: boolean | null | undefined; reviewGroup: string | null | undefined } | undefined;
}

export function checkPolicySemantics(file: unknown): PathIssue[] {
  if (!isRecord(file)) return [];
  const groups = readGroups(file.groups);
  const resources = isRecord(file.resources) ? file.resources : {};
  return [
    ...checkSettings(file.settings, groups),
    ...checkProtoKey("groups", file.groups, "group name"),
    ...checkProtoKey("resources", file.resources, "resource id"),
    ...Object.entries(resources).flatMap(([id, raw]) =>
      isRecord(raw) ? checkResource(["resources", id], readResourceView(raw), groups) : [],
    ),
  ];
}

/**
 * zod's record schema drops a `__proto__` key without an issue (to protect the prototype),
 * so a group or resource by that name would vanish silently. The name rules forbid it
 * anyway (it starts with '_'); say so here.
 */
function checkProtoKey(section: string, raw: unknown, what: string): PathIssue[] {
  if (!isRecord(raw) || !Object.hasOwn(raw, "__proto__")) return [];
  return [{ path: [section, "__proto__"], at: "key", message: `invalid ${what} '__proto__': it must start with a lowercase letter or digit` }];
}

export function toGroupSource(group: { members?: string[] | undefined; usergroup?: string | undefined }): GroupSource {
  return group.members !== undefined
    ? { kind: "static", members: group.members }
    : { kind: "usergroup", usergroupId: group.usergroup ?? "" };
}

function readGroups(raw: unknown): KnownGroups {
  const groups = new Map<string, GroupSource | null>();
  if (!isRecord(raw)) return groups;
  for (const [name, value] of Object.entries(raw)) {
    const parsed = groupFileSchema.safeParse(value);
    groups.set(name, parsed.success ? toGroupSource(parsed.data) : null);
  }
  return groups;
}

function checkSettings(raw: unknown, groups: KnownGroups): PathIssue[] {
  if (!isRecord(raw)) return [];
  return (["admin_group", "review_group"] as const).flatMap((key) => {
    const name = raw[key];
    if (typeof name !== "string" || groups.has(name)) return [];
    return [{ path: ["settings", key], message: unknownGroupMessage(name, groups) }];
  });
}

function readResourceView(raw: Record<string, unknown>): ResourceView {
  const fields = resourceFileShape;
  const approval = isRecord(raw.approval) ? raw.approval : {};
  const { extension, break_glass: breakGlass } = raw;
  return {
    requesters: Array.isArray(raw.requesters)
      ? raw.requesters.map((name) => (typeof name === "string" ? name : null))
      : undefined,
    defaultDuration: valueOrNull(fields.default_duration, raw.default_duration),
    maxDuration: valueOrNull(fields.max_duration, raw.max_duration),
    rules: Array.isArray(approval.rules)
      ? approval.rules.map((rule) => ({
          group: isRecord(rule) && typeof rule.group === "string" ? rule.group : null,
          count: isRecord(rule) ? valueOrNull(ruleFileSchema.shape.count, rule.count) : null,
        }))
      : null,
    extension: isRecord(extension)
      ? {
          requiresApproval: valueOrNull(extensionFileSchema.shape.requires_approval, extension.requires_approval),
          hasMaxExtensions: Object.hasOwn(extension, "max_extensions"),
        }
      : undefined,
    breakGlass: isRecord(breakGlass)
      ? {
          allowed: valueOrNull(breakGlassFileSchema.shape.allowed.optional(), breakGlass.allowed),
          reviewGroup: valueOrNull(breakGlassFileSchema.shape.review_group, breakGlass.review_group),
        }
      : undefined,
  };
}

function valueOrNull<T>(schema: z.ZodType<T>, value: unknown): T | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function checkResource(path: Path, resource: ResourceView, groups: KnownGroups): PathIssue[] {
  const ruleIssues = checkRules([...path, "approval", "rules"], resource, groups);
  return [
    ...checkRequesters([...path, "requesters"], resource.requesters, groups),
    ...checkDurations(path, resource),
    ...checkExtension([...path, "extension"], resource.extension),
    ...checkBreakGlass([...path, "break_glass"], resource.breakGlass, groups),
    ...ruleIssues,
    // Distinct-people checks only make sense once every rule is valid and satisfiable on its
    // own; otherwise they would repeat the same problem in vaguer words.
    ...(ruleIssues.length === 0 ? checkDistinctApprovers(path, resource, groups) : []),
  ];
}

function checkRequesters(path: Path, requesters: Array<string | null> | undefined, groups: KnownGroups): PathIssue[] {
  const issues: PathIssue[] = [];
  requesters?.forEach((name, index) => {
    if (name === null) return;
    if (!groups.has(name)) issues.push({ path: [...path, index], message: unknownGroupMessage(name, groups) });
    else if (requesters.indexOf(name) !== index) {
      issues.push({ path: [...path, index], message: `group '${name}' is listed twice` });
    }
  });
  return issues;
}

function checkRules(path: Path, resource: ResourceView, groups: KnownGroups): PathIssue[] {
  const issues: PathIssue[] = [];
  const rules = resource.rules ?? [];
  rules.forEach(({ group, count }, index) => {
    if (group === null) return;
    const source = groups.get(group);
    const firstIndex = rules.findIndex((other) => other.group === group);
    if (!groups.has(group)) {
      issues.push({ path: [...path, index, "group"], message: unknownGroupMessage(group, groups) });
    } else if (firstIndex !== index) {
      issues.push({
        path: [...path, index, "group"],
        message: `group '${group}' already appears in rules[${firstIndex}]; merge them into one rule with a higher count`,
      });
    } else if (source?.kind === "static" && count !== null && count > source.members.length) {
      issues.push({
        path: [...path, index, "count"],
        message: `this rule needs ${count} approvals from '${group}' but that group has only ${plural(source.members.length, "member")}, so it could never be satisfied`,
      });
    }
  });
  return issues;
}

function checkDurations(path: Path, resource: ResourceView): PathIssue[] {
  const { defaultDuration, maxDuration } = resource;
  // An invalid value was already reported; comparing against a guess would only add noise.
  if (defaultDuration === null || defaultDuration === undefined || maxDuration === null) return [];
  const max = maxDuration ?? DEFAULT_MAX_DURATION_SECONDS;
  if (defaultDuration <= max) return [];
  const fallback = Math.min(DEFAULT_DEFAULT_DURATION_SECONDS, max);
  const maxText =
    maxDuration === undefined ? `the default max_duration of ${formatDuration(max)}` : `max_duration ${formatDuration(max)}`;
  return [
    {
      path: [...path, "default_duration"],
      message: `default_duration ${formatDuration(defaultDuration)} is longer than ${maxText}; lower it, raise max_duration, or omit it (the default is then ${formatDuration(fallback)})`,
    },
  ];
}

/** max_extensions is the limit for extending alone; with approval every extension is decided by people. */
function checkExtension(path: Path, extension: ResourceView["extension"]): PathIssue[] {
  // An invalid requires_approval was already reported; guessing its meaning would add noise.
  if (extension === undefined || !extension.hasMaxExtensions || extension.requiresApproval === null) return [];
  if (extension.requiresApproval === false) return [];
  const setting = extension.requiresApproval === undefined ? "requires_approval is true by default" : "requires_approval is true";
  return [
    {
      path: [...path, "max_extensions"],
      at: "key",
      message: `max_extensions only limits extensions made without approval, but here every extension is approved like a request (${setting}); remove max_extensions, or set requires_approval: false to let the grantee extend alone up to max_extensions times`,
    },
  ];
}

function checkBreakGlass(path: Path, breakGlass: ResourceView["breakGlass"], groups: KnownGroups): PathIssue[] {
  if (breakGlass === undefined) return [];
  const { allowed, reviewGroup } = breakGlass;
  // A misspelt group is reported even with allowed: false, so switching it on later just works.
  if (typeof reviewGroup === "string") {
    return groups.has(reviewGroup) ? [] : [{ path: [...path, "review_group"], message: unknownGroupMessage(reviewGroup, groups) }];
  }
  if (allowed !== true || reviewGroup !== undefined) return [];
  return [
    {
      path: [...path, "review_group"],
      message:
        "missing required key 'review_group' (with allowed: true, name the group one of whose members, never the requester, must review each break-glass grant)",
    },
  ];
}

/**
 * One person's approval counts for one rule only, so "1 of A + 1 of B" needs two different
 * people even when A and B overlap. Only static groups can be checked here; user groups are
 * resolved live from Slack and their slots are left out of the sum.
 */
function checkDistinctApprovers(path: Path, resource: ResourceView, groups: KnownGroups): PathIssue[] {
  const demands = staticDemands(resource.rules ?? [], groups);
  if (demands === null) return [];
  const needed = demands.reduce((sum, demand) => sum + demand.count, 0);
  if (needed === 0) return [];
  // The same matching that decides real votes, fed with everyone in the static groups; one
  // pass over the members, since a static group may list thousands of people.
  const people = new Map<string, string[]>();
  demands.forEach((demand, index) => {
    for (const member of demand.members) {
      const memberOf = people.get(member);
      if (memberOf === undefined) people.set(member, [String(index)]);
      else if (memberOf.at(-1) !== String(index)) memberOf.push(String(index));
    }
  });
  const evaluation = evaluateApproval(
    demands.map((demand, index) => ({ group: String(index), count: demand.count })),
    [...people].map(([userId, groups]) => ({ userId, groups })),
  );
  const available = evaluation.rules.reduce((sum, rule) => sum + rule.filled, 0);
  if (evaluation.satisfied) return [];
  return [
    {
      path: [...path, "approval", "rules"],
      message: `the rules on static groups need ${needed} different approvers (one person's approval counts for one rule only), but their members can fill at most ${available}; add members or lower a count`,
    },
  ];
}

/** null when some rule is incomplete, since the sum would then be meaningless. */
interface ApprovalDemand {
  members: readonly string[];
  count: number;
}

function staticDemands(rules: ResourceView["rules"] & object, groups: KnownGroups): ApprovalDemand[] | null {
  const demands: ApprovalDemand[] = [];
  for (const { group, count } of rules) {
    if (group === null || count === null) return null;
    const source = groups.get(group);
    if (source === null) return null;
    if (source?.kind === "static") demands.push({ members: source.members, count });
  }
  return demands;
}

function unknownGroupMessage(name: string, groups: KnownGroups): string {
  const known = [...groups.keys()].sort();
  return `unknown group '${name}' (${known.length === 0 ? "no groups are defined" : `known groups: ${known.join(", ")}`})`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
