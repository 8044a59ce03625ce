import { spawn } from "node:child_process";
import { z } from "zod";
import type { ProvisionContext, Provisioner, ProvisionResult } from "../domain/ports.js";
import { buildProvisionPayload, type ProvisionAction } from "./build-provision-payload.js";
import type { ProvisionerType, ProvisionerDeps } from "./provisioner-type.js";

const TYPE = "command";
/** After SIGTERM, how long the command has to clean up before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** How much of stderr is quoted in the error (and so in the ledger). */
const STDERR_TAIL_CHARS = 500;
/** Once the command has exited, how long to wait for children that still hold its stdout/stderr. */
const STREAM_DRAIN_MS = 200;

const argv = (action: string) =>
  z
    .array(z.string().min(1, { error: "an empty argument; remove it or quote a value" }), { error: `expected the ${action} command as a list: [program, arg, …]` })
    .min(1, { error: `the ${action} command needs at least the program to run` });

export interface CommandOptions extends Record<string, unknown> {
  grant: string[];
  revoke: string[];
  extend: string[] | null;
}

export const commandProvisionerType: ProvisionerType<CommandOptions> = {
  type: TYPE,
  optionsShape: {
    grant: argv("grant"),
    revoke: argv("revoke"),
    extend: argv("extend").optional(),
  },
  toOptions(file) {
    return {
      grant: [...(file.grant as string[])],
      revoke: [...(file.revoke as string[])],
      extend: Array.isArray(file.extend) ? [...(file.extend as string[])] : null,
    };
  },
  defaultTimeoutSeconds: 30,
  create(options, deps, resourceId) {
    return createCommandProvisioner(resourceId, options, deps.env);
  },
};

/**
 * Runs a program (never a shell: arguments are passed as written) with the grant as JSON on
 * stdin and ACCESSBOT_ACTION in its environment. Exit code 0 is success. When the caller's
 * timeout runs out the program gets SIGTERM, then SIGKILL, together with any children it started.
 */
export function createCommandProvisioner(resourceId: string, options: CommandOptions, env: NodeJS.ProcessEnv): Provisioner {
  const childEnv = withoutSlackSecrets(env);
  const provisioner: Provisioner = {
    grant: (context) => runCommand(resourceId, "grant", options.grant, context, childEnv),
    revoke: (context) => runCommand(resourceId, "revoke", options.revoke, context, childEnv),
  };
  // Without an `extend` command the caller knows this target has no window of its own to move.
  const extend = options.extend;
  if (extend) provisioner.extend = (context) => runCommand(resourceId, "extend", extend, context, childEnv);
  return provisioner;
}

/** The bot's environment minus Slack's credentials: a command never needs to act as the bot. */
export function withoutSlackSecrets(env: ProvisionerDeps["env"]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("SLACK_")));
}

function runCommand(
  resourceId: string,
  action: ProvisionAction,
  command: string[],
  context: ProvisionContext & { previousExpiresAt?: Date },
  env: NodeJS.ProcessEnv,
): Promise<ProvisionResult> {
  const [program, ...args] = command as [string, ...string[]];
  const label = `${TYPE} ${action} for resource ${resourceId} (${program})`;
  const { signal } = context;
  if (signal.aborted) return Promise.reject(new Error(`${label} was abandoned before it started: the provisioner's timeout ran out`));
  const input = JSON.stringify(buildProvisionPayload(action, context));

  return new Promise<ProvisionResult>((resolve, reject) => {
    // detached: the command leads its own process group, so a kill reaches what it started too.
    const child = spawn(program, args, { shell: false, detached: true, stdio: ["pipe", "pipe", "pipe"], env: { ...env, ACCESSBOT_ACTION: action } });
    let stderr = "";
    let killedBy: NodeJS.Signals | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      killedBy = "SIGTERM";
      killGroup("SIGTERM");
      killTimer = setTimeout(() => {
        killedBy = "SIGKILL";
        killGroup("SIGKILL");
      }, KILL_GRACE_MS);
      killTimer.unref();
    };
    const finish = (outcome: { result: ProvisionResult } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      clearTimeout(drainTimer);
      if ("error" in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    const settle = (): void => {
      if (!exit) return;
      clearTimeout(killTimer);
      // Timed out: nothing the command started may go on changing the target after the call.
      if (killedBy !== null) killGroup("SIGKILL");
      const tail = stderr.slice(-STDERR_TAIL_CHARS).trim();
      const quoted = tail ? `; stderr: ${tail}` : "";
      if (killedBy !== null) return finish({ error: new Error(`${label} was killed with ${killedBy} after the provisioner's timeout ran out${quoted}`) });
      if (exit.code === 0) return finish({ result: { detail: { action, exitCode: 0 } } });
      const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal ?? "a signal"}`;
      finish({ error: new Error(`${label} ${how}${quoted}`) });
    };

    signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (error) => {
      clearTimeout(killTimer);
      finish({ error: new Error(`${label} could not be started: ${error.message}`) });
    });
    child.stdout.resume(); // not used, but must be read or a chatty command would block
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4 * STDERR_TAIL_CHARS);
    });
    child.on("exit", (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      // 'close' waits for every holder of the pipes; a backgrounded child may hold them forever.
      drainTimer = setTimeout(settle, STREAM_DRAIN_MS);
      drainTimer.unref();
    });
    child.on("close", () => settle());
    // A command that exits without reading stdin makes the write fail with EPIPE: not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
