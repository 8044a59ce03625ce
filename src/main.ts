import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { AuditRelay } from "./audit-stream/audit-relay.js";
import type { AuditSink } from "./audit-stream/audit-sink.js";
import { publishCheckpoint } from "./audit-stream/publish-checkpoint.js";
import { SlackAuditSink } from "./audit-stream/slack-audit-sink.js";
import { WebhookAuditSink } from "./audit-stream/webhook-audit-sink.js";
import { readEnvConfig, type AppConfig } from "./config/read-env-config.js";
import { openDatabase, type Database } from "./db/open-database.js";
import { PrismaAccessStore } from "./db/prisma-access-store.js";
import { resolveDatabaseTarget } from "./db/resolve-database-target.js";
import { expireDueAccess, type ExpiryReport } from "./domain/expire-due-access.js";
import type { AccessDeps, Clock } from "./domain/ports.js";
import { startScheduler, type Scheduler } from "./jobs/start-scheduler.js";
import { createLogger } from "./logging/create-logger.js";
import { ReloadablePolicy } from "./policy/reloadable-policy.js";
import { LogOnlyProvisioner } from "./provisioning/log-only-provisioner.js";
import { createBoltApp } from "./slack/create-bolt-app.js";
import { registerListeners } from "./slack/listeners/register-listeners.js";
import { SeenBlocksStash } from "./slack/seen-blocks-stash.js";
import { SlackDirectory } from "./slack/slack-directory.js";
import { SlackNotifier } from "./slack/slack-notifier.js";

export interface BotOptions {
  env?: NodeJS.ProcessEnv;
  /** An already-open database (tests share one); otherwise opened from DATABASE_URL. */
  database?: Database;
  clock?: Clock;
  log?: Logger;
}

export interface Bot {
  app: App;
  config: AppConfig;
  deps: AccessDeps;
  relay: AuditRelay;
  port: number;
  /** Runs the expiry sweep now (the scheduler also runs it). */
  sweep(now?: Date): Promise<ExpiryReport>;
  /** Waits until every listener has finished and every Slack side effect queued so far has been sent. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The composition root: reads the configuration, opens the database (applying pending
 * migrations), builds the domain's dependencies, starts Bolt and the scheduled jobs.
 */
export async function startBot(options: BotOptions = {}): Promise<Bot> {
  const env = options.env ?? process.env;
  const config = readEnvConfig(env);
  const log = options.log ?? createLogger(config.logLevel);
  const policy = await ReloadablePolicy.load(config.policyFile);
  const clock: Clock = options.clock ?? { now: () => new Date() };

  const ownsDatabase = !options.database;
  const db = options.database ?? (await openDatabase({ target: resolveDatabaseTarget(env), migrate: config.autoMigrate, logger: log }));
  try {
    const pending = await db.migrationsPending();
    if (pending.length > 0) {
      throw new Error(`The database has ${pending.length} pending migration(s) (${pending.join(", ")}) and ACCESSBOT_AUTO_MIGRATE is false: run \`npx prisma migrate deploy\` first.`);
    }

    let relay: AuditRelay | null = null;
    const store = new PrismaAccessStore(db.prisma, { onCommit: () => relay?.nudge() });
    const handlers = new Set<Promise<unknown>>();
    const app = createBoltApp(
      config,
      log,
      async () => {
        const database = await db.ping();
        const pendingMigrations = database ? await db.migrationsPending() : [];
        return { ok: database && pendingMigrations.length === 0, database, pendingMigrations };
      },
      handlers,
    );
    const directory = new SlackDirectory(app.client, { groupTtlMs: config.groupCacheSeconds * 1000, userTtlMs: 5 * 60 * 1000 });
    const viewDeps = { policy, directory, store, clock };
    const notifier = new SlackNotifier(app.client, viewDeps, log);
    const deps: AccessDeps = {
      ...viewDeps,
      notifier,
      provisioner: new LogOnlyProvisioner(log),
      onSideEffectError: (error, context) => log.error({ err: error }, `after-commit step failed: ${context}`),
    };
    registerListeners(app, { deps, seenBlocks: new SeenBlocksStash(), log });

    const workspaceUrl = await app.client.auth.test().then((result) => result.url ?? null, () => null);
    const sinks: AuditSink[] = [
      new SlackAuditSink(app.client, () => policy.current().policy.settings.auditChannel, async (requestId) => {
        const snapshot = await store.getSnapshot(requestId);
        const message = snapshot?.messages.find((ref) => ref.kind === "channel");
        return message && workspaceUrl ? `${workspaceUrl}archives/${message.channelId}/p${message.ts.replace(".", "")}` : null;
      }),
    ];
    if (config.audit.webhookUrl) sinks.push(new WebhookAuditSink("siem-webhook", config.audit.webhookUrl, config.audit.webhookSecret!));
    relay = new AuditRelay(db.prisma, sinks, log);

    const server = await app.start(config.port);
    const port = addressPort(server) ?? config.port;
    relay.start();

    const sweep = (now: Date = clock.now()) => expireDueAccess(deps, now);
    const checkpoint = () =>
      publishCheckpoint({ prisma: db.prisma, client: app.client, auditChannel: policy.current().policy.settings.auditChannel, webhookUrl: config.audit.checkpointWebhookUrl, webhookSecret: config.audit.webhookSecret, log });
    const scheduler: Scheduler = await startScheduler(
      [
        { name: "expire-due-access", schedule: config.sweepSchedule, run: () => sweep(), runAtStart: true },
        { name: "ledger-checkpoint", schedule: policy.current().policy.settings.checkpointSchedule, timezone: policy.current().policy.settings.timezone, run: checkpoint, runAtStart: true },
      ],
      log,
    );

    const onHangup = () => {
      policy.reload().then(
        (loaded) => log.info({ sha256: loaded.sha256 }, "access policy reloaded"),
        (error: unknown) => log.error({ err: error }, "access policy NOT reloaded; the previous policy stays in force"),
      );
    };
    process.on("SIGHUP", onHangup);
    log.info({ port, mode: config.slack.appToken ? "socket" : "http", database: db.kind, policySha256: policy.current().sha256 }, "accessbot is running");

    return {
      app,
      config,
      deps,
      relay,
      port,
      sweep,
      async settle() {
        while (handlers.size > 0) await Promise.allSettled([...handlers]);
        await notifier.drain();
        await relay!.drain();
      },
      async stop() {
        process.off("SIGHUP", onHangup);
        await scheduler.stop();
        await app.stop();
        while (handlers.size > 0) await Promise.allSettled([...handlers]);
        await notifier.drain();
        await relay!.stop();
        if (ownsDatabase) await db.close();
      },
    };
  } catch (error) {
    if (ownsDatabase) await db.close();
    throw error;
  }
}

function addressPort(server: unknown): number | null {
  const address = (server as { address?: () => unknown } | undefined)?.address?.();
  return address && typeof address === "object" && "port" in address ? Number((address as { port: number }).port) : null;
}
