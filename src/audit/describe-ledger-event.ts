import { formatDuration } from "../domain/parse-duration.js";

/** A ledger event in words, for the CSV export and `audit show`. Built from the hashed body only. */
export interface LedgerEventDescription {
  actorId: string | null;
  /** Slack user name, or "accessbot" for the system. */
  actorName: string | null;
  actorRealName: string | null;
  actorEmail: string | null;
  actorTeamId: string | null;
  /** One line: what was decided or happened. */
  details: string;
  reason: string | null;
  countedToward: string | null;
  /** Rules still short of approvers after this vote, "group ×n; …". */
  missing: string | null;
  policySha256: string | null;
}

type Json = Record<string, unknown>;

/**
 * Describes an entry from its parsed body. Lenient on purpose: it reads bodies written by any
 * version of the bot, so a member that is missing or of an unexpected type is left out
 * rather than failing the export.
 */
export function describeLedgerEvent(type: string, body: Json): LedgerEventDescription {
  const actor = record(body.actor);
  const profile = record(actor.profile);
  const data = record(body.data);
  return {
    actorId: text(actor.user_id),
    actorName: text(actor.name),
    actorRealName: text(profile.real_name) ?? text(profile.display_name),
    actorEmail: text(profile.email),
    actorTeamId: text(actor.team_id),
    details: describeDetails(type, data),
    reason: text(data.reason) ?? (Array.isArray(data.problems) ? data.problems.map(String).join("; ") : null),
    countedToward: text(data.counted_toward),
    missing: describeMissing(data),
    policySha256: text(data.policy_sha256),
  };
}

function describeDetails(type: string, data: Json): string {
  switch (type) {
    case "request.created":
    case "request.unsatisfiable": {
      const rules = list(data.rules).map((rule) => `${text(record(rule).group) ?? "?"} ×${String(record(rule).count ?? "?")}`).join(", ");
      const base = `asked for ${seconds(data.duration_seconds)}, open until ${text(data.pending_until) ?? "?"}; rules: ${rules || "none"}`;
      return type === "request.unsatisfiable" ? `cannot be approved; ${base}` : base;
    }
    case "vote.approved": {
      const evaluation = record(data.evaluation);
      const rules = list(evaluation.rules).map((rule) => {
        const r = record(rule);
        const approvers = list(r.approvers).map(String);
        return `${text(r.group) ?? "?"} ${String(r.filled ?? "?")}/${String(r.required ?? "?")}${approvers.length > 0 ? ` [${approvers.join(", ")}]` : ""}`;
      });
      const state = evaluation.satisfied === true ? "all rules met" : "still pending";
      return `approve; ${rules.join(", ") || "no rules recorded"}; ${state}`;
    }
    case "request.denied":
      return "deny";
    case "request.cancelled":
      return "cancelled by the requester";
    case "request.expired":
      return `no decision by ${text(data.pending_until) ?? "?"}`;
    case "grant.activated": {
      const approvers = Object.entries(record(data.approvers)).map(([user, group]) => `${user} (${String(group)})`);
      return `granted ${text(data.activated_at) ?? "?"} until ${text(data.expires_at) ?? "?"} (${seconds(data.duration_seconds)}); approvers: ${approvers.join(", ") || "none recorded"}`;
    }
    case "grant.expired":
      return `expired at ${text(data.ended_at) ?? text(data.expires_at) ?? "?"}`;
    case "grant.revoked":
      return `ended early at ${text(data.ended_at) ?? "?"} (was due to end ${text(data.scheduled_expiry) ?? "?"})${data.by_admin === true ? " by an admin" : ""}`;
    case "grant.provisioning":
      return `approved; provisioning through ${text(data.provisioner) ?? "?"} for ${seconds(data.duration_seconds)}${data.break_glass === true ? " (break-glass, no approvals)" : ""}`;
    case "grant.provisioned":
      return `provisioned by ${text(data.provisioner) ?? "?"} on attempt ${String(data.attempt ?? "?")}`;
    case "grant.provision_failed":
      return `provisioning attempt ${String(data.attempt ?? "?")} of ${String(data.max_attempts ?? "?")} failed: ${text(data.error) ?? "?"}${text(data.retry_at) ? `; retry at ${text(data.retry_at)}` : "; giving up"}`;
    case "grant.failed":
      return `provisioning failed after ${String(data.attempts ?? "?")} attempts; anything partly granted is revoked`;
    case "grant.deprovisioned":
      return list(data.kept_for).length > 0
        ? `access kept: still covered by ${list(data.kept_for).map(String).join(", ")}`
        : `access removed by ${text(data.provisioner) ?? "?"} on attempt ${String(data.attempt ?? "?")}`;
    case "grant.deprovision_failed":
      return `revoke attempt ${String(data.attempt ?? "?")} failed: ${text(data.error) ?? "?"}; retry at ${text(data.retry_at) ?? "?"}`;
    case "grant.extended":
      return `extended from ${text(data.previous_expires_at) ?? "?"} to ${text(data.expires_at) ?? "?"}${data.without_approval === true ? " without approval" : ""}`;
    case "request.break_glass":
      return `break-glass for ${seconds(data.duration_seconds)}, review by ${text(data.review_group) ?? "?"} due ${text(data.review_due_at) ?? "?"}`;
    case "break_glass.reviewed":
      return `break-glass reviewed: ${text(data.outcome) ?? "?"}${data.overdue === true ? " (overdue)" : ""}`;
    case "request.reminded":
      return `approvers reminded: ${list(data.approvers).map(String).join(", ") || "none left to ask"}`;
    case "alert.raised": {
      const subject = Object.entries(record(data.subject)).map(([key, value]) => `${key}=${String(value)}`);
      const figures = Object.entries(record(data.figures)).map(([key, value]) => `${key}=${String(value)}`);
      return `alert ${text(data.rule) ?? "?"} (${text(data.title) ?? "?"}); ${subject.join(", ")}; ${figures.join(", ")}; de-dup key ${text(data.dedupe_key) ?? "?"}`;
    }
    default:
      return JSON.stringify(data);
  }
}

function describeMissing(data: Json): string | null {
  const missing = list(record(data.evaluation).missing).map((rule) => `${text(record(rule).group) ?? "?"} ×${String(record(rule).missing ?? "?")}`);
  return missing.length > 0 ? missing.join("; ") : null;
}

function seconds(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? formatDuration(value) : "?";
}

function record(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
