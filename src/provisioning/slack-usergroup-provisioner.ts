import type { WebClient } from "@slack/web-api";
import { z } from "zod";
import type { ProvisionContext, Provisioner, ProvisionResult } from "../domain/ports.js";
import { throwIfAborted } from "./build-provision-payload.js";
import type { ProvisionerType } from "./provisioner-type.js";
import { runExclusive } from "./run-exclusive.js";

const TYPE = "slack-usergroup";

export interface SlackUsergroupOptions extends Record<string, unknown> {
  usergroup: string;
}

/** What grant() returns as state, so revoke() undoes exactly what grant() did. */
interface SlackUsergroupState {
  /** The person was in the group before the bot added them: revoke leaves them there. */
  preexisting: boolean;
  usergroup?: string;
}

export const slackUsergroupProvisionerType: ProvisionerType<SlackUsergroupOptions> = {
  type: TYPE,
  optionsShape: {
    usergroup: z
      .string({ error: "expected a Slack user group id (like S0123ABCD)" })
      .regex(/^S[A-Z0-9]{2,20}$/, { error: (issue) => `'${String(issue.input)}' is not a Slack user group id (like S0123ABCD)` }),
  },
  toOptions(file) {
    return { usergroup: file.usergroup as string };
  },
  defaultTimeoutSeconds: 10,
  create(options, deps, resourceId) {
    return new SlackUsergroupProvisioner(resourceId, options.usergroup, deps.slack);
  },
};

/**
 * Adds the grantee to a Slack user group and takes them out again, leaving every other
 * member where they are. Slack only offers "replace the whole member list", so each change
 * reads the list, edits it, and writes it back, one change per group at a time.
 */
export class SlackUsergroupProvisioner implements Provisioner {
  constructor(
    private readonly resourceId: string,
    private readonly usergroup: string,
    private readonly slack: WebClient,
  ) {}

  async grant(context: ProvisionContext): Promise<ProvisionResult> {
    const userId = context.user.id;
    const usergroup = this.usergroup;
    const previous = readState(context.state);
    return runExclusive(lockKey(usergroup), context.signal, async () => {
      const members = await this.listMembers(usergroup);
      if (members.includes(userId)) {
        const botAddedBefore = previous !== null && !previous.preexisting && (previous.usergroup ?? usergroup) === usergroup;
        return {
          state: { preexisting: !botAddedBefore, usergroup } satisfies SlackUsergroupState,
          detail: { usergroup, action: botAddedBefore ? "already added" : "kept existing membership" },
        };
      }
      if (members.length === 0) {
        // Slack refuses to empty a user group, so the grantee as its only member could never be removed.
        throw new Error(`user group ${usergroup} has no members, so the bot could not take ${userId} out of it again (Slack refuses to empty a user group): add a permanent member to it first`);
      }
      throwIfAborted(context.signal, `adding ${userId} to ${usergroup}`);
      const updated = await this.replaceMembers(usergroup, [...members, userId]);
      if (!updated.includes(userId)) throw new Error(`Slack accepted the update of ${usergroup} but ${userId} is not among its members`);
      return { state: { preexisting: false, usergroup } satisfies SlackUsergroupState, detail: { usergroup, action: "added" } };
    });
  }

  async revoke(context: ProvisionContext): Promise<ProvisionResult> {
    const userId = context.user.id;
    const previous = readState(context.state);
    // Take them out of the group they were put in, even if the policy has been edited since.
    const usergroup = previous?.usergroup ?? this.usergroup;
    if (previous?.preexisting) return { state: null, detail: { usergroup, action: "kept: the person was a member before the grant" } };
    return runExclusive(lockKey(usergroup), context.signal, async () => {
      const members = await this.listMembers(usergroup);
      if (!members.includes(userId)) return { state: null, detail: { usergroup, action: "nothing to remove: not a member" } };
      const remaining = members.filter((member) => member !== userId);
      if (remaining.length === 0) {
        throw new Error(`cannot take ${userId} out of user group ${usergroup}: they are its last member and Slack refuses to empty a user group; add a permanent member to it, or remove them by hand`);
      }
      throwIfAborted(context.signal, `removing ${userId} from ${usergroup}`);
      const updated = await this.replaceMembers(usergroup, remaining);
      if (updated.includes(userId)) throw new Error(`Slack accepted the update of ${usergroup} but ${userId} is still among its members`);
      return { state: null, detail: { usergroup, action: "removed" } };
    });
  }

  private async listMembers(usergroup: string): Promise<string[]> {
    try {
      const result = await this.slack.usergroups.users.list({ usergroup });
      return result.users ?? [];
    } catch (error) {
      throw this.explain(error, `could not read the members of user group ${usergroup}`);
    }
  }

  private async replaceMembers(usergroup: string, users: string[]): Promise<string[]> {
    try {
      const result = await this.slack.usergroups.users.update({ usergroup, users: users.join(",") });
      return result.usergroup?.users ?? users;
    } catch (error) {
      throw this.explain(error, `could not update the members of user group ${usergroup}`);
    }
  }

  private explain(error: unknown, what: string): Error {
    const code = slackErrorCode(error);
    const hint = code ? HINTS[code] : undefined;
    const reason = code ?? (error instanceof Error ? error.message : String(error));
    return new Error(`${what} (resource ${this.resourceId}): ${reason}${hint ? ` — ${hint}` : ""}`);
  }
}

const HINTS: Record<string, string> = {
  no_such_subteam: "check `usergroup` in the policy",
  missing_scope: "the app needs the usergroups:read and usergroups:write scopes",
  permission_denied: "the workspace only lets admins edit user groups; allow everyone to edit them, or give the bot that permission",
  invalid_users: "Slack refused one of the members (a guest, a bot or a deactivated account?)",
  plan_upgrade_required: "user groups need a paid Slack plan",
};

function slackErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === "string" ? data.error : undefined;
}

function lockKey(usergroup: string): string {
  return `slack-usergroup:${usergroup}`;
}

function readState(state: unknown): SlackUsergroupState | null {
  if (typeof state !== "object" || state === null) return null;
  const { preexisting, usergroup } = state as Record<string, unknown>;
  if (typeof preexisting !== "boolean") return null;
  return { preexisting, ...(typeof usergroup === "string" ? { usergroup } : {}) };
}
