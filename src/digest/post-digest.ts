import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { createPrismaLedgerQuery } from "../audit/ledger-query.js";
import { SYSTEM_ACTOR } from "../domain/describe-actor.js";
import type { DigestPeriod } from "../domain/digest-period.js";
import type { Policy } from "../domain/policy-model.js";
import type { DigestReview, PrismaClient } from "../generated/prisma/client.js";
import { appendLedgerEntry } from "../ledger/append-ledger-entry.js";
import { buildDigestMessage, type DigestMessageState } from "../slack/blocks/build-digest-message.js";
import type { DigestReport } from "./build-digest-report.js";
import { enqueueDigestJob, REMIND_DIGEST_JOB_KIND } from "./enqueue-digest-job.js";
import { exportPeriodCsv } from "./export-period-csv.js";
import { renderDigestChart } from "./render-digest-chart.js";
import { computeDigest } from "./compute-digest.js";
import { uploadSlackFile } from "./upload-slack-file.js";

export interface DigestJobPayload {
  since: string;
  until: string;
  timeZone: string;
}

export interface DigestDeps {
  prisma: PrismaClient;
  client: WebClient;
  policy: () => Policy;
  log: Logger;
  now: Date;
  /** Deadline of one file upload (the Web API calls have the client's own timeout). */
  uploadTimeoutMs?: number;
}

export function digestJobKey(period: DigestPeriod): string {
  return `digest:${period.since.toISOString()}`;
}

export function digestJobPayload(period: DigestPeriod): DigestJobPayload {
  return { since: period.since.toISOString(), until: period.until.toISOString(), timeZone: period.timeZone };
}

/** What the digest's messages show now, from its row and the policy in force. */
export function digestMessageState(row: DigestReview, policy: Policy, reminderRound = 0): DigestMessageState {
  const group = policy.settings.reviewGroup;
  const signedOff = row.signedOffBy !== null;
  return {
    chartFileId: row.chartFileId,
    // A digest signed off before the review group was removed still says who signed it.
    signOff: group || signedOff ? { reviewGroup: group ?? "(none)", signedOffBy: row.signedOffBy, signedOffAt: row.signedOffAt?.toISOString() ?? null } : null,
    reminderRound,
  };
}

/**
 * Posts one period's digest to the audit channel, step by step from its `digest_review` row,
 * so a retry resumes where the last attempt stopped and what is posted is what was recorded:
 *  1. compute the report once and store it with its sha256;
 *  2. upload the chart (a private file the message shows in an image block);
 *  3. post the message and, in one transaction, record its ts, append `digest.posted` and
 *     queue the sign-off reminder;
 *  4. attach the period's ledger as CSV in the message's thread.
 * Only a crash between Slack accepting step 3 and its commit can post the message twice.
 */
export async function postDigest(deps: DigestDeps, payload: DigestJobPayload): Promise<void> {
  const { prisma, client, log } = deps;
  const since = new Date(payload.since);
  const policy = deps.policy();
  let row = await prisma.digestReview.findUnique({ where: { since } });
  if (!row) {
    const period: DigestPeriod = { since, until: new Date(payload.until), timeZone: payload.timeZone };
    const report = await computeDigest(prisma, createPrismaLedgerQuery(prisma), period, deps.now);
    // The report holds fractions, which canonical JSON refuses: the hash is over the text as stored.
    const text = JSON.stringify(report);
    const sha256 = createHash("sha256").update(text).digest("hex");
    await prisma.digestReview.createMany({ data: [{ since, until: period.until, timeZone: period.timeZone, report: text, sha256, channelId: policy.settings.auditChannel }], skipDuplicates: true });
    row = await prisma.digestReview.findUniqueOrThrow({ where: { since } });
  }
  const report = JSON.parse(row.report) as DigestReport;
  const uploadTimeoutMs = deps.uploadTimeoutMs ?? 60_000;
  const name = `access-digest-${report.period.first_day}-to-${report.period.last_day}`;

  if (row.chartFileId === null) {
    const png = await renderDigestChart(report);
    const fileId = await uploadSlackFile(client, { content: png, filename: `${name}.png`, title: `Access digest ${report.period.first_day} to ${report.period.last_day}`, altText: "Requests per day by outcome, and the median time to decision", timeoutMs: uploadTimeoutMs });
    row = await prisma.digestReview.update({ where: { since }, data: { chartFileId: fileId } });
  }

  if (row.messageTs === null) {
    const message = buildDigestMessage(report, digestMessageState(row, policy));
    const posted = await client.chat.postMessage({ channel: row.channelId, text: message.text, blocks: message.blocks });
    if (!posted.ts) throw new Error("chat.postMessage returned no ts for the digest");
    const ts = posted.ts;
    const current = row;
    row = await prisma.$transaction(async (tx) => {
      // The row before the ledger, as a sign-off does: one lock order, no deadlock.
      const updated = await tx.digestReview.update({ where: { since }, data: { messageTs: ts, postedAt: deps.now } });
      await appendLedgerEntry(
        tx,
        {
          type: "digest.posted",
          actor: SYSTEM_ACTOR,
          data: { since: payload.since, until: payload.until, timezone: payload.timeZone, sha256: current.sha256, channel: current.channelId, ts, chart_file_id: current.chartFileId, requests: report.requests, ledger_head: report.ledger.head_seq, review_group: policy.settings.reviewGroup },
        },
        deps.now,
      );
      if (policy.settings.reviewGroup) {
        await enqueueDigestJob(tx, REMIND_DIGEST_JOB_KIND, { since: payload.since, round: 1 }, `digest-remind:${payload.since}:1`, new Date(deps.now.getTime() + policy.settings.reviewWithinSeconds * 1000));
      }
      return updated;
    });
    log.info({ since: payload.since, requests: report.requests, ts }, "weekly digest posted");
  }

  if (row.csvFileId === null) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "accessbot-digest-"));
    try {
      const file = path.join(dir, `${name}.csv`);
      const entries = await exportPeriodCsv(createPrismaLedgerQuery(prisma), { since: row.since, until: row.until }, file);
      const fileId = await uploadSlackFile(client, { content: { path: file }, filename: `${name}-ledger.csv`, title: `Ledger ${report.period.first_day} to ${report.period.last_day} (${entries} entries)`, channel: row.channelId, threadTs: row.messageTs!, timeoutMs: uploadTimeoutMs });
      row = await prisma.digestReview.update({ where: { since }, data: { csvFileId: fileId } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
