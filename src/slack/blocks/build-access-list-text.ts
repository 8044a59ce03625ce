import type { AccessRequestRecord, GrantRecord } from "../../domain/access-records.js";
import { formatDuration } from "../../domain/parse-duration.js";
import { formatSlackDate } from "./format-slack-date.js";

/** `/access list`: what this person is waiting for and what they hold. */
export function buildAccessListText(open: { pending: AccessRequestRecord[]; active: GrantRecord[] }): string {
  if (open.pending.length === 0 && open.active.length === 0) {
    return "You have no pending requests and no active grants. Request access with `/access <resource> [duration] <reason>`.";
  }
  const lines: string[] = [];
  if (open.active.length > 0) {
    lines.push("*Active grants*");
    for (const grant of open.active) {
      lines.push(`• \`${grant.resource}\` until ${formatSlackDate(grant.expiresAt)}: grant ${grant.id} (request ${grant.requestId}). End early with \`/access revoke ${grant.id}\`.`);
    }
  }
  if (open.pending.length > 0) {
    lines.push("*Pending requests*");
    for (const request of open.pending) {
      lines.push(`• \`${request.resource}\` for ${formatDuration(request.durationSeconds)}: ${request.id}, open until ${formatSlackDate(request.pendingUntil)}. Withdraw with \`/access cancel ${request.id}\`.`);
    }
  }
  return lines.join("\n");
}
