/**
 * Every action_id, callback_id and block_id the bot uses. The slash command must match
 * manifest.yml (a test checks it).
 */
export const SLASH_COMMAND = "/access";

export const ActionIds = {
  approve: "access_approve",
  deny: "access_deny",
  /** On the expiry warning: ask for more time / end the grant now ("I'm done"). */
  extend: "access_extend",
  release: "access_release",
  /** On an expired request's DM: file the same request again. */
  requestAgain: "access_request_again",
  /** On a break-glass review copy. */
  reviewOk: "access_review_ok",
  reviewEscalate: "access_review_escalate",
  /** On the Home tab: withdraw a pending request; open the same modal as `/access`. */
  cancel: "access_cancel",
  openRequestModal: "access_open_request_modal",
  /** On the weekly digest: the review group signs it off. */
  digestSignOff: "access_digest_sign_off",
} as const;

export const CallbackIds = {
  requestModal: "access_request_modal",
  denyModal: "access_deny_modal",
  extendModal: "access_extend_modal",
} as const;

export const BlockIds = {
  actions: "access_actions",
  resource: "access_resource",
  duration: "access_duration",
  reason: "access_reason",
  denyReason: "access_deny_reason",
  extendDuration: "access_extend_duration",
  extendReason: "access_extend_reason",
  notice: "access_notice",
  digestReview: "access_digest_review",
} as const;

/**
 * Every block the Home tab shows for one request in "Waiting for me" has a block_id starting
 * with this prefix and the request id: a vote from the tab records exactly those blocks as seen.
 */
export const HOME_WAITING_BLOCK_PREFIX = "access_home_waiting:";

export function homeWaitingBlockId(requestId: string, part: string): string {
  return `${HOME_WAITING_BLOCK_PREFIX}${requestId}:${part}`;
}

export const InputActionIds = {
  resource: "resource",
  duration: "duration",
  reason: "reason",
  denyReason: "deny_reason",
} as const;
