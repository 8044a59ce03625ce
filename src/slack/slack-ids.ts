/**
 * Every action_id, callback_id and block_id the bot uses. The slash command must match
 * manifest.yml (a test checks it).
 */
export const SLASH_COMMAND = "/access";

export const ActionIds = {
  approve: "access_approve",
  deny: "access_deny",
} as const;

export const CallbackIds = {
  requestModal: "access_request_modal",
  denyModal: "access_deny_modal",
} as const;

export const BlockIds = {
  actions: "access_actions",
  resource: "access_resource",
  duration: "access_duration",
  reason: "access_reason",
  denyReason: "access_deny_reason",
} as const;

export const InputActionIds = {
  resource: "resource",
  duration: "duration",
  reason: "reason",
  denyReason: "deny_reason",
} as const;
