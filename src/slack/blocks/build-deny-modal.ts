import type { View } from "@slack/types";
import { BlockIds, CallbackIds, InputActionIds } from "../slack-ids.js";

/** Asks for an optional deny reason; private_metadata carries only the request id. */
export function buildDenyModal(requestId: string): View {
  return {
    type: "modal",
    callback_id: CallbackIds.denyModal,
    private_metadata: requestId,
    title: { type: "plain_text", text: "Deny request" },
    submit: { type: "plain_text", text: "Deny" },
    close: { type: "plain_text", text: "Back" },
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `Deny *${requestId}*? The request ends at once and the requester is told.` } },
      {
        type: "input",
        block_id: BlockIds.denyReason,
        optional: true,
        label: { type: "plain_text", text: "Reason (optional)" },
        element: { type: "plain_text_input", action_id: InputActionIds.denyReason, multiline: true, max_length: 1000 },
      },
    ],
  };
}
