import { describe, expect, it } from 'vitest';
import { daysBetween, periodEndOf, quotePlanChange } from './billing.subscription.pricing.ts';

const d = (iso: string) => new Date(`${iso}T00:00:00.000Z`);

describe('periods', () => {
  it('end a month or a year on, on the same day or the last of a shorter month', () => {
    expect(periodEndOf(d('2027-01-31'), 'monthly')).toEqual(d('2027-02-28'));
    expect(periodEndOf(d('2028-01-31'), 'monthly')).toEqual(d('2028-02-29'));
    expect(periodEndOf(d('2027-12-15'), 'monthly')).toEqual(d('2028-01-15'));
    expect(periodEndOf(d('2028-02-29'), 'annual')).toEqual(d('2029-02-28'));
    expect(daysBetween(d('2027-03-01'), new Date('2027-03-31T23:59:00Z'))).toBe(30);
  });
});

describe('quotePlanChange', () => {
  const current = {
    plan: 'enterprise' as const,
    cycle: 'annual' as const,
    period: { start: d('2027-01-01'), end: d('2028-01-01'), seats: 3 },
    creditBalance: 500,
  };

  it('prices a downgrade within the annual cycle to the day, keeping the period and carrying the credit', () => {
    // 365 days in the period, 300 left from 2027-03-07 (today counts as unused).
    const q = quotePlanChange(current, { plan: 'pro', cycle: 'annual' }, 4, new Date('2027-03-07T15:00:00Z'));
    const credit = Math.round((79_000 * 3 * 300) / 365);
    const charge = Math.round((29_000 * 4 * 300) / 365);
    expect(q.lines.map((l) => l.amount)).toEqual([-credit, charge]);
    expect(q.net).toBe(charge - credit);
    expect(q.amountDue).toBe(0);
    expect(q.creditBalance).toBe(500 + credit - charge);
    expect(q.period).toEqual({ start: d('2027-01-01'), end: d('2028-01-01') });
    expect(q.recurringAmount).toBe(29_000 * 4);
  });

  it('takes credit on account off a charge before anything is due', () => {
    const q = quotePlanChange(
      { plan: 'free', cycle: 'monthly', period: null, creditBalance: 500 },
      { plan: 'pro', cycle: 'monthly' },
      2,
      d('2027-05-10'),
    );
    expect(q).toMatchObject({ net: 5800, creditApplied: 500, amountDue: 5300, creditBalance: 0 });
    expect(q.nextBillingDate).toEqual(d('2027-06-10'));
  });
});
