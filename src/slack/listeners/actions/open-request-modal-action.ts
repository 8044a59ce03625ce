import type { App, BlockAction } from "@slack/bolt";
import { openModalActionSchema } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { openRequestModal } from "../open-request-modal.js";
import { replyToClicker } from "../reply-to-clicker.js";
import { parseBlockAction } from "./parse-block-action.js";

/** "Request access" on the Home tab opens the same modal as `/access` with no arguments. */
export function registerOpenRequestModalAction(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.openRequestModal, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(openModalActionSchema, body);
      await openRequestModal(client, services.deps, payload.user.id, payload.trigger_id);
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
