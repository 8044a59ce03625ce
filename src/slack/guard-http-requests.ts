import { Readable } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

/** Slack's own limit is 5 minutes; Bolt only refuses the past, this refuses the future too. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;
const MAX_BODY_BYTES = 10 * 1024 * 1024;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Checks what Bolt's HTTPReceiver would trip over before handing a request to it: a body that
 * is valid JSON but not an object (`payload=null`, a JSON `null`) made Bolt throw inside an
 * un-awaited closure, which ended the process; and a timestamp from the future (a replay
 * prepared in advance) passed its check. Such requests get 400 / 401 and a log line; all
 * others are passed on unchanged, body included.
 */
export function guardHttpRequests(receiver: { requestListener: RequestListener }, log: Logger, now: () => number = Date.now): void {
  const next = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    if (req.method !== "POST") return next(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("error", () => reply(res, 400));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const problem = size > MAX_BODY_BYTES ? null : findProblem(req, raw.toString("utf8"), now());
      if (problem) {
        log.warn({ status: problem.status, reason: problem.reason, url: req.url }, "refused a request to the Slack endpoint");
        reply(res, problem.status);
        return;
      }
      next(replayable(req, raw), res);
    });
  };
}

function findProblem(req: IncomingMessage, raw: string, nowMs: number): { status: number; reason: string } | null {
  const timestamp = Number(req.headers["x-slack-request-timestamp"]);
  if (Number.isFinite(timestamp) && timestamp - nowMs / 1000 > MAX_CLOCK_SKEW_SECONDS) return { status: 401, reason: "timestamp is in the future" };
  const type = String(req.headers["content-type"] ?? "");
  try {
    if (type.includes("application/json")) return isObject(JSON.parse(raw)) ? null : { status: 400, reason: "JSON body is not an object" };
    if (type.includes("application/x-www-form-urlencoded")) {
      const payload = new URLSearchParams(raw).get("payload");
      if (payload !== null && !isObject(JSON.parse(payload))) return { status: 400, reason: "payload is not a JSON object" };
    }
  } catch {
    return { status: 400, reason: "body is not valid JSON" };
  }
  return null;
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The same request with its body readable again (Bolt reads and verifies the raw bytes). */
function replayable(req: IncomingMessage, raw: Buffer): IncomingMessage {
  const copy = Readable.from([raw]) as unknown as IncomingMessage;
  return Object.assign(copy, { headers: req.headers, method: req.method, url: req.url, socket: req.socket, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders });
}

function reply(res: ServerResponse, status: number): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "text/plain" });
  res.end();
}
