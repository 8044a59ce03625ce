// The webhook provisioner against a real HTTP server on 127.0.0.1.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import { pino } from "pino";
import { z } from "zod";
import type { Provisioner } from "../src/domain/ports.js";
import { ProvisionerConfigError, type ProvisionerDeps } from "../src/provisioning/provisioner-type.js";
import { webhookProvisionerType } from "../src/provisioning/webhook-provisioner.js";
import { EXPIRES_AT, makeContext } from "./fixtures/provisioner-context.js";

const SECRET = "provisioning-shared-secret";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

type Mode = "ok" | "fail" | "hang" | "redirect";

function deps(env: Record<string, string>): ProvisionerDeps {
  return { env, slack: new WebClient("xoxb-unused"), log: pino({ level: "silent" }) };
}

describe("webhook provisioner (real HTTP server)", () => {
  let server: Server;
  let url: string;
  let mode: Mode = "ok";
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  let provisioner: Provisioner;

  before(async () => {
    server = createServer((req, res) => {
      let raw = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (raw += chunk));
      req.on("end", () => {
        received.push({ path: req.url ?? "", headers: req.headers, raw });
        if (mode === "fail") res.writeHead(500, { "content-type": "text/plain" }).end(`${"E".repeat(190)}0123456789-this-part-is-cut`);
        else if (mode === "hang") hanging.add(res);
        else if (mode === "redirect") res.writeHead(307, { location: "/elsewhere" }).end();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`;
    provisioner = webhookProvisionerType.create(webhookProvisionerType.toOptions({ url, secret_env: "PROVISION_WEBHOOK_SECRET" }), deps({ PROVISION_WEBHOOK_SECRET: SECRET }), "vault");
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    mode = "ok";
    received.length = 0;
  });

  test("grant POSTs the documented body, signed, with an idempotency key", async () => {
    const user = { id: "U0ALICE01", email: "alice@example.com", name: "Alice Liddell" };
    const context = makeContext({ user, resource: "vault", attempt: 2, grantId: "gr_fixed01" });
    const before = Math.floor(Date.now() / 1000);
    const result = await provisioner.grant(context);
    assert.deepEqual(result.detail, { action: "grant", status: 204 });

    assert.equal(received.length, 1);
    const [request] = received as [Received];
    assert.equal(request.path, "/provision");
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["idempotency-key"], "gr_fixed01:grant");

    // The body, key for key and in this order.
    const expected = {
      action: "grant",
      grant_id: "gr_fixed01",
      request_id: context.request.id,
      resource: "vault",
      user: { id: "U0ALICE01", email: "alice@example.com", name: "Alice Liddell" },
      expires_at: EXPIRES_AT.toISOString(),
      reason: context.request.reason,
      attempt: 2,
    };
    assert.equal(request.raw, JSON.stringify(expected));

    // The signature, recomputed here from the secret and the raw bytes received.
    const timestamp = String(request.headers["x-accessbot-timestamp"]);
    assert.ok(Number(timestamp) >= before && Number(timestamp) <= Math.floor(Date.now() / 1000) + 1, `timestamp ${timestamp}`);
    const hmac = createHmac("sha256", SECRET).update(`${timestamp}.${request.raw}`).digest("hex");
    assert.equal(request.headers["x-accessbot-signature"], `v1=${hmac}`);
  });

  test("revoke and extend use their own action and idempotency keys", async () => {
    const context = makeContext({ user: "U0ALICE01", grantId: "gr_fixed02", state: { anything: true } });
    await provisioner.revoke(context);
    const newExpiry = new Date(EXPIRES_AT.getTime() + 3_600_000);
    const extended = makeContext({ user: "U0ALICE01", grantId: "gr_fixed02", expiresAt: newExpiry });
    await provisioner.extend?.({ ...extended, previousExpiresAt: EXPIRES_AT });

    const [revoke, extend] = received as [Received, Received];
    assert.equal(revoke.headers["idempotency-key"], "gr_fixed02:revoke");
    assert.equal((JSON.parse(revoke.raw) as { action: string }).action, "revoke");

    assert.equal(extend.headers["idempotency-key"], `gr_fixed02:extend:${newExpiry.toISOString()}`);
    const body = JSON.parse(extend.raw) as Record<string, unknown>;
    assert.equal(body.action, "extend");
    assert.equal(body.expires_at, newExpiry.toISOString());
    assert.equal(body.previous_expires_at, EXPIRES_AT.toISOString());
    assert.deepEqual(Object.keys(body), ["action", "grant_id", "request_id", "resource", "user", "expires_at", "reason", "attempt", "previous_expires_at"]);
  });

  test("a 500 rejects with the status and the first 200 characters of the answer", async () => {
    mode = "fail";
    await assert.rejects(provisioner.grant(makeContext({ user: "U0ALICE01" })), (error: Error) => {
      assert.equal(error.message, `webhook grant for resource vault: the endpoint answered HTTP 500: ${"E".repeat(190)}0123456789`);
      return true;
    });
  });

  test("a redirect is not followed: the signed body goes only where the policy says", async () => {
    mode = "redirect";
    await assert.rejects(provisioner.grant(makeContext({ user: "U0ALICE01" })), /answered HTTP 307/);
    assert.equal(received.length, 1);
  });

  test("a server that never answers is abandoned promptly when the signal aborts", async () => {
    mode = "hang";
    const controller = new AbortController();
    const started = Date.now();
    const call = provisioner.revoke(makeContext({ user: "U0ALICE01", signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(call, /abandoned: no answer before the provisioner's timeout/);
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    assert.equal(received.length, 1);
  });

  test("an unreachable endpoint rejects with the reason", async () => {
    // A port that was just free: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const closed = webhookProvisionerType.create({ url: `http://127.0.0.1:${port}/nothing-listens`, secretEnv: "S" }, deps({ S: SECRET }), "vault");
    await assert.rejects(closed.grant(makeContext({ user: "U0ALICE01" })), /webhook grant for resource vault failed: .*ECONNREFUSED/);
  });

  test("create() needs the secret's environment variable", () => {
    assert.throws(() => webhookProvisionerType.create({ url, secretEnv: "PROVISION_WEBHOOK_SECRET" }, deps({}), "vault"), (error: Error) => {
      assert.ok(error instanceof ProvisionerConfigError);
      assert.equal(error.message, "resource vault: provisioner webhook needs the environment variable PROVISION_WEBHOOK_SECRET (the secret the webhook's requests are signed with); it is not set");
      return true;
    });
  });

  test("the url must be http or https", () => {
    const schema = z.object(webhookProvisionerType.optionsShape).strict();
    assert.equal(schema.safeParse({ url: "https://hooks.example.com/grant", secret_env: "X" }).success, true);
    assert.match(schema.safeParse({ url: "ftp://hooks.example.com/", secret_env: "X" }).error?.issues[0]?.message ?? "", /'ftp:\/\/hooks.example.com\/' is not an http:\/\/ or https:\/\/ URL/);
    assert.equal(schema.safeParse({ url: "not a url", secret_env: "X" }).success, false);
  });
});
