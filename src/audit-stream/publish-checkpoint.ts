import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { PrismaClient } from "../generated/prisma/client.js";
import { signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./webhook-audit-sink.js";

export interface CheckpointResult {
  seq: bigint;
  hash: string;
  channelId: string | null;
  messageTs: string | null;
  webhookOk: boolean | null;
}

/**
 * Publishes the ledger head outside the database: a message in the audit channel (which
 * the database's owner cannot rewrite) and optionally a POST to an external URL. The
 * channel and timestamp are stored so `accessbot audit verify` can check the chain against
 * every published head. An empty ledger has nothing to anchor, so nothing is published.
 */
export async function publishCheckpoint(deps: {
  prisma: PrismaClient;
  client: WebClient;
  auditChannel: string;
  webhookUrl: string | null;
  /** Signs the webhook POST like the SIEM stream (AUDIT_WEBHOOK_SECRET), when set. */
  webhookSecret: string | null;
  log: Logger;
}): Promise<CheckpointResult | null> {
  const head = await deps.prisma.ledgerEntry.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
  if (!head) return null;
  let channelId: string | null = null;
  let messageTs: string | null = null;
  try {
    const posted = await deps.client.chat.postMessage({
      channel: deps.auditChannel,
      text: `:link: Ledger checkpoint: seq ${head.seq} hash ${head.hash}\nAn auditor can check the database against it with \`npx accessbot audit verify --checkpoint ${head.seq}:${head.hash}\`.`,
      unfurl_links: false,
    });
    channelId = posted.channel ?? deps.auditChannel;
    messageTs = posted.ts ?? null;
  } catch (error) {
    deps.log.error({ err: error, channel: deps.auditChannel }, "could not post the ledger checkpoint to the audit channel; invite the bot there");
  }
  let webhookOk: boolean | null = null;
  if (deps.webhookUrl) {
    try {
      const body = JSON.stringify({ kind: "accessbot.ledger_checkpoint", seq: head.seq.toString(), hash: head.hash, at: new Date().toISOString() });
      const timestamp = Math.floor(Date.now() / 1000).toString();
      const response = await fetch(deps.webhookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(deps.webhookSecret ? { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signWebhookBody(deps.webhookSecret, timestamp, body) } : {}),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      webhookOk = response.ok;
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      webhookOk = false;
      deps.log.warn({ err: error }, "could not POST the ledger checkpoint to AUDIT_CHECKPOINT_WEBHOOK");
    }
  }
  await deps.prisma.ledgerCheckpoint.create({ data: { seq: head.seq, hash: head.hash, channelId, messageTs, webhookOk } });
  return { seq: head.seq, hash: head.hash, channelId, messageTs, webhookOk };
}
