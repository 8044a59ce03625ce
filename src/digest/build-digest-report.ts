import { localDate } from "../domain/add-local-days.js";
import type { DigestFigures } from "../domain/digest-figures.js";
import type { DigestPeriod } from "../domain/digest-period.js";

export interface DigestLedger {
  headSeq: number;
  headHash: string | null;
  /** null when it was not checked; otherwise whether the whole chain verified. */
  verified: boolean;
  entries: number;
  problem?: string;
}

/** The digest as one JSON object (`accessbot digest --format json`): snake_case, for scripts. */
export interface DigestReport {
  /** since/until as instants; first_day/last_day as local dates (last_day included). */
  period: { since: string; until: string; timezone: string; first_day: string; last_day: string };
  previous_period: { since: string; until: string };
  requests: number;
  approved: number;
  denied: number;
  expired: number;
  cancelled: number;
  unsatisfiable: number;
  break_glass: number;
  time_to_decision_p50_seconds: number | null;
  time_to_decision_p95_seconds: number | null;
  granted_hours: number;
  longest_grants: Array<{ grant_id: string; user_id: string; resource: string; hours: number }>;
  top_resources: Array<{ resource: string; requests: number }>;
  top_requesters: Array<{ user_id: string; name: string; requests: number }>;
  top_approvers: Array<{ user_id: string; name: string; approvals: number; median_seconds_to_approve: number }>;
  break_glass_uses: Array<{ request_id: string; user_id: string; resource: string; review: string; overdue: boolean }>;
  revoke_failures: { attempts: number; grants: number };
  failed_grants: number;
  /** The first 50 alerts of the period (alert.raised), in ledger order; alerts_total counts all. */
  alerts: Array<{ seq: number; type: string; rule: string | null; title: string | null; subject_id: string | null; request_id: string | null }>;
  alerts_total: number;
  per_day: Array<{ day: string; approved: number; denied: number; expired: number; other: number; median_decision_seconds: number | null }>;
  previous: { requests: number; approved: number; denied: number; expired: number; cancelled: number; break_glass: number; time_to_decision_p50_seconds: number | null; time_to_decision_p95_seconds: number | null; granted_hours: number };
  ledger: { head_seq: number; head_hash: string | null; verified: boolean; entries: number; problem?: string };
  /** The digest of the period before, as it stood when this one was computed; null when none was posted. */
  previous_review: PreviousReview | null;
}

export interface PreviousReview {
  first_day: string;
  last_day: string;
  signed_off_by: string | null;
  signed_off_at: string | null;
}

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;
const roundOrNull = (value: number | null) => (value === null ? null : round(value, 1));

/** Puts one period's figures beside the previous period's, with the ledger's state. */
export function buildDigestReport(period: DigestPeriod, previousPeriod: DigestPeriod, current: DigestFigures, previous: DigestFigures, ledger: DigestLedger, previousReview: PreviousReview | null = null): DigestReport {
  return {
    period: {
      since: period.since.toISOString(),
      until: period.until.toISOString(),
      timezone: period.timeZone,
      first_day: localDate(period.since, period.timeZone),
      last_day: localDate(new Date(period.until.getTime() - 1), period.timeZone),
    },
    previous_period: { since: previousPeriod.since.toISOString(), until: previousPeriod.until.toISOString() },
    requests: current.requests,
    approved: current.approved,
    denied: current.denied,
    expired: current.expired,
    cancelled: current.cancelled,
    unsatisfiable: current.unsatisfiable,
    break_glass: current.breakGlass,
    time_to_decision_p50_seconds: roundOrNull(current.timeToDecisionP50Seconds),
    time_to_decision_p95_seconds: roundOrNull(current.timeToDecisionP95Seconds),
    granted_hours: round(current.grantedHours),
    longest_grants: current.longestGrants.map((grant) => ({ grant_id: grant.grantId, user_id: grant.userId, resource: grant.resource, hours: round(grant.hours) })),
    top_resources: current.topResources,
    top_requesters: current.topRequesters.map((row) => ({ user_id: row.userId, name: row.name, requests: row.requests })),
    top_approvers: current.topApprovers.map((row) => ({ user_id: row.userId, name: row.name, approvals: row.approvals, median_seconds_to_approve: round(row.medianSecondsToApprove, 1) })),
    break_glass_uses: current.breakGlassUses.map((use) => ({ request_id: use.requestId, user_id: use.userId, resource: use.resource, review: use.review, overdue: use.overdue })),
    revoke_failures: current.revokeFailures,
    failed_grants: current.failedGrants,
    alerts: current.alerts.map((alert) => ({ seq: alert.seq, type: alert.type, rule: alert.rule, title: alert.title, subject_id: alert.subjectId, request_id: alert.requestId })),
    alerts_total: current.alertsTotal,
    per_day: current.perDay.map((day) => ({ day: day.day, approved: day.approved, denied: day.denied, expired: day.expired, other: day.other, median_decision_seconds: roundOrNull(day.medianDecisionSeconds) })),
    previous: {
      requests: previous.requests,
      approved: previous.approved,
      denied: previous.denied,
      expired: previous.expired,
      cancelled: previous.cancelled,
      break_glass: previous.breakGlass,
      time_to_decision_p50_seconds: roundOrNull(previous.timeToDecisionP50Seconds),
      time_to_decision_p95_seconds: roundOrNull(previous.timeToDecisionP95Seconds),
      granted_hours: round(previous.grantedHours),
    },
    ledger: { head_seq: ledger.headSeq, head_hash: ledger.headHash, verified: ledger.verified, entries: ledger.entries, ...(ledger.problem ? { problem: ledger.problem } : {}) },
    previous_review: previousReview,
  };
}
