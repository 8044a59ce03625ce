import type { AccessRequestRecord, GrantRecord, VoteRecord } from "./access-records.js";

/** How many of each list one Home tab holds; a view has at most 100 blocks. */
export const HOME_LIMITS = { grants: 10, pending: 10, waiting: 15, recent: 10 } as const;

export interface HomeQuery {
  /** Resources whose rules name a group the person is in right now (resolved by the caller). */
  approvableResources: string[];
  now: Date;
}

/**
 * The rows one person's Home tab is built from. Each list holds at most its limit plus one,
 * so the caller can say "and more" without counting.
 */
export interface HomeRecords {
  /** Grants of this person that are ACTIVE or PROVISIONING, soonest end first. */
  grants: Array<{ grant: GrantRecord; request: AccessRequestRecord }>;
  /** This person's pending requests, oldest first, with their votes. */
  pending: Array<{ request: AccessRequestRecord; votes: VoteRecord[] }>;
  /** Pending, unexpired requests on `approvableResources` by others, that this person has not voted on; oldest first. */
  approvable: Array<{ request: AccessRequestRecord; votes: VoteRecord[] }>;
  /** This person's last requests, newest first (exactly HOME_LIMITS.recent at most). */
  recent: Array<{ request: AccessRequestRecord; grant: GrantRecord | null }>;
}
