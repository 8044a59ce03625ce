import type { App, BlockAction } from "@slack/bolt";
import { signOffDigest } from "../../../digest/sign-off-digest.js";
import { digestActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { parseBlockAction } from "./parse-block-action.js";

/**
 * Reviewed on the weekly digest. The reviewer is the signed user, checked live against the
 * review group; what they saw (`message.blocks`) goes into the ledger with its hash.
 */
export function registerDigestActions(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.digestSignOff, async ({ ack, body, respond, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = (text: string) => respond({ response_type: "ephemeral", replace_original: false, text });
    try {
      if (!services.digest) throw new Error("digest sign-off is not wired");
      const payload = parseBlockAction(digestActionSchema, body);
      const result = await signOffDigest(services.digest, { since: payload.actions[0]!.value, reviewer: identityFromPayload(payload), seenBlocks: payload.message?.blocks ?? null });
      await reply(
        result.kind === "signed-off"
          ? "Thanks: you signed off this digest. It is in the ledger (`review.signed_off`) with what you saw, and the message now says so."
          : `<@${result.by}> already signed off this digest at ${result.at.toISOString()}. Nothing was changed.`,
      );
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
