import type { App } from "@slack/bolt";
import { openHomeTab } from "../../../domain/open-home-tab.js";
import { appHomeOpenedSchema } from "../../payload-schemas.js";
import type { SlackServices } from "../../slack-services.js";

/**
 * Opening the Home tab publishes it (by the durable `publish-home` job) and from then on keeps
 * it up to date. The Messages tab fires the same event; it needs nothing.
 */
export function registerAppHomeEvents(app: App, services: SlackServices): void {
  app.event("app_home_opened", async ({ event, context }) => {
    const log = context.log ?? services.log;
    const parsed = appHomeOpenedSchema.safeParse(event);
    if (!parsed.success) {
      log.warn({ problem: parsed.error.message }, "ignored a malformed app_home_opened event");
      return;
    }
    if (parsed.data.tab !== "home") return;
    await openHomeTab(services.deps, parsed.data.user);
  });
}
