import type { PolicySource } from "../domain/ports.js";
import { loadPolicyFile, type ProvisionerTypes } from "./load-policy.js";
import type { LoadedPolicy } from "../domain/policy-model.js";

/**
 * The policy in force. `reload()` swaps in a new file only if it is valid, so a typo pushed
 * to the policy file never leaves the bot without rules; decisions record the sha256 of
 * whichever text was in force.
 */
export class ReloadablePolicy implements PolicySource {
  private constructor(
    private readonly path: string,
    private loaded: LoadedPolicy,
    private readonly provisionerTypes: ProvisionerTypes | undefined,
  ) {}

  /** `provisionerTypes` defaults to the built-in registry. */
  static async load(path: string, provisionerTypes?: ProvisionerTypes): Promise<ReloadablePolicy> {
    return new ReloadablePolicy(path, await loadPolicyFile(path, provisionerTypes), provisionerTypes);
  }

  current(): LoadedPolicy {
    return this.loaded;
  }

  /**
   * Returns the new policy, or throws (PolicyError, or whatever `accept` throws) and keeps the
   * old one. `accept` sees the new policy before it is in force, e.g. to build its provisioners.
   */
  async reload(accept?: (loaded: LoadedPolicy) => void): Promise<LoadedPolicy> {
    const next = await loadPolicyFile(this.path, this.provisionerTypes);
    accept?.(next);
    this.loaded = next;
    return this.loaded;
  }
}
