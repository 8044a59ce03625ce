import fs from "node:fs";
import { ConfigError } from "../config/read-env-config.js";
import { PolicyError } from "../policy/load-policy.js";
import type { CommandSpec } from "./command-spec.js";
import { formatUsageError, parseCommandLine, UsageError } from "./parse-command-line.js";
import { quietBrokenPipe, writeLine } from "./quiet-broken-pipe.js";
import { renderCommandHelp } from "./render-command-help.js";
import { runUntilSignal } from "./run-until-signal.js";
import { runSandboxCommand, SANDBOX_SPEC, wantsSandbox } from "../sandbox/run-sandbox-command.js";

export interface CliOutput {
  log(text: string): void;
  error(text: string): void;
}

const processOutput: CliOutput = { log: (text) => writeLine(process.stdout, text), error: (text) => writeLine(process.stderr, text) };

export const ROOT_SPEC: CommandSpec = {
  name: "",
  usage: ["<command> [options]", "--version"],
  description: "Slack-first just-in-time access approval bot with a tamper-evident ledger.",
  options: { version: { type: "boolean", short: "V", description: "print the version of accessbot and exit" } },
  subcommands: [
    { name: "start", description: "run the bot (reads the environment; see README); with no Slack variables, the sandbox" },
    { name: "sandbox", description: "try it in a browser: the real bot against a built-in Slack stand-in, no workspace needed" },
    { name: "policy check", description: "validate an access policy without starting the bot" },
    { name: "audit verify", description: "verify the ledger's hash chain (database, or an export with --file)" },
    { name: "audit export", description: "stream the ledger as JSONL or CSV" },
    { name: "audit show", description: "the full story of one request or grant" },
    { name: "digest", description: "the audit digest of a period (default: last week)" },
    { name: "db setup-roles", description: "PostgreSQL: the owner and runtime roles the bot runs with" },
    { name: "db migrate", description: "apply pending migrations to DATABASE_URL's database" },
    { name: "db backup", description: "PGlite: a consistent copy of the embedded database, even while the bot runs" },
    { name: "db restore", description: "PGlite: unpack a backup into a new data directory" },
    { name: "help", description: "this text" },
  ],
  exitCodes: [
    [0, "done"],
    [2, "unknown command or option"],
  ],
  notes: "Each command documents its own exit codes; see `accessbot <command> --help`.",
};

export const START_SPEC: CommandSpec = {
  name: "start",
  usage: ["start"],
  description:
    "Run the bot: Slack (HTTP or Socket Mode), the approval workflow, the scheduled jobs and the audit stream. It is configured by the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET or SLACK_APP_TOKEN, ACCESS_POLICY_FILE, DATABASE_URL, …; README, \"Configuration\") and runs until SIGTERM or SIGINT. With none of SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN in the environment it starts the sandbox instead (`accessbot sandbox --help`), except with NODE_ENV=production; with any of them set, a missing one is an error.",
  options: {},
  exitCodes: [
    [0, "stopped by SIGTERM or SIGINT"],
    [1, "cannot start (configuration, policy or database problem; the message says which), or the stop failed"],
    [2, "bad arguments"],
  ],
};

export const POLICY_SPEC: CommandSpec = {
  name: "policy",
  usage: ["policy check [FILE] [--json]"],
  description: "Work with the access policy file.",
  options: {},
  subcommands: [{ name: "check", description: "validate an access policy without starting the bot" }],
  exitCodes: [
    [0, "done"],
    [2, "unknown command or option"],
  ],
};

export const POLICY_CHECK_SPEC: CommandSpec = {
  name: "policy check",
  usage: ["policy check [FILE] [--json]"],
  description:
    "Validate an access policy without connecting to Slack or the database, so CI can run it on every pull request that touches the policy. Provisioner options are checked, but not the environment variables they name (CI does not have the secrets).",
  options: { json: { type: "boolean", description: 'print one JSON object: {"valid", "file", "sha256", "resources", "groups", "issues": [{"line", "column", "path", "message"}]}' } },
  positionals: [{ name: "FILE", description: "the policy (default: $ACCESS_POLICY_FILE, else ./access-policy.yml)" }],
  maxPositionals: 1,
  exitCodes: [
    [0, "the policy is valid"],
    [1, "the policy is invalid (each issue printed as file:line:column path: message)"],
    [2, "bad arguments"],
  ],
};

/** The package.json version, read where the sources are (no build step copies it). */
export function accessbotVersion(): string {
  return (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** The `accessbot` command line; returns the process exit code. */
export async function runCli(argv: string[], out: CliOutput = processOutput): Promise<number> {
  if (out === processOutput) quietBrokenPipe();
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "start": {
        const parsed = parseCommandLine(START_SPEC, rest);
        if (parsed.help) return help(parsed.text, out);
        // No Slack variable at all: a first try on a laptop, not a half-configured deployment.
        if (wantsSandbox(process.env)) return await runSandboxCommand(out, reportStartupError);
        return await start(out);
      }
      case "sandbox": {
        const parsed = parseCommandLine(SANDBOX_SPEC, rest);
        if (parsed.help) return help(parsed.text, out);
        return await runSandboxCommand(out, reportStartupError);
      }
      case "policy":
        return await policy(rest, out);
      case "audit": {
        const { runAuditCli } = await import("../audit/cli/run-audit-cli.js");
        return await runAuditCli(rest, out);
      }
      case "digest": {
        const { runDigestCli } = await import("../digest/run-digest-cli.js");
        return await runDigestCli(rest, out);
      }
      case "db": {
        const { runDbCli } = await import("../db/run-db-cli.js");
        return await runDbCli(rest, out);
      }
      case "help":
        return help(renderCommandHelp(ROOT_SPEC), out);
      case undefined:
        out.error(renderCommandHelp(ROOT_SPEC));
        return 2;
      default: {
        if (!command.startsWith("-")) throw new UsageError(`Unknown command "${command}": see the commands below.`, ROOT_SPEC);
        const parsed = parseCommandLine(ROOT_SPEC, argv);
        if (parsed.help) return help(parsed.text, out);
        if (parsed.values.version) {
          out.log(accessbotVersion());
          return 0;
        }
        throw new UsageError("accessbot needs a command.", ROOT_SPEC);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(formatUsageError(error));
      return 2;
    }
    throw error;
  }
}

function help(text: string, out: CliOutput): number {
  out.log(text);
  return 0;
}

async function policy(args: string[], out: CliOutput): Promise<number> {
  const [command, ...rest] = args;
  if (command !== "check") {
    const parsed = parseCommandLine(POLICY_SPEC, args);
    if (parsed.help) return help(parsed.text, out);
    throw new UsageError(command === undefined ? "policy needs a command: check." : `Unknown command "policy ${command}": use check.`, POLICY_SPEC);
  }
  const parsed = parseCommandLine(POLICY_CHECK_SPEC, rest);
  if (parsed.help) return help(parsed.text, out);
  const { checkPolicyCommand } = await import("../policy/check-policy-command.js");
  const file = parsed.positionals[0] ?? process.env.ACCESS_POLICY_FILE ?? "./access-policy.yml";
  return checkPolicyCommand(file, out, undefined, { json: parsed.values.json === true });
}

async function start(out: CliOutput): Promise<number> {
  const { startBot } = await import("../main.js");
  try {
    const bot = await startBot({ idleScheduling: true });
    return await runUntilSignal(out, "accessbot", () => bot.stop());
  } catch (error) {
    return reportStartupError(error, out);
  }
}

function reportStartupError(error: unknown, out: CliOutput): number {
  if (error instanceof ConfigError) {
    out.error(`accessbot cannot start:\n${error.problems.map((problem) => `  • ${problem}`).join("\n")}\n\nCreate the Slack app from manifest.yml and set these in the environment (README, "Create the Slack app").`);
    return 1;
  }
  if (error instanceof PolicyError) {
    out.error(`accessbot cannot start: the access policy is invalid.\n${error.message}`);
    return 1;
  }
  const coded = error as { code?: string; message?: string };
  out.error(`accessbot cannot start: ${coded.message ?? String(error)}`);
  if (!coded.code) out.error((error as Error).stack ?? "");
  return 1;
}
