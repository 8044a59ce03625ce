import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { PrismaClient } from "../generated/prisma/client.js";
import { RetryLaterError, type AuditSink } from "./audit-sink.js";
import type { LedgerRow } from "../ledger/ledger-row.js";

const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** Longer than one batch can take (each Slack or webhook call has its own timeout). */
const LEASE_MS = 2 * 60 * 1000;

export interface RelayClock {
  now(): number;
}

/**
 * Drives every audit sink from the ledger itself, which serves as the durable outbox: each
 * sink has a cursor row (`audit_sink_cursor`) holding the last sequence number it
 * delivered. Entries go out strictly in sequence order; the cursor advances only after a
 * sink accepted them, so delivery is at-least-once and a crash or outage loses nothing.
 * The relay runs after the ledger commit and never inside it: a decision never waits for
 * Slack or a webhook. With several replicas on one database, a sink is driven by whichever
 * replica holds its lease (a column of the cursor row), so each line goes out once, in order.
 */
export class AuditRelay {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly rerun = new Set<string>();
  /** Sinks whose cursor row is known to exist. */
  private readonly ensured = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly owner = `${process.pid}:${randomBytes(4).toString("hex")}`;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly sinks: AuditSink[],
    private readonly log: Logger,
    private readonly clock: RelayClock = { now: () => Date.now() },
  ) {}

  /** Starts periodic retries; new entries are picked up at once via `nudge()`. */
  start(intervalMs = 2000): void {
    this.timer = setInterval(() => this.nudge(), intervalMs);
    this.timer.unref();
    this.nudge();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Asks every sink to catch up; cheap to call after every commit. */
  nudge(): void {
    for (const sink of this.sinks) void this.pump(sink);
  }

  /** Resolves when no delivery is in flight (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.all([...this.busy.values()]);
  }

  /** Delivers everything that is due for every sink, and returns once done or told to wait. */
  async drain(): Promise<void> {
    this.nudge();
    await this.idle();
  }

  private pump(sink: AuditSink): Promise<void> {
    const running = this.busy.get(sink.name);
    if (running) {
      this.rerun.add(sink.name);
      return running;
    }
    const run = this.deliverDue(sink)
      .catch((error: unknown) => this.log.error({ err: error, sink: sink.name }, "audit relay failed unexpectedly"))
      .finally(() => {
        this.busy.delete(sink.name);
        if (this.rerun.delete(sink.name)) void this.pump(sink);
      });
    this.busy.set(sink.name, run);
    return run;
  }

  private async deliverDue(sink: AuditSink): Promise<void> {
    // One read decides whether there is anything to do: most nudges find the sink caught up
    // (or another replica on it), and a lease round trip for nothing costs three statements.
    const readState = () => this.prisma.$queryRaw<Array<{ behind: boolean; held: boolean; waiting: boolean }>>`
      SELECT coalesce((SELECT max(seq) FROM ledger_entry), 0) > c.delivered_seq AS behind,
             (c.lease_until IS NOT NULL AND c.lease_until >= ${new Date()} AND c.lease_owner IS DISTINCT FROM ${this.owner}) AS held,
             (c.next_attempt_at IS NOT NULL AND c.next_attempt_at > ${new Date(this.clock.now())}) AS waiting
        FROM audit_sink_cursor c WHERE c.sink = ${sink.name}`;
    let [state] = this.ensured.has(sink.name) ? await readState() : [];
    if (!state) {
      // First delivery of this sink in this process (or its row is gone): create the cursor.
      const startAtHead = sink.startAtHead === true;
      await this.prisma.$executeRaw`INSERT INTO audit_sink_cursor (sink, delivered_seq)
        SELECT ${sink.name}, CASE WHEN ${startAtHead}::boolean THEN coalesce((SELECT max(seq) FROM ledger_entry), 0) ELSE 0 END
        ON CONFLICT (sink) DO NOTHING`;
      this.ensured.add(sink.name);
      [state] = await readState();
    }
    if (state && (!state.behind || state.held || state.waiting)) return;
    const cursor = await this.takeLease(sink.name);
    if (!cursor) return; // another replica is delivering this sink right now
    let released = false;
    try {
      if (cursor.nextAttemptAt && cursor.nextAttemptAt.getTime() > this.clock.now()) return;
      let delivered = cursor.deliveredSeq;
      for (;;) {
        const batch: LedgerRow[] = await this.prisma.ledgerEntry.findMany({ where: { seq: { gt: delivered } }, orderBy: { seq: "asc" }, take: sink.batchSize });
        if (batch.length === 0) return;
        try {
          await sink.deliver(batch, cursor.attempts > 0);
        } catch (error) {
          await this.recordFailure(sink, cursor.attempts, error);
          return;
        }
        delivered = batch[batch.length - 1]!.seq;
        // A short batch was the whole backlog as of its read: the cursor advances and the lease
        // goes in one statement (entries committed since then nudge another round).
        const caughtUp = batch.length < sink.batchSize;
        const { count } = await this.prisma.auditSinkCursor.updateMany({
          where: { sink: sink.name, leaseOwner: this.owner },
          data: { deliveredSeq: delivered, attempts: 0, nextAttemptAt: null, lastError: null, ...(caughtUp ? { leaseOwner: null, leaseUntil: null } : { leaseUntil: new Date(Date.now() + LEASE_MS) }) },
        });
        // The lease ran out mid-batch and another replica took over: it resumes from the cursor.
        if (count === 0) return;
        if (caughtUp) {
          released = true;
          return;
        }
        cursor.attempts = 0;
      }
    } finally {
      if (!released) await this.prisma.auditSinkCursor.updateMany({ where: { sink: sink.name, leaseOwner: this.owner }, data: { leaseOwner: null, leaseUntil: null } });
    }
  }

  /** Claims the sink for this process (wall-clock lease) and reads its cursor, or null while another replica holds it. */
  private async takeLease(sink: string): Promise<{ deliveredSeq: bigint; attempts: number; nextAttemptAt: Date | null } | null> {
    const now = new Date();
    const rows = await this.prisma.$queryRaw<Array<{ delivered_seq: bigint; attempts: number; next_attempt_at: Date | null }>>`
      UPDATE audit_sink_cursor SET lease_owner = ${this.owner}, lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = now()
      WHERE sink = ${sink} AND (lease_until IS NULL OR lease_until < ${now} OR lease_owner = ${this.owner})
      RETURNING delivered_seq, attempts, next_attempt_at`;
    const row = rows[0];
    return row ? { deliveredSeq: BigInt(row.delivered_seq), attempts: row.attempts, nextAttemptAt: row.next_attempt_at } : null;
  }

  private async recordFailure(sink: AuditSink, previousAttempts: number, error: unknown): Promise<void> {
    const attempts = previousAttempts + 1;
    const backoff = error instanceof RetryLaterError && error.retryAfterMs > 0 ? error.retryAfterMs : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts - 1, 12));
    const message = error instanceof Error ? error.message : String(error);
    await this.prisma.auditSinkCursor.updateMany({
      where: { sink: sink.name, leaseOwner: this.owner },
      data: { attempts, nextAttemptAt: new Date(this.clock.now() + backoff), lastError: message.slice(0, 500) },
    });
    this.log.warn({ sink: sink.name, attempts, retryInMs: backoff, err: error }, "audit delivery failed; it will be retried in order");
  }
}
