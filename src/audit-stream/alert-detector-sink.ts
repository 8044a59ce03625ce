import type { AlertStore } from "../domain/alert-store.js";
import { detectAlerts } from "../domain/detect-alerts.js";
import type { Clock } from "../domain/ports.js";
import type { Policy } from "../domain/policy-model.js";
import type { LedgerEntryBody } from "../ledger/ledger-hash.js";
import type { LedgerRow } from "../ledger/ledger-row.js";
import type { AuditSink } from "./audit-sink.js";

/**
 * Raises anomaly alerts (`alert.raised` ledger entries) from the ledger as the relay hands
 * it over: in order, at least once, one replica at a time. Redelivered entries are harmless
 * because each alert is appended only if its de-dup key is not in the ledger yet. The cursor
 * starts at the head, so a detector added to a database with years of history raises
 * nothing for that history.
 */
export class AlertDetectorSink implements AuditSink {
  readonly name = "alert-detector";
  readonly batchSize = 50;
  readonly startAtHead = true;

  constructor(
    private readonly store: AlertStore,
    private readonly policy: () => Policy,
    private readonly clock: Clock,
    /** Called after an alert was appended, so the other sinks mirror it without waiting for their timer. */
    private readonly onRaised: () => void = () => {},
  ) {}

  async deliver(entries: LedgerRow[]): Promise<void> {
    for (const row of entries) {
      if (row.type.startsWith("alert.")) continue;
      const body = JSON.parse(row.body) as LedgerEntryBody;
      const entry = { seq: row.seq, ts: row.ts, type: row.type, requestId: row.requestId, actorId: row.actorId, subjectId: row.subjectId, resource: row.resource, data: body.data };
      let raised = false;
      for (const alert of await detectAlerts(entry, this.policy(), this.store)) {
        if (await this.store.raiseOnce(alert, this.clock.now())) raised = true;
      }
      if (raised) this.onRaised();
    }
  }
}
