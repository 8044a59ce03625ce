/**
 * The sandbox's page and its JSON/SSE API, on 127.0.0.1 only. The page shows the Slack
 * stand-in's state (channels, each person's DM, App Home, open modals) and the ledger; what a
 * person does on the page comes here and is sent to the bot as the exact signed request Slack
 * would send (slash command, block_actions, view_submission, app_home_opened), so the sandbox
 * runs the same listeners, domain and ledger as production.
 */
import fs from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { z } from "zod";
import { runAuditCli } from "../audit/cli/run-audit-cli.js";
import type { Database } from "../db/open-database.js";
import type { Bot } from "../main.js";
import { postToBot, type BotResponse } from "../slack-simulator/sign-slack-request.js";
import { appHomeOpenedBody, buttonClickPayload, homeButtonClickPayload, viewSubmissionPayload } from "../slack-simulator/slack-requests.js";
import { slashCommandBody } from "../slack-simulator/slack-requests.js";
import type { SimView, SlackSimulator } from "../slack-simulator/slack-simulator.js";
import type { SandboxPerson } from "./sandbox-people.js";
import { describeWouldHave } from "./sandbox-provisioners.js";

/**
 * The page's files: plain HTML, CSS and ES modules, served as they are (no build step). They
 * are resolved from the package root, not from this file's folder, so the compiled build
 * (dist/sandbox/) serves the same files as the sources.
 */
const PAGE_DIR = new URL("../../src/sandbox/page/", import.meta.url);
const PAGE_FILES: Record<string, string> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/block-kit.js": "block-kit.js",
  "/mrkdwn.js": "mrkdwn.js",
  "/style.css": "style.css",
};
const CONTENT_TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };
const MAX_BODY_BYTES = 64 * 1024;
const LEDGER_SHOWN = 300;

export interface SandboxServerOptions {
  sim: SlackSimulator;
  bot: Bot;
  database: Database;
  people: SandboxPerson[];
  signingSecret: string;
  policyFile: string;
  port: number;
  log: Logger;
}

export interface SandboxServer {
  port: number;
  close(): Promise<void>;
}

const userId = z.string().regex(/^[UW][A-Z0-9]{2,30}$/, "a user id");
const commandInput = z.object({ userId, text: z.string().max(3000), channel: z.string().regex(/^[CDG][A-Z0-9]{2,30}$/) });
const clickInput = z.union([
  z.object({ userId, channel: z.string().regex(/^[CDG][A-Z0-9]{2,30}$/), ts: z.string().regex(/^\d+\.\d+$/), actionId: z.string().min(1).max(255), value: z.string().max(2000).optional() }),
  z.object({ userId, home: z.literal(true), actionId: z.string().min(1).max(255), value: z.string().max(2000).optional() }),
]);
const viewSubmitInput = z.object({ userId, viewId: z.string().min(1).max(64), values: z.record(z.string(), z.record(z.string(), z.string().max(3000))) });
const viewCloseInput = z.object({ userId, viewId: z.string().min(1).max(64) });
const homeInput = z.object({ userId });
const showInput = z.object({ id: z.string().min(1).max(64) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the page's server on 127.0.0.1:`port` (0 picks a free one). */
export async function startSandboxServer(options: SandboxServerOptions): Promise<SandboxServer> {
  const { sim, bot, database, people, signingSecret, log } = options;
  if (!fs.existsSync(new URL("index.html", PAGE_DIR))) {
    // The runtime image (deploy/Dockerfile) ships dist/ without src/: the sandbox is for a clone.
    throw Object.assign(new Error(`The sandbox's page is missing (${PAGE_DIR.pathname}): run the sandbox from a clone of the repository, where src/sandbox/page/ is.`), { code: "SANDBOX_PAGE_MISSING" });
  }
  const botUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const peopleById = new Map(people.map((person) => [person.id, person]));
  /** Views a person submitted or closed: the page no longer shows them as open modals. */
  const closedViews = new Set<string>();
  const streams = new Set<ServerResponse>();
  let version = 0;
  let lastSeq = -1n;

  let pending: NodeJS.Timeout | null = null;
  const changed = () => {
    if (pending) return;
    // A burst of Slack calls (one decision updates every copy) is one refresh of the page.
    pending = setTimeout(() => {
      pending = null;
      version += 1;
      for (const stream of streams) stream.write(`event: change\ndata: ${version}\n\n`);
    }, 50);
  };
  const unsubscribe = sim.onChange(changed);
  // The ledger can grow without a Slack call (a dry-run provision); its head is watched too.
  const ledgerWatch = setInterval(() => {
    database.prisma.ledgerEntry.aggregate({ _max: { seq: true } }).then(
      (result) => {
        const seq = result._max.seq ?? 0n;
        if (seq !== lastSeq) {
          lastSeq = seq;
          changed();
        }
      },
      () => undefined,
    );
  }, 500);
  const keepAlive = setInterval(() => {
    for (const stream of streams) stream.write(": keep-alive\n\n");
  }, 15_000);

  const person = (id: string): SandboxPerson => {
    const found = peopleById.get(id);
    // Only the sandbox's people can act: the page cannot sign requests for anyone else.
    if (!found) throw new HttpError(400, `${id} is not one of the sandbox's people`);
    return found;
  };
  const send = async (body: string, contentType: "application/x-www-form-urlencoded" | "application/json"): Promise<BotResponse> => {
    const response = await postToBot(botUrl, signingSecret, { body, contentType });
    if (response.status >= 400) log.warn({ status: response.status, body: response.text.slice(0, 200) }, "the bot refused a request from the sandbox page");
    return response;
  };
  const openModal = (forUser: string): SimView | null => {
    const views = sim.views().filter((view) => view.user_id === forUser && !closedViews.has(view.id) && !closedViews.has(view.root_view_id));
    return views.at(-1) ?? null;
  };

  const state = async () => {
    const policy = bot.deps.policy.current();
    const entries = await database.prisma.ledgerEntry.findMany({ orderBy: { seq: "desc" }, take: LEDGER_SHOWN });
    const users: Record<string, { name: string; realName: string }> = { [sim.botUserId]: { name: "accessbot", realName: "accessbot" } };
    for (const each of people) users[each.id] = { name: each.name, realName: each.realName };
    const channelIds = [policy.policy.settings.approvalChannel, policy.policy.settings.auditChannel];
    const requester = people.find((each) => each.role.startsWith("requester"))?.id ?? people[0]?.id ?? "U0NOBODY";
    return {
      sandbox: true,
      team: { name: "accessbot sandbox", domain: sim.teamDomain },
      botUserId: sim.botUserId,
      version,
      people,
      users,
      channels: {
        approval: { id: policy.policy.settings.approvalChannel, name: "access-approvals" },
        audit: { id: policy.policy.settings.auditChannel, name: "access-audit" },
      },
      timezone: policy.policy.settings.timezone,
      messages: Object.fromEntries([
        ...channelIds.map((id) => [id, sim.messages(id).map(publicMessage)] as const),
        ...people.map((each) => [sim.dmChannelFor(each.id), sim.messages(sim.dmChannelFor(each.id)).map(publicMessage)] as const),
      ]),
      dmChannels: Object.fromEntries(people.map((each) => [each.id, sim.dmChannelFor(each.id)])),
      ephemerals: sim.ephemerals().map((each) => ({ channel: each.channel, user: each.user, text: each.text, blocks: each.blocks ?? null, at: each.at })),
      homes: Object.fromEntries(people.map((each) => [each.id, homeOf(sim, each.id)])),
      modals: Object.fromEntries(people.map((each) => [each.id, modalOf(openModal(each.id))])),
      ledger: entries.reverse().map((entry) => ({
        seq: entry.seq.toString(),
        ts: entry.ts.toISOString(),
        type: entry.type,
        requestId: entry.requestId,
        actorId: entry.actorId,
        subjectId: entry.subjectId,
        resource: entry.resource,
        data: (JSON.parse(entry.body) as { data?: unknown }).data ?? null,
        hash: entry.hash,
      })),
      policy: {
        file: options.policyFile,
        sha256: policy.sha256,
        resources: Object.values(policy.policy.resources).map((resource) => ({
          id: resource.id,
          title: resource.title,
          provisioner: resource.provisioner?.type ?? null,
          // What a grant to the requester would do in production; the sandbox only records it.
          wouldHave: resource.provisioner ? describeWouldHave(resource.provisioner, "grant", requester) : null,
        })),
      },
    };
  };

  const audit = async (args: string[]) => {
    const lines: string[] = [];
    const out = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(text) };
    const code = await runAuditCli(args, out, { database, progress: null });
    return { code, output: lines.join("\n") };
  };

  const routes: Record<string, (body: unknown) => Promise<unknown>> = {
    "POST /api/command": async (body) => {
      const input = parse(commandInput, body);
      const who = person(input.userId);
      const text = input.text.trim().replace(/^\/access\b\s*/, "");
      const command = slashCommandBody({
        userId: who.id,
        userName: who.name,
        text,
        channelId: input.channel,
        channelName: input.channel.startsWith("D") ? "directmessage" : "access-approvals",
        responseUrl: sim.responseUrl(undefined, { userId: who.id, channel: input.channel }),
        triggerId: sim.issueTriggerId(who.id),
        teamDomain: sim.teamDomain,
      });
      const response = await send(command, "application/x-www-form-urlencoded");
      return { status: response.status };
    },
    "POST /api/click": async (body) => {
      const input = parse(clickInput, body);
      const who = person(input.userId);
      const user = { id: who.id, username: who.name, name: who.name };
      let payload: string;
      if ("home" in input) {
        const home = sim.homeView(who.id);
        if (!home) throw new HttpError(404, "this person's Home tab has not been published yet");
        payload = homeButtonClickPayload({ view: home, actionId: input.actionId, ...(input.value !== undefined ? { value: input.value } : {}), user, triggerId: sim.issueTriggerId(who.id) });
      } else {
        // A person sees their own DM and the channels, never someone else's DM.
        if (input.channel.startsWith("D") && input.channel !== sim.dmChannelFor(who.id)) throw new HttpError(403, "that is someone else's DM");
        const message = sim.message(input.channel, input.ts);
        if (!message) throw new HttpError(404, "no such message");
        payload = buttonClickPayload({
          message,
          actionId: input.actionId,
          user,
          responseUrl: sim.responseUrl(undefined, { userId: who.id, channel: input.channel, messageTs: input.ts }),
          triggerId: sim.issueTriggerId(who.id),
          channelName: input.channel.startsWith("D") ? "directmessage" : "access-approvals",
        });
      }
      const response = await send(payload, "application/x-www-form-urlencoded");
      return { status: response.status };
    },
    "POST /api/view-submit": async (body) => {
      const input = parse(viewSubmitInput, body);
      const who = person(input.userId);
      const view = sim.view(input.viewId);
      if (!view || view.user_id !== who.id || closedViews.has(view.id)) throw new HttpError(404, "no such open modal for this person");
      const payload = viewSubmissionPayload({ user: { id: who.id, username: who.name, name: who.name }, view: { ...view, state: viewState(view, input.values) }, trigger_id: sim.issueTriggerId(who.id) });
      const response = await send(payload, "application/x-www-form-urlencoded");
      const answer = (response.json ?? {}) as { response_action?: string; errors?: Record<string, string> };
      if (response.status === 200 && answer.response_action === "errors") return { status: 200, errors: answer.errors ?? {} };
      // Slack closes the modal on an empty 200 (or `clear`); a refused submission leaves it open.
      if (response.status === 200) {
        closedViews.add(view.id);
        changed();
      }
      return { status: response.status };
    },
    "POST /api/view-close": async (body) => {
      const input = parse(viewCloseInput, body);
      person(input.userId);
      closedViews.add(input.viewId);
      changed();
      return { status: 200 };
    },
    "POST /api/home-opened": async (body) => {
      const input = parse(homeInput, body);
      const who = person(input.userId);
      const home = sim.homeView(who.id);
      const response = await send(appHomeOpenedBody({ userId: who.id, ...(home ? { view: home } : {}) }), "application/json");
      return { status: response.status };
    },
    "POST /api/audit/verify": async () => audit(["verify"]),
    "POST /api/audit/show": async (body) => audit(["show", parse(showInput, body).id]),
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) log.error({ err: error }, "sandbox page request failed");
      if (!res.headersSent) json(res, status, { error: error instanceof Error ? error.message : String(error) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only this machine's browser, by this address: a page on another site that resolves its
    // own name to 127.0.0.1 (DNS rebinding) sends its own Host and is refused.
    const host = req.headers.host ?? "";
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) throw new HttpError(421, "the sandbox answers only at http://127.0.0.1:<port>/");
    const url = new URL(req.url ?? "/", `http://${host}`);
    if (req.method === "GET" && PAGE_FILES[url.pathname]) return servePage(res, PAGE_FILES[url.pathname]!);
    if (req.method === "GET" && url.pathname === "/api/state") return json(res, 200, await state());
    if (req.method === "GET" && url.pathname === "/api/events") return openStream(req, res);
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) throw new HttpError(404, "not found");
    // JSON only: a cross-site form cannot send it without the browser asking first (CORS), and this server never says yes.
    if (!(req.headers["content-type"] ?? "").startsWith("application/json")) throw new HttpError(415, "send JSON");
    json(res, 200, await route(await readJson(req)));
  }

  function servePage(res: ServerResponse, file: string): void {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(new URL(file, PAGE_DIR));
    } catch {
      throw new HttpError(500, `the sandbox page file ${file} is missing from ${PAGE_DIR.pathname}: the page ships as source files beside dist/`);
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[file.split(".").pop()!] ?? "application/octet-stream",
      "cache-control": "no-store",
      // The page renders people's text with textContent only; this is the second line of defence.
      "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
    });
    res.end(bytes);
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(`event: change\ndata: ${version}\n\n`);
    streams.add(res);
    req.on("close", () => streams.delete(res));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // 127.0.0.1 only: the sandbox acts as anyone in its made-up workspace, for whoever can reach it.
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: unknown) => {
    unsubscribe();
    clearInterval(ledgerWatch);
    clearInterval(keepAlive);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new Error(`Port ${options.port} on 127.0.0.1 is in use: set PORT to a free port for the sandbox's page (PORT=0 picks one).`);
    throw error;
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    async close() {
      unsubscribe();
      clearInterval(ledgerWatch);
      clearInterval(keepAlive);
      if (pending) clearTimeout(pending);
      for (const stream of streams) stream.end();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  return parsed.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function publicMessage(message: { ts: string; user: string; text: string; blocks?: unknown[]; edited?: unknown }) {
  return { ts: message.ts, user: message.user, text: message.text, blocks: message.blocks ?? null, edited: message.edited !== undefined };
}

function homeOf(sim: SlackSimulator, forUser: string) {
  const home = sim.homeView(forUser);
  return home ? { id: home.id, blocks: home.blocks } : null;
}

function modalOf(view: SimView | null) {
  return view ? { id: view.id, title: view.title ?? null, submit: view.submit ?? null, close: view.close ?? null, blocks: view.blocks, callbackId: view.callback_id } : null;
}

/**
 * `view.state.values` as Slack builds it from what the person typed or picked: one entry per
 * input block, by its element's type. A select's value must be one of its options (Slack
 * sends the whole option object).
 */
function viewState(view: SimView, typed: Record<string, Record<string, string>>): { values: Record<string, Record<string, unknown>> } {
  const values: Record<string, Record<string, unknown>> = {};
  for (const block of view.blocks as Array<Record<string, unknown>>) {
    if (block.type !== "input" || typeof block.block_id !== "string") continue;
    const element = block.element as Record<string, unknown> | undefined;
    const actionId = element?.action_id;
    if (!element || typeof actionId !== "string") continue;
    const raw = typed[block.block_id]?.[actionId];
    if (element.type === "plain_text_input") {
      values[block.block_id] = { [actionId]: { type: "plain_text_input", value: raw === undefined || raw === "" ? null : raw } };
    } else if (element.type === "static_select") {
      const options = [...((element.options as unknown[] | undefined) ?? []), ...((element.option_groups as Array<{ options: unknown[] }> | undefined) ?? []).flatMap((group) => group.options)] as Array<{ value: string }>;
      const chosen = options.find((option) => option.value === raw) ?? (raw === undefined ? (element.initial_option as { value: string } | undefined) : undefined);
      values[block.block_id] = { [actionId]: { type: "static_select", selected_option: chosen ?? null } };
    }
  }
  return { values };
}
