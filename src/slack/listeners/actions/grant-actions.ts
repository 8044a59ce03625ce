import type { App, BlockAction } from "@slack/bolt";
import { AppError } from "../../../domain/app-error.js";
import { revokeGrant } from "../../../domain/withdraw-access.js";
import { buildExtendModal } from "../../blocks/build-extend-modal.js";
import { describeRevokeResult } from "../../describe-request-result.js";
import { grantActionSchema, identityFromPayload } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { ActionIds } from "../../slack-ids.js";
import { checkExtendable } from "../check-extension.js";
import { parseBlockAction } from "./parse-block-action.js";
import { replyToClicker } from "../reply-to-clicker.js";

/** Recorded as the end reason of a grant ended with the button. */
export const RELEASE_REASON = "done (I'm done button)";

/**
 * The expiry warning's buttons, whose value is a grant id. The clicker comes from the signed
 * payload; whether the grant is theirs and still active is read from the database.
 */
export function registerGrantActions(app: App, services: SlackServices): void {
  app.action<BlockAction>(ActionIds.release, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(grantActionSchema, body);
      const user = identityFromPayload(payload);
      const grantId = payload.actions[0]!.value;
      // Why: "I'm done" speaks for the grantee. An admin ends someone else's grant with
      // `/access revoke <id> <reason>`, so the grantee is shown a real reason, not this one.
      const grant = await services.deps.store.findGrant(grantId);
      if (!grant || grant.userId !== user.id) throw new AppError("NOT_YOUR_GRANT", `You have no grant ${grantId}. \`/access list\` shows your active grants.`);
      const snapshot = await revokeGrant(services.deps, grantId, user, RELEASE_REASON);
      await reply(describeRevokeResult(snapshot, user.id));
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });

  app.action<BlockAction>(ActionIds.extend, async ({ ack, body, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = replyToClicker({ body, respond, client }, body.user.id);
    try {
      const payload = parseBlockAction(grantActionSchema, body);
      // Checked before the modal opens, so "no time left" is a sentence now, not a form to fill in first.
      const extendable = await checkExtendable(services.deps, payload.actions[0]!.value, payload.user.id);
      if (!payload.trigger_id) throw new AppError("MALFORMED_PAYLOAD", "Slack didn't send what I need to open the extend form. Please click Extend again.");
      await client.views.open({ trigger_id: payload.trigger_id, view: buildExtendModal(extendable) });
    } catch (error) {
      await replyWithError(error, reply, log);
    }
  });
}
