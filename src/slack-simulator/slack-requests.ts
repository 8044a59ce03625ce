/**
 * The bodies Slack sends to an app, byte for byte: slash commands as form fields,
 * interactivity as `payload=<url-encoded JSON>`, Events API callbacks as JSON. Shared by the
 * tests and the sandbox (src/sandbox/), which both sign them with `signSlackRequest`
 * (sign-slack-request.ts) and POST them to the bot.
 *
 * Payload builders return the raw body string, because the signature covers
 * the exact bytes; callers must sign and send that same string.
 */
import { randomBytes } from "node:crypto";
import { nowSeconds } from "./sign-slack-request.js";
import { generateTriggerId, SIM_DEFAULTS } from "./slack-simulator.js";


/** Slack sends interactivity as a form with a single `payload` field holding JSON. */
export function interactivityBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

// ---------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------

export interface SlackUserRef {
  id: string;
  username?: string;
  name?: string;
  team_id?: string;
}

export interface SlackTeamRef {
  id: string;
  domain: string;
}

export interface SlackEnterpriseRef {
  id: string;
  name: string;
}

/** The legacy verification token Slack still includes in every payload. */
export const SIM_VERIFICATION_TOKEN = "simVerificationToken0000";

function defaultTeam(): SlackTeamRef {
  return { id: SIM_DEFAULTS.teamId, domain: SIM_DEFAULTS.teamDomain };
}

function fullUser(user: SlackUserRef, team: SlackTeamRef): Required<SlackUserRef> {
  const handle = user.username ?? user.name ?? user.id.toLowerCase();
  return { id: user.id, username: handle, name: user.name ?? handle, team_id: user.team_id ?? team.id };
}

/** `seconds.micros`, the format of Slack's action_ts. */
function actionTs(): string {
  const micros = Date.now() * 1000 + Number.parseInt(randomBytes(2).toString("hex"), 16) % 1000;
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
}

// ---------------------------------------------------------------------------
// Slash commands
// ---------------------------------------------------------------------------

export interface SlashCommandInput {
  command?: string;
  text?: string;
  userId: string;
  userName?: string;
  teamId?: string;
  teamDomain?: string;
  channelId?: string;
  channelName?: string;
  /** Defaults to a fresh Slack-format trigger_id. */
  triggerId?: string;
  /** Required so the bot never tries to reach hooks.slack.com; use `sim.responseUrl()`. */
  responseUrl: string;
  apiAppId?: string;
  token?: string;
  enterprise?: SlackEnterpriseRef;
  isEnterpriseInstall?: boolean;
}

/** Form body of a slash command, fields in the order Slack sends them. */
export function slashCommandBody(input: SlashCommandInput): string {
  const fields: Array<[string, string]> = [
    ["token", input.token ?? SIM_VERIFICATION_TOKEN],
    ["team_id", input.teamId ?? SIM_DEFAULTS.teamId],
    ["team_domain", input.teamDomain ?? SIM_DEFAULTS.teamDomain],
  ];
  if (input.enterprise) fields.push(["enterprise_id", input.enterprise.id], ["enterprise_name", input.enterprise.name]);
  fields.push(
    ["channel_id", input.channelId ?? SIM_DEFAULTS.channelId],
    ["channel_name", input.channelName ?? (input.channelId?.startsWith("D") ? "directmessage" : SIM_DEFAULTS.channelName)],
    ["user_id", input.userId],
    ["user_name", input.userName ?? input.userId.toLowerCase()],
    ["command", input.command ?? "/access"],
    ["text", input.text ?? ""],
    ["api_app_id", input.apiAppId ?? SIM_DEFAULTS.appId],
    ["is_enterprise_install", String(input.isEnterpriseInstall ?? false)],
    ["response_url", input.responseUrl],
    ["trigger_id", input.triggerId ?? generateTriggerId()],
  );
  return new URLSearchParams(fields).toString();
}

// ---------------------------------------------------------------------------
// block_actions
// ---------------------------------------------------------------------------

export interface BlockActionInput {
  action_id: string;
  block_id: string;
  value?: string;
  type?: string;
  action_ts?: string;
  text?: { type: "plain_text"; text: string; emoji?: boolean };
  style?: string;
  [key: string]: unknown;
}

/** A message as it appears inside an interactivity payload (simulator messages fit). */
export interface PayloadMessageInput {
  ts: string;
  type?: string;
  text?: string;
  blocks?: unknown[];
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  thread_ts?: string;
  subtype?: string;
  attachments?: unknown[];
  reply_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  metadata?: unknown;
  bot_profile?: unknown;
}

export interface BlockActionsInput {
  user: SlackUserRef;
  team?: SlackTeamRef;
  actions: BlockActionInput[];
  message?: PayloadMessageInput;
  channel?: { id: string; name?: string };
  /** Defaults to a message container built from `message` and `channel`. */
  container?: Record<string, unknown>;
  response_url: string;
  trigger_id?: string;
  enterprise?: SlackEnterpriseRef | null;
  api_app_id?: string;
  token?: string;
  state?: { values: Record<string, unknown> };
}

/** Only the fields Slack puts on a message inside payloads (drops simulator bookkeeping). */
const PAYLOAD_MESSAGE_FIELDS = [
  "type", "subtype", "user", "bot_id", "app_id", "text", "team", "ts", "blocks", "attachments",
  "thread_ts", "reply_count", "latest_reply", "edited", "metadata", "bot_profile",
] as const;

function payloadMessage(message: PayloadMessageInput): Record<string, unknown> {
  const picked: Record<string, unknown> = { type: "message" };
  for (const field of PAYLOAD_MESSAGE_FIELDS) if (message[field] !== undefined) picked[field] = message[field];
  return picked;
}

function channelName(id: string, name: string | undefined): string {
  return name ?? (id.startsWith("D") ? "directmessage" : SIM_DEFAULTS.channelName);
}

export function buildBlockActions(input: BlockActionsInput): Record<string, unknown> {
  const team = input.team ?? defaultTeam();
  const channel = input.channel ? { id: input.channel.id, name: channelName(input.channel.id, input.channel.name) } : undefined;
  const container =
    input.container ??
    (input.message && channel
      ? { type: "message", message_ts: input.message.ts, channel_id: channel.id, is_ephemeral: false }
      : undefined);
  return {
    type: "block_actions",
    user: fullUser(input.user, team),
    api_app_id: input.api_app_id ?? SIM_DEFAULTS.appId,
    token: input.token ?? SIM_VERIFICATION_TOKEN,
    ...(container ? { container } : {}),
    trigger_id: input.trigger_id ?? generateTriggerId(),
    team,
    enterprise: input.enterprise ?? null,
    is_enterprise_install: false,
    ...(channel ? { channel } : {}),
    ...(input.message ? { message: payloadMessage(input.message) } : {}),
    state: input.state ?? { values: {} },
    response_url: input.response_url,
    actions: input.actions.map((a) => ({ type: "button", action_ts: actionTs(), ...a })),
  };
}

export function blockActionsPayload(input: BlockActionsInput): string {
  return interactivityBody(buildBlockActions(input));
}

export interface FoundButton {
  block_id: string;
  element: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function elementsOf(block: Record<string, unknown>): unknown[] {
  if (Array.isArray(block.elements)) return block.elements;
  return block.accessory === undefined ? [] : [block.accessory];
}

/** Finds a button by action_id in `actions` blocks or section accessories. */
export function findButton(blocks: unknown[] | undefined, actionId: string): FoundButton | undefined {
  for (const block of blocks ?? []) {
    if (!isRecord(block) || typeof block.block_id !== "string") continue;
    const element = elementsOf(block).find((e) => isRecord(e) && e.type === "button" && e.action_id === actionId);
    if (isRecord(element)) return { block_id: block.block_id, element };
  }
  return undefined;
}

function listActionIds(blocks: unknown[] | undefined): string[] {
  return (blocks ?? []).flatMap((b) => (isRecord(b) ? elementsOf(b) : [])).flatMap((e) => (isRecord(e) && typeof e.action_id === "string" ? [e.action_id] : []));
}

export interface ButtonClickInput {
  /** The message holding the button, e.g. from `sim.messages(channel)`. */
  message: PayloadMessageInput & { channel: string };
  actionId: string;
  user: SlackUserRef;
  responseUrl: string;
  triggerId?: string;
  team?: SlackTeamRef;
  channelName?: string;
}

/**
 * The block_actions body Slack sends when `user` clicks the button `actionId`
 * on a posted message: block_id, value, text and style come from the message.
 */
export function buttonClickPayload(input: ButtonClickInput): string {
  const found = findButton(input.message.blocks, input.actionId);
  if (!found) {
    throw new Error(`No button with action_id "${input.actionId}" in message ${input.message.ts}; found: ${listActionIds(input.message.blocks).join(", ") || "none"}`);
  }
  const { element } = found;
  const action: BlockActionInput = {
    action_id: input.actionId,
    block_id: found.block_id,
    ...(isRecord(element.text) && typeof element.text.text === "string"
      ? { text: { type: "plain_text", text: element.text.text, emoji: true } }
      : {}),
    ...(typeof element.value === "string" ? { value: element.value } : {}),
    ...(typeof element.style === "string" ? { style: element.style } : {}),
    type: "button",
  };
  return blockActionsPayload({
    user: input.user,
    ...(input.team ? { team: input.team } : {}),
    actions: [action],
    message: input.message,
    channel: { id: input.message.channel, ...(input.channelName ? { name: input.channelName } : {}) },
    response_url: input.responseUrl,
    ...(input.triggerId ? { trigger_id: input.triggerId } : {}),
  });
}

// ---------------------------------------------------------------------------
// view_submission
// ---------------------------------------------------------------------------

/** A view as Slack includes it in payloads; simulator `SimView`s fit. */
export interface PayloadViewInput {
  id: string;
  callback_id: string;
  private_metadata?: string;
  state: { values: Record<string, unknown> };
  hash: string;
  type?: string;
  blocks?: unknown[];
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  team_id?: string;
  external_id?: string;
  root_view_id?: string;
  previous_view_id?: string | null;
  app_id?: string;
  bot_id?: string;
}

export interface ViewSubmissionInput {
  user: SlackUserRef;
  team?: SlackTeamRef;
  view: PayloadViewInput;
  trigger_id?: string;
  response_urls?: Array<{ block_id: string; action_id: string; channel_id: string; response_url: string }>;
  api_app_id?: string;
  token?: string;
  enterprise?: SlackEnterpriseRef | null;
}

function payloadView(view: PayloadViewInput, teamId: string): Record<string, unknown> {
  return {
    id: view.id,
    team_id: view.team_id ?? teamId,
    type: view.type ?? "modal",
    blocks: view.blocks ?? [],
    private_metadata: view.private_metadata ?? "",
    callback_id: view.callback_id,
    state: view.state,
    hash: view.hash,
    title: view.title ?? { type: "plain_text", text: "Modal", emoji: true },
    clear_on_close: false,
    notify_on_close: false,
    close: view.close ?? null,
    submit: view.submit ?? null,
    previous_view_id: view.previous_view_id ?? null,
    root_view_id: view.root_view_id ?? view.id,
    app_id: view.app_id ?? SIM_DEFAULTS.appId,
    external_id: view.external_id ?? "",
    app_installed_team_id: teamId,
    bot_id: view.bot_id ?? SIM_DEFAULTS.botId,
  };
}

export function buildViewSubmission(input: ViewSubmissionInput): Record<string, unknown> {
  const team = input.team ?? defaultTeam();
  return {
    type: "view_submission",
    team,
    user: fullUser(input.user, team),
    api_app_id: input.api_app_id ?? SIM_DEFAULTS.appId,
    token: input.token ?? SIM_VERIFICATION_TOKEN,
    trigger_id: input.trigger_id ?? generateTriggerId(),
    view: payloadView(input.view, team.id),
    response_urls: input.response_urls ?? [],
    is_enterprise_install: false,
    enterprise: input.enterprise ?? null,
  };
}

export function viewSubmissionPayload(input: ViewSubmissionInput): string {
  return interactivityBody(buildViewSubmission(input));
}

// ---------------------------------------------------------------------------
// App Home: app_home_opened events and clicks on a Home view
// ---------------------------------------------------------------------------

export interface AppHomeOpenedInput {
  userId: string;
  /** "home" or "messages"; Slack sends the event for either tab. */
  tab?: "home" | "messages";
  /** The Home view as it was last published (Slack includes it once there is one). */
  view?: unknown;
  teamId?: string;
  eventId?: string;
}

/** The Events API body (JSON, `event_callback`) Slack posts when a user opens the app's Home. */
export function appHomeOpenedBody(input: AppHomeOpenedInput): string {
  const teamId = input.teamId ?? SIM_DEFAULTS.teamId;
  const now = nowSeconds();
  return JSON.stringify({
    token: SIM_VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: SIM_DEFAULTS.appId,
    type: "event_callback",
    event_id: input.eventId ?? `Ev${randomBytes(5).toString("hex").toUpperCase()}`,
    event_time: now,
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: SIM_DEFAULTS.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event: {
      type: "app_home_opened",
      user: input.userId,
      channel: `D${input.userId.slice(1)}`,
      tab: input.tab ?? "home",
      ...(input.view !== undefined ? { view: input.view } : {}),
      event_ts: `${now}.000100`,
    },
  });
}

export interface HomeButtonClickInput {
  /** The Home view as published, e.g. `sim.homeView(userId)`. */
  view: { id: string; hash: string; blocks: unknown[]; type?: string; team_id?: string };
  actionId: string;
  /** Picks the button whose value is this (several requests each have their own Approve). */
  value?: string;
  user: SlackUserRef;
  triggerId?: string;
  team?: SlackTeamRef;
}

/**
 * The block_actions body Slack sends for a click on the Home tab: the container is the view,
 * the whole view comes along (`view.blocks` as shown), and there is no message, channel or
 * response_url.
 */
export function homeButtonClickPayload(input: HomeButtonClickInput): string {
  const candidates = (input.view.blocks ?? []).filter((block) => findButton([block], input.actionId) !== undefined);
  const found = candidates.map((block) => findButton([block], input.actionId)!).find((button) => input.value === undefined || button.element.value === input.value);
  if (!found) throw new Error(`No button "${input.actionId}"${input.value ? ` with value ${input.value}` : ""} in Home view ${input.view.id}; found: ${listActionIds(input.view.blocks).join(", ") || "none"}`);
  const team = input.team ?? defaultTeam();
  const { element } = found;
  return interactivityBody({
    type: "block_actions",
    user: fullUser(input.user, team),
    api_app_id: SIM_DEFAULTS.appId,
    token: SIM_VERIFICATION_TOKEN,
    container: { type: "view", view_id: input.view.id },
    trigger_id: input.triggerId ?? generateTriggerId(),
    team,
    enterprise: null,
    is_enterprise_install: false,
    view: {
      id: input.view.id,
      team_id: input.view.team_id ?? team.id,
      type: input.view.type ?? "home",
      blocks: input.view.blocks,
      private_metadata: "",
      callback_id: "",
      state: { values: {} },
      hash: input.view.hash,
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: input.view.id,
      app_id: SIM_DEFAULTS.appId,
      external_id: "",
      app_installed_team_id: team.id,
      bot_id: SIM_DEFAULTS.botId,
    },
    actions: [
      {
        type: "button",
        action_id: input.actionId,
        block_id: found.block_id,
        ...(isRecord(element.text) && typeof element.text.text === "string" ? { text: { type: "plain_text", text: element.text.text, emoji: true } } : {}),
        ...(typeof element.value === "string" ? { value: element.value } : {}),
        ...(typeof element.style === "string" ? { style: element.style } : {}),
        action_ts: actionTs(),
      },
    ],
  });
}
