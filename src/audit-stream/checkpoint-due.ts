/** What decides whether the ledger head should be published now. */
export interface CheckpointDueInput {
  /** The published checkpoint with the highest seq, and when it was recorded; null if none yet. */
  lastCheckpoint: { seq: bigint; at: Date } | null;
  /** The ledger's head; null for an empty ledger. */
  head: { seq: bigint } | null;
  now: Date;
  /** Publish once this many entries are unpublished (ACCESSBOT_CHECKPOINT_EVERY_ENTRIES); 0 turns this rule off. */
  everyEntries: number;
  /** Publish once an entry is unpublished and this long has passed since the last checkpoint (ACCESSBOT_CHECKPOINT_EVERY_MINUTES); 0 turns this rule off. */
  everyMinutes: number;
}

/**
 * True when the head should be published: there is at least one entry after the last
 * checkpoint, and either `everyEntries` of them have accumulated or `everyMinutes` have passed
 * since that checkpoint (with none yet, as soon as there is an entry). So an entry is never
 * unprotected for longer than about `everyMinutes`, and never more than `everyEntries` are.
 * Pure: the same input always gives the same answer.
 */
export function checkpointDue(input: CheckpointDueInput): boolean {
  const { lastCheckpoint, head, now, everyEntries, everyMinutes } = input;
  if (!head) return false;
  const unpublished = head.seq - (lastCheckpoint?.seq ?? 0n);
  if (unpublished <= 0n) return false;
  if (everyEntries > 0 && unpublished >= BigInt(everyEntries)) return true;
  if (everyMinutes > 0) {
    if (!lastCheckpoint) return true;
    return now.getTime() - lastCheckpoint.at.getTime() >= everyMinutes * 60_000;
  }
  return false;
}
