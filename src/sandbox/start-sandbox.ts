/**
 * The sandbox: the real bot (listeners, domain, ledger, jobs) against the built-in Slack
 * stand-in (src/slack-simulator/), on embedded PGlite in ./.data/sandbox, with a web page on
 * 127.0.0.1 that shows what each person would see in Slack and acts as them. Nothing leaves
 * the machine: no Slack, no provisioning (dry runs say what would have been granted), no
 * real people (made up, or made up from the ids in the user's own policy).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { acquirePgliteLock } from "../db/acquire-pglite-lock.js";
import { openDatabase, type Database } from "../db/open-database.js";
import { databaseTargetToUrl, type DatabaseTarget } from "../db/resolve-database-target.js";
import { createLogger } from "../logging/create-logger.js";
import { startBot, type Bot } from "../main.js";
import { loadPolicyFile } from "../policy/load-policy.js";
import { startSlackSimulator, type SlackSimulator } from "../slack-simulator/slack-simulator.js";
import { SAMPLE_PEOPLE, SAMPLE_POLICY_YAML, SAMPLE_USERGROUPS } from "./sample-policy.js";
import { makeUpWorkspace, sandboxChannels, simUsersOf, type SandboxPerson } from "./sandbox-people.js";
import { buildSandboxProvisioners } from "./sandbox-provisioners.js";
import { startSandboxServer, type SandboxServer } from "./sandbox-server.js";

/** Relative to the working directory; never the production data directory (.data/pglite). */
export const SANDBOX_DATA_DIR = ".data/sandbox";
export const DEFAULT_SANDBOX_PORT = 3000;

export interface SandboxOptions {
  /** Read for PORT (the page's port, default 3000; 0 picks one), ACCESS_POLICY_FILE and LOG_LEVEL only. */
  env?: NodeJS.ProcessEnv;
  /** Where the data lives; default ./.data/sandbox. */
  dataDir?: string;
  log?: Logger;
}

export interface Sandbox {
  /** `http://127.0.0.1:<port>/`, the page. */
  url: string;
  bot: Bot;
  sim: SlackSimulator;
  database: Database;
  people: SandboxPerson[];
  policyFile: string;
  server: SandboxServer;
  stop(): Promise<void>;
}

/** Starts the Slack stand-in, the real bot against it and the page; see the file's comment. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const env = options.env ?? process.env;
  // Every line the bot logs says it comes from the sandbox.
  const log = (options.log ?? createLogger(env.LOG_LEVEL ?? "info")).child({ sandbox: true });
  const dataDir = path.resolve(options.dataDir ?? SANDBOX_DATA_DIR);
  fs.mkdirSync(dataDir, { recursive: true });
  const pagePort = parsePort(env.PORT);

  // The user's own policy, with people made up from its ids; or the sample and its people.
  let policyFile: string;
  let workspace: { people: SandboxPerson[]; usergroups: Record<string, string[]> };
  const ownPolicy = env.ACCESS_POLICY_FILE?.trim();
  if (ownPolicy) {
    policyFile = path.resolve(ownPolicy);
    workspace = makeUpWorkspace((await loadPolicyFile(policyFile)).policy);
  } else {
    policyFile = path.join(dataDir, "sample-policy.yml");
    fs.writeFileSync(policyFile, SAMPLE_POLICY_YAML);
    workspace = { people: SAMPLE_PEOPLE, usergroups: SAMPLE_USERGROUPS };
  }
  const policy = (await loadPolicyFile(policyFile)).policy;

  const sim = await startSlackSimulator({
    users: simUsersOf(workspace.people, policy.settings.timezone),
    usergroups: workspace.usergroups,
    channels: sandboxChannels(policy),
    teamName: "accessbot sandbox",
    teamDomain: "accessbot-sandbox",
    // People click at human speed; the bot opens a modal right after the click all the same.
    triggerTtlMs: 30_000,
  });
  const target: DatabaseTarget = { kind: "pglite", dataDir: path.join(dataDir, "pglite") };
  // Every start begins afresh: the Slack stand-in keeps nothing between runs, so requests left
  // from the last one would have no messages and their jobs would fail against it. Under the
  // directory's lock (it lives beside the directory), so a sandbox still running keeps its data.
  try {
    const release = acquirePgliteLock(target.dataDir, "accessbot sandbox");
    try {
      fs.rmSync(target.dataDir, { recursive: true, force: true });
      fs.rmSync(path.join(dataDir, "inbox-journal"), { recursive: true, force: true });
    } finally {
      release();
    }
  } catch (error) {
    await sim.close();
    throw error;
  }
  let database: Database | null = null;
  let bot: Bot | null = null;
  try {
    database = await openDatabase({ target, migrate: true, logger: log });
    // Made up for this run: the page's server signs what it sends with it, as Slack would.
    const signingSecret = randomBytes(32).toString("hex");
    bot = await startBot({
      env: {
        SLACK_BOT_TOKEN: sim.botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: sim.apiUrl,
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: databaseTargetToUrl(target),
        ACCESS_POLICY_FILE: policyFile,
        ACCESSBOT_INBOX_JOURNAL_DIR: path.join(dataDir, "inbox-journal"),
        LOG_LEVEL: env.LOG_LEVEL ?? "info",
      },
      database,
      log,
      provisioners: buildSandboxProvisioners,
    });
    const server = await startSandboxServer({ sim, bot, database, people: workspace.people, signingSecret, policyFile, port: pagePort, log });
    const url = `http://127.0.0.1:${server.port}/`;
    log.warn({ url, dataDir, policyFile }, `SANDBOX: no real Slack and no provisioning; open ${url}`);
    const ownedBot = bot;
    const ownedDatabase = database;
    return {
      url,
      bot: ownedBot,
      sim,
      database: ownedDatabase,
      people: workspace.people,
      policyFile,
      server,
      async stop() {
        await server.close();
        await ownedBot.stop();
        await ownedDatabase.close();
        await sim.close();
      },
    };
  } catch (error) {
    await bot?.stop().catch(() => undefined);
    await database?.close().catch(() => undefined);
    await sim.close();
    throw error;
  }
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_SANDBOX_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SandboxError(`PORT must be a port number from 0 to 65535 (the sandbox's page; default ${DEFAULT_SANDBOX_PORT}), not "${raw}".`);
  return port;
}

export class SandboxError extends Error {
  readonly code = "SANDBOX_INVALID";
  override readonly name = "SandboxError";
}
