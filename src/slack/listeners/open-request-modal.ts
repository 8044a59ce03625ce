import type { WebClient } from "@slack/web-api";
import { listRequestableResources } from "../../domain/create-access-request.js";
import type { AccessDeps } from "../../domain/ports.js";
import { buildNoResourcesModal, buildRequestModal } from "../blocks/build-request-modal.js";

/** The request modal, offering only what this person may request: `/access` alone and the Home tab's button. */
export async function openRequestModal(client: WebClient, deps: AccessDeps, userId: string, triggerId: string): Promise<void> {
  const resources = await listRequestableResources(deps.policy.current().policy, userId, deps.directory);
  const view = resources.length > 0 ? buildRequestModal(resources) : buildNoResourcesModal();
  await client.views.open({ trigger_id: triggerId, view });
}
