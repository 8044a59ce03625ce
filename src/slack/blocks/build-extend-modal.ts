import type { View } from "@slack/types";
import type { GrantRecord } from "../../domain/access-records.js";
import { MAX_REASON_LENGTH } from "../../domain/create-access-request.js";
import { formatDuration } from "../../domain/parse-duration.js";
import type { ResourcePolicy } from "../../domain/policy-model.js";
import { BlockIds, CallbackIds, InputActionIds } from "../slack-ids.js";
import { formatSlackDate } from "./format-slack-date.js";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The steps offered, as people think about "a bit more time". */
const STEPS = [15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 7 * DAY];

/**
 * The extensions that fit in what is left of `max_duration`: the usual steps up to it, and
 * the whole rest (in whole minutes) when it is not itself a step. Empty when less than a
 * minute is left.
 */
export function extensionChoices(remainingSeconds: number): number[] {
  const rest = Math.floor(remainingSeconds / MINUTE) * MINUTE;
  if (rest < MINUTE) return [];
  const steps = STEPS.filter((seconds) => seconds <= rest);
  return steps.includes(rest) ? steps : [...steps, rest];
}

export interface ExtendModalInput {
  grant: GrantRecord;
  resource: ResourcePolicy;
  remainingSeconds: number;
}

/**
 * "Extend" on the expiry warning. private_metadata carries only the grant id; who submits,
 * whether the grant is still theirs and still active, and how much time is left are all
 * checked again on submission. Pure.
 */
export function buildExtendModal({ grant, resource, remainingSeconds }: ExtendModalInput): View {
  const choices = extensionChoices(remainingSeconds);
  const approval = resource.extension.requiresApproval
    ? "Your extension goes to the approvers of this resource; your access stays as it is meanwhile, and if they approve it is extended without a gap."
    : `It is extended at once, without approval (${Math.max(0, resource.extension.maxExtensions - grant.extensions)} of ${resource.extension.maxExtensions} extension(s) left).`;
  return {
    type: "modal",
    callback_id: CallbackIds.extendModal,
    private_metadata: grant.id,
    title: { type: "plain_text", text: "Extend access" },
    submit: { type: "plain_text", text: resource.extension.requiresApproval ? "Ask approvers" : "Extend" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: `Your access to \`${resource.id}\` (grant ${grant.id}) ends ${formatSlackDate(grant.expiresAt)}. You can add up to ${formatDuration(remainingSeconds)}: \`${resource.id}\` allows ${formatDuration(resource.maxDurationSeconds)} in total. ${approval}`,
        },
      },
      {
        type: "input",
        block_id: BlockIds.extendDuration,
        label: { type: "plain_text", text: "Extend by" },
        element: {
          type: "static_select",
          action_id: InputActionIds.duration,
          placeholder: { type: "plain_text", text: "Choose how much longer" },
          options: choices.map((seconds) => ({
            text: { type: "plain_text", text: seconds === choices.at(-1) && !STEPS.includes(seconds) ? `${formatDuration(seconds)} (all that is left)` : formatDuration(seconds) },
            value: formatDuration(seconds),
          })),
        },
      },
      {
        type: "input",
        block_id: BlockIds.extendReason,
        optional: !resource.requireReason,
        label: { type: "plain_text", text: resource.requireReason ? "Reason" : "Reason (optional)" },
        hint: { type: "plain_text", text: resource.extension.requiresApproval ? "Approvers see this. Why do you need more time?" : "Recorded in the audit ledger." },
        element: { type: "plain_text_input", action_id: InputActionIds.reason, multiline: true, max_length: MAX_REASON_LENGTH },
      },
    ],
  };
}
