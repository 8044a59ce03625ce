import { looksLikeDuration } from "../domain/parse-duration.js";

export type AccessCommand =
  | { kind: "modal" }
  | { kind: "help" }
  | { kind: "list" }
  | { kind: "cancel"; id: string }
  /** `reason` only when one was typed (an admin revoking someone else's grant must give one). */
  | { kind: "revoke"; id: string; reason?: string }
  /** `breakGlass` only when `--break-glass` was given. */
  | { kind: "request"; resource: string; duration: string | null; reason: string; breakGlass?: true };

/**
 * `--break-glass` as a word of its own. Slack clients (and macOS autocorrect) often turn a
 * typed `--` into an en or em dash, so `–break-glass` and `—break-glass` count too: in an
 * emergency the flag must not silently become part of the reason.
 */
const BREAK_GLASS_FLAG = /(^|\s)(?:--|\u2013|\u2014)break-glass(?=\s|$)/gi;

/**
 * Reads the text after `/access`. The second word is a duration only if it looks like one
 * (`2h`, `PT2H`, and also malformed ones like `0m` or `-1h`, so that those get a duration
 * error instead of silently becoming part of the reason). `--break-glass` may stand anywhere
 * after the resource (usually at the end) and is taken out before the rest is read.
 */
export function parseAccessCommand(text: string): AccessCommand {
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "modal" };
  const [first = "", ...rest] = trimmed.split(/\s+/);
  const verb = first.toLowerCase();
  if (verb === "help" || verb === "-h" || verb === "--help" || verb === "?") return { kind: "help" };
  if (verb === "list" || verb === "ls") return { kind: "list" };
  if (verb === "cancel") return { kind: "cancel", id: rest.join(" ") };
  if (verb === "revoke") return parseRevoke(trimmed.slice(first.length).trim());

  const breakGlass = new RegExp(BREAK_GLASS_FLAG.source, "i").test(trimmed);
  const withoutFlag = breakGlass ? trimmed.replace(BREAK_GLASS_FLAG, " ").trim() : trimmed;
  const [resource = ""] = withoutFlag.split(/\s+/);
  const afterResource = withoutFlag.slice(resource.length).trim();
  const [second = ""] = afterResource.split(/\s+/);
  const flag = breakGlass ? { breakGlass: true as const } : {};
  if (second !== "" && looksLikeDuration(second)) {
    return { kind: "request", resource, duration: second, reason: afterResource.slice(second.length).trim(), ...flag };
  }
  return { kind: "request", resource, duration: null, reason: afterResource, ...flag };
}

/** `revoke <id> [reason…]`: the reason keeps its spacing; it is shown to the grantee as typed. */
function parseRevoke(args: string): AccessCommand {
  const [id = ""] = args.split(/\s+/);
  const reason = args.slice(id.length).trim();
  return reason === "" ? { kind: "revoke", id } : { kind: "revoke", id, reason };
}
