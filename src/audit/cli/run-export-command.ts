import type { LedgerRowFilter } from "../read-ledger-rows.js";
import { writeLedgerExport } from "../write-ledger-export.js";
import type { AuditCliContext } from "./audit-cli-context.js";
import { AuditExitCode } from "./audit-cli-error.js";
import { openAuditDatabase } from "./open-audit-database.js";
import { openOutputStream } from "./open-output-stream.js";
import { createProgressBar } from "./create-progress-bar.js";
import type { PrismaClient } from "../../generated/prisma/client.js";
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

    // Progress goes by seq against the head: a filtered export's own total is unknown until it
    // ends, and counting it first would read the ledger twice.
    const [head] = ctx.progress ? await db.query("SELECT coalesce(max(seq), 0)::text FROM ledger_entry", []) : [];
    const bar = createProgressBar(ctx.progress, Number(head?.[0] ?? 0), "seq");
    const output = await openOutputStream(args.out, ctx.stdout);
    let bytes = 0;
    let summary;
    try {
      summary = await writeLedgerExport(
        db.query,
        filter,
        args.format,
        (text) => {
          bytes += Buffer.byteLength(text);
          return output.write(text);
        },
        (sofar) => bar.update(Number(sofar.last ?? 0), `· ${sofar.count.toLocaleString("en-US")} entries, ${formatBytes(bytes)} written`),
      );
      bar.finish();
      await output.close();
    } catch (error) {
      bar.finish();
      await output.discard();
      throw error;
    }

    // With no --out the data is on stdout, so the summary goes to stderr.
    const say = (text: string) => (args.out === null ? ctx.out.error(text) : ctx.out.log(text));
    const { count, first, last } = summary;
    const range = count > 0 ? ` (seq ${first}..${last})` : "";
    say(`Exported ${count.toLocaleString("en-US")} entries${range} as ${args.format.toUpperCase()}${args.out === null ? "" : ` to ${args.out}`}.`);
    if (count === 0 && args.resource !== null && !(await resourceEverSeen(db.prisma, args.resource))) {
      ctx.out.error(`No resource "${args.resource}" was ever seen: no ledger entry and no request names it. Check the id against access-policy.yml (resource ids are case-sensitive).`);
    }
    if (filtered && args.format === "jsonl") {
      say("This export is filtered: `audit verify --file` checks each entry's own hash, and links only between consecutive entries; without a matching --checkpoint it reports: partial, not anchored.");
    }
    return AuditExitCode.ok;
  } finally {
    await db.close();
  }
}

/** Whether any ledger entry or request ever named the resource (a typo names none). */
async function resourceEverSeen(prisma: PrismaClient, resource: string): Promise<boolean> {
  const [entry, request] = await Promise.all([prisma.ledgerEntry.findFirst({ where: { resource }, select: { seq: true } }), prisma.accessRequest.findFirst({ where: { resource }, select: { id: true } })]);
  return entry !== null || request !== null;
}

function formatBytes(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
