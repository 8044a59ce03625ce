/**
 * What the alert detector asks of the database (src/db/prisma-alert-store.ts). Every count is
 * bounded by the entry being examined (`uptoSeq`, its time), so examining the same entry
 * again, as the at-least-once relay may, gives the same answer.
 */
export interface AlertFacts {
  /** When the request was made (its `request.created` entry), or null if it has none. */
  requestCreatedAt(requestId: string): Promise<Date | null>;
  /** Approvals by `approverId` of requests by `requesterId` after `since`, up to and including `uptoSeq`. */
  pairApprovals(approverId: string, requesterId: string, since: Date, uptoSeq: bigint): Promise<number>;
  /** Grants of `resource` to `userId` activated before `beforeSeq`, other than the one of `requestId`. */
  earlierGrants(userId: string, resource: string, requestId: string, beforeSeq: bigint): Promise<number>;
  /**
   * The grants to `userId` activated after `since` (up to `uptoSeq`) that were long: at least
   * `nearMaxPercent` of their resource's max (`maxSeconds`, by resource), or `timesUsual` times
   * the average of that person's grants of the resource in the `windowSeconds` before each one;
   * and that average before the grant of `requestId` (null without earlier grants).
   */
  longGrants(query: {
    userId: string;
    requestId: string;
    since: Date;
    uptoSeq: bigint;
    windowSeconds: number;
    nearMaxPercent: number;
    timesUsual: number;
    maxSeconds: Record<string, number>;
  }): Promise<{ long: number; usualSeconds: number | null }>;
  /** Break-glass requests by `userId` after `since`, up to and including `uptoSeq`. */
  breakGlassUses(userId: string, since: Date, uptoSeq: bigint): Promise<number>;
  /** Requests (of any kind) after `since` up to `uptoSeq`: by `userId`, and by everyone. */
  requestCounts(userId: string, since: Date, uptoSeq: bigint): Promise<{ person: number; workspace: number }>;
}

/** How an alert is recognised as already raised, so one incident gives one alert. */
export type AlertDedupe =
  /** Once per request ever (rubber-stamp, off-hours, first-time access). */
  | { key: string; scope: "request" }
  /** Once per key while an earlier alert with it is younger than the rule's window. */
  | { key: string; scope: "window"; since: Date };

export interface AlertToRaise {
  requestId: string;
  subjectId: string | null;
  resource: string | null;
  dedupe: AlertDedupe;
  /** The `data` of the `alert.raised` ledger entry. */
  data: Record<string, unknown>;
}

export interface AlertStore extends AlertFacts {
  /**
   * Appends `alert.raised` unless an alert with the same de-dup key already exists, checked
   * under the ledger's lock in the appending transaction; says whether it appended.
   */
  raiseOnce(alert: AlertToRaise, at: Date): Promise<boolean>;
}
