/**
 * One CSV cell, RFC 4180: quoted (with `"` doubled) when it holds a comma, quote, CR or LF.
 *
 * Why the leading `'`: a spreadsheet runs a cell that starts with = + - @ (or a tab or CR,
 * which some strip first) as a formula, and every text cell of the ledger can hold words a
 * requester typed. `=HYPERLINK(...)` in a reason must open as text, not as a link that leaks
 * the sheet. The apostrophe is what spreadsheets themselves use to mark literal text (OWASP,
 * "CSV Injection").
 */
export function escapeCsvCell(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return "";
  let cell = String(value);
  if (/^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}
