/** Exit codes of `accessbot audit …` (docs/ledger-format.md, "Exit codes"). */
export const AuditExitCode = {
  /** Verified (or the export/show completed). */
  ok: 0,
  /** Verification failed, or the request was not found. */
  failed: 1,
  /** Could not run: bad arguments, unreadable file, database unusable. */
  usage: 2,
  /** A file was consistent but partial and not anchored: nothing proven about the ledger. */
  partial: 3,
} as const;

/** A problem the person running the command can fix; the message says how. */
export class AuditCliError extends Error {
  readonly code = "AUDIT_CLI";
  constructor(
    message: string,
    readonly exitCode: number = AuditExitCode.usage,
  ) {
    super(message);
    this.name = "AuditCliError";
  }
}
