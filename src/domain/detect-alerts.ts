import type { AlertFacts, AlertToRaise } from "./alert-store.js";
import { isWithinWorkingHours } from "./parse-working-hours.js";
import type { Policy } from "./policy-model.js";

/** A ledger entry as the detector reads it: the queryable columns and the body's `data`. */
export interface AlertSourceEntry {
  seq: bigint;
  ts: Date;
  type: string;
  requestId: string | null;
  actorId: string | null;
  subjectId: string | null;
  resource: string | null;
  data: Record<string, unknown>;
}

export type AlertRuleName =
  | "rubber_stamp"
  | "cosy_pair"
  | "off_hours"
  | "first_time_access"
  | "unusual_duration"
  | "repeated_break_glass"
  | "request_burst";

/** The rule names in words, for the audit channel and exports. */
export const ALERT_RULE_TITLES: Record<AlertRuleName, string> = {
  rubber_stamp: "Rubber-stamp approval",
  cosy_pair: "Cosy approver pair",
  off_hours: "Off-hours activity",
  first_time_access: "First-time access",
  unusual_duration: "Unusually long grants",
  repeated_break_glass: "Repeated break-glass",
  request_burst: "Request burst",
};

/** The entry types that open a request, whatever became of it. */
export const REQUEST_TYPES = ["request.created", "request.unsatisfiable", "request.break_glass"] as const;

/**
 * The anomaly alerts one ledger entry gives rise to under the policy's `alerts` rules, with
 * the facts they need read through `facts`. Pure apart from those reads: it appends nothing,
 * and whether an alert was raised before is the store's business (`AlertStore.raiseOnce`).
 *
 * Alerts are raised from the ledger after the fact rather than by the decisions themselves,
 * so a slow or failing detector never delays or fails an approval, and every alert can be
 * traced to the entry that triggered it (`data.trigger`).
 */
export async function detectAlerts(entry: AlertSourceEntry, policy: Policy, facts: AlertFacts): Promise<AlertToRaise[]> {
  // Alerts about alerts would only echo; the detector reads decisions, not its own output.
  if (entry.type.startsWith("alert.") || entry.requestId === null) return [];
  const context: Context = { entry, requestId: entry.requestId, policy, facts };
  const found: Array<AlertToRaise | null> = [];
  switch (entry.type) {
    case "vote.approved":
      found.push(await rubberStamp(context), await cosyPair(context), offHours(context, "approval"));
      break;
    case "grant.activated":
      found.push(offHours(context, "grant"), await firstTimeAccess(context), await unusualDuration(context));
      break;
    case "request.break_glass":
      found.push(offHours(context, "break-glass"), await repeatedBreakGlass(context), ...(await requestBurst(context)));
      break;
    case "request.created":
    case "request.unsatisfiable":
      found.push(...(await requestBurst(context)));
      break;
    default:
      break;
  }
  return found.filter((alert): alert is AlertToRaise => alert !== null);
}

interface Context {
  entry: AlertSourceEntry;
  requestId: string;
  policy: Policy;
  facts: AlertFacts;
}

function alert(
  context: Context,
  rule: AlertRuleName,
  subject: Record<string, unknown>,
  figures: Record<string, unknown>,
  dedupe: AlertToRaise["dedupe"],
): AlertToRaise {
  const { entry, requestId } = context;
  return {
    requestId,
    subjectId: entry.subjectId,
    resource: entry.resource,
    dedupe,
    data: {
      rule,
      title: ALERT_RULE_TITLES[rule],
      subject,
      figures,
      dedupe_key: dedupe.key,
      trigger: { seq: entry.seq.toString(), type: entry.type, ts: entry.ts.toISOString() },
    },
  };
}

function since(entry: AlertSourceEntry, seconds: number): Date {
  return new Date(entry.ts.getTime() - seconds * 1000);
}

/** Measured from the request's creation (its `request.created` entry): the copies are posted just after it. */
async function rubberStamp(context: Context): Promise<AlertToRaise | null> {
  const rule = context.policy.alerts.rubberStamp;
  const { entry, requestId } = context;
  if (rule === null || entry.actorId === null) return null;
  const createdAt = await context.facts.requestCreatedAt(requestId);
  if (createdAt === null) return null;
  const elapsedMs = entry.ts.getTime() - createdAt.getTime();
  if (elapsedMs > rule.withinSeconds * 1000) return null;
  return alert(
    context,
    "rubber_stamp",
    { kind: "pair", approver_id: entry.actorId, requester_id: entry.subjectId },
    { seconds_to_approve: Math.floor(elapsedMs / 1000), within_seconds: rule.withinSeconds, request_created_at: createdAt.toISOString() },
    { key: `rubber_stamp:${requestId}:${entry.actorId}`, scope: "request" },
  );
}

async function cosyPair(context: Context): Promise<AlertToRaise | null> {
  const rule = context.policy.alerts.cosyPair;
  const { entry } = context;
  // A self-approval (where the policy allows it) is no pair of people.
  if (rule === null || entry.actorId === null || entry.subjectId === null || entry.actorId === entry.subjectId) return null;
  const approvals = await context.facts.pairApprovals(entry.actorId, entry.subjectId, since(entry, rule.withinSeconds), entry.seq);
  // Only the approval that crosses the threshold: the ones after it are the same incident.
  if (approvals !== rule.moreThan + 1) return null;
  const key = `cosy_pair:${entry.actorId}:${entry.subjectId}`;
  return alert(
    context,
    "cosy_pair",
    { kind: "pair", approver_id: entry.actorId, requester_id: entry.subjectId },
    { approvals, more_than: rule.moreThan, within_seconds: rule.withinSeconds },
    { key, scope: "window", since: since(entry, rule.withinSeconds) },
  );
}

/** One per request: an approval at 03:00 and the grant it opens are one incident. */
function offHours(context: Context, what: "approval" | "grant" | "break-glass"): AlertToRaise | null {
  const { entry, requestId, policy } = context;
  if (!policy.alerts.offHours) return null;
  const { workingHours, timezone } = policy.settings;
  if (isWithinWorkingHours(entry.ts, workingHours, timezone)) return null;
  const person = what === "approval" ? entry.actorId : entry.subjectId;
  return alert(
    context,
    "off_hours",
    { kind: "person", user_id: person },
    { event: what, at: entry.ts.toISOString(), local_time: localTime(entry.ts, timezone), working_hours: workingHours.text, timezone },
    { key: `off_hours:${requestId}`, scope: "request" },
  );
}

async function firstTimeAccess(context: Context): Promise<AlertToRaise | null> {
  const { entry, requestId } = context;
  if (!context.policy.alerts.firstTimeAccess || entry.subjectId === null || entry.resource === null) return null;
  const earlier = await context.facts.earlierGrants(entry.subjectId, entry.resource, requestId, entry.seq);
  if (earlier > 0) return null;
  return alert(
    context,
    "first_time_access",
    { kind: "person", user_id: entry.subjectId },
    { earlier_grants: 0, duration_seconds: numberOrNull(entry.data.duration_seconds) },
    { key: `first_time_access:${entry.subjectId}:${entry.resource}`, scope: "request" },
  );
}

async function unusualDuration(context: Context): Promise<AlertToRaise | null> {
  const rule = context.policy.alerts.unusualDuration;
  const { entry, requestId, policy } = context;
  const duration = numberOrNull(entry.data.duration_seconds);
  if (rule === null || entry.subjectId === null || entry.resource === null || duration === null) return null;
  const maxSeconds = Object.fromEntries(Object.values(policy.resources).map((resource) => [resource.id, resource.maxDurationSeconds]));
  const max = maxSeconds[entry.resource] ?? null;
  const { long, usualSeconds } = await context.facts.longGrants({
    userId: entry.subjectId,
    requestId,
    since: since(entry, rule.withinSeconds),
    uptoSeq: entry.seq,
    windowSeconds: rule.withinSeconds,
    nearMaxPercent: rule.nearMaxPercent,
    timesUsual: rule.timesUsual,
    maxSeconds,
  });
  const nearMax = max !== null && duration * 100 >= rule.nearMaxPercent * max;
  const aboveUsual = usualSeconds !== null && duration >= rule.timesUsual * usualSeconds;
  // This grant must be one of the long ones: an ordinary grant after three long ones is no news.
  if (!(nearMax || aboveUsual) || long <= rule.moreThan) return null;
  return alert(
    context,
    "unusual_duration",
    { kind: "person", user_id: entry.subjectId },
    {
      long_grants: long,
      more_than: rule.moreThan,
      within_seconds: rule.withinSeconds,
      duration_seconds: duration,
      max_duration_seconds: max,
      near_max_percent: rule.nearMaxPercent,
      usual_seconds: usualSeconds === null ? null : Math.round(usualSeconds),
      times_usual: rule.timesUsual,
      reason: nearMax ? "near_max" : "above_usual",
    },
    { key: `unusual_duration:${entry.subjectId}`, scope: "window", since: since(entry, rule.withinSeconds) },
  );
}

async function repeatedBreakGlass(context: Context): Promise<AlertToRaise | null> {
  const rule = context.policy.alerts.repeatedBreakGlass;
  const { entry } = context;
  if (rule === null || entry.subjectId === null) return null;
  const uses = await context.facts.breakGlassUses(entry.subjectId, since(entry, rule.withinSeconds), entry.seq);
  if (uses !== rule.moreThan + 1) return null;
  return alert(
    context,
    "repeated_break_glass",
    { kind: "person", user_id: entry.subjectId },
    { uses, more_than: rule.moreThan, within_seconds: rule.withinSeconds },
    { key: `repeated_break_glass:${entry.subjectId}`, scope: "window", since: since(entry, rule.withinSeconds) },
  );
}

/**
 * Fires on the request that takes a count past its threshold. A count over a sliding window
 * grows by one request at a time, so it always passes through exactly threshold + 1; the
 * window-scoped de-dup key then keeps a burst that hovers there to one alert per window.
 */
async function requestBurst(context: Context): Promise<AlertToRaise[]> {
  const rule = context.policy.alerts.requestBurst;
  const { entry } = context;
  if (rule === null || entry.subjectId === null) return [];
  const from = since(entry, rule.withinSeconds);
  const counts = await context.facts.requestCounts(entry.subjectId, from, entry.seq);
  const alerts: AlertToRaise[] = [];
  if (rule.perPerson !== null && counts.person === rule.perPerson + 1) {
    alerts.push(
      alert(
        context,
        "request_burst",
        { kind: "person", user_id: entry.subjectId },
        { requests: counts.person, more_than: rule.perPerson, within_seconds: rule.withinSeconds },
        { key: `request_burst:person:${entry.subjectId}`, scope: "window", since: from },
      ),
    );
  }
  if (rule.workspace !== null && counts.workspace === rule.workspace + 1) {
    alerts.push(
      alert(
        context,
        "request_burst",
        { kind: "workspace" },
        { requests: counts.workspace, more_than: rule.workspace, within_seconds: rule.withinSeconds },
        { key: "request_burst:workspace", scope: "window", since: from },
      ),
    );
  }
  return alerts;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `Sun 03:12`, in the policy's zone: what a reader of the alert compares with the working hours. */
function localTime(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.weekday} ${parts.hour}:${parts.minute}`;
}
