import type { Logger } from "pino";
import type { DigestSignOffDeps } from "../digest/sign-off-digest.js";
import type { AccessDeps } from "../domain/ports.js";
import { SeenBlocksStash } from "./seen-blocks-stash.js";

/** What the listeners need; built once in main.ts. */
export interface SlackServices {
  deps: AccessDeps;
  seenBlocks: SeenBlocksStash;
  log: Logger;
  /** Drops a user group's cached members (Slack said they changed). */
  invalidateGroup(usergroupId: string): void;
  /** The digest's Reviewed button (absent where no digest is posted, e.g. some tests). */
  digest?: DigestSignOffDeps;
}

declare module "@slack/bolt" {
  interface Context {
    /** The per-request child logger set by the logging middleware. */
    log?: Logger;
  }
}
