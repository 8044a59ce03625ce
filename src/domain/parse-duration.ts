/**
 * Durations for access grants, request TTLs and policy limits.
 *
 * Accepted: `30m`, `2h`, `1d`, combinations in descending order (`1h30m`, `1d 4h`) and the
 * ISO-8601 subset `PnW`, `PnD`, `PTnH`, `PTnM`, `PnDTnHnM` (case-insensitive). Whole numbers
 * only, at least 1 minute, at most 365 days.
 *
 * Why so narrow: a duration decides how long someone holds production access, so anything
 * ambiguous is refused with a message that says what to write instead, never guessed at.
 * Seconds are refused because a grant shorter than a minute is always a typo (`90s` for
 * `90m`), and ISO months/years are refused because their length depends on the calendar
 * (and `P30M` is 30 *months*, a classic slip for `PT30M`).
 */

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Longest duration accepted anywhere; anything longer is a typo, not a policy. */
export const MAX_DURATION_SECONDS = 365 * DAY;

/** No valid duration is anywhere near this long; longer input is refused before any regex runs. */
const MAX_INPUT_LENGTH = 40;

/** What every error message ends with, so the user always learns what *is* accepted. */
const ACCEPTED_HINT = "use minutes, hours or days like 30m, 2h or 1d (at least 1 minute)";

export class DurationError extends Error {
  readonly code = "INVALID_DURATION" as const;
  /** A complete sentence safe to show in Slack or a terminal. */
  readonly userMessage: string;
  /** The text exactly as given (may be long or contain anything; do not echo it unescaped). */
  readonly input: string;

  constructor(input: string, reason?: string) {
    const head = `“${previewForMessage(input)}” is not a valid duration: `;
    const userMessage = `${head}${reason === undefined ? "" : `${reason}; `}${ACCEPTED_HINT}.`;
    super(userMessage);
    this.name = "DurationError";
    this.userMessage = userMessage;
    this.input = input;
  }
}

/** Parses a duration and returns it in seconds (always a whole number of minutes). */
export function parseDuration(text: string): number {
  // Runtime guard: callers pass YAML values and Slack text, which are not always strings.
  if (typeof text !== "string") throw new DurationError(String(text), "expected text");
  const input = text.trim();
  if (input === "") throw new DurationError(text, "it is empty");
  if (input.length > MAX_INPUT_LENGTH) throw new DurationError(text, "that is far too long to be a duration");

  const seconds = /^[pP]/.test(input) ? parseIsoDuration(input) : parseCompactDuration(input);
  if (seconds === null) throw new DurationError(text, diagnose(input));
  if (seconds < MINUTE) throw new DurationError(text);
  if (seconds > MAX_DURATION_SECONDS) {
    throw new DurationError(text, `that is longer than the maximum of ${formatDuration(MAX_DURATION_SECONDS)}`);
  }
  return seconds;
}

/**
 * Renders seconds the way users write them: `45m`, `2h`, `1h 30m`, `1d 4h`. The output
 * parses back with parseDuration to the same value for whole minutes. Partial minutes are
 * dropped (this is for display, e.g. time left on a grant), and a positive amount below one
 * minute is shown as `<1m` rather than a misleading `0m`.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`formatDuration expects a non-negative number of seconds, got ${seconds}`);
  }
  const totalMinutes = Math.floor(seconds / MINUTE);
  if (totalMinutes === 0) return seconds > 0 ? "<1m" : "0m";
  const days = Math.floor(totalMinutes / (DAY / MINUTE));
  const hours = Math.floor((totalMinutes % (DAY / MINUTE)) / (HOUR / MINUTE));
  const minutes = totalMinutes % (HOUR / MINUTE);
  const parts: string[] = [];
  if (days > 0) parts.push(`${days}d`);
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  return parts.join(" ");
}

/*
 * looksLikeDuration is deliberately much looser than parseDuration: a slash-command parser
 * uses it to decide whether the second word is a duration attempt. A mistyped duration
 * (`0m`, `-1h`, `1.5h`, `90s`, `2hours`, `10`) must be reported as a bad duration, not
 * silently become the first word of the reason while the request goes out with the default
 * duration. Words that merely start with a digit (`2fa`, `3rd`, `4pm`) are not durations.
 *
 * The regexes put a mandatory unit between digit runs so they stay linear on long input.
 */
const LOOSE_NUMBER = String.raw`\d+(?:[.,]\d+)?`;
const LOOSE_UNIT =
  "(?:d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?|w|wks?|weeks?|y|yrs?|years?|mo|mos|months?)";
const LOOKS_COMPACT = new RegExp(
  `^[+-]?${LOOSE_NUMBER}(?:${LOOSE_UNIT}${LOOSE_NUMBER})*${LOOSE_UNIT}?$`,
  "i",
);
const LOOKS_ISO = new RegExp(`^[+-]?P(?:${LOOSE_NUMBER}[YMWD])*(?:T(?:${LOOSE_NUMBER}[HMS])+)?$`, "i");

export function looksLikeDuration(token: string): boolean {
  const candidate = token.trim();
  if (candidate === "") return false;
  if (LOOKS_COMPACT.test(candidate)) return true;
  // `P` alone or `PT` is a word, not a duration; require at least one number.
  return /\d/.test(candidate) && LOOKS_ISO.test(candidate);
}

// ---------------------------------------------------------------------------------------

/** `1d`, `2h`, `30m`, `1d4h`, `1h 30m`: units in descending order, each at most once. */
const COMPACT = /^(?:([0-9]+)d)?\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?$/i;

function parseCompactDuration(input: string): number | null {
  const match = COMPACT.exec(input);
  if (match === null) return null;
  const [, days, hours, minutes] = match;
  if (days === undefined && hours === undefined && minutes === undefined) return null;
  return sumUnits([
    [days, DAY],
    [hours, HOUR],
    [minutes, MINUTE],
  ]);
}

/** ISO-8601 subset without calendar-dependent units (Y, M before T) or seconds. */
const ISO_WEEKS = /^P([0-9]+)W$/i;
const ISO_DAY_TIME = /^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?)?$/i;

function parseIsoDuration(input: string): number | null {
  const weeks = ISO_WEEKS.exec(input);
  if (weeks !== null) return sumUnits([[weeks[1], WEEK]]);
  const match = ISO_DAY_TIME.exec(input);
  if (match === null) return null;
  const [, days, hours, minutes] = match;
  if (days === undefined && hours === undefined && minutes === undefined) return null;
  // ISO forbids a dangling designator: `P1DT` has a T with nothing after it.
  if (/T$/i.test(input)) return null;
  return sumUnits([
    [days, DAY],
    [hours, HOUR],
    [minutes, MINUTE],
  ]);
}

/** Digits are ASCII-only by construction of the regexes; Number() of them is exact enough
 *  because anything near the precision limit is far above MAX_DURATION_SECONDS anyway. */
function sumUnits(parts: Array<[string | undefined, number]>): number {
  let total = 0;
  for (const [digits, unitSeconds] of parts) {
    if (digits !== undefined) total += Number(digits) * unitSeconds;
  }
  return total;
}

/** A reason for a string neither grammar accepted, so the message says what went wrong. */
function diagnose(input: string): string | undefined {
  if (/^-/.test(input)) return "durations cannot be negative";
  const decimal = diagnoseDecimal(input);
  if (decimal !== undefined) return decimal;
  if (/^\+?[0-9]+$/.test(input)) return `it has no unit (did you mean ${input.replace(/^\+/, "")}m or ${input.replace(/^\+/, "")}h?)`;
  if (/^P/i.test(input)) return diagnoseIso(input);
  if (/[0-9]\s*(?:s|secs?|seconds?)$/i.test(input)) return "seconds are not accepted";
  if (/[0-9]\s*(?:w|wks?|weeks?)$/i.test(input)) return "weeks are not accepted (write 7d for a week)";
  if (/[0-9]\s*(?:y|yrs?|years?|mo|mos|months?)$/i.test(input)) return "months and years are not accepted";
  return undefined;
}

function diagnoseDecimal(input: string): string | undefined {
  const match = /^([0-9]*)[.,]([0-9]+)\s*([dhm])$/i.exec(input);
  if (match === null) return /[0-9][.,][0-9]/.test(input) ? "use whole numbers" : undefined;
  const unit = (match[3] ?? "m").toLowerCase();
  const unitMinutes = unit === "d" ? DAY / MINUTE : unit === "h" ? HOUR / MINUTE : 1;
  const minutes = Number(`${match[1] || "0"}.${match[2]}`) * unitMinutes;
  return Number.isInteger(minutes) && minutes > 0
    ? `use whole numbers (for example ${minutes}m)`
    : "use whole numbers";
}

function diagnoseIso(input: string): string | undefined {
  const [datePart = "", timePart = ""] = input.toUpperCase().split("T");
  if (/[0-9]M/.test(datePart)) return "in ISO-8601 P…M means months (write PT30M for 30 minutes)";
  if (/[0-9]Y/.test(datePart)) return "months and years are not accepted";
  if (/[0-9]S/.test(timePart)) return "seconds are not accepted";
  return undefined;
}

/**
 * The input as it may appear inside a message shown in Slack: short, and without characters
 * that Slack turns into mentions or formatting (`<!channel>`, `*bold*`) or that are invisible.
 */
function previewForMessage(input: string): string {
  const cleaned = Array.from(input)
    .map((char) => (/[\p{L}\p{N} .,:+-]/u.test(char) ? char : "?"))
    .join("");
  const chars = Array.from(cleaned);
  return chars.length > 24 ? `${chars.slice(0, 24).join("")}…` : cleaned;
}
