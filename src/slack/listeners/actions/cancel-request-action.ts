import type { App, BlockAction } from "@slack/bolt";
import { cancelRequest } from "../../../domain/withdraw-access.js";
import { describeCancelResult } from "../../describe-request-result.js";
import { blockActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { replyToClicker } from "../reply-to-clicker.js";
import { parseBlockAction } from "./parse-block-action.js";

/** Cancel on the Home tab: the same withdrawal as `/access cancel <id>`; the domain checks the request is the clicker's. */
export function registerCancelRequestAction(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.cancel, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(blockActionSchema, body);
      const snapshot = await cancelRequest(services.deps, payload.actions[0]!.value, identityFromPayload(payload));
      await reply(describeCancelResult(snapshot));
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
