import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CommitWrites } from "../db/prisma-access-store.js";
import { REQUEST_TYPES } from "../domain/detect-alerts.js";

/** What only the database knows, the same for every replica; read at each scrape. */
export interface OperationalGauges {
  grantsActive: number;
  requestsPending: number;
  /** The ledger's head seq (0 when empty). */
  ledgerHeadSeq: number;
  /** Seconds since the oldest unfinished job fell due (0 when nothing is due). */
  jobLagSeconds: number;
  jobsDue: number;
  /** Per audit sink: entries between its cursor and the head. */
  sinks: Array<{ sink: string; entriesBehind: number }>;
}

/** Ledger entry types that are attempts on a target system, and how each ended. */
const TARGET_ATTEMPTS: Record<string, { action: "provision" | "deprovision" | "extend"; result: "ok" | "failed" }> = {
  "grant.provisioned": { action: "provision", result: "ok" },
  "grant.provision_failed": { action: "provision", result: "failed" },
  "grant.deprovisioned": { action: "deprovision", result: "ok" },
  "grant.deprovision_failed": { action: "deprovision", result: "failed" },
  "grant.extension_provisioned": { action: "extend", result: "ok" },
  "grant.extension_provision_failed": { action: "extend", result: "failed" },
};

/**
 * The bot's Prometheus metrics (GET /metrics). Counters and histograms count what this
 * process did (sum them across replicas); the `accessbot_*` gauges without `_total` are read
 * from the database at each scrape, so every replica reports the same figure (take max).
 */
export class BotMetrics {
  readonly registry = new Registry();
  private readonly requestsCreated = new Counter({ name: "accessbot_requests_created_total", help: "Access requests filed, by resource.", labelNames: ["resource"], registers: [this.registry] });
  private readonly requests = new Counter({
    name: "accessbot_requests_total",
    help: "Access requests decided, by outcome (approved, break_glass, denied, cancelled, expired, unsatisfiable) and resource.",
    labelNames: ["outcome", "resource"],
    registers: [this.registry],
  });
  private readonly votes = new Counter({ name: "accessbot_votes_total", help: "Votes recorded, by decision (approve, deny).", labelNames: ["decision"], registers: [this.registry] });
  private readonly timeToDecision = new Histogram({
    name: "accessbot_time_to_decision_seconds",
    help: "From a request being filed to its approval or denial.",
    labelNames: ["outcome"],
    buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [this.registry],
  });
  private readonly targetAttempts = new Counter({
    name: "accessbot_provisioning_attempts_total",
    help: "Calls to target systems, by action (provision, deprovision = revoke, extend), result (ok, failed) and resource.",
    labelNames: ["action", "result", "resource"],
    registers: [this.registry],
  });
  private readonly grantsGivenUp = new Counter({ name: "accessbot_grants_failed_total", help: "Grants whose provisioning was given up.", labelNames: ["resource"], registers: [this.registry] });
  private readonly slackCalls = new Counter({
    name: "accessbot_slack_api_calls_total",
    help: "Slack Web API calls, by method and result (ok, a Slack error code such as ratelimited, http_<status>, timeout or network).",
    labelNames: ["method", "result"],
    registers: [this.registry],
  });
  private readonly slackCallSeconds = new Histogram({
    name: "accessbot_slack_api_call_duration_seconds",
    help: "Duration of Slack Web API calls, by method.",
    labelNames: ["method"],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly rateLimitWaits = new Counter({ name: "accessbot_slack_rate_limit_waits_total", help: "Times Slack answered 429 and the client waited before retrying, by method.", labelNames: ["method"], registers: [this.registry] });
  private readonly rateLimitSeconds = new Counter({ name: "accessbot_slack_rate_limit_wait_seconds_total", help: "Seconds Slack asked the client to wait (Retry-After), by method.", labelNames: ["method"], registers: [this.registry] });
  private readonly jobRuns = new Counter({ name: "accessbot_job_runs_total", help: "Durable job runs, by kind and result (done, retry, failed, gave_up).", labelNames: ["kind", "result"], registers: [this.registry] });
  private readonly jobSeconds = new Histogram({ name: "accessbot_job_duration_seconds", help: "Duration of durable job runs, by kind.", labelNames: ["kind"], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  private readonly grantsActive = new Gauge({ name: "accessbot_grants_active", help: "Grants active now (database).", registers: [this.registry] });
  private readonly requestsPending = new Gauge({ name: "accessbot_requests_pending", help: "Requests waiting for approval now (database).", registers: [this.registry] });
  private readonly ledgerHead = new Gauge({ name: "accessbot_ledger_head_seq", help: "Sequence number of the ledger's last entry (database).", registers: [this.registry] });
  private readonly jobLag = new Gauge({ name: "accessbot_job_lag_seconds", help: "How long the oldest due, unfinished job has been due (database; 0 when none).", registers: [this.registry] });
  private readonly jobsDue = new Gauge({ name: "accessbot_jobs_due", help: "Unfinished jobs that are due now (database).", registers: [this.registry] });
  private readonly sinkLag = new Gauge({ name: "accessbot_audit_sink_lag_entries", help: "Ledger entries an audit sink has not delivered yet (database).", labelNames: ["sink"], registers: [this.registry] });
  private readonly scrapeErrors = new Counter({ name: "accessbot_metrics_database_errors_total", help: "Scrapes whose database gauges could not be read (they then keep their last values).", registers: [this.registry] });

  constructor(private readonly readGauges: () => Promise<OperationalGauges>) {
    collectDefaultMetrics({ register: this.registry, prefix: "accessbot_process_" });
  }

  /** A committed transaction of the access store: what it decided and appended. */
  observeCommit(wrote: CommitWrites): void {
    for (const entry of wrote.entries) {
      const resource = entry.resource ?? "";
      if ((REQUEST_TYPES as readonly string[]).includes(entry.type)) this.requestsCreated.inc({ resource });
      else if (entry.type === "vote.approved") this.votes.inc({ decision: "approve" });
      else if (entry.type === "request.denied") this.votes.inc({ decision: "deny" });
      else if (entry.type === "grant.failed") this.grantsGivenUp.inc({ resource });
      const attempt = TARGET_ATTEMPTS[entry.type];
      if (attempt) this.targetAttempts.inc({ ...attempt, resource });
    }
    for (const decision of wrote.decisions) {
      const outcome = decision.breakGlass && decision.status === "APPROVED" ? "break_glass" : decision.status.toLowerCase();
      this.requests.inc({ outcome, resource: decision.resource });
      if (decision.status === "APPROVED" || decision.status === "DENIED") {
        this.timeToDecision.observe({ outcome }, Math.max(0, (decision.decidedAt.getTime() - decision.createdAt.getTime()) / 1000));
      }
    }
  }

  observeSlackCall(method: string, result: string, seconds: number): void {
    this.slackCalls.inc({ method, result });
    this.slackCallSeconds.observe({ method }, seconds);
  }

  observeRateLimit(method: string, retryAfterSeconds: number): void {
    this.rateLimitWaits.inc({ method });
    this.rateLimitSeconds.inc({ method }, retryAfterSeconds);
  }

  observeJob(kind: string, result: "done" | "retry" | "failed" | "gave_up", seconds: number): void {
    this.jobRuns.inc({ kind, result });
    this.jobSeconds.observe({ kind }, seconds);
  }

  /** The exposition text: the database gauges are read first (failures counted, not fatal). */
  async render(): Promise<{ contentType: string; text: string }> {
    try {
      const gauges = await this.readGauges();
      this.grantsActive.set(gauges.grantsActive);
      this.requestsPending.set(gauges.requestsPending);
      this.ledgerHead.set(gauges.ledgerHeadSeq);
      this.jobLag.set(gauges.jobLagSeconds);
      this.jobsDue.set(gauges.jobsDue);
      this.sinkLag.reset();
      for (const sink of gauges.sinks) this.sinkLag.set({ sink: sink.sink }, sink.entriesBehind);
    } catch {
      this.scrapeErrors.inc();
    }
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
