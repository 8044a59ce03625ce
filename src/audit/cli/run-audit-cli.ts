import type { Database } from "../../db/open-database.js";
import type { AuditCliContext, AuditCliOutput } from "./audit-cli-context.js";
import { AuditCliError, AuditExitCode } from "./audit-cli-error.js";
import { formatUsageError, UsageError } from "../../cli/parse-command-line.js";
import { renderCommandHelp } from "../../cli/render-command-help.js";
import { AUDIT_SPEC, parseAuditArgs } from "./parse-audit-args.js";
import { runExportCommand } from "./run-export-command.js";
import { runShowCommand } from "./run-show-command.js";
import { runVerifyCommand } from "./run-verify-command.js";

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
  if (args.length === 0) {
    out.error(renderCommandHelp(AUDIT_SPEC));
    return AuditExitCode.usage;
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
      case "help":
        out.log(parsed.text);
        return AuditExitCode.ok;
      case "verify":
        return await runVerifyCommand(parsed, ctx);
      case "export":
        return await runExportCommand(parsed, ctx);
      case "show":
        return await runShowCommand(parsed, ctx);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(formatUsageError(error));
      return AuditExitCode.usage;
    }
    if (error instanceof AuditCliError) {
      if (error.exitCode !== AuditExitCode.ok) out.error(`accessbot audit: ${error.message}`);
      return error.exitCode;
    }
    // Not a finding about the ledger (a lost connection, a full disk): never exit 1 for it.
    out.error(`accessbot audit ${args[0]} could not finish: ${(error as Error).message ?? String(error)}`);
    return AuditExitCode.usage;
  }
}
