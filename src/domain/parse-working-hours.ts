/**
 * Working hours as a policy writes them: `Mon-Fri 08:00-19:00`, or several spans separated by
 * commas, `Mon-Fri 08:00-19:00, Sat 10:00-14:00`. Days are English three-letter names; a day
 * range may wrap (`Fri-Mon`). Times are local wall-clock times in the policy's time zone,
 * `HH:MM` from 00:00 to 24:00, and a span ends after it starts.
 *
 * Why no overnight spans (`22:00-06:00`): which day such a span belongs to is ambiguous
 * ("Mon 22:00-06:00" ends on Tuesday), and a policy must mean one thing. Two spans say it
 * exactly: `Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00`.
 */

/** One span: the days it applies to (0 = Sunday … 6 = Saturday) and its minutes of the day. */
export interface WorkingSpan {
  days: number[];
  startMinute: number;
  /** Exclusive; 1440 means midnight at the end of the day. */
  endMinute: number;
}

export interface WorkingHours {
  /** The text as written, for messages and the ledger. */
  text: string;
  spans: WorkingSpan[];
}

export const DEFAULT_WORKING_HOURS = "Mon-Fri 08:00-19:00";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const HINT = "write spans like Mon-Fri 08:00-19:00, separated by commas (Mon-Fri 08:00-19:00, Sat 10:00-14:00)";

export class WorkingHoursError extends Error {
  readonly code = "INVALID_WORKING_HOURS" as const;
  constructor(reason: string) {
    super(`${reason}; ${HINT}`);
    this.name = "WorkingHoursError";
  }
}

/** Parses working hours; throws WorkingHoursError with a message for the policy's author. */
export function parseWorkingHours(text: string): WorkingHours {
  if (typeof text !== "string" || text.trim() === "") throw new WorkingHoursError("working hours are empty");
  const spans = text.split(",").map((part) => parseSpan(part.trim()));
  return { text: text.trim(), spans };
}

function parseSpan(part: string): WorkingSpan {
  const match = /^([A-Za-z]+)(?:\s*-\s*([A-Za-z]+))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/.exec(part);
  if (match === null) throw new WorkingHoursError(part === "" ? "a span is empty (two commas in a row?)" : `'${part}' is not a span of days and times`);
  const [, from = "", to, start = "", end = ""] = match;
  const first = dayIndex(from);
  const last = to === undefined ? first : dayIndex(to);
  const days: number[] = [];
  for (let day = first; ; day = (day + 1) % 7) {
    days.push(day);
    if (day === last) break;
  }
  const startMinute = minuteOfDay(start);
  const endMinute = minuteOfDay(end);
  if (endMinute <= startMinute) {
    throw new WorkingHoursError(`in '${part}' the end ${end} is not after the start ${start} (overnight spans are written as two spans, like Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00)`);
  }
  return { days, startMinute, endMinute };
}

function dayIndex(name: string): number {
  const index = DAY_NAMES.findIndex((day) => day.toLowerCase() === name.toLowerCase());
  if (index === -1) throw new WorkingHoursError(`unknown day '${name}': use ${DAY_NAMES.slice(1).join(", ")} or Sun`);
  return index;
}

function minuteOfDay(time: string): number {
  const [hours = NaN, minutes = NaN] = time.split(":").map(Number);
  if (!(hours >= 0 && minutes >= 0 && minutes < 60 && hours * 60 + minutes <= 24 * 60)) {
    throw new WorkingHoursError(`'${time}' is not a time of day from 00:00 to 24:00`);
  }
  return hours * 60 + minutes;
}

/**
 * Whether an instant falls within working hours in `timeZone`. The instant is turned into the
 * zone's wall-clock day and time by Intl, so daylight-saving changes are handled by the IANA
 * database rather than by a fixed offset.
 */
export function isWithinWorkingHours(at: Date, hours: WorkingHours, timeZone: string): boolean {
  const { day, minute } = localDayAndMinute(at, timeZone);
  return hours.spans.some((span) => span.days.includes(day) && minute >= span.startMinute && minute < span.endMinute);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localDayAndMinute(at: Date, timeZone: string): { day: number; minute: number } {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(at).map((part) => [part.type, part.value]));
  const day = DAY_NAMES.findIndex((name) => name === parts.weekday);
  return { day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}
