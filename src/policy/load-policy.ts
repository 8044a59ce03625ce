/**
 * Loads the access-as-code policy: YAML → schema → cross-reference checks → Policy.
 *
 * Every problem found is reported at once, each with file, line, column and field path,
 * because a policy is usually fixed in a pull request where one-error-per-CI-run is slow.
 * Nothing is defaulted silently except the documented optional fields.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument, type Document } from "yaml";
import { checkPolicySemantics, toGroupSource } from "./check-policy-semantics.js";
import { locateYamlNode } from "./locate-yaml-node.js";
import { PolicyError, formatIssuePath, type PathIssue, type PolicyIssue } from "./policy-error.js";
import { policyIssuesFromZod } from "./policy-issues-from-zod.js";
import { BUILTIN_PROVISIONER_TYPES } from "../provisioning/builtin-provisioners.js";
import type { ProvisionerType } from "../provisioning/provisioner-type.js";
import { parseWorkingHours } from "../domain/parse-working-hours.js";
import {
  COMMON_PROVISIONER_KEYS,
  DEFAULT_ALERTS,
  DEFAULT_ALLOW_SELF_APPROVAL,
  DEFAULT_APPROVAL_REMINDER_SECONDS,
  DEFAULT_BREAK_GLASS_REVIEW_WITHIN_SECONDS,
  DEFAULT_CHECKPOINT_SCHEDULE,
  DEFAULT_DEFAULT_DURATION_SECONDS,
  DEFAULT_DIGEST_REVIEW_WITHIN_SECONDS,
  DEFAULT_EXPIRY_WARNING_SECONDS,
  DEFAULT_EXTENSION_REQUIRES_APPROVAL,
  DEFAULT_MAX_DURATION_SECONDS,
  DEFAULT_MAX_EXTENSIONS_WITHOUT_APPROVAL,
  DEFAULT_PROVISION_MAX_ATTEMPTS,
  DEFAULT_REQUIRE_REASON,
  DEFAULT_WORKING_HOURS,
  policyFileSchemaFor,
  type AlertRules,
  type GroupSource,
  type LoadedPolicy,
  type Policy,
  type PolicyFile,
  type ProvisionerFile,
  type ProvisionerSettings,
  type ResourceFile,
  type ResourcePolicy,
} from "./policy-schema.js";

export { PolicyError, type PolicyIssue } from "./policy-error.js";

/**
 * The provisioner types a policy may use (`provisioner: { type: … }`). Tests pass their own;
 * the bot uses the built-in registry. Options are validated here, at load time; a secret
 * named by an environment variable is only looked up when the bot builds the provisioners.
 */
export type ProvisionerTypes = readonly ProvisionerType[];

/** Parses policy text. The sha256 is of the text's UTF-8 encoding. Throws PolicyError. */
export function parsePolicy(
  text: string,
  fileName: string,
  provisionerTypes: ProvisionerTypes = BUILTIN_PROVISIONER_TYPES,
): LoadedPolicy {
  return parsePolicyText(text, fileName, sha256Hex(Buffer.from(text, "utf8")), provisionerTypes);
}

/** Reads and parses a policy file; the sha256 is of the exact bytes on disk. Throws PolicyError. */
export async function loadPolicyFile(
  path: string,
  provisionerTypes: ProvisionerTypes = BUILTIN_PROVISIONER_TYPES,
): Promise<LoadedPolicy> {
  const bytes = await readPolicyBytes(path);
  return parsePolicyText(decodeUtf8(bytes, path), path, sha256Hex(bytes), provisionerTypes);
}

// ---- Reading ---------------------------------------------------------------------------------

async function readPolicyBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT"
        ? `policy file not found at '${path}': copy access-policy.example.yml to that path and edit it, or set ACCESS_POLICY_FILE to the policy's location`
        : `cannot read the policy file '${path}' (${code ?? String(error)}); check ACCESS_POLICY_FILE and the file's permissions`;
    throw new PolicyError(path, [{ line: null, column: null, path: "", message }]);
  }
}

/** Refuses invalid UTF-8 instead of replacing bytes, so what is validated is what was hashed. */
function decodeUtf8(bytes: Buffer, fileName: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PolicyError(fileName, [
      { line: null, column: null, path: "", message: "the file is not valid UTF-8 text" },
    ]);
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---- Parsing ---------------------------------------------------------------------------------

function parsePolicyText(text: string, fileName: string, sha256: string, provisionerTypes: ProvisionerTypes): LoadedPolicy {
  const lineCounter = new LineCounter();
  // prettyErrors off: we format positions ourselves, one line per issue.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxIssues = yamlIssues(doc, lineCounter);
  // Past a syntax error the tree is a guess; checking it would report phantom problems.
  if (syntaxIssues.length > 0) throw new PolicyError(fileName, syntaxIssues);

  const value = toPlainValue(doc, lineCounter, fileName);
  if (value === null || value === undefined) {
    throw new PolicyError(fileName, [
      { line: 1, column: 1, path: "", message: "the policy file is empty; start from access-policy.example.yml" },
    ]);
  }

  const schema = policyFileSchemaFor(provisionerTypes).file;
  const parsed = schema.safeParse(value);
  const pathIssues: PathIssue[] = [
    ...(parsed.success ? [] : policyIssuesFromZod(parsed.error.issues, value, schema)),
    ...checkPolicySemantics(value),
  ];
  if (pathIssues.length > 0 || !parsed.success) {
    throw new PolicyError(fileName, locateIssues(pathIssues, doc, lineCounter));
  }
  return { policy: buildPolicy(parsed.data, provisionerTypes), text, sha256, fileName };
}

function yamlIssues(doc: Document, lineCounter: LineCounter): PolicyIssue[] {
  // Warnings (e.g. unknown tags) count too: a policy should mean exactly one thing.
  return [...doc.errors, ...doc.warnings].map((error) => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return { line, column: col, path: "", message: `YAML: ${yamlMessage(error.code, error.message)}` };
  });
}

/** yaml's own wording, except where it speaks to programmers rather than policy authors. */
function yamlMessage(code: string, message: string): string {
  if (code === "MULTIPLE_DOCS") return "the policy must be a single YAML document; remove the '---' line and what follows";
  return firstLine(message);
}

/** yaml refuses documents that expand aliases beyond a limit (billion laughs); report that. */
function toPlainValue(doc: Document, lineCounter: LineCounter, fileName: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const position = locateYamlNode(doc, lineCounter, []);
    throw new PolicyError(fileName, [
      { line: position.line, column: position.column, path: "", message: `YAML: ${firstLine(String(error))}` },
    ]);
  }
}

function locateIssues(issues: readonly PathIssue[], doc: Document, lineCounter: LineCounter): PolicyIssue[] {
  const located = issues.map((issue) => {
    const { line, column } = locateYamlNode(doc, lineCounter, issue.path, issue.at);
    return { line, column, path: formatIssuePath(issue.path), message: issue.message };
  });
  const unique = new Map(located.map((issue) => [JSON.stringify(issue), issue]));
  return [...unique.values()].sort((a, b) => a.line - b.line || a.column - b.column);
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

// ---- Building the in-memory policy -------------------------------------------------------------

function buildPolicy(file: PolicyFile, provisionerTypes: ProvisionerTypes): Policy {
  const groups: Record<string, GroupSource> = {};
  for (const [name, group] of Object.entries(file.groups)) groups[name] = toGroupSource(group);
  const resources: Record<string, ResourcePolicy> = {};
  for (const [id, resource] of Object.entries(file.resources)) resources[id] = buildResource(id, resource, provisionerTypes);
  const { settings } = file;
  return {
    version: 1,
    settings: {
      approvalChannel: settings.approval_channel,
      auditChannel: settings.audit_channel,
      timezone: settings.timezone,
      requestTtlSeconds: settings.request_ttl,
      digestSchedule: settings.digest_schedule,
      checkpointSchedule: settings.checkpoint_schedule ?? DEFAULT_CHECKPOINT_SCHEDULE,
      adminGroup: settings.admin_group ?? null,
      reviewGroup: settings.review_group ?? settings.admin_group ?? null,
      reviewWithinSeconds: settings.review_within ?? DEFAULT_DIGEST_REVIEW_WITHIN_SECONDS,
      // `off` parses to null, which is kept; only an absent key takes the default.
      expiryWarningSeconds: settings.expiry_warning === undefined ? DEFAULT_EXPIRY_WARNING_SECONDS : settings.expiry_warning,
      approvalReminderSeconds:
        settings.approval_reminder === undefined ? DEFAULT_APPROVAL_REMINDER_SECONDS : settings.approval_reminder,
      workingHours: settings.working_hours ?? parseWorkingHours(DEFAULT_WORKING_HOURS),
    },
    groups,
    resources,
    alerts: buildAlerts(file.alerts),
  };
}

/**
 * No `alerts:` section: no alerts, so an upgrade changes nothing in a running workspace's
 * ledger or audit channel until someone opts in. With the section, every rule it does not
 * switch `off` is on, and every parameter it leaves out takes its default.
 */
function buildAlerts(file: PolicyFile["alerts"]): AlertRules {
  if (file === undefined) {
    return { rubberStamp: null, cosyPair: null, offHours: false, firstTimeAccess: false, unusualDuration: null, repeatedBreakGlass: null, requestBurst: null };
  }
  const on = <T>(rule: T | "off" | undefined): rule is T | undefined => rule !== "off";
  const { rubber_stamp, cosy_pair, off_hours, first_time_access, unusual_duration, repeated_break_glass, request_burst } = file;
  const defaults = DEFAULT_ALERTS;
  return {
    rubberStamp: on(rubber_stamp) ? { withinSeconds: rubber_stamp?.within ?? defaults.rubberStamp.withinSeconds } : null,
    cosyPair: on(cosy_pair)
      ? { moreThan: cosy_pair?.more_than ?? defaults.cosyPair.moreThan, withinSeconds: cosy_pair?.within ?? defaults.cosyPair.withinSeconds }
      : null,
    offHours: on(off_hours),
    firstTimeAccess: on(first_time_access),
    unusualDuration: on(unusual_duration)
      ? {
          nearMaxPercent: unusual_duration?.near_max ?? defaults.unusualDuration.nearMaxPercent,
          timesUsual: unusual_duration?.times_usual ?? defaults.unusualDuration.timesUsual,
          moreThan: unusual_duration?.more_than ?? defaults.unusualDuration.moreThan,
          withinSeconds: unusual_duration?.within ?? defaults.unusualDuration.withinSeconds,
        }
      : null,
    repeatedBreakGlass: on(repeated_break_glass)
      ? { moreThan: repeated_break_glass?.more_than ?? defaults.repeatedBreakGlass.moreThan, withinSeconds: repeated_break_glass?.within ?? defaults.repeatedBreakGlass.withinSeconds }
      : null,
    // `off` for one part parses to null, which is kept; only an absent key takes the default.
    requestBurst: on(request_burst)
      ? {
          perPerson: request_burst?.per_person === undefined ? defaults.requestBurst.perPerson : request_burst.per_person,
          workspace: request_burst?.workspace === undefined ? defaults.requestBurst.workspace : request_burst.workspace,
          withinSeconds: request_burst?.within ?? defaults.requestBurst.withinSeconds,
        }
      : null,
  };
}

function buildResource(id: string, resource: ResourceFile, provisionerTypes: ProvisionerTypes): ResourcePolicy {
  const maxDurationSeconds = resource.max_duration ?? DEFAULT_MAX_DURATION_SECONDS;
  const requiresApproval = resource.extension?.requires_approval ?? DEFAULT_EXTENSION_REQUIRES_APPROVAL;
  const breakGlass = resource.break_glass;
  return {
    id,
    title: resource.title,
    requesters: resource.requesters ?? null,
    defaultDurationSeconds: resource.default_duration ?? Math.min(DEFAULT_DEFAULT_DURATION_SECONDS, maxDurationSeconds),
    maxDurationSeconds,
    requireReason: resource.require_reason ?? DEFAULT_REQUIRE_REASON,
    rules: resource.approval.rules.map((rule) => ({ group: rule.group, count: rule.count })),
    allowSelfApproval: resource.approval.allow_self_approval ?? DEFAULT_ALLOW_SELF_APPROVAL,
    provisioner: resource.provisioner === undefined ? null : buildProvisioner(resource.provisioner, provisionerTypes),
    requestTtlSeconds: resource.request_ttl ?? null,
    extension: {
      requiresApproval,
      // With approval the limit is unused (the semantics check refuses setting it), hence 0.
      maxExtensions: resource.extension?.max_extensions ?? (requiresApproval ? 0 : DEFAULT_MAX_EXTENSIONS_WITHOUT_APPROVAL),
    },
    // The semantics check guarantees a review group whenever break-glass is allowed.
    breakGlass:
      breakGlass?.allowed === true && breakGlass.review_group !== undefined
        ? {
            reviewGroup: breakGlass.review_group,
            reviewWithinSeconds: breakGlass.review_within ?? DEFAULT_BREAK_GLASS_REVIEW_WITHIN_SECONDS,
          }
        : null,
  };
}

/**
 * The type's toOptions gets the validated mapping: its own keys as written, plus `timeout`
 * and `max_attempts` in seconds and attempts with the defaults applied (a type may use the
 * timeout for its own server-side limits). `type` itself is left out.
 */
function buildProvisioner(file: ProvisionerFile, provisionerTypes: ProvisionerTypes): ProvisionerSettings {
  const type = provisionerTypes.find((candidate) => candidate.type === file.type);
  // The schema only accepts registered types, so this is a bug, not a policy error.
  if (type === undefined) throw new Error(`provisioner type '${file.type}' passed the schema but is not registered`);
  const timeoutSeconds = file.timeout ?? type.defaultTimeoutSeconds;
  const maxAttempts = file.max_attempts ?? DEFAULT_PROVISION_MAX_ATTEMPTS;
  const ownKeys = Object.fromEntries(
    Object.entries(file).filter(([key]) => !(COMMON_PROVISIONER_KEYS as readonly string[]).includes(key)),
  );
  return {
    type: type.type,
    options: type.toOptions({ ...ownKeys, timeout: timeoutSeconds, max_attempts: maxAttempts }),
    timeoutSeconds,
    maxAttempts,
  };
}
