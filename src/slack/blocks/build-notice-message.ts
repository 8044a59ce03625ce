import type { KnownBlock } from "@slack/types";
import type { NoticeView } from "../../domain/ports.js";
import { formatDuration } from "../../domain/parse-duration.js";
import { escapeMrkdwn, truncate } from "../escape-mrkdwn.js";
import { ActionIds, BlockIds } from "../slack-ids.js";
import type { SlackMessage } from "./build-request-message.js";
import { formatSlackDate } from "./format-slack-date.js";

/**
 * What a person (or the audit channel) is told, rendered from the state as it is when the
 * notice goes out. Pure. Null when there is nothing worth saying (the person did it themselves).
 */
export function buildNoticeMessage(view: NoticeView): SlackMessage | null {
  const text = noticeText(view);
  if (text === null) return null;
  const blocks: KnownBlock[] = [{ type: "section", block_id: BlockIds.notice, text: { type: "mrkdwn", text: truncate(text, 2900) } }];
  const buttons = noticeButtons(view);
  if (buttons.length > 0) blocks.push({ type: "actions", block_id: BlockIds.actions, elements: buttons });
  return { text: truncate(text, 2900), blocks };
}

function noticeText(view: NoticeView): string | null {
  const { notice, snapshot } = view;
  const { request, grant } = snapshot;
  const what = `your request ${request.id} for \`${request.resource}\` (${formatDuration(request.durationSeconds)})`;
  const grantRef = grant ? ` (grant ${grant.id})` : "";
  switch (notice.kind) {
    case "outcome": {
      const change = notice.change;
      switch (change.kind) {
        case "approved":
          if (request.breakGlass) return `:rotating_light: Break-glass access to \`${request.resource}\` is ${grant?.status === "ACTIVE" ? `active until ${formatSlackDate(grant.expiresAt)}` : "being set up"}. A member of ${escapeMrkdwn(snapshot.review?.reviewGroup ?? "the review group")} will review it.`;
          if (request.extendsGrantId && !grant) return `:white_check_mark: Approved: the extension ${request.id} of grant ${request.extendsGrantId}.`;
          if (grant?.status === "PROVISIONING") return `:white_check_mark: Approved: ${what}. Your access is being set up on \`${request.resource}\`; I'll tell you as soon as it is active.`;
          return `:white_check_mark: Approved: ${what}. Access is active until ${grant ? formatSlackDate(grant.expiresAt) : "the end of the window"}. End it early with \`/access revoke ${grant?.id ?? request.id}\`.`;
        case "activated":
          return grant?.status === "ACTIVE"
            ? `:large_green_circle: Your access to \`${request.resource}\`${grantRef} is active until ${formatSlackDate(grant.expiresAt)}. End it early with \`/access revoke ${grant.id}\`.`
            : null;
        case "denied":
          return `:no_entry: <@${change.voterId}> denied ${what}.${change.reason ? ` Reason: ${escapeMrkdwn(change.reason)}` : ""}`;
        case "expired":
          return `:clock3: ${capitalise(what)} expired without enough approvals.`;
        case "grant-expired":
          return `:lock: Your access to \`${request.resource}\`${grantRef} has ended: its ${formatDuration(request.durationSeconds)} window expired.`;
        case "grant-revoked":
          return `:lock: Your access to \`${request.resource}\`${grantRef} was ended early by <@${change.byUserId}>.${change.reason ? ` Reason: ${escapeMrkdwn(change.reason)}` : ""}`;
        // The requester did these themselves, or nothing final happened: the ephemeral reply is enough.
        case "cancelled":
        case "vote":
          return null;
      }
      return null;
    }
    case "provisioning-slow":
      return `:hourglass: Setting up your access to \`${request.resource}\`${grantRef} is taking longer than expected: the target system answered “${escapeMrkdwn(truncate(notice.error, 300))}”. I'll keep trying (next attempt ${formatSlackDate(new Date(notice.retryAt))}) and tell you when it is active.`;
    case "provisioning-failed":
      return `:x: Your access to \`${request.resource}\`${grantRef} could not be set up after ${notice.attempts} attempts (last error: “${escapeMrkdwn(truncate(notice.error, 300))}”). Nothing was granted; the security team can see this in the audit channel. Request again once the target system works.`;
    case "expiry-warning":
      if (!grant) return null;
      return `:alarm_clock: Your access to \`${request.resource}\`${grantRef} ends ${formatSlackDate(grant.expiresAt)}. Need more time? *Extend* asks for it; *I'm done* ends it now.`;
    case "extended":
      return grant ? `:arrows_counterclockwise: Your access to \`${request.resource}\`${grantRef} now lasts until ${formatSlackDate(grant.expiresAt)} (was ${formatSlackDate(new Date(notice.previousExpiresAt))}).` : null;
    case "approvers-reminded":
      return notice.approverIds.length > 0
        ? `:bell: ${capitalise(what)} is still waiting. I reminded ${notice.approverIds.map((id) => `<@${id}>`).join(", ")}.`
        : `:bell: ${capitalise(what)} is still waiting, and everyone who could approve it has been asked already.`;
    case "break-glass":
      return `:rotating_light: *Break-glass:* <@${request.requesterId}> took \`${request.resource}\` for ${formatDuration(request.durationSeconds)} without approval. Reason: ${escapeMrkdwn(truncate(request.reason, 500))}`;
    case "review-escalated":
      return `:rotating_light: <@${notice.reviewerId}> *escalated* the break-glass use ${request.id} of \`${request.resource}\` by <@${request.requesterId}>.`;
  }
}

function noticeButtons(view: NoticeView): Array<{ type: "button"; action_id: string; text: { type: "plain_text"; text: string }; value: string; style?: "primary" | "danger" }> {
  const { notice, snapshot } = view;
  if (notice.kind === "expiry-warning" && snapshot.grant?.status === "ACTIVE") {
    return [
      { type: "button", action_id: ActionIds.extend, style: "primary", text: { type: "plain_text", text: "Extend" }, value: snapshot.grant.id },
      { type: "button", action_id: ActionIds.release, text: { type: "plain_text", text: "I'm done" }, value: snapshot.grant.id },
    ];
  }
  if (notice.kind === "outcome" && notice.change.kind === "expired") {
    return [{ type: "button", action_id: ActionIds.requestAgain, style: "primary", text: { type: "plain_text", text: "Request again" }, value: snapshot.request.id }];
  }
  return [];
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
