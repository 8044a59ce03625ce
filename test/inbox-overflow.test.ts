// On PostgreSQL the ack waits for the inbox row's commit only a few milliseconds; past that the
// interaction is journalled locally and acked (src/slack/ack-thread.ts). These tests show that
// (1) each process takes a journal slot of its own and the journals of dead processes are handed
//     back, and (2) with the job table locked (a commit that cannot finish), a signed /access
//     command is still acked, survives kill -9 of the bot, and is carried out once after a restart.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import pg from "pg";
import { claimOverflowJournal } from "../src/slack/claim-overflow-journal.js";
import { InboxJournal } from "../src/slack/inbox-journal.js";
import { REPLICA_RESOURCE, writeReplicaPolicy } from "./support/grant-webhook-server.js";
import { DEFAULT_TEST_DATABASE_URL, postgresUnreachable, scratchSchema, sendCommand, startBotProcess, startReplicaSimulator, waitUntil, type BotProcess } from "./support/start-bot-process.js";
import { REPLICA_APPROVERS } from "./support/grant-webhook-server.js";

const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const BASE_URL = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;

test("overflow journals: one slot per process, and a dead process's journal is handed back once", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "accessbot-overflow-"));
  try {
    // A real process claims a slot, journals an interaction and dies without cleaning up.
    const script = `
      const { claimOverflowJournal } = await import(${JSON.stringify(new URL("../src/slack/claim-overflow-journal.ts", import.meta.url).pathname)});
      const { InboxJournal } = await import(${JSON.stringify(new URL("../src/slack/inbox-journal.ts", import.meta.url).pathname)});
      const claimed = claimOverflowJournal(${JSON.stringify(dir)});
      new InboxJournal(claimed.path).append({ key: "cmd:dead-process", body: { command: "/access", text: "from a dead process" } });
      process.kill(process.pid, "SIGKILL");`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.signal, "SIGKILL", child.stderr);

    const first = claimOverflowJournal(dir);
    const second = claimOverflowJournal(dir);
    try {
      assert.notEqual(first.path, second.path, "two live processes never share a journal");
      assert.deepEqual(first.leftovers.map((entry) => entry.key), ["cmd:dead-process"]);
      assert.deepEqual(second.leftovers, [], "the dead process's journal is handed to one claimant only");
      first.clearLeftovers();
      new InboxJournal(first.path).append({ key: "cmd:live", body: {} });
      assert.deepEqual(claimOverflowJournal(dir).leftovers, [], "a live process's journal is not taken");
    } finally {
      first.release();
      second.release();
    }
    // The first slot's owner released it cleanly but its journal still has an entry: that is a
    // leftover for the next process (a clean stop deletes the journal only when it is empty).
    const third = claimOverflowJournal(dir);
    try {
      assert.deepEqual(third.leftovers.map((entry) => entry.key), ["cmd:live"]);
      third.clearLeftovers();
    } finally {
      third.release();
    }
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith(".jsonl")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("a commit that cannot finish does not hold up the ack (PostgreSQL)", () => {
  test("the command is acked while the job table is locked, survives kill -9, and runs once after the restart", { timeout: 120_000 }, async (t) => {
    const unreachable = await postgresUnreachable(BASE_URL);
    if (unreachable) return t.skip(`needs PostgreSQL: ${unreachable}`);
    const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-overflow-bot-"));
    const sim = await startReplicaSimulator(["U0REQ001"], REPLICA_APPROVERS);
    const schema = scratchSchema(BASE_URL);
    const policyFile = writeReplicaPolicy(workDir, { grantUrl: "http://127.0.0.1:9/unused", timeout: "2s" });
    const bots: BotProcess[] = [];
    const start = async (name: string) => {
      const bot = await startBotProcess({
        name,
        cwd: workDir,
        env: { DATABASE_URL: schema.url, SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: sim.apiUrl, ACCESS_POLICY_FILE: policyFile, LOG_LEVEL: "warn", GRANT_WEBHOOK_SECRET: "unused-secret-0123456789abcdef" },
      });
      bots.push(bot);
      return bot;
    };
    const locker = new pg.Client({ connectionString: BASE_URL });
    try {
      const first = await start("overflow-1");
      await locker.connect();
      await locker.query("BEGIN");
      // SHARE blocks every INSERT into the table until this transaction ends.
      await locker.query(`LOCK TABLE "${schema.schema}".job IN SHARE MODE`);
      const started = Date.now();
      const { http } = await sendCommand(sim, first, SIGNING_SECRET, "U0REQ001", `${REPLICA_RESOURCE} 1h acked while the database is stuck`, { key: "overflow-cmd", expectReply: false });
      const ackMs = Date.now() - started;
      assert.equal(http.status, 200, "acked although its inbox row cannot commit");
      t.diagnostic(`acked in ${ackMs} ms with the job table locked`);
      const journals = path.join(workDir, ".data", "inbox-journal");
      const journalled = readdirSync(journals, { recursive: true }).map(String).filter((name) => name.endsWith(".jsonl"));
      assert.equal(journalled.length, 1, "the interaction went to the overflow journal");

      first.kill("SIGKILL");
      await first.exited;
      await locker.query("ROLLBACK");
      const count = async () => Number((await schema.query<{ n: string }>("SELECT count(*)::text AS n FROM access_request WHERE reason = $1", ["acked while the database is stuck"]))[0]!.n);
      assert.equal(await count(), 0, "nothing was carried out before the crash");

      await start("overflow-2");
      await waitUntil("the journalled command to be carried out after the restart", async () => (await count()) === 1, { timeoutMs: 60_000, intervalMs: 250 });
      const reply = await sim.waitForResponse((response) => response.key === "overflow-cmd", { timeoutMs: 30_000 });
      assert.match(String((reply.body as { text?: string }).text), /waiting for approval/i);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(await count(), 1, "carried out once");
      assert.equal(sim.responses.filter((response) => response.key === "overflow-cmd").length, 1, "the requester is answered once");
    } finally {
      await locker.end().catch(() => undefined);
      await Promise.all(bots.map((bot) => bot.stop()));
      await sim.close();
      await schema.drop();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
