import { parseArgs } from "node:util";
import { z } from "zod";
import type { LedgerCheckpointRef } from "../ledger-checkpoint-ref.js";
import { AuditCliError } from "./audit-cli-error.js";

export interface VerifyArgs {
  command: "verify";
  file: string | null;
  checkpoints: LedgerCheckpointRef[];
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
  requestId: string;
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

const requestIdSchema = z
  .string()
  .transform((value) => value.trim().replace(/^[`'"“”<(]+|[`'"“”>).,]+$/g, "").toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{1,10}-[0-9A-Z]{4,40}$/, { message: "the request id looks like AR-7K3F9Q2M (from the request message)" }));

/** Turns `audit …` arguments into a typed command; throws AuditCliError (exit 2) with one actionable line. */
export function parseAuditArgs(args: readonly string[]): AuditArgs {
  const [command, ...rest] = args;
  switch (command) {
    case "verify": {
      const { values, positionals } = tokens("verify", rest, { file: { type: "string" }, checkpoint: { type: "string", multiple: true } });
      if (positionals.length > 0) throw new AuditCliError(`audit verify takes no positional arguments (got "${positionals[0]}"); to verify a file use --file ${positionals[0]}`);
      const checkpoints = ((values.checkpoint as string[] | undefined) ?? []).map((value) => check(checkpointSchema, value, "--checkpoint"));
      const file = values.file as string | undefined;
      if (file !== undefined && file.trim() === "") throw new AuditCliError("--file needs the path of a JSONL export");
      return { command: "verify", file: file ?? null, checkpoints };
    }
    case "export": {
      const { values, positionals } = tokens("export", rest, {
        format: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        resource: { type: "string" },
        user: { type: "string" },
        out: { type: "string" },
      });
      if (positionals.length > 0) throw new AuditCliError(`audit export takes no positional arguments (got "${positionals[0]}"); write to a file with --out ${positionals[0]}`);
      if (values.format === undefined) throw new AuditCliError("audit export needs --format jsonl (to verify or archive) or --format csv (for spreadsheets)");
      const parsed = check(exportSchema, values, null);
      return {
        command: "export",
        format: parsed.format,
        since: parsed.since ?? null,
        until: parsed.until ?? null,
        resource: parsed.resource ?? null,
        user: parsed.user ?? null,
        out: parsed.out ?? null,
      };
    }
    case "show": {
      const { positionals } = tokens("show", rest, {});
      if (positionals.length !== 1) throw new AuditCliError("usage: accessbot audit show <request-id>, e.g. accessbot audit show AR-7K3F9Q2M");
      return { command: "show", requestId: check(requestIdSchema, positionals[0]!, "request id") };
    }
    case undefined:
      throw new AuditCliError("audit needs a command: verify, export or show (accessbot audit help)");
    default:
      throw new AuditCliError(`unknown audit command "${command}": use verify, export or show (accessbot audit help)`);
  }
}

type OptionSpec = Record<string, { type: "string"; multiple?: boolean }>;

function tokens(command: string, args: string[], options: OptionSpec) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /'(-{1,2}[\w-]+)/.exec(message)?.[1];
    const known = Object.keys(options).map((name) => `--${name}`);
    if ((error as { code?: string }).code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new AuditCliError(`audit ${command}: ${unknown ?? "an option"} needs a value`);
    }
    throw new AuditCliError(`audit ${command}: unknown option ${unknown ?? ""}${known.length > 0 ? `; it accepts ${known.join(", ")}` : "; it takes no options"}`.trim());
  }
}

function check<T extends z.ZodType>(schema: T, value: unknown, label: string | null): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const prefix = label && !issue.message.startsWith("-") ? `${label} ${JSON.stringify(value)}: ` : "";
  throw new AuditCliError(`${prefix}${issue.message}`);
}
