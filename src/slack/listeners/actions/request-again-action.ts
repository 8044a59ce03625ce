import type { App, BlockAction } from "@slack/bolt";
import { requestAgain } from "../../../domain/request-again.js";
import { describeRequestAgainResult } from "../../describe-request-result.js";
import { blockActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { parseBlockAction } from "./parse-block-action.js";

/** "Request again" on an expired request's DM: files the same request anew, once. */
export function registerRequestAgainAction(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.requestAgain, async ({ ack, body, respond, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = (text: string) => respond({ response_type: "ephemeral", replace_original: false, text });
    try {
      const payload = parseBlockAction(blockActionSchema, body);
      const requestId = payload.actions[0]!.value;
      const result = await requestAgain(services.deps, requestId, identityFromPayload(payload));
      await reply(describeRequestAgainResult(result, requestId, services.deps.policy.current().policy.settings.approvalChannel));
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
