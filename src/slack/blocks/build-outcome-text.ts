import type { RequestSnapshot } from "../../domain/access-records.js";
import type { RequestChange } from "../../domain/ports.js";
import { formatDuration } from "../../domain/parse-duration.js";
import { escapeMrkdwn } from "../escape-mrkdwn.js";
import { formatSlackDate } from "./format-slack-date.js";

/** The DM the requester gets when something final happens to their request or grant; null when nothing to say. */
export function buildOutcomeText(snapshot: RequestSnapshot, change: RequestChange): string | null {
  const { request, grant } = snapshot;
  const what = `your request ${request.id} for \`${request.resource}\` (${formatDuration(request.durationSeconds)})`;
  switch (change.kind) {
    case "approved":
      return `:white_check_mark: Approved: ${what}. Access is active until ${grant ? formatSlackDate(grant.expiresAt) : "the end of the window"}. End it early with \`/access revoke ${grant?.id ?? request.id}\`.`;
    case "denied":
      return `:no_entry: <@${change.voterId}> denied ${what}.${change.reason ? ` Reason: ${escapeMrkdwn(change.reason)}` : ""}`;
    case "expired":
      return `:clock3: ${capitalise(what)} expired without enough approvals. Request again if you still need access.`;
    case "grant-expired":
      return `:lock: Your access to \`${request.resource}\` (grant ${grant?.id ?? ""}) has ended: the ${formatDuration(request.durationSeconds)} window is over.`;
    case "grant-revoked":
      return `:lock: Your access to \`${request.resource}\` (grant ${grant?.id ?? ""}) was ended early by <@${change.byUserId}>.`;
    // The requester did these themselves, or nothing final happened: the ephemeral reply is enough.
    case "cancelled":
    case "vote":
      return null;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
