import type { App } from "@slack/bolt";
import { isAppError } from "../../../domain/app-error.js";
import { extendGrant } from "../../../domain/extend-grant.js";
import { describeExtensionResult } from "../../describe-request-result.js";
import { extendModalSchema, identityFromPayload, viewSubmissionSchema } from "../../payload-schemas.js";
import { replyWithError } from "../../reply-with-error.js";
import type { SlackServices } from "../../slack-services.js";
import { BlockIds, CallbackIds, InputActionIds } from "../../slack-ids.js";
import { checkExtendable, checkExtensionInput } from "../check-extension.js";
import { sendDm } from "../send-dm.js";

const PRECHECK_BUDGET_MS = 2000;

const REASON_CODES = new Set(["REASON_REQUIRED", "REASON_TOO_LONG"]);

/**
 * The extend modal. Bad input (no duration, more time than is left, a missing reason) and a
 * grant that can no longer be extended come back as field errors in the open modal; then
 * `extendGrant` runs after the ack, keyed by the view id, and the outcome is DMed.
 */
export function registerExtendSubmission(app: App, services: SlackServices): void {
  app.view(CallbackIds.extendModal, async ({ ack, body, client, context }) => {
    const log = context.log ?? services.log;
    const payload = viewSubmissionSchema.safeParse(body);
    const form = payload.success ? extendModalSchema.safeParse(payload.data.view) : null;
    if (!payload.success || !form?.success) {
      await ack({ response_action: "errors", errors: { [BlockIds.extendDuration]: "I couldn't read this form. Close it and click Extend again." } });
      return;
    }
    const grantId = form.data.private_metadata;
    const user = identityFromPayload(payload.data);
    const values = form.data.state.values;
    const typed = {
      duration: values[BlockIds.extendDuration]?.[InputActionIds.duration].selected_option?.value ?? null,
      reason: values[BlockIds.extendReason]?.[InputActionIds.reason].value ?? "",
    };
    // Slack needs the ack within 3 s. The check is one read; if it is slow, ack anyway:
    // extendGrant checks everything again and the outcome is DMed.
    const precheck = async (): Promise<{ input: { duration: string; reason: string } } | { error: unknown }> => {
      try {
        return { input: checkExtensionInput(await checkExtendable(services.deps, grantId, user.id), typed) };
      } catch (error) {
        return { error };
      }
    };
    const checked = await Promise.race([precheck(), new Promise<"slow">((resolve) => setTimeout(resolve, PRECHECK_BUDGET_MS, "slow").unref())]);
    if (checked !== "slow" && "error" in checked) {
      if (isAppError(checked.error)) {
        const field = REASON_CODES.has(checked.error.code) ? BlockIds.extendReason : BlockIds.extendDuration;
        await ack({ response_action: "errors", errors: { [field]: checked.error.userMessage } });
        return;
      }
      await ack();
      await replyWithError(checked.error, (text) => sendDm(client, user.id, text), log);
      return;
    }
    await ack();
    const input = checked === "slow" ? typed : checked.input;
    const dm = (text: string) => sendDm(client, user.id, text);
    try {
      const result = await extendGrant(services.deps, { grantId, user, duration: input.duration ?? "", reason: input.reason, idempotencyKey: `extend:${payload.data.view.id}` });
      await dm(describeExtensionResult(result, services.deps.policy.current().policy.settings.approvalChannel));
    } catch (error) {
      await replyWithError(error, dm, log);
    }
  });
}
