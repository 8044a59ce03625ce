import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { z } from "zod";
import type { Provisioner } from "../domain/ports.js";

/** What a provisioner may use when it is built: secrets come from the environment only. */
export interface ProvisionerDeps {
  env: NodeJS.ProcessEnv;
  /** The bot's Slack client (for the slack-usergroup type). */
  slack: WebClient;
  log: Logger;
}

/**
 * One kind of target system. Adding a kind means one file under src/provisioning/ that exports
 * a ProvisionerType, listed in builtin-provisioners.ts; the policy loader builds the
 * `provisioner:` schema from these, so field errors get the same line/column reporting as the
 * rest of the policy.
 */
export interface ProvisionerType<Options extends Record<string, unknown> = Record<string, unknown>> {
  /** The value of `type:` in the policy. */
  type: string;
  /** The keys of `provisioner:` besides type, timeout and max_attempts, snake_case as written. */
  optionsShape: z.ZodRawShape;
  /** Turns the validated file options (snake_case) into this type's options. */
  toOptions(file: Record<string, unknown>): Options;
  defaultTimeoutSeconds: number;
  /**
   * Builds the provisioner for one resource. Throws a ProvisionerConfigError naming the
   * environment variable when a secret it needs is missing.
   */
  create(options: Options, deps: ProvisionerDeps, resourceId: string): Provisioner;
}

export class ProvisionerConfigError extends Error {
  override readonly name = "ProvisionerConfigError";
}

export const DEFAULT_PROVISION_MAX_ATTEMPTS = 5;

/** An environment variable's name: secrets are named in the policy, never written there. */
export const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: (issue) => `'${String(issue.input)}' is not an environment variable name (letters, digits and _)` });

/** `timeout:` is seconds or minutes: 30s, 2m, or a number of seconds; 1 s to 10 min. */
export const timeoutSeconds = z.union([z.string(), z.number()], { error: "expected a timeout like 10s or 2m" }).transform((value, ctx) => {
  const match = /^\s*(\d+)\s*(s|m)?\s*$/.exec(String(value));
  const seconds = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
    ctx.addIssue({ code: "custom", message: `invalid timeout '${String(value)}': use whole seconds or minutes between 1s and 10m, like 30s or 2m` });
    return z.NEVER;
  }
  return seconds;
});
