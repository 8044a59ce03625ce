import { WebClient, type WebAPICallError } from "@slack/web-api";
import type { Logger } from "pino";
import type { AppConfig } from "../config/read-env-config.js";
import { toBoltLogger } from "../logging/create-logger.js";

/** A start-up failure whose message says what to fix; `accessbot start` prints it as one line. */
export class StartupError extends Error {
  readonly code = "STARTUP_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

const REJECTED = new Set(["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type", "missing_scope", "ekm_access_denied"]);

/**
 * Asks Slack, before anything else starts, whether it takes the bot token (`auth.test`) and,
 * in Socket Mode, the app token (`apps.connections.open`, whose URL is then left unused). A
 * rejected token or an unreachable Slack becomes one StartupError naming the fix, so the
 * process exits instead of running half-connected with a failing health check.
 */
export async function checkSlackCredentials(config: AppConfig, options: { log: Logger; timeoutMs: number; fetch?: typeof globalThis.fetch }): Promise<{ workspaceUrl: string | null }> {
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    timeout: options.timeoutMs,
    retryConfig: { retries: 1, factor: 1, minTimeout: 500, maxTimeout: 500 },
    // The outcome is reported once, below; the client's own retry chatter would be noise.
    logger: toBoltLogger(options.log.child({}, { level: "silent" })),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  let workspaceUrl: string | null;
  try {
    workspaceUrl = (await new WebClient(config.slack.botToken, clientOptions).auth.test()).url ?? null;
  } catch (error) {
    throw describe(error as WebAPICallError, "SLACK_BOT_TOKEN", config.slack.apiUrl);
  }
  if (config.slack.appToken) {
    try {
      await new WebClient(config.slack.appToken, clientOptions).apps.connections.open();
    } catch (error) {
      throw describe(error as WebAPICallError, "SLACK_APP_TOKEN", config.slack.apiUrl);
    }
  }
  return { workspaceUrl };
}

function describe(error: WebAPICallError, variable: "SLACK_BOT_TOKEN" | "SLACK_APP_TOKEN", apiUrl: string): StartupError {
  const fix =
    variable === "SLACK_BOT_TOKEN"
      ? "copy the Bot User OAuth Token (xoxb-…) again from your Slack app's OAuth & Permissions page (reinstall the app if it was revoked)"
      : "create an app-level token with the connections:write scope (Basic Information → App-Level Tokens) and set it, or unset SLACK_APP_TOKEN to use HTTP mode";
  switch (error.code) {
    case "slack_webapi_platform_error": {
      const code = error.data.error;
      if (REJECTED.has(code)) return new StartupError(`Slack rejected ${variable} (${code}): ${fix}.`);
      return new StartupError(`Slack refused ${variable === "SLACK_BOT_TOKEN" ? "auth.test" : "apps.connections.open"} (${code}) at ${apiUrl}: ${fix}, and check SLACK_API_URL.`);
    }
    case "slack_webapi_http_error":
      return new StartupError(`Slack answered HTTP ${error.statusCode} at ${apiUrl} when checking ${variable}: if SLACK_API_URL is right, Slack may be having an outage (https://slack-status.com); start again later.`);
    case "slack_webapi_rate_limited_error":
      return new StartupError(`Slack rate-limited the check of ${variable} (retry after ${error.retryAfter} s): start again in a minute.`);
    case "slack_webapi_request_error": {
      const cause = error.original as (Error & { code?: string; cause?: { code?: string } }) | undefined;
      const inner = cause?.cause as (Error & { code?: string }) | undefined;
      // fetch's own TypeError says only "fetch failed"; its cause says why (ECONNREFUSED, ENOTFOUND, "bad port", a timeout).
      const reason = inner?.code ?? cause?.code ?? inner?.message ?? (cause?.name === "TimeoutError" ? "no answer in time" : cause?.message) ?? "no answer";
      return new StartupError(`Slack is unreachable at ${apiUrl} (${reason}): check the network, any proxy or firewall, and SLACK_API_URL, then start again.`);
    }
    default:
      return new StartupError(`Could not check ${variable} with Slack at ${apiUrl} (${error.message}): check the network and SLACK_API_URL, then start again.`);
  }
}
