import { z } from "zod";
import type { CommandSpec } from "../../cli/command-spec.js";
import { parseCommandLine } from "../../cli/parse-command-line.js";
import { renderCommandHelp } from "../../cli/render-command-help.js";
import type { LedgerCheckpointRef } from "../ledger-checkpoint-ref.js";
import { AuditCliError } from "./audit-cli-error.js";

export interface VerifyArgs {
  command: "verify";
  file: string | null;
  checkpoints: LedgerCheckpointRef[];
  json: boolean;
}

export interface ExportArgs {
  command: "export";
  format: "jsonl" | "csv";
  since: Date | null;
  /** Exclusive upper bound. */
  until: Date | null;
  resource: string | null;
  user: string | null;
  out: string | null;
}

export interface ShowArgs {
  command: "show";
  /** A request id, or a grant id (looked up to its request). */
  id: string;
  json: boolean;
}

export type AuditArgs = VerifyArgs | ExportArgs | ShowArgs;

const checkpointSchema = z
  .string()
  .regex(/^\s*[1-9][0-9]{0,18}\s*:\s*[0-9a-fA-F]{64}\s*$/, { message: "must be SEQ:HASH, e.g. 1234:<64 hex digits> (as printed in the audit channel)" })
  .transform((value): LedgerCheckpointRef => {
    const [seq, hash] = value.split(":").map((part) => part.trim());
    return { seq: BigInt(seq!), hash: hash!.toLowerCase(), source: `--checkpoint ${seq}` };
  });

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
// A time without a zone would be read in this machine's zone: refuse rather than guess.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Rejects 2026-02-30, which Date would roll over into March. */
function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

function dateSchema(flag: string, bound: "since" | "until") {
  return z
    .string()
    .refine((value) => (DATE_ONLY.test(value) ? isCalendarDate(value) : TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))), {
      message: `${flag} must be a UTC date like 2026-11-01 or a timestamp with a zone like 2026-11-01T09:30:00Z`,
    })
    .transform((value) => {
      if (DATE_ONLY.test(value)) {
        const midnight = new Date(`${value}T00:00:00Z`);
        // --until 2026-11-30 includes all of that day.
        return bound === "until" ? new Date(midnight.getTime() + 24 * 3600 * 1000) : midnight;
      }
      const instant = new Date(value);
      return bound === "until" ? new Date(instant.getTime() + 1) : instant;
    });
}

const exportSchema = z
  .object({
    format: z.enum(["jsonl", "csv"], { message: "--format must be jsonl or csv" }),
    since: dateSchema("--since", "since").optional(),
    until: dateSchema("--until", "until").optional(),
    resource: z.string().trim().min(1, { message: "--resource needs a resource id, e.g. --resource prod-db" }).max(200).optional(),
    user: z
      .string()
      .trim()
      .regex(/^[UW][A-Z0-9]{2,}$/, { message: "--user must be a Slack user id like U012AB3CD (in Slack: profile → ⋮ → Copy member ID)" })
      .optional(),
    out: z.string().min(1, { message: "--out needs a file name" }).optional(),
  })
  .refine((value) => !value.since || !value.until || value.since < value.until, { message: "--since must be before --until" });

const recordIdSchema = z
  .string()
  .transform((value) => value.trim().replace(/^[`'"“”<(]+|[`'"“”>).,]+$/g, "").toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{1,10}-[0-9A-Z]{4,40}$/, { message: "the id looks like AR-7K3F9Q2M (a request, from the request message) or GR-… (a grant)" }));

const AUDIT_EXIT_CODES: Array<[number, string]> = [
  [0, "verified / done"],
  [1, "verification failed (first bad seq and reason printed), or the request or grant was not found"],
  [2, "bad arguments, or the database is not usable"],
  [3, "(verify --file) consistent but partial and not anchored to the ledger"],
];

export const AUDIT_SPEC: CommandSpec = {
  name: "audit",
  usage: ["audit <command> [options]"],
  description: "Read the tamper-evident ledger, found exactly as the bot finds it (DATABASE_URL, or the embedded PGlite directory; beside a running bot on PGlite, through the bot's own database server). The audit commands never write. Format and rules: docs/ledger-format.md",
  options: {},
  subcommands: [
    { name: "verify", description: "check the whole hash chain (or a JSONL export with --file)" },
    { name: "export", description: "stream the ledger as JSONL or CSV" },
    { name: "show", description: "every event of one request (or grant), who and when, and what each approver saw" },
  ],
  exitCodes: AUDIT_EXIT_CODES,
};

export const VERIFY_SPEC: CommandSpec = {
  name: "audit verify",
  usage: ["audit verify [--checkpoint SEQ:HASH ...] [--json]", "audit verify --file export.jsonl [--checkpoint SEQ:HASH ...] [--json]"],
  description:
    "Check the whole hash chain in the database, every ledger_checkpoint row and every --checkpoint given (copy them from the audit channel). With --file, check a JSONL export offline, no database needed.",
  options: {
    file: { type: "string", value: "FILE", description: "verify this JSONL export instead of the database" },
    checkpoint: { type: "string", value: "SEQ:HASH", multiple: true, description: "a published head the chain must contain" },
    json: { type: "boolean", description: "print one JSON object (see docs/cli.md) instead of text; the exit code is unchanged" },
  },
  exitCodes: AUDIT_EXIT_CODES,
};

export const EXPORT_SPEC: CommandSpec = {
  name: "audit export",
  usage: ["audit export --format jsonl|csv [--since DATE] [--until DATE] [--resource ID] [--user UXXXX] [--out FILE]"],
  description:
    "Stream the ledger (to stdout without --out), a page at a time. DATE is 2026-11-01 (UTC; --until includes that day) or 2026-11-01T09:30:00Z. On a terminal, progress (entries, bytes, rate, time left) goes to stderr, never into the data.",
  options: {
    format: { type: "string", value: "jsonl|csv", description: "jsonl (every column, verifiable with `audit verify --file`) or csv (for spreadsheets)" },
    since: { type: "string", value: "DATE", description: "entries at or after DATE" },
    until: { type: "string", value: "DATE", description: "entries up to DATE (a date includes that day)" },
    resource: { type: "string", value: "ID", description: "only entries about this resource" },
    user: { type: "string", value: "UXXXX", description: "only entries where this Slack user acted or whom they were about" },
    out: { type: "string", value: "FILE", description: "write to FILE (created or replaced) instead of stdout" },
  },
  exitCodes: AUDIT_EXIT_CODES,
};

export const SHOW_SPEC: CommandSpec = {
  name: "audit show",
  usage: ["audit show <request-id | grant-id> [--json]"],
  description: "Every event of one request, who did it and when, the rule evaluation, and what each approver saw when they clicked, re-rendered from the stored blocks with a check that they still hash to what was recorded.",
  options: { json: { type: "boolean", description: "print one JSON object (see docs/cli.md) instead of text; the exit code is unchanged" } },
  positionals: [{ name: "ID", description: "a request id (AR-7K3F9Q2M, from the request message) or a grant id (GR-…)" }],
  maxPositionals: 1,
  exitCodes: AUDIT_EXIT_CODES,
};

/**
 * Turns `audit …` arguments into a typed command; throws UsageError (unknown option: exit 2
 * with the usage) or AuditCliError (exit 2, one actionable line).
 */
export function parseAuditArgs(args: readonly string[]): AuditArgs | { command: "help"; text: string } {
  const [command, ...rest] = args;
  switch (command) {
    case "verify": {
      const parsed = parseCommandLine({ ...VERIFY_SPEC, maxPositionals: Infinity }, rest);
      if (parsed.help) return { command: "help", text: parsed.text };
      const { values, positionals } = parsed;
      if (positionals.length > 0) throw new AuditCliError(`audit verify takes no positional arguments (got "${positionals[0]}"); to verify a file use --file ${positionals[0]}`);
      const checkpoints = ((values.checkpoint as string[] | undefined) ?? []).map((value) => check(checkpointSchema, value, "--checkpoint"));
      const file = values.file as string | undefined;
      if (file !== undefined && file.trim() === "") throw new AuditCliError("--file needs the path of a JSONL export");
      return { command: "verify", file: file ?? null, checkpoints, json: values.json === true };
    }
    case "export": {
      const parsed = parseCommandLine({ ...EXPORT_SPEC, maxPositionals: Infinity }, rest);
      if (parsed.help) return { command: "help", text: parsed.text };
      const { values, positionals } = parsed;
      if (positionals.length > 0) throw new AuditCliError(`audit export takes no positional arguments (got "${positionals[0]}"); write to a file with --out ${positionals[0]}`);
      if (values.format === undefined) throw new AuditCliError("audit export needs --format jsonl (to verify or archive) or --format csv (for spreadsheets)");
      const parsedValues = check(exportSchema, values, null);
      return {
        command: "export",
        format: parsedValues.format,
        since: parsedValues.since ?? null,
        until: parsedValues.until ?? null,
        resource: parsedValues.resource ?? null,
        user: parsedValues.user ?? null,
        out: parsedValues.out ?? null,
      };
    }
    case "show": {
      const parsed = parseCommandLine({ ...SHOW_SPEC, maxPositionals: Infinity }, rest);
      if (parsed.help) return { command: "help", text: parsed.text };
      if (parsed.positionals.length !== 1) throw new AuditCliError("usage: accessbot audit show <request-id | grant-id>, e.g. accessbot audit show AR-7K3F9Q2M");
      return { command: "show", id: check(recordIdSchema, parsed.positionals[0]!, "request id"), json: parsed.values.json === true };
    }
    case "help":
      return { command: "help", text: renderCommandHelp(AUDIT_SPEC) };
    case undefined:
      throw new AuditCliError("audit needs a command: verify, export or show (accessbot audit --help)");
    default: {
      if (command.startsWith("-")) {
        const parsed = parseCommandLine(AUDIT_SPEC, args);
        if (parsed.help) return { command: "help", text: parsed.text };
      }
      throw new AuditCliError(`unknown audit command "${command}": use verify, export or show (accessbot audit --help)`);
    }
  }
}

function check<T extends z.ZodType>(schema: T, value: unknown, label: string | null): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const prefix = label && !issue.message.startsWith("-") ? `${label} ${JSON.stringify(value)}: ` : "";
  throw new AuditCliError(`${prefix}${issue.message}`);
}
