import type { View } from "@slack/types";
import { formatDuration } from "../../domain/parse-duration.js";
import type { ResourcePolicy } from "../../domain/policy-model.js";
import { escapePlainText, truncate } from "../escape-mrkdwn.js";
import { BlockIds, CallbackIds, InputActionIds } from "../slack-ids.js";

/** The `/access` modal: only resources this person may request are offered. */
export function buildRequestModal(resources: ResourcePolicy[]): View {
  return {
    type: "modal",
    callback_id: CallbackIds.requestModal,
    title: { type: "plain_text", text: "Request access" },
    submit: { type: "plain_text", text: "Request" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      {
        type: "input",
        block_id: BlockIds.resource,
        label: { type: "plain_text", text: "Resource" },
        element: {
          type: "static_select",
          action_id: InputActionIds.resource,
          placeholder: { type: "plain_text", text: "Choose a resource" },
          options: resources.slice(0, 100).map((resource) => ({
            text: { type: "plain_text", text: truncate(`${resource.id}: ${escapePlainText(resource.title)}`, 75) },
            description: { type: "plain_text", text: truncate(`default ${formatDuration(resource.defaultDurationSeconds)}, max ${formatDuration(resource.maxDurationSeconds)}`, 75) },
            value: resource.id,
          })),
        },
      },
      {
        type: "input",
        block_id: BlockIds.duration,
        optional: true,
        label: { type: "plain_text", text: "Duration" },
        hint: { type: "plain_text", text: "Like 30m, 2h or 1d. Leave empty for the resource's default." },
        element: { type: "plain_text_input", action_id: InputActionIds.duration, max_length: 20, placeholder: { type: "plain_text", text: "1h" } },
      },
      {
        type: "input",
        block_id: BlockIds.reason,
        label: { type: "plain_text", text: "Reason" },
        hint: { type: "plain_text", text: "Approvers see this. Link the incident or ticket." },
        element: { type: "plain_text_input", action_id: InputActionIds.reason, multiline: true, max_length: 1000 },
      },
    ],
  };
}

export function buildNoResourcesModal(): View {
  return {
    type: "modal",
    title: { type: "plain_text", text: "Request access" },
    close: { type: "plain_text", text: "Close" },
    blocks: [{ type: "section", text: { type: "mrkdwn", text: "There are no resources you're allowed to request. Ask a policy owner to add you to a requester group." } }],
  };
}
