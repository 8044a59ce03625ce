/** What a digest says of one period, as computed by the database (src/db/compute-digest-figures.ts). */
export interface DigestFigures {
  requests: number;
  approved: number;
  denied: number;
  /** Pending requests nobody answered before their TTL. */
  expired: number;
  cancelled: number;
  unsatisfiable: number;
  breakGlass: number;
  /** Seconds from request to decision (approved or denied, break-glass excluded); null without decisions. */
  timeToDecisionP50Seconds: number | null;
  timeToDecisionP95Seconds: number | null;
  grantedHours: number;
  longestGrants: Array<{ grantId: string; userId: string; resource: string; hours: number }>;
  topResources: Array<{ resource: string; requests: number }>;
  topRequesters: Array<{ userId: string; name: string; requests: number }>;
  /** Approvals per approver, with how fast they approve (median seconds from request to their vote). */
  topApprovers: Array<{ userId: string; name: string; approvals: number; medianSecondsToApprove: number }>;
  breakGlassUses: Array<{ requestId: string; userId: string; resource: string; review: "OPEN" | "OK" | "ESCALATED" | "NONE"; overdue: boolean }>;
  /** Failed revoke attempts (each retried until it succeeded) and the grants they were for. */
  revokeFailures: { attempts: number; grants: number };
  failedGrants: number;
  /** The period's first 50 alerts; `alertsTotal` counts them all. */
  alerts: Array<{ seq: number; type: string; rule: string | null; title: string | null; subjectId: string | null; requestId: string | null }>;
  alertsTotal: number;
  /** Requests per local day by outcome, for the chart. */
  perDay: Array<{ day: string; approved: number; denied: number; expired: number; other: number; medianDecisionSeconds: number | null }>;
}

/** How many entries of each top list a digest shows: it must stay readable at any volume. */
export const DIGEST_TOP = 5;
