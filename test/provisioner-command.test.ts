// The command provisioner running real programs: test/fixtures/provisioner-record.mjs records
// what it was given; test/fixtures/provisioner-sleep.sh hangs until it is killed.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import { pino } from "pino";
import { z } from "zod";
import type { Provisioner } from "../src/domain/ports.js";
import { commandProvisionerType, KILL_GRACE_MS } from "../src/provisioning/command-provisioner.js";
import type { ProvisionerDeps } from "../src/provisioning/provisioner-type.js";
import { EXPIRES_AT, makeContext } from "./fixtures/provisioner-context.js";

const RECORD = fileURLToPath(new URL("./fixtures/provisioner-record.mjs", import.meta.url));
const SLEEP = fileURLToPath(new URL("./fixtures/provisioner-sleep.sh", import.meta.url));
const workDir = mkdtempSync(path.join(tmpdir(), "accessbot-provisioner-command-"));
let counter = 0;
const nextFile = (name: string): string => path.join(workDir, `${name}-${++counter}`);

const BOT_ENV = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  SLACK_BOT_TOKEN: "xoxb-must-not-leak",
  SLACK_SIGNING_SECRET: "signing-secret-must-not-leak",
  SLACK_APP_TOKEN: "xapp-must-not-leak",
  TARGET_API_TOKEN: "the command may use this",
};

function deps(env: Record<string, string> = BOT_ENV): ProvisionerDeps {
  return { env, slack: new WebClient("xoxb-unused"), log: pino({ level: "silent" }) };
}

function build(options: { grant: string[]; revoke?: string[]; extend?: string[] }): Provisioner {
  return commandProvisionerType.create(commandProvisionerType.toOptions({ revoke: [RECORD, nextFile("unused"), "0"], ...options }), deps(), "legacy-app");
}

interface Recorded {
  argv: string[];
  stdin: string;
  env: Record<string, string>;
}

const readRecord = (file: string): Recorded => JSON.parse(readFileSync(file, "utf8")) as Recorded;

/** Running, as opposed to gone or a zombie waiting to be reaped by init. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return process.platform !== "linux";
  }
}

/** A SIGKILL is delivered asynchronously: give the kernel a moment. */
async function isGoneSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 25; i += 1) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function waitForFile(file: string): Promise<string> {
  for (let i = 0; i < 100 && !(existsSync(file) && readFileSync(file, "utf8").trim().includes(" ")); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  return readFileSync(file, "utf8").trim();
}

describe("command provisioner (real child processes)", () => {
  after(() => rmSync(workDir, { recursive: true, force: true }));

  test("the program gets the grant as JSON on stdin, ACCESSBOT_ACTION, and no Slack secrets", async () => {
    const out = nextFile("grant");
    const provisioner = build({ grant: [RECORD, out, "0"] });
    const context = makeContext({ user: { id: "U0ALICE01", email: null, name: "Alice" }, resource: "legacy-app", attempt: 3, grantId: "gr_cmd01" });
    const result = await provisioner.grant(context);
    assert.deepEqual(result.detail, { action: "grant", exitCode: 0 });

    const recorded = readRecord(out);
    assert.equal(
      recorded.stdin,
      JSON.stringify({
        action: "grant",
        grant_id: "gr_cmd01",
        request_id: context.request.id,
        resource: "legacy-app",
        user: { id: "U0ALICE01", email: null, name: "Alice" },
        expires_at: EXPIRES_AT.toISOString(),
        reason: context.request.reason,
        attempt: 3,
      }),
    );
    assert.equal(recorded.env.ACCESSBOT_ACTION, "grant");
    assert.equal(recorded.env.TARGET_API_TOKEN, "the command may use this");
    for (const secret of ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]) assert.equal(recorded.env[secret], undefined, `${secret} reached the command`);
    assert.doesNotMatch(JSON.stringify(recorded.env), /must-not-leak/);
  });

  test("revoke and extend run their own commands with their own action", async () => {
    const revokeOut = nextFile("revoke");
    const extendOut = nextFile("extend");
    const provisioner = build({ grant: [RECORD, nextFile("g"), "0"], revoke: [RECORD, revokeOut, "0"], extend: [RECORD, extendOut, "0"] });
    await provisioner.revoke(makeContext({ user: "U0ALICE01" }));
    assert.equal(readRecord(revokeOut).env.ACCESSBOT_ACTION, "revoke");
    assert.equal((JSON.parse(readRecord(revokeOut).stdin) as { action: string }).action, "revoke");

    assert.ok(provisioner.extend, "extend is offered when an extend command is configured");
    await provisioner.extend({ ...makeContext({ user: "U0ALICE01" }), previousExpiresAt: new Date("2030-01-01T00:00:00.000Z") });
    const extend = JSON.parse(readRecord(extendOut).stdin) as Record<string, unknown>;
    assert.equal(extend.action, "extend");
    assert.equal(extend.previous_expires_at, "2030-01-01T00:00:00.000Z");
    assert.equal(readRecord(extendOut).env.ACCESSBOT_ACTION, "extend");

    assert.equal(build({ grant: [RECORD, nextFile("g"), "0"] }).extend, undefined, "no extend command, no extend()");
  });

  test("a non-zero exit rejects with the code and the tail of stderr", async () => {
    const provisioner = build({ grant: [RECORD, nextFile("fail"), "3"] });
    await assert.rejects(provisioner.grant(makeContext({ user: "U0ALICE01" })), (error: Error) => {
      assert.match(error.message, /^command grant for resource legacy-app \(.*provisioner-record\.mjs\) exited with code 3; stderr: /);
      assert.match(error.message, /target refused the change \(exit 3\)$/);
      // Only the tail: the 1200 characters of noise before it are cut to fit.
      const stderr = error.message.slice(error.message.indexOf("stderr: ") + "stderr: ".length);
      assert.ok(stderr.length <= 500, `stderr quoted at ${stderr.length} chars`);
      return true;
    });
  });

  test("arguments reach the program literally, never through a shell", async () => {
    const out = nextFile("literal");
    const marker = nextFile("shell-ran");
    const hostile = [`$(touch ${marker})`, `; touch ${marker}`, "`id`", "a b", "*", "'quoted'"];
    await build({ grant: [RECORD, out, "0", ...hostile] }).grant(makeContext({ user: "U0ALICE01" }));
    assert.deepEqual(readRecord(out).argv, [out, "0", ...hostile]);
    assert.equal(existsSync(marker), false, "a shell interpreted an argument");
  });

  test("on abort the command and its children get SIGTERM, and the call rejects", async () => {
    const pids = nextFile("pids");
    const provisioner = build({ grant: [SLEEP, pids] });
    const controller = new AbortController();
    const call = provisioner.grant(makeContext({ user: "U0ALICE01", signal: controller.signal }));
    const [shellPid, sleepPid] = (await waitForFile(pids)).split(" ").map(Number) as [number, number];
    assert.ok(isAlive(shellPid) && isAlive(sleepPid));
    const started = Date.now();
    controller.abort();
    await assert.rejects(call, /command grant for resource legacy-app .* was killed with SIGTERM after the provisioner's timeout ran out; stderr: started, now hanging/);
    assert.ok(Date.now() - started < KILL_GRACE_MS, `took ${Date.now() - started} ms`);
    assert.equal(await isGoneSoon(shellPid), true, "the command is still running");
    assert.equal(await isGoneSoon(sleepPid), true, "the command's child is still running");
  });

  test("a command that ignores SIGTERM is killed with SIGKILL after the grace period", async () => {
    const pids = nextFile("pids");
    const provisioner = build({ grant: [SLEEP, pids, "ignore-term"] });
    const controller = new AbortController();
    const call = provisioner.grant(makeContext({ user: "U0ALICE01", signal: controller.signal }));
    const [shellPid, sleepPid] = (await waitForFile(pids)).split(" ").map(Number) as [number, number];
    const started = Date.now();
    controller.abort();
    await assert.rejects(call, /was killed with SIGKILL after the provisioner's timeout ran out/);
    const took = Date.now() - started;
    assert.ok(took >= KILL_GRACE_MS - 50 && took < KILL_GRACE_MS + 1500, `took ${took} ms`);
    assert.equal(await isGoneSoon(shellPid), true, "the command is still running");
    assert.equal(await isGoneSoon(sleepPid), true, "the command's child is still running");
  });

  test("a program that does not exist rejects with the reason", async () => {
    const provisioner = build({ grant: [path.join(workDir, "no-such-program")] });
    await assert.rejects(provisioner.grant(makeContext({ user: "U0ALICE01" })), /could not be started: spawn .*no-such-program ENOENT/);
  });

  test("an already-aborted call starts nothing", async () => {
    const out = nextFile("never");
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(build({ grant: [RECORD, out, "0"] }).grant(makeContext({ user: "U0ALICE01", signal: controller.signal })), /abandoned before it started/);
    assert.equal(existsSync(out), false);
  });

  test("the policy keys need a program for grant and revoke", () => {
    const schema = z.object(commandProvisionerType.optionsShape).strict();
    assert.equal(schema.safeParse({ grant: ["/usr/local/bin/grant"], revoke: ["/usr/local/bin/revoke", "--all"] }).success, true);
    assert.match(schema.safeParse({ grant: [], revoke: ["x"] }).error?.issues[0]?.message ?? "", /grant command needs at least the program/);
    assert.match(schema.safeParse({ grant: "grant.sh --user x", revoke: ["x"] }).error?.issues[0]?.message ?? "", /expected the grant command as a list/);
  });
});
