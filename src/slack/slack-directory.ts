import type { WebClient } from "@slack/web-api";
import type { Directory, UserProfile } from "../domain/ports.js";
import type { GroupSource } from "../domain/policy-model.js";

interface Cached<T> {
  value: Promise<T>;
  expiresAt: number;
}

/**
 * Group membership and user profiles from Slack. Slack user groups are resolved live
 * (usergroups.users.list) and cached briefly, so a person removed from a group loses the
 * right to approve within `ttlMs`, while a burst of clicks costs one API call.
 */
export class SlackDirectory implements Directory {
  private readonly groups = new Map<string, Cached<string[]>>();
  private readonly users = new Map<string, Cached<UserProfile | null>>();

  constructor(
    private readonly client: WebClient,
    private readonly options: { groupTtlMs: number; userTtlMs: number; now?: () => number },
  ) {}

  async membersOf(source: GroupSource): Promise<string[]> {
    if (source.kind === "static") return source.members;
    return this.cached(this.groups, source.usergroupId, this.options.groupTtlMs, async () => {
      const result = await this.client.usergroups.users.list({ usergroup: source.usergroupId });
      return (result.users ?? []) as string[];
    });
  }

  /** Forgets a user group's cached members, e.g. when Slack says they changed. */
  invalidateGroup(usergroupId: string): void {
    this.groups.delete(usergroupId);
  }

  async lookupUser(userId: string): Promise<UserProfile | null> {
    return this.cached(this.users, userId, this.options.userTtlMs, async () => {
      const result = await this.client.users.info({ user: userId });
      const user = result.user;
      if (!user?.id) return null;
      return {
        id: user.id,
        ...(user.team_id ? { teamId: user.team_id } : {}),
        ...(user.name ? { name: user.name } : {}),
        ...(user.real_name ?? user.profile?.real_name ? { realName: (user.real_name ?? user.profile?.real_name)! } : {}),
        ...(user.profile?.display_name ? { displayName: user.profile.display_name } : {}),
        ...(user.profile?.email ? { email: user.profile.email } : {}),
        isBot: Boolean(user.is_bot),
        deleted: Boolean(user.deleted),
      };
    });
  }

  private cached<T>(cache: Map<string, Cached<T>>, key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const now = this.options.now?.() ?? Date.now();
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = load();
    cache.set(key, { value, expiresAt: now + ttlMs });
    // A failed lookup must not be cached: the next click should try Slack again.
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  }
}
