/** Usage for `/access help`. */
export function buildHelpText(): string {
  return [
    "*Just-in-time access*",
    "• `/access <resource> [duration] <reason>`: request access, e.g. `/access prod-db 2h fixing INC-4411`. Without a duration you get the resource's default.",
    "• `/access`: open a form listing the resources you may request.",
    "• `/access list`: your pending requests and active grants.",
    "• `/access cancel <request-id>`: withdraw a pending request.",
    "• `/access revoke <id>`: end your active grant early (grant or request id).",
    "Durations look like `30m`, `2h`, `1d` or `PT2H`. Approvers get the request in the approval channel and by DM.",
  ].join("\n");
}
