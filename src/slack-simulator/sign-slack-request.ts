/**
 * Signs and sends requests to the bot exactly as Slack does: `v0=` HMAC-SHA256 with the
 * signing secret over `v0:<ts>:<raw body>`, in `X-Slack-Signature` and
 * `X-Slack-Request-Timestamp`, with Slack's retry headers when asked. Shared by the tests
 * and the sandbox (src/sandbox/), so a click in the sandbox's page reaches the bot as the
 * same signed request Slack would send.
 */
import { createHmac } from "node:crypto";

export type SlackContentType = "application/x-www-form-urlencoded" | "application/json";

export interface SlackSignatureHeaders {
  "x-slack-signature": string;
  "x-slack-request-timestamp": string;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSeconds: number = nowSeconds(),
): SlackSignatureHeaders {
  const digest = createHmac("sha256", signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest("hex");
  return { "x-slack-signature": `v0=${digest}`, "x-slack-request-timestamp": String(timestampSeconds) };
}

export interface PostToBotOptions {
  body: string;
  contentType: SlackContentType;
  /** Adds `X-Slack-Retry-Num` (Slack's redelivery counter, 1..3). */
  retryNum?: number;
  /** Adds `X-Slack-Retry-Reason`, e.g. "http_timeout", "http_error", "too_many_requests". */
  retryReason?: string;
  /** Signing timestamp in seconds; use an old one to simulate a replay. */
  timestamp?: number;
  /** Sign, then corrupt the signature (one hex digit flipped). */
  badSignature?: boolean;
  headers?: Record<string, string>;
}

export interface BotResponse {
  status: number;
  text: string;
  /** Parsed body when it is JSON. */
  json?: unknown;
  headers: Headers;
}

function corruptSignature(signature: string): string {
  const last = signature.at(-1) === "0" ? "1" : "0";
  return `${signature.slice(0, -1)}${last}`;
}

export async function postToBot(botUrl: string, signingSecret: string, options: PostToBotOptions): Promise<BotResponse> {
  const signed = signSlackRequest(signingSecret, options.body, options.timestamp ?? nowSeconds());
  const headers: Record<string, string> = {
    "content-type": options.contentType,
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    accept: "application/json,*/*",
    "x-slack-request-timestamp": signed["x-slack-request-timestamp"],
    "x-slack-signature": options.badSignature === true ? corruptSignature(signed["x-slack-signature"]) : signed["x-slack-signature"],
    ...(options.retryNum !== undefined ? { "x-slack-retry-num": String(options.retryNum) } : {}),
    ...(options.retryReason !== undefined ? { "x-slack-retry-reason": options.retryReason } : {}),
    ...options.headers,
  };
  const response = await fetch(botUrl, { method: "POST", headers, body: options.body });
  const text = await response.text();
  return { status: response.status, text, ...parseJson(text), headers: response.headers };
}

function parseJson(text: string): { json?: unknown } {
  if (text === "") return {};
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return {};
  }
}
