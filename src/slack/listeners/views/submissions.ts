import type { App } from "@slack/bolt";
import { isAppError } from "../../../domain/app-error.js";
import { checkRequestInput, createAccessRequest } from "../../../domain/create-access-request.js";
import { checkVoter, voteOnRequest } from "../../../domain/vote-on-request.js";
import { describeCreateResult, describeVoteResult } from "../../describe-request-result.js";
import { denyModalSchema, identityFromPayload, requestModalStateSchema, viewSubmissionSchema } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { BlockIds, CallbackIds, InputActionIds } from "../../slack-ids.js";
import { sendDm } from "../send-dm.js";

const PRECHECK_BUDGET_MS = 2000;

const FIELD_OF_CODE: Record<string, string> = {
  UNKNOWN_RESOURCE: BlockIds.resource,
  INVALID_DURATION: BlockIds.duration,
  DURATION_TOO_LONG: BlockIds.duration,
  REASON_REQUIRED: BlockIds.reason,
  REASON_TOO_LONG: BlockIds.reason,
};

/**
 * Modal submissions. Checks that need no network run before the ack, so mistakes show up
 * as field errors in the open modal; the rest runs after the ack and the outcome is DMed.
 */
export function registerSubmissions(app: App, services: SlackServices): void {
  app.view(CallbackIds.requestModal, async ({ ack, body, client, context }) => {
    const log = context.log ?? services.log;
    const payload = viewSubmissionSchema.safeParse(body);
    const state = payload.success ? requestModalStateSchema.safeParse(payload.data.view.state.values) : null;
    if (!payload.success || !state?.success) {
      await ack({ response_action: "errors", errors: { [BlockIds.reason]: "I couldn't read this form. Close it and run /access again." } });
      return;
    }
    const values = state.data;
    const input = {
      resource: values[BlockIds.resource][InputActionIds.resource].selected_option?.value ?? "",
      duration: values[BlockIds.duration]?.[InputActionIds.duration].value ?? null,
      reason: values[BlockIds.reason][InputActionIds.reason].value ?? "",
    };
    try {
      checkRequestInput(services.deps.policy.current().policy, input);
    } catch (error) {
      if (isAppError(error) && FIELD_OF_CODE[error.code]) {
        await ack({ response_action: "errors", errors: { [FIELD_OF_CODE[error.code]!]: error.userMessage } });
        return;
      }
      throw error;
    }
    await ack();
    const user = identityFromPayload(payload.data);
    const dm = (text: string) => sendDm(client, user.id, text);
    try {
      const result = await createAccessRequest(services.deps, { requester: user, ...input, idempotencyKey: `view:${payload.data.view.id}` });
      await dm(describeCreateResult(result, services.deps.policy.current().policy.settings.approvalChannel));
    } catch (error) {
      await replyWithError(error, dm, log);
    }
  });

  app.view(CallbackIds.denyModal, async ({ ack, body, client, context }) => {
    const log = context.log ?? services.log;
    const payload = viewSubmissionSchema.safeParse(body);
    const deny = payload.success ? denyModalSchema.safeParse(payload.data.view) : null;
    if (!payload.success || !deny?.success) {
      await ack({ response_action: "errors", errors: { [BlockIds.denyReason]: "I couldn't read this form. Close it and click Deny again." } });
      return;
    }
    const requestId = deny.data.private_metadata;
    const voter = identityFromPayload(payload.data);
    // Slack needs the ack within 3 s. The check (a Slack lookup and a read) normally takes
    // milliseconds; if it is slow, ack anyway: voteOnRequest checks again and the outcome is DMed.
    const problem = await Promise.race([
      checkVoter(services.deps, requestId, voter.id).then(
        () => null,
        (error: unknown) => error,
      ),
      new Promise<"slow">((resolve) => setTimeout(resolve, PRECHECK_BUDGET_MS, "slow").unref()),
    ]);
    if (isAppError(problem)) {
      await ack({ response_action: "errors", errors: { [BlockIds.denyReason]: problem.userMessage } });
      return;
    }
    await ack();
    const dm = (text: string) => sendDm(client, voter.id, text);
    try {
      const result = await voteOnRequest(services.deps, {
        requestId,
        voter,
        decision: "DENY",
        denyReason: deny.data.state.values[BlockIds.denyReason]?.[InputActionIds.denyReason].value ?? null,
        seenBlocks: services.seenBlocks.take(payload.data.view.id),
      });
      await dm(describeVoteResult(result));
    } catch (error) {
      await replyWithError(error, dm, log);
    }
  });
}
