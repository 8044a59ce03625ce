import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { isAppError } from "../domain/app-error.js";

/**
 * Turns a failure into the sentence a person sees. Expected failures (AppError) get their
 * own message; anything else is logged with a reference the person can quote, and rethrown
 * so that it also reaches Bolt's global error handler.
 */
export async function replyWithError(error: unknown, reply: (text: string) => Promise<unknown>, log: Logger): Promise<void> {
  if (isAppError(error)) {
    log.info({ code: error.code }, error.message);
    await reply(error.userMessage).catch((replyError: unknown) => log.warn({ err: replyError }, "could not send the error reply"));
    return;
  }
  const reference = randomUUID().slice(0, 8);
  log.error({ err: error, reference }, "unexpected error while handling a Slack request");
  await reply(`Something went wrong on my side (reference ${reference}). Your change was not applied; please try again, and tell the accessbot admins if it keeps happening.`).catch(() => undefined);
  throw error;
}
