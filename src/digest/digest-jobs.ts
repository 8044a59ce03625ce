import { SYSTEM_ACTOR } from "../domain/describe-actor.js";
import { appendLedgerEntry } from "../ledger/append-ledger-entry.js";
import { buildDigestMessage } from "../slack/blocks/build-digest-message.js";
import type { DigestReport } from "./build-digest-report.js";
import { DIGEST_JOB_KIND, enqueueDigestJob, REFRESH_DIGEST_JOB_KIND, REMIND_DIGEST_JOB_KIND } from "./enqueue-digest-job.js";
import { digestMessageState, postDigest, type DigestDeps, type DigestJobPayload } from "./post-digest.js";

/** A digest nobody signed off within `review_within` is posted again, up to this many times. */
export const MAX_DIGEST_REMINDERS = 3;

/** Runs one of the digest's jobs; throwing retries it later. */
export async function performDigestJob(deps: DigestDeps, kind: string, payload: unknown): Promise<void> {
  if (kind === DIGEST_JOB_KIND) return postDigest(deps, payload as DigestJobPayload);
  if (kind === REMIND_DIGEST_JOB_KIND) return remindDigest(deps, payload as { since: string; round: number });
  if (kind === REFRESH_DIGEST_JOB_KIND) return refreshDigest(deps, payload as { since: string });
  throw new Error(`not a digest job: ${kind}`);
}

/** Posts the digest again with a reminder, unless it was signed off in the meantime. */
async function remindDigest(deps: DigestDeps, payload: { since: string; round: number }): Promise<void> {
  const { prisma, client } = deps;
  const since = new Date(payload.since);
  const row = await prisma.digestReview.findUnique({ where: { since } });
  const policy = deps.policy();
  if (!row || row.signedOffBy !== null || row.messageTs === null || !policy.settings.reviewGroup) return;
  // A retry after the post finds its copy already recorded.
  if (row.reminderTs.length >= payload.round) return;
  const message = buildDigestMessage(JSON.parse(row.report) as DigestReport, digestMessageState(row, policy, payload.round));
  const posted = await client.chat.postMessage({ channel: row.channelId, text: `Reminder: ${message.text}`, blocks: message.blocks });
  if (!posted.ts) throw new Error("chat.postMessage returned no ts for the digest reminder");
  const ts = posted.ts;
  await prisma.$transaction(async (tx) => {
    // The row before the ledger, as a sign-off does: one lock order, no deadlock.
    await tx.digestReview.update({ where: { since }, data: { reminderTs: { push: ts } } });
    await appendLedgerEntry(tx, { type: "digest.reminded", actor: SYSTEM_ACTOR, data: { since: payload.since, round: payload.round, sha256: row.sha256, channel: row.channelId, ts, review_group: policy.settings.reviewGroup } }, deps.now);
    if (payload.round < MAX_DIGEST_REMINDERS) {
      const next = payload.round + 1;
      await enqueueDigestJob(tx, REMIND_DIGEST_JOB_KIND, { since: payload.since, round: next }, `digest-remind:${payload.since}:${next}`, new Date(deps.now.getTime() + policy.settings.reviewWithinSeconds * 1000));
    }
  });
  deps.log.info({ since: payload.since, round: payload.round }, "digest not signed off in time: reminder posted");
}

/** Every copy (the digest and its reminders) shows the sign-off, and loses its button. */
async function refreshDigest(deps: DigestDeps, payload: { since: string }): Promise<void> {
  const row = await deps.prisma.digestReview.findUnique({ where: { since: new Date(payload.since) } });
  if (!row || row.messageTs === null) return;
  const report = JSON.parse(row.report) as DigestReport;
  const policy = deps.policy();
  const copies = [{ ts: row.messageTs, round: 0 }, ...row.reminderTs.map((ts, index) => ({ ts, round: index + 1 }))];
  for (const copy of copies) {
    const message = buildDigestMessage(report, digestMessageState(row, policy, copy.round));
    await deps.client.chat.update({ channel: row.channelId, ts: copy.ts, text: message.text, blocks: message.blocks });
  }
}
