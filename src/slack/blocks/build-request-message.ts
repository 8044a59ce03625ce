import type { KnownBlock } from "@slack/types";
import type { RequestView } from "../../domain/build-request-view.js";
import { formatDuration } from "../../domain/parse-duration.js";
import { escapeMrkdwn, escapePlainText, truncate } from "../escape-mrkdwn.js";
import { ActionIds, BlockIds } from "../slack-ids.js";
import { formatRuleProgress } from "./format-rule-progress.js";
import { formatSlackDate } from "./format-slack-date.js";

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const STATUS_LINE: Record<string, string> = {
  PENDING: ":hourglass_flowing_sand: Waiting for approval",
  APPROVED: ":white_check_mark: Approved",
  DENIED: ":no_entry: Denied",
  CANCELLED: ":heavy_multiplication_x: Cancelled by the requester",
  EXPIRED: ":clock3: Expired without enough approvals",
  UNSATISFIABLE: ":warning: Closed: the approver groups can't satisfy the policy",
};

/**
 * The request message posted to the approval channel and to each approver's DM. Pure: the
 * same view always renders the same blocks. Buttons appear only while the request is
 * pending; their value is the request id and nothing else.
 */
export function buildRequestMessage(view: RequestView): SlackMessage {
  const { request, votes, grant } = view.snapshot;
  const blocks: KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: truncate(`${request.extendsGrantId ? "Extension request" : "Access request"} ${request.id}: ${request.resource}`, 150) } },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Requester*\n<@${request.requesterId}>` },
        { type: "mrkdwn", text: `*Resource*\n\`${request.resource}\` ${escapeMrkdwn(truncate(view.resourceTitle, 200))}` },
        { type: "mrkdwn", text: `*Duration*\n${formatDuration(request.durationSeconds)}` },
        { type: "mrkdwn", text: `*Status*\n${statusLine(view)}` },
      ],
    },
    // The reason is user text: plain_text never parses mentions, links or formatting.
    { type: "section", text: { type: "plain_text", text: `Reason: ${request.reason.length > 0 ? truncate(escapePlainText(request.reason), 2900) : "(none given)"}`, emoji: false } },
  ];

  if (view.rules) {
    const lines = formatRuleProgress(view.rules);
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*Approvals*\n${lines.join("\n")}` } });
  }

  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: describeHistory(view) }] });

  const decisions = votes.map((vote) => `${vote.decision === "APPROVE" ? "Approved" : "Denied"} by <@${vote.voterId}> ${formatSlackDate(vote.createdAt)}`);
  if (request.denyReason) decisions.push(`Deny reason: ${escapeMrkdwn(truncate(request.denyReason, 500))}`);
  if (decisions.length > 0) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: truncate(decisions.join("\n"), 2900) }] });

  if (request.status === "PENDING") {
    blocks.push({
      type: "actions",
      block_id: BlockIds.actions,
      elements: [
        { type: "button", action_id: ActionIds.approve, style: "primary", text: { type: "plain_text", text: "Approve" }, value: request.id },
        { type: "button", action_id: ActionIds.deny, style: "danger", text: { type: "plain_text", text: "Deny" }, value: request.id },
      ],
    });
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `Open until ${formatSlackDate(request.pendingUntil)}` }] });
  } else if (grant) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: describeGrant(grant) }] });
  }

  return { text: `Access request ${request.id}: <@${request.requesterId}> asks for ${request.resource} for ${formatDuration(request.durationSeconds)} (${statusText(view)})`, blocks };
}

function statusLine(view: RequestView): string {
  const { request, grant } = view.snapshot;
  if (grant?.status === "PROVISIONING") return ":gear: Approved; access is being set up";
  if (grant?.status === "FAILED") return ":x: Approved, but provisioning failed; nothing was granted";
  if (grant?.status === "ACTIVE") return `:large_green_circle: Active until ${formatSlackDate(grant.expiresAt)}`;
  if (grant?.status === "EXPIRED") return ":white_circle: Granted, now expired";
  if (grant?.status === "REVOKED") return ":white_circle: Granted, ended early";
  return STATUS_LINE[request.status] ?? request.status;
}

function statusText(view: RequestView): string {
  const { request, grant } = view.snapshot;
  return (grant?.status ?? request.status).toLowerCase();
}

function describeGrant(grant: NonNullable<RequestView["snapshot"]["grant"]>): string {
  const window = `Granted ${formatSlackDate(grant.activatedAt)}, scheduled to end ${formatSlackDate(grant.expiresAt)}`;
  if (grant.status === "REVOKED" && grant.endedAt) return `${window}; ended early by <@${grant.endedBy}> ${formatSlackDate(grant.endedAt)}${grant.endReason ? `: ${escapeMrkdwn(truncate(grant.endReason, 300))}` : ""}`;
  if (grant.status === "FAILED") return `Provisioning failed ${grant.endedAt ? formatSlackDate(grant.endedAt) : ""}; anything partly granted is being cleaned up`;
  if (grant.status === "EXPIRED" && grant.endedAt) return `${window}; expired ${formatSlackDate(grant.endedAt)}`;
  return window;
}

function describeHistory(view: RequestView): string {
  const { history } = view;
  const who = `<@${view.snapshot.request.requesterId}>`;
  const resource = `\`${view.snapshot.request.resource}\``;
  if (history.grantsLast30Days === 0 && history.recentGrants.length === 0) {
    return `:mag: ${who} has had no grants of ${resource} before${history.deniedLast30Days > 0 ? `; ${history.deniedLast30Days} denied in the last 30 days` : ""}.`;
  }
  const recent = history.recentGrants.map((grant) => `${formatSlackDate(grant.activatedAt, "{date_short}")} for ${formatDuration(grant.durationSeconds)} (“${escapeMrkdwn(truncate(grant.reason, 60))}”)`);
  const denied = history.deniedLast30Days > 0 ? ` ${history.deniedLast30Days} denied.` : "";
  return `:mag: ${who} had ${history.grantsLast30Days} ${history.grantsLast30Days === 1 ? "grant" : "grants"} of ${resource} in the last 30 days.${denied}${recent.length > 0 ? ` Recent: ${recent.join("; ")}` : ""}`;
}

const REVIEW_STATUS: Record<string, string> = {
  OPEN: ":eyes: Waiting for review",
  OK: ":white_check_mark: Reviewed: OK",
  ESCALATED: ":rotating_light: Reviewed: escalated",
};

/**
 * A break-glass grant as the audit channel and the review group see it: loud, with the
 * reason, the grant's state, and the review buttons until someone reviews it.
 */
export function buildBreakGlassMessage(view: RequestView): SlackMessage {
  const { request, grant, review } = view.snapshot;
  const blocks: KnownBlock[] = [
    { type: "header", text: { type: "plain_text", text: truncate(`🚨 Break-glass ${request.id}: ${request.resource}`, 150) } },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Who*\n<@${request.requesterId}>` },
        { type: "mrkdwn", text: `*Resource*\n\`${request.resource}\` ${escapeMrkdwn(truncate(view.resourceTitle, 200))}` },
        { type: "mrkdwn", text: `*Duration*\n${formatDuration(request.durationSeconds)}, without approval` },
        { type: "mrkdwn", text: `*Access*\n${statusLine(view)}` },
      ],
    },
    { type: "section", text: { type: "plain_text", text: `Reason: ${truncate(escapePlainText(request.reason), 2900)}`, emoji: false } },
  ];
  if (review) {
    const overdue = review.status === "OPEN" && view.renderedAt.getTime() >= review.dueAt.getTime();
    const state = review.status === "OPEN"
      ? `${overdue ? ":warning: *Review overdue*" : REVIEW_STATUS.OPEN} (due ${formatSlackDate(review.dueAt)}, by a member of ${escapeMrkdwn(review.reviewGroup)}, not the requester)`
      : `${REVIEW_STATUS[review.status]} by <@${review.reviewerId}> ${review.reviewedAt ? formatSlackDate(review.reviewedAt) : ""}`;
    blocks.push({ type: "section", text: { type: "mrkdwn", text: state } });
    if (review.status === "OPEN") {
      blocks.push({
        type: "actions",
        block_id: BlockIds.actions,
        elements: [
          { type: "button", action_id: ActionIds.reviewOk, style: "primary", text: { type: "plain_text", text: "Reviewed: OK" }, value: request.id },
          { type: "button", action_id: ActionIds.reviewEscalate, style: "danger", text: { type: "plain_text", text: "Reviewed: escalate" }, value: request.id },
        ],
      });
    }
  }
  if (grant) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: describeGrant(grant) }] });
  return { text: `Break-glass ${request.id}: <@${request.requesterId}> took ${request.resource} for ${formatDuration(request.durationSeconds)} without approval (${review ? review.status.toLowerCase() : "no review"})`, blocks };
}
