import { formatPolicyIssue, type PolicyIssue } from "./policy-error.js";
import { PolicyError, loadPolicyFile, type ProvisionerTypes } from "./load-policy.js";

export interface CommandOutput {
  log(s: string): void;
  error(s: string): void;
}

/**
 * `policy check --json` (docs/cli.md): one object on stdout, whatever the verdict; the exit
 * code is the same as without --json.
 */
export interface PolicyCheckJson {
  valid: boolean;
  file: string;
  /** Of the file's bytes; null when it is invalid. */
  sha256: string | null;
  resources: string[];
  groups: string[];
  issues: PolicyIssue[];
}

/**
 * `accessbot policy check`: validates the policy without connecting to Slack or the
 * database, so it can run in CI on every pull request that touches the policy.
 * Provisioner options are checked too, but not the environment variables they name (CI does
 * not have the secrets); a missing one is reported when the bot starts.
 * Returns the process exit code: 0 valid, 1 invalid. Unexpected errors (bugs) propagate.
 */
export async function checkPolicyCommand(path: string, out: CommandOutput, provisionerTypes?: ProvisionerTypes, options: { json?: boolean } = {}): Promise<number> {
  try {
    const { policy, sha256, fileName } = await loadPolicyFile(path, provisionerTypes);
    if (options.json) {
      out.log(JSON.stringify({ valid: true, file: fileName, sha256, resources: Object.keys(policy.resources), groups: Object.keys(policy.groups), issues: [] } satisfies PolicyCheckJson));
      return 0;
    }
    const resources = plural(Object.keys(policy.resources).length, "resource");
    const groups = plural(Object.keys(policy.groups).length, "group");
    out.log(`✔ ${fileName} is valid: ${resources}, ${groups}, sha256 ${sha256}`);
    return 0;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    if (options.json) {
      out.log(JSON.stringify({ valid: false, file: error.fileName, sha256: null, resources: [], groups: [], issues: error.issues } satisfies PolicyCheckJson));
      return 1;
    }
    out.error(`✘ ${error.fileName} is invalid (${plural(error.issues.length, "issue")}):`);
    for (const issue of error.issues) out.error(formatPolicyIssue(error.fileName, issue));
    return 1;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
