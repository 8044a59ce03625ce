import type { AccessDeps } from "./ports.js";
import { enqueueHomePublish } from "./refresh-homes.js";

/**
 * Someone opened the bot's Home tab: remember them (later changes re-publish their tab) and
 * publish it now, through the same durable job as every refresh.
 */
export async function openHomeTab(deps: AccessDeps, userId: string): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.recordHomeOpened(userId, deps.clock.now());
    await enqueueHomePublish(tx, userId);
  });
}
