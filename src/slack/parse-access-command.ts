import { looksLikeDuration } from "../domain/parse-duration.js";

export type AccessCommand =
  | { kind: "modal" }
  | { kind: "help" }
  | { kind: "list" }
  | { kind: "cancel"; id: string }
  | { kind: "revoke"; id: string }
  | { kind: "request"; resource: string; duration: string | null; reason: string };

/**
 * Reads the text after `/access`. The second word is a duration only if it looks like one
 * (`2h`, `PT2H`, and also malformed ones like `0m` or `-1h`, so that those get a duration
 * error instead of silently becoming part of the reason).
 */
export function parseAccessCommand(text: string): AccessCommand {
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "modal" };
  const [first = "", ...rest] = trimmed.split(/\s+/);
  const verb = first.toLowerCase();
  if (verb === "help" || verb === "-h" || verb === "--help" || verb === "?") return { kind: "help" };
  if (verb === "list" || verb === "ls") return { kind: "list" };
  if (verb === "cancel") return { kind: "cancel", id: rest.join(" ") };
  if (verb === "revoke") return { kind: "revoke", id: rest.join(" ") };

  const afterResource = trimmed.slice(first.length).trim();
  const [second = ""] = afterResource.split(/\s+/);
  if (second !== "" && looksLikeDuration(second)) {
    return { kind: "request", resource: first, duration: second, reason: afterResource.slice(second.length).trim() };
  }
  return { kind: "request", resource: first, duration: null, reason: afterResource };
}
