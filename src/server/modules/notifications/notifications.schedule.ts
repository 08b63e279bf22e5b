/**
 * Quiet hours and digest periods, in a person's time zone (see platform/zoned-time.ts).
 */
import { addDays, instantOf, localParts } from '../../platform/zoned-time.ts';

export { instantOf, localParts };

/** `HH:MM`, 00:00 to 23:59. */
export const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

export function minutesOf(hhmm: string): number {
  const match = HHMM.exec(hhmm);
  if (!match) throw new Error(`not a HH:MM time: ${hhmm}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export interface QuietHours {
  start: string;
  end: string;
}

/**
 * When an email due at `at` may be sent: `at` itself, or the end of the quiet hours it falls in
 * (they may span midnight: 22:00–07:00). Start is inside, end is not.
 */
export function afterQuietHours(at: Date, quiet: QuietHours | null, zone: string): Date {
  if (!quiet) return at;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return at;
  const now = localParts(at, zone);
  const minute = now.hour * 60 + now.minute;
  const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!inside) return at;
  // The end comes later today, or (quiet hours running past midnight, now before it) tomorrow.
  const today = { year: now.year, month: now.month, day: now.day };
  const endDay = minute < end ? today : addDays(today, 1);
  const ends = instantOf(endDay, end, zone);
  return ends.getTime() > at.getTime() ? ends : at;
}

export type DigestFrequency = 'daily' | 'weekly';

export interface DigestPeriod {
  /** `2026-03-14` for a day, `2026-W11` for an ISO week (in the person's zone). */
  key: string;
  start: Date;
  /** The next period's start: when the digest of this one is due. */
  end: Date;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The ISO 8601 week of a calendar date: its year and number. */
function isoWeek(date: { year: number; month: number; day: number }): { year: number; week: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day));
  const weekday = d.getUTCDay() || 7;
  // The Thursday of the same week decides the year.
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  return { year: d.getUTCFullYear(), week: Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7) };
}

/** The day (local midnight to midnight) or ISO week (Monday to Monday) that `at` falls in, in `zone`. */
export function digestPeriod(at: Date, frequency: DigestFrequency, zone: string): DigestPeriod {
  const p = localParts(at, zone);
  const today = { year: p.year, month: p.month, day: p.day };
  if (frequency === 'daily') {
    return {
      key: `${p.year}-${pad(p.month)}-${pad(p.day)}`,
      start: instantOf(today, 0, zone),
      end: instantOf(addDays(today, 1), 0, zone),
    };
  }
  const monday = addDays(today, 1 - p.weekday);
  const week = isoWeek(today);
  return {
    key: `${week.year}-W${pad(week.week)}`,
    start: instantOf(monday, 0, zone),
    end: instantOf(addDays(monday, 7), 0, zone),
  };
}

/** The calendar month (UTC) an instant falls in, `YYYY-MM`: the quota's period. */
export const utcMonth = (at: Date) => `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}`;
