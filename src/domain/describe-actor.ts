import type { LedgerActor } from "../ledger/ledger-hash.js";
import type { Directory, UserProfile } from "./ports.js";

/** A Slack user as the signed request identified them. */
export interface SlackIdentity {
  id: string;
  teamId: string;
  enterpriseId?: string | null;
  /** The name Slack sent in the payload (user_name / user.name). */
  name: string;
}

export const SYSTEM_ACTOR: LedgerActor = { kind: "system", name: "accessbot" };

/**
 * Builds the ledger actor: the identity from the signed payload, plus the profile Slack
 * reported at this moment. A failed profile lookup must not block a decision, so it only
 * leaves the profile out.
 */
export async function describeActor(identity: SlackIdentity, directory: Directory): Promise<LedgerActor> {
  let profile: UserProfile | null = null;
  try {
    profile = await directory.lookupUser(identity.id);
  } catch {
    profile = null;
  }
  return {
    kind: "user",
    user_id: identity.id,
    team_id: identity.teamId,
    ...(identity.enterpriseId ? { enterprise_id: identity.enterpriseId } : {}),
    name: identity.name,
    ...(profile
      ? {
          profile: {
            ...(profile.realName ? { real_name: profile.realName } : {}),
            ...(profile.displayName ? { display_name: profile.displayName } : {}),
            ...(profile.email ? { email: profile.email } : {}),
          },
        }
      : {}),
  };
}
