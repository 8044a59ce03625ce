/**
 * A local, stateful stand-in for slack.com that the tests and the sandbox (src/sandbox/) point the bot at via
 * `SLACK_API_URL` (Bolt's `clientOptions.slackApiUrl`).
 *
 * It is a real `node:http` server, so the bot's own `WebClient` (form-encoded
 * POSTs, `Authorization: Bearer`, p-retry on 429) and Bolt's `respond()` (JSON
 * POST to a response_url) run unmodified against it. Responses follow the
 * shapes slack.com returns: HTTP 200 with `{ ok: true, ... }` or
 * `{ ok: false, error }`, and HTTP 429 + `Retry-After` for rate limits.
 *
 * Deliberate realism (so tests catch bugs slack.com would catch):
 * - `chat.postMessage` to a user id lands in that user's DM (`D…`) and the
 *   response's `channel` is the DM id; `chat.update` / `chat.getPermalink`
 *   need a real channel id (a `U…` id gives `channel_not_found`, as on Slack).
 * - Blocks without a `block_id` get one assigned, and common Block Kit limits
 *   (section text <= 3000 chars, button text <= 75, modal title <= 24, ...)
 *   are enforced with Slack's `invalid_blocks` / `invalid_arguments` errors.
 * - trigger_ids must look like Slack's (`digits.digits.hex`), are single use
 *   (`exchanged_trigger_id`) and, when issued by `issueTriggerId()`, expire
 *   after 3 s (`expired_trigger_id`).
 * - JSON bodies must carry the token in the Authorization header; a `token`
 *   field inside a JSON body is ignored, as slack.com does.
 * - response_urls accept at most 5 posts.
 *
 * Socket Mode (an app started with an `xapp-` token) runs against the same server:
 * - `apps.connections.open` needs the app-level token in the Authorization header
 *   (a bot token gets `not_allowed_token_type`, as on Slack) and answers a
 *   single-use `ws://127.0.0.1:PORT/socket?ticket=…` URL.
 * - The WebSocket endpoint (the `ws` package) sends Slack's `hello` on connect.
 *   `sendEnvelope()` delivers `{ envelope_id, type, payload, accepts_response_payload }`
 *   to the app and resolves with its ack `{ envelope_id, payload? }`, or rejects
 *   with `SocketAckTimeoutError` when none arrives within 3 s (Slack's deadline);
 *   `redeliver()` sends the same payload again as Slack's retry
 *   (`retry_attempt` + 1, `retry_reason`).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface SimUser {
  id: string;
  /** The user's handle (Slack's `name`). */
  name: string;
  realName?: string;
  displayName?: string;
  email?: string;
  isBot?: boolean;
  deleted?: boolean;
  teamId?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  /** IANA zone, default America/Los_Angeles (Slack's default). */
  tz?: string;
}

export interface SimChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Default true. When false, chat.postMessage answers `not_in_channel`. */
  botIsMember?: boolean;
  /** When set, chat.postEphemeral to a user outside it answers `user_not_in_channel`. */
  members?: string[];
}

/**
 * `hang`: the request is held open unanswered and has no effect. `lost-response`: the call
 * takes effect, then its answer never comes (held open like `hang`): what a client sees when
 * Slack did the work but the response was lost or late, so a blind retry would repeat it.
 */
export type TransportFault = "hang" | "http500" | "drop" | "lost-response";

export interface SlackSimulatorOptions {
  botToken?: string;
  teamId?: string;
  botUserId?: string;
  users?: SimUser[];
  usergroups?: Record<string, string[]>;
  /** Known channels; default is a single `#general` (SIM_DEFAULTS.channelId). */
  channels?: SimChannel[];
  teamName?: string;
  teamDomain?: string;
  botId?: string;
  appId?: string;
  botName?: string;
  /** Lifetime of trigger_ids issued by `issueTriggerId()`; Slack's is 3 s. */
  triggerTtlMs?: number;
  /** The app-level token (`xapp-…`) `apps.connections.open` accepts. */
  appToken?: string;
  /** How long `sendEnvelope()` waits for the app's ack by default; Slack's deadline is 3 s. */
  ackTimeoutMs?: number;
}

export type SlackParams = Record<string, unknown>;

/** What the Web API answers: `{ ok: true, ... }` or `{ ok: false, error, ... }`. */
export interface SlackApiResult {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export interface SimCall {
  method: string;
  /** Decoded parameters (JSON-in-form fields like `blocks` are parsed); `token` is removed. */
  params: SlackParams;
  at: number;
  /** The token presented (Bearer header or form `token` field), if any. */
  token: string | undefined;
  httpMethod: string;
  contentType: string | undefined;
  /** HTTP status answered: 200, or 429 when rate limited. */
  status: number;
  result: SlackApiResult;
}

export interface SimMessageVersion {
  text: string;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  at: number;
  source: "chat.postMessage" | "chat.update" | "response_url";
}

export interface SimMessage {
  channel: string;
  ts: string;
  type: "message";
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  /** Author user id (the bot user for bot posts). */
  user: string;
  bot_id?: string;
  app_id?: string;
  team: string;
  thread_ts?: string;
  reply_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  deleted?: boolean;
  /** Every version of the message, oldest first; the last equals the current state. */
  history: SimMessageVersion[];
}

export interface SimEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  at: number;
  source: "chat.postEphemeral" | "response_url";
}

export interface SlackView {
  id: string;
  team_id: string;
  type: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, unknown> };
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  previous_view_id: string | null;
  root_view_id: string;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
}

/** A file uploaded with files.getUploadURLExternal → upload URL → files.completeUploadExternal. */
export interface SimFile {
  id: string;
  filename: string;
  /** The length the app declared when it asked for the upload URL. */
  length: number;
  title: string | undefined;
  altText: string | undefined;
  /** What was posted to the upload URL (undefined until then). */
  bytes: Buffer | undefined;
  completed: boolean;
  /** Where files.completeUploadExternal shared it (none: a private file, usable in image blocks). */
  shares: Array<{ channel: string; threadTs: string | undefined; ts: string }>;
}

export interface SimView extends SlackView {
  /** Simulator bookkeeping, not part of Slack's view object. */
  trigger_id: string | undefined;
  user_id: string | undefined;
  opened_via: "views.open" | "views.push";
  history: Array<{ hash: string; at: number; via: "views.open" | "views.push" | "views.update"; view: SlackView }>;
}

/** One person's Home tab as views.publish left it, with every earlier version. */
export interface SimHomeView extends SlackView {
  user_id: string;
  history: Array<{ hash: string; at: number; view: SlackView }>;
}

export interface SimResponse {
  key: string;
  body: unknown;
  at: number;
  status: number;
  /** What the post did to simulator state. */
  effect: "replaced" | "deleted" | "posted" | "ephemeral" | "none" | "rejected";
}

export interface ResponseUrlBinding {
  /** Channel of the message the response_url belongs to (enables replace/delete_original). */
  channel?: string;
  messageTs?: string;
  /** The user who triggered the interaction (receives ephemeral responses). */
  userId?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
}

/** The envelope types Slack sends over a Socket Mode connection (besides `hello` and `disconnect`). */
export type SocketEnvelopeType = "slash_commands" | "interactive" | "events_api";

export interface SocketEnvelopeInput {
  type: SocketEnvelopeType;
  /**
   * What Slack puts in `payload`: the slash command's fields (as strings), the
   * interactivity payload object (`block_actions`, `view_submission`, …), or the
   * Events API body (`{ type: "event_callback", event: { type, … }, … }`).
   */
  payload: Record<string, unknown>;
  /** 0 for a first delivery (the default); Slack numbers its redeliveries 1..3. */
  retryAttempt?: number;
  /** Why Slack redelivered; default "timeout" when retryAttempt > 0. */
  retryReason?: string;
  /** Default: true for slash_commands and interactive, false for events_api (as Slack sends them). */
  acceptsResponsePayload?: boolean;
}

export interface SocketSendOptions {
  /** How long to wait for the app's ack; default `ackTimeoutMs` (3 s, Slack's deadline). */
  ackTimeoutMs?: number;
}

export interface SimSocketConnection {
  id: number;
  /** The ticket from the `apps.connections.open` URL this connection used. */
  ticket: string;
  openedAt: number;
  /** When the `hello` message was sent. */
  helloAt: number | undefined;
  closedAt: number | undefined;
  closeCode: number | undefined;
}

export interface SocketDelivery {
  envelope_id: string;
  type: SocketEnvelopeType;
  payload: Record<string, unknown>;
  retryAttempt: number;
  retryReason: string | undefined;
  /** The JSON message exactly as sent on the WebSocket. */
  frame: Record<string, unknown>;
  connectionId: number;
  sentAt: number;
  status: "pending" | "acked" | "timed_out" | "connection_closed";
  /** The app's ack, recorded even when it came after the deadline (`late`). */
  ack?: { payload: Record<string, unknown> | undefined; at: number; late: boolean };
}

export interface SocketAck {
  envelope_id: string;
  /** The `payload` the app acked with (Bolt always sends one: `{}` for a bare `ack()`). */
  payload: Record<string, unknown> | undefined;
  /** Milliseconds from delivery to ack. */
  ms: number;
  delivery: SocketDelivery;
}

/** No ack within the deadline: Slack would retry (events) or show the user an error. */
export class SocketAckTimeoutError extends Error {
  constructor(readonly delivery: SocketDelivery, timeoutMs: number, activity: string) {
    super(`No ack for ${delivery.type} envelope ${delivery.envelope_id} within ${timeoutMs} ms.\n${activity}`);
    this.name = "SocketAckTimeoutError";
  }
}

export interface SlackSimulator {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/api/` — give this to Bolt as `clientOptions.slackApiUrl`. */
  readonly apiUrl: string;
  readonly botToken: string;
  /** The app-level token (`xapp-…`) for Socket Mode. */
  readonly appToken: string;
  readonly teamId: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  /** Live array of every Web API call, in arrival order. */
  /** Every transport fault served (hang, http500, drop, lost-response), in order. */
  readonly faultLog: Array<{ method: string; fault: TransportFault; at: number }>;
  /** Hang, fail with HTTP 500, drop the connection, or do the work and lose the answer, for the next `times` calls of `method` ("*": any). */
  injectFault(method: string, fault: TransportFault, options?: { times?: number }): void;
  /** Ends queued faults and rate limits, and closes hung requests. */
  clearFaults(): void;
  readonly hungCount: number;
  readonly calls: SimCall[];
  /** Live array of every response_url post, in arrival order. */
  readonly responses: SimResponse[];
  /** Live array of every Socket Mode connection ever opened, oldest first. */
  readonly socketConnections: SimSocketConnection[];
  /** Live array of every envelope delivered over Socket Mode, in send order. */
  readonly deliveries: SocketDelivery[];

  callsTo(method: string): SimCall[];
  waitFor<T>(predicate: (sim: SlackSimulator) => T | undefined | null | false, options?: WaitOptions): Promise<T>;
  waitForCall(method: string, predicate?: (call: SimCall) => boolean, options?: WaitOptions): Promise<SimCall>;
  waitForResponse(predicate?: (response: SimResponse) => boolean, options?: WaitOptions): Promise<SimResponse>;
  /** Calls `listener` after every change of state (a call, a response, a delivery); returns the unsubscribe. */
  onChange(listener: () => void): () => void;

  /** Messages currently in a channel (a user id means that user's DM), oldest first. Copies. */
  messages(channel: string, options?: { includeDeleted?: boolean }): SimMessage[];
  message(channel: string, ts: string): SimMessage | undefined;
  ephemerals(channel?: string): SimEphemeral[];
  views(): SimView[];
  view(id: string): SimView | undefined;
  /** The Home tab last published for a user (views.publish), with its history; a copy. */
  homeView(userId: string): SimHomeView | undefined;
  /** Every file an upload URL was issued for, oldest first. Copies. */
  files(): SimFile[];
  dmChannelFor(userId: string): string;

  addUser(user: SimUser): void;
  addChannel(channel: SimChannel): void;
  setBotMembership(channelId: string, isMember: boolean): void;
  setUsergroup(id: string, users: string[]): void;
  /** A Slack-format trigger_id that expires after `triggerTtlMs`, optionally tied to a user. */
  issueTriggerId(userId?: string): string;
  responseUrl(key?: string, binding?: ResponseUrlBinding): string;

  failNext(method: string, error: string, options?: { times?: number }): void;
  rateLimit(method: string, options?: { times?: number; retryAfterSeconds?: number }): void;

  /** Resolves once an app holds an open Socket Mode connection that has been sent `hello`. */
  socketConnected(options?: WaitOptions): Promise<SimSocketConnection>;
  /** Closes every open Socket Mode connection (as Slack does when it moves an app); the app reconnects if it can. */
  dropSocketConnections(): Promise<void>;
  /**
   * Delivers an envelope to the connected app (the newest open connection) and resolves with
   * its ack; rejects with `SocketAckTimeoutError` if none arrives in time, or at once when no
   * app is connected.
   */
  sendEnvelope(input: SocketEnvelopeInput, options?: SocketSendOptions): Promise<SocketAck>;
  /** Slack's retry of an earlier delivery: same type and payload, `retry_attempt` + 1, a new envelope_id. */
  redeliver(previous: SocketDelivery | SocketAck, options?: SocketSendOptions & { retryReason?: string }): Promise<SocketAck>;

  /** Forget calls, responses, messages, views, deliveries and injections; restore configured users/channels/groups. */
  reset(): void;
  close(): Promise<void>;
}

export const SIM_DEFAULTS = {
  botToken: "xoxb-simulator",
  teamId: "T0SIMTEAM1",
  teamName: "Simulated Workspace",
  teamDomain: "sim-workspace",
  botUserId: "U0SIMBOT01",
  botId: "B0SIMBOT01",
  appId: "A0SIMAPP01",
  botName: "accessbot",
  channelId: "C0GENERAL1",
  channelName: "general",
  triggerTtlMs: 3000,
  appToken: "xapp-simulator",
  ackTimeoutMs: 3000,
} as const;

// ---------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------

/** Slack trigger_ids look like `12345.98765.abcd2358fdea`. */
const TRIGGER_ID_PATTERN = /^\d+\.\d+\.[0-9a-f]+$/;
/** Form fields that Slack's clients send as JSON strings. */
const JSON_FORM_FIELDS = new Set(["blocks", "attachments", "view", "metadata", "user_auth_blocks", "files"]);
const MAX_RESPONSE_URL_USES = 5;
/** Web API methods that take the app-level token instead of the bot token. */
const APP_TOKEN_METHODS = new Set(["apps.connections.open"]);
/** Slack retries an unacknowledged delivery at most 3 times. */
const MAX_RETRY_ATTEMPT = 3;
const ENVELOPE_TYPES: ReadonlySet<string> = new Set<SocketEnvelopeType>(["slash_commands", "interactive", "events_api"]);
/** What Slack stores as `text` when a message is posted with blocks but no text. */
const BLOCKS_ONLY_TEXT = "This content can't be displayed.";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ok(fields: Record<string, unknown> = {}): SlackApiResult {
  return { ok: true, ...fields };
}

function fail(error: string, fields: Record<string, unknown> = {}): SlackApiResult {
  return { ok: false, error, ...fields };
}

/** Slack reports argument problems as `[ERROR] ...` lines in response_metadata.messages. */
function failWithMessages(error: string, problems: string[]): SlackApiResult {
  return fail(error, { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
}

/** Form values are strings but JSON bodies may carry numbers; Slack treats both as text. */
function str(params: SlackParams, key: string): string | undefined {
  const value = params[key];
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function truthy(value: unknown): boolean {
  return value === true || value === "true" || value === "1" || value === 1;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomChars(length: number, alphabet = ALPHANUMERIC): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

function randomDigits(length: number): string {
  return randomChars(length, "0123456789");
}

/** A trigger_id in Slack's format. */
export function generateTriggerId(): string {
  return `${randomDigits(12)}.${randomDigits(11)}.${randomBytes(16).toString("hex")}`;
}

function deepCopy<T>(value: T): T {
  return structuredClone(value);
}

/** Slack message timestamps: unique, strictly increasing, `seconds.micros` (6 digits). */
class TsClock {
  private lastMicros = 0;

  next(): string {
    // Date.now() * 1000 stays well below 2^53, so integer math is exact.
    const micros = Math.max(Date.now() * 1000, this.lastMicros + 100);
    this.lastMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, "0")}`;
  }
}

function contentTypeBase(header: string | undefined): string | undefined {
  return header?.split(";")[0]?.trim().toLowerCase();
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html" });
  res.end(body);
}

// ---------------------------------------------------------------------------
// Request parsing: form-encoded (what WebClient sends) and JSON
// ---------------------------------------------------------------------------

interface ParsedApiRequest {
  params: SlackParams;
  /** Token from a form field; Slack ignores `token` inside JSON bodies. */
  fieldToken: string | undefined;
  error: string | undefined;
  warnings: string[];
}

function decodeFormValue(key: string, value: string): unknown {
  if (!JSON_FORM_FIELDS.has(key)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // kept raw so the handler can answer invalid_blocks_format etc.
  }
}

function parseForm(raw: string, into: SlackParams): void {
  for (const [key, value] of new URLSearchParams(raw)) into[key] = decodeFormValue(key, value);
}

function parseApiRequest(req: IncomingMessage, url: URL, raw: string): ParsedApiRequest {
  const params: SlackParams = {};
  parseForm(url.search.slice(1), params);
  const warnings: string[] = [];
  const header = req.headers["content-type"];
  const type = contentTypeBase(header);
  let error: string | undefined;
  let fieldToken = str(params, "token");

  if (raw.length > 0 && type === "application/json") {
    if (!/charset=/i.test(header ?? "")) warnings.push("missing_charset");
    try {
      const body: unknown = JSON.parse(raw);
      if (isRecord(body)) Object.assign(params, body);
      else error = "json_not_object";
    } catch {
      error = "invalid_json";
    }
    // slack.com only accepts the token from the Authorization header when the body is JSON.
    fieldToken = undefined;
  } else if (raw.length > 0 && (type === "application/x-www-form-urlencoded" || type === undefined)) {
    parseForm(raw, params);
    fieldToken = str(params, "token");
  } else if (raw.length > 0) {
    error = "invalid_form_data"; // multipart (file uploads) is not simulated
  }
  delete params.token;
  return { params, fieldToken, error, warnings };
}

// ---------------------------------------------------------------------------
// Block Kit validation (a focused subset of Slack's limits)
// ---------------------------------------------------------------------------

const BLOCK_TYPES = new Set([
  "section", "actions", "context", "divider", "header", "image", "input", "rich_text",
  "file", "video", "markdown", "table", "context_actions",
]);

function tooLong(pointer: string, max: number): string {
  return `must be less than ${max + 1} characters [json-pointer:${pointer}]`;
}

function checkTextObject(value: unknown, pointer: string, max: number, plainOnly: boolean, problems: string[]): void {
  if (!isRecord(value)) {
    problems.push(`expected object [json-pointer:${pointer}]`);
    return;
  }
  const allowed = plainOnly ? ["plain_text"] : ["plain_text", "mrkdwn"];
  if (typeof value.type !== "string" || !allowed.includes(value.type)) {
    problems.push(`must be one of ${allowed.join(", ")} [json-pointer:${pointer}/type]`);
  }
  if (typeof value.text !== "string" || value.text.length === 0) {
    problems.push(`must be more than 0 characters [json-pointer:${pointer}/text]`);
  } else if (value.text.length > max) {
    problems.push(tooLong(`${pointer}/text`, max));
  }
}

function checkElement(element: unknown, pointer: string, actionIds: Set<string>, problems: string[]): void {
  if (!isRecord(element)) return;
  if (typeof element.action_id === "string") {
    if (element.action_id.length > 255) problems.push(tooLong(`${pointer}/action_id`, 255));
    // Slack requires action_ids to be unique within their block.
    if (actionIds.has(element.action_id)) problems.push(`duplicate action_id [json-pointer:${pointer}/action_id]`);
    actionIds.add(element.action_id);
  }
  if (element.type === "button") {
    checkTextObject(element.text, `${pointer}/text`, 75, true, problems);
    if (typeof element.value === "string" && element.value.length > 2000) problems.push(tooLong(`${pointer}/value`, 2000));
    if (typeof element.url === "string" && element.url.length > 3000) problems.push(tooLong(`${pointer}/url`, 3000));
  }
}

function checkBlock(block: unknown, pointer: string, problems: string[]): void {
  if (!isRecord(block) || typeof block.type !== "string") {
    problems.push(`missing required field: type [json-pointer:${pointer}]`);
    return;
  }
  if (!BLOCK_TYPES.has(block.type)) problems.push(`unsupported type: ${block.type} [json-pointer:${pointer}/type]`);
  if (typeof block.block_id === "string" && block.block_id.length > 255) problems.push(tooLong(`${pointer}/block_id`, 255));
  const actionIds = new Set<string>();
  switch (block.type) {
    case "section":
      if (block.text === undefined && block.fields === undefined) problems.push(`must provide text or fields [json-pointer:${pointer}]`);
      if (block.text !== undefined) checkTextObject(block.text, `${pointer}/text`, 3000, false, problems);
      if (Array.isArray(block.fields)) {
        if (block.fields.length > 10) problems.push(`must provide no more than 10 items [json-pointer:${pointer}/fields]`);
        block.fields.forEach((f, i) => checkTextObject(f, `${pointer}/fields/${i}`, 2000, false, problems));
      }
      checkElement(block.accessory, `${pointer}/accessory`, actionIds, problems);
      break;
    case "header":
      checkTextObject(block.text, `${pointer}/text`, 150, true, problems);
      break;
    case "actions":
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        problems.push(`must provide at least 1 item [json-pointer:${pointer}/elements]`);
      } else {
        if (block.elements.length > 25) problems.push(`must provide no more than 25 items [json-pointer:${pointer}/elements]`);
        block.elements.forEach((e, i) => checkElement(e, `${pointer}/elements/${i}`, actionIds, problems));
      }
      break;
    case "context":
      if (Array.isArray(block.elements) && block.elements.length > 10) {
        problems.push(`must provide no more than 10 items [json-pointer:${pointer}/elements]`);
      }
      break;
    case "image":
      if (typeof block.alt_text !== "string" || block.alt_text === "") problems.push(`missing required field: alt_text [json-pointer:${pointer}]`);
      else if (block.alt_text.length > 2000) problems.push(tooLong(`${pointer}/alt_text`, 2000));
      if ((block.image_url === undefined) === (block.slack_file === undefined)) problems.push(`must provide exactly one of image_url or slack_file [json-pointer:${pointer}]`);
      break;
    case "input":
      checkTextObject(block.label, `${pointer}/label`, 2000, true, problems);
      if (!isRecord(block.element)) problems.push(`missing required field: element [json-pointer:${pointer}]`);
      else checkElement(block.element, `${pointer}/element`, actionIds, problems);
      break;
    default:
      break;
  }
}

/** Returns Slack-style problem strings; empty when valid. */
function validateBlocks(blocks: unknown[], pointer: string, maxBlocks: number): string[] {
  const problems: string[] = [];
  if (blocks.length > maxBlocks) problems.push(`must provide no more than ${maxBlocks} items [json-pointer:${pointer}]`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    checkBlock(block, `${pointer}/${i}`, problems);
    if (isRecord(block) && typeof block.block_id === "string") {
      if (blockIds.has(block.block_id)) problems.push(`duplicate block_id [json-pointer:${pointer}/${i}/block_id]`);
      blockIds.add(block.block_id);
    }
  });
  return problems;
}

/** Slack gives every block without a block_id a random one (state values are keyed by it). */
function assignBlockIds(blocks: unknown[]): unknown[] {
  return blocks.map((block) =>
    isRecord(block) && block.block_id === undefined ? { ...block, block_id: randomChars(5) } : block,
  );
}

function validateView(view: unknown, allowedTypes: string[]): string[] {
  if (!isRecord(view)) return ["missing required field: view"];
  const problems: string[] = [];
  if (typeof view.type !== "string" || !allowedTypes.includes(view.type)) {
    problems.push(`must be one of ${allowedTypes.join(", ")} [json-pointer:/view/type]`);
  }
  const blocks = view.blocks;
  if (!Array.isArray(blocks)) problems.push("missing required field: blocks [json-pointer:/view]");
  else problems.push(...validateBlocks(blocks, "/view/blocks", 100));
  if (view.type === "modal") {
    checkTextObject(view.title, "/view/title", 24, true, problems);
    if (view.submit !== undefined) checkTextObject(view.submit, "/view/submit", 24, true, problems);
    if (view.close !== undefined) checkTextObject(view.close, "/view/close", 24, true, problems);
    const hasInput = Array.isArray(blocks) && blocks.some((b) => isRecord(b) && b.type === "input");
    if (hasInput && view.submit === undefined) {
      problems.push("must provide a submit property when using input blocks [json-pointer:/view]");
    }
  }
  if (typeof view.private_metadata === "string" && view.private_metadata.length > 3000) {
    problems.push(tooLong("/view/private_metadata", 3000));
  }
  if (typeof view.callback_id === "string" && view.callback_id.length > 255) problems.push(tooLong("/view/callback_id", 255));
  if (typeof view.external_id === "string" && view.external_id.length > 255) problems.push(tooLong("/view/external_id", 255));
  return problems;
}

// ---------------------------------------------------------------------------
// Time zone helpers for users.info
// ---------------------------------------------------------------------------

function tzLabel(tz: string): string {
  const part = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "long" })
    .formatToParts(new Date())
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? tz;
}

function tzOffsetSeconds(tz: string): number {
  const part = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
    .formatToParts(new Date())
    .find((p) => p.type === "timeZoneName");
  const match = part?.value.match(/GMT([+-])(\d{2}):(\d{2})/);
  if (!match) return 0;
  const sign = match[1] === "-" ? -1 : 1;
  return sign * (Number(match[2]) * 3600 + Number(match[3]) * 60);
}

// ---------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------

type Handler = (params: SlackParams) => SlackApiResult;

interface Injection {
  remaining: number;
}

interface ResolvedChannel {
  id: string;
  kind: "channel" | "im";
  /** Set for DMs. */
  userId?: string;
  record?: SimChannel;
}

interface ResponseUrlState {
  binding: ResponseUrlBinding;
  uses: number;
}

interface Waiter {
  check: () => void;
  cancel: (reason: Error) => void;
}

interface SocketState {
  record: SimSocketConnection;
  ws: WebSocket;
}

interface PendingAck {
  delivery: SocketDelivery;
  resolve: (ack: SocketAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

class SlackSimulatorImpl implements SlackSimulator {
  readonly calls: SimCall[] = [];
  /** Every transport fault served, in order. */
  readonly faultLog: Array<{ method: string; fault: TransportFault; at: number }> = [];
  readonly responses: SimResponse[] = [];
  readonly socketConnections: SimSocketConnection[] = [];
  readonly deliveries: SocketDelivery[] = [];
  readonly botToken: string;
  readonly appToken: string;
  readonly teamId: string;
  readonly teamDomain: string;
  readonly teamName: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly botName: string;
  private readonly triggerTtlMs: number;
  private readonly ackTimeoutMs: number;
  private readonly initial: { users: SimUser[]; channels: SimChannel[]; usergroups: Record<string, string[]> };

  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Map<number, SocketState>();
  private readonly pendingAcks = new Map<string, PendingAck>();
  /** Tickets from apps.connections.open not yet used to connect. */
  private readonly socketTickets = new Set<string>();
  /** Acks whose envelope_id matched no delivery. */
  private readonly strayAcks: Array<{ at: number; connectionId: number; data: string }> = [];
  private socketCounter = 0;
  private readonly events = new EventEmitter();
  private readonly waiters = new Set<Waiter>();
  private readonly clock = new TsClock();
  private readonly handlers: Record<string, Handler>;

  private users = new Map<string, SimUser>();
  private channels = new Map<string, SimChannel>();
  private usergroups = new Map<string, string[]>();
  private messageStore = new Map<string, SimMessage[]>();
  private ephemeralStore: SimEphemeral[] = [];
  private viewStore = new Map<string, SimView>();
  private homeStore = new Map<string, SimHomeView>();
  private fileStore = new Map<string, SimFile>();
  private openedDms = new Set<string>();
  private usedTriggers = new Set<string>();
  private issuedTriggers = new Map<string, { issuedAt: number; userId: string | undefined }>();
  private responseUrls = new Map<string, ResponseUrlState>();
  private failures = new Map<string, Array<Injection & { error: string }>>();
  private rateLimits = new Map<string, Array<Injection & { retryAfterSeconds: number }>>();
  /** Transport faults per method ("*" for every Web API method): hang, HTTP 500, dropped connection, lost answer. */
  private transportFaults = new Map<string, Array<Injection & { fault: TransportFault }>>();
  private readonly hungResponses = new Set<ServerResponse>();
  private responseUrlCounter = 0;
  private boundPort = 0;

  constructor(options: SlackSimulatorOptions) {
    this.botToken = options.botToken ?? SIM_DEFAULTS.botToken;
    this.appToken = options.appToken ?? SIM_DEFAULTS.appToken;
    if (!this.appToken.startsWith("xapp-")) throw new Error("appToken must start with xapp-");
    this.teamId = options.teamId ?? SIM_DEFAULTS.teamId;
    this.teamName = options.teamName ?? SIM_DEFAULTS.teamName;
    this.teamDomain = options.teamDomain ?? SIM_DEFAULTS.teamDomain;
    this.botUserId = options.botUserId ?? SIM_DEFAULTS.botUserId;
    this.botId = options.botId ?? SIM_DEFAULTS.botId;
    this.appId = options.appId ?? SIM_DEFAULTS.appId;
    this.botName = options.botName ?? SIM_DEFAULTS.botName;
    this.triggerTtlMs = options.triggerTtlMs ?? SIM_DEFAULTS.triggerTtlMs;
    this.ackTimeoutMs = options.ackTimeoutMs ?? SIM_DEFAULTS.ackTimeoutMs;
    this.initial = {
      users: deepCopy(options.users ?? []),
      channels: deepCopy(options.channels ?? [{ id: SIM_DEFAULTS.channelId, name: SIM_DEFAULTS.channelName }]),
      usergroups: deepCopy(options.usergroups ?? {}),
    };
    this.handlers = {
      "auth.test": () => this.authTest(),
      "apps.connections.open": () => this.appsConnectionsOpen(),
      "chat.postMessage": (p) => this.chatPostMessage(p),
      "chat.update": (p) => this.chatUpdate(p),
      "chat.postEphemeral": (p) => this.chatPostEphemeral(p),
      "chat.getPermalink": (p) => this.chatGetPermalink(p),
      "conversations.open": (p) => this.conversationsOpen(p),
      "conversations.history": (p) => this.conversationsHistory(p),
      "views.open": (p) => this.viewsOpen(p),
      "views.push": (p) => this.viewsPush(p),
      "views.update": (p) => this.viewsUpdate(p),
      "views.publish": (p) => this.viewsPublish(p),
      "users.info": (p) => this.usersInfo(p),
      "usergroups.users.list": (p) => this.usergroupsUsersList(p),
      "usergroups.users.update": (p) => this.usergroupsUsersUpdate(p),
      "files.getUploadURLExternal": (p) => this.filesGetUploadUrlExternal(p),
      "files.completeUploadExternal": (p) => this.filesCompleteUploadExternal(p),
    };
    this.restoreInitialState();
    this.events.setMaxListeners(0); // one listener per pending waitFor; many may be pending at once
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendText(res, 500, `simulator error: ${String(error)}`);
      });
    });
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  // ------------------------------------------------------------------ state

  private restoreInitialState(): void {
    this.users = new Map();
    this.addUser({ id: this.botUserId, name: this.botName, realName: this.botName, isBot: true, teamId: this.teamId });
    for (const user of this.initial.users) this.addUser(deepCopy(user));
    this.channels = new Map(this.initial.channels.map((c) => [c.id, deepCopy(c)]));
    this.usergroups = new Map(Object.entries(deepCopy(this.initial.usergroups)));
    this.messageStore = new Map();
    this.ephemeralStore = [];
    this.viewStore = new Map();
    this.homeStore = new Map();
    this.fileStore = new Map();
    this.openedDms = new Set();
    this.usedTriggers = new Set();
    this.issuedTriggers = new Map();
    this.responseUrls = new Map();
    this.failures = new Map();
    this.rateLimits = new Map();
    this.transportFaults = new Map();
  }

  reset(): void {
    // Arrays are cleared in place so references held by tests stay valid.
    this.calls.length = 0;
    this.responses.length = 0;
    // Open Socket Mode connections stay open (the app stays connected); their history is forgotten.
    this.deliveries.length = 0;
    this.strayAcks.length = 0;
    this.restoreInitialState();
    this.notify();
  }

  addUser(user: SimUser): void {
    if (user.tz !== undefined) tzLabel(user.tz); // throws RangeError now, not later inside users.info
    this.users.set(user.id, deepCopy(user));
  }

  addChannel(channel: SimChannel): void {
    this.channels.set(channel.id, deepCopy(channel));
  }

  setBotMembership(channelId: string, isMember: boolean): void {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`setBotMembership: unknown channel ${channelId}`);
    channel.botIsMember = isMember;
  }

  setUsergroup(id: string, users: string[]): void {
    this.usergroups.set(id, [...users]);
  }

  dmChannelFor(userId: string): string {
    // Deterministic so tests can predict it; real DM ids are unrelated to the user id.
    return `D${userId.slice(1)}`;
  }

  issueTriggerId(userId?: string): string {
    const triggerId = generateTriggerId();
    this.issuedTriggers.set(triggerId, { issuedAt: Date.now(), userId });
    return triggerId;
  }

  responseUrl(key?: string, binding: ResponseUrlBinding = {}): string {
    const resolvedKey = key ?? `r${++this.responseUrlCounter}-${randomBytes(6).toString("hex")}`;
    const existing = this.responseUrls.get(resolvedKey);
    this.responseUrls.set(resolvedKey, { binding: { ...existing?.binding, ...binding }, uses: existing?.uses ?? 0 });
    return `${this.url}/response/${encodeURIComponent(resolvedKey)}`;
  }

  failNext(method: string, error: string, options: { times?: number } = {}): void {
    this.enqueue(this.failures, method, { remaining: options.times ?? 1, error });
  }

  rateLimit(method: string, options: { times?: number; retryAfterSeconds?: number } = {}): void {
    this.enqueue(this.rateLimits, method, { remaining: options.times ?? 1, retryAfterSeconds: options.retryAfterSeconds ?? 1 });
  }

  /**
   * Fault injection below HTTP's `ok: false`: `hang` holds the request open without answering
   * (the client's timeout is what ends it), `http500` answers 500, `drop` destroys the socket,
   * `lost-response` performs the call and then holds its answer like `hang`. `method` may be
   * "*" for every Web API method. `times` defaults to 1; Infinity is an outage until
   * `clearFaults()`.
   */
  injectFault(method: string, fault: TransportFault, options: { times?: number } = {}): void {
    this.enqueue(this.transportFaults, method, { remaining: options.times ?? 1, fault });
  }

  /** Ends every fault still queued, and lets go of hung requests (their sockets are closed). */
  clearFaults(): void {
    this.transportFaults = new Map();
    this.rateLimits = new Map();
    for (const res of this.hungResponses) res.destroy();
    this.hungResponses.clear();
  }

  /** How many requests are being held by `hang` right now. */
  get hungCount(): number {
    return this.hungResponses.size;
  }

  private enqueue<T extends Injection>(queues: Map<string, T[]>, method: string, injection: T): void {
    const queue = queues.get(method) ?? [];
    queue.push(injection);
    queues.set(method, queue);
  }

  /** Takes one use of the oldest injection queued for `method`, if any. */
  private take<T extends Injection>(queues: Map<string, T[]>, method: string): T | undefined {
    const queue = queues.get(method);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head;
  }

  // ---------------------------------------------------------------- queries

  callsTo(method: string): SimCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  messages(channel: string, options: { includeDeleted?: boolean } = {}): SimMessage[] {
    const id = this.storageChannelId(channel);
    const list = this.messageStore.get(id) ?? [];
    return deepCopy(list.filter((m) => options.includeDeleted === true || m.deleted !== true));
  }

  message(channel: string, ts: string): SimMessage | undefined {
    const found = this.findMessage(this.storageChannelId(channel), ts);
    return found ? deepCopy(found) : undefined;
  }

  ephemerals(channel?: string): SimEphemeral[] {
    const id = channel === undefined ? undefined : this.storageChannelId(channel);
    return deepCopy(this.ephemeralStore.filter((e) => id === undefined || e.channel === id));
  }

  views(): SimView[] {
    return deepCopy([...this.viewStore.values()]);
  }

  files(): SimFile[] {
    return [...this.fileStore.values()].map((file) => ({ ...file, bytes: file.bytes ? Buffer.from(file.bytes) : undefined, shares: file.shares.map((share) => ({ ...share })) }));
  }

  view(id: string): SimView | undefined {
    const found = this.viewStore.get(id);
    return found ? deepCopy(found) : undefined;
  }

  homeView(userId: string): SimHomeView | undefined {
    const found = this.homeStore.get(userId);
    return found ? deepCopy(found) : undefined;
  }

  /** Accepts what the bot may pass as `channel` (id, user id, `#name`) and returns the storage id. */
  private storageChannelId(channel: string): string {
    if (/^[UW]/.test(channel)) return this.dmChannelFor(channel);
    const name = channel.replace(/^#/, "");
    return this.channels.has(channel) ? channel : ([...this.channels.values()].find((c) => c.name === name)?.id ?? channel);
  }

  private findMessage(channelId: string, ts: string): SimMessage | undefined {
    return this.messageStore.get(channelId)?.find((m) => m.ts === ts && m.deleted !== true);
  }

  // ---------------------------------------------------------------- waiting

  waitFor<T>(predicate: (sim: SlackSimulator) => T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      let lastError: unknown;
      const finish = (action: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        this.events.off("change", waiter.check);
        action();
      };
      const waiter: Waiter = {
        check: () => {
          try {
            const value = predicate(this);
            if (value !== undefined && value !== null && value !== false) finish(() => resolve(value));
          } catch (error) {
            lastError = error; // assertion-style predicates: keep waiting, report on timeout
          }
        },
        cancel: (reason) => finish(() => reject(reason)),
      };
      const timer = setTimeout(() => {
        const detail = lastError === undefined ? "" : `\nLast predicate error: ${String(lastError)}`;
        waiter.cancel(new Error(`waitFor timed out after ${timeoutMs} ms.${detail}\n${this.describeActivity()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      this.events.on("change", waiter.check);
      waiter.check();
    });
  }

  waitForCall(method: string, predicate: (call: SimCall) => boolean = () => true, options: WaitOptions = {}): Promise<SimCall> {
    return this.waitFor(() => this.calls.find((c) => c.method === method && predicate(c)), options);
  }

  waitForResponse(predicate: (response: SimResponse) => boolean = () => true, options: WaitOptions = {}): Promise<SimResponse> {
    return this.waitFor(() => this.responses.find(predicate), options);
  }

  onChange(listener: () => void): () => void {
    this.events.on("change", listener);
    return () => this.events.off("change", listener);
  }

  private notify(): void {
    this.events.emit("change");
  }

  /** Human-readable list of everything seen so far, for timeout messages. */
  private describeActivity(): string {
    const start = this.calls[0]?.at ?? Date.now();
    const callLines = this.calls.map((c, i) => {
      const outcome = c.result.ok ? "ok" : `error=${c.result.error ?? "?"}`;
      const params = JSON.stringify(c.params);
      const shown = params.length > 240 ? `${params.slice(0, 240)}…` : params;
      return `  #${i + 1} +${c.at - start}ms ${c.method} [${c.status} ${outcome}] ${shown}`;
    });
    const responseLines = this.responses.map((r, i) => `  #${i + 1} ${r.key} [${r.status} ${r.effect}] ${String(JSON.stringify(r.body)).slice(0, 240)}`);
    const lines = [
      `Calls seen (${this.calls.length}):`,
      ...(callLines.length > 0 ? callLines : ["  (none)"]),
      `response_url posts seen (${this.responses.length}):`,
      ...(responseLines.length > 0 ? responseLines : ["  (none)"]),
    ];
    if (this.socketConnections.length > 0 || this.deliveries.length > 0) {
      lines.push(
        `Socket Mode connections (${this.socketConnections.length}): ${this.socketConnections.map((c) => `#${c.id} ${c.closedAt === undefined ? "open" : `closed(${c.closeCode ?? "?"})`}`).join(", ") || "none"}`,
        `Socket Mode deliveries (${this.deliveries.length}):`,
        ...this.deliveries.map((d, i) => {
          const ack = d.ack ? ` ack +${d.ack.at - d.sentAt}ms${d.ack.late ? " (late)" : ""} ${JSON.stringify(d.ack.payload ?? null).slice(0, 120)}` : "";
          return `  #${i + 1} ${d.type} ${d.envelope_id} retry=${d.retryAttempt} [${d.status}]${ack}`;
        }),
        ...(this.strayAcks.length > 0 ? [`Acks for unknown envelopes (${this.strayAcks.length}): ${this.strayAcks.map((a) => a.data.slice(0, 120)).join(" | ")}`] : []),
      );
    }
    return lines.join("\n");
  }

  // ------------------------------------------------------------------- HTTP

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/api/")) return this.handleApi(req, res, url);
    if (url.pathname.startsWith("/response/")) return this.handleResponseUrl(req, res, url);
    if (url.pathname.startsWith("/upload/")) return this.handleUpload(req, res, url);
    sendText(res, 404, "not_found");
  }

  /** Never answers `res` (a hung or lost answer); `clearFaults()` closes it. */
  private holdOpen(res: ServerResponse): void {
    this.hungResponses.add(res);
    res.on("close", () => this.hungResponses.delete(res));
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = decodeURIComponent(url.pathname.slice("/api/".length));
    const raw = await readBody(req);
    const fault = (this.take(this.transportFaults, method) ?? this.take(this.transportFaults, "*"))?.fault;
    if (fault && fault !== "lost-response") {
      this.faultLog.push({ method, fault, at: Date.now() });
      this.notify();
      if (fault === "hang") {
        this.holdOpen(res);
        return;
      }
      if (fault === "drop") {
        req.socket.destroy();
        return;
      }
      sendText(res, 500, "internal server error (injected)");
      return;
    }
    const parsed = parseApiRequest(req, url, raw);
    const headerToken = bearerToken(req.headers.authorization);
    const token = headerToken ?? parsed.fieldToken;
    const { status, result, headers } = this.dispatch(method, parsed, token, headerToken !== undefined);
    if (parsed.warnings.length > 0) {
      result.warning = parsed.warnings.join(",");
      result.response_metadata = { ...(isRecord(result.response_metadata) ? result.response_metadata : {}), warnings: parsed.warnings };
    }
    this.calls.push({
      method,
      params: parsed.params,
      at: Date.now(),
      token,
      httpMethod: req.method ?? "GET",
      contentType: req.headers["content-type"],
      status,
      result: deepCopy(result),
    });
    if (fault === "lost-response") {
      this.faultLog.push({ method, fault, at: Date.now() });
      this.holdOpen(res);
      this.notify();
      return;
    }
    sendJson(res, status, result, headers);
    this.notify();
  }

  /** Order mirrors slack.com: request shape, method existence, auth, rate limits, then the method. */
  private dispatch(
    method: string,
    parsed: ParsedApiRequest,
    token: string | undefined,
    tokenFromHeader: boolean,
  ): { status: number; result: SlackApiResult; headers: Record<string, string> } {
    const handler = this.handlers[method];
    if (parsed.error) return { status: 200, result: fail(parsed.error), headers: {} };
    if (!handler) return { status: 200, result: fail("unknown_method", { req_method: method }), headers: {} };
    // apps.connections.open takes the app-level token, and only from the Authorization header.
    const wantsAppToken = APP_TOKEN_METHODS.has(method);
    if (token === undefined || (wantsAppToken && !tokenFromHeader)) return { status: 200, result: fail("not_authed"), headers: {} };
    const expected = wantsAppToken ? this.appToken : this.botToken;
    if (token !== expected) {
      // A known token of the other kind is valid but not allowed here, as on Slack.
      const otherKind = token === this.botToken || token === this.appToken;
      return { status: 200, result: fail(otherKind ? "not_allowed_token_type" : "invalid_auth"), headers: {} };
    }
    const limited = this.take(this.rateLimits, method);
    if (limited) {
      return { status: 429, result: fail("ratelimited"), headers: { "retry-after": String(limited.retryAfterSeconds) } };
    }
    const injected = this.take(this.failures, method);
    if (injected) return { status: 200, result: fail(injected.error), headers: {} };
    try {
      return { status: 200, result: handler(parsed.params), headers: {} };
    } catch (error) {
      // Never answer 5xx: WebClient retries those for up to ~30 minutes, which would hang a test.
      return { status: 200, result: fail("internal_error", { simulator_exception: String(error) }), headers: {} };
    }
  }

  // ------------------------------------------------------------------ files

  private filesGetUploadUrlExternal(params: SlackParams): SlackApiResult {
    const filename = str(params, "filename");
    const length = Number(str(params, "length"));
    if (!filename) return fail("invalid_arguments", { response_metadata: { messages: ["[ERROR] missing required field: filename"] } });
    if (!Number.isInteger(length) || length < 1) return fail("invalid_arguments", { response_metadata: { messages: ["[ERROR] length must be a positive integer"] } });
    // Slack's limit for one file is 1 GB.
    if (length > 1024 ** 3) return fail("file_too_large");
    const id = `F0${randomChars(9).toUpperCase()}`;
    this.fileStore.set(id, { id, filename, length, title: undefined, altText: str(params, "alt_txt") ?? str(params, "alt_text"), bytes: undefined, completed: false, shares: [] });
    return ok({ upload_url: `${this.url}/upload/${id}`, file_id: id });
  }

  /** The upload URL takes the raw bytes (or a multipart form) in a POST, as files.slack.com does. */
  private async handleUpload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = decodeURIComponent(url.pathname.slice("/upload/".length));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const file = this.fileStore.get(id);
    if (req.method !== "POST" || !file || file.completed) {
      sendText(res, 404, "not_found");
      return;
    }
    file.bytes = Buffer.concat(chunks);
    sendText(res, 200, `OK - ${file.bytes.length}`);
    this.notify();
  }

  private filesCompleteUploadExternal(params: SlackParams): SlackApiResult {
    const files = params.files;
    if (!Array.isArray(files) || files.length === 0) return fail("invalid_arguments", { response_metadata: { messages: ["[ERROR] missing required field: files"] } });
    const channelId = str(params, "channel_id");
    const threadTs = str(params, "thread_ts");
    let target: { id: string } | undefined;
    if (channelId) {
      const resolved = this.resolveChannel(channelId, true);
      if (SlackSimulatorImpl.isFailure(resolved)) return resolved;
      if (resolved.record?.botIsMember === false) return fail("not_in_channel");
      target = { id: resolved.id };
    }
    const done: SimFile[] = [];
    for (const entry of files) {
      const file = isRecord(entry) && typeof entry.id === "string" ? this.fileStore.get(entry.id) : undefined;
      // Slack completes an upload only once, and only after its bytes arrived with the declared length.
      if (!file || file.completed || file.bytes === undefined) return fail("file_not_found");
      if (file.bytes.length !== file.length) return fail("file_upload_size_mismatch");
      done.push(file);
      file.title = isRecord(entry) && typeof entry.title === "string" ? entry.title : file.filename;
    }
    for (const file of done) file.completed = true;
    if (target) {
      const comment = str(params, "initial_comment");
      const message = this.storeMessage(target.id, { text: comment ?? "", blocks: undefined, attachments: undefined }, "chat.postMessage", threadTs ? { thread_ts: threadTs } : {});
      (message as SimMessage & { files?: unknown[] }).files = done.map((file) => ({ id: file.id, name: file.filename, title: file.title }));
      for (const file of done) file.shares.push({ channel: target.id, threadTs, ts: message.ts });
    }
    return ok({ files: done.map((file) => ({ id: file.id, name: file.filename, title: file.title, size: file.length })) });
  }

  /** An image block may show an uploaded file (`slack_file`), which must be a completed upload. */
  private unknownSlackFiles(blocks: unknown[] | undefined): string[] {
    if (!blocks) return [];
    return blocks.flatMap((block, i) => {
      if (!isRecord(block) || block.type !== "image" || !isRecord(block.slack_file)) return [];
      const id = block.slack_file.id;
      const file = typeof id === "string" ? this.fileStore.get(id) : undefined;
      return file?.completed ? [] : [`invalid slack_file: no uploaded file ${String(id)} [json-pointer:/blocks/${i}/slack_file]`];
    });
  }

  // -------------------------------------------------------------- responses

  private async handleResponseUrl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = decodeURIComponent(url.pathname.slice("/response/".length));
    const raw = await readBody(req);
    const record = (status: number, body: unknown, effect: SimResponse["effect"], text: string): void => {
      this.responses.push({ key, body, at: Date.now(), status, effect });
      sendText(res, status, text);
      this.notify();
    };
    let body: unknown;
    try {
      body = JSON.parse(raw) as unknown;
    } catch {
      return record(400, raw, "rejected", "invalid_payload");
    }
    const state = this.responseUrls.get(key);
    if (req.method !== "POST" || !isRecord(body)) return record(400, body, "rejected", "invalid_payload");
    if (!state) return record(404, body, "rejected", "no_service");
    state.uses += 1;
    if (state.uses > MAX_RESPONSE_URL_USES) return record(404, body, "rejected", "used_url");
    record(200, body, this.applyResponse(body, state.binding), "ok");
  }

  /** What Slack does with a response_url post: replace/delete the source message, or post a new one. */
  private applyResponse(body: Record<string, unknown>, binding: ResponseUrlBinding): SimResponse["effect"] {
    const source = binding.channel && binding.messageTs ? this.findMessage(this.storageChannelId(binding.channel), binding.messageTs) : undefined;
    const text = typeof body.text === "string" ? body.text : "";
    const blocks = Array.isArray(body.blocks) ? assignBlockIds(body.blocks) : undefined;
    if (truthy(body.delete_original) && source) {
      source.deleted = true;
      return "deleted";
    }
    if (truthy(body.replace_original) && source) {
      this.applyVersion(source, { text, blocks, attachments: Array.isArray(body.attachments) ? body.attachments : undefined }, "response_url");
      return "replaced";
    }
    if (body.response_type === "in_channel" && binding.channel) {
      this.storeMessage(this.storageChannelId(binding.channel), { text, blocks, attachments: undefined }, "response_url", {});
      return "posted";
    }
    if (binding.channel && binding.userId) {
      this.ephemeralStore.push({
        channel: this.storageChannelId(binding.channel), user: binding.userId, message_ts: this.clock.next(),
        text, ...(blocks ? { blocks } : {}), at: Date.now(), source: "response_url",
      });
      return "ephemeral";
    }
    return "none";
  }

  // --------------------------------------------------------------- channels

  /**
   * Where a chat.postMessage-style `channel` argument points. User ids (U…/W…)
   * resolve to the user's DM, as Slack does for bots with chat:write.
   */
  private resolveChannel(value: string | undefined, allowUserIds: boolean): ResolvedChannel | SlackApiResult {
    if (value === undefined) return fail("channel_not_found");
    if (/^[UW]/.test(value)) {
      const user = allowUserIds ? this.users.get(value) : undefined;
      if (!user) return fail("channel_not_found");
      if (user.deleted === true) return fail("user_disabled");
      return { id: this.dmChannelFor(value), kind: "im", userId: value };
    }
    if (value.startsWith("D")) {
      const user = [...this.users.values()].find((u) => this.dmChannelFor(u.id) === value);
      return user ? { id: value, kind: "im", userId: user.id } : fail("channel_not_found");
    }
    const name = value.replace(/^#/, "");
    const record = this.channels.get(value) ?? [...this.channels.values()].find((c) => c.name === name);
    return record ? { id: record.id, kind: "channel", record } : fail("channel_not_found");
  }

  private static isFailure(value: ResolvedChannel | SlackApiResult): value is SlackApiResult {
    return "ok" in value;
  }

  // ------------------------------------------------------------ message body

  /** Validated text/blocks/attachments, or the error Slack would give. */
  private readContent(
    params: SlackParams,
  ): { text: string | undefined; blocks: unknown[] | undefined; attachments: unknown[] | undefined } | SlackApiResult {
    const text = str(params, "text");
    if (text !== undefined && text.length > 40_000) return fail("msg_too_long");
    let blocks: unknown[] | undefined;
    if (params.blocks !== undefined && params.blocks !== "") {
      if (!Array.isArray(params.blocks)) return fail("invalid_blocks_format");
      const problems = validateBlocks(params.blocks, "/blocks", 50);
      if (problems.length > 0) return failWithMessages("invalid_blocks", problems);
      const unknownFiles = this.unknownSlackFiles(params.blocks);
      if (unknownFiles.length > 0) return failWithMessages("invalid_blocks", unknownFiles);
      blocks = assignBlockIds(params.blocks);
    }
    let attachments: unknown[] | undefined;
    if (params.attachments !== undefined && params.attachments !== "") {
      if (!Array.isArray(params.attachments)) return fail("invalid_attachments");
      attachments = params.attachments;
    }
    return { text, blocks, attachments };
  }

  private static hasContent(c: { text: string | undefined; blocks: unknown[] | undefined; attachments: unknown[] | undefined }): boolean {
    return (c.text ?? "") !== "" || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;
  }

  private storeMessage(
    channelId: string,
    content: { text: string | undefined; blocks: unknown[] | undefined; attachments: unknown[] | undefined },
    source: SimMessageVersion["source"],
    extra: { thread_ts?: string; metadata?: unknown },
  ): SimMessage {
    const ts = this.clock.next();
    const text = content.text ?? (content.blocks ? BLOCKS_ONLY_TEXT : "");
    const message: SimMessage = {
      channel: channelId, ts, type: "message", text, user: this.botUserId, bot_id: this.botId, app_id: this.appId, team: this.teamId,
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(content.attachments ? { attachments: content.attachments } : {}),
      ...(extra.thread_ts ? { thread_ts: extra.thread_ts } : {}),
      ...(extra.metadata !== undefined ? { metadata: extra.metadata } : {}),
      history: [{ text, blocks: content.blocks, attachments: content.attachments, at: Date.now(), source }],
    };
    const list = this.messageStore.get(channelId) ?? [];
    list.push(message);
    this.messageStore.set(channelId, list);
    if (extra.thread_ts) this.noteReply(channelId, extra.thread_ts, ts);
    return message;
  }

  private noteReply(channelId: string, parentTs: string, replyTs: string): void {
    const parent = this.findMessage(channelId, parentTs);
    if (!parent) return; // Slack also accepts an unknown thread_ts; the reply just has no visible parent
    parent.thread_ts = parent.ts;
    parent.reply_count = (parent.reply_count ?? 0) + 1;
    parent.latest_reply = replyTs;
  }

  private applyVersion(
    message: SimMessage,
    content: { text: string; blocks: unknown[] | undefined; attachments: unknown[] | undefined },
    source: SimMessageVersion["source"],
  ): void {
    message.text = content.text;
    if (content.blocks && content.blocks.length > 0) message.blocks = content.blocks;
    else delete message.blocks;
    if (content.attachments && content.attachments.length > 0) message.attachments = content.attachments;
    else delete message.attachments;
    message.edited = { user: this.botUserId, ts: this.clock.next() };
    message.history.push({ ...deepCopy(content), at: Date.now(), source });
  }

  /** The message object as Slack returns it (no simulator bookkeeping). */
  private publicMessage(message: SimMessage): Record<string, unknown> {
    const { history: _history, channel: _channel, deleted: _deleted, ...rest } = deepCopy(message);
    return {
      ...rest,
      bot_profile: { id: this.botId, deleted: false, name: this.botName, updated: 1700000000, app_id: this.appId, team_id: this.teamId },
    };
  }

  // ------------------------------------------------------------ Web API: chat

  private authTest(): SlackApiResult {
    return ok({
      url: `https://${this.teamDomain}.slack.com/`, team: this.teamName, user: this.botName,
      team_id: this.teamId, user_id: this.botUserId, bot_id: this.botId, is_enterprise_install: false,
    });
  }

  private appsConnectionsOpen(): SlackApiResult {
    const ticket = randomUUID();
    this.socketTickets.add(ticket);
    return ok({ url: `ws://127.0.0.1:${this.boundPort}/socket?ticket=${ticket}&app_id=${this.appId}` });
  }

  private chatPostMessage(params: SlackParams): SlackApiResult {
    const target = this.resolveChannel(str(params, "channel"), true);
    if (SlackSimulatorImpl.isFailure(target)) return target;
    if (target.record?.botIsMember === false) return fail("not_in_channel");
    const content = this.readContent(params);
    if ("ok" in content) return content;
    if (!SlackSimulatorImpl.hasContent(content)) return fail("no_text");
    const threadTs = str(params, "thread_ts");
    // Posting to a user id opens the DM as a side effect, as on Slack.
    if (target.kind === "im") this.openedDms.add(target.id);
    const message = this.storeMessage(target.id, content, "chat.postMessage", {
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(params.metadata !== undefined ? { metadata: params.metadata } : {}),
    });
    return ok({ channel: target.id, ts: message.ts, message: this.publicMessage(message) });
  }

  private chatUpdate(params: SlackParams): SlackApiResult {
    // chat.update needs a conversation id; a user id is not resolved to the DM.
    const target = this.resolveChannel(str(params, "channel"), false);
    if (SlackSimulatorImpl.isFailure(target)) return target;
    const ts = str(params, "ts");
    const message = ts === undefined ? undefined : this.findMessage(target.id, ts);
    if (!message) return fail("message_not_found");
    if (message.user !== this.botUserId) return fail("cant_update_message");
    const content = this.readContent(params);
    if ("ok" in content) return content;
    if (!SlackSimulatorImpl.hasContent(content) && params.blocks === undefined && params.attachments === undefined) return fail("no_text");
    // Omitted blocks/attachments are retained, an empty array removes them (Slack's documented behaviour).
    const next = {
      text: content.text ?? message.text,
      blocks: params.blocks === undefined ? message.blocks : content.blocks,
      attachments: params.attachments === undefined ? message.attachments : content.attachments,
    };
    this.applyVersion(message, next, "chat.update");
    return ok({ channel: target.id, ts: message.ts, text: message.text, message: this.publicMessage(message) });
  }

  private chatPostEphemeral(params: SlackParams): SlackApiResult {
    const target = this.resolveChannel(str(params, "channel"), true);
    if (SlackSimulatorImpl.isFailure(target)) return target;
    const userId = str(params, "user");
    if (userId === undefined || !this.users.has(userId)) return fail("user_not_found");
    if (target.record?.botIsMember === false) return fail("not_in_channel");
    const members = target.record?.members;
    if ((members && !members.includes(userId)) || (target.kind === "im" && target.userId !== userId)) {
      return fail("user_not_in_channel");
    }
    const content = this.readContent(params);
    if ("ok" in content) return content;
    if (!SlackSimulatorImpl.hasContent(content)) return fail("no_text");
    const messageTs = this.clock.next();
    const threadTs = str(params, "thread_ts");
    this.ephemeralStore.push({
      channel: target.id, user: userId, message_ts: messageTs, text: content.text ?? "",
      ...(content.blocks ? { blocks: content.blocks } : {}), ...(threadTs ? { thread_ts: threadTs } : {}),
      at: Date.now(), source: "chat.postEphemeral",
    });
    return ok({ message_ts: messageTs });
  }

  private chatGetPermalink(params: SlackParams): SlackApiResult {
    const target = this.resolveChannel(str(params, "channel"), false);
    if (SlackSimulatorImpl.isFailure(target)) return target;
    const ts = str(params, "message_ts");
    const message = ts === undefined ? undefined : this.findMessage(target.id, ts);
    if (!message) return fail("message_not_found");
    let permalink = `https://${this.teamDomain}.slack.com/archives/${target.id}/p${message.ts.replace(".", "")}`;
    if (message.thread_ts && message.thread_ts !== message.ts) permalink += `?thread_ts=${message.thread_ts}&cid=${target.id}`;
    return ok({ channel: target.id, permalink });
  }

  // --------------------------------------------------- Web API: conversations

  /**
   * Top-level messages of a conversation, newest first, as Slack pages them (`cursor`,
   * `limit` up to 999, `oldest`/`latest` exclusive unless `inclusive`). Message metadata is
   * returned only with `include_all_metadata`, the flag a reader of its own metadata sets.
   */
  private conversationsHistory(params: SlackParams): SlackApiResult {
    const target = this.resolveChannel(str(params, "channel"), false);
    if (SlackSimulatorImpl.isFailure(target)) return target;
    if (target.record?.botIsMember === false) return fail("not_in_channel");
    const limit = Math.min(999, Math.max(1, Number(str(params, "limit") ?? 100) || 100));
    const inclusive = truthy(params.inclusive);
    const oldest = str(params, "oldest");
    const latest = str(params, "latest");
    const after = (ts: string, bound: string) => (inclusive ? Number(ts) >= Number(bound) : Number(ts) > Number(bound));
    const before = (ts: string, bound: string) => (inclusive ? Number(ts) <= Number(bound) : Number(ts) < Number(bound));
    const all = (this.messageStore.get(target.id) ?? [])
      .filter((m) => !m.deleted && (m.thread_ts === undefined || m.thread_ts === m.ts))
      .filter((m) => (oldest === undefined || after(m.ts, oldest)) && (latest === undefined || before(m.ts, latest)))
      .reverse();
    const cursor = str(params, "cursor");
    const start = cursor ? Number(Buffer.from(cursor, "base64").toString("utf8").replace(/^offset:/, "")) : 0;
    if (!Number.isInteger(start) || start < 0) return fail("invalid_cursor");
    const page = all.slice(start, start + limit);
    const withMetadata = truthy(params.include_all_metadata);
    const messages = page.map((m) => {
      const { metadata, ...rest } = this.publicMessage(m);
      return withMetadata && metadata !== undefined ? { ...rest, metadata } : rest;
    });
    const more = start + limit < all.length;
    return ok({
      messages,
      has_more: more,
      pin_count: 0,
      response_metadata: { next_cursor: more ? Buffer.from(`offset:${start + limit}`).toString("base64") : "" },
    });
  }

  private conversationsOpen(params: SlackParams): SlackApiResult {
    const userList = (str(params, "users") ?? "").split(",").map((u) => u.trim()).filter((u) => u !== "");
    const channelArg = str(params, "channel");
    if (userList.length === 0 && channelArg === undefined) return fail("users_list_not_supplied");
    if (userList.length > 8) return fail("too_many_users");
    if (userList.length > 1) return fail("method_not_supported_for_channel_type"); // group DMs are not simulated
    const target = this.resolveChannel(userList[0] ?? channelArg, true);
    if (SlackSimulatorImpl.isFailure(target)) return target.error === "channel_not_found" && userList.length > 0 ? fail("user_not_found") : target;
    if (target.kind !== "im" || target.userId === undefined) return fail("channel_not_found");
    const alreadyOpen = this.openedDms.has(target.id);
    this.openedDms.add(target.id);
    const channel = truthy(params.return_im)
      ? { id: target.id, created: Math.floor(Date.now() / 1000), is_im: true, is_org_shared: false, user: target.userId, is_user_deleted: false, priority: 0 }
      : { id: target.id };
    return ok({ ...(alreadyOpen ? { no_op: true, already_open: true } : {}), channel });
  }

  // ---------------------------------------------------------- Web API: views

  /** trigger_id checks shared by views.open and views.push (the caller consumes it on success). */
  private checkTrigger(triggerId: string): SlackApiResult | undefined {
    if (!TRIGGER_ID_PATTERN.test(triggerId)) return fail("invalid_trigger_id");
    if (this.usedTriggers.has(triggerId)) return fail("exchanged_trigger_id");
    const issued = this.issuedTriggers.get(triggerId);
    if (issued && Date.now() - issued.issuedAt > this.triggerTtlMs) return fail("expired_trigger_id");
    return undefined;
  }

  private newHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`;
  }

  private buildView(input: Record<string, unknown>, id: string, rootViewId: string, previousViewId: string | null): SlackView {
    return {
      id, team_id: this.teamId, type: String(input.type),
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.submit !== undefined ? { submit: input.submit } : {}),
      ...(input.close !== undefined ? { close: input.close } : {}),
      blocks: assignBlockIds(Array.isArray(input.blocks) ? input.blocks : []),
      private_metadata: typeof input.private_metadata === "string" ? input.private_metadata : "",
      callback_id: typeof input.callback_id === "string" ? input.callback_id : "",
      external_id: typeof input.external_id === "string" ? input.external_id : "",
      state: { values: {} },
      hash: this.newHash(),
      clear_on_close: truthy(input.clear_on_close),
      notify_on_close: truthy(input.notify_on_close),
      previous_view_id: previousViewId,
      root_view_id: rootViewId,
      app_id: this.appId, app_installed_team_id: this.teamId, bot_id: this.botId,
    };
  }

  private publicView(view: SimView): SlackView {
    const { trigger_id: _t, user_id: _u, opened_via: _o, history: _h, ...rest } = deepCopy(view);
    return rest;
  }

  private openOrPush(params: SlackParams, via: "views.open" | "views.push"): SlackApiResult {
    const triggerId = str(params, "trigger_id");
    if (triggerId === undefined) return fail("invalid_trigger_id");
    const triggerProblem = this.checkTrigger(triggerId);
    if (triggerProblem) return triggerProblem;
    const problems = validateView(params.view, ["modal"]);
    if (problems.length > 0 || !isRecord(params.view)) return failWithMessages("invalid_arguments", problems);
    const externalId = typeof params.view.external_id === "string" ? params.view.external_id : "";
    if (externalId !== "" && [...this.viewStore.values()].some((v) => v.external_id === externalId)) return fail("duplicate_external_id");
    this.usedTriggers.add(triggerId);
    const id = `V${randomChars(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}`;
    const view = this.buildView(params.view, id, id, null);
    const stored: SimView = {
      ...view, trigger_id: triggerId, user_id: this.issuedTriggers.get(triggerId)?.userId,
      opened_via: via, history: [{ hash: view.hash, at: Date.now(), via, view: deepCopy(view) }],
    };
    this.viewStore.set(id, stored);
    return ok({ view: this.publicView(stored) });
  }

  private viewsOpen(params: SlackParams): SlackApiResult {
    return this.openOrPush(params, "views.open");
  }

  private viewsPush(params: SlackParams): SlackApiResult {
    return this.openOrPush(params, "views.push");
  }

  private viewsUpdate(params: SlackParams): SlackApiResult {
    const viewId = str(params, "view_id");
    const externalId = str(params, "external_id");
    if (viewId === undefined && externalId === undefined) {
      return failWithMessages("invalid_arguments", ["either view_id or external_id is required"]);
    }
    const existing = viewId !== undefined ? this.viewStore.get(viewId) : [...this.viewStore.values()].find((v) => v.external_id === externalId);
    if (!existing) return fail("not_found");
    const hash = str(params, "hash");
    if (hash !== undefined && hash !== existing.hash) return fail("hash_conflict");
    const problems = validateView(params.view, ["modal"]);
    if (problems.length > 0 || !isRecord(params.view)) return failWithMessages("invalid_arguments", problems);
    const view = this.buildView(params.view, existing.id, existing.root_view_id, existing.previous_view_id);
    const updated: SimView = { ...existing, ...view, history: [...existing.history, { hash: view.hash, at: Date.now(), via: "views.update", view: deepCopy(view) }] };
    this.viewStore.set(existing.id, updated);
    return ok({ view: this.publicView(updated) });
  }

  /** Slack keeps one Home view per user: the same id across publishes, a new hash each time. */
  private viewsPublish(params: SlackParams): SlackApiResult {
    const userId = str(params, "user_id");
    if (userId === undefined) return failWithMessages("invalid_arguments", ["missing required field: user_id"]);
    const user = this.users.get(userId);
    if (!user) return fail("user_not_found");
    if (user.isBot) return fail("invalid_user");
    const problems = validateView(params.view, ["home"]);
    if (problems.length > 0 || !isRecord(params.view)) return failWithMessages("invalid_arguments", problems);
    const existing = this.homeStore.get(userId);
    const hash = str(params, "hash");
    if (hash !== undefined && hash !== existing?.hash) return fail("hash_conflict");
    const id = existing?.id ?? `V${randomChars(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}`;
    const view = this.buildView(params.view, id, id, null);
    const entry = { hash: view.hash, at: Date.now(), view: deepCopy(view) };
    this.homeStore.set(userId, { ...view, user_id: userId, history: [...(existing?.history ?? []), entry] });
    return ok({ view });
  }

  // ---------------------------------------------------- Web API: users/groups

  private usersInfo(params: SlackParams): SlackApiResult {
    const id = str(params, "user");
    const user = id === undefined ? undefined : this.users.get(id);
    if (!user) return fail("user_not_found");
    return ok({ user: this.publicUser(user, truthy(params.include_locale)) });
  }

  private publicUser(user: SimUser, includeLocale: boolean): Record<string, unknown> {
    const tz = user.tz ?? "America/Los_Angeles";
    const realName = user.realName ?? user.name;
    const displayName = user.displayName ?? "";
    const [firstName = "", ...rest] = realName.split(" ");
    return {
      id: user.id, team_id: user.teamId ?? this.teamId, name: user.name, deleted: user.deleted === true, color: "9f69e7",
      real_name: realName, tz, tz_label: tzLabel(tz), tz_offset: tzOffsetSeconds(tz),
      profile: {
        title: "", phone: "", skype: "", real_name: realName, real_name_normalized: realName,
        display_name: displayName, display_name_normalized: displayName, fields: null,
        status_text: "", status_emoji: "", status_expiration: 0, avatar_hash: "g0000000000",
        ...(user.email !== undefined && user.isBot !== true ? { email: user.email } : {}),
        first_name: firstName, last_name: rest.join(" "),
        ...(user.isBot === true && user.id === this.botUserId ? { bot_id: this.botId, api_app_id: this.appId, always_active: false } : {}),
        team: user.teamId ?? this.teamId,
      },
      is_admin: user.isAdmin === true, is_owner: user.isOwner === true, is_primary_owner: false,
      is_restricted: false, is_ultra_restricted: false, is_bot: user.isBot === true, is_app_user: false,
      updated: 1700000000, is_email_confirmed: user.email !== undefined,
      ...(includeLocale ? { locale: "en-US" } : {}),
    };
  }

  private usergroupsUsersList(params: SlackParams): SlackApiResult {
    const id = str(params, "usergroup");
    if (id === undefined) return failWithMessages("invalid_arguments", ["missing required field: usergroup"]);
    const members = this.usergroups.get(id);
    if (!members) return fail("no_such_subteam");
    return ok({ users: [...members] });
  }

  /** Replaces the whole member list, as Slack does; Slack refuses to empty a group (usergroups.disable does that). */
  private usergroupsUsersUpdate(params: SlackParams): SlackApiResult {
    const id = str(params, "usergroup");
    if (id === undefined) return failWithMessages("invalid_arguments", ["missing required field: usergroup"]);
    if (!this.usergroups.has(id)) return fail("no_such_subteam");
    // Form bodies carry "U1,U2" (spaces allowed); JSON bodies may carry an array.
    const raw = Array.isArray(params.users) ? params.users.map(String).join(",") : (str(params, "users") ?? "");
    const users = [...new Set(raw.split(",").map((u) => u.trim()).filter((u) => u !== ""))];
    if (users.length === 0) return fail("no_users_provided");
    // Unknown ids, bots and deactivated accounts cannot be members.
    if (users.some((u) => { const user = this.users.get(u); return !user || user.isBot === true || user.deleted === true; })) return fail("invalid_users");
    this.usergroups.set(id, users);
    return ok({
      usergroup: {
        id, team_id: this.teamId, is_usergroup: true, is_external: false, handle: id.toLowerCase(),
        date_update: Math.floor(Date.now() / 1000), updated_by: this.botUserId,
        users: [...users], ...(truthy(params.include_count) ? { user_count: users.length } : {}),
      },
    });
  }

  // ------------------------------------------------------------ Socket Mode

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== "/socket") return refuse("404 Not Found");
    const ticket = url.searchParams.get("ticket") ?? "";
    // Tickets are single use: every (re)connection calls apps.connections.open again.
    if (!this.socketTickets.delete(ticket)) return refuse("401 Unauthorized");
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocketOpen(ws, ticket));
  }

  private onSocketOpen(ws: WebSocket, ticket: string): void {
    const record: SimSocketConnection = { id: ++this.socketCounter, ticket, openedAt: Date.now(), helloAt: undefined, closedAt: undefined, closeCode: undefined };
    this.socketConnections.push(record);
    this.sockets.set(record.id, { record, ws });
    ws.on("message", (data: RawData, isBinary: boolean) => this.onSocketMessage(record, data, isBinary));
    ws.on("close", (code: number) => {
      record.closedAt = Date.now();
      record.closeCode = code;
      this.sockets.delete(record.id);
      for (const pending of [...this.pendingAcks.values()]) {
        if (pending.delivery.connectionId === record.id) {
          this.settleDelivery(pending, "connection_closed", new Error(`Socket Mode connection #${record.id} closed (code ${code}) before envelope ${pending.delivery.envelope_id} was acked`));
        }
      }
      this.notify();
    });
    ws.on("error", () => {}); // a reset socket also emits close, handled above
    const openCount = [...this.sockets.values()].length;
    ws.send(JSON.stringify({
      type: "hello",
      num_connections: openCount,
      debug_info: { host: "applink-sim-1", build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: this.appId },
    }));
    record.helloAt = Date.now();
    this.notify();
  }

  private onSocketMessage(connection: SimSocketConnection, data: RawData, isBinary: boolean): void {
    const text = isBinary ? "" : Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8");
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    const envelopeId = isRecord(message) && typeof message.envelope_id === "string" ? message.envelope_id : undefined;
    const delivery = envelopeId === undefined ? undefined : this.deliveries.find((d) => d.envelope_id === envelopeId);
    if (!isRecord(message) || !delivery || delivery.ack) {
      this.strayAcks.push({ at: Date.now(), connectionId: connection.id, data: text });
      this.notify();
      return;
    }
    const payload = isRecord(message.payload) ? deepCopy(message.payload) : undefined;
    const pending = this.pendingAcks.get(delivery.envelope_id);
    delivery.ack = { payload, at: Date.now(), late: pending === undefined };
    if (pending) {
      this.settleDelivery(pending, "acked");
      pending.resolve({ envelope_id: delivery.envelope_id, payload, ms: delivery.ack.at - delivery.sentAt, delivery });
    }
    this.notify();
  }

  /** Ends the wait for an ack; with an error, rejects the sender's promise. */
  private settleDelivery(pending: PendingAck, status: SocketDelivery["status"], error?: Error): void {
    clearTimeout(pending.timer);
    this.pendingAcks.delete(pending.delivery.envelope_id);
    pending.delivery.status = status;
    if (error) pending.reject(error);
  }

  socketConnected(options: WaitOptions = {}): Promise<SimSocketConnection> {
    return this.waitFor(() => this.openSocket()?.record, options);
  }

  async dropSocketConnections(): Promise<void> {
    await Promise.all([...this.sockets.values()].map(({ ws }) => SlackSimulatorImpl.closeSocket(ws)));
  }

  /** Slack may use any open connection; the simulator uses the newest that has said hello. */
  private openSocket(): SocketState | undefined {
    return [...this.sockets.values()].reverse().find((s) => s.record.helloAt !== undefined && s.ws.readyState === WebSocket.OPEN);
  }

  sendEnvelope(input: SocketEnvelopeInput, options: SocketSendOptions = {}): Promise<SocketAck> {
    return this.deliver(input, options.ackTimeoutMs ?? this.ackTimeoutMs);
  }

  redeliver(previous: SocketDelivery | SocketAck, options: SocketSendOptions & { retryReason?: string } = {}): Promise<SocketAck> {
    const delivery = "delivery" in previous ? previous.delivery : previous;
    const retryAttempt = delivery.retryAttempt + 1;
    if (retryAttempt > MAX_RETRY_ATTEMPT) {
      return Promise.reject(new Error(`Slack retries a delivery at most ${MAX_RETRY_ATTEMPT} times; envelope ${delivery.envelope_id} was already retry ${delivery.retryAttempt}`));
    }
    return this.deliver(
      { type: delivery.type, payload: delivery.payload, retryAttempt, retryReason: options.retryReason ?? "timeout", acceptsResponsePayload: delivery.frame.accepts_response_payload === true },
      options.ackTimeoutMs ?? this.ackTimeoutMs,
    );
  }

  private deliver(input: SocketEnvelopeInput, timeoutMs: number): Promise<SocketAck> {
    if (!ENVELOPE_TYPES.has(input.type)) return Promise.reject(new Error(`sendEnvelope: unknown envelope type ${String(input.type)}`));
    if (!isRecord(input.payload)) return Promise.reject(new Error("sendEnvelope: payload must be an object"));
    // Bolt's SocketModeClient reads payload.event.type of every events_api envelope; Slack always sends it.
    if (input.type === "events_api" && !(isRecord(input.payload.event) && typeof input.payload.event.type === "string")) {
      return Promise.reject(new Error("sendEnvelope: an events_api payload needs event.type, as Slack's Events API bodies have"));
    }
    const socket = this.openSocket();
    if (!socket) return Promise.reject(new Error(`sendEnvelope: no app is connected over Socket Mode (await sim.socketConnected() first)\n${this.describeActivity()}`));
    const retryAttempt = input.retryAttempt ?? 0;
    const retryReason = retryAttempt > 0 ? (input.retryReason ?? "timeout") : input.retryReason;
    const envelopeId = randomUUID();
    const payload = deepCopy(input.payload);
    const frame: Record<string, unknown> = {
      envelope_id: envelopeId,
      payload,
      type: input.type,
      accepts_response_payload: input.acceptsResponsePayload ?? input.type !== "events_api",
    };
    // Slack marks Events API deliveries with their attempt; the simulator adds it to any redelivery.
    if (input.type === "events_api" || retryAttempt > 0) {
      frame.retry_attempt = retryAttempt;
      frame.retry_reason = retryReason ?? "";
    }
    const delivery: SocketDelivery = {
      envelope_id: envelopeId, type: input.type, payload, retryAttempt, retryReason, frame: deepCopy(frame),
      connectionId: socket.record.id, sentAt: Date.now(), status: "pending",
    };
    this.deliveries.push(delivery);
    return new Promise<SocketAck>((resolve, reject) => {
      const pending: PendingAck = {
        delivery, resolve, reject,
        timer: setTimeout(() => this.settleDelivery(pending, "timed_out", new SocketAckTimeoutError(delivery, timeoutMs, this.describeActivity())), timeoutMs),
      };
      this.pendingAcks.set(envelopeId, pending);
      socket.ws.send(JSON.stringify(frame), (error) => {
        if (error && this.pendingAcks.has(envelopeId)) this.settleDelivery(pending, "connection_closed", error);
      });
      this.notify();
    });
  }

  /**
   * Closes with a close handshake (1001 "going away"), as Slack does, and only then drops the
   * TCP connection. Dropping it mid-handshake (say, right after the app's own close frame) leaves
   * @slack/socket-mode waiting 30 s for a close frame that never comes, which keeps a test
   * process alive.
   */
  private static closeSocket(ws: WebSocket): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), 1000);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1001, "simulator closing");
    });
  }

  // ------------------------------------------------------------------ close

  async close(): Promise<void> {
    this.clearFaults();
    for (const waiter of [...this.waiters]) waiter.cancel(new Error("Slack simulator closed while waiting"));
    for (const pending of [...this.pendingAcks.values()]) this.settleDelivery(pending, "connection_closed", new Error("Slack simulator closed while waiting for an ack"));
    // Upgraded sockets are not the HTTP server's any more: end them here, or close() would wait for them.
    await Promise.all([...this.sockets.values()].map(({ ws }) => SlackSimulatorImpl.closeSocket(ws)));
    this.wss.close();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      // fetch (undici) keeps connections alive; drop them so close() resolves promptly.
      this.server.closeAllConnections();
    });
  }
}

export async function startSlackSimulator(options: SlackSimulatorOptions = {}): Promise<SlackSimulator> {
  const simulator = new SlackSimulatorImpl(options);
  await simulator.listen();
  return simulator;
}
