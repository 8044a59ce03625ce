import type { PrismaClient } from "../generated/prisma/client.js";
import type {
  AccessRequestRecord,
  BreakGlassReviewRecord,
  GrantRecord,
  GrantStatus,
  MessageKind,
  RequestMessageRef,
  RequestSnapshot,
  RequesterHistory,
  VoteRecord,
} from "../domain/access-records.js";
import type { Effect, EnqueueOptions } from "../domain/effects.js";
import { HOME_LIMITS, type HomeQuery, type HomeRecords } from "../domain/home-records.js";
import type { AccessStore, AccessTx, Clock, LedgerEntryRef } from "../domain/ports.js";
import { appendLedgerEntries } from "../ledger/append-ledger-entry.js";
import type { LedgerEventInput } from "../ledger/ledger-hash.js";

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

type RequestRow = Awaited<ReturnType<PrismaClient["accessRequest"]["findUniqueOrThrow"]>>;
type GrantRow = Awaited<ReturnType<PrismaClient["grant"]["findUniqueOrThrow"]>>;
type VoteRow = Awaited<ReturnType<PrismaClient["vote"]["findUniqueOrThrow"]>>;
type ReviewRow = Awaited<ReturnType<PrismaClient["breakGlassReview"]["findUniqueOrThrow"]>>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The domain's AccessStore on Prisma; every AccessTx call runs inside one interactive transaction. */
export class PrismaAccessStore implements AccessStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { clock: Clock; transactionTimeoutMs?: number; onCommit?: (wrote: CommitWrites) => void },
  ) {}

  private readonly rememberedPolicies = new Set<string>();

  async transaction<T>(work: (tx: AccessTx) => Promise<T>): Promise<T> {
    let accessTx: PrismaAccessTx | null = null;
    const result = await this.prisma.$transaction(async (tx) => {
      const opened = (accessTx = new PrismaAccessTx(tx, this.options.clock));
      const value = await work(opened);
      await opened.flushLedger();
      return value;
    }, {
      // Waiting for a busy request row or the ledger lock under a burst of clicks is normal.
      maxWait: 20_000,
      timeout: this.options.transactionTimeoutMs ?? 30_000,
    });
    const wrote = (accessTx as PrismaAccessTx | null)?.wrote;
    if (wrote && (wrote.ledger || wrote.jobs)) this.options.onCommit?.(wrote);
    return result;
  }

  async getSnapshot(requestId: string): Promise<RequestSnapshot | null> {
    const row = await this.prisma.accessRequest.findUnique({
      where: { id: requestId },
      include: { votes: { orderBy: { id: "asc" } }, grant: true, messages: { orderBy: { id: "asc" } } },
    });
    if (!row) return null;
    const review = row.breakGlass ? await this.prisma.breakGlassReview.findUnique({ where: { requestId } }) : null;
    return {
      request: toRequest(row),
      votes: row.votes.map(toVote),
      grant: row.grant ? toGrant(row.grant) : null,
      messages: row.messages.map(
        (message): RequestMessageRef => ({ channelId: message.channelId, ts: message.ts, kind: message.kind as MessageKind, recipientId: message.recipientId }),
      ),
      review: review ? toReview(review) : null,
    };
  }

  async findGrant(idOrRequestId: string): Promise<GrantRecord | null> {
    const row = await this.prisma.grant.findFirst({ where: { OR: [{ id: idOrRequestId }, { requestId: idOrRequestId }] } });
    return row ? toGrant(row) : null;
  }

  async findRequestByIdempotencyKey(key: string): Promise<AccessRequestRecord | null> {
    const row = await this.prisma.accessRequest.findUnique({ where: { idempotencyKey: key } });
    return row ? toRequest(row) : null;
  }

  async getProvisionerState(resource: string, userId: string): Promise<unknown> {
    const row = await this.prisma.provisionerState.findUnique({ where: { resource_userId: { resource, userId } } });
    return row ? row.state : null;
  }

  async nextDueAt(settings: { expiryWarningSeconds: number | null; approvalReminderSeconds: number | null }): Promise<Date | null> {
    const warn = settings.expiryWarningSeconds ?? -1;
    const remind = settings.approvalReminderSeconds ?? -1;
    // One round trip for every kind of due item; each branch uses an index on (status, time).
    const rows = await this.prisma.$queryRaw<Array<{ due: Date | null }>>`
      SELECT min(due) AS due FROM (
        SELECT min(expires_at) AS due FROM "grant" WHERE status = 'ACTIVE'
        UNION ALL SELECT min(expires_at) - make_interval(secs => ${warn}) FROM "grant" WHERE status = 'ACTIVE' AND warned_at IS NULL AND ${warn} > 0
        UNION ALL SELECT min(pending_until) FROM access_request WHERE status = 'PENDING'
        UNION ALL SELECT min(created_at) + make_interval(secs => ${remind}) FROM access_request WHERE status = 'PENDING' AND reminded_at IS NULL AND ${remind} > 0
        UNION ALL SELECT min(next_reminder_at) FROM break_glass_review WHERE status = 'OPEN'
      ) due_items`;
    return rows[0]?.due ?? null;
  }

  async addRequestMessage(requestId: string, message: RequestMessageRef): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO request_message (request_id, channel_id, ts, kind, recipient_id) VALUES (${requestId}, ${message.channelId}, ${message.ts}, ${message.kind}, ${message.recipientId})
      ON CONFLICT (channel_id, ts) DO NOTHING`;
  }

  async requesterHistory(userId: string, resource: string, before: Date, excludeRequestId: string): Promise<RequesterHistory> {
    const since = new Date(before.getTime() - 30 * DAY_MS);
    // One round trip: every request message renders this, several times per request.
    const [row] = await this.prisma.$queryRaw<Array<{ grants: number; denied: number; recent: Array<{ request_id: string; activated_at: string; duration_seconds: number; reason: string; status: GrantStatus }> }>>`
      SELECT
        (SELECT count(*)::int FROM "grant" g WHERE g.user_id = ${userId} AND g.resource = ${resource}
           AND g.activated_at >= ${since} AND g.activated_at < ${before} AND g.request_id <> ${excludeRequestId}) AS grants,
        (SELECT count(*)::int FROM access_request r WHERE r.requester_id = ${userId} AND r.resource = ${resource} AND r.status = 'DENIED'
           AND r.created_at >= ${since} AND r.created_at < ${before} AND r.id <> ${excludeRequestId}) AS denied,
        (SELECT coalesce(json_agg(recent ORDER BY recent.activated_at DESC), '[]'::json) FROM (
           SELECT g.request_id, g.activated_at, r.duration_seconds, r.reason, g.status::text AS status
           FROM "grant" g JOIN access_request r ON r.id = g.request_id
           WHERE g.user_id = ${userId} AND g.resource = ${resource} AND g.activated_at < ${before} AND g.request_id <> ${excludeRequestId}
           ORDER BY g.activated_at DESC LIMIT 3) recent) AS recent`;
    return {
      grantsLast30Days: row!.grants,
      deniedLast30Days: row!.denied,
      recentGrants: row!.recent.map((grant) => ({
        requestId: grant.request_id,
        activatedAt: new Date(grant.activated_at),
        durationSeconds: grant.duration_seconds,
        reason: grant.reason,
        status: grant.status,
      })),
    };
  }

  async listOpenForUser(userId: string): Promise<{ pending: AccessRequestRecord[]; active: GrantRecord[] }> {
    const [pending, active] = await Promise.all([
      this.prisma.accessRequest.findMany({ where: { requesterId: userId, status: "PENDING" }, orderBy: { createdAt: "asc" } }),
      this.prisma.grant.findMany({ where: { userId, status: { in: ["ACTIVE", "PROVISIONING"] } }, orderBy: { expiresAt: "asc" } }),
    ]);
    return { pending: pending.map(toRequest), active: active.map(toGrant) };
  }

  async listHomeRecords(userId: string, query: HomeQuery): Promise<HomeRecords> {
    const [grants, pending, approvable, recent] = await Promise.all([
      this.prisma.grant.findMany({ where: { userId, status: { in: ["ACTIVE", "PROVISIONING"] } }, orderBy: [{ expiresAt: "asc" }, { id: "asc" }], take: HOME_LIMITS.grants + 1, include: { request: true } }),
      this.prisma.accessRequest.findMany({
        where: { requesterId: userId, status: "PENDING" },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: HOME_LIMITS.pending + 1,
        include: { votes: { orderBy: { id: "asc" } } },
      }),
      query.approvableResources.length === 0
        ? Promise.resolve([])
        : this.prisma.accessRequest.findMany({
            // Self-approval is decided by the caller from the policy; the rest of "could I vote" is here.
            where: { status: "PENDING", resource: { in: query.approvableResources }, pendingUntil: { gt: query.now }, votes: { none: { voterId: userId } } },
            orderBy: [{ createdAt: "asc" }, { id: "asc" }],
            // Room for the requester's own requests, which the caller may drop.
            take: HOME_LIMITS.waiting + HOME_LIMITS.pending + 1,
            include: { votes: { orderBy: { id: "asc" } } },
          }),
      this.prisma.accessRequest.findMany({ where: { requesterId: userId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: HOME_LIMITS.recent, include: { grant: true } }),
    ]);
    return {
      grants: grants.map((row) => ({ grant: toGrant(row), request: toRequest(row.request) })),
      pending: pending.map((row) => ({ request: toRequest(row), votes: row.votes.map(toVote) })),
      approvable: approvable.map((row) => ({ request: toRequest(row), votes: row.votes.map(toVote) })),
      recent: recent.map((row) => ({ request: toRequest(row), grant: row.grant ? toGrant(row.grant) : null })),
    };
  }

  async homeTabUsers(userIds: string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await this.prisma.$queryRaw<Array<{ user_id: string }>>`SELECT user_id FROM home_tab_user WHERE user_id = ANY(${userIds}::text[])`;
    return rows.map((row) => row.user_id);
  }

  async rememberPolicy(sha256: string, text: string): Promise<void> {
    // Rows of policy_version are never deleted (the ledger cites them), so once stored by this
    // process a version needs no further round trip.
    if (this.rememberedPolicies.has(sha256)) return;
    // One statement, not read-then-insert: the first burst after a start or a reload calls this
    // concurrently, and a losing insert must not turn a request into "Something went wrong".
    await this.prisma.$executeRaw`INSERT INTO policy_version (sha256, text) VALUES (${sha256}, ${text}) ON CONFLICT (sha256) DO NOTHING`;
    this.rememberedPolicies.add(sha256);
  }
}

/** What a committed transaction added: only the parts with new work are woken, and the log and metrics are told. */
export interface CommitWrites {
  ledger: boolean;
  jobs: boolean;
  /** The ledger entries it appended, in order. */
  entries: CommittedEntry[];
  /** The requests it moved out of PENDING (or created already decided, as break-glass does). */
  decisions: CommittedDecision[];
}

export interface CommittedEntry {
  seq: bigint;
  type: string;
  requestId: string | null;
  subjectId: string | null;
  resource: string | null;
  actorId: string | null;
  grantId: string | null;
  at: Date;
}

export interface CommittedDecision {
  requestId: string;
  resource: string;
  status: AccessRequestRecord["status"];
  breakGlass: boolean;
  /** When the request was made, so the time to decision can be measured. */
  createdAt: Date;
  decidedAt: Date;
}

class PrismaAccessTx implements AccessTx {
  readonly wrote: CommitWrites = { ledger: false, jobs: false, entries: [], decisions: [] };
  /** Requests read in this transaction, for the decisions it records. */
  private readonly seenRequests = new Map<string, AccessRequestRecord>();
  private readonly pendingLedger: Array<{ event: LedgerEventInput; at: Date }> = [];
  private readonly pendingVotes: Array<{ vote: VoteRecord; entry: LedgerEntryRef }> = [];

  constructor(
    private readonly tx: Tx,
    private readonly clock: Clock,
  ) {}

  async lockRequest(id: string): Promise<AccessRequestRecord | null> {
    // Row lock: concurrent votes on one request are evaluated strictly one after another.
    // One statement for the lock and the row (every vote takes it), with Prisma's field names.
    const [row] = await this.tx.$queryRaw<RequestRow[]>`
      SELECT id, team_id AS "teamId", requester_id AS "requesterId", requester_name AS "requesterName", resource,
        duration_seconds AS "durationSeconds", reason, status::text AS status, policy_sha256 AS "policySha256",
        idempotency_key AS "idempotencyKey", created_at AS "createdAt", pending_until AS "pendingUntil",
        decided_at AS "decidedAt", decided_by AS "decidedBy", deny_reason AS "denyReason", break_glass AS "breakGlass",
        extends_grant_id AS "extendsGrantId", reminded_at AS "remindedAt"
      FROM access_request WHERE id = ${id} FOR UPDATE`;
    return row ? this.seen(toRequest(row)) : null;
  }

  private seen(request: AccessRequestRecord): AccessRequestRecord {
    this.seenRequests.set(request.id, request);
    return request;
  }

  async findRequestByIdempotencyKey(key: string): Promise<AccessRequestRecord | null> {
    const row = await this.tx.accessRequest.findUnique({ where: { idempotencyKey: key } });
    return row ? toRequest(row) : null;
  }

  async patchRequest(id: string, patch: Partial<Pick<AccessRequestRecord, "remindedAt">>): Promise<void> {
    await this.tx.accessRequest.update({ where: { id }, data: patch });
  }

  async insertRequest(request: AccessRequestRecord, idempotencyKey: string): Promise<void> {
    await this.tx.accessRequest.create({ data: { ...request, idempotencyKey } });
    if (request.status !== "PENDING") this.decided(request, request.status, request.decidedAt ?? request.createdAt);
  }

  private decided(request: AccessRequestRecord, status: AccessRequestRecord["status"], decidedAt: Date): void {
    this.wrote.decisions.push({ requestId: request.id, resource: request.resource, status, breakGlass: request.breakGlass, createdAt: request.createdAt, decidedAt });
  }

  async transitionRequest(id: string, from: AccessRequestRecord["status"], patch: Partial<AccessRequestRecord> & Pick<AccessRequestRecord, "status">): Promise<boolean> {
    const { count } = await this.tx.accessRequest.updateMany({ where: { id, status: from }, data: patch });
    const request = this.seenRequests.get(id);
    if (count === 1 && request) this.decided(request, patch.status, patch.decidedAt ?? this.clock.now());
    return count === 1;
  }

  async listVotes(requestId: string): Promise<VoteRecord[]> {
    const rows = await this.tx.vote.findMany({ where: { requestId }, orderBy: { id: "asc" } });
    return rows.map(toVote);
  }

  async insertVote(vote: VoteRecord, entry: LedgerEntryRef): Promise<void> {
    this.pendingVotes.push({ vote, entry });
  }

  async insertGrant(grant: GrantRecord): Promise<void> {
    await this.tx.grant.create({ data: grant });
  }

  async lockGrant(idOrRequestId: string): Promise<GrantRecord | null> {
    const locked = await this.tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "grant" WHERE id = ${idOrRequestId} OR request_id = ${idOrRequestId} FOR UPDATE`;
    const id = locked[0]?.id;
    if (!id) return null;
    const row = await this.tx.grant.findUnique({ where: { id } });
    return row ? toGrant(row) : null;
  }

  async transitionGrant(id: string, from: GrantRecord["status"] | GrantRecord["status"][], patch: Partial<GrantRecord> & Pick<GrantRecord, "status">): Promise<boolean> {
    const { count } = await this.tx.grant.updateMany({ where: { id, status: { in: Array.isArray(from) ? from : [from] } }, data: patch });
    return count === 1;
  }

  async patchGrant(id: string, patch: Partial<Pick<GrantRecord, "expiresAt" | "warnedAt" | "extensions" | "deprovisionedAt" | "activatedAt" | "extensionKeys">>): Promise<void> {
    await this.tx.grant.update({ where: { id }, data: patch });
  }

  async coveringGrants(grant: GrantRecord): Promise<GrantRecord[]> {
    const rows = await this.tx.grant.findMany({ where: { userId: grant.userId, resource: grant.resource, status: { in: ["ACTIVE", "PROVISIONING"] }, id: { not: grant.id } } });
    return rows.map(toGrant);
  }

  // The sweeps below lock what they take and skip what another replica's sweep holds, so
  // each due item is processed by exactly one process.
  async lockDueGrants(now: Date, limit: number): Promise<GrantRecord[]> {
    const ids = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "grant" WHERE status = 'ACTIVE' AND expires_at <= ${now} ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    return this.grantsById(ids.map((row) => row.id));
  }

  async lockGrantsToWarn(warnBefore: Date, limit: number): Promise<GrantRecord[]> {
    const ids = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "grant" WHERE status = 'ACTIVE' AND warned_at IS NULL AND expires_at <= ${warnBefore} ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    return this.grantsById(ids.map((row) => row.id));
  }

  async lockStalePending(now: Date, limit: number): Promise<AccessRequestRecord[]> {
    const ids = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM access_request WHERE status = 'PENDING' AND pending_until <= ${now} ORDER BY pending_until LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    return this.requestsById(ids.map((row) => row.id));
  }

  async lockRequestsToRemind(openedBefore: Date, limit: number): Promise<AccessRequestRecord[]> {
    const ids = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM access_request WHERE status = 'PENDING' AND reminded_at IS NULL AND created_at <= ${openedBefore} ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    return this.requestsById(ids.map((row) => row.id));
  }

  async lockReviewsDue(now: Date, limit: number): Promise<BreakGlassReviewRecord[]> {
    const ids = await this.tx.$queryRaw<Array<{ request_id: string }>>`
      SELECT request_id FROM break_glass_review WHERE status = 'OPEN' AND next_reminder_at <= ${now} ORDER BY next_reminder_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    const rows = await this.tx.breakGlassReview.findMany({ where: { requestId: { in: ids.map((row) => row.request_id) } }, orderBy: { nextReminderAt: "asc" } });
    return rows.map(toReview);
  }

  async lockReview(requestId: string): Promise<BreakGlassReviewRecord | null> {
    const locked = await this.tx.$queryRaw<Array<{ request_id: string }>>`SELECT request_id FROM break_glass_review WHERE request_id = ${requestId} FOR UPDATE`;
    if (locked.length === 0) return null;
    const row = await this.tx.breakGlassReview.findUnique({ where: { requestId } });
    return row ? toReview(row) : null;
  }

  async insertReview(review: BreakGlassReviewRecord): Promise<void> {
    await this.tx.breakGlassReview.create({ data: review });
  }

  async patchReview(requestId: string, patch: Partial<Omit<BreakGlassReviewRecord, "requestId">>): Promise<void> {
    await this.tx.breakGlassReview.update({ where: { requestId }, data: patch });
  }

  async setProvisionerState(resource: string, userId: string, state: unknown): Promise<void> {
    if (state === null || state === undefined) {
      await this.tx.provisionerState.deleteMany({ where: { resource, userId } });
      return;
    }
    const json = state as object;
    await this.tx.provisionerState.upsert({ where: { resource_userId: { resource, userId } }, create: { resource, userId, state: json }, update: { state: json } });
  }

  async recordHomeOpened(userId: string, at: Date): Promise<void> {
    await this.tx.$executeRaw`INSERT INTO home_tab_user (user_id, opened_at) VALUES (${userId}, ${at}) ON CONFLICT (user_id) DO UPDATE SET opened_at = EXCLUDED.opened_at`;
  }

  async enqueue(effect: Effect, options: EnqueueOptions = {}): Promise<void> {
    this.wrote.jobs = true;
    const runAt = options.runAt ?? this.clock.now();
    const payload = JSON.stringify(effect);
    const lane = options.lane ?? null;
    if (effect.kind === "refresh-request" || effect.kind === "publish-home") {
      // A refresh that nobody has started yet will render the latest state anyway, so a burst
      // of changes costs one or two rounds of chat.update (Slack rate-limits it), not one each;
      // likewise one person's Home tab (views.publish), coalesced in its lane.
      // It is locked until this transaction commits: a worker claiming it in between would
      // render the state before this change and nothing would render it after (the claim
      // waits for the lock; one that already claimed it makes the lookup come back empty).
      const waiting = await this.tx.$queryRaw<Array<{ id: bigint }>>`
        SELECT id FROM job WHERE lane = ${lane} AND kind = ${effect.kind} AND done_at IS NULL AND locked_by IS NULL FOR UPDATE`;
      if (waiting.length > 0) return;
      await this.tx.$executeRaw`INSERT INTO job (kind, payload, lane, run_at) VALUES (${effect.kind}, ${payload}::jsonb, ${lane}, ${runAt})`;
      return;
    }
    await this.tx.$executeRaw`
      INSERT INTO job (kind, payload, lane, dedupe_key, run_at) VALUES (${effect.kind}, ${payload}::jsonb, ${lane}, ${options.dedupeKey ?? null}, ${runAt})
      ON CONFLICT (dedupe_key) DO NOTHING`;
  }

  private async grantsById(ids: string[]): Promise<GrantRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.tx.grant.findMany({ where: { id: { in: ids } }, orderBy: { expiresAt: "asc" } });
    return rows.map(toGrant);
  }

  private async requestsById(ids: string[]): Promise<AccessRequestRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.tx.accessRequest.findMany({ where: { id: { in: ids } }, orderBy: { createdAt: "asc" } });
    return rows.map((row) => this.seen(toRequest(row)));
  }

  appendLedger: AccessTx["appendLedger"] = async (event, at) => {
    this.wrote.ledger = true;
    return { pendingIndex: this.pendingLedger.push({ event, at }) - 1 };
  };

  /** Writes the transaction's ledger entries, and the votes that point at them, just before the commit. */
  async flushLedger(): Promise<void> {
    const appended = await appendLedgerEntries(this.tx, this.pendingLedger);
    this.wrote.entries = this.pendingLedger.map(({ event, at }, index) => ({
      seq: appended[index]!.seq,
      type: event.type,
      requestId: event.requestId ?? null,
      subjectId: event.subjectId ?? null,
      resource: event.resource ?? null,
      actorId: event.actor.user_id ?? null,
      grantId: typeof event.data.grant_id === "string" ? event.data.grant_id : null,
      at,
    }));
    if (this.pendingVotes.length > 0) {
      await this.tx.vote.createMany({ data: this.pendingVotes.map(({ vote, entry }) => ({ ...vote, ledgerSeq: appended[entry.pendingIndex]!.seq })) });
    }
  }
}

function toRequest(row: RequestRow): AccessRequestRecord {
  return {
    id: row.id,
    teamId: row.teamId,
    requesterId: row.requesterId,
    requesterName: row.requesterName,
    resource: row.resource,
    durationSeconds: row.durationSeconds,
    reason: row.reason,
    status: row.status,
    policySha256: row.policySha256,
    createdAt: row.createdAt,
    pendingUntil: row.pendingUntil,
    decidedAt: row.decidedAt,
    decidedBy: row.decidedBy,
    denyReason: row.denyReason,
    breakGlass: row.breakGlass,
    extendsGrantId: row.extendsGrantId,
    remindedAt: row.remindedAt,
  };
}

function toGrant(row: GrantRow): GrantRecord {
  return {
    id: row.id,
    requestId: row.requestId,
    userId: row.userId,
    resource: row.resource,
    status: row.status,
    activatedAt: row.activatedAt,
    expiresAt: row.expiresAt,
    endedAt: row.endedAt,
    endedBy: row.endedBy,
    endReason: row.endReason,
    provisioner: row.provisioner,
    deprovisionedAt: row.deprovisionedAt,
    warnedAt: row.warnedAt,
    extensions: row.extensions,
    extensionKeys: row.extensionKeys,
  };
}

function toReview(row: ReviewRow): BreakGlassReviewRecord {
  return {
    requestId: row.requestId,
    reviewGroup: row.reviewGroup,
    status: row.status,
    dueAt: row.dueAt,
    nextReminderAt: row.nextReminderAt,
    reminders: row.reminders,
    reviewerId: row.reviewerId,
    reviewedAt: row.reviewedAt,
  };
}

function toVote(row: VoteRow): VoteRecord {
  return { requestId: row.requestId, voterId: row.voterId, voterName: row.voterName, decision: row.decision, createdAt: row.createdAt };
}
