import { randomUUID } from "node:crypto";
import { App, type Receiver } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { AppConfig } from "../config/read-env-config.js";
import { toBoltLogger } from "../logging/create-logger.js";
import { guardHttpRequests } from "./guard-http-requests.js";
import type { OperationalRoute } from "./operational-routes.js";

export interface BoltAppOptions {
  /** GET routes served beside /slack/events (HTTP mode only; Socket Mode serves them itself, ack-thread.ts). */
  routes?: OperationalRoute[];
  /** Listeners keep working after they ack; tracking them lets shutdown (and tests) wait for that work. */
  inFlight?: Set<Promise<unknown>>;
  slackTimeoutMs?: number;
  receiver?: Receiver;
  /** The Web API client's transport (instrument-slack-fetch.ts counts every call through it). */
  fetch?: typeof globalThis.fetch;
}

const DEFAULT_SLACK_TIMEOUT_MS = 10_000;

/**
 * The client for posts that must not repeat (once-only-poster.ts): the app's token, address,
 * timeout and transport, but no retries of its own (a retry after a lost answer could post
 * twice) and rate limits handed back to the caller instead of waited out.
 */
export function createPostingClient(config: AppConfig, log: Logger, options: Pick<BoltAppOptions, "slackTimeoutMs" | "fetch"> = {}): WebClient {
  return new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    logger: toBoltLogger(log),
    timeout: options.slackTimeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/**
 * Bolt in HTTP mode (signature verification on, POST /slack/events) or Socket Mode when an
 * app token is set; or, with `receiver`, the bot's own app, which gets its requests from the
 * ack thread (start-ack-thread.ts). Every Web API call goes to `SLACK_API_URL`.
 */
export function createBoltApp(config: AppConfig, log: Logger, options: BoltAppOptions = {}): App {
  const { inFlight, receiver } = options;
  const slackTimeoutMs = options.slackTimeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS;
  const logger = toBoltLogger(log);
  const common = {
    token: config.slack.botToken,
    logger,
    // Why: a Slack call that never answers must not hold a job (or shutdown) forever; work is
    // retried from durable state instead, so a few quick retries here are enough.
    clientOptions: { slackApiUrl: config.slack.apiUrl, timeout: slackTimeoutMs, retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 }, ...(options.fetch ? { fetch: options.fetch } : {}) },
  };
  // Socket Mode: the receiver's own WebClient (apps.connections.open with the app token) takes
  // `installerOptions.clientOptions`. Bolt would otherwise hand it the very object given as
  // `clientOptions`, which the SocketModeClient then mutates (retryConfig: 100 retries) and
  // every listener's `client` inherits. A separate object keeps SLACK_API_URL and nothing else.
  const app = receiver
    ? new App({ token: common.token, logger, clientOptions: common.clientOptions, receiver })
    : config.slack.appToken
    ? new App({ ...common, appToken: config.slack.appToken, socketMode: true, installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl } } })
    : new App({ ...common, customRoutes: options.routes ?? [], signingSecret: config.slack.signingSecret!, endpoints: "/slack/events" });

  if (!receiver && !config.slack.appToken) {
    const http = (app as unknown as { receiver?: { requestListener: Parameters<typeof guardHttpRequests>[0]["requestListener"] } }).receiver;
    if (http) guardHttpRequests(http, log);
  }

  app.use(async ({ body, context, next }) => {
    const payload = body as { type?: string; command?: string; actions?: Array<{ action_id?: string }>; view?: { callback_id?: string } };
    context.log = log.child({
      slackRequest: randomUUID(),
      team: context.teamId,
      user: context.userId,
      kind: payload.type ?? (payload.command ? "slash_command" : "unknown"),
      command: payload.command,
      action: payload.actions?.[0]?.action_id,
      callback: payload.view?.callback_id,
      retryNum: context.retryNum,
    });
    // Listeners keep working after they ack; tracking them lets shutdown (and tests) wait for that work.
    const handling = next();
    inFlight?.add(handling);
    try {
      await handling;
    } finally {
      inFlight?.delete(handling);
    }
  });

  app.error(async (error) => {
    log.error({ err: error }, "unhandled error in a Slack listener");
  });
  return app;
}
