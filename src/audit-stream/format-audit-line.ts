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
    default:
      return "";
  }
}
