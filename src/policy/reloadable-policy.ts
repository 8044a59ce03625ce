import type { PolicySource } from "../domain/ports.js";
import { loadPolicyFile } from "./load-policy.js";
import type { LoadedPolicy } from "./policy-schema.js";

/**
 * The policy in force. `reload()` swaps in a new file only if it is valid, so a typo pushed
 * to the policy file never leaves the bot without rules; decisions record the sha256 of
 * whichever text was in force.
 */
export class ReloadablePolicy implements PolicySource {
  private constructor(private readonly path: string, private loaded: LoadedPolicy) {}

  static async load(path: string): Promise<ReloadablePolicy> {
    return new ReloadablePolicy(path, await loadPolicyFile(path));
  }

  current(): LoadedPolicy {
    return this.loaded;
  }

  /** Returns the new policy, or throws PolicyError and keeps the old one. */
  async reload(): Promise<LoadedPolicy> {
    this.loaded = await loadPolicyFile(this.path);
    return this.loaded;
  }
}
