import { AppError } from "../domain/app-error.js";
import { describeActor, type SlackIdentity } from "../domain/describe-actor.js";
import type { Clock, Directory } from "../domain/ports.js";
import type { Policy } from "../domain/policy-model.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { appendLedgerEntry } from "../ledger/append-ledger-entry.js";
import { sha256OfCanonical } from "../ledger/ledger-hash.js";
import { enqueueDigestJob, REFRESH_DIGEST_JOB_KIND } from "./enqueue-digest-job.js";

export interface SignOffInput {
  /** The digest's period start, from the button's value: only a key, nothing else is trusted from it. */
  since: string;
  reviewer: SlackIdentity;
  /** The blocks the reviewer clicked on, from the signed payload. */
  seenBlocks: unknown[] | null;
}

export interface DigestSignOffDeps {
  prisma: PrismaClient;
  directory: Directory;
  policy: () => Policy;
  clock: Clock;
  /** After the commit: the refresh job is waiting. */
  onCommit: () => void;
}

export type SignOffResult = { kind: "signed-off"; at: Date } | { kind: "already"; by: string; at: Date };

/**
 * "Reviewed" on a digest: a member of `settings.review_group` (checked live, from the signed
 * user id) signs off the period. One transaction locks the digest's row, appends
 * `review.signed_off` with the period, the digest's sha256 and what the reviewer saw, records
 * who and when, and queues the refresh that shows it on every copy. The first click wins.
 */
export async function signOffDigest(deps: DigestSignOffDeps, input: SignOffInput): Promise<SignOffResult> {
  const since = new Date(input.since);
  if (Number.isNaN(since.getTime())) throw new AppError("MALFORMED_PAYLOAD", "That button doesn't name a digest I know. Nothing was changed.");
  const policy = deps.policy();
  const groupName = policy.settings.reviewGroup;
  if (!groupName) throw new AppError("NO_REVIEW_GROUP", "No review group is configured (settings.review_group in the access policy), so nobody can sign off digests. Nothing was changed.");
  const group = policy.groups[groupName];
  const members = group ? await deps.directory.membersOf(group) : [];
  if (!members.includes(input.reviewer.id)) {
    throw new AppError("NOT_A_REVIEWER", `Only members of ${groupName} can sign off the digest. Nothing was changed.`);
  }
  const actor = await describeActor(input.reviewer, deps.directory);
  const seen = input.seenBlocks ? { blocks: input.seenBlocks, sha256: sha256OfCanonical(input.seenBlocks) } : null;
  const result = await deps.prisma.$transaction(async (tx): Promise<SignOffResult> => {
    const rows = await tx.$queryRaw<Array<{ until: Date; time_zone: string; sha256: string; signed_off_by: string | null; signed_off_at: Date | null; message_ts: string | null }>>`
      SELECT until, time_zone, sha256, signed_off_by, signed_off_at, message_ts FROM digest_review WHERE since = ${since} FOR UPDATE`;
    const row = rows[0];
    if (!row || row.message_ts === null) throw new AppError("DIGEST_NOT_FOUND", "I have no posted digest for that period. Nothing was changed.");
    if (row.signed_off_by !== null) return { kind: "already", by: row.signed_off_by, at: row.signed_off_at! };
    const now = deps.clock.now();
    await appendLedgerEntry(
      tx,
      {
        type: "review.signed_off",
        actor,
        data: { since: since.toISOString(), until: row.until.toISOString(), timezone: row.time_zone, digest_sha256: row.sha256, review_group: groupName, seen },
      },
      now,
    );
    await tx.digestReview.update({ where: { since }, data: { signedOffBy: input.reviewer.id, signedOffAt: now } });
    await enqueueDigestJob(tx, REFRESH_DIGEST_JOB_KIND, { since: since.toISOString() }, `digest-refresh:${since.toISOString()}`, now);
    return { kind: "signed-off", at: now };
  });
  if (result.kind === "signed-off") deps.onCommit();
  return result;
}
