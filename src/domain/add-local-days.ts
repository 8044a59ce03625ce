/**
 * The same wall-clock time `days` later in `timeZone`: across a daylight-saving change a
 * "daily" reminder stays at 10:00 local time, so the gap is 23 or 25 hours, not 24.
 */
export function addLocalDays(from: Date, days: number, timeZone: string): Date {
  const local = localParts(from, timeZone);
  const wanted = Date.UTC(local.year, local.month - 1, local.day + days, local.hour, local.minute, local.second, from.getUTCMilliseconds());
  // Start from the wall time read as UTC, then correct by the zone's offset at that instant
  // (twice: the offset may differ on either side of the change).
  let guess = wanted - offsetMs(new Date(wanted), timeZone);
  guess = wanted - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

function offsetMs(at: Date, timeZone: string): number {
  const local = localParts(at, timeZone);
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, at.getUTCMilliseconds()) - at.getTime();
}

/** Midnight at the start of `at`'s local day in `timeZone`, `days` local days later (DST-correct). */
export function startOfLocalDay(at: Date, timeZone: string, days = 0): Date {
  const local = localParts(at, timeZone);
  return localMidnight(local.year, local.month, local.day + days, timeZone);
}

/** 00:00 local time in `timeZone` of the calendar date year-month-day (day may overflow). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const wanted = Date.UTC(year, month - 1, day, 0, 0, 0, 0);
  let guess = wanted - offsetMs(new Date(wanted), timeZone);
  guess = wanted - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

/** 0 = Monday … 6 = Sunday, in `timeZone`. */
export function localWeekday(at: Date, timeZone: string): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short" }).format(at);
  return ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(name);
}

/** The local calendar date (YYYY-MM-DD) of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const local = localParts(at, timeZone);
  return `${local.year}-${String(local.month).padStart(2, "0")}-${String(local.day).padStart(2, "0")}`;
}

function localParts(at: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(at);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
}
