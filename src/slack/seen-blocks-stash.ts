/**
 * Holds the blocks an approver saw when they clicked Deny until they submit the deny modal,
 * which does not carry the message. Kept in memory for an hour: after a restart in between,
 * the denial is still recorded, with `seen: null` in the ledger.
 */
export class SeenBlocksStash {
  private readonly entries = new Map<string, { blocks: unknown[]; expiresAt: number }>();

  constructor(private readonly ttlMs = 60 * 60 * 1000, private readonly now: () => number = Date.now) {}

  put(viewId: string, blocks: unknown[]): void {
    this.sweep();
    this.entries.set(viewId, { blocks, expiresAt: this.now() + this.ttlMs });
  }

  take(viewId: string): unknown[] | null {
    const entry = this.entries.get(viewId);
    this.entries.delete(viewId);
    return entry && entry.expiresAt > this.now() ? entry.blocks : null;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
