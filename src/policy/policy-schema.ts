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
import { WorkingHoursError, parseWorkingHours } from "../domain/parse-working-hours.js";
import { DEFAULT_PROVISION_MAX_ATTEMPTS, timeoutSeconds, type ProvisionerType } from "../provisioning/provisioner-type.js";

// ---- In-memory policy: the domain's model (src/domain/policy-model.ts) ----------------

import type {
  AlertRules,
  ApprovalRule,
  BreakGlassPolicy,
  ExtensionPolicy,
  GroupSource,
  LoadedPolicy,
  Policy,
  PolicySettings,
  ProvisionerSettings,
  ResourcePolicy,
} from "../domain/policy-model.js";
export type {
  AlertRules,
  ApprovalRule,
  BreakGlassPolicy,
  ExtensionPolicy,
  GroupSource,
  LoadedPolicy,
  Policy,
  PolicySettings,
  ProvisionerSettings,
  ResourcePolicy,
};

// ---- Defaults ----------------------------------------------------------------------------

export const DEFAULT_MAX_DURATION_SECONDS = 8 * 3600;
/** The default duration is min(this, max_duration). */
export const DEFAULT_DEFAULT_DURATION_SECONDS = 3600;
export const DEFAULT_CHECKPOINT_SCHEDULE = "0 0 * * *";
export const DEFAULT_REQUIRE_REASON = true;
export const DEFAULT_ALLOW_SELF_APPROVAL = false;
export const DEFAULT_EXPIRY_WARNING_SECONDS = 10 * 60;
export const DEFAULT_APPROVAL_REMINDER_SECONDS = 3600;
export const DEFAULT_EXTENSION_REQUIRES_APPROVAL = true;
/** max_extensions when extensions need no approval; with approval it is unused, so 0. */
export const DEFAULT_MAX_EXTENSIONS_WITHOUT_APPROVAL = 1;
export const DEFAULT_BREAK_GLASS_REVIEW_WITHIN_SECONDS = 24 * 3600;
/** A digest not signed off within this is posted again with a reminder. */
export const DEFAULT_DIGEST_REVIEW_WITHIN_SECONDS = 3 * 24 * 3600;
export { DEFAULT_PROVISION_MAX_ATTEMPTS };
export { DEFAULT_WORKING_HOURS } from "../domain/parse-working-hours.js";

/** Each alert rule's defaults, used for every key a rule's mapping leaves out. */
export const DEFAULT_ALERTS = {
  rubberStamp: { withinSeconds: 10 },
  cosyPair: { moreThan: 5, withinSeconds: 7 * 24 * 3600 },
  unusualDuration: { nearMaxPercent: 90, timesUsual: 3, moreThan: 2, withinSeconds: 30 * 24 * 3600 },
  repeatedBreakGlass: { moreThan: 1, withinSeconds: 7 * 24 * 3600 },
  requestBurst: { perPerson: 10, workspace: 100, withinSeconds: 3600 },
} as const;
export const MAX_PROVISION_MAX_ATTEMPTS = 100;

/** The keys every `provisioner:` mapping has; a type's own keys may not reuse them. */
export const COMMON_PROVISIONER_KEYS = ["type", "timeout", "max_attempts"] as const;
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

/** A duration, or `off` (→ null) to turn the feature off. `what` completes "write off to …". */
const durationOrOff = (what: string) =>
  z
    .union([z.string(), z.number()], { error: `expected a duration like 10m or 1h, or off to ${what}` })
    .transform((value, ctx) => {
      if (value === "off") return null;
      try {
        return parseDuration(String(value));
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        ctx.addIssue({ code: "custom", message: `${error.userMessage} Write off to ${what}.` });
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

const workingHours = z.string({ error: "expected working hours like Mon-Fri 08:00-19:00" }).transform((value, ctx) => {
  try {
    return parseWorkingHours(value);
  } catch (error) {
    if (!(error instanceof WorkingHoursError)) throw error;
    ctx.addIssue({ code: "custom", message: `invalid working_hours: ${error.message}` });
    return z.NEVER;
  }
});

/**
 * Seconds or minutes, for rubber_stamp only: the shared `duration` refuses seconds (a grant of
 * 90s is a typo), but "approved within 10 seconds" is exactly what that rule is about.
 */
const shortWindow = z.union([z.string(), z.number()], { error: "expected a time like 10s or 1m" }).transform((value, ctx) => {
  const match = /^\s*(\d+)\s*(s|m)\s*$/.exec(String(value));
  const seconds = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
    ctx.addIssue({ code: "custom", message: `invalid time '${String(value)}': use whole seconds or minutes from 1s to 60m, like 10s or 2m` });
    return z.NEVER;
  }
  return seconds;
});

const count = (min: number) => {
  const hint = `expected a whole number, ${min} or more`;
  return z.number({ error: hint }).int({ error: hint }).min(min, { error: hint });
};

/** A count, or `off` (→ null) for the part of a rule it enables. */
const countOrOff = (min: number, what: string) => {
  const hint = `expected a whole number, ${min} or more, or off to ${what}`;
  return z.union([z.string(), z.number()], { error: hint }).transform((value, ctx) => {
    if (value === "off") return null;
    if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
    ctx.addIssue({ code: "custom", message: `${hint}, got ${JSON.stringify(value)}` });
    return z.NEVER;
  });
};

/** `90%`: a whole percentage from 1% to 100%, kept as the number (ledger bodies hold no fractions). */
const percent = z.union([z.string(), z.number()], { error: "expected a percentage like 90%" }).transform((value, ctx) => {
  const match = /^\s*(\d+)\s*%\s*$/.exec(String(value));
  const parsed = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) {
    ctx.addIssue({ code: "custom", message: `invalid percentage '${String(value)}': use a whole percentage from 1% to 100%, like 90%` });
    return z.NEVER;
  }
  return parsed;
});

// ---- File schema (snake_case, strict: a typo in a key is an error, never ignored) ---------

export const settingsFileSchema = z.strictObject({
  approval_channel: channelId,
  audit_channel: channelId,
  timezone,
  request_ttl: duration,
  digest_schedule: cronExpression,
  checkpoint_schedule: cronExpression.optional(),
  // Must name a group in `groups`: checked in check-policy-semantics.ts.
  admin_group: z.string().optional(),
  // The group whose members sign off the weekly digest; default admin_group. Checked like admin_group.
  review_group: z.string().optional(),
  review_within: duration.optional(),
  expiry_warning: durationOrOff("send no expiry warning").optional(),
  approval_reminder: durationOrOff("send no reminders").optional(),
  working_hours: workingHours.optional(),
});

/**
 * One alert rule: `off`, or a mapping of its parameters (each optional). A union, whose
 * nested issues (a bad `within`) policy-issues-from-zod.ts reports at the key itself.
 */
const alertRule = <Shape extends z.core.$ZodShape>(rule: string, shape: Shape) =>
  z.union([z.literal("off"), z.strictObject(shape)], {
    error: (issue) => (issue.code === "invalid_union" ? `expected off, or a mapping of the ${rule} rule's settings ({} for the defaults)` : undefined),
  });

export const alertsFileSchema = z.strictObject({
  rubber_stamp: alertRule("rubber_stamp", { within: shortWindow.optional() }).optional(),
  cosy_pair: alertRule("cosy_pair", { more_than: count(0).optional(), within: duration.optional() }).optional(),
  off_hours: alertRule("off_hours", {}).optional(),
  first_time_access: alertRule("first_time_access", {}).optional(),
  unusual_duration: alertRule("unusual_duration", {
    near_max: percent.optional(),
    times_usual: count(2).optional(),
    more_than: count(0).optional(),
    within: duration.optional(),
  }).optional(),
  repeated_break_glass: alertRule("repeated_break_glass", { more_than: count(0).optional(), within: duration.optional() }).optional(),
  request_burst: alertRule("request_burst", {
    per_person: countOrOff(1, "alert on no one person's burst").optional(),
    workspace: countOrOff(1, "alert on no workspace-wide spike").optional(),
    within: duration.optional(),
  }).optional(),
});

const members = z
  .array(userId)
  .min(1, { error: "members must list at least one user; use usergroup for a Slack user group" })
  .superRefine((list, ctx) => {
    // A Set, not indexOf: a group of 10,000 members must not cost 10⁸ comparisons per load.
    const seen = new Set<string>();
    list.forEach((member, index) => {
      if (seen.has(member)) ctx.addIssue({ code: "custom", path: [index], message: `${member} is listed twice` });
      seen.add(member);
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

export const extensionFileSchema = z.strictObject({
  requires_approval: boolean.optional(),
  // Only meaningful with requires_approval: false; check-policy-semantics.ts says so.
  max_extensions: z
    .number({ error: "max_extensions must be a whole number, 0 or more" })
    .int({ error: "max_extensions must be a whole number, 0 or more" })
    .min(0, { error: "max_extensions must be a whole number, 0 or more" })
    .optional(),
});

export const breakGlassFileSchema = z.strictObject({
  allowed: boolean,
  // Required when allowed, and must name a group: both checked in check-policy-semantics.ts,
  // so that a missing review group is reported even when another key here is broken.
  review_group: z.string().optional(),
  review_within: duration.optional(),
});

/** A resource's keys except `provisioner`, whose schema depends on the provisioner types. */
export const resourceFileShape = {
  title: z.string().trim().min(1, { error: "title must not be empty" }),
  requesters: z
    .array(z.string())
    .min(1, { error: "requesters must list at least one group; omit it to let everyone request" })
    .optional(),
  default_duration: duration.optional(),
  max_duration: duration.optional(),
  request_ttl: duration.optional(),
  require_reason: boolean.optional(),
  approval: approvalFileSchema,
  extension: extensionFileSchema.optional(),
  break_glass: breakGlassFileSchema.optional(),
};

const MAX_ATTEMPTS_HINT = `max_attempts must be a whole number from 1 to ${MAX_PROVISION_MAX_ATTEMPTS}`;
const maxAttempts = z
  .number({ error: MAX_ATTEMPTS_HINT })
  .int({ error: MAX_ATTEMPTS_HINT })
  .min(1, { error: MAX_ATTEMPTS_HINT })
  .max(MAX_PROVISION_MAX_ATTEMPTS, { error: MAX_ATTEMPTS_HINT });

/** `provisioner:` as validated: the common keys plus the chosen type's own keys. */
export interface ProvisionerFile {
  type: string;
  timeout?: number | undefined;
  max_attempts?: number | undefined;
  [key: string]: unknown;
}

/**
 * One strict schema per type, chosen by `type`. A discriminated union rather than a plain
 * union, so that an unknown or missing key is reported against the chosen type only instead
 * of as "matches none of the types".
 */
function provisionerFileSchema(types: readonly ProvisionerType[]): z.ZodType<ProvisionerFile> {
  const names = types.map((type) => type.type);
  const choices = names.length === 0 ? "no provisioner types are available" : `use one of ${names.join(", ")}`;
  const options = types.map((type, index) => {
    // Programming errors in the registry, not policy errors.
    if (names.indexOf(type.type) !== index) throw new Error(`provisioner type '${type.type}' is registered twice`);
    const reserved = COMMON_PROVISIONER_KEYS.find((key) => Object.hasOwn(type.optionsShape, key));
    if (reserved !== undefined) throw new Error(`provisioner type '${type.type}' redefines the common key '${reserved}'`);
    return z.strictObject({
      type: z.literal(type.type),
      timeout: timeoutSeconds.optional(),
      max_attempts: maxAttempts.optional(),
      ...type.optionsShape,
    });
  });
  const [first, ...rest] = options;
  if (first === undefined) {
    return z.custom<ProvisionerFile>(() => false, { error: `a provisioner cannot be configured: ${choices}` });
  }
  const schema = z.discriminatedUnion("type", [first, ...rest], {
    error: (issue) => {
      // Not a mapping at all: the generic "expected a mapping, got …" says it better.
      if (issue.code !== "invalid_union") return undefined;
      const written = isRecord(issue.input) ? issue.input.type : undefined;
      // A missing `type` becomes "missing required key 'type' (use one of …)".
      if (written === undefined) return choices;
      const shown = typeof written === "string" ? written : JSON.stringify(written);
      return `unknown provisioner type '${shown}': ${choices}`;
    },
  });
  return schema as unknown as z.ZodType<ProvisionerFile>;
}

function resourceFileSchemaWith(provisioner: z.ZodType<ProvisionerFile>) {
  return z.strictObject({ ...resourceFileShape, provisioner: provisioner.optional() });
}

function policyFileSchemaWith(resource: ReturnType<typeof resourceFileSchemaWith>) {
  return z.strictObject({
    version: z.literal(1, { error: "the only supported version is 1" }),
    settings: settingsFileSchema,
    groups: z.record(policyName("group name"), groupFileSchema),
    resources: z.record(policyName("resource id"), resource),
    alerts: alertsFileSchema.optional(),
  });
}

export interface PolicyFileSchema {
  readonly file: ReturnType<typeof policyFileSchemaWith>;
  readonly resource: ReturnType<typeof resourceFileSchemaWith>;
}

const schemaCache = new WeakMap<readonly ProvisionerType[], PolicyFileSchema>();

/** The file schema for one registry of provisioner types, built once per registry. */
export function policyFileSchemaFor(types: readonly ProvisionerType[]): PolicyFileSchema {
  let schema = schemaCache.get(types);
  if (schema === undefined) {
    const resource = resourceFileSchemaWith(provisionerFileSchema(types));
    schema = { file: policyFileSchemaWith(resource), resource };
    schemaCache.set(types, schema);
  }
  return schema;
}

export type PolicyFile = z.output<PolicyFileSchema["file"]>;
export type GroupFile = z.output<typeof groupFileSchema>;
export type ResourceFile = z.output<PolicyFileSchema["resource"]>;

/**
 * The keys allowed in the mapping at a YAML path, for "did you mean" hints on unknown keys.
 * Found by walking the schema itself, so the two can never disagree; `input` (the whole
 * file as parsed) picks the provisioner type whose keys apply.
 */
export function allowedKeysAt(schema: z.core.$ZodType, path: ReadonlyArray<string | number>, input: unknown): string[] {
  let current: z.core.$ZodType | undefined = schema;
  let value: unknown = input;
  for (const segment of path) {
    current = childSchema(unwrapSchema(current, value), segment);
    if (current === undefined) return [];
    value = typeof value === "object" && value !== null ? (value as Record<string | number, unknown>)[segment] : undefined;
  }
  const mapping = unwrapSchema(current, value);
  return mapping instanceof z.ZodObject ? Object.keys(mapping.shape) : [];
}

/** Looks through optional, transforms and a discriminated union (by the value written). */
function unwrapSchema(schema: z.core.$ZodType | undefined, value: unknown): z.core.$ZodType | undefined {
  let current = schema;
  // Bounded: schemas are finite, but a lazy or self-wrapping one must not hang the loader.
  for (let depth = 0; depth < 20 && current !== undefined; depth++) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else if (current instanceof z.ZodDiscriminatedUnion) {
      const key = current._zod.def.discriminator;
      const written = isRecord(value) ? value[key] : undefined;
      current = current.options.find(
        (option) => option instanceof z.ZodObject && literalValues(option.shape[key]).includes(written),
      );
    } else if (current instanceof z.ZodUnion && isRecord(value)) {
      // `off` or a mapping (alert rules): a mapping was written, so its keys are the ones allowed.
      current = current.options.find((option) => option instanceof z.ZodObject);
    } else {
      return current;
    }
  }
  return current;
}

function childSchema(schema: z.core.$ZodType | undefined, segment: string | number): z.core.$ZodType | undefined {
  if (schema instanceof z.ZodObject) return Object.hasOwn(schema.shape, segment) ? schema.shape[segment] : undefined;
  if (schema instanceof z.ZodArray) return typeof segment === "number" ? schema.element : undefined;
  if (schema instanceof z.ZodRecord) return schema.valueType;
  return undefined;
}

function literalValues(schema: unknown): unknown[] {
  return schema instanceof z.ZodLiteral ? [...schema.values] : [];
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
