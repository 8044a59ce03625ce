import type { Database } from "../../db/open-database.js";

export interface AuditCliOutput {
  log(text: string): void;
  error(text: string): void;
}

/** What every audit command runs with; tests pass their own. */
export interface AuditCliContext {
  out: AuditCliOutput;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** An open database to use instead of the one DATABASE_URL names (it is not closed). */
  database?: Database;
  /** Where the progress bar goes; null for none (stderr is not a terminal). */
  progress: NodeJS.WritableStream | null;
  /** Where `audit export` writes without --out. */
  stdout: NodeJS.WritableStream;
}
