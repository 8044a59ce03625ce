import type { LedgerRecord } from "./ledger-record.js";

/** A ledger row as Prisma returns it: the record with `ts` as a Date. */
export type LedgerRow = Omit<LedgerRecord, "ts"> & { ts: Date };
