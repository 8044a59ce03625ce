/**
 * A target system for the `webhook` provisioner: a real node:http server on 127.0.0.1 that
 * records every grant / revoke call the bot makes, checks its signature, and answers as told.
 *
 * Signature: `x-accessbot-signature: v1=<hex HMAC-SHA256 of "<x-accessbot-timestamp>.<raw body>">`
 * with the shared secret. Every call is recorded, valid or not (`signatureValid` says which), so
 * a test can assert that none was unsigned.
 *
 * Answers: 200 `{"ok":true}` by default. `failNext(n)` answers 500 to the next n calls;
 * `hangNext(n)` holds the next n calls open without answering until `release()` (or until the
 * client gives up, e.g. the bot's timeout, or the bot is killed); each can be limited to one
 * action (`{ action: "revoke" }`). Rules are consumed in the order they were added.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";

export const SIGNATURE_HEADER = "x-accessbot-signature";
export const TIMESTAMP_HEADER = "x-accessbot-timestamp";
/** Headers an idempotency key may arrive in (the body's `idempotency_key` is also read). */
const IDEMPOTENCY_HEADERS = ["idempotency-key", "x-accessbot-idempotency-key"];
const ATTEMPT_HEADER = "x-accessbot-attempt";

export interface WebhookCall {
  /** Arrival order, from 1. */
  n: number;
  method: string;
  path: string;
  /** `action` from the body ("grant" | "revoke" | …), else the last path segment. */
  action: string;
  grant_id: string | undefined;
  request_id: string | undefined;
  user: unknown;
  expires_at: string | undefined;
  attempt: number | undefined;
  idempotencyKey: string | undefined;
  receivedAt: number;
  signatureValid: boolean;
  /** Seconds between the signed timestamp and arrival (positive: the timestamp is in the past). */
  timestampSkewSeconds: number | null;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  body: Record<string, unknown> | undefined;
  /** What was answered: an HTTP status, "hung" while held, "released", or "aborted" (client went away first). */
  outcome: number | "hung" | "aborted";
  answeredAt: number | null;
}

export interface CallFilter {
  /** Only calls with this action (e.g. "grant", "revoke"). */
  action?: string;
  /** Only calls for this grant. */
  grantId?: string;
}

interface Rule {
  kind: "fail" | "hang";
  status: number;
  remaining: number;
  filter: CallFilter;
}

export interface GrantWebhookServer {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** http://127.0.0.1:PORT/grant, the URL for the policy's `provisioner.url`. */
  readonly grantUrl: string;
  readonly secret: string;
  /** Live array of every call, in arrival order. */
  readonly calls: WebhookCall[];
  callsWhere(filter?: CallFilter): WebhookCall[];
  /** Answers `status` (default 500) to the next `times` matching calls. */
  failNext(times?: number, options?: CallFilter & { status?: number }): void;
  /** Holds the next `times` matching calls (Infinity: every one) until `release()`. */
  hangNext(times?: number, options?: CallFilter): void;
  /** Answers every held call (default 200) and clears the hang rules; returns how many were still connected. */
  release(status?: number): number;
  /** Calls being held right now whose client is still connected. */
  hanging(): WebhookCall[];
  /** Drops every rule (not the recorded calls). */
  clearRules(): void;
  /** Forgets the recorded calls and rules; held calls are released. */
  reset(): void;
  /** Resolves when `predicate` holds (checked on every call and every answer); rejects after `timeoutMs` (default 30 s). */
  waitFor<T>(what: string, predicate: (calls: WebhookCall[]) => T | undefined | null | false, options?: { timeoutMs?: number }): Promise<T>;
  close(): Promise<void>;
}

export function signGrantWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
}

export function verifyGrantWebhookSignature(secret: string, timestamp: string | undefined, rawBody: string, signature: string | undefined): boolean {
  if (!timestamp || !signature) return false;
  const expected = Buffer.from(signGrantWebhook(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export async function startGrantWebhookServer(options: { secret: string; port?: number }): Promise<GrantWebhookServer> {
  const { secret } = options;
  const calls: WebhookCall[] = [];
  let rules: Rule[] = [];
  const held = new Map<WebhookCall, ServerResponse>();
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const matches = (call: WebhookCall, filter: CallFilter) =>
    (filter.action === undefined || call.action === filter.action) && (filter.grantId === undefined || call.grant_id === filter.grantId);

  const answer = (call: WebhookCall, res: ServerResponse, status: number) => {
    if (res.writableEnded || res.destroyed) return false;
    const body = status < 300 ? JSON.stringify({ ok: true, grant_id: call.grant_id ?? null }) : JSON.stringify({ ok: false, error: `told to answer ${status}` });
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    call.outcome = status;
    call.answeredAt = Date.now();
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, rawBody: string) => {
    const receivedAt = Date.now();
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const timestamp = header(TIMESTAMP_HEADER);
    let body: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(rawBody) as unknown;
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? "/").split("?")[0]!;
    const str = (value: unknown) => (typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined);
    const attemptRaw = body?.attempt ?? header(ATTEMPT_HEADER);
    const attempt = attemptRaw === undefined ? undefined : Number(attemptRaw);
    const skew = timestamp && /^\d+$/.test(timestamp) ? receivedAt / 1000 - Number(timestamp) : null;
    const call: WebhookCall = {
      n: calls.length + 1,
      method: req.method ?? "",
      path,
      action: str(body?.action) ?? path.split("/").filter(Boolean).pop() ?? "",
      grant_id: str(body?.grant_id),
      request_id: str(body?.request_id),
      user: body?.user,
      expires_at: str(body?.expires_at),
      attempt: Number.isFinite(attempt) ? attempt : undefined,
      idempotencyKey: IDEMPOTENCY_HEADERS.map(header).find((value) => value !== undefined) ?? str(body?.idempotency_key),
      receivedAt,
      signatureValid: verifyGrantWebhookSignature(secret, timestamp, rawBody, header(SIGNATURE_HEADER)),
      timestampSkewSeconds: skew === null ? null : Math.round(skew * 1000) / 1000,
      headers: { ...req.headers },
      rawBody,
      body,
      outcome: "hung",
      answeredAt: null,
    };
    calls.push(call);

    const rule = rules.find((candidate) => candidate.remaining > 0 && matches(call, candidate.filter));
    if (rule) {
      rule.remaining -= 1;
      rules = rules.filter((candidate) => candidate.remaining > 0);
    }
    if (rule?.kind === "hang") {
      held.set(call, res);
      res.once("close", () => {
        if (call.outcome === "hung") {
          call.outcome = "aborted";
          call.answeredAt = Date.now();
        }
        held.delete(call);
        notify();
      });
    } else {
      answer(call, res, rule ? rule.status : 200);
    }
    notify();
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => res.destroy());
  });
  // The bot may keep connections open between calls; never let that hold close() up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const release = (status = 200) => {
    rules = rules.filter((rule) => rule.kind !== "hang");
    let answered = 0;
    for (const [call, res] of [...held]) {
      held.delete(call);
      if (answer(call, res, status)) answered += 1;
    }
    notify();
    return answered;
  };

  return {
    port,
    url,
    grantUrl: `${url}/grant`,
    secret,
    calls,
    callsWhere(filter = {}) {
      return calls.filter((call) => matches(call, filter));
    },
    failNext(times = 1, opts = {}) {
      const { status = 500, ...filter } = opts;
      rules.push({ kind: "fail", status, remaining: times, filter });
    },
    hangNext(times = 1, filter = {}) {
      rules.push({ kind: "hang", status: 200, remaining: times, filter });
    },
    release,
    hanging() {
      return [...held.keys()].filter((call) => call.outcome === "hung");
    },
    clearRules() {
      rules = [];
    },
    reset() {
      release();
      rules = [];
      calls.length = 0;
      notify();
    },
    waitFor(what, predicate, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      return new Promise((resolve, reject) => {
        const check = () => {
          const value = predicate(calls);
          if (value !== undefined && value !== null && value !== false) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(value);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const byAction = new Map<string, number>();
          for (const call of calls) byAction.set(call.action, (byAction.get(call.action) ?? 0) + 1);
          reject(new Error(`grant webhook: timed out after ${timeoutMs} ms waiting for ${what}; ${calls.length} calls so far (${[...byAction].map(([action, count]) => `${action}: ${count}`).join(", ") || "none"}), ${held.size} held`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const res of held.values()) res.destroy();
      held.clear();
      waiters.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const REPLICA_POLICY_TEMPLATE = new URL("../fixtures/replica-policy.yml", import.meta.url);
export const REPLICA_RESOURCE = "replica-db";
export const REPLICA_APPROVERS = ["U0APPR1", "U0APPR2", "U0APPR3"] as const;

/**
 * Writes test/fixtures/replica-policy.yml into `dir` with the webhook's URL and the
 * provisioner's timeout filled in, and returns the file's path. `provisioner: false` drops the
 * resource's `provisioner:` block (to run the harness against a bot without provisioning).
 */
export function writeReplicaPolicy(dir: string, options: { grantUrl: string; timeout?: string; provisioner?: boolean }): string {
  let text = readFileSync(REPLICA_POLICY_TEMPLATE, "utf8")
    .replaceAll("{{GRANT_WEBHOOK_URL}}", options.grantUrl)
    .replaceAll("{{PROVISION_TIMEOUT}}", options.timeout ?? "10s");
  if (options.provisioner === false) text = text.replace(/^ {4}provisioner:\n(?: {6}.*\n)+/m, "");
  const file = path.join(dir, "access-policy.yml");
  writeFileSync(file, text);
  return file;
}
