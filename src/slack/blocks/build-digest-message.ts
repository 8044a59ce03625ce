import type { KnownBlock } from "@slack/types";
import type { DigestReport } from "../../digest/build-digest-report.js";
import { escapeMrkdwn, escapePlainText, truncate } from "../escape-mrkdwn.js";
import type { SlackMessage } from "./build-request-message.js";

/** Slack's limits: 50 blocks a message, 3,000 characters a text (we keep a margin). */
const MAX_TEXT = 2900;

const seconds = (value: number | null) => (value === null ? "n/a" : value < 120 ? `${Math.round(value)} s` : value < 7200 ? `${(value / 60).toFixed(1)} min` : `${(value / 3600).toFixed(1)} h`);
const delta = (now: number, before: number) => (now === before ? "±0" : now > before ? `+${now - before}` : `−${before - now}`);

/**
 * The weekly digest in the audit channel: the week's figures beside the previous week's, who
 * requests and who approves, break-glass and its reviews, failed revocations, alerts, and the
 * ledger's verified head. Pure; the same report gives the same blocks. Lists are capped by the
 * report itself (top 5), so 50,000 requests a week fit like 5.
 */
export function buildDigestMessage(report: DigestReport): SlackMessage {
  const p = report.previous;
  const title = `Access digest ${report.period.first_day} to ${report.period.last_day}`;
  const field = (label: string, now: number, before: number) => ({ type: "mrkdwn" as const, text: `*${label}*\n${now} (${delta(now, before)} on ${before})` });
  const list = (heading: string, rows: string[], empty = "none") => ({
    type: "section" as const,
    text: { type: "mrkdwn" as const, text: truncate(`*${heading}*\n${rows.length > 0 ? rows.join("\n") : `_${empty}_`}`, MAX_TEXT) },
  });
  const blocks: KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: escapePlainText(title) } },
    { type: "context", elements: [{ type: "mrkdwn", text: `${escapeMrkdwn(report.period.timezone)} · the previous ${report.period.first_day === report.period.last_day ? "day" : "period"} in brackets` }] },
    {
      type: "section",
      fields: [
        field("Requests", report.requests, p.requests),
        field("Approved", report.approved, p.approved),
        field("Denied", report.denied, p.denied),
        field("Expired unanswered", report.expired, p.expired),
        field("Cancelled", report.cancelled, p.cancelled),
        field("Break-glass", report.break_glass, p.break_glass),
        { type: "mrkdwn", text: `*Time to decision*\nmedian ${seconds(report.time_to_decision_p50_seconds)} (${seconds(p.time_to_decision_p50_seconds)}), p95 ${seconds(report.time_to_decision_p95_seconds)} (${seconds(p.time_to_decision_p95_seconds)})` },
        { type: "mrkdwn", text: `*Granted hours*\n${report.granted_hours} (${p.granted_hours})` },
      ],
    },
    { type: "divider" },
    list("Top resources", report.top_resources.map((row) => `${row.requests} · \`${escapeMrkdwn(row.resource)}\``)),
    list("Top requesters", report.top_requesters.map((row) => `${row.requests} · <@${escapeMrkdwn(row.user_id)}>`)),
    list("Approvals per approver", report.top_approvers.map((row) => `${row.approvals} · <@${escapeMrkdwn(row.user_id)}>, median ${seconds(row.median_seconds_to_approve)} after the request`)),
    list("Longest grants", report.longest_grants.map((grant) => `${grant.hours} h · \`${escapeMrkdwn(grant.resource)}\` · <@${escapeMrkdwn(grant.user_id)}> (${escapeMrkdwn(grant.grant_id)})`)),
    list(
      "Break-glass",
      report.break_glass_uses.map((use) => `${use.overdue ? ":warning: *review overdue* · " : ""}${escapeMrkdwn(use.request_id)} · \`${escapeMrkdwn(use.resource)}\` · <@${escapeMrkdwn(use.user_id)}> · review ${use.review.toLowerCase()}`),
    ),
    list(
      "Revocations and provisioning",
      [
        `${report.revoke_failures.attempts} failed revoke attempts on ${report.revoke_failures.grants} grants (each retried until it succeeded)`,
        `${report.failed_grants} grants could not be provisioned`,
      ],
    ),
    list("Alerts", report.alerts.slice(0, 10).map((alert) => `#${alert.seq} ${escapeMrkdwn(alert.type)}${alert.request_id ? ` · ${escapeMrkdwn(alert.request_id)}` : ""}`).concat(report.alerts.length > 10 ? [`… and ${report.alerts.length - 10} more (\`accessbot digest --format json\`)`] : [])),
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: report.ledger.verified
            ? `:lock: Ledger verified: ${report.ledger.entries.toLocaleString("en-US")} entries, intact. Head \`#${report.ledger.head_seq}\` \`${report.ledger.head_hash ?? "(empty)"}\``
            : `:rotating_light: *Ledger NOT verified*: ${escapeMrkdwn(truncate(report.ledger.problem ?? "unknown problem", 500))}`,
        },
      ],
    },
  ];
  const text = `${title}: ${report.requests} requests, ${report.approved} approved, ${report.denied} denied; ledger ${report.ledger.verified ? "intact" : "NOT verified"}`;
  return { text, blocks };
}
