import { ConfigError } from "../config/read-env-config.js";
import { checkPolicyCommand } from "../policy/check-policy-command.js";
import { PolicyError } from "../policy/load-policy.js";

const USAGE = `Usage: accessbot <command>

  start                       run the bot (reads the environment; see README)
  policy check [file]         validate an access policy without starting the bot
                              (default: $ACCESS_POLICY_FILE or ./access-policy.yml)
  audit verify [--file F] [--checkpoint SEQ:HASH]
                              verify the ledger's hash chain
  audit export --format jsonl|csv [--since DATE] [--until DATE] [--resource ID] [--user UXXXX]
  audit show <request-id>     the full story of one request
  digest [--since DATE --until DATE] [--print | --format json]
                              the weekly audit digest (default: last week), beside the week before
  db setup-roles [--admin-url URL] [--owner NAME] [--runtime NAME] [--schema NAME] [--print]
                              PostgreSQL: an owner role for migrations and a runtime role
                              for the bot, which cannot change the ledger (README, "Database roles")
  db migrate                  apply pending migrations to DATABASE_URL (run it as the owner)
  help                        this text`;

type Out = { log(text: string): void; error(text: string): void };
const console_: Out = { log: (text) => process.stdout.write(`${text}\n`), error: (text) => process.stderr.write(`${text}\n`) };

/** The `accessbot` command line; returns the process exit code. */
export async function runCli(argv: string[], out: Out = console_): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return start(out);
    case "policy":
      if (rest[0] === "check") return checkPolicyCommand(rest[1] ?? process.env.ACCESS_POLICY_FILE ?? "./access-policy.yml", out);
      out.error("Usage: accessbot policy check [file]");
      return 2;
    case "audit": {
      const { runAuditCli } = await import("../audit/cli/run-audit-cli.js");
      return runAuditCli(rest, out);
    }
    case "digest": {
      const { runDigestCli } = await import("../digest/run-digest-cli.js");
      return runDigestCli(rest, out);
    }
    case "db": {
      const { runDbCli } = await import("../db/run-db-cli.js");
      return runDbCli(rest, out);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      out.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

async function start(out: Out): Promise<number> {
  const { startBot } = await import("../main.js");
  try {
    const bot = await startBot();
    const shutdown = (signal: string) => {
      out.error(`${signal} received, stopping accessbot…`);
      bot.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          out.error(`error while stopping: ${(error as Error).message}`);
          process.exit(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    return await new Promise<number>(() => undefined);
  } catch (error) {
    return reportStartupError(error, out);
  }
}

function reportStartupError(error: unknown, out: Out): number {
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
