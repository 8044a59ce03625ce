import type { ProvisionerSettings } from "../domain/policy-model.js";
import type { Provisioner, ProvisionerLookup } from "../domain/ports.js";
import { BUILTIN_PROVISIONER_TYPES } from "./builtin-provisioners.js";
import { ProvisionerConfigError, type ProvisionerDeps, type ProvisionerType } from "./provisioner-type.js";

export interface ProvisionedResource {
  id: string;
  provisioner: ProvisionerSettings | null;
}

/**
 * Builds the provisioner of every resource that has one. Building opens no connection and
 * runs nothing, so it is cheap enough to call just to check the environment (see
 * `findProvisionerProblems`). Throws one ProvisionerConfigError listing every problem, one
 * line each, naming the resource and what to fix.
 */
export function buildProvisioners(resources: ProvisionedResource[], deps: ProvisionerDeps, types: ProvisionerType[] = BUILTIN_PROVISIONER_TYPES): ProvisionerLookup {
  const { provisioners, problems } = tryBuild(resources, deps, types);
  if (problems.length > 0) {
    throw new ProvisionerConfigError(`${problems.length === 1 ? "A provisioner is" : `${problems.length} provisioners are`} not configured:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return { forResource: (resourceId) => provisioners.get(resourceId) ?? null };
}

/** The problems buildProvisioners would report (missing environment variables, unknown types), one sentence each; [] if none. */
export function findProvisionerProblems(resources: ProvisionedResource[], deps: ProvisionerDeps, types: ProvisionerType[] = BUILTIN_PROVISIONER_TYPES): string[] {
  return tryBuild(resources, deps, types).problems;
}

function tryBuild(resources: ProvisionedResource[], deps: ProvisionerDeps, types: ProvisionerType[]): { provisioners: Map<string, Provisioner>; problems: string[] } {
  const byType = new Map(types.map((type) => [type.type, type]));
  const provisioners = new Map<string, Provisioner>();
  const problems: string[] = [];
  for (const resource of resources) {
    const settings = resource.provisioner;
    if (!settings) continue;
    const type = byType.get(settings.type);
    if (!type) {
      problems.push(`resource ${resource.id}: unknown provisioner type '${settings.type}' (known: ${[...byType.keys()].join(", ")})`);
      continue;
    }
    try {
      provisioners.set(resource.id, type.create(settings.options, deps, resource.id));
    } catch (error) {
      // Anything else is a bug, not a configuration problem: let it surface as it is.
      if (!(error instanceof ProvisionerConfigError)) throw error;
      const prefix = `resource ${resource.id}:`;
      problems.push(error.message.startsWith(prefix) ? error.message : `${prefix} ${error.message}`);
    }
  }
  return { provisioners, problems };
}
