import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { CSV_EOL, formatCsvHeader, formatCsvRow } from "../audit/format-csv-row.js";
import type { LedgerQuery } from "../audit/ledger-query.js";
import { readLedgerRows } from "../audit/read-ledger-rows.js";

/**
 * Writes the ledger entries of a period to `file` as CSV, exactly as `accessbot audit export
 * --format csv --since … --until …` would (same header, rows, BOM), a page at a time so that
 * a busy week never sits in memory. Returns the number of entries.
 */
export async function exportPeriodCsv(query: LedgerQuery, period: { since: Date; until: Date }, file: string): Promise<number> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  let count = 0;
  try {
    await write(`\ufeff${formatCsvHeader()}${CSV_EOL}`);
    for await (const page of readLedgerRows(query, { filter: { since: period.since, until: period.until } })) {
      await write(page.map(formatCsvRow).join(CSV_EOL) + CSV_EOL);
      count += page.length;
    }
  } finally {
    out.end();
    await finished(out);
  }
  return count;
}
