import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { AppError } from "../../../domain/app-error.js";
import { createAccessRequest } from "../../../domain/create-access-request.js";
import { cancelRequest, revokeGrant } from "../../../domain/withdraw-access.js";
import { buildAccessListText } from "../../blocks/build-access-list-text.js";
import { buildHelpText } from "../../blocks/build-help-text.js";
import { describeCancelResult, describeCreateResult, describeRevokeResult } from "../../describe-request-result.js";
import { parseAccessCommand } from "../../parse-access-command.js";
import { slashCommandSchema } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { SLASH_COMMAND } from "../../slack-ids.js";
import { openRequestModal } from "../open-request-modal.js";

/** `/access …`: acks at once, then parses, calls one domain function and replies ephemerally. */
export function registerAccessCommand(app: App, services: SlackServices): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client, context }) => {
    await ack();
    const log = context.log ?? services.log;
    const reply = (text: string) => respond({ response_type: "ephemeral", text });
    try {
      const parsed = slashCommandSchema.safeParse(command);
      if (!parsed.success) {
        throw new AppError("MALFORMED_PAYLOAD", "Slack sent me a command I couldn't read, so nothing was changed. Please try again.", `malformed slash command: ${parsed.error.message}`);
      }
      const payload = parsed.data;
      const user = { id: payload.user_id, teamId: payload.team_id, enterpriseId: payload.enterprise_id ?? null, name: payload.user_name };
      const intent = parseAccessCommand(payload.text);
      const { deps } = services;

      switch (intent.kind) {
        case "help":
          await reply(buildHelpText());
          return;
        case "list":
          await reply(buildAccessListText(await deps.store.listOpenForUser(user.id)));
          return;
        case "cancel": {
          const snapshot = await cancelRequest(deps, intent.id, user);
          await reply(describeCancelResult(snapshot));
          return;
        }
        case "revoke": {
          const snapshot = await revokeGrant(deps, intent.id, user, intent.reason ?? null);
          await reply(describeRevokeResult(snapshot, user.id));
          return;
        }
        case "modal":
          await openRequestModal(client, deps, user.id, payload.trigger_id);
          return;
        case "request": {
          const result = await createAccessRequest(deps, {
            requester: user,
            resource: intent.resource,
            duration: intent.duration,
            reason: intent.reason,
            idempotencyKey: `command:${payload.trigger_id}`,
            breakGlass: intent.breakGlass === true,
          });
          await reply(describeCreateResult(result, deps.policy.current().policy.settings.approvalChannel));
          return;
        }
      }
    } catch (error) {
      await replyWithError(error, reply, log as Logger);
    }
  });
}

