import type { App, BlockAction } from "@slack/bolt";
import { reviewBreakGlass } from "../../../domain/review-break-glass.js";
import { describeReviewResult } from "../../describe-request-result.js";
import { blockActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { parseBlockAction } from "./parse-block-action.js";

/**
 * "Reviewed: OK" / "Reviewed: escalate" on a break-glass review copy. The reviewer is the
 * signed user; the domain checks the review group live and refuses the requester. What the
 * reviewer saw (`message.blocks`) goes into the ledger with its hash.
 */
export function registerReviewActions(app: App, services: SlackServices): void {
  for (const [actionId, outcome] of [[ActionIds.reviewOk, "ok"], [ActionIds.reviewEscalate, "escalate"]] as const) {
    app.action<BlockAction>(actionId, async ({ ack, body, respond, context }) => {
      await ack();
      const log = context.log ?? services.log;
      const reply = (text: string) => respond({ response_type: "ephemeral", replace_original: false, text });
      try {
        const payload = parseBlockAction(blockActionSchema, body);
        const snapshot = await reviewBreakGlass(services.deps, {
          requestId: payload.actions[0]!.value,
          reviewer: identityFromPayload(payload),
          outcome,
          seenBlocks: payload.message?.blocks ?? null,
        });
        await reply(describeReviewResult(snapshot, outcome));
      } catch (error) {
        await replyWithError(error, reply, log);
      }
    });
  }
}
