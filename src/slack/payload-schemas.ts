import { z } from "zod";
import { BlockIds, InputActionIds } from "./slack-ids.js";

/**
 * The parts of Slack's payloads the bot relies on, checked before use. Bolt has already
 * verified the signature; these schemas make sure a malformed (or unusually shaped) payload
 * becomes a clear error instead of an `undefined` deep inside the domain.
 */

const slackId = z.string().regex(/^[A-Z0-9]{2,}$/, "a Slack id");
export const requestIdSchema = z.string().regex(/^AR-[0-9A-Z]{4,16}$/, "a request id");
export const grantIdSchema = z.string().regex(/^GR-[0-9A-Z]{4,16}$/, "a grant id");

export const slashCommandSchema = z.object({
  user_id: slackId,
  user_name: z.string().max(200).default(""),
  team_id: slackId,
  enterprise_id: slackId.optional().nullable(),
  text: z.string().max(20_000).default(""),
  trigger_id: z.string().min(1).max(200),
});
export type SlashCommandPayload = z.infer<typeof slashCommandSchema>;

const userSchema = z.object({
  id: slackId,
  username: z.string().optional(),
  name: z.string().optional(),
  team_id: slackId.optional(),
});

/** A button click whose value must be an id of the given shape (and nothing else). */
function blockActionWith<V extends z.ZodType<string>>(value: V) {
  return z.object({
    user: userSchema,
    team: z.object({ id: slackId }).nullable().optional(),
    enterprise: z.object({ id: slackId }).nullable().optional(),
    trigger_id: z.string().min(1).optional(),
    actions: z.array(z.object({ action_id: z.string(), block_id: z.string().optional(), value })).min(1),
    message: z.object({ ts: z.string(), blocks: z.array(z.unknown()).optional() }).optional(),
    channel: z.object({ id: z.string() }).optional(),
    /** A click on the Home tab comes from a view, not a message (and has no response_url). */
    container: z.object({ type: z.string() }).optional(),
    view: z.object({ id: z.string(), type: z.string(), blocks: z.array(z.unknown()).optional() }).optional(),
  });
}

/** Buttons whose value is a request id: Approve, Deny, Request again, the review buttons. */
export const blockActionSchema = blockActionWith(requestIdSchema);
export type BlockActionPayload = z.infer<typeof blockActionSchema>;

/** Buttons whose value is a grant id: Extend and I'm done on the expiry warning. */
export const grantActionSchema = blockActionWith(grantIdSchema);

/** "Request access" on the Home tab: no value; only who clicked and the trigger for the modal. */
export const openModalActionSchema = z.object({
  user: userSchema,
  trigger_id: z.string().min(1, "a trigger_id"),
});

/** The Events API's `app_home_opened`; the bot only answers the Home tab, not the Messages tab. */
export const appHomeOpenedSchema = z.object({
  type: z.literal("app_home_opened"),
  user: slackId,
  tab: z.string().optional(),
});

/** Reviewed on a digest: the value is the period's start as an ISO instant. */
export const digestActionSchema = blockActionWith(z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, "a digest period"));

const plainValue = z.object({ value: z.string().nullable().optional() });
const selectValue = z.object({ selected_option: z.object({ value: z.string() }).nullable().optional() });

export const requestModalStateSchema = z.object({
  [BlockIds.resource]: z.object({ [InputActionIds.resource]: selectValue }),
  [BlockIds.duration]: z.object({ [InputActionIds.duration]: plainValue }).optional(),
  [BlockIds.reason]: z.object({ [InputActionIds.reason]: plainValue }),
});

export const denyModalSchema = z.object({
  private_metadata: requestIdSchema,
  state: z.object({ values: z.object({ [BlockIds.denyReason]: z.object({ [InputActionIds.denyReason]: plainValue }).optional() }) }),
});

export const extendModalSchema = z.object({
  private_metadata: grantIdSchema,
  state: z.object({
    values: z.object({
      [BlockIds.extendDuration]: z.object({ [InputActionIds.duration]: selectValue }).optional(),
      [BlockIds.extendReason]: z.object({ [InputActionIds.reason]: plainValue }).optional(),
    }),
  }),
});

export const viewSubmissionSchema = z.object({
  user: userSchema,
  team: z.object({ id: slackId }).nullable().optional(),
  enterprise: z.object({ id: slackId }).nullable().optional(),
  view: z.object({ id: z.string().min(1), private_metadata: z.string().optional(), state: z.object({ values: z.record(z.string(), z.unknown()) }) }),
});

/** The identity the domain records, from the signed payload. */
export function identityFromPayload(payload: { user: z.infer<typeof userSchema>; team?: { id: string } | null; enterprise?: { id: string } | null }) {
  return {
    id: payload.user.id,
    teamId: payload.user.team_id ?? payload.team?.id ?? "unknown",
    enterpriseId: payload.enterprise?.id ?? null,
    name: payload.user.name ?? payload.user.username ?? payload.user.id,
  };
}
