import type { PrismaClient } from "../generated/prisma/client.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";

/**
 * Every published head recorded in `ledger_checkpoint`. These sit in the same database as the
 * ledger, so they catch a rewrite by anyone who cannot also change this table: its trigger
 * refuses UPDATE/DELETE, and the bot's runtime role may only add true heads (through
 * accessbot_record_checkpoint). The owner role and a superuser can change it along with the
 * ledger: against them only the copies in the audit channel or at the webhook receiver, passed
 * as --checkpoint, count.
 */
export async function readStoredCheckpoints(prisma: PrismaClient): Promise<LedgerCheckpointRef[]> {
  const rows = await prisma.ledgerCheckpoint.findMany({ orderBy: { id: "asc" } });
  return rows.map((row) => {
    const where = [row.channelId && row.messageTs ? `Slack ${row.channelId} message ${row.messageTs}` : null, row.webhookOk ? "webhook" : null].filter(Boolean).join(", ");
    return { seq: row.seq, hash: row.hash.trim(), source: `ledger_checkpoint #${row.id}${where ? ` (${where})` : ""}` };
  });
}
