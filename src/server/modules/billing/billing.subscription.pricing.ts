import { type BillingCycle, type InvoiceLine, seatPrice } from '../../../contracts/billing.ts';
import { entitlements, type Plan } from '../../../contracts/plans.ts';

/**
 * The arithmetic of a plan or cycle change, with no database: what the rest of the period under
 * way is credited and charged, to the day. Days are whole UTC days: the day of the change is
 * counted as unused on the old terms and used on the new ones (the change takes effect today).
 */

const DAY_MS = 86_400_000;

/** Midnight UTC of `at`'s day. */
export function startOfDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** Whole days from `from`'s day to `to`'s day (UTC). */
export function daysBetween(from: Date, to: Date): number {
  return Math.round((startOfDay(to).getTime() - startOfDay(from).getTime()) / DAY_MS);
}

/**
 * The end of a period of `cycle` that starts on `start`: a month or a year later, on the same day
 * of the month or the last day of a shorter month (31 January + 1 month = 28 or 29 February).
 */
export function periodEndOf(start: Date, cycle: BillingCycle): Date {
  const months = cycle === 'annual' ? 12 : 1;
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(start.getUTCDate(), lastDay)));
}

/** The subscription as it stands, as far as pricing goes. */
export interface CurrentTerms {
  plan: Plan;
  cycle: BillingCycle;
  /** The paid period under way; null when there is none (a free plan, or never billed). */
  period: { start: Date; end: Date; seats: number } | null;
  creditBalance: number;
}

export interface PlanChangeQuote {
  from: { plan: Plan; cycle: BillingCycle };
  to: { plan: Plan; cycle: BillingCycle };
  /** Seats the new terms are billed for: active members now. */
  seats: number;
  lines: InvoiceLine[];
  /** Sum of the lines before any credit: negative when the change leaves the org owed. */
  net: number;
  /** Credit on account taken off this change's charge. */
  creditApplied: number;
  /** What is charged today (an invoice is issued when positive). */
  amountDue: number;
  /** Credit on account after the change (what is owed to the org, taken off later invoices). */
  creditBalance: number;
  /** The new recurring amount, per cycle (0 on a free plan). */
  recurringAmount: number;
  effectiveDate: Date;
  /** The period after the change; null on a free plan. */
  period: { start: Date; end: Date } | null;
  nextBillingDate: Date | null;
}

const isPaid = (plan: Plan) => seatPrice(plan, 'monthly') > 0;

function line(description: string, quantity: number, unitAmount: number, amount: number): InvoiceLine {
  return { description, quantity, unitAmount, amount };
}

const cycleWord = (cycle: BillingCycle) => (cycle === 'annual' ? 'annual' : 'monthly');

/**
 * Prices a change from `current` to `to` at `now` for `seats` active members:
 * - the unused days of the period under way (today included) are credited at the old plan, cycle
 *   and billed seats: round(price × seats × daysLeft / daysInPeriod);
 * - same cycle, paid to paid: the same days are charged at the new plan for today's seats, and the
 *   period keeps its end;
 * - a change of cycle, or a paid plan where there was no paid period: a new period starts today
 *   and is charged whole;
 * - to a free plan: nothing is charged and the period ends today.
 * Credit on account is taken off a positive charge first; a negative net is added to it.
 */
export function quotePlanChange(
  current: CurrentTerms,
  to: { plan: Plan; cycle: BillingCycle },
  seats: number,
  now: Date,
): PlanChangeQuote {
  const today = startOfDay(now);
  const lines: InvoiceLine[] = [];
  const oldName = entitlements(current.plan).name;
  const newName = entitlements(to.plan).name;
  const period = current.period && current.period.end > today ? current.period : null;
  let daysLeft = 0;
  let daysTotal = 0;
  if (period && isPaid(current.plan)) {
    daysTotal = Math.max(1, daysBetween(period.start, period.end));
    daysLeft = Math.min(daysTotal, Math.max(0, daysBetween(today, period.end)));
    if (daysLeft > 0) {
      const unit = seatPrice(current.plan, current.cycle);
      const credit = Math.round((unit * period.seats * daysLeft) / daysTotal);
      lines.push(
        line(
          `Unused time on ${oldName} (${cycleWord(current.cycle)}), ${daysLeft} of ${daysTotal} days, ${period.seats} seat${period.seats === 1 ? '' : 's'}`,
          period.seats,
          -Math.round((unit * daysLeft) / daysTotal),
          -credit,
        ),
      );
    }
  }
  let newPeriod: { start: Date; end: Date } | null = null;
  if (isPaid(to.plan)) {
    const unit = seatPrice(to.plan, to.cycle);
    if (period && isPaid(current.plan) && current.cycle === to.cycle) {
      newPeriod = { start: period.start, end: period.end };
      if (daysLeft > 0) {
        const charge = Math.round((unit * seats * daysLeft) / daysTotal);
        lines.push(
          line(
            `Remaining time on ${newName} (${cycleWord(to.cycle)}), ${daysLeft} of ${daysTotal} days, ${seats} seat${seats === 1 ? '' : 's'}`,
            seats,
            Math.round((unit * daysLeft) / daysTotal),
            charge,
          ),
        );
      }
    } else {
      newPeriod = { start: today, end: periodEndOf(today, to.cycle) };
      lines.push(
        line(
          `${newName} (${cycleWord(to.cycle)}), ${seats} seat${seats === 1 ? '' : 's'}, ${newPeriod.start.toISOString().slice(0, 10)} to ${newPeriod.end.toISOString().slice(0, 10)}`,
          seats,
          unit,
          unit * seats,
        ),
      );
    }
  }
  const net = lines.reduce((sum, l) => sum + l.amount, 0);
  const creditApplied = net > 0 ? Math.min(net, current.creditBalance) : 0;
  const amountDue = Math.max(0, net) - creditApplied;
  const creditBalance = current.creditBalance - creditApplied + Math.max(0, -net);
  return {
    from: { plan: current.plan, cycle: current.cycle },
    to,
    seats,
    lines,
    net,
    creditApplied,
    amountDue,
    creditBalance,
    recurringAmount: seatPrice(to.plan, to.cycle) * seats,
    effectiveDate: today,
    period: newPeriod,
    nextBillingDate: newPeriod?.end ?? null,
  };
}
