import { openOutputStream } from "../audit/cli/open-output-stream.js";
import type { LedgerQuery } from "../audit/ledger-query.js";
import { writeLedgerExport } from "../audit/write-ledger-export.js";

/**
 * Writes the ledger entries of a period to `file` as CSV, with the exporter of `accessbot
 * audit export --format csv --since … --until …` (same header, rows, BOM), a page at a time so
 * that a busy week never sits in memory. Returns the number of entries.
 */
export async function exportPeriodCsv(query: LedgerQuery, period: { since: Date; until: Date }, file: string): Promise<number> {
  const output = await openOutputStream(file, process.stdout);
  try {
    const { count } = await writeLedgerExport(query, { since: period.since, until: period.until }, "csv", (text) => output.write(text));
    await output.close();
    return count;
  } catch (error) {
    await output.discard();
    throw error;
  }
}
