import { parseArgs } from "node:util";
import type { CommandSpec, OptionSpec } from "./command-spec.js";
import { renderCommandHelp } from "./render-command-help.js";

/** Bad arguments: the message says what was wrong; the caller prints it with the usage and exits 2. */
export class UsageError extends Error {
  readonly code = "CLI_USAGE";
  constructor(
    message: string,
    readonly spec: CommandSpec,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export type ParsedCommandLine = { help: true; text: string } | { help: false; values: ParsedValues; positionals: string[] };

/**
 * The one argument parser of every `accessbot` command (node:util parseArgs, strict): -h/--help
 * anywhere answers with the command's help instead of running it, and an unknown option or a
 * missing value is a UsageError naming the options the command does accept.
 */
export function parseCommandLine(spec: CommandSpec, args: readonly string[]): ParsedCommandLine {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
  for (const [name, option] of Object.entries(spec.options)) options[name] = parserOption(option);
  // Help wins over every other problem: `policy check --help` must not look for a file named --help.
  if (args.some((arg) => arg === "--help" || arg === "-h")) {
    const end = args.indexOf("--");
    const before = end < 0 ? args : args.slice(0, end);
    if (before.includes("--help") || before.includes("-h")) return { help: true, text: renderCommandHelp(spec) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(spec, error as Error & { code?: string }), spec);
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(
      max === 0 ? `accessbot ${spec.name} takes no arguments (got "${parsed.positionals[0]}")` : `accessbot ${spec.name} takes at most ${max} argument${max === 1 ? "" : "s"} (got ${parsed.positionals.length})`,
      spec,
    );
  }
  const { help: _help, ...values } = parsed.values as ParsedValues;
  return { help: false, values, positionals: parsed.positionals };
}

function parserOption(option: OptionSpec): { type: "string" | "boolean"; short?: string; multiple?: boolean } {
  return { type: option.type, ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) };
}

function describeParseError(spec: CommandSpec, error: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^\s',]+)/.exec(error.message)?.[1];
  const known = Object.keys(spec.options).map((name) => `--${name}`);
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = spec.options[flag?.replace(/^-+/, "") ?? ""];
    return option?.type === "boolean" ? `accessbot ${spec.name}: ${flag} takes no value` : `accessbot ${spec.name}: ${flag ?? "an option"} needs a value${option?.value ? ` (${option.value})` : ""}`;
  }
  return `accessbot ${spec.name}: unknown option ${flag ?? ""}; ${known.length > 0 ? `it accepts ${known.join(", ")}` : "it takes no options"}`.replace(/ ;/, ";");
}

/** What a command prints for a UsageError: the problem, then the usage, on stderr. */
export function formatUsageError(error: UsageError): string {
  return `${error.message}\n\n${renderCommandHelp(error.spec)}`;
}
