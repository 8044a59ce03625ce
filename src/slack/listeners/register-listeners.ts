import type { App } from "@slack/bolt";
import type { SlackServices } from "../slack-services.js";
import { registerDigestActions } from "./actions/digest-actions.js";
import { registerCancelRequestAction } from "./actions/cancel-request-action.js";
import { registerGrantActions } from "./actions/grant-actions.js";
import { registerOpenRequestModalAction } from "./actions/open-request-modal-action.js";
import { registerRequestAgainAction } from "./actions/request-again-action.js";
import { registerReviewActions } from "./actions/review-actions.js";
import { registerVoteActions } from "./actions/vote-actions.js";
import { registerAccessCommand } from "./commands/access-command.js";
import { registerExtendSubmission } from "./views/extend-submission.js";
import { registerSubteamEvents } from "./events/subteam-events.js";
import { registerAppHomeEvents } from "./events/app-home-events.js";
import { registerSubmissions } from "./views/submissions.js";

export function registerListeners(app: App, services: SlackServices): void {
  registerAccessCommand(app, services);
  registerVoteActions(app, services);
  registerGrantActions(app, services);
  registerRequestAgainAction(app, services);
  registerReviewActions(app, services);
  registerDigestActions(app, services);
  registerSubmissions(app, services);
  registerExtendSubmission(app, services);
  registerSubteamEvents(app, services);
  registerCancelRequestAction(app, services);
  registerOpenRequestModalAction(app, services);
  registerAppHomeEvents(app, services);
}
