import type { App, BlockAction } from "@slack/bolt";
import { AppError } from "../../../domain/app-error.js";
import { checkVoter, voteOnRequest } from "../../../domain/vote-on-request.js";
import { buildDenyModal } from "../../blocks/build-deny-modal.js";
import { describeVoteResult } from "../../describe-request-result.js";
import { blockActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { parseBlockAction } from "./parse-block-action.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { selectSeenBlocks } from "../../select-seen-blocks.js";
import { replyToClicker } from "../reply-to-clicker.js";

/**
 * Approve and Deny buttons. The button's value is only the request id; who clicked comes
 * from the signed payload (`body.user`), and whether they may vote is decided from the
 * policy and the database at the moment of the click. The same buttons on the Home tab reach
 * these listeners too; what the voter saw is then that request's blocks of the tab.
 */
export function registerVoteActions(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.approve, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(blockActionSchema, body);
      const requestId = payload.actions[0]!.value;
      const result = await voteOnRequest(services.deps, {
        requestId,
        voter: identityFromPayload(payload),
        decision: "APPROVE",
        seenBlocks: selectSeenBlocks(payload, requestId),
      });
      await reply(describeVoteResult(result));
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });

  app.action<BlockAction>(ActionIds.deny, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(blockActionSchema, body);
      const requestId = payload.actions[0]!.value;
      const seen = selectSeenBlocks(payload, requestId);
      // Check before opening the modal, so a non-approver is told at once instead of after typing a reason.
      await checkVoter(services.deps, requestId, payload.user.id);
      if (!payload.trigger_id) throw new AppError("MALFORMED_PAYLOAD", "Slack didn't send what I need to open the deny form. Please click Deny again.");
      const opened = await client.views.open({ trigger_id: payload.trigger_id, view: buildDenyModal(requestId) });
      if (opened.view?.id && seen) services.seenBlocks.put(opened.view.id, seen);
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
