import { CSV_EOL, formatCsvHeader, formatCsvRow } from "./format-csv-row.js";
import { formatJsonlLine } from "./format-jsonl-line.js";
import type { LedgerQuery } from "./ledger-query.js";
import { readLedgerRows, type LedgerRowFilter } from "./read-ledger-rows.js";

export interface LedgerExportSummary {
  count: number;
  first: bigint | null;
  last: bigint | null;
}

/**
 * The ledger exporter: streams the entries matching `filter`, a page at a time, as JSONL
 * (every column, verifiable with `audit verify --file`) or CSV (for spreadsheets) to `write`.
 * `audit export` and the digest's CSV attachment both use it, so they give the same rows.
 */
export async function writeLedgerExport(
  query: LedgerQuery,
  filter: LedgerRowFilter,
  format: "csv" | "jsonl",
  write: (text: string) => Promise<void>,
  /** After each page is written (progress). */
  onPage?: (summary: Readonly<LedgerExportSummary>) => void,
): Promise<LedgerExportSummary> {
  // The BOM makes Excel read the file as UTF-8 (names and reasons are not all ASCII).
  if (format === "csv") await write(`\ufeff${formatCsvHeader()}${CSV_EOL}`);
  const formatRow = format === "csv" ? formatCsvRow : formatJsonlLine;
  const eol = format === "csv" ? CSV_EOL : "\n";
  const summary: LedgerExportSummary = { count: 0, first: null, last: null };
  for await (const page of readLedgerRows(query, { filter })) {
    await write(page.map(formatRow).join(eol) + eol);
    summary.first ??= page[0]!.seq;
    summary.last = page[page.length - 1]!.seq;
    summary.count += page.length;
    onPage?.(summary);
  }
  return summary;
}
