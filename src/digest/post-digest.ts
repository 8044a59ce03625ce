import { createHash } from "node:crypto";
import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { createPrismaLedgerQuery } from "../audit/ledger-query.js";
import type { DigestPeriod } from "../domain/digest-period.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { appendLedgerEntry } from "../ledger/append-ledger-entry.js";
import { buildDigestMessage } from "../slack/blocks/build-digest-message.js";
import { computeDigest } from "./run-digest-cli.js";

/** The durable job that posts one period's digest (dedupe key `digest:<since>`: once across replicas). */
export const DIGEST_JOB_KIND = "post-digest";

export interface DigestJobPayload {
  since: string;
  until: string;
  timeZone: string;
}

export function digestJobKey(period: DigestPeriod): string {
  return `digest:${period.since.toISOString()}`;
}

export function digestJobPayload(period: DigestPeriod): DigestJobPayload {
  return { since: period.since.toISOString(), until: period.until.toISOString(), timeZone: period.timeZone };
}

/**
 * Computes the digest of the job's period and posts it to the audit channel, then records
 * `digest.posted` (period, the sha256 of the report, where it was posted) in the ledger. A
 * retry after the post finds that entry and posts nothing more.
 */
export async function postDigest(deps: { prisma: PrismaClient; client: WebClient; channel: string; log: Logger; now: Date }, payload: DigestJobPayload): Promise<void> {
  const { prisma, client, channel, log } = deps;
  const already = await prisma.$queryRaw<Array<{ seq: bigint }>>`
    SELECT seq FROM ledger_entry WHERE type = 'digest.posted' AND (body::jsonb -> 'data' ->> 'since') = ${payload.since} LIMIT 1`;
  if (already.length > 0) return;
  const period: DigestPeriod = { since: new Date(payload.since), until: new Date(payload.until), timeZone: payload.timeZone };
  const report = await computeDigest(prisma, createPrismaLedgerQuery(prisma), period, deps.now);
  const message = buildDigestMessage(report);
  const posted = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
  // The report holds fractions, which canonical JSON refuses; its own serialisation is stable.
  const sha256 = createHash("sha256").update(JSON.stringify(report)).digest("hex");
  await prisma.$transaction((tx) =>
    appendLedgerEntry(
      tx,
      { type: "digest.posted", actor: { kind: "system", name: "accessbot" }, data: { since: payload.since, until: payload.until, timezone: payload.timeZone, sha256, channel, ts: posted.ts ?? null, requests: report.requests, ledger_head: report.ledger.head_seq } },
      deps.now,
    ),
  );
  log.info({ since: payload.since, requests: report.requests, ts: posted.ts }, "weekly digest posted");
}
