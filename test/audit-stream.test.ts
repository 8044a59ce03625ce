import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { pino } from "pino";
import { AuditRelay } from "../src/audit-stream/audit-relay.js";
import { SlackAuditSink } from "../src/audit-stream/slack-audit-sink.js";
import { SEQ_HEADER, SIGNATURE_HEADER, signWebhookBody, TIMESTAMP_HEADER, WebhookAuditSink } from "../src/audit-stream/webhook-audit-sink.js";
import type { Database } from "../src/db/open-database.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { WebClient } from "@slack/web-api";
import { OnceOnlyPoster } from "../src/slack/once-only-poster.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const SECRET = "siem-shared-secret";
const silent = pino({ level: "silent" });

interface Siem {
  url: string;
  received: Array<{ seq: string; body: Record<string, unknown>; signatureOk: boolean }>;
  /** While true, every POST is answered 503. */
  down: boolean;
  attempts: number;
  close(): Promise<void>;
}

async function startSiem(): Promise<Siem> {
  const state = { received: [] as Siem["received"], down: false, attempts: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      state.attempts += 1;
      if (state.down) {
        res.writeHead(503).end("down for maintenance");
        return;
      }
      const timestamp = String(req.headers[TIMESTAMP_HEADER]);
      const signatureOk = req.headers[SIGNATURE_HEADER] === signWebhookBody(SECRET, timestamp, raw);
      const body = JSON.parse(raw) as Record<string, unknown>;
      assert.equal(req.headers[SEQ_HEADER], body.seq);
      state.received.push({ seq: String(body.seq), body, signatureOk });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}/ingest`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}

for (const target of testDatabases) {
  describe(`audit stream (${target.name})`, () => {
    let db: Database;
    let siem: Siem;
    let sim: SlackSimulator;
    let now = Date.now();
    const clock = { now: () => now };

    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
      siem = await startSiem();
      sim = await startSlackSimulator({ channels: [{ id: "C0AUDIT", name: "audit" }] });
      now = Date.now();
    });
    afterEach(async () => {
      await siem.close();
      await sim.close();
    });

    const append = async (count: number) => {
      for (let index = 0; index < count; index++) {
        await db.prisma.$transaction((tx) =>
          appendLedgerEntry(tx, { type: "request.created", requestId: `AR-TEST${String(index).padStart(4, "0")}`, resource: "prod-db", subjectId: "U0ENG1", actor: { kind: "user", user_id: "U0ENG1", team_id: "T1", name: "eng" }, data: { duration_seconds: 3600, reason: `reason ${index}` } }, new Date()),
        );
      }
    };

    test("a SIEM webhook that is down for an hour loses nothing and resumes in order, signed", async () => {
      const relay = new AuditRelay(db.prisma, [new WebhookAuditSink("siem", siem.url, SECRET)], silent, clock);
      await append(3);
      await relay.drain();
      assert.deepEqual(siem.received.map((event) => event.seq), ["1", "2", "3"]);

      siem.down = true;
      await append(5);
      // An hour of retries: each drain is one attempt once the backoff has passed.
      for (let minute = 0; minute < 60; minute++) {
        now += 60_000;
        await relay.drain();
      }
      const cursor = await db.prisma.auditSinkCursor.findUniqueOrThrow({ where: { sink: "siem" } });
      assert.equal(cursor.deliveredSeq, 3n, "nothing is skipped while the webhook is down");
      assert.ok(cursor.attempts >= 5, `retried with backoff (${cursor.attempts} attempts)`);
      assert.ok(siem.attempts < 3 + 60, "backoff spaces the retries out");
      assert.match(cursor.lastError ?? "", /503/);

      siem.down = false;
      now += 10 * 60_000;
      await relay.drain();
      assert.deepEqual(siem.received.map((event) => event.seq), ["1", "2", "3", "4", "5", "6", "7", "8"]);
      assert.ok(siem.received.every((event) => event.signatureOk), "every delivery carries a valid HMAC");
      const last = siem.received.at(-1)!.body;
      assert.match(String(last.hash), /^[0-9a-f]{64}$/);
      assert.equal(JSON.parse(String(last.body)).seq, "8");
    });

    test("an audit message whose answer was lost, and whose lookup then failed, is found on the next round, not posted twice", async () => {
      const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, timeout: 300, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
      const relay = new AuditRelay(db.prisma, [new SlackAuditSink(new OnceOnlyPoster(client, silent, { maxRateLimitWaitMs: 0, retryDelayMs: 10 }), () => "C0AUDIT", async () => null)], silent, clock);
      await append(3);
      sim.injectFault("chat.postMessage", "lost-response");
      sim.injectFault("conversations.history", "hang");
      await relay.drain();
      const cursor = () => db.prisma.auditSinkCursor.findUniqueOrThrow({ where: { sink: "slack-audit-channel" } });
      assert.equal((await cursor()).deliveredSeq, 0n, "the outcome is unknown: the cursor stays");
      assert.equal(sim.messages("C0AUDIT").length, 1, "although the lines are in the channel");
      sim.clearFaults();
      await append(2);
      now += 10 * 60_000;
      await relay.drain();
      const seqs = sim.messages("C0AUDIT").flatMap((message) => message.text.split("\n")).map((line) => Number(/`#(\d+)`/.exec(line)?.[1]));
      assert.deepEqual(seqs, [1, 2, 3, 4, 5], "every line once, in order");
      assert.equal((await cursor()).deliveredSeq, 5n);
    });

    test("Slack rate limits on the audit channel delay lines but never lose or reorder them", async () => {
      const client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
      const relay = new AuditRelay(db.prisma, [new SlackAuditSink(new OnceOnlyPoster(client, silent, { maxRateLimitWaitMs: 0 }), () => "C0AUDIT", async () => null)], silent, clock);
      await append(2);
      await relay.drain();
      sim.rateLimit("chat.postMessage", { times: 1, retryAfterSeconds: 30 });
      await append(40);
      await relay.drain(); // rate-limited: the cursor stays put
      assert.equal((await db.prisma.auditSinkCursor.findUniqueOrThrow({ where: { sink: "slack-audit-channel" } })).deliveredSeq, 2n);
      now += 31_000;
      await relay.drain();
      const lines = sim.messages("C0AUDIT").flatMap((message) => message.text.split("\n"));
      const seqs = lines.map((line) => Number(/`#(\d+)`/.exec(line)?.[1]));
      assert.deepEqual(seqs, Array.from({ length: 42 }, (_, index) => index + 1));
      assert.ok(sim.messages("C0AUDIT").length <= 4, `a backlog is batched (${sim.messages("C0AUDIT").length} messages for 42 lines)`);
    });
  });
}
