import type { WebClient } from "@slack/web-api";

/** Tells a person something by DM: a view submission has no response_url to answer on. */
export async function sendDm(client: WebClient, userId: string, text: string): Promise<void> {
  const opened = await client.conversations.open({ users: userId });
  await client.chat.postMessage({ channel: opened.channel?.id ?? userId, text });
}
