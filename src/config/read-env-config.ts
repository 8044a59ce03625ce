import cron from "node-cron";
import { z } from "zod";

/**
 * Configuration comes only from the environment, parsed once at boot. `env` is a parameter
 * so tests pass their own. Each problem becomes one line saying what to set.
 */
export interface AppConfig {
  slack: {
    botToken: string;
    signingSecret: string | null;
    appToken: string | null;
    apiUrl: string;
  };
  port: number;
  /** The interface the HTTP server binds (Slack's requests, health, metrics). */
  host: string;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  policyFile: string;
  logLevel: string;
  sweepSchedule: string;
  autoMigrate: boolean;
  /**
   * On PostgreSQL, whether each ack waits for the inbox row's commit and WAL flush to disk. Off
   * by default: the ack rests on this process's journal (inboxJournalDir) while the row
   * commits, which the bot's own crash survives, and the row commits without waiting for the
   * flush, so only a crash of the PostgreSQL server within its WAL writer delay (3 ×
   * wal_writer_delay, 600 ms by default) could lose an interaction. Waiting costs a database
   * and disk round trip on every ack (bench/RESULTS.md).
   */
  inboxFlush: boolean;
  /**
   * On PostgreSQL: where each interaction is journalled until its inbox row has committed, so
   * that the ack need not wait for the database (ack-thread.ts). Keep it on a volume that
   * outlives the process (in Kubernetes, an emptyDir survives container restarts).
   */
  inboxJournalDir: string;
  /**
   * Under `accessbot start` on Linux, whether every thread but the ack thread runs under
   * SCHED_IDLE at nice +19; otherwise no priority is changed. Off by default (on in deploy/'s
   * recipes): SCHED_IDLE gives acks a core at once, but it also lets any other busy program in
   * the same cgroup starve the bot's work (revokes, DMs) for as long as it is busy, so the
   * process needs a CPU share of its own (docs/deploying.md).
   */
  idleScheduling: boolean;
  groupCacheSeconds: number;
  /** When the ledger head is published besides start-up and the policy's checkpoint_schedule (0 turns a rule off). */
  checkpoint: {
    everyEntries: number;
    everyMinutes: number;
  };
  audit: {
    webhookUrl: string | null;
    webhookSecret: string | null;
    checkpointWebhookUrl: string | null;
  };
}

export class ConfigError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

const CREDENTIAL_HELP: Record<string, string> = {
  SLACK_BOT_TOKEN: "the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page, after installing it to the workspace",
  SLACK_SIGNING_SECRET: "the Signing Secret from your Slack app's Basic Information → App Credentials (not needed in Socket Mode)",
};

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === undefined || value === "" ? null : value));

/** A count from the environment: digits only (an empty value is refused, not read as 0). */
function wholeNumber(name: string, unit: string, max: number, fallback: number) {
  const message = `${name} must be a whole number of ${unit} from 0 (off) to ${max}`;
  return z
    .string({ error: message })
    .trim()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((value) => value <= max, message)
    .default(fallback);
}

const envSchema = z.object({
  SLACK_BOT_TOKEN: optionalText.refine((value) => value === null || value.startsWith("xoxb-"), "SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions page)"),
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText.refine((value) => value === null || value.startsWith("xapp-"), "SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write)"),
  SLACK_API_URL: z
    .string()
    .url("SLACK_API_URL must be a URL such as https://slack.com/api/")
    .default("https://slack.com/api/")
    .transform((value) => (value.endsWith("/") ? value : `${value}/`)),
  PORT: z.coerce.number({ error: "PORT must be a number" }).int().min(0).max(65535, "PORT must be between 1 and 65535 (0 picks a free port)").default(3000),
  HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.:\[\]%-]+$/, "HOST must be an interface address or host name, e.g. 0.0.0.0 (every IPv4 interface), 127.0.0.1 or ::")
    .transform((value) => value.replace(/^\[(.*)\]$/, "$1"))
    .default("0.0.0.0"),
  ACCESSBOT_METRICS_TOKEN: optionalText.refine((value) => value === null || value.length >= 16, "ACCESSBOT_METRICS_TOKEN must be at least 16 characters (a long random secret), or unset to serve /metrics without a token"),
  ACCESS_POLICY_FILE: z.string().min(1).default("./access-policy.yml"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], { error: "LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent" }).default("info"),
  ACCESSBOT_SWEEP_SCHEDULE: z
    .string()
    .default("* * * * *")
    .refine((value) => cron.validate(value), "ACCESSBOT_SWEEP_SCHEDULE must be a cron expression, e.g. \"* * * * *\" (every minute) or \"*/5 * * * * *\" (every 5 seconds)"),
  ACCESSBOT_AUTO_MIGRATE: z.enum(["true", "false", "1", "0"], { error: "ACCESSBOT_AUTO_MIGRATE must be true or false" }).default("true"),
  ACCESSBOT_INBOX_JOURNAL_DIR: z.string().min(1).default("./.data/inbox-journal"),
  ACCESSBOT_INBOX_FLUSH: z.enum(["true", "false", "1", "0"], { error: "ACCESSBOT_INBOX_FLUSH must be true or false" }).default("false"),
  ACCESSBOT_IDLE_SCHEDULING: z.enum(["true", "false", "1", "0"], { error: "ACCESSBOT_IDLE_SCHEDULING must be true or false" }).default("false"),
  ACCESSBOT_GROUP_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600, "ACCESSBOT_GROUP_CACHE_SECONDS must be at most 3600").default(60),
  ACCESSBOT_CHECKPOINT_EVERY_ENTRIES: wholeNumber("ACCESSBOT_CHECKPOINT_EVERY_ENTRIES", "entries", 1_000_000, 100),
  ACCESSBOT_CHECKPOINT_EVERY_MINUTES: wholeNumber("ACCESSBOT_CHECKPOINT_EVERY_MINUTES", "minutes", 10_080, 15),
  AUDIT_WEBHOOK_URL: optionalText.refine((value) => value === null || /^https?:\/\//.test(value), "AUDIT_WEBHOOK_URL must be an http(s) URL"),
  AUDIT_WEBHOOK_SECRET: optionalText,
  AUDIT_CHECKPOINT_WEBHOOK: optionalText.refine((value) => value === null || /^https?:\/\//.test(value), "AUDIT_CHECKPOINT_WEBHOOK must be an http(s) URL"),
});

export function readEnvConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  }
  const values = parsed.data;
  const socketMode = values.SLACK_APP_TOKEN !== null;
  const missing = [
    ["SLACK_BOT_TOKEN", values.SLACK_BOT_TOKEN],
    ...(socketMode ? [] : [["SLACK_SIGNING_SECRET", values.SLACK_SIGNING_SECRET]]),
  ].filter(([, value]) => value === null);
  if (missing.length > 0) {
    throw new ConfigError(missing.map(([name]) => `Missing ${name}: set it to ${CREDENTIAL_HELP[name!]}.`));
  }
  if (values.AUDIT_WEBHOOK_URL && !values.AUDIT_WEBHOOK_SECRET) {
    throw new ConfigError(["AUDIT_WEBHOOK_URL is set but AUDIT_WEBHOOK_SECRET is not: set a long random secret so your SIEM can verify the HMAC signature."]);
  }
  return {
    slack: { botToken: values.SLACK_BOT_TOKEN!, signingSecret: values.SLACK_SIGNING_SECRET, appToken: values.SLACK_APP_TOKEN, apiUrl: values.SLACK_API_URL },
    port: values.PORT,
    host: values.HOST,
    metricsToken: values.ACCESSBOT_METRICS_TOKEN,
    policyFile: values.ACCESS_POLICY_FILE,
    logLevel: values.LOG_LEVEL,
    sweepSchedule: values.ACCESSBOT_SWEEP_SCHEDULE,
    autoMigrate: values.ACCESSBOT_AUTO_MIGRATE === "true" || values.ACCESSBOT_AUTO_MIGRATE === "1",
    inboxFlush: values.ACCESSBOT_INBOX_FLUSH === "true" || values.ACCESSBOT_INBOX_FLUSH === "1",
    inboxJournalDir: values.ACCESSBOT_INBOX_JOURNAL_DIR,
    idleScheduling: values.ACCESSBOT_IDLE_SCHEDULING === "true" || values.ACCESSBOT_IDLE_SCHEDULING === "1",
    groupCacheSeconds: values.ACCESSBOT_GROUP_CACHE_SECONDS,
    checkpoint: { everyEntries: values.ACCESSBOT_CHECKPOINT_EVERY_ENTRIES, everyMinutes: values.ACCESSBOT_CHECKPOINT_EVERY_MINUTES },
    audit: { webhookUrl: values.AUDIT_WEBHOOK_URL, webhookSecret: values.AUDIT_WEBHOOK_SECRET, checkpointWebhookUrl: values.AUDIT_CHECKPOINT_WEBHOOK },
  };
}
