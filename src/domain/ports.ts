import type { LedgerActor, LedgerEventInput } from "../ledger/ledger-hash.js";
import type { GroupSource, LoadedPolicy } from "./policy-model.js";
import type { RequestView } from "./build-request-view.js";
import type { HomeQuery, HomeRecords } from "./home-records.js";
import type { HomeSnapshot } from "./read-home-snapshot.js";
import type { Effect, EnqueueOptions, Notice } from "./effects.js";
import type {
  AccessRequestRecord,
  BreakGlassReviewRecord,
  GrantRecord,
  GrantStatus,
  RequestMessageRef,
  RequestSnapshot,
  RequesterHistory,
  RequestStatus,
  VoteRecord,
} from "./access-records.js";

/**
 * The small interfaces the domain depends on. `main.ts` wires real implementations
 * (Prisma, Slack, a provisioner); the domain never imports those libraries itself.
 */

export interface Clock {
  now(): Date;
}

/**
 * An entry the transaction will append. Its seq and hash are assigned when the transaction
 * commits, so rows that point at it (a vote's ledger_seq) are given the reference instead.
 */
export interface LedgerEntryRef {
  readonly pendingIndex: number;
}

/** Operations that must run inside one database transaction. */
export interface AccessTx {
  /** Loads a request and locks its row until the transaction ends (SELECT … FOR UPDATE). */
  lockRequest(id: string): Promise<AccessRequestRecord | null>;
  findRequestByIdempotencyKey(key: string): Promise<AccessRequestRecord | null>;
  insertRequest(request: AccessRequestRecord, idempotencyKey: string): Promise<void>;
  /** Guarded transition: changes the row only if it is still in `from`; says whether it did. */
  transitionRequest(id: string, from: RequestStatus, patch: Pick<AccessRequestRecord, "status"> & Partial<AccessRequestRecord>): Promise<boolean>;
  patchRequest(id: string, patch: Partial<Pick<AccessRequestRecord, "remindedAt">>): Promise<void>;
  listVotes(requestId: string): Promise<VoteRecord[]>;
  /** The vote row is written with the seq `entry` gets at commit. */
  insertVote(vote: VoteRecord, entry: LedgerEntryRef): Promise<void>;
  insertGrant(grant: GrantRecord): Promise<void>;
  /** Loads a grant and locks its row; accepts a grant id or its request id. */
  lockGrant(idOrRequestId: string): Promise<GrantRecord | null>;
  /** Guarded transition from any of `from`; says whether it happened. */
  transitionGrant(id: string, from: GrantStatus | GrantStatus[], patch: Pick<GrantRecord, "status"> & Partial<GrantRecord>): Promise<boolean>;
  patchGrant(id: string, patch: Partial<Pick<GrantRecord, "expiresAt" | "warnedAt" | "extensions" | "deprovisionedAt" | "activatedAt" | "extensionKeys">>): Promise<void>;
  /** Other grants of the same person and resource that still need the access (ACTIVE or PROVISIONING). */
  coveringGrants(grant: GrantRecord): Promise<GrantRecord[]>;
  /** Due items, locked and skipped by other replicas' sweeps (FOR UPDATE SKIP LOCKED). */
  lockDueGrants(now: Date, limit: number): Promise<GrantRecord[]>;
  lockStalePending(now: Date, limit: number): Promise<AccessRequestRecord[]>;
  lockGrantsToWarn(warnBefore: Date, limit: number): Promise<GrantRecord[]>;
  lockRequestsToRemind(openedBefore: Date, limit: number): Promise<AccessRequestRecord[]>;
  lockReviewsDue(now: Date, limit: number): Promise<BreakGlassReviewRecord[]>;
  lockReview(requestId: string): Promise<BreakGlassReviewRecord | null>;
  insertReview(review: BreakGlassReviewRecord): Promise<void>;
  patchReview(requestId: string, patch: Partial<Omit<BreakGlassReviewRecord, "requestId">>): Promise<void>;
  setProvisionerState(resource: string, userId: string, state: unknown): Promise<void>;
  /** Remembers that this person opened the Home tab, so later changes re-publish it. */
  recordHomeOpened(userId: string, at: Date): Promise<void>;
  /** Queues durable after-commit work; it exists exactly when this transaction commits. */
  enqueue(effect: Effect, options?: EnqueueOptions): Promise<void>;
  /**
   * Appends to the hash-chained ledger, in call order, when the transaction commits: the
   * ledger's lock (which serialises every append) is then held only for the append itself.
   */
  appendLedger(event: LedgerEventInput, at: Date): Promise<LedgerEntryRef>;
}

export interface AccessStore {
  transaction<T>(work: (tx: AccessTx) => Promise<T>): Promise<T>;
  getSnapshot(requestId: string): Promise<RequestSnapshot | null>;
  /** A grant by its id or its request's id. */
  findGrant(idOrRequestId: string): Promise<GrantRecord | null>;
  findRequestByIdempotencyKey(key: string): Promise<AccessRequestRecord | null>;
  addRequestMessage(requestId: string, message: RequestMessageRef): Promise<void>;
  /** Grants of `resource` to `userId` before `before`, leaving out the request being shown. */
  requesterHistory(userId: string, resource: string, before: Date, excludeRequestId: string): Promise<RequesterHistory>;
  listOpenForUser(userId: string): Promise<{ pending: AccessRequestRecord[]; active: GrantRecord[] }>;
  /** What one person's Home tab shows: a few bounded queries (see HomeRecords). */
  listHomeRecords(userId: string, query: HomeQuery): Promise<HomeRecords>;
  /** Those of `userIds` who have opened the Home tab. */
  homeTabUsers(userIds: string[]): Promise<string[]>;
  getProvisionerState(resource: string, userId: string): Promise<unknown>;
  /** The earliest time at which some lifecycle step falls due (for the timer), or null. */
  nextDueAt(settings: { expiryWarningSeconds: number | null; approvalReminderSeconds: number | null }): Promise<Date | null>;
  /** Keeps the text of every policy a decision was made under, keyed by its sha256. */
  rememberPolicy(sha256: string, text: string): Promise<void>;
}

export interface UserProfile {
  id: string;
  teamId?: string;
  name?: string;
  realName?: string;
  displayName?: string;
  email?: string;
  isBot?: boolean;
  deleted?: boolean;
}

/** Resolves who is in a policy group (live for Slack user groups) and who a user is. */
export interface Directory {
  membersOf(source: GroupSource): Promise<string[]>;
  lookupUser(userId: string): Promise<UserProfile | null>;
}

/** Who a grant is for, as the target system needs to know them. */
export interface GranteeProfile {
  id: string;
  email: string | null;
  name: string | null;
}

/** Everything a provisioner is told about one grant or revoke. */
export interface ProvisionContext {
  grant: GrantRecord;
  request: AccessRequestRecord;
  user: GranteeProfile;
  /** 1 for the first try of this grant's grant (or revoke), 2 for the first retry, … */
  attempt: number;
  /**
   * What this provisioner returned as `state` the last time it provisioned this person on this
   * resource (null if never, or after the last revoke). Lets a provisioner remember, for
   * example, that the person was already in a user group before the bot added them.
   */
  state: unknown;
  /** Aborted when the call has run past the provisioner's timeout. */
  signal: AbortSignal;
}

export interface ProvisionResult {
  /** Stored for the next call for this person and resource; undefined keeps the old state, null clears it. */
  state?: unknown;
  /** Recorded in the ledger entry of the attempt (no secrets). */
  detail?: Record<string, unknown>;
}

/**
 * Grants and removes access on one kind of target system. Both calls must be idempotent:
 * calling either twice is safe, and revoking access that is already gone succeeds. The
 * caller serialises calls per (person, resource) and decides whether another active grant
 * still covers the access, so a provisioner never has to.
 */
export interface Provisioner {
  grant(context: ProvisionContext): Promise<ProvisionResult>;
  revoke(context: ProvisionContext): Promise<ProvisionResult>;
  /** The grant's `expiresAt` moved later; for targets that enforce the window themselves. */
  extend?(context: ProvisionContext & { previousExpiresAt: Date }): Promise<ProvisionResult>;
  /** A sentence saying why this person can never be provisioned here (so the request is refused), or null. */
  refusal?(userId: string): string | null;
}

/** Finds the provisioner of a resource; null when the resource is approval-only. */
export interface ProvisionerLookup {
  forResource(resourceId: string): Provisioner | null;
}

/** Where a copy of a request message goes; resolved from the policy by the domain. */
export type MessageDestination =
  | { kind: "channel"; channelId: string }
  | { kind: "dm"; userId: string; reminder: boolean }
  | { kind: "review"; channelId: string }
  | { kind: "review-dm"; userId: string };

/**
 * Names one post for Slack, which has no idempotency key of its own: a post whose answer was
 * lost (a timeout, a dropped connection, a crash before it was recorded) may have gone
 * through. The post carries `key` in its message metadata, and a repeat first looks for that
 * key among the conversation's messages since `since`, so one job never posts twice.
 */
export interface DeliveryKey {
  key: string;
  since: Date;
  /** An earlier run of the same job may already have posted. */
  repeated: boolean;
}

/** A notice with the state it is about, as it is when the notice is sent. */
export interface NoticeView {
  notice: Notice;
  snapshot: RequestSnapshot;
  resourceTitle: string;
}

/**
 * Renders and sends what the domain decided to tell people. It is handed everything it
 * renders and never reads the store itself. A call that throws is retried by the job that
 * made it, so each call does one thing and is safe to repeat.
 */
export interface AccessNotifier {
  postRequestCopy(view: RequestView, destination: MessageDestination, delivery: DeliveryKey): Promise<RequestMessageRef>;
  /** Replaces one person's Home tab; throws when it may work later (rate limit, timeout). */
  publishHome(home: HomeSnapshot): Promise<void>;
  /** Updates each copy in place; throws when a copy could not be updated but may be later (rate limit, timeout). */
  updateRequestCopies(view: RequestView, copies: RequestMessageRef[]): Promise<void>;
  sendNotice(to: { userId: string } | { channelId: string }, view: NoticeView, delivery: DeliveryKey): Promise<void>;
}

export type RequestChange =
  | { kind: "vote"; voterId: string }
  | { kind: "approved"; voterId: string }
  | { kind: "activated" }
  | { kind: "denied"; voterId: string; reason: string | null }
  | { kind: "cancelled" }
  | { kind: "expired" }
  | { kind: "grant-expired" }
  | { kind: "grant-revoked"; byUserId: string; reason: string | null };

export interface PolicySource {
  current(): LoadedPolicy;
}

export type { LedgerActor };

export interface AccessDeps {
  store: AccessStore;
  directory: Directory;
  policy: PolicySource;
  clock: Clock;
  notifier: AccessNotifier;
  provisioners: ProvisionerLookup;
}
