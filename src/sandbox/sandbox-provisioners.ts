import type { ProvisionerSettings } from "../domain/policy-model.js";
import type { ProvisionContext, Provisioner, ProvisionerLookup, ProvisionResult } from "../domain/ports.js";
import type { ProvisionedResource } from "../provisioning/build-provisioners.js";

/**
 * The sandbox's provisioners: one dry run per resource that has a real provisioner in the
 * policy. Nothing is called (no database GRANT, no webhook, no program, no Slack user group):
 * each call succeeds at once, and its detail, which the ledger's `grant.provisioned` /
 * `grant.deprovisioned` entry records, says what the real provisioner would have done.
 * Approval-only resources stay approval-only (null), exactly as in production.
 */
export function buildSandboxProvisioners(resources: ProvisionedResource[]): ProvisionerLookup {
  const provisioners = new Map<string, Provisioner>();
  for (const resource of resources) if (resource.provisioner) provisioners.set(resource.id, new DryRunProvisioner(resource.id, resource.provisioner));
  return { forResource: (id) => provisioners.get(id) ?? null };
}

/** What the real provisioner of `settings` would do to `userId` (`action`: grant, revoke or extend), in one sentence. */
export function describeWouldHave(settings: ProvisionerSettings, action: "grant" | "revoke" | "extend", userId: string): string {
  const options = settings.options;
  switch (settings.type) {
    case "postgres-role": {
      const logins = (options.logins ?? {}) as Record<string, string>;
      const login = logins[userId] ?? `(no login mapped for ${userId})`;
      const role = String(options.role);
      if (action === "extend") return `nothing on the database: postgres-role grants last until the revoke (role ${role} stays with ${login})`;
      return action === "grant"
        ? `GRANT "${role}" TO "${login}" on the database in $${String(options.connectionEnv)}`
        : `REVOKE "${role}" FROM "${login}" on the database in $${String(options.connectionEnv)}`;
    }
    case "slack-usergroup":
      if (action === "extend") return `nothing: ${userId} stays in Slack user group ${String(options.usergroup)}`;
      return action === "grant" ? `add ${userId} to Slack user group ${String(options.usergroup)} (usergroups.users.update)` : `remove ${userId} from Slack user group ${String(options.usergroup)} (usergroups.users.update)`;
    case "webhook":
      return `POST a signed "${action}" request for ${userId} to ${String(options.url)} (HMAC secret from $${String(options.secretEnv)})`;
    case "command": {
      const argv = (action === "extend" ? options.extend : options[action]) as string[] | null | undefined;
      if (!argv) return `nothing: no extend command is configured, so the revoke runs at the new expiry`;
      return `run ${argv.map((arg) => JSON.stringify(arg)).join(" ")} with ACCESSBOT_ACTION=${action} and the grant as JSON on stdin`;
    }
    default:
      return `call the ${settings.type} provisioner (${action}) for ${userId}`;
  }
}

class DryRunProvisioner implements Provisioner {
  constructor(
    private readonly resourceId: string,
    private readonly settings: ProvisionerSettings,
  ) {}

  /** The real postgres-role provisioner refuses a person with no mapped login; the dry run refuses them too, so the sandbox shows what production would. */
  refusal(userId: string): string | null {
    if (this.settings.type !== "postgres-role") return null;
    const logins = (this.settings.options.logins ?? {}) as Record<string, string>;
    if (Object.hasOwn(logins, userId)) return null;
    return `You have no database login mapped for \`${this.resourceId}\` (postgres-role provisioner): ask a policy owner to add your Slack user id under \`logins\`.`;
  }

  grant(context: ProvisionContext): Promise<ProvisionResult> {
    return this.dryRun("grant", context);
  }

  revoke(context: ProvisionContext): Promise<ProvisionResult> {
    return this.dryRun("revoke", context);
  }

  extend(context: ProvisionContext & { previousExpiresAt: Date }): Promise<ProvisionResult> {
    return this.dryRun("extend", context);
  }

  private async dryRun(action: "grant" | "revoke" | "extend", context: ProvisionContext): Promise<ProvisionResult> {
    return {
      detail: { sandbox: true, provisioner: this.settings.type, would_have: describeWouldHave(this.settings, action, context.user.id) },
    };
  }
}
