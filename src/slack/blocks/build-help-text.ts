/** Usage for `/access help`. */
export function buildHelpText(): string {
  return [
    "*Just-in-time access*",
    "• `/access <resource> [duration] <reason>`: request access, e.g. `/access prod-db 2h fixing INC-4411`. Without a duration you get the resource's default.",
    "• `/access`: open a form listing the resources you may request.",
    "• `/access list`: your pending requests and active grants.",
    "• `/access cancel <request-id>`: withdraw a pending request.",
    "• `/access revoke <id> [reason]`: end your active grant early (grant or request id).",
    "• Admins: `/access revoke <id> <reason>` ends someone else's grant; the reason is required and shown to them.",
    "• `/access <resource> [duration] <reason> --break-glass`: emergency access at once, without approvals, where the policy allows it. Approvers and the audit channel are alerted, and the review group must review it afterwards. A reason is required.",
    "Before a grant ends you get a DM with *Extend* (more time, up to the resource's maximum; approved like a request unless the policy says otherwise) and *I'm done* (end it now).",
    "Durations look like `30m`, `2h`, `1d` or `PT2H`. Approvers get the request in the approval channel and by DM.",
  ].join("\n");
}
