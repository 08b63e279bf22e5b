import { describe, expect, it } from 'vitest';
import { afterQuietHours, digestPeriod, instantOf, localParts } from './notifications.schedule.ts';

const at = (iso: string) => new Date(iso);

describe('quiet hours in the person’s time zone', () => {
  it('lets an email outside quiet hours go at once', () => {
    const now = at('2026-03-10T12:00:00Z');
    expect(afterQuietHours(now, { start: '22:00', end: '07:00' }, 'Europe/Madrid')).toEqual(now);
    expect(afterQuietHours(now, null, 'Europe/Madrid')).toEqual(now);
  });

  it('holds an email due late in the evening until the morning after (quiet hours past midnight)', () => {
    // 23:30 in Madrid (UTC+1 in March before the change) → 07:00 the next day, 06:00 UTC.
    const due = afterQuietHours(
      at('2026-03-10T22:30:00Z'),
      { start: '22:00', end: '07:00' },
      'Europe/Madrid',
    );
    expect(due.toISOString()).toBe('2026-03-11T06:00:00.000Z');
  });

  it('holds an email due in the small hours until the same morning', () => {
    const due = afterQuietHours(
      at('2026-03-11T02:15:00Z'),
      { start: '22:00', end: '07:00' },
      'Europe/Madrid',
    );
    expect(due.toISOString()).toBe('2026-03-11T06:00:00.000Z');
  });

  it('reads the clock in the zone: the same instant is quiet in one zone and not in another', () => {
    const now = at('2026-06-01T03:00:00Z'); // 05:00 in Madrid, 23:00 the day before in New York
    const quiet = { start: '09:00', end: '17:00' };
    expect(afterQuietHours(now, quiet, 'Europe/Madrid')).toEqual(now);
    expect(afterQuietHours(now, { start: '22:00', end: '23:30' }, 'America/New_York').toISOString()).toBe(
      '2026-06-01T03:30:00.000Z',
    );
  });

  it('counts the start as quiet and the end as not', () => {
    const quiet = { start: '13:00', end: '14:00' };
    expect(afterQuietHours(at('2026-01-05T13:00:00Z'), quiet, 'UTC').toISOString()).toBe(
      '2026-01-05T14:00:00.000Z',
    );
    expect(afterQuietHours(at('2026-01-05T14:00:00Z'), quiet, 'UTC').toISOString()).toBe(
      '2026-01-05T14:00:00.000Z',
    );
    expect(afterQuietHours(at('2026-01-05T12:59:59Z'), quiet, 'UTC').toISOString()).toBe(
      '2026-01-05T12:59:59.000Z',
    );
  });

  it('ends at the local time across a daylight-saving change', () => {
    // The night Madrid moves from UTC+1 to UTC+2 (29 March 2026): 07:00 is 05:00 UTC.
    const due = afterQuietHours(
      at('2026-03-28T23:00:00Z'),
      { start: '22:00', end: '07:00' },
      'Europe/Madrid',
    );
    expect(due.toISOString()).toBe('2026-03-29T05:00:00.000Z');
    expect(localParts(due, 'Europe/Madrid')).toMatchObject({ hour: 7, minute: 0 });
  });
});

describe('digest periods', () => {
  it('a day runs from local midnight to local midnight', () => {
    const p = digestPeriod(at('2026-03-10T23:30:00Z'), 'daily', 'Europe/Madrid');
    expect(p.key).toBe('2026-03-11');
    expect(p.start.toISOString()).toBe('2026-03-10T23:00:00.000Z');
    expect(p.end.toISOString()).toBe('2026-03-11T23:00:00.000Z');
  });

  it('a week is the ISO week, Monday to Monday', () => {
    const p = digestPeriod(at('2026-01-01T12:00:00Z'), 'weekly', 'UTC'); // a Thursday
    expect(p.key).toBe('2026-W01');
    expect(p.start.toISOString()).toBe('2025-12-29T00:00:00.000Z');
    expect(p.end.toISOString()).toBe('2026-01-05T00:00:00.000Z');
    expect(digestPeriod(at('2027-01-01T12:00:00Z'), 'weekly', 'UTC').key).toBe('2026-W53');
  });

  it('a day with a daylight-saving change is 23 hours long', () => {
    const p = digestPeriod(at('2026-03-29T12:00:00Z'), 'daily', 'Europe/Madrid');
    expect(p.end.getTime() - p.start.getTime()).toBe(23 * 3_600_000);
  });

  it('turns a local time into an instant', () => {
    expect(
      instantOf({ year: 2026, month: 7, day: 4 }, 9 * 60 + 30, 'America/Los_Angeles').toISOString(),
    ).toBe('2026-07-04T16:30:00.000Z');
    expect(instantOf({ year: 2026, month: 7, day: 4 }, 0, 'Asia/Kathmandu').toISOString()).toBe(
      '2026-07-03T18:15:00.000Z',
    );
  });
});
