// `accessbot db backup` beside a running bot on embedded PGlite: the bot itself takes the copy
// (only the owning process may read the files), keeps serving, and the copy restores into a
// new directory whose ledger verifies. Also the audit CLI's output to a reader that has gone.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { VerifyResultJson } from "../src/audit/cli/verify-result-json.js";
import { databaseTargetToUrl } from "../src/db/resolve-database-target.js";
import { REPLICA_APPROVERS, REPLICA_RESOURCE, writeReplicaPolicy } from "./support/grant-webhook-server.js";
import type { SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { requestIdOf, runAccessbotCommand, sendCommand, startBotProcess, startReplicaSimulator, stopAllBotProcesses } from "./support/start-bot-process.js";

const SIGNING_SECRET = "cli-db-backup-signing-secret-0123456";
const REQUESTER = "U0REQBAK";

const runCli = runAccessbotCommand;

describe("accessbot db backup and restore (PGlite)", () => {
  let sim: SlackSimulator | undefined;
  let workDir: string | undefined;
  after(async () => {
    await stopAllBotProcesses();
    await sim?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("beside a running bot: the bot takes the backup and keeps serving; the restored copy verifies; EPIPE ends quietly", { timeout: 300_000 }, async () => {
    sim = await startReplicaSimulator([REQUESTER], REPLICA_APPROVERS);
    workDir = mkdtempSync(path.join(tmpdir(), "accessbot-backup-"));
    const dataDir = path.join(workDir, "pglite");
    const policyFile = writeReplicaPolicy(workDir, { grantUrl: "http://127.0.0.1:9/grant", provisioner: false });
    const url = databaseTargetToUrl({ kind: "pglite", dataDir });
    const env = { DATABASE_URL: url, SLACK_BOT_TOKEN: sim.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: sim.apiUrl, ACCESS_POLICY_FILE: policyFile, LOG_LEVEL: "warn" };
    const bot = await startBotProcess({ name: "backup-bot", env, cwd: workDir });

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await sendCommand(sim, bot, SIGNING_SECRET, REQUESTER, `${REPLICA_RESOURCE} 30m before the backup ${i}`);
      const id = requestIdOf(sent.replyText);
      assert.ok(id, sent.replyText);
      ids.push(id);
    }
    const cliEnv = { DATABASE_URL: url };
    const live = await runCli(["audit", "verify", "--json"], cliEnv);
    assert.equal(live.code, 0, live.stderr);
    const liveJson = JSON.parse(live.stdout) as VerifyResultJson;

    // A request arriving during the backup is served (it waits at most for the copy).
    const backupFile = path.join(workDir, "backup.tar.gz");
    const [backup, during] = await Promise.all([runCli(["db", "backup", "--out", backupFile], cliEnv), sendCommand(sim, bot, SIGNING_SECRET, REQUESTER, `${REPLICA_RESOURCE} 30m during the backup`)]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, new RegExp(`taken by the running bot \\(pid ${bot.pid}\\), which kept serving`));
    assert.ok(requestIdOf(during.replyText), during.replyText);
    assert.ok(existsSync(backupFile));

    // Restore refuses a non-empty directory, then restores into a new one.
    const occupied = path.join(workDir, "occupied");
    mkdirSync(occupied);
    writeFileSync(path.join(occupied, "keep.txt"), "mine");
    const refused = await runCli(["db", "restore", "--from", backupFile, "--data-dir", occupied], {});
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is not empty: a restore only unpacks into a new or empty directory/);
    const restoredDir = path.join(workDir, "restored");
    const restored = await runCli(["db", "restore", "--from", backupFile, "--data-dir", restoredDir], {});
    assert.equal(restored.code, 0, restored.stderr);

    const restoredUrl = databaseTargetToUrl({ kind: "pglite", dataDir: restoredDir });
    const verified = await runCli(["audit", "verify", "--json"], { DATABASE_URL: restoredUrl });
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    const copy = JSON.parse(verified.stdout) as VerifyResultJson;
    assert.equal(copy.verdict, "intact");
    assert.ok(copy.entries >= liveJson.entries, `the copy has at least what was there before it: ${copy.entries} vs ${liveJson.entries}`);
    const exported = await runCli(["audit", "export", "--format", "jsonl"], { DATABASE_URL: restoredUrl });
    assert.ok(ids.every((id) => exported.stdout.includes(id)), "every request before the backup is in the copy");

    // Output to a reader that has gone: no stack, the command's own exit code.
    for (const args of [["audit", "show", ids[0]!], ["audit", "export", "--format", "jsonl"], ["audit", "verify"]]) {
      const run = await runCli(args, cliEnv, { closeStdout: true });
      assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /EPIPE|Unhandled|at .*\.ts:\d+/, args.join(" "));
    }

    // The bot is unharmed.
    const later = await sendCommand(sim, bot, SIGNING_SECRET, REQUESTER, `${REPLICA_RESOURCE} 30m after the backup`);
    assert.ok(requestIdOf(later.replyText), later.replyText);
    assert.deepEqual(await bot.stop(), { code: 0, signal: null }, bot.tail());

    // With nothing running, the command takes the lock and copies the directory itself.
    const offlineFile = path.join(workDir, "offline.tar.gz");
    const offline = await runCli(["db", "backup", "--out", offlineFile], cliEnv);
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /taken under the directory lock/);
  });

  test("on PostgreSQL, db backup prints the pg_dump command and exits 2", async () => {
    const run = await runCli(["db", "backup", "--out", "/tmp/x.dump"], { DATABASE_URL: "postgresql://app:s3cret@db.example:5432/accessbot?schema=acc" });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /pg_dump --format=custom --schema=acc --file=\/tmp\/x\.dump postgresql:\/\/app@db\.example:5432\/accessbot/);
    assert.doesNotMatch(run.stderr, /s3cret/);
  });
});
