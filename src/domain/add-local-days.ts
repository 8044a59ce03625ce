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

function localParts(at: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(at);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
}
