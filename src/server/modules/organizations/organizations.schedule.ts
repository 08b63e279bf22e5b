import { addDays, instantOf, localParts } from '../../platform/zoned-time.ts';

/**
 * When scheduled scans fall: a weekday (weekly) or a day of the month (monthly), at an hour of
 * the org's time zone (UTC without one). A slot is a wall-clock time in the zone, turned into an
 * instant (daylight saving included, see platform/zoned-time.ts).
 */
export interface ScheduleRule {
  scanSchedule: 'weekly' | 'monthly';
  /** ISO weekday 1–7 (weekly) or day of the month 1–28 (monthly). */
  scanScheduleDay: number;
  scanScheduleHour: number;
  timezone: string | null;
}

/** The slots around `now`: the latest at or before it, and the first after it. */
export function scheduleSlots(rule: ScheduleRule, now: Date): { last: Date; next: Date } {
  const zone = rule.timezone ?? 'UTC';
  const p = localParts(now, zone);
  const today = { year: p.year, month: p.month, day: p.day };
  const minute = rule.scanScheduleHour * 60;
  const candidates: Date[] = [];
  if (rule.scanSchedule === 'weekly') {
    // This week's day, the one before and the one after: one of them is last, one next.
    const back = (p.weekday - rule.scanScheduleDay + 7) % 7;
    for (const shift of [-back - 7, -back, -back + 7]) {
      candidates.push(instantOf(addDays(today, shift), minute, zone));
    }
  } else {
    for (const months of [-1, 0, 1]) {
      const first = new Date(Date.UTC(p.year, p.month - 1 + months, 1));
      const date = {
        year: first.getUTCFullYear(),
        month: first.getUTCMonth() + 1,
        day: rule.scanScheduleDay,
      };
      candidates.push(instantOf(date, minute, zone));
    }
  }
  const past = candidates.filter((c) => c.getTime() <= now.getTime());
  const future = candidates.filter((c) => c.getTime() > now.getTime());
  return { last: past.at(-1) ?? candidates[0]!, next: future[0] ?? candidates.at(-1)! };
}
