// The audit CLI beside a running bot on embedded PGlite (the default): the bot serves its one
// database session to local tools on a private socket, so `accessbot audit verify|export|show`
// read the live ledger without a copy of the directory, while a second bot is still refused
// and the running one keeps serving Slack during and after the audit.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { pgliteRunDir } from "../src/db/start-pglite-server.js";
import { REPLICA_APPROVERS, REPLICA_RESOURCE, writeReplicaPolicy } from "./support/grant-webhook-server.js";
import { requestIdOf, runAccessbotCommand, sendCommand, startBotProcess, startReplicaSimulator, stopAllBotProcesses, within } from "./support/start-bot-process.js";
import type { SlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const SIGNING_SECRET = "cli-beside-bot-signing-secret-0123";
const REQUESTER = "U0REQCLI";

const runCli = (args: string[], env: Record<string, string>) => runAccessbotCommand(args, env, { timeoutMs: 60_000 });

describe("the audit CLI beside a running bot on PGlite", () => {
  let sim: SlackSimulator | undefined;
  let workDir: string | undefined;
  after(async () => {
    await stopAllBotProcesses();
    await sim?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("verify, export and show read the live ledger; a second bot is still refused; the bot keeps working", { timeout: 180_000 }, async () => {
    sim = await startReplicaSimulator([REQUESTER], REPLICA_APPROVERS);
    workDir = mkdtempSync(path.join(tmpdir(), "accessbot-cli-beside-"));
    const dataDir = path.join(workDir, "pglite");
    const policyFile = writeReplicaPolicy(workDir, { grantUrl: "http://127.0.0.1:9/grant", provisioner: false });
    const url = new URL("postgresql://pglite.invalid/pglite");
    url.searchParams.set("data_dir", dataDir);
    const env = { DATABASE_URL: url.toString(), SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: sim.apiUrl, ACCESS_POLICY_FILE: policyFile, LOG_LEVEL: "warn" };
    const bot = await startBotProcess({ name: "pglite-bot", env, cwd: workDir });

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await sendCommand(sim, bot, SIGNING_SECRET, REQUESTER, `${REPLICA_RESOURCE} 30m audit beside the bot ${i}`);
      const id = requestIdOf(sent.replyText);
      assert.ok(id, `request ${i} created: ${sent.replyText}`);
      ids.push(id);
    }
    // The socket lives in a private directory beside the data directory.
    assert.equal(statSync(pgliteRunDir(dataDir)).mode & 0o777, 0o700);

    const cliEnv = { DATABASE_URL: url.toString() };
    const verify = await runCli(["audit", "verify"], cliEnv);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    assert.match(verify.stdout, /intact/i);
    const entries = Number(/(\d[\d,]*) entr/.exec(verify.stdout)?.[1]?.replaceAll(",", ""));
    assert.ok(entries >= 5, `at least the five requests are in the verified ledger: ${verify.stdout}`);

    const exported = await runCli(["audit", "export", "--format", "jsonl"], cliEnv);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split("\n");
    assert.equal(lines.length, entries, "export reads the same ledger verify did");
    assert.ok(ids.every((id) => exported.stdout.includes(id)));

    const shown = await runCli(["audit", "show", ids[0]!], cliEnv);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(shown.stdout.includes(ids[0]!));

    // The guard against two bots on one directory is unchanged.
    const second = await startBotProcess({ name: "pglite-second", env, cwd: workDir, waitForHealthy: false });
    const exit = await within(second.exited, 60_000);
    assert.ok(exit && exit.code !== 0, `a second bot on the same directory must fail: ${second.tail()}`);
    assert.match(second.tail(), new RegExp(`is in use by process ${bot.pid}\\b`));

    // The bot is unharmed: it still takes requests, and the audit sees them.
    const later = await sendCommand(sim, bot, SIGNING_SECRET, REQUESTER, `${REPLICA_RESOURCE} 30m after the audit`);
    const laterId = requestIdOf(later.replyText);
    assert.ok(laterId, later.replyText);
    const again = await runCli(["audit", "show", laterId], cliEnv);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await bot.stop(), { code: 0, signal: null }, bot.tail());
  });
});
