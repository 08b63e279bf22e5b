/**
 * Wall-clock arithmetic in a time zone (quiet hours, digest periods, scan schedules). Plain `Intl`,
 * no time zone library: a zone's offset at an instant is read from `Intl.DateTimeFormat`, and a
 * local time is turned into an instant by correcting a first guess with that offset (twice, so a
 * daylight-saving change between the guess and the answer is taken into account).
 */

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** 1 = Monday … 7 = Sunday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** The wall-clock reading of `at` in `zone`. */
export function localParts(at: Date, zone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    millisecond: at.getUTCMilliseconds(),
    weekday: WEEKDAYS[parts.weekday ?? 'Mon'] ?? 1,
  };
}

/** How far `zone` is ahead of UTC at `at`, in ms. */
function offsetAt(at: Date, zone: string): number {
  const p = localParts(at, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.millisecond);
  return asUtc - at.getTime();
}

/**
 * The instant a wall clock in `zone` reads the given date and minute of the day. A time skipped
 * by a daylight-saving change falls after the change; a repeated one is its first occurrence.
 */
export function instantOf(
  date: { year: number; month: number; day: number },
  minute: number,
  zone: string,
): Date {
  const guess = Date.UTC(date.year, date.month - 1, date.day, Math.floor(minute / 60), minute % 60);
  let t = guess - offsetAt(new Date(guess), zone);
  t = guess - offsetAt(new Date(t), zone);
  return new Date(t);
}

/** The calendar date `days` after the given one. */
export function addDays(date: { year: number; month: number; day: number }, days: number) {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}
