import type { RespondFn } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { sendDm } from "./send-dm.js";

/**
 * How a button's listener answers the person who clicked: ephemerally in place on a message,
 * by DM from the Home tab, whose clicks carry no response_url (Bolt then gives no `respond`).
 * The same sentence either way, so a refusal reads exactly as it does on the message.
 */
export function replyToClicker(args: { body: unknown; respond?: RespondFn; client: WebClient }, userId: string): (text: string) => Promise<unknown> {
  const responseUrl = (args.body as { response_url?: unknown } | null)?.response_url;
  const { respond } = args;
  if (typeof responseUrl === "string" && respond) return (text) => respond({ response_type: "ephemeral", replace_original: false, text });
  return (text) => sendDm(args.client, userId, text);
}
