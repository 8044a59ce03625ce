import type { App } from "@slack/bolt";
import { z } from "zod";
import type { SlackServices } from "../../slack-services.js";

const subteamMembersChanged = z.object({ subteam_id: z.string().regex(/^S[A-Z0-9]{2,20}$/) });
const subteamUpdated = z.object({ subteam: z.object({ id: z.string().regex(/^S[A-Z0-9]{2,20}$/) }) });

/**
 * Someone removed from a user group must stop approving at once, not when the membership
 * cache expires: Slack's change events drop the cached members (the TTL stays as the
 * fallback for a missed event, and for the replicas that did not receive it).
 */
export function registerSubteamEvents(app: App, services: SlackServices): void {
  app.event("subteam_members_changed", async ({ event, context }) => {
    const parsed = subteamMembersChanged.safeParse(event);
    if (!parsed.success) return;
    services.invalidateGroup(parsed.data.subteam_id);
    (context.log ?? services.log).info({ usergroup: parsed.data.subteam_id }, "user group members changed; cached membership dropped");
  });
  app.event("subteam_updated", async ({ event, context }) => {
    const parsed = subteamUpdated.safeParse(event);
    if (!parsed.success) return;
    services.invalidateGroup(parsed.data.subteam.id);
    (context.log ?? services.log).info({ usergroup: parsed.data.subteam.id }, "user group updated; cached membership dropped");
  });
}
