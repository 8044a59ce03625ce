import type { App } from "@slack/bolt";
import type { SlackServices } from "../slack-services.js";
import { registerVoteActions } from "./actions/vote-actions.js";
import { registerAccessCommand } from "./commands/access-command.js";
import { registerSubmissions } from "./views/submissions.js";

export function registerListeners(app: App, services: SlackServices): void {
  registerAccessCommand(app, services);
  registerVoteActions(app, services);
  registerSubmissions(app, services);
}
