/**
 * The access-as-code policy: the in-memory types the bot uses (camelCase, defaults applied)
 * and the zod schema of the YAML file (snake_case, exactly as written, strict).
 *
 * The schema only checks what can be checked one value at a time. Checks that need several
 * parts of the file at once (unknown groups, satisfiable rules, default vs max duration)
 * live in check-policy-semantics.ts, because they must run even when an unrelated part of
 * the file is broken: the loader reports every issue in one go.
 */
import cron from "node-cron";
import { z } from "zod";
import { DurationError, parseDuration } from "../domain/parse-duration.js";

// ---- In-memory policy: the domain's model (src/domain/policy-model.ts) ----------------

import type { GroupSource, LoadedPolicy, Policy, PolicySettings, ResourcePolicy, ApprovalRule } from "../domain/policy-model.js";
export type { GroupSource, LoadedPolicy, Policy, PolicySettings, ResourcePolicy, ApprovalRule };

// ---- Defaults ----------------------------------------------------------------------------

export const DEFAULT_MAX_DURATION_SECONDS = 8 * 3600;
/** The default duration is min(this, max_duration). */
export const DEFAULT_DEFAULT_DURATION_SECONDS = 3600;
export const DEFAULT_CHECKPOINT_SCHEDULE = "0 0 * * *";
export const DEFAULT_REQUIRE_REASON = true;
export const DEFAULT_ALLOW_SELF_APPROVAL = false;

// ---- Identifier formats -------------------------------------------------------------------

/** Resource ids and group names end up in slash commands, ledger entries and logs. */
export const POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const NAME_HINT = "use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";

const CHANNEL_ID = /^[CG][A-Z0-9]{2,20}$/;
const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const USERGROUP_ID = /^S[A-Z0-9]{2,20}$/;

// Slack ids, not names: names change and can be reused, ids cannot, so an approval can never
// silently move to a different channel or person after a rename.
const channelId = z
  .string()
  .regex(CHANNEL_ID, {
    error: (issue) =>
      `'${String(issue.input)}' is not a Slack channel ID; use the ID (like C0123ABCDEF), shown at the bottom of the channel's details, not its name`,
  });
const userId = z
  .string()
  .regex(USER_ID, {
    error: (issue) => `'${String(issue.input)}' is not a Slack user ID (like U0123ABCDEF or W0123ABCDEF)`,
  });
const usergroupId = z
  .string()
  .regex(USERGROUP_ID, {
    error: (issue) => `'${String(issue.input)}' is not a Slack user group ID (like S0123ABCDEF)`,
  });
const policyName = (what: string) =>
  z.string().regex(POLICY_NAME_PATTERN, {
    error: (issue) => `invalid ${what} '${String(issue.input)}': ${NAME_HINT}`,
  });

// ---- Value schemas -------------------------------------------------------------------------

/** Durations are written as text (`2h`); numbers are passed through so `10` gets the "no unit" message. */
const duration = z
  .union([z.string(), z.number()], { error: "expected a duration like 30m, 2h or 1d" })
  .transform((value, ctx) => {
    try {
      return parseDuration(String(value));
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      ctx.addIssue({ code: "custom", message: error.userMessage });
      return z.NEVER;
    }
  });

const timezone = z.string().superRefine((value, ctx) => {
  if (!isIanaTimeZone(value)) {
    ctx.addIssue({
      code: "custom",
      message: `unknown time zone '${value}': use an IANA name like Europe/Berlin, America/New_York or UTC`,
    });
  }
});

const cronExpression = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem !== null) {
    ctx.addIssue({
      code: "custom",
      message: `invalid cron expression '${value}': ${problem}; use 5 fields (minute hour day-of-month month day-of-week) like "0 9 * * MON", or 6 with seconds first`,
    });
  }
});

const boolean = z.boolean({ error: "expected true or false" });

// ---- File schema (snake_case, strict: a typo in a key is an error, never ignored) ---------

export const settingsFileSchema = z.strictObject({
  approval_channel: channelId,
  audit_channel: channelId,
  timezone,
  request_ttl: duration,
  digest_schedule: cronExpression,
  checkpoint_schedule: cronExpression.optional(),
});

const members = z
  .array(userId)
  .min(1, { error: "members must list at least one user; use usergroup for a Slack user group" })
  .superRefine((list, ctx) => {
    list.forEach((member, index) => {
      if (list.indexOf(member) !== index) {
        ctx.addIssue({ code: "custom", path: [index], message: `${member} is listed twice` });
      }
    });
  });

export const groupFileSchema = z
  .strictObject({ members: members.optional(), usergroup: usergroupId.optional() })
  // Presence-only check, so it is safe even when a member id above failed validation.
  .superRefine((group, ctx) => {
    if ((group.members === undefined) === (group.usergroup === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "a group needs exactly one of 'members' (a list of user IDs) or 'usergroup' (a Slack user group ID)",
      });
    }
  });

export const ruleFileSchema = z.strictObject({
  group: z.string(),
  count: z
    .number({ error: "count must be a whole number of approvals, at least 1" })
    .int({ error: "count must be a whole number of approvals, at least 1" })
    .min(1, { error: "count must be at least 1" }),
});

export const approvalFileSchema = z.strictObject({
  rules: z.array(ruleFileSchema).min(1, {
    error:
      "a resource needs at least one approval rule; with none, it would be unclear whether nobody or everybody may approve",
  }),
  allow_self_approval: boolean.optional(),
});

export const resourceFileSchema = z.strictObject({
  title: z.string().trim().min(1, { error: "title must not be empty" }),
  requesters: z
    .array(z.string())
    .min(1, { error: "requesters must list at least one group; omit it to let everyone request" })
    .optional(),
  default_duration: duration.optional(),
  max_duration: duration.optional(),
  require_reason: boolean.optional(),
  approval: approvalFileSchema,
});

export const policyFileSchema = z.strictObject({
  version: z.literal(1, { error: "the only supported version is 1" }),
  settings: settingsFileSchema,
  groups: z.record(policyName("group name"), groupFileSchema),
  resources: z.record(policyName("resource id"), resourceFileSchema),
});

export type PolicyFile = z.output<typeof policyFileSchema>;
export type GroupFile = z.output<typeof groupFileSchema>;
export type ResourceFile = z.output<typeof resourceFileSchema>;

/**
 * The keys allowed in the mapping at a YAML path, for "did you mean" hints on unknown keys.
 * Derived from the schemas so the two can never disagree.
 */
export function allowedKeysAt(path: ReadonlyArray<string | number>): string[] {
  const [section, , ...rest] = path;
  const shape = (schema: { shape: object }) => Object.keys(schema.shape);
  if (path.length === 0) return shape(policyFileSchema);
  if (section === "settings" && path.length === 1) return shape(settingsFileSchema);
  if (section === "groups" && path.length === 2) return shape(groupFileSchema);
  if (section !== "resources" || path.length < 2) return [];
  if (rest.length === 0) return shape(resourceFileSchema);
  if (rest.length === 1 && rest[0] === "approval") return shape(approvalFileSchema);
  if (rest.length === 3 && rest[0] === "approval" && rest[1] === "rules") return shape(ruleFileSchema);
  return [];
}

// ---- Helpers ------------------------------------------------------------------------------

/** Intl knows the IANA database; an unknown zone throws RangeError. Offsets (`+01:00`) are
 *  refused because they ignore daylight saving, which would shift the digest by an hour. */
export function isIanaTimeZone(name: string): boolean {
  if (!/^[A-Za-z]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Returns why a cron expression is invalid, or null if node-cron (which runs it) accepts it. */
export function cronProblem(expression: string): string | null {
  const fieldCount = expression.trim().split(/\s+/).filter(Boolean).length;
  if (fieldCount !== 5 && fieldCount !== 6) return `expected 5 or 6 fields but got ${fieldCount}`;
  const result = cron.validateDetailed(expression);
  if (result.valid) return null;
  return result.errors.map((error) => error.message).join("; ") || "not accepted by the scheduler";
}
