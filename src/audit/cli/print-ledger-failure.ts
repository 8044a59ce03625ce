import type { LedgerFailure } from "../ledger-failure.js";
import type { AuditCliOutput } from "./audit-cli-context.js";

/** The failure report: the seq and reason on the first line, so scripts can grep it. */
export function printLedgerFailure(out: AuditCliOutput, failure: LedgerFailure, what: string): void {
  out.log(`VERIFICATION FAILED at seq ${failure.firstBadSeq}: ${failure.reason}`);
  out.log(`  ${failure.detail}`);
  out.log(`  ${what} before seq ${failure.firstBadSeq} checked out; from seq ${failure.firstBadSeq} on, nothing can be trusted until this is explained.`);
}
