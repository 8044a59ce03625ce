import { createHash } from "node:crypto";
import path from "node:path";
import { EventEmitter } from "node:events";
import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { AlertDetectorSink } from "./audit-stream/alert-detector-sink.js";
import { AuditRelay } from "./audit-stream/audit-relay.js";
import type { AuditSink } from "./audit-stream/audit-sink.js";
import { publishCheckpoint, startCheckpointTimer } from "./audit-stream/publish-checkpoint.js";
import { SlackAuditSink } from "./audit-stream/slack-audit-sink.js";
import { WebhookAuditSink } from "./audit-stream/webhook-audit-sink.js";
import { readEnvConfig, type AppConfig } from "./config/read-env-config.js";
import { openDatabase, type Database } from "./db/open-database.js";
import { PrismaAccessStore } from "./db/prisma-access-store.js";
import { PrismaAlertStore } from "./db/prisma-alert-store.js";
import { resolveDatabaseTarget } from "./db/resolve-database-target.js";
import { advanceLifecycle, type LifecycleReport } from "./domain/advance-lifecycle.js";
import type { Effect } from "./domain/effects.js";
import { performEffect } from "./domain/perform-effect.js";
import type { AccessDeps, Clock, ProvisionerLookup } from "./domain/ports.js";
import type { LoadedPolicy } from "./domain/policy-model.js";
import { PrismaInteractionInbox } from "./db/prisma-interaction-inbox.js";
import { PrismaJobQueue } from "./db/prisma-job-queue.js";
import { deprioritiseOtherThreads } from "./runtime/deprioritise-other-threads.js";
import { createInboxMiddleware, INBOX_JOB_KIND, InteractionRunner, REPLAY_AFTER_MS, replayInteraction } from "./slack/interaction-inbox.js";
import { claimOverflowJournal, type OverflowJournal } from "./slack/claim-overflow-journal.js";
import { clearInboxJournal, readInboxJournal } from "./slack/inbox-journal.js";
import { AckThreadReceiver, startAckThread, type AckThread } from "./slack/start-ack-thread.js";
import { performDigestJob } from "./digest/digest-jobs.js";
import { DIGEST_JOB_KIND, DIGEST_JOB_KINDS } from "./digest/enqueue-digest-job.js";
import { digestJobKey, digestJobPayload } from "./digest/post-digest.js";
import { previousWeek } from "./domain/digest-period.js";
import { JobWorker } from "./jobs/job-worker.js";
import { startDueTimer } from "./jobs/start-due-timer.js";
import { startScheduler, type Scheduler } from "./jobs/start-scheduler.js";
import { createLogger } from "./logging/create-logger.js";
import { ReloadablePolicy } from "./policy/reloadable-policy.js";
import { buildProvisioners, type ProvisionedResource } from "./provisioning/build-provisioners.js";
import { createBoltApp, createPostingClient } from "./slack/create-bolt-app.js";
import type { HealthReport } from "./slack/operational-routes.js";
import { checkSlackCredentials } from "./slack/check-slack-credentials.js";
import { logCommittedEntries } from "./logging/log-committed-entries.js";
import { BotMetrics } from "./metrics/bot-metrics.js";
import { instrumentSlackFetch } from "./metrics/instrument-slack-fetch.js";
import { readOperationalGauges } from "./db/read-operational-gauges.js";
import { registerListeners } from "./slack/listeners/register-listeners.js";
import { SeenBlocksStash } from "./slack/seen-blocks-stash.js";
import { SlackDirectory } from "./slack/slack-directory.js";
import { SlackHealth } from "./slack/slack-health.js";
import { OnceOnlyPoster } from "./slack/once-only-poster.js";
import { SlackNotifier } from "./slack/slack-notifier.js";

/** Jobs that call a target system: their lease follows the provisioners' timeouts, and they retry without end. */
const PROVISIONING_KINDS: readonly string[] = ["provision", "deprovision", "extend-provision"];

/** How much lower than the ack thread the threads doing the work run (nice steps). */
export const BACKGROUND_NICE = 19;

export interface BotOptions {
  env?: NodeJS.ProcessEnv;
  /** An already-open database (tests share one); otherwise opened from DATABASE_URL. */
  database?: Database;
  clock?: Clock;
  log?: Logger;
  /** Run lifecycle steps as they fall due (default true); tests drive `sweep()` with their own clock instead. */
  dueTimer?: boolean;
  /** How long Slack may be unreachable (or the socket down) before health says so; default 120 s. */
  slackUnreachableAfterMs?: number;
  /** How long `stop()` waits for in-flight work before leaving it to durable state; default 10 s. */
  shutdownDeadlineMs?: number;
  /** Timeout of each Slack Web API call; default 10 s. */
  slackTimeoutMs?: number;
  /**
   * Whether the process is the bot's alone (`accessbot start`): then ACCESSBOT_IDLE_SCHEDULING
   * may put every thread but the ack thread under SCHED_IDLE on Linux. Otherwise, and by
   * default, no thread's priority is changed.
   */
  idleScheduling?: boolean;
  /** Builds the resources' provisioners instead of `buildProvisioners` (the sandbox's dry runs); called again on every policy reload. */
  provisioners?: (resources: ProvisionedResource[]) => ProvisionerLookup;
}

export interface Bot {
  app: App;
  config: AppConfig;
  deps: AccessDeps;
  relay: AuditRelay;
  worker: JobWorker;
  port: number;
  /** Runs every lifecycle step due at `now`, then every job that is due (the timer and cron do this too). */
  sweep(now?: Date): Promise<LifecycleReport>;
  /** What the weekly cron does: enqueues the digest of the week before `now` (once, whoever asks). */
  scheduleDigest(now?: Date): Promise<void>;
  /** Waits until every listener has finished and every durable job due so far has run. */
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

  // Before the database opens: a rejected token or an unreachable Slack is one line and an exit.
  const { workspaceUrl } = await checkSlackCredentials(config, { log, timeoutMs: options.slackTimeoutMs ?? 10_000 });

  const ownsDatabase = !options.database;
  let startedAckThread: AckThread | null = null;
  let overflowJournal: OverflowJournal | null = null;
  const db = options.database ?? (await openDatabase({ target: resolveDatabaseTarget(env), migrate: config.autoMigrate, logger: log }));
  try {
    const pending = await db.migrationsPending();
    if (pending.length > 0) {
      throw new Error(`The database has ${pending.length} pending migration(s) (${pending.join(", ")}) and ACCESSBOT_AUTO_MIGRATE is false: run \`npx prisma migrate deploy\` first.`);
    }

    let relay: AuditRelay | null = null;
    let worker: JobWorker | null = null;
    let dueTimer = null as { nudge(): void } | null;
    let sinkNames: string[] = [];
    const metrics = new BotMetrics(() => withDeadline(readOperationalGauges(db.prisma, sinkNames, clock.now()), 4_000));
    const store = new PrismaAccessStore(db.prisma, {
      clock,
      // Each wakes only for what the transaction added: a decision's job completions and
      // message records would otherwise cost every sink and the due timer a round of queries.
      onCommit: (wrote) => {
        try {
          logCommittedEntries(log, wrote);
          metrics.observeCommit(wrote);
        } catch (error) {
          log.warn({ err: error }, "could not log or count a committed transaction (it is committed)");
        }
        if (wrote.ledger) {
          relay?.nudge();
          dueTimer?.nudge();
        }
        if (wrote.jobs) worker?.nudge();
      },
    });
    const handlers = new Set<Promise<unknown>>();
    let slackHealth: SlackHealth | null = null;
    // Slack's requests are answered (and /healthz served) from before the scheduler and the
    // workers are up: health says "ready" only once everything is.
    let ready = false;
    const health = async (): Promise<HealthReport> => {
      if (!ready) return { ok: false, database: false, pendingMigrations: [], problem: "starting" };
      const database = await withTimeout(db.ping(), 5_000, false);
      const pendingMigrations = database ? await withTimeout(db.migrationsPending(), 5_000, ["(could not check)"]) : [];
      const slack = slackHealth?.report();
      return { ok: database && pendingMigrations.length === 0 && (slack?.ok ?? true), database, pendingMigrations, ...(slack ? { slack } : {}) };
    };
    // Slack's requests arrive on the ack thread (start-ack-thread.ts); this app runs the listeners.
    const receiver = new AckThreadReceiver();
    const slackClientOptions = {
      ...(options.slackTimeoutMs !== undefined ? { slackTimeoutMs: options.slackTimeoutMs } : {}),
      fetch: instrumentSlackFetch(metrics, { onAnswered: () => slackHealth?.markOk() }),
    };
    const app = createBoltApp(config, log, { inFlight: handlers, receiver, ...slackClientOptions });
    const postingClient = createPostingClient(config, log, slackClientOptions);
    const socketEvents = new EventEmitter();
    slackHealth = new SlackHealth(app.client, { thresholdMs: options.slackUnreachableAfterMs ?? 120_000, ...(config.slack.appToken ? { socket: socketEvents } : {}) });
    const directory = new SlackDirectory(app.client, { groupTtlMs: config.groupCacheSeconds * 1000, userTtlMs: 5 * 60 * 1000 });
    // Provisioners are built from the policy (secrets from the environment) before the policy
    // is in force: a reload whose provisioner lacks its variable is refused like a typo.
    const provisionerDeps = { env, slack: app.client, log };
    const buildFor = (loaded: LoadedPolicy) => (options.provisioners ?? ((resources) => buildProvisioners(resources, provisionerDeps)))(Object.values(loaded.policy.resources));
    let lookup = buildFor(policy.current());
    const provisioners: ProvisionerLookup = { forResource: (id) => lookup.forResource(id) };
    const deps: AccessDeps = { store, directory, policy, clock, notifier: new SlackNotifier(app.client, new OnceOnlyPoster(postingClient, log), log), provisioners };
    const runner = new InteractionRunner((work) => {
      handlers.add(work);
      // Settled either way (a failure is logged where it happens): never an unhandled rejection.
      void work.then(
        () => handlers.delete(work),
        () => handlers.delete(work),
      );
    }, log);
    runner.onDrained = () => worker?.nudge();
    const inbox = new PrismaInteractionInbox(db.prisma, clock);
    app.use(createInboxMiddleware(inbox, log));
    const digestSignOff = { prisma: db.prisma, directory, policy: () => policy.current().policy, clock, onCommit: () => worker?.nudge() };
    registerListeners(app, { deps, seenBlocks: new SeenBlocksStash(), log, invalidateGroup: (id) => directory.invalidateGroup(id), digest: digestSignOff });

    const leaseMs = (kind: string) => {
      // The digest verifies the whole ledger: minutes at a million entries, not seconds.
      if (kind === DIGEST_JOB_KIND) return 15 * 60_000;
      if (!PROVISIONING_KINDS.includes(kind)) return 30_000;
      const timeouts = Object.values(policy.current().policy.resources).map((resource) => resource.provisioner?.timeoutSeconds ?? 0);
      // The lease outlives the provisioner's own timeout, so a live worker never loses a job it is still running.
      return (Math.max(0, ...timeouts) + 10) * 1000;
    };
    const jobQueue = new PrismaJobQueue(db.prisma);
    worker = new JobWorker({
      queue: jobQueue,
      perform: async (job) => {
        if (DIGEST_JOB_KINDS.includes(job.kind)) {
          await performDigestJob({ prisma: db.prisma, client: app.client, policy: () => policy.current().policy, log, now: clock.now() }, job.kind, job.payload);
          return { kind: "done" };
        }
        if (job.kind !== INBOX_JOB_KIND) {
          const delivery = { key: `job:${job.id}:${job.createdAt.getTime()}`, since: job.createdAt, repeated: job.attempts > 1 };
          return performEffect(deps, job.payload as Effect, { attempt: job.attempts, delivery }, clock.now());
        }
        log.warn({ jobId: job.id.toString() }, "replaying a Slack interaction whose process stopped before finishing it");
        await replayInteraction(app, job.payload);
        return { kind: "done" };
      },
      clock,
      log,
      leaseMs,
      kindsWithOwnLease: [...PROVISIONING_KINDS, ...DIGEST_JOB_KINDS],
      onRun: (kind, result, seconds) => metrics.observeJob(kind, result, seconds),
      // A burst of clicks is decided first: its effects are durable jobs and follow.
      yieldTo: () => runner.backlog > 0,
      // Provisioning decides its own retries (and revokes never give up); Slack notices stop after ~1 day.
      maxAttempts: (kind) => (PROVISIONING_KINDS.includes(kind) ? Number.POSITIVE_INFINITY : 20),
    });

    const sinks: AuditSink[] = [
      // A rate limit moves the audit cursor's own backoff instead of holding the relay.
      new SlackAuditSink(new OnceOnlyPoster(postingClient, log, { maxRateLimitWaitMs: 0 }), () => policy.current().policy.settings.auditChannel, async (requestId) => {
        const snapshot = await store.getSnapshot(requestId);
        const message = snapshot?.messages.find((ref) => ref.kind === "channel");
        return message && workspaceUrl ? `${workspaceUrl}archives/${message.channelId}/p${message.ts.replace(".", "")}` : null;
      }),
    ];
    if (config.audit.webhookUrl) sinks.push(new WebhookAuditSink("siem-webhook", config.audit.webhookUrl, config.audit.webhookSecret!));
    // Always driven, even with no `alerts:` in the policy: its cursor then keeps up with the
    // head, so switching alerts on later never replays the history.
    sinks.push(new AlertDetectorSink(new PrismaAlertStore(db.prisma), () => policy.current().policy, clock, () => relay?.nudge()));
    sinkNames = sinks.map((sink) => sink.name);
    const auditRelay = new AuditRelay(db.prisma, sinks, log, { now: () => clock.now().getTime() });
    relay = auditRelay;
    const jobWorker = worker;
    if (!db.durableInbox) throw new Error("The bot needs a database it opened itself (not one served by another bot).");
    if (db.durableInbox.kind === "journal") {
      // Interactions acked by a process that died before copying them into the inbox table.
      const left = readInboxJournal(db.durableInbox.path);
      for (const entry of left) await inbox.record(entry.key, entry.body, 0);
      clearInboxJournal(db.durableInbox.path);
      // One process per PGlite directory: what is unfinished in the inbox was acked by a process
      // that is gone, so it runs now rather than after the replay delay meant for live replicas.
      const orphaned = await inbox.replayLeftNow();
      if (left.length > 0 || orphaned > 0) log.warn({ interactions: left.length, orphaned }, "recovered acknowledged interactions from the inbox journal and table; they run now unless already done");
    } else {
      // One directory per database: a journal's entries belong to the database it was written
      // for. Named by server, database and schema, not credentials, which may be rotated.
      const where = new URL(db.durableInbox.pool.connectionString);
      const database = createHash("sha256").update(`${where.host}${where.pathname}?${where.searchParams.get("options") ?? ""}${where.searchParams.get("schema") ?? ""}`).digest("hex").slice(0, 16);
      const journal = (overflowJournal = claimOverflowJournal(path.join(path.resolve(config.inboxJournalDir), database)));
      for (const entry of journal.leftovers) await inbox.record(entry.key, entry.body, 0);
      journal.clearLeftovers();
      if (journal.leftovers.length > 0) log.warn({ interactions: journal.leftovers.length }, "recovered acknowledged interactions from an inbox overflow journal; they run now unless already done");
    }
    await app.start();
    const ackThread = (startedAckThread = await startAckThread({
      receiver,
      data: { config, durableInbox: db.durableInbox, overflowJournal: overflowJournal?.path ?? null, clockOffsetMs: clock.now().getTime() - Date.now(), replayAfterMs: REPLAY_AFTER_MS, slackTimeoutMs: options.slackTimeoutMs ?? 10_000 },
      log,
      health,
      metrics: () => metrics.render(),
      runner,
      inbox,
      socketEvents,
    }));
    const port = ackThread.port;
    await deprioritiseWork(ackThread.threadId, (options.idleScheduling ?? false) && config.idleScheduling, log);
    auditRelay.start();
    jobWorker.start();
    slackHealth.start();
    const slackProbe = slackHealth;

    const runDue = (now: Date = clock.now()) => advanceLifecycle(deps, now);
    // Every replica's cron asks for last week's digest; the dedupe key makes it one job.
    const scheduleDigest = async (now: Date = clock.now()) => {
      const period = previousWeek(now, policy.current().policy.settings.timezone);
      await jobQueue.enqueueOnce(DIGEST_JOB_KIND, digestJobPayload(period), digestJobKey(period), now);
      jobWorker.nudge();
    };
    const timer = options.dueTimer === false ? null : startDueTimer({ nextDueAt: () => store.nextDueAt(policy.current().policy.settings), run: runDue, clock, log });
    dueTimer = timer;
    const checkpointDeps = () => ({
      prisma: db.prisma,
      client: app.client,
      auditChannel: policy.current().policy.settings.auditChannel,
      webhookUrl: config.audit.checkpointWebhookUrl,
      webhookSecret: config.audit.webhookSecret,
      log,
      databaseKind: db.kind,
    });
    const checkpoint = () => publishCheckpoint(checkpointDeps());
    // Besides start-up and the daily schedule: after every N entries or T minutes of activity,
    // so the tail of the ledger that no published head covers stays short.
    const checkpointTimer = startCheckpointTimer({ ...config.checkpoint, deps: checkpointDeps });
    const scheduler: Scheduler = await startScheduler(
      [
        { name: "advance-lifecycle", schedule: config.sweepSchedule, run: () => runDue(), runAtStart: true },
        // Finished jobs are kept a week for troubleshooting; the ledger is the record.
        { name: "purge-finished-jobs", schedule: "17 * * * *", run: () => jobQueue.purgeDone(new Date(Date.now() - 7 * 24 * 3600 * 1000)) },
        { name: "ledger-checkpoint", schedule: policy.current().policy.settings.checkpointSchedule, timezone: policy.current().policy.settings.timezone, run: checkpoint, runAtStart: true },
        { name: "weekly-digest", schedule: policy.current().policy.settings.digestSchedule, timezone: policy.current().policy.settings.timezone, run: () => scheduleDigest() },
      ],
      log,
    );

    const onHangup = () => {
      policy
        .reload((next) => {
          lookup = buildFor(next);
        })
        .then(
        (loaded) => log.info({ sha256: loaded.sha256 }, "access policy reloaded"),
        (error: unknown) => log.error({ err: error }, "access policy NOT reloaded; the previous policy stays in force"),
      );
    };
    process.on("SIGHUP", onHangup);
    ready = true;
    log.info({ host: config.host, port, mode: config.slack.appToken ? "socket" : "http", database: db.kind, policySha256: policy.current().sha256, metricsToken: config.metricsToken !== null }, "accessbot is running");

    return {
      app,
      config,
      deps,
      relay: auditRelay,
      worker: jobWorker,
      port,
      async sweep(now: Date = clock.now()) {
        const report = await runDue(now);
        await jobWorker.drain();
        return report;
      },
      scheduleDigest,
      async settle() {
        await ackThread.caughtUp();
        while (handlers.size > 0) await Promise.allSettled([...handlers]);
        await jobWorker.drain();
        await auditRelay.drain();
      },
      async stop() {
        process.off("SIGHUP", onHangup);
        slackProbe.stop();
        // Nothing may hold shutdown hostage (a hung Slack call, a slow target): past the
        // deadline, unfinished work is left to durable state (job leases, the inbox) and the
        // database is closed, which on PGlite also releases the directory lock.
        const deadline = options.shutdownDeadlineMs ?? 10_000;
        const started = Date.now();
        const left = () => Math.max(0, deadline - (Date.now() - started));
        const finished = await withTimeout(
          (async () => {
            await timer?.stop();
            await checkpointTimer.stop();
            await scheduler.stop();
            await ackThread.stop(left());
            await app.stop();
            while (handlers.size > 0) await Promise.allSettled([...handlers]);
            await jobWorker.stop(left());
            await auditRelay.stop();
            return true;
          })(),
          deadline,
          false,
        );
        if (!finished) log.warn({ deadlineMs: deadline }, "shutdown deadline reached; in-flight work resumes on the next start");
        overflowJournal?.release();
        if (ownsDatabase) await withTimeout(db.close(), 5_000, undefined);
      },
    };
  } catch (error) {
    await startedAckThread?.stop(2_000);
    overflowJournal?.release();
    if (ownsDatabase) await db.close();
    throw error;
  }
}

/**
 * Acks are latency work and everything else here is throughput work, on few cores. With
 * ACCESSBOT_IDLE_SCHEDULING, a process of its own puts every thread but the ack thread under
 * SCHED_IDLE at nice +19 (deprioritise-other-threads.ts), so acks get a core at once.
 *
 * Why nothing by default: a lowered thread loses the CPU to any busy neighbour in its cgroup at
 * the normal priority (a database, another process), for seconds on two busy cores. The shipped
 * recipes (deploy/) turn it on because they give the process a cgroup of its own. A host
 * process (tests, the sandbox) never changes priorities: they are its own.
 */
async function deprioritiseWork(ackThreadId: number | null, wholeProcess: boolean, log: Logger): Promise<void> {
  if (!wholeProcess) return;
  const outcome = await deprioritiseOtherThreads(ackThreadId, BACKGROUND_NICE);
  if (outcome.problem) log.info({ problem: outcome.problem }, "the bot's work runs at nice +19 only, not under SCHED_IDLE: acks may wait longer for a core when the bot is busy");
  else log.debug({ threads: outcome.idle.length }, "every thread but the ack thread runs under SCHED_IDLE");
}

/** Rejects if `promise` has not settled within `ms` (the promise is abandoned, not cancelled). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves with `fallback` if `promise` has not settled within `ms` (the promise is abandoned, not cancelled). */
function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.catch(() => fallback),
    new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
