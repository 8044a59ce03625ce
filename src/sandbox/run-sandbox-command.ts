import type { CliOutput } from "../cli/run-cli.js";
import type { CommandSpec } from "../cli/command-spec.js";
import { runUntilSignal } from "../cli/run-until-signal.js";

/** The variables any of which means "a real Slack app": with one set, `start` never falls into the sandbox. */
export const SLACK_VARIABLES = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"] as const;

/**
 * Whether `start` runs the sandbox: none of the Slack variables is present at all (an empty one
 * counts as set), and this is not a production install (NODE_ENV=production, as the Dockerfile
 * and the systemd unit set it): there an empty environment file is a mistake to report, not a
 * reason to serve a sandbox. `accessbot sandbox` still runs it anywhere.
 */
export function wantsSandbox(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV !== "production" && !SLACK_VARIABLES.some((name) => Object.hasOwn(env, name));
}

export const SANDBOX_SPEC: CommandSpec = {
  name: "sandbox",
  usage: ["sandbox"],
  description:
    "Try accessbot in a browser without a Slack workspace: the real bot (listeners, approvals, ledger, jobs) against a built-in Slack stand-in, on embedded PGlite in ./.data/sandbox, with a page at http://127.0.0.1:3000/ that shows each person's Slack and acts as them. Nothing is provisioned (the ledger says what would have been), and the people are made up. `accessbot start` runs it too when none of SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN is set, unless NODE_ENV=production. Reads PORT (the page, default 3000), ACCESS_POLICY_FILE (your own policy; default a sample) and LOG_LEVEL; runs until SIGTERM or SIGINT.",
  options: {},
  exitCodes: [
    [0, "stopped by SIGTERM or SIGINT"],
    [1, "cannot start (the policy, the port or the data directory; the message says which)"],
    [2, "bad arguments"],
  ],
};

/** Runs the sandbox until a signal; returns the exit code (`report` turns a start-up error into one). */
export async function runSandboxCommand(out: CliOutput, report: (error: unknown, out: CliOutput) => number): Promise<number> {
  const { startSandbox, SANDBOX_DATA_DIR } = await import("./start-sandbox.js");
  try {
    const sandbox = await startSandbox();
    out.log(
      [
        "",
        "  accessbot SANDBOX: not connected to Slack, nothing is provisioned, the people are made up.",
        `  Open ${sandbox.url}`,
        `  Policy: ${sandbox.policyFile}; data in ./${SANDBOX_DATA_DIR}. Set SLACK_BOT_TOKEN and the rest (README) to run the real bot.`,
        "",
      ].join("\n"),
    );
    return await runUntilSignal(out, "the accessbot sandbox", () => sandbox.stop());
  } catch (error) {
    return report(error, out);
  }
}
