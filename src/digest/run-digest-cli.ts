import type { CommandSpec } from "../cli/command-spec.js";
import { formatUsageError, parseCommandLine, UsageError } from "../cli/parse-command-line.js";
import { openAuditDatabase } from "../audit/cli/open-audit-database.js";
import { AuditCliError } from "../audit/cli/audit-cli-error.js";
import type { Database } from "../db/open-database.js";
import { periodOfDates, previousWeek, type DigestPeriod } from "../domain/digest-period.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { loadPolicyFile } from "../policy/load-policy.js";
import { LogLevel, WebClient } from "@slack/web-api";
import { PrismaJobQueue } from "../db/prisma-job-queue.js";
import type { Policy } from "../domain/policy-model.js";
import { createLogger } from "../logging/create-logger.js";
import { performDigestJob } from "./digest-jobs.js";
import { DIGEST_JOB_KIND } from "./enqueue-digest-job.js";
import { digestJobKey, digestJobPayload } from "./post-digest.js";
import { localDate } from "../domain/add-local-days.js";
import { computeDigest } from "./compute-digest.js";
import { formatDigestText } from "./format-digest-text.js";

export const DIGEST_SPEC: CommandSpec = {
  name: "digest",
  usage: ["digest [--since DATE --until DATE] [--timezone ZONE] [--print | --json | --post]"],
  description:
    "The audit digest of a period, beside the period of the same length before it: requests and outcomes, time to decision, granted hours, who requests and who approves, break-glass and its reviews, failed revocations, alerts, and a verification of the whole ledger. Without dates: last week, Monday to Sunday, in the policy's timezone. The timezone is settings.timezone of ACCESS_POLICY_FILE (default ./access-policy.yml) unless --timezone is given.",
  options: {
    since: { type: "string", value: "DATE", description: "first day of the period (YYYY-MM-DD, local to the timezone)" },
    until: { type: "string", value: "DATE", description: "last day of the period, included" },
    timezone: { type: "string", value: "ZONE", description: "an IANA zone such as Europe/Berlin" },
    print: { type: "boolean", description: "write the digest as text (the default)" },
    json: { type: "boolean", description: "write the report as one JSON object (the shape the bot stores in digest_review.report; docs/cli.md)" },
    format: { type: "string", value: "json", description: "--format json is the same as --json" },
    post: { type: "boolean", description: "post it to the audit channel exactly as the weekly job does (chart, CSV of the period's ledger, Reviewed button; needs SLACK_BOT_TOKEN), once per period" },
  },
  exitCodes: [
    [0, "done (or already posted)"],
    [1, "posting failed, or the running bot is posting this digest right now"],
    [2, "bad arguments, no policy timezone, or no database"],
  ],
};

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
  let parsed;
  try {
    parsed = parseCommandLine(DIGEST_SPEC, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.error(formatUsageError(error));
    return 2;
  }
  if (parsed.help) {
    out.log(parsed.text);
    return 0;
  }
  const values = parsed.values as { since?: string; until?: string; timezone?: string; print?: boolean; json?: boolean; format?: string; post?: boolean };
  if (values.format !== undefined && values.format !== "json") {
    out.error(`--format takes only json (got "${values.format}"); for text use --print.`);
    return 2;
  }
  const json = values.json === true || values.format === "json";
  if ([values.print, values.post, json].filter(Boolean).length > 1) {
    out.error("Choose one of --print, --post and --format json (--json).");
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
    if (values.post) return await postFromCli(db.prisma, period, env, out, options.now ?? new Date());
    const report = await computeDigest(db.prisma, db.query, period, options.now ?? new Date());
    out.log(json ? JSON.stringify(report) : formatDigestText(report));
    return 0;
  } finally {
    await db.close();
  }
}

async function policyTimeZone(env: NodeJS.ProcessEnv): Promise<string> {
  const file = env.ACCESS_POLICY_FILE ?? "./access-policy.yml";
  try {
    return (await loadPolicyFile(file)).policy.settings.timezone;
  } catch (error) {
    throw new Error(`The digest needs the policy's timezone: ${(error as Error).message.split("\n")[0]} (or pass --timezone ZONE).`);
  }
}

/**
 * `--post`: the same durable job as the weekly cron (same dedupe key), claimed here with the
 * job's own lease so that a running bot and this command never post one period twice.
 */
async function postFromCli(prisma: PrismaClient, period: DigestPeriod, env: NodeJS.ProcessEnv, out: Out, now: Date): Promise<number> {
  const token = env.SLACK_BOT_TOKEN;
  if (!token?.startsWith("xoxb-")) {
    out.error("--post needs SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…) to post to the audit channel.");
    return 2;
  }
  const file = env.ACCESS_POLICY_FILE ?? "./access-policy.yml";
  let policy: Policy;
  try {
    policy = (await loadPolicyFile(file)).policy;
  } catch (error) {
    out.error(`--post needs the policy (audit channel, review group): ${(error as Error).message.split("\n")[0]}`);
    return 2;
  }
  const key = digestJobKey(period);
  const posted = await prisma.digestReview.findUnique({ where: { since: period.since } });
  if (posted?.messageTs) {
    out.log(`The digest of the period starting ${period.since.toISOString()} was already posted (${posted.channelId}, ts ${posted.messageTs}); nothing was posted again.`);
    return 0;
  }
  const queue = new PrismaJobQueue(prisma);
  await queue.enqueueOnce(DIGEST_JOB_KIND, digestJobPayload(period), key, now);
  const owner = `cli:${process.pid}`;
  // The bot's own lease for the digest job: long enough to verify a large ledger.
  const job = await queue.claimByKey(key, owner, 15 * 60_000);
  if (!job) {
    out.error("The running bot is posting this digest right now (it holds the job); nothing more was posted.");
    return 1;
  }
  const apiUrl = env.SLACK_API_URL ?? "https://slack.com/api/";
  const client = new WebClient(token, { slackApiUrl: apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`, timeout: 10_000, retryConfig: { retries: 3 }, logLevel: LogLevel.ERROR });
  const log = createLogger("warn");
  try {
    await performDigestJob({ prisma, client, policy: () => policy, log, now }, DIGEST_JOB_KIND, job.payload);
    await queue.complete(job, owner, "done");
  } catch (error) {
    // Left to the bot (or the next --post) to resume from where this stopped.
    await queue.retry(job, owner, now, (error as Error).message);
    out.error(`Posting the digest failed: ${(error as Error).message}. What was done is kept; run the command again (or let the bot retry) to finish.`);
    return 1;
  }
  const row = await prisma.digestReview.findUniqueOrThrow({ where: { since: period.since } });
  out.log(`Posted the digest of ${localDate(period.since, period.timeZone)} to ${localDate(new Date(period.until.getTime() - 1), period.timeZone)} to ${row.channelId} (ts ${row.messageTs}), with its chart and the period's ledger as CSV.`);
  return 0;
}
