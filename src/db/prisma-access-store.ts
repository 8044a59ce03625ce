import type { PrismaClient } from "../generated/prisma/client.js";
import type {
  AccessRequestRecord,
  GrantRecord,
  MessageKind,
  RequestMessageRef,
  RequestSnapshot,
  RequesterHistory,
  VoteRecord,
} from "../domain/access-records.js";
import type { AccessStore, AccessTx } from "../domain/ports.js";
import { appendLedgerEntry } from "../ledger/append-ledger-entry.js";

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

type RequestRow = Awaited<ReturnType<PrismaClient["accessRequest"]["findUniqueOrThrow"]>>;
type GrantRow = Awaited<ReturnType<PrismaClient["grant"]["findUniqueOrThrow"]>>;
type VoteRow = Awaited<ReturnType<PrismaClient["vote"]["findUniqueOrThrow"]>>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The domain's AccessStore on Prisma; every AccessTx call runs inside one interactive transaction. */
export class PrismaAccessStore implements AccessStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { transactionTimeoutMs?: number; onCommit?: () => void } = {},
  ) {}

  async transaction<T>(work: (tx: AccessTx) => Promise<T>): Promise<T> {
    const result = await this.prisma.$transaction((tx) => work(new PrismaAccessTx(tx)), {
      // Waiting for a busy request row or the ledger lock under a burst of clicks is normal.
      maxWait: 20_000,
      timeout: this.options.transactionTimeoutMs ?? 30_000,
    });
    this.options.onCommit?.();
    return result;
  }

  async getSnapshot(requestId: string): Promise<RequestSnapshot | null> {
    const row = await this.prisma.accessRequest.findUnique({
      where: { id: requestId },
      include: { votes: { orderBy: { id: "asc" } }, grant: true, messages: { orderBy: { id: "asc" } } },
    });
    if (!row) return null;
    return {
      request: toRequest(row),
      votes: row.votes.map(toVote),
      grant: row.grant ? toGrant(row.grant) : null,
      messages: row.messages.map(
        (message): RequestMessageRef => ({ channelId: message.channelId, ts: message.ts, kind: message.kind as MessageKind, recipientId: message.recipientId }),
      ),
    };
  }

  async addRequestMessage(requestId: string, message: RequestMessageRef): Promise<void> {
    await this.prisma.requestMessage.upsert({
      where: { channelId_ts: { channelId: message.channelId, ts: message.ts } },
      create: { requestId, channelId: message.channelId, ts: message.ts, kind: message.kind, recipientId: message.recipientId },
      update: {},
    });
  }

  async requesterHistory(userId: string, resource: string, before: Date, excludeRequestId: string): Promise<RequesterHistory> {
    const since = new Date(before.getTime() - 30 * DAY_MS);
    const window = { gte: since, lt: before };
    const others = { not: excludeRequestId };
    const [grantsLast30Days, deniedLast30Days, recent] = await Promise.all([
      this.prisma.grant.count({ where: { userId, resource, activatedAt: window, requestId: others } }),
      this.prisma.accessRequest.count({ where: { requesterId: userId, resource, status: "DENIED", createdAt: window, id: others } }),
      this.prisma.grant.findMany({ where: { userId, resource, activatedAt: { lt: before }, requestId: others }, orderBy: { activatedAt: "desc" }, take: 3, include: { request: true } }),
    ]);
    return {
      grantsLast30Days,
      deniedLast30Days,
      recentGrants: recent.map((grant) => ({
        requestId: grant.requestId,
        activatedAt: grant.activatedAt,
        durationSeconds: grant.request.durationSeconds,
        reason: grant.request.reason,
        status: grant.status,
      })),
    };
  }

  async listOpenForUser(userId: string): Promise<{ pending: AccessRequestRecord[]; active: GrantRecord[] }> {
    const [pending, active] = await Promise.all([
      this.prisma.accessRequest.findMany({ where: { requesterId: userId, status: "PENDING" }, orderBy: { createdAt: "asc" } }),
      this.prisma.grant.findMany({ where: { userId, status: "ACTIVE" }, orderBy: { expiresAt: "asc" } }),
    ]);
    return { pending: pending.map(toRequest), active: active.map(toGrant) };
  }

  async listDueGrants(now: Date, limit: number): Promise<GrantRecord[]> {
    const rows = await this.prisma.grant.findMany({ where: { status: "ACTIVE", expiresAt: { lte: now } }, orderBy: { expiresAt: "asc" }, take: limit });
    return rows.map(toGrant);
  }

  async listStalePending(now: Date, limit: number): Promise<AccessRequestRecord[]> {
    const rows = await this.prisma.accessRequest.findMany({ where: { status: "PENDING", pendingUntil: { lte: now } }, orderBy: { pendingUntil: "asc" }, take: limit });
    return rows.map(toRequest);
  }

  async rememberPolicy(sha256: string, text: string): Promise<void> {
    await this.prisma.policyVersion.upsert({ where: { sha256 }, create: { sha256, text }, update: {} });
  }
}

class PrismaAccessTx implements AccessTx {
  constructor(private readonly tx: Tx) {}

  async lockRequest(id: string): Promise<AccessRequestRecord | null> {
    // Row lock: concurrent votes on one request are evaluated strictly one after another.
    const locked = await this.tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM access_request WHERE id = ${id} FOR UPDATE`;
    if (locked.length === 0) return null;
    const row = await this.tx.accessRequest.findUnique({ where: { id } });
    return row ? toRequest(row) : null;
  }

  async findRequestByIdempotencyKey(key: string): Promise<AccessRequestRecord | null> {
    const row = await this.tx.accessRequest.findUnique({ where: { idempotencyKey: key } });
    return row ? toRequest(row) : null;
  }

  async insertRequest(request: AccessRequestRecord, idempotencyKey: string): Promise<void> {
    await this.tx.accessRequest.create({ data: { ...request, idempotencyKey } });
  }

  async transitionRequest(id: string, from: AccessRequestRecord["status"], patch: Partial<AccessRequestRecord> & Pick<AccessRequestRecord, "status">): Promise<boolean> {
    const { count } = await this.tx.accessRequest.updateMany({ where: { id, status: from }, data: patch });
    return count === 1;
  }

  async listVotes(requestId: string): Promise<VoteRecord[]> {
    const rows = await this.tx.vote.findMany({ where: { requestId }, orderBy: { id: "asc" } });
    return rows.map(toVote);
  }

  async insertVote(vote: VoteRecord, ledgerSeq: bigint): Promise<void> {
    await this.tx.vote.create({ data: { ...vote, ledgerSeq } });
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

  async transitionGrant(id: string, from: GrantRecord["status"], patch: Partial<GrantRecord> & Pick<GrantRecord, "status">): Promise<boolean> {
    const { count } = await this.tx.grant.updateMany({ where: { id, status: from }, data: patch });
    return count === 1;
  }

  appendLedger: AccessTx["appendLedger"] = (event, at) => appendLedgerEntry(this.tx, event, at);
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
  };
}

function toVote(row: VoteRow): VoteRecord {
  return { requestId: row.requestId, voterId: row.voterId, voterName: row.voterName, decision: row.decision, createdAt: row.createdAt };
}
