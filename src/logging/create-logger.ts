import type { Logger as BoltLogger, LogLevel } from "@slack/bolt";
import { pino, type Logger } from "pino";

/** Paths that may hold secrets anywhere in a logged object. */
const REDACT = [
  "token",
  "*.token",
  "botToken",
  "*.botToken",
  "appToken",
  "*.appToken",
  "signingSecret",
  "*.signingSecret",
  "webhookSecret",
  "*.webhookSecret",
  "headers.authorization",
  "*.headers.authorization",
  "config.slack",
];

/** The one root logger: JSON lines, secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { app: "accessbot" }, redact: { paths: REDACT, censor: "[redacted]" } }, destination);
}

/** Lets Bolt log through the same pino pipe. */
export function toBoltLogger(log: Logger): BoltLogger {
  let name = "bolt";
  const child = () => log.child({ component: name });
  const write = (method: "debug" | "info" | "warn" | "error") => (...messages: unknown[]) => {
    const text = messages.map((message) => (typeof message === "string" ? message : message instanceof Error ? message.message : JSON.stringify(message))).join(" ");
    child()[method](scrubTokens(text));
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    // LOG_LEVEL is the one switch: Bolt calls setLevel from its own defaults at start-up,
    // which must not override what the operator chose.
    setLevel: () => undefined,
    getLevel: () => log.level as LogLevel,
    setName: (next: string) => {
      name = next;
    },
  };
}

/** Bolt and the Web API client sometimes print request bodies; never let a token through. */
export function scrubTokens(text: string): string {
  return text.replace(/xox[abprs]-[0-9A-Za-z-]+/g, "xox?-[redacted]").replace(/xapp-[0-9A-Za-z-]+/g, "xapp-[redacted]");
}
