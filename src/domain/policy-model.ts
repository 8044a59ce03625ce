import type { WorkingHours } from "./parse-working-hours.js";

/**
 * The access policy as the domain uses it: camelCase, defaults applied, every duration in
 * seconds. `policy/` parses the YAML file into these types; the domain never sees the file.
 */

export type GroupSource = { kind: "static"; members: string[] } | { kind: "usergroup"; usergroupId: string };

export interface ApprovalRule {
  group: string;
  count: number;
}

/**
 * Where a grant is provisioned. `type` names an entry of the provisioner registry
 * (`src/provisioning/`); `options` were validated by that entry's own schema when the policy
 * was loaded, so the domain treats them as opaque.
 */
export interface ProvisionerSettings {
  type: string;
  options: Record<string, unknown>;
  /** A call to the target system that takes longer is abandoned and counts as a failure. */
  timeoutSeconds: number;
  /** Failed grant attempts before the grant is FAILED (revokes are retried forever). */
  maxAttempts: number;
}

export interface ExtensionPolicy {
  /** false: the grantee may extend alone, at most `maxExtensions` times. */
  requiresApproval: boolean;
  maxExtensions: number;
}

export interface BreakGlassPolicy {
  /** The group one of whose members (never the requester) must review a break-glass grant. */
  reviewGroup: string;
  reviewWithinSeconds: number;
}

export interface ResourcePolicy {
  id: string;
  title: string;
  /** Groups allowed to request; null means everyone in the workspace. */
  requesters: string[] | null;
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  requireReason: boolean;
  /** All rules must be satisfied, each by distinct people. */
  rules: ApprovalRule[];
  allowSelfApproval: boolean;
  /** null: approval-only; the grant is recorded, announced and expired, nothing is provisioned. */
  provisioner: ProvisionerSettings | null;
  /** Overrides `settings.requestTtlSeconds` for this resource. */
  requestTtlSeconds: number | null;
  extension: ExtensionPolicy;
  /** null: break-glass is not allowed for this resource. */
  breakGlass: BreakGlassPolicy | null;
}

export interface PolicySettings {
  approvalChannel: string;
  auditChannel: string;
  timezone: string;
  requestTtlSeconds: number;
  digestSchedule: string;
  checkpointSchedule: string;
  /** Members may revoke anyone's grant (with a reason). null: only grantees revoke. */
  adminGroup: string | null;
  /** Members sign off the weekly digest (`review.signed_off`). null: nobody is asked to. */
  reviewGroup: string | null;
  /** A digest not signed off within this is posted again with a reminder. */
  reviewWithinSeconds: number;
  /** How long before `expires_at` the grantee is warned; null: no warning. */
  expiryWarningSeconds: number | null;
  /** When approvers who have not acted are reminded, after the request was opened; null: never. */
  approvalReminderSeconds: number | null;
  /** In `timezone`; approvals, grants and break-glass outside them raise the off-hours alert. */
  workingHours: WorkingHours;
}

/**
 * The anomaly alerts (`alerts:` in the file), each null when switched off. Without an
 * `alerts:` section every rule is null; with one, a rule not mentioned has its defaults.
 */
export interface AlertRules {
  /** An approval at most this long after the request was made. */
  rubberStamp: { withinSeconds: number } | null;
  /** The same approver approving the same requester more than `moreThan` times within the window. */
  cosyPair: { moreThan: number; withinSeconds: number } | null;
  /** An approval, a grant or a break-glass outside `settings.workingHours`. */
  offHours: boolean;
  /** A requester's first grant of a resource. */
  firstTimeAccess: boolean;
  /**
   * More than `moreThan` long grants to one person within the window; a grant is long when it is
   * at least `nearMaxPercent` of the resource's max_duration, or `timesUsual` times their usual
   * (the average of their other grants of that resource within the window before it).
   */
  unusualDuration: { nearMaxPercent: number; timesUsual: number; moreThan: number; withinSeconds: number } | null;
  /** One person using break-glass more than `moreThan` times within the window. */
  repeatedBreakGlass: { moreThan: number; withinSeconds: number } | null;
  /** More than `perPerson` requests by one person, or `workspace` by everyone, within the window; null parts are off. */
  requestBurst: { perPerson: number | null; workspace: number | null; withinSeconds: number } | null;
}

export interface Policy {
  version: 1;
  settings: PolicySettings;
  groups: Record<string, GroupSource>;
  resources: Record<string, ResourcePolicy>;
  alerts: AlertRules;
}

export interface LoadedPolicy {
  policy: Policy;
  /** The decoded file text. */
  text: string;
  /** Lowercase hex sha256 of the exact file bytes, so the ledger can name the policy in force. */
  sha256: string;
  fileName: string;
}

/** The request TTL in force for a resource. */
export function requestTtlSecondsOf(policy: Policy, resource: ResourcePolicy): number {
  return resource.requestTtlSeconds ?? policy.settings.requestTtlSeconds;
}
