#!/usr/bin/env node
// The container's HEALTHCHECK (deploy/Dockerfile) and anyone's liveness probe: exits 0 when the
// bot on this host answers GET /healthz with 200, else 1. Plain node (slim images have no curl).
// PORT as the bot reads it (default 3000); HEALTHCHECK_URL overrides the whole address.
const url = process.env.HEALTHCHECK_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 4000)) });
  const body = await response.text();
  if (response.status !== 200) {
    process.stderr.write(`unhealthy: ${url} answered ${response.status} ${body.slice(0, 500)}\n`);
    process.exit(1);
  }
  process.stdout.write(`healthy: ${body.slice(0, 500)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`unhealthy: ${url}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
