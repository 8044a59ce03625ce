import { formatDuration } from "../domain/parse-duration.js";
import type { LedgerEntryBody } from "../ledger/ledger-hash.js";
import { escapeMrkdwn, truncate } from "../slack/escape-mrkdwn.js";
import { formatSlackDate } from "../slack/blocks/format-slack-date.js";
import type { LedgerRow } from "../ledger/ledger-row.js";

const VERBS: Record<string, string> = {
  "request.created": "requested",
  "request.unsatisfiable": "requested (cannot be approved: rules unsatisfiable)",
  "vote.approved": "approved",
  "request.denied": "denied",
  "request.cancelled": "cancelled",
  "request.expired": "expired (no decision in time)",
  "grant.activated": "granted",
  "grant.expired": "grant expired",
  "grant.revoked": "revoked early",
  "grant.provisioning": "approved; provisioning",
  "grant.provisioned": "provisioned",
  "grant.provision_failed": ":warning: provisioning failed",
  "grant.failed": ":x: grant FAILED",
  "grant.deprovisioned": "access removed",
  "grant.deprovision_failed": ":rotating_light: revoke failing",
  "grant.extended": "extended",
  "grant.extension_provisioned": "extension provisioned",
  "grant.extension_provision_failed": ":warning: extension not provisioned",
  "request.break_glass": ":rotating_light: BREAK-GLASS",
  "break_glass.reviewed": "reviewed break-glass",
  "request.reminded": "reminded approvers",
  "alert.raised": ":rotating_light: ALERT",
};

/**
 * One compact, human-readable line per ledger event for the audit channel: sequence
 * number, who, what, which resource, and a link to the request message when there is one.
 */
export function formatAuditLine(row: LedgerRow, requestLink: string | null): string {
  const body = JSON.parse(row.body) as LedgerEntryBody;
  const who = body.actor.kind === "user" && body.actor.user_id ? `<@${body.actor.user_id}>` : "accessbot";
  const verb = VERBS[row.type] ?? row.type;
  const request = row.requestId ? (requestLink ? `<${requestLink}|${row.requestId}>` : row.requestId) : "";
  const subject = row.subjectId && (row.type.startsWith("vote") || row.type === "request.denied") ? ` for <@${row.subjectId}>` : "";
  const resource = row.resource ? ` \`${row.resource}\`` : "";
  return truncate(`\`#${row.seq}\` ${formatSlackDate(row.ts, "{time_secs}")} ${who} ${verb} ${request}${resource}${subject}${describeData(row.type, body.data)}`, 600);
}

function describeData(type: string, data: Record<string, unknown>): string {
  switch (type) {
    case "request.created":
      return ` for ${formatDuration(Number(data.duration_seconds))}: “${escapeMrkdwn(truncate(String(data.reason ?? ""), 120))}”`;
    case "request.unsatisfiable":
      return `: ${escapeMrkdwn(((data.problems as string[] | undefined) ?? []).join("; "))}`;
    case "vote.approved": {
      const missing = ((data.evaluation as { missing?: Array<{ group: string; missing: number }> } | undefined)?.missing ?? []).map((rule) => `${rule.group} ${rule.missing}`);
      return ` · counted toward ${data.counted_toward ?? "no rule"}${missing.length > 0 ? ` · still missing ${missing.join(", ")}` : " · all rules met"}`;
    }
    case "request.denied":
      return data.reason ? `: “${escapeMrkdwn(truncate(String(data.reason), 120))}”` : "";
    case "grant.activated":
    case "grant.extended":
      return ` until ${formatSlackDate(new Date(String(data.expires_at)))}`;
    case "grant.provision_failed":
    case "grant.deprovision_failed":
      return ` (attempt ${String(data.attempt)}): “${escapeMrkdwn(truncate(String(data.error ?? ""), 160))}”${data.retry_at ? ` · retry ${formatSlackDate(new Date(String(data.retry_at)))}` : " · giving up"}`;
    case "grant.deprovisioned":
      return Array.isArray(data.kept_for) && data.kept_for.length > 0 ? ` · kept: still covered by ${data.kept_for.map(String).join(", ")}` : "";
    case "request.break_glass":
      return ` for ${formatDuration(Number(data.duration_seconds))} without approval: “${escapeMrkdwn(truncate(String(data.reason ?? ""), 120))}” · review by ${escapeMrkdwn(String(data.review_group ?? ""))}`;
    case "break_glass.reviewed":
      return `: ${data.outcome === "escalate" ? ":rotating_light: escalated" : "OK"}`;
    case "alert.raised":
      return ` · ${describeAlert(data)}`;
    default:
      return "";
  }
}

/**
 * An alert in words: the rule, who, and the figures that tripped it. Everything comes from the
 * body and is escaped or checked before it reaches mrkdwn (only Slack user ids become mentions).
 */
function describeAlert(data: Record<string, unknown>): string {
  const subject = record(data.subject);
  const figures = record(data.figures);
  const title = `*${escapeMrkdwn(String(data.title ?? data.rule ?? "alert"))}*`;
  const approver = mention(subject.approver_id);
  const requester = mention(subject.requester_id);
  const person = mention(subject.user_id);
  const n = (value: unknown) => escapeMrkdwn(String(value ?? "?"));
  const span = (value: unknown) => (typeof value === "number" && value >= 60 ? formatDuration(value) : `${n(value)} s`);
  switch (data.rule) {
    case "rubber_stamp":
      return `${title}: ${approver} approved ${requester}'s request ${n(figures.seconds_to_approve)} s after it was made (alert at ${span(figures.within_seconds)} or less)`;
    case "cosy_pair":
      return `${title}: ${approver} has approved ${requester} ${n(figures.approvals)} times in ${span(figures.within_seconds)} (more than ${n(figures.more_than)})`;
    case "off_hours":
      return `${title}: ${escapeMrkdwn(String(figures.event ?? "activity"))} by ${person} at ${n(figures.local_time)} ${n(figures.timezone)}, outside ${n(figures.working_hours)}`;
    case "first_time_access":
      return `${title}: ${person}'s first grant of this resource`;
    case "unusual_duration":
      return `${title}: ${person} has had ${n(figures.long_grants)} long grants in ${span(figures.within_seconds)} (more than ${n(figures.more_than)}); this one ${span(figures.duration_seconds)}${
        figures.reason === "near_max" ? `, at least ${n(figures.near_max_percent)}% of the ${span(figures.max_duration_seconds)} maximum` : `, ${n(figures.times_usual)}× or more their usual ${span(figures.usual_seconds)}`
      }`;
    case "repeated_break_glass":
      return `${title}: ${person} used break-glass ${n(figures.uses)} times in ${span(figures.within_seconds)} (more than ${n(figures.more_than)})`;
    case "request_burst":
      return subject.kind === "workspace"
        ? `${title}: ${n(figures.requests)} requests across the workspace in ${span(figures.within_seconds)} (more than ${n(figures.more_than)})`
        : `${title}: ${person} made ${n(figures.requests)} requests in ${span(figures.within_seconds)} (more than ${n(figures.more_than)})`;
    default:
      return title;
  }
}

function mention(value: unknown): string {
  return typeof value === "string" && /^[UW][A-Z0-9]{2,20}$/.test(value) ? `<@${value}>` : escapeMrkdwn(String(value ?? "someone"));
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
