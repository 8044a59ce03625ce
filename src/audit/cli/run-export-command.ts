import type { LedgerRowFilter } from "../read-ledger-rows.js";
import { writeLedgerExport } from "../write-ledger-export.js";
import type { AuditCliContext } from "./audit-cli-context.js";
import { AuditExitCode } from "./audit-cli-error.js";
import { openAuditDatabase } from "./open-audit-database.js";
import { openOutputStream } from "./open-output-stream.js";
import type { ExportArgs } from "./parse-audit-args.js";

/**
 * `audit export`: streams the ledger, a page at a time, to JSONL (every column, verifiable
 * with `audit verify --file`) or CSV (for people with spreadsheets). Memory stays flat.
 */
export async function runExportCommand(args: ExportArgs, ctx: AuditCliContext): Promise<number> {
  const db = await openAuditDatabase(ctx);
  try {
    const filter: LedgerRowFilter = {};
    if (args.since) filter.since = args.since;
    if (args.until) filter.until = args.until;
    if (args.resource !== null) filter.resource = args.resource;
    if (args.user !== null) filter.userId = args.user;
    const filtered = Object.keys(filter).length > 0;

    const output = await openOutputStream(args.out, ctx.stdout);
    let summary;
    try {
      summary = await writeLedgerExport(db.query, filter, args.format, (text) => output.write(text));
      await output.close();
    } catch (error) {
      await output.discard();
      throw error;
    }

    // With no --out the data is on stdout, so the summary goes to stderr.
    const say = (text: string) => (args.out === null ? ctx.out.error(text) : ctx.out.log(text));
    const { count, first, last } = summary;
    const range = count > 0 ? ` (seq ${first}..${last})` : "";
    say(`Exported ${count.toLocaleString("en-US")} entries${range} as ${args.format.toUpperCase()}${args.out === null ? "" : ` to ${args.out}`}.`);
    if (filtered && args.format === "jsonl") {
      say("This export is filtered: `audit verify --file` checks each entry's own hash, and links only between consecutive entries; without a matching --checkpoint it reports: partial, not anchored.");
    }
    return AuditExitCode.ok;
  } finally {
    await db.close();
  }
}
