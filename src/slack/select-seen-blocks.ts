import { AppError } from "../domain/app-error.js";
import type { BlockActionPayload } from "./payload-schemas.js";
import { HOME_WAITING_BLOCK_PREFIX, homeWaitingBlockId } from "./slack-ids.js";

/**
 * What the voter had in front of them when they clicked, from the signed payload: the whole
 * message on a request message, and on the Home tab only the blocks of the request they voted
 * on (the rest of the tab is other requests). Null only where Slack sent no blocks at all.
 */
export function selectSeenBlocks(payload: BlockActionPayload, requestId: string): unknown[] | null {
  if (payload.container?.type !== "view" && !payload.view) return payload.message?.blocks ?? null;
  const prefix = `${HOME_WAITING_BLOCK_PREFIX}${requestId}:`;
  const clicked = payload.actions[0]?.block_id ?? "";
  const blocks = (payload.view?.blocks ?? []).filter(hasBlockId).filter((block) => block.block_id.startsWith(prefix));
  // Why: the ledger must never record a vote from the tab without what it showed; a button
  // outside that request's blocks, or a view without the request's summary (forged or
  // mangled), is refused rather than recorded with less than the tab showed.
  const summary = homeWaitingBlockId(requestId, "summary");
  if (payload.view?.type !== "home" || !clicked.startsWith(prefix) || !blocks.some((block) => block.block_id === summary)) {
    throw new AppError(
      "MALFORMED_PAYLOAD",
      "That button didn't match what your Home tab shows, so nothing was changed. Open the Home tab again and use the latest buttons.",
      `vote from a view without the request's blocks (request ${requestId}, block ${clicked}, view type ${payload.view?.type ?? "none"})`,
    );
  }
  return blocks;
}

function hasBlockId(block: unknown): block is { block_id: string } {
  return typeof block === "object" && block !== null && typeof (block as { block_id?: unknown }).block_id === "string";
}
