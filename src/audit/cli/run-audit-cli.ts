import type { Database } from "../../db/open-database.js";
import type { AuditCliContext, AuditCliOutput } from "./audit-cli-context.js";
import { AuditCliError, AuditExitCode } from "./audit-cli-error.js";
import { parseAuditArgs } from "./parse-audit-args.js";
import { runExportCommand } from "./run-export-command.js";
import { runShowCommand } from "./run-show-command.js";
import { runVerifyCommand } from "./run-verify-command.js";

export const AUDIT_USAGE = `Usage: accessbot audit <command>

  verify [--checkpoint SEQ:HASH ...]
      Check the whole hash chain in the database (DATABASE_URL, as the bot), every
      ledger_checkpoint row and every --checkpoint given (copy them from the audit channel).
  verify --file export.jsonl [--checkpoint SEQ:HASH ...]
      Check a JSONL export offline, no database needed.
  export --format jsonl|csv [--since DATE] [--until DATE] [--resource ID] [--user UXXXX] [--out FILE]
      Stream the ledger (to stdout without --out). DATE is 2026-11-01 (UTC; --until includes
      that day) or 2026-11-01T09:30:00Z. --user matches who acted or whom it was about.
  show <request-id>
      Every event of one request, who and when, the rule evaluation, and what each approver saw.

Exit codes: 0 verified / done; 1 verification failed (first bad seq and reason printed) or
request not found; 2 bad arguments or database not usable; 3 (verify --file) consistent but
partial and not anchored to the ledger. Format and rules: docs/ledger-format.md`;

export interface AuditCliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Use this open database instead of DATABASE_URL's (it is left open). */
  database?: Database;
  /** Progress bar stream; default stderr when it is a terminal. null turns it off. */
  progress?: NodeJS.WritableStream | null;
  /** Where `audit export` writes without --out; default process.stdout. */
  stdout?: NodeJS.WritableStream;
}

/** `accessbot audit …`; returns the exit code. */
export async function runAuditCli(args: string[], out: AuditCliOutput, options: AuditCliOptions = {}): Promise<number> {
  if (args.length === 0 || ["help", "--help", "-h"].includes(args[0]!)) {
    out.log(AUDIT_USAGE);
    return args.length === 0 ? AuditExitCode.usage : AuditExitCode.ok;
  }
  const ctx: AuditCliContext = {
    out,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    progress: options.progress !== undefined ? options.progress : process.stderr.isTTY ? process.stderr : null,
    stdout: options.stdout ?? process.stdout,
    ...(options.database ? { database: options.database } : {}),
  };
  try {
    const parsed = parseAuditArgs(args);
    switch (parsed.command) {
      case "verify":
        return await runVerifyCommand(parsed, ctx);
      case "export":
        return await runExportCommand(parsed, ctx);
      case "show":
        return await runShowCommand(parsed, ctx);
    }
  } catch (error) {
    if (error instanceof AuditCliError) {
      if (error.exitCode !== AuditExitCode.ok) out.error(`accessbot audit: ${error.message}`);
      return error.exitCode;
    }
    // Not a finding about the ledger (a lost connection, a full disk): never exit 1 for it.
    out.error(`accessbot audit ${args[0]} could not finish: ${(error as Error).message ?? String(error)}`);
    return AuditExitCode.usage;
  }
}
