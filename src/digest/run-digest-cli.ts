import { parseArgs } from "node:util";
import { openAuditDatabase } from "../audit/cli/open-audit-database.js";
import { AuditCliError } from "../audit/cli/audit-cli-error.js";
import { readLedgerRows } from "../audit/read-ledger-rows.js";
import { readStoredCheckpoints } from "../audit/read-stored-checkpoints.js";
import { verifyLedger } from "../audit/verify-ledger.js";
import type { Database } from "../db/open-database.js";
import { computeDigestFigures } from "../db/compute-digest-figures.js";
import { periodBefore, periodOfDates, previousWeek, type DigestPeriod } from "../domain/digest-period.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { loadPolicyFile } from "../policy/load-policy.js";
import type { LedgerQuery } from "../audit/ledger-query.js";
import { buildDigestReport, type DigestLedger, type DigestReport } from "./build-digest-report.js";
import { formatDigestText } from "./format-digest-text.js";

export const DIGEST_USAGE = `Usage: accessbot digest [--since DATE --until DATE] [--timezone ZONE] [--print | --format json]

  The audit digest of a period, beside the period of the same length before it: requests and
  outcomes, time to decision, granted hours, who requests and who approves, break-glass and its
  reviews, failed revocations, alerts, and a verification of the whole ledger.
  Without dates: last week, Monday to Sunday, in the policy's timezone. DATE is YYYY-MM-DD,
  local to that timezone; --until includes its day. --print (the default) writes text,
  --format json one JSON object for scripts.
  The timezone is settings.timezone of ACCESS_POLICY_FILE (default ./access-policy.yml) unless
  --timezone is given.`;

export interface DigestCliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  database?: Database;
  now?: Date;
}

type Out = { log(text: string): void; error(text: string): void };

/** `accessbot digest …`; returns the exit code (0, or 2 for bad arguments or no database). */
export async function runDigestCli(args: string[], out: Out, options: DigestCliOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  let values;
  try {
    ({ values } = parseArgs({ args, options: { since: { type: "string" }, until: { type: "string" }, timezone: { type: "string" }, print: { type: "boolean" }, format: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }));
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${DIGEST_USAGE}`);
    return 2;
  }
  if (values.help) {
    out.log(DIGEST_USAGE);
    return 0;
  }
  if (values.format !== undefined && values.format !== "json") {
    out.error(`--format takes only json (got "${values.format}"); for text use --print.`);
    return 2;
  }
  if ((values.since === undefined) !== (values.until === undefined)) {
    out.error("Give both --since and --until (YYYY-MM-DD), or neither for last week.");
    return 2;
  }
  let period: DigestPeriod;
  try {
    const timeZone = values.timezone ?? (await policyTimeZone(env));
    new Intl.DateTimeFormat("en-US", { timeZone }); // throws on an unknown zone
    period = values.since !== undefined ? periodOfDates(values.since, values.until!, timeZone) : previousWeek(options.now ?? new Date(), timeZone);
  } catch (error) {
    out.error(error instanceof RangeError && /time ?zone/i.test(error.message) ? `Unknown timezone: use an IANA name such as Europe/Berlin.` : (error as Error).message);
    return 2;
  }

  let db;
  try {
    db = await openAuditDatabase({ env, cwd: options.cwd ?? process.cwd(), ...(options.database ? { database: options.database } : {}) });
  } catch (error) {
    if (error instanceof AuditCliError) {
      out.error(error.message);
      return 2;
    }
    throw error;
  }
  try {
    const report = await computeDigest(db.prisma, db.query, period, options.now ?? new Date());
    out.log(values.format === "json" ? JSON.stringify(report) : formatDigestText(report));
    return 0;
  } finally {
    await db.close();
  }
}

/** The digest of `period` against the one before it, with the ledger verified as of now. */
export async function computeDigest(prisma: PrismaClient, query: LedgerQuery, period: DigestPeriod, now: Date): Promise<DigestReport> {
  const previousPeriod = periodBefore(period);
  const current = await computeDigestFigures(prisma, period, now);
  const previous = await computeDigestFigures(prisma, previousPeriod, now);
  return buildDigestReport(period, previousPeriod, current, previous, await verifyForDigest(prisma, query));
}

async function verifyForDigest(prisma: PrismaClient, query: LedgerQuery): Promise<DigestLedger> {
  const checkpoints = await readStoredCheckpoints(prisma);
  const result = await verifyLedger(readLedgerRows(query), { checkpoints, checkpointsBeyondHead: "fail" });
  if (result.ok) return { headSeq: Number(result.headSeq), headHash: result.entries === 0 ? null : result.headHash, verified: true, entries: result.entries };
  return { headSeq: Number(result.firstBadSeq) - 1, headHash: null, verified: false, entries: 0, problem: `verification failed at seq ${result.firstBadSeq}: ${result.reason} (${result.detail})` };
}

async function policyTimeZone(env: NodeJS.ProcessEnv): Promise<string> {
  const file = env.ACCESS_POLICY_FILE ?? "./access-policy.yml";
  try {
    return (await loadPolicyFile(file)).policy.settings.timezone;
  } catch (error) {
    throw new Error(`The digest needs the policy's timezone: ${(error as Error).message.split("\n")[0]} (or pass --timezone ZONE).`);
  }
}
