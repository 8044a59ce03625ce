// The sandbox (src/sandbox/): the real bot against the built-in Slack stand-in, driven through
// the page's JSON API exactly as the page drives it, on PGlite in a temporary directory.
import assert from "node:assert/strict";
import fs from "node:fs";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { SAMPLE_PEOPLE } from "../src/sandbox/sample-policy.js";
import { startSandbox, type Sandbox } from "../src/sandbox/start-sandbox.js";

const ADA = "U0ADA00001"; // requester, engineering
const GRACE = "U0GRACE001"; // sre-leads
const KEN = "U0KEN00001"; // sre-leads
const RADIA = "U0RADIA001"; // security
const EVE = "U0EVE00001"; // outsider

interface LedgerRow {
  seq: string;
  type: string;
  requestId: string | null;
  resource: string | null;
  data: Record<string, unknown> | null;
}

interface PageState {
  sandbox: boolean;
  people: Array<{ id: string; role: string }>;
  channels: { approval: { id: string }; audit: { id: string } };
  messages: Record<string, Array<{ ts: string; text: string; blocks: unknown[] | null }>>;
  dmChannels: Record<string, string>;
  ephemerals: Array<{ channel: string; user: string; text: string }>;
  modals: Record<string, { id: string; blocks: unknown[] } | null>;
  homes: Record<string, { id: string; blocks: unknown[] } | null>;
  ledger: LedgerRow[];
  policy: { resources: Array<{ id: string; provisioner: string | null; wouldHave: string | null }> };
}

describe("the sandbox", () => {
  let sandbox: Sandbox;
  let dataDir: string;

  const post = async (route: string, body: unknown) => {
    const response = await fetch(new URL(route, sandbox.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const state = async (): Promise<PageState> => (await (await fetch(new URL("/api/state", sandbox.url))).json()) as PageState;
  /** Polls the page's state, as the page does on each change, until `pick` finds something. */
  const waitForState = async <T>(pick: (current: PageState) => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = pick(await state());
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-sandbox-"));
    sandbox = await startSandbox({ env: { PORT: "0" }, dataDir, log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) });
  });
  after(async () => {
    await sandbox?.stop();
  });

  test("serves the page on 127.0.0.1, says it is a sandbox, and keeps its data in its own directory", async () => {
    assert.match(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(sandbox.url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /sandbox/i);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    for (const file of ["app.js", "block-kit.js", "mrkdwn.js", "style.css"]) assert.equal((await fetch(new URL(file, sandbox.url))).status, 200, file);
    assert.ok(fs.existsSync(path.join(dataDir, "pglite")), "PGlite lives in the sandbox's directory");
    const current = await state();
    assert.equal(current.sandbox, true);
    assert.deepEqual(current.people.map((person) => person.id), SAMPLE_PEOPLE.map((person) => person.id));
  });

  test("answers only by its own address: another Host (DNS rebinding) and form posts are refused", async () => {
    const port = new URL(sandbox.url).port;
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/api/state", headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(status, 421);
    const form = await fetch(new URL("/api/command", sandbox.url), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "userId=U0ADA00001&text=x" });
    assert.equal(form.status, 415);
    const stranger = await post("/api/command", { userId: "U0STRANGER", text: "prod-db 1h x", channel: "C0APPROVALS" });
    assert.equal(stranger.status, 400, "only the sandbox's people can act");
  });

  test("the page and the bot listen on 127.0.0.1 only: not reachable on the machine's other addresses", async (t) => {
    assert.equal((await fetch(`http://127.0.0.1:${sandbox.bot.port}/healthz`)).status, 200, "the bot answers on 127.0.0.1");
    const external = Object.values(os.networkInterfaces()).flat().find((address) => address && address.family === "IPv4" && !address.internal);
    if (!external) return t.skip("this machine has no non-loopback IPv4 address to try");
    const port = new URL(sandbox.url).port;
    await assert.rejects(fetch(`http://${external.address}:${port}/`), "the page listens on 127.0.0.1 only");
    await assert.rejects(fetch(`http://${external.address}:${sandbox.bot.port}/healthz`), "the bot (HOST=127.0.0.1) listens on 127.0.0.1 only");
  });

  test("request → approvals → dry-run grant → the requester's DM, with the ledger verified", async () => {
    const dm = (await state()).dmChannels[ADA]!;
    const created = await post("/api/command", { userId: ADA, text: "/access prod-db 2h fixing INC-4411", channel: dm });
    assert.equal(created.json.status, 200);
    const reply = await waitForState((current) => current.ephemerals.find((each) => each.user === ADA && /AR-[0-9A-Z]{8}/.test(each.text)), "the requester's ephemeral reply");
    const requestId = /AR-[0-9A-Z]{8}/.exec(reply.text)![0];
    const approvalChannel = (await state()).channels.approval.id;
    const message = await waitForState((current) => current.messages[approvalChannel]?.find((each) => each.text.includes(requestId)), "the approval message");

    // The outsider's click is refused by the bot's own checks, as in Slack.
    await post("/api/click", { userId: EVE, channel: approvalChannel, ts: message.ts, actionId: "access_approve" });
    await waitForState((current) => current.ephemerals.find((each) => each.user === EVE), "the outsider's refusal");
    assert.equal((await state()).ledger.filter((entry) => entry.type === "vote.approved").length, 0);

    for (const [index, approver] of [GRACE, KEN, RADIA].entries()) {
      const clicked = await post("/api/click", { userId: approver, channel: approvalChannel, ts: message.ts, actionId: "access_approve" });
      assert.equal(clicked.json.status, 200);
      await waitForState((current) => current.ledger.filter((entry) => entry.type === "vote.approved" && entry.requestId === requestId).length === index + 1, `${approver}'s vote`);
    }

    const granted = await waitForState((current) => current.messages[current.dmChannels[ADA]!]?.find((each) => /is active until/.test(each.text)), "the requester's 'active' DM");
    assert.match(granted.text, /prod-db/);
    const provisioned = (await state()).ledger.find((entry) => entry.type === "grant.provisioned" && entry.requestId === requestId);
    assert.ok(provisioned, "grant.provisioned is in the ledger");
    const detail = (provisioned.data as { detail: { sandbox: boolean; would_have: string } }).detail;
    assert.equal(detail.sandbox, true);
    assert.equal(detail.would_have, 'GRANT "prod_rw" TO "ada" on the database in $TARGET_PG_URL');

    const verify = await post("/api/audit/verify", {});
    assert.equal(verify.json.code, 0, String(verify.json.output));
    assert.match(String(verify.json.output), /Ledger intact: \d+ entries/);
    const show = await post("/api/audit/show", { id: requestId });
    assert.equal(show.json.code, 0, String(show.json.output));
    assert.match(String(show.json.output), new RegExp(requestId));
    assert.match(String(show.json.output), /grant\.provisioned/);
  });

  test("/access alone opens the request modal; submitting it files the request, and field errors come back", async () => {
    const dm = (await state()).dmChannels["U0LINUS001"]!;
    await post("/api/command", { userId: "U0LINUS001", text: "", channel: dm });
    const modal = await waitForState((current) => current.modals["U0LINUS001"], "the request modal");
    const bad = await post("/api/view-submit", { userId: "U0LINUS001", viewId: modal.id, values: { access_resource: { resource: "staging-admin" }, access_duration: { duration: "99d" }, access_reason: { reason: "deploy" } } });
    assert.ok(bad.json.errors && Object.keys(bad.json.errors).length > 0, `errors for a 99d duration: ${JSON.stringify(bad.json)}`);
    assert.ok((await state()).modals["U0LINUS001"], "the modal stays open after field errors");
    const good = await post("/api/view-submit", { userId: "U0LINUS001", viewId: modal.id, values: { access_resource: { resource: "staging-admin" }, access_duration: { duration: "1h" }, access_reason: { reason: "deploying the fix" } } });
    assert.equal(good.json.status, 200);
    assert.equal((await state()).modals["U0LINUS001"], null, "the modal closes");
    await waitForState((current) => current.ledger.find((entry) => entry.type === "request.created" && entry.resource === "staging-admin"), "the modal's request in the ledger");
  });

  test("App Home: opening it publishes the person's Home tab", async () => {
    await post("/api/home-opened", { userId: GRACE });
    const home = await waitForState((current) => current.homes[GRACE], "Grace's Home tab");
    assert.ok(home.blocks.length > 0);
  });

  test("the policy's real provisioners are accepted and shown with what they would do", async () => {
    const resources = (await state()).policy.resources;
    assert.deepEqual(resources.map((resource) => [resource.id, resource.provisioner]), [
      ["prod-db", "postgres-role"],
      ["prod-incident-channels", "slack-usergroup"],
      ["aws-prod", "webhook"],
      ["staging-admin", "command"],
      ["billing-console", null],
    ]);
    assert.match(resources.find((resource) => resource.id === "aws-prod")!.wouldHave!, /POST a signed "grant" request .* to https:\/\/grants\.internal\/aws/);
  });
});

describe("the sandbox with the user's own policy", () => {
  test("makes up people from the policy's ids and runs it", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-sandbox-own-"));
    const sandbox = await startSandbox({ env: { PORT: "0", ACCESS_POLICY_FILE: path.resolve("access-policy.example.yml") }, dataDir, log: pino({ level: "silent" }) });
    try {
      const current = (await (await fetch(new URL("/api/state", sandbox.url))).json()) as PageState;
      const ids = current.people.map((person) => person.id);
      for (const id of ["U0SRE1", "U0SRE2", "U0SRE3", "U0ALICE"]) assert.ok(ids.includes(id), `${id} from the policy is a person`);
      assert.ok(current.people.some((person) => /outsider/.test(person.role)));
      assert.ok(current.people.some((person) => /approver · security/.test(person.role)), "the security user group has made-up members");
      const requester = current.people.find((person) => person.role.startsWith("requester"))!;
      await fetch(new URL("/api/command", sandbox.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: requester.id, text: "billing-console 30m checking an invoice", channel: current.dmChannels[requester.id] }) });
      const deadline = Date.now() + 15_000;
      let created = false;
      while (!created && Date.now() < deadline) {
        const now = (await (await fetch(new URL("/api/state", sandbox.url))).json()) as PageState;
        created = now.ledger.some((entry) => entry.type === "request.created" && entry.resource === "billing-console");
        if (!created) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(created, "the made-up requester's request is in the ledger");
    } finally {
      await sandbox.stop();
    }
  });
});

describe("the sandbox's data directory", () => {
  test("each start begins afresh, and a second sandbox on a directory in use is refused without touching it", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-sandbox-again-"));
    const log = pino({ level: "silent" });
    const ledgerOf = async (running: Sandbox) => ((await (await fetch(new URL("/api/state", running.url))).json()) as PageState).ledger;
    const first = await startSandbox({ env: { PORT: "0" }, dataDir, log });
    try {
      await fetch(new URL("/api/command", first.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: ADA, text: "prod-db 1h left from the first run", channel: ((await (await fetch(new URL("/api/state", first.url))).json()) as PageState).dmChannels[ADA] }) });
      const deadline = Date.now() + 15_000;
      while (!(await ledgerOf(first)).some((entry) => entry.type === "request.created") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok((await ledgerOf(first)).some((entry) => entry.type === "request.created"), "the first run recorded a request");
      await assert.rejects(startSandbox({ env: { PORT: "0" }, dataDir, log }), /in use|locked|another/i);
      assert.ok((await ledgerOf(first)).some((entry) => entry.type === "request.created"), "the running sandbox kept its data");
    } finally {
      await first.stop();
    }
    const second = await startSandbox({ env: { PORT: "0" }, dataDir, log });
    try {
      assert.ok(!(await ledgerOf(second)).some((entry) => entry.type === "request.created"), "the next start has no requests from the last run");
    } finally {
      await second.stop();
    }
  });
});
