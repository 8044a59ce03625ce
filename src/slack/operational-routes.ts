import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SlackHealthReport } from "./slack-health.js";

export interface HealthReport {
  ok: boolean;
  database: boolean;
  pendingMigrations: string[];
  slack?: SlackHealthReport;
  problem?: string;
}

/** The Prometheus exposition text and its content type (prom-client's registry). */
export interface MetricsText {
  contentType: string;
  text: string;
}

export interface OperationalRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * GET /livez, /readyz, /healthz and /metrics: what an orchestrator and Prometheus ask. They are
 * served by Bolt's HTTP receiver in HTTP mode, and by `serveOperationalRoutes` in Socket Mode
 * (Bolt's own server there listens on every interface, whatever HOST says).
 */
export function operationalRoutes(options: { health: () => Promise<HealthReport>; metrics: () => Promise<MetricsText>; metricsToken: string | null }): OperationalRoute[] {
  const readiness = (_req: IncomingMessage, res: ServerResponse) => {
    options
      .health()
      .catch((): HealthReport => ({ ok: false, database: false, pendingMigrations: [], problem: "the health check failed" }))
      .then((report) => {
        res.writeHead(report.ok ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify(report));
      });
  };
  const metrics = (req: IncomingMessage, res: ServerResponse) => {
    if (options.metricsToken !== null && !bearerMatches(req.headers.authorization, options.metricsToken)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="accessbot metrics"' });
      res.end("401: /metrics needs `Authorization: Bearer <ACCESSBOT_METRICS_TOKEN>`\n");
      return;
    }
    options.metrics().then(
      (body) => {
        res.writeHead(200, { "content-type": body.contentType, "cache-control": "no-store" });
        res.end(body.text);
      },
      (error: unknown) => {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
        res.end(`503: metrics are unavailable (${error instanceof Error ? error.message : String(error)})\n`);
      },
    );
  };
  return [
    // Liveness asks nothing of the database or Slack: an orchestrator restarting the bot
    // because Slack is down would only add a cold start to the outage.
    {
      path: "/livez",
      method: ["GET"],
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify({ ok: true }));
      },
    },
    // Readiness: database, migrations, Slack reachable, Socket Mode connected. /healthz is the same report, kept for existing probes.
    { path: "/readyz", method: ["GET"], handler: readiness },
    { path: "/healthz", method: ["GET"], handler: readiness },
    { path: "/metrics", method: ["GET"], handler: metrics },
  ];
}

/** Compares digests, so neither the token's length nor its prefix leaks through timing. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** Socket Mode: the routes on their own server, bound to `host`. Resolves once it listens. */
export function serveOperationalRoutes(routes: OperationalRoute[], listen: { host: string; port: number }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = routes.find((candidate) => candidate.path === path);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    if (!route.method.includes((req.method ?? "GET").toUpperCase())) {
      res.writeHead(405, { allow: route.method.join(", ") }).end();
      return;
    }
    route.handler(req, res);
  });
  // Keep-alive probes must not hold shutdown open.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
