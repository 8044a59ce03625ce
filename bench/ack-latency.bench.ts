// `npm run bench:ack`: how long Slack waits for the bot's ack, now that every command and
// click is written to the durable inbox before it is acked. Each server runs as its own
// process (as in production); this process only sends signed requests and plays Slack.
//  - baseline: a bare Bolt app that only acks (bench/support/bare-bolt-app.mjs: same Bolt,
//    same signing, same receiver, same machine, same run);
//  - the real bot (`accessbot start`) on embedded PGlite on disk (the default) and on PostgreSQL.
// The requests are sent from a process of their own (bench/support/send-at-rate.ts), so the
// simulator's work here never delays a measurement. Two loads, each at a steady BENCH_ACK_RATE (default 50/s) for BENCH_ACK_COUNT requests
// (default 500): signed `/access` commands, then Approve clicks on pending requests (each click
// decides its request, so the bot also commits the decision, posts and updates behind the ack).
// Reports p50/p99/max of the HTTP response time and the p99 ratio to the baseline's.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchBotEnv } from "./support/bench-bot-env.js";
import { ActionIds } from "../src/slack/slack-ids.js";
import { buttonClickPayload, slashCommandBody } from "../test/support/slack-requests.js";
import { startSlackSimulator, type SimMessage, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";
import { ONCALL, POLICY_FILE, SIGNING_SECRET } from "../test/support/start-test-bot.js";
import { scratchSchema, startBotProcess, waitUntil, type BotProcess } from "../test/support/start-bot-process.js";

const RATE = Number(process.env.BENCH_ACK_RATE ?? 50);
const COUNT = Number(process.env.BENCH_ACK_COUNT ?? 500);
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const BARE_BOLT = new URL("./support/bare-bolt-app.mjs", import.meta.url).pathname;

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

const GENERATOR = new URL("./support/send-at-rate.ts", import.meta.url).pathname;

/** Sends the bodies at `RATE`/s from a separate process and returns the response-time quantiles. */
async function atSteadyRate(url: string, bodies: string[]): Promise<Latency> {
  const child = spawn(process.execPath, ["--import", "tsx", GENERATOR], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.end(JSON.stringify({ url, secret: SIGNING_SECRET, rate: RATE, bodies }));
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  const times = (JSON.parse(output) as number[]).sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: times.at(-1)! };
}

function command(sim: SlackSimulator, tag: string, i: number): string {
  const user = ONCALL[i % ONCALL.length]!;
  return slashCommandBody({ userId: user, text: `oncall-one 30m bench ${tag} ${i}`, responseUrl: sim.responseUrl(`bench-${tag}-${i}`, { userId: user }), triggerId: sim.issueTriggerId(user) });
}

function click(sim: SlackSimulator, message: SimMessage, i: number): string {
  // Not the requester: ONCALL[i] asked, ONCALL[i + 1] approves.
  const user = ONCALL[(i + 1) % ONCALL.length]!;
  return buttonClickPayload({ message, actionId: ActionIds.approve, user: { id: user }, responseUrl: sim.responseUrl(`click-${randomBytes(4).toString("hex")}`, { userId: user, channel: message.channel, messageTs: message.ts }), triggerId: sim.issueTriggerId(user) });
}

async function measureServer(name: string, server: BotProcess, sim: SlackSimulator, isBot: boolean): Promise<{ name: string; commands: Latency; clicks: Latency }> {
  const tag = randomBytes(3).toString("hex");
  const commands = await atSteadyRate(server.eventsUrl, Array.from({ length: COUNT }, (_, i) => command(sim, tag, i)));
  // The clicks need approval messages to click on: the bot posted one per command above; the
  // bare app posts nothing, so it is sent the same payloads built on a stand-in message.
  let messages: SimMessage[];
  if (isBot) {
    const posted = () => sim.messages("C0APPROVALS").filter((message) => message.text.includes(`bench ${tag} `) || JSON.stringify(message.blocks).includes(`bench ${tag} `));
    await waitUntil("every approval message posted", () => posted().length >= COUNT, { timeoutMs: 600_000, describe: () => `${posted().length} of ${COUNT} posted` });
    messages = posted().slice(0, COUNT).map((message) => structuredClone(message));
  } else {
    // About the size of a real approval message, so both apps parse a similar body.
    const standIn = {
      channel: "C0APPROVALS",
      ts: "1700000000.000100",
      text: "stand-in",
      blocks: [
        { type: "section", block_id: "summary", text: { type: "mrkdwn", text: "x".repeat(1500) } },
        { type: "actions", block_id: "access_actions", elements: [{ type: "button", action_id: ActionIds.approve, value: "AR-STANDIN1", text: { type: "plain_text", text: "Approve" } }] },
      ],
    } as unknown as SimMessage;
    messages = Array.from({ length: COUNT }, () => standIn);
  }
  const order = messages.map((message) => Number(/bench \S+ (\d+)/.exec(message.text + JSON.stringify(message.blocks))?.[1] ?? 0));
  const clicks = await atSteadyRate(server.eventsUrl, messages.map((message, i) => click(sim, message, order[i] ?? i)));
  return { name, commands, clicks };
}

/** BENCH_ACK_TARGETS=pglite,postgres picks what runs after the baseline (default both). */
const TARGETS = new Set((process.env.BENCH_ACK_TARGETS ?? "pglite,postgres").split(","));

async function main(): Promise<void> {
  const sim = await startSlackSimulator({
    users: ONCALL.map((id) => ({ id, name: id.toLowerCase() })),
    usergroups: { S0SECURITY: [], S0ENG: [], S0ONCALL: ONCALL, S0LONELY: [] },
    channels: [
      { id: "C0APPROVALS", name: "approvals" },
      { id: "C0AUDIT", name: "audit" },
    ],
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), "accessbot-bench-ack-"));
  const policyFile = path.join(workDir, "access-policy.yml");
  writeFileSync(policyFile, readFileSync(POLICY_FILE));
  const results = [];
  try {
    const bare = await startBotProcess({ name: "bare-bolt", entry: BARE_BOLT, args: [], env: benchBotEnv(sim, "", policyFile) });
    results.push(await measureServer("bare Bolt (ack only)", bare, sim, false));
    await bare.stop();

    if (TARGETS.has("pglite")) {
    const pgliteUrl = new URL("postgresql://pglite.invalid/pglite");
    pgliteUrl.searchParams.set("data_dir", path.join(workDir, "pglite"));
    const onPglite = await startBotProcess({ name: "bot-pglite", env: benchBotEnv(sim, pgliteUrl.toString(), policyFile), cwd: workDir });
    results.push(await measureServer("accessbot on PGlite (on disk)", onPglite, sim, true));
    await onPglite.stop();
    }

    const schema = TARGETS.has("postgres") ? scratchSchema(PG_URL) : null;
    if (schema) try {
      const onPostgres = await startBotProcess({ name: "bot-postgres", env: benchBotEnv(sim, schema.url, policyFile) });
      results.push(await measureServer("accessbot on PostgreSQL", onPostgres, sim, true));
      await onPostgres.stop();
    } finally {
      await schema!.drop();
    }
  } finally {
    await sim.close();
    rmSync(workDir, { recursive: true, force: true });
  }

  const [baseline] = results;
  console.log(`signed requests at ${RATE}/s, ${COUNT} of each kind, every server in its own process; load: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
  console.log("| | commands p50 ms | p99 ms | max ms | p99 / bare | clicks p50 ms | p99 ms | max ms | p99 / bare |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const cells = (l: Latency, base: Latency) => `${l.p50.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.max.toFixed(1)} | ${(l.p99 / base.p99).toFixed(2)}×`;
    console.log(`| ${r.name} | ${cells(r.commands, baseline!.commands)} | ${cells(r.clicks, baseline!.clicks)} |`);
  }
}

await main();
