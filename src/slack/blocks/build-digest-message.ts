import type { KnownBlock } from "@slack/types";
import type { DigestReport } from "../../digest/build-digest-report.js";
import { escapeMrkdwn, escapePlainText, truncate } from "../escape-mrkdwn.js";
import type { SlackMessage } from "./build-request-message.js";
import { ActionIds, BlockIds } from "../slack-ids.js";

/** Where a posted digest stands: its chart, who may sign it off and whether someone has. */
export interface DigestMessageState {
  /** The uploaded chart (a private Slack file shown in an image block); null: none. */
  chartFileId: string | null;
  /** null: no review group, so nobody is asked to sign it off. */
  signOff: { reviewGroup: string; signedOffBy: string | null; signedOffAt: string | null } | null;
  /** A re-post because nobody signed off in time (1 for the first reminder). */
  reminderRound: number;
}

const NO_STATE: DigestMessageState = { chartFileId: null, signOff: null, reminderRound: 0 };

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
export function buildDigestMessage(report: DigestReport, state: DigestMessageState = NO_STATE): SlackMessage {
  const p = report.previous;
  const title = `Access digest ${report.period.first_day} to ${report.period.last_day}`;
  const field = (label: string, now: number, before: number) => ({ type: "mrkdwn" as const, text: `*${label}*\n${now} (${delta(now, before)} on ${before})` });
  const list = (heading: string, rows: string[], empty = "none") => ({
    type: "section" as const,
    text: { type: "mrkdwn" as const, text: truncate(`*${heading}*\n${rows.length > 0 ? rows.join("\n") : `_${empty}_`}`, MAX_TEXT) },
  });
  const reminder: KnownBlock[] =
    state.reminderRound > 0 && state.signOff && !state.signOff.signedOffBy
      ? [{ type: "section", text: { type: "mrkdwn", text: `:alarm_clock: *Reminder${state.reminderRound > 1 ? ` ${state.reminderRound}` : ""}: this digest has not been signed off yet.* A member of \`${escapeMrkdwn(state.signOff.reviewGroup)}\`, please review it and click Reviewed.` } }]
      : [];
  const previousReview = report.previous_review;
  const blocks: KnownBlock[] = [
    ...reminder,
    { type: "header", text: { type: "plain_text", text: escapePlainText(title) } },
    { type: "context", elements: [{ type: "mrkdwn", text: `${escapeMrkdwn(report.period.timezone)} · the previous ${report.period.first_day === report.period.last_day ? "day" : "period"} in brackets` }] },
    ...(previousReview
      ? [{
          type: "context" as const,
          elements: [{
            type: "mrkdwn" as const,
            text: previousReview.signed_off_by
              ? `:white_check_mark: The previous digest (${previousReview.first_day} to ${previousReview.last_day}) was signed off by <@${escapeMrkdwn(previousReview.signed_off_by)}> on ${previousReview.signed_off_at!.slice(0, 10)}.`
              : `:warning: *The previous digest (${previousReview.first_day} to ${previousReview.last_day}) was not signed off.*`,
          }],
        }]
      : []),
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
    ...(state.chartFileId ? [{ type: "image" as const, slack_file: { id: state.chartFileId }, alt_text: `Requests per day by outcome, and the median time to decision, ${report.period.first_day} to ${report.period.last_day}` }] : []),
    list(
      `Alerts (${report.alerts_total})`,
      report.alerts
        .slice(0, 10)
        .map((alert) => `#${alert.seq} ${escapeMrkdwn(alert.title ?? alert.rule ?? alert.type)}${alert.subject_id ? ` · <@${escapeMrkdwn(alert.subject_id)}>` : ""}${alert.request_id ? ` · ${escapeMrkdwn(alert.request_id)}` : ""}`)
        .concat(report.alerts_total > 10 ? [`… and ${report.alerts_total - 10} more (\`accessbot audit export\`, type \`alert.raised\`)`] : []),
    ),
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
    ...signOffBlocks(report, state),
  ];
  const text = `${title}: ${report.requests} requests, ${report.approved} approved, ${report.denied} denied; ledger ${report.ledger.verified ? "intact" : "NOT verified"}`;
  return { text, blocks };
}

/** The Reviewed button for the review group, or who signed it off and when. */
function signOffBlocks(report: DigestReport, state: DigestMessageState): KnownBlock[] {
  const signOff = state.signOff;
  if (!signOff) return [];
  if (signOff.signedOffBy) {
    return [{ type: "context", block_id: BlockIds.digestReview, elements: [{ type: "mrkdwn", text: `:white_check_mark: Signed off by <@${escapeMrkdwn(signOff.signedOffBy)}> at ${escapeMrkdwn(signOff.signedOffAt ?? "")}` }] }];
  }
  return [
    {
      type: "section",
      block_id: BlockIds.digestReview,
      text: { type: "mrkdwn", text: `*Periodic access review:* a member of \`${escapeMrkdwn(signOff.reviewGroup)}\` reviews this digest and signs it off. The sign-off goes into the ledger with what you see here.` },
      accessory: { type: "button", action_id: ActionIds.digestSignOff, style: "primary", value: report.period.since, text: { type: "plain_text", text: "Reviewed" } },
    },
  ];
}
