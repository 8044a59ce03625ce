import type { Button, KnownBlock } from "@slack/types";
import type { HomeView } from "@slack/types";
import type { AccessRequestRecord, GrantRecord } from "../../domain/access-records.js";
import { formatDuration } from "../../domain/parse-duration.js";
import type { HomeRequestItem, HomeSnapshot } from "../../domain/read-home-snapshot.js";
import { escapeMrkdwn, truncate } from "../escape-mrkdwn.js";
import { ActionIds, homeWaitingBlockId } from "../slack-ids.js";
import { formatRuleProgress } from "./format-rule-progress.js";
import { formatSlackDate } from "./format-slack-date.js";

/** Slack's limit for a Home view; the lists' own limits (HOME_LIMITS) keep well under it. */
export const HOME_MAX_BLOCKS = 100;
const MAX_TEXT = 2900;

/**
 * One person's App Home tab. Pure: the same snapshot always renders the same blocks. Buttons
 * carry only an id; the listeners they reach are the ones the messages' buttons reach, which
 * decide from the signed user and the database. User text (reasons) is escaped mrkdwn.
 */
export function buildHomeView(home: HomeSnapshot): HomeView {
  const blocks: KnownBlock[] = [
    {
      type: "section",
      block_id: "access_home_intro",
      text: { type: "mrkdwn", text: "Just-in-time access, approved here and recorded in the ledger. `/access help` lists the commands." },
      accessory: button(ActionIds.openRequestModal, "Request access", undefined, "primary"),
    },
    ...section("My access", myAccess(home), home.more.grants ? "More grants are listed by `/access list`." : null),
    { type: "divider" },
    ...section("My requests", myRequests(home), home.more.pending ? "More pending requests are listed by `/access list`." : null),
    { type: "divider" },
    ...section("Waiting for me", waitingForMe(home), waitingFooter(home)),
    { type: "divider" },
    ...section("Recent history", recentHistory(home), null),
  ];
  return { type: "home", blocks: blocks.slice(0, HOME_MAX_BLOCKS) };
}

function section(title: string, items: KnownBlock[], footer: string | null): KnownBlock[] {
  return [{ type: "header", text: { type: "plain_text", text: title } }, ...items, ...(footer ? [context(footer)] : [])];
}

function myAccess(home: HomeSnapshot): KnownBlock[] {
  if (home.grants.length === 0) return [context("You have no active access. *Request access* above asks for some.")];
  return home.grants.flatMap(({ grant, resourceTitle }) => {
    const buttons: Button[] = [];
    if (grant.status === "ACTIVE") buttons.push(button(ActionIds.extend, "Extend", grant.id, "primary"));
    buttons.push(button(ActionIds.release, "I'm done", grant.id));
    return [
      { type: "section", block_id: `access_home_grant:${grant.id}`, text: { type: "mrkdwn", text: truncate(`*\`${grant.resource}\`* ${escapeMrkdwn(truncate(resourceTitle, 200))} (grant ${grant.id})\n${grantState(grant, home.renderedAt)}`, MAX_TEXT) } },
      { type: "actions", block_id: `access_home_grant:${grant.id}:actions`, elements: buttons },
    ];
  });
}

function grantState(grant: GrantRecord, now: Date): string {
  if (grant.status === "PROVISIONING") return ":gear: Approved; access is being set up";
  const left = Math.max(0, Math.floor((grant.expiresAt.getTime() - now.getTime()) / 1000));
  return `:large_green_circle: Active until ${formatSlackDate(grant.expiresAt)}: *${formatDuration(left)} left*`;
}

function myRequests(home: HomeSnapshot): KnownBlock[] {
  if (home.pending.length === 0) return [context("You have no pending requests.")];
  return home.pending.map((item) => ({
    type: "section",
    block_id: `access_home_pending:${item.request.id}`,
    text: { type: "mrkdwn", text: truncate(`*${item.request.id}* ${describeAsk(item)}\n${progress(item)}\nOpen until ${formatSlackDate(item.request.pendingUntil)}`, MAX_TEXT) },
    accessory: button(ActionIds.cancel, "Cancel", item.request.id),
  }));
}

function waitingForMe(home: HomeSnapshot): KnownBlock[] {
  if (home.waiting.length === 0) return [context("Nothing is waiting for your approval.")];
  return home.waiting.flatMap((item): KnownBlock[] => {
    const { request } = item;
    const reason = request.reason.length > 0 ? escapeMrkdwn(truncate(request.reason, 500)) : "(none given)";
    // Progress and dates come before the reason, so a cut at the text limit only ever shortens the reason.
    const text = `*${request.id}*: <@${request.requesterId}> asks for ${describeAsk(item)}\n${progress(item)}\nOpen until ${formatSlackDate(request.pendingUntil)}\n*Reason:* ${reason}`;
    return [
      { type: "section", block_id: homeWaitingBlockId(request.id, "summary"), text: { type: "mrkdwn", text: truncate(text, MAX_TEXT) } },
      {
        type: "actions",
        block_id: homeWaitingBlockId(request.id, "actions"),
        elements: [button(ActionIds.approve, "Approve", request.id, "primary"), button(ActionIds.deny, "Deny", request.id, "danger")],
      },
    ];
  });
}

function waitingFooter(home: HomeSnapshot): string | null {
  const notes: string[] = [];
  if (home.more.waiting) notes.push("More requests are waiting in the approval channel.");
  if (home.incomplete) notes.push(":warning: Some approver groups couldn't be looked up just now, so requests may be missing here.");
  return notes.length > 0 ? notes.join(" ") : null;
}

function recentHistory(home: HomeSnapshot): KnownBlock[] {
  if (home.recent.length === 0) return [context("You haven't requested access yet.")];
  return home.recent.map(({ request, grant }) =>
    context(`*${request.id}* \`${request.resource}\` for ${formatDuration(request.durationSeconds)}, ${formatSlackDate(request.createdAt, "{date_short} {time}")}: ${outcome(request, grant)}. “${escapeMrkdwn(truncate(request.reason, 80))}”`),
  );
}

const REQUEST_OUTCOME: Record<AccessRequestRecord["status"], string> = {
  PENDING: "waiting for approval",
  APPROVED: "approved",
  DENIED: "denied",
  CANCELLED: "cancelled",
  EXPIRED: "expired without enough approvals",
  UNSATISFIABLE: "closed: the approver groups can't satisfy the policy",
};

const GRANT_OUTCOME: Record<GrantRecord["status"], string> = {
  PROVISIONING: "approved, being set up",
  ACTIVE: "active",
  EXPIRED: "granted, expired",
  REVOKED: "granted, ended early",
  FAILED: "approved, provisioning failed",
};

function outcome(request: AccessRequestRecord, grant: GrantRecord | null): string {
  return grant ? GRANT_OUTCOME[grant.status] : REQUEST_OUTCOME[request.status];
}

function describeAsk(item: HomeRequestItem): string {
  const { request } = item;
  const what = request.extendsGrantId ? `an extension of ${request.extendsGrantId} by` : "";
  return `\`${request.resource}\` ${escapeMrkdwn(truncate(item.resourceTitle, 200))}, ${what ? `${what} ` : "for "}${formatDuration(request.durationSeconds)}`;
}

function progress(item: HomeRequestItem): string {
  return item.rules ? formatRuleProgress(item.rules).join("\n") : ":grey_question: Approval progress is unavailable right now.";
}

function context(text: string): KnownBlock {
  return { type: "context", elements: [{ type: "mrkdwn", text: truncate(text, MAX_TEXT) }] };
}

function button(actionId: string, text: string, value: string | undefined, style?: "primary" | "danger"): Button {
  return { type: "button", action_id: actionId, text: { type: "plain_text", text }, ...(value !== undefined ? { value } : {}), ...(style ? { style } : {}) };
}
