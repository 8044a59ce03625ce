// The sandbox page: shows the Slack stand-in's state as the person you act as would see it
// in Slack, and sends what they do to the sandbox server, which signs it as Slack would and
// passes it to the bot. Live: the server says "change" (server-sent events) and the page
// fetches the state again. Every text is set with textContent.
import { renderBlocks } from "./block-kit.js";

const $ = (id) => document.getElementById(id);
const view = { person: null, conversation: "approval", state: null, modalId: null, seenDm: {} };

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("as")) view.person = params.get("as");
  if (params.get("in")) view.conversation = params.get("in");
}

function writeHash() {
  history.replaceState(null, "", `#as=${encodeURIComponent(view.person ?? "")}&in=${encodeURIComponent(view.conversation)}`);
}

async function api(route, body) {
  const response = await fetch(route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json;
}

function context(state) {
  const channels = { [state.channels.approval.id]: state.channels.approval.name, [state.channels.audit.id]: state.channels.audit.name };
  return { users: state.users, channels, timezone: state.timezone, usergroups: {} };
}

function channelOf(state, conversation) {
  if (conversation === "approval") return state.channels.approval.id;
  if (conversation === "audit") return state.channels.audit.id;
  return state.dmChannels[view.person];
}

function nameOf(state, id) {
  return state.users[id]?.realName ?? id;
}

// ---- rendering ----------------------------------------------------------------------------

function render() {
  const state = view.state;
  if (!state) return;
  if (!state.people.some((person) => person.id === view.person)) view.person = state.people[0]?.id ?? null;
  renderPeople(state);
  renderNav(state);
  renderConversation(state);
  renderLedger(state);
  renderPolicy(state);
  renderModal(state);
}

function renderPeople(state) {
  const select = $("person");
  if (select.options.length !== state.people.length) {
    select.replaceChildren(
      ...state.people.map((person) => {
        const option = document.createElement("option");
        option.value = person.id;
        option.textContent = `${person.realName} — ${person.role}`;
        return option;
      }),
    );
  }
  select.value = view.person;
}

function renderNav(state) {
  $("nav-approval").textContent = state.channels.approval.name;
  $("nav-audit").textContent = state.channels.audit.name;
  for (const item of document.querySelectorAll("[data-conversation]")) item.classList.toggle("active", item.dataset.conversation === view.conversation);
  const dm = state.messages[state.dmChannels[view.person]] ?? [];
  const seen = view.seenDm[view.person] ?? 0;
  const unread = view.conversation === "dm" ? 0 : Math.max(0, dm.length - seen);
  if (view.conversation === "dm") view.seenDm[view.person] = dm.length;
  $("dm-unread").hidden = unread === 0;
  $("dm-unread").textContent = String(unread);
}

function renderConversation(state) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const ctx = { ...context(state), onButton: (button) => click(button) };
  const title = $("conversation-title");
  const sub = $("conversation-sub");
  $("composer").hidden = view.conversation === "home";
  if (view.conversation === "home") {
    title.textContent = "accessbot · Home";
    sub.textContent = `as ${nameOf(state, view.person)}`;
    const home = state.homes[view.person];
    const page = document.createElement("div");
    page.className = "home";
    if (!home) {
      page.textContent = "Opening the Home tab…";
    } else {
      page.append(renderBlocks(home.blocks, { ...ctx, onButton: (button) => click({ ...button, home: true }) }));
    }
    list.replaceChildren(page);
    return;
  }
  const channel = channelOf(state, view.conversation);
  title.textContent = view.conversation === "dm" ? "accessbot" : `#${view.conversation === "approval" ? state.channels.approval.name : state.channels.audit.name}`;
  sub.textContent = view.conversation === "dm" ? `your direct messages with the bot, as ${nameOf(state, view.person)}` : view.conversation === "approval" ? "requests with Approve / Deny" : "the ledger, mirrored line by line";
  const items = [
    ...(state.messages[channel] ?? []).map((message) => ({ at: Number(message.ts) * 1000, message })),
    // Ephemeral replies: only the person they are for sees them, where they typed.
    ...state.ephemerals.filter((each) => each.user === view.person && each.channel === channel).map((ephemeral) => ({ at: ephemeral.at, ephemeral })),
  ].sort((a, b) => a.at - b.at);
  const nodes = items.map((item) => messageNode(state, item, channel, ctx));
  if (nodes.length === 0) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = view.conversation === "dm" ? "No messages from accessbot yet." : "Nothing here yet. Type /access prod-db 2h fixing INC-4411 below, as the requester.";
    nodes.push(empty);
  }
  list.replaceChildren(...nodes);
  if (atBottom || view.scrollDown) list.scrollTop = list.scrollHeight;
  view.scrollDown = false;
}

function messageNode(state, item, channel, ctx) {
  const node = document.createElement("div");
  const author = item.message ? item.message.user : state.botUserId;
  node.className = `message${item.ephemeral ? " ephemeral" : ""}`;
  const avatar = document.createElement("div");
  avatar.className = `avatar${author === state.botUserId ? " bot" : ""}`;
  avatar.textContent = author === state.botUserId ? "🔐" : nameOf(state, author).slice(0, 1);
  const body = document.createElement("div");
  body.className = "message-body";
  const head = document.createElement("div");
  head.className = "message-head";
  const name = document.createElement("span");
  name.className = "author";
  name.textContent = author === state.botUserId ? "accessbot" : nameOf(state, author);
  head.append(name);
  if (author === state.botUserId) {
    const app = document.createElement("span");
    app.className = "app-badge";
    app.textContent = "APP";
    head.append(app);
  }
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = new Intl.DateTimeFormat("en-US", { timeZone: state.timezone, hour: "numeric", minute: "2-digit" }).format(new Date(item.at));
  head.append(time);
  if (item.message?.edited) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "(edited)";
    head.append(edited);
  }
  body.append(head);
  if (item.ephemeral) {
    const only = document.createElement("div");
    only.className = "only-you";
    only.textContent = "👁 Only visible to you";
    body.append(only);
    body.append(renderBlocks(item.ephemeral.blocks, ctx, item.ephemeral.text));
  } else {
    const message = item.message;
    body.append(renderBlocks(message.blocks, { ...ctx, onButton: (button) => click({ ...button, channel, ts: message.ts }) }, message.text));
    node.dataset.ts = message.ts;
  }
  node.append(avatar, body);
  return node;
}

const LEDGER_LABELS = {
  "request.created": "requested",
  "vote.approved": "approved",
  "vote.denied": "denied",
  "grant.provisioning": "provisioning",
  "grant.provisioned": "provisioned",
  "grant.activated": "active",
};

function renderLedger(state) {
  const list = $("ledger");
  const nodes = [...state.ledger].reverse().map((entry) => {
    const item = document.createElement("li");
    item.className = `ledger-entry type-${entry.type.replace(/\W/g, "-")}`;
    const head = document.createElement("div");
    head.className = "ledger-head";
    const seq = document.createElement("span");
    seq.className = "seq";
    seq.textContent = `#${entry.seq}`;
    const type = document.createElement("span");
    type.className = "ledger-type";
    type.textContent = entry.type;
    head.append(seq, type);
    if (entry.requestId) {
      const id = document.createElement("button");
      id.type = "button";
      id.className = "ledger-id";
      id.textContent = entry.requestId;
      id.title = `audit show ${entry.requestId}`;
      id.addEventListener("click", () => show(entry.requestId));
      head.append(id);
    }
    item.append(head);
    const who = document.createElement("div");
    who.className = "ledger-who";
    const parts = [];
    if (entry.actorId) parts.push(`by ${nameOf(state, entry.actorId)}`);
    if (entry.subjectId && entry.subjectId !== entry.actorId) parts.push(`for ${nameOf(state, entry.subjectId)}`);
    if (entry.resource) parts.push(entry.resource);
    parts.push(new Intl.DateTimeFormat("en-US", { timeZone: state.timezone, hour: "numeric", minute: "2-digit", second: "2-digit" }).format(new Date(entry.ts)));
    who.textContent = parts.join(" · ");
    item.append(who);
    const detail = entry.data?.detail;
    if (detail?.sandbox) {
      // The sandbox's dry run: the real provisioner was not called.
      const would = document.createElement("div");
      would.className = "would-have";
      would.textContent = `Sandbox, not run: would have ${detail.would_have}`;
      item.append(would);
    }
    const hash = document.createElement("div");
    hash.className = "ledger-hash";
    hash.textContent = `hash ${entry.hash.slice(0, 16)}…`;
    item.append(hash);
    return item;
  });
  if (nodes.length === 0) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = "No entries yet.";
    nodes.push(empty);
  }
  list.replaceChildren(...nodes);
}

function renderPolicy(state) {
  const body = $("policy-body");
  const file = document.createElement("div");
  file.className = "policy-file";
  file.textContent = `${state.policy.file} (sha256 ${state.policy.sha256.slice(0, 12)}…)`;
  const rows = state.policy.resources.map((resource) => {
    const row = document.createElement("div");
    row.className = "policy-resource";
    const name = document.createElement("code");
    name.textContent = resource.id;
    const title = document.createElement("span");
    title.textContent = ` ${resource.title} — `;
    const what = document.createElement("span");
    what.className = resource.provisioner ? "would-have-inline" : "approval-only";
    what.textContent = resource.provisioner ? `${resource.provisioner} (dry run: would ${resource.wouldHave})` : "approval only";
    row.append(name, title, what);
    return row;
  });
  body.replaceChildren(file, ...rows);
}

function renderModal(state) {
  const backdrop = $("modal");
  const modal = state.modals[view.person];
  if (!modal) {
    backdrop.hidden = true;
    backdrop.replaceChildren();
    view.modalId = null;
    return;
  }
  // The same modal stays as it is, so what the person has typed is kept across refreshes.
  if (view.modalId === modal.id && !backdrop.hidden) return;
  view.modalId = modal.id;
  const dialog = document.createElement("form");
  dialog.className = "modal";
  dialog.setAttribute("role", "dialog");
  const head = document.createElement("div");
  head.className = "modal-head";
  const title = document.createElement("div");
  title.className = "modal-title";
  title.textContent = modal.title?.text ?? "accessbot";
  const x = document.createElement("button");
  x.type = "button";
  x.className = "modal-x";
  x.textContent = "×";
  x.setAttribute("aria-label", "Close");
  x.addEventListener("click", () => closeModal(modal.id));
  head.append(title, x);
  const body = document.createElement("div");
  body.className = "modal-body";
  body.append(renderBlocks(modal.blocks, { ...context(state), onButton: null }));
  const foot = document.createElement("div");
  foot.className = "modal-foot";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "bk-button";
  cancel.textContent = modal.close?.text ?? "Cancel";
  cancel.addEventListener("click", () => closeModal(modal.id));
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "bk-button bk-primary";
  submit.textContent = modal.submit?.text ?? "Submit";
  foot.append(cancel, submit);
  dialog.append(head, body, foot);
  dialog.addEventListener("submit", (event) => {
    event.preventDefault();
    submitModal(modal.id, dialog);
  });
  backdrop.replaceChildren(dialog);
  backdrop.hidden = false;
}

// ---- actions ------------------------------------------------------------------------------

async function click(button) {
  try {
    if (button.home) await api("/api/click", { userId: view.person, home: true, actionId: button.actionId, value: button.value });
    else await api("/api/click", { userId: view.person, channel: button.channel, ts: button.ts, actionId: button.actionId, value: button.value });
  } catch (error) {
    flash(`The click did not reach the bot: ${error.message}`);
  }
}

async function submitModal(viewId, form) {
  const values = {};
  for (const control of form.querySelectorAll(".bk-control")) {
    const blockId = control.dataset.blockId;
    if (!blockId || !("value" in control)) continue;
    values[blockId] = { [control.dataset.actionId]: control.value };
  }
  for (const error of form.querySelectorAll(".bk-input-error")) error.textContent = "";
  try {
    const answer = await api("/api/view-submit", { userId: view.person, viewId, values });
    if (answer.errors) {
      for (const [blockId, message] of Object.entries(answer.errors)) {
        const slot = form.querySelector(`.bk-input-error[data-error-for="${CSS.escape(blockId)}"]`);
        if (slot) slot.textContent = message;
      }
    }
  } catch (error) {
    flash(`The modal was not submitted: ${error.message}`);
  }
}

async function closeModal(viewId) {
  await api("/api/view-close", { userId: view.person, viewId }).catch(() => undefined);
}

async function send(text) {
  const state = view.state;
  if (!/^\/access(\s|$)/.test(text)) {
    flash("The sandbox's bot answers one command: /access … (try /access help).");
    return;
  }
  const channel = channelOf(state, view.conversation === "home" ? "dm" : view.conversation);
  view.scrollDown = true;
  await api("/api/command", { userId: view.person, text, channel });
}

async function show(id) {
  $("show-id").value = id;
  const answer = await api("/api/audit/show", { id });
  showOutput(answer.output, answer.code === 0);
}

function showOutput(text, ok) {
  const out = $("audit-output");
  out.hidden = false;
  out.textContent = text;
  out.classList.toggle("ok", ok);
  out.classList.toggle("failed", !ok);
}

function flash(text) {
  const hint = $("composer-hint");
  hint.textContent = text;
  hint.classList.add("flash");
  setTimeout(() => hint.classList.remove("flash"), 4000);
}

function openHome() {
  api("/api/home-opened", { userId: view.person }).catch((error) => flash(error.message));
}

// ---- wiring -------------------------------------------------------------------------------

async function refresh() {
  const response = await fetch("/api/state");
  view.state = await response.json();
  render();
}

function start() {
  readHash();
  $("person").addEventListener("change", (event) => {
    view.person = event.target.value;
    view.modalId = null;
    writeHash();
    view.scrollDown = true;
    render();
    if (view.conversation === "home") openHome();
  });
  for (const item of document.querySelectorAll("[data-conversation]")) {
    item.addEventListener("click", () => {
      view.conversation = item.dataset.conversation;
      writeHash();
      view.scrollDown = true;
      render();
      if (view.conversation === "home") openHome();
    });
  }
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text).catch((error) => flash(error.message));
  });
  $("verify").addEventListener("click", async () => {
    const answer = await api("/api/audit/verify", {});
    showOutput(answer.output, answer.code === 0);
  });
  $("show-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("show-id").value.trim();
    if (id) show(id).catch((error) => showOutput(error.message, false));
  });
  const events = new EventSource("/api/events");
  events.addEventListener("change", () => refresh().catch(() => undefined));
  refresh().then(() => {
    writeHash();
    if (view.conversation === "home") openHome();
  });
}

start();
