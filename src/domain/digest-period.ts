import { localMidnight, localWeekday, startOfLocalDay } from "./add-local-days.js";

/** A digest's period: [since, until), whole local days in the policy's timezone. */
export interface DigestPeriod {
  since: Date;
  until: Date;
  timeZone: string;
}

/** The whole week (Monday 00:00 to Monday 00:00, local time) before the week `now` is in. */
export function previousWeek(now: Date, timeZone: string): DigestPeriod {
  const thisMonday = startOfLocalDay(now, timeZone, -localWeekday(now, timeZone));
  return { since: startOfLocalDay(thisMonday, timeZone, -7), until: thisMonday, timeZone };
}

/** The period of the same number of local days just before `period` (what the digest compares with). */
export function periodBefore(period: DigestPeriod): DigestPeriod {
  const days = localDaysBetween(period.since, period.until, period.timeZone);
  return { since: startOfLocalDay(period.since, period.timeZone, -days), until: period.since, timeZone: period.timeZone };
}

/** From the local day of `since` to the end of the local day of `until`, both given as YYYY-MM-DD. */
export function periodOfDates(since: string, until: string, timeZone: string): DigestPeriod {
  const [sy, sm, sd] = calendarDate(since);
  const [uy, um, ud] = calendarDate(until);
  const start = localMidnight(sy, sm, sd, timeZone);
  const end = localMidnight(uy, um, ud + 1, timeZone);
  if (end.getTime() <= start.getTime()) throw new RangeError(`--until ${until} is before --since ${since}`);
  return { since: start, until: end, timeZone };
}

function localDaysBetween(since: Date, until: Date, timeZone: string): number {
  // Whole local days: 23- and 25-hour days count as one.
  let days = 0;
  while (startOfLocalDay(since, timeZone, days).getTime() < until.getTime()) days++;
  return days;
}

function calendarDate(date: string): [number, number, number] {
  const parsed = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const at = parsed ? new Date(Date.UTC(Number(parsed[1]), Number(parsed[2]) - 1, Number(parsed[3]))) : new Date(Number.NaN);
  if (!parsed || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== date) throw new RangeError(`“${date}” is not a date: use YYYY-MM-DD, for example 2026-11-23`);
  return [Number(parsed[1]), Number(parsed[2]), Number(parsed[3])];
}
