import { and, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import {
  BILLING_CURRENCY,
  type BillingCycle,
  boostPrice,
  type InvoiceLine,
  PLAN_PRICES,
  seatPrice,
} from '../../../contracts/billing.ts';
import { PLANS, type Plan } from '../../../contracts/plans.ts';
import { defineCommand, type Invocation } from '../../platform/command.ts';
import type { Executor } from '../../platform/db/client.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import { organizations, subscriptions } from '../../platform/db/schema.ts';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { countActiveMembers } from '../members/index.ts';
import { listBoostsGranted } from '../quota/index.ts';
import { issueInvoice } from './billing.invoices.repository.ts';

/**
 * Renewal: a subscription on a paid plan whose period has ended is renewed for the next one (it
 * starts where the last ended), billed for the org's active members then, by a cycle invoice.
 * Every instance looks for due subscriptions on a timer; each renewal locks its subscription row
 * (`FOR UPDATE SKIP LOCKED`: one another instance holds is left to it) and re-checks that it is
 * still due, and the unique index on (org, period start) of cycle invoices backs it: one invoice
 * per org and period, however many instances run.
 *
 * Periods missed while every instance was down are each renewed and invoiced in turn (oldest
 * first), at the seats of the time the job catches up: each period is billed once, never skipped.
 */

const SYSTEM: Invocation = {
  actor: { type: 'system' },
  meta: { ip: null, userAgent: null, requestId: null },
};

/** Plans with a price: the only ones renewed (and invoiced). */
const PAID_PLANS = PLANS.filter((p) => PLAN_PRICES[p] !== null);

/** Renewals of one org in one run at most (ten years of monthly periods): a guard, not a rule. */
const MAX_PERIODS_PER_RUN = 120;

const day = (d: Date) => d.toISOString().slice(0, 10);

/** `start` moved on by one cycle (UTC; a 31st falls on the month's last day when it has none). */
export function nextPeriodEnd(start: Date, cycle: BillingCycle): Date {
  const months = cycle === 'annual' ? 12 : 1;
  const target = new Date(start.getTime());
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(start.getUTCDate(), lastDay));
  return target;
}

const planName = (plan: string) => plan.charAt(0).toUpperCase() + plan.slice(1);

/** The subscription, locked, when it is still due at `asOf` (undefined when another holds it). */
async function lockDueSubscription(tx: Executor, orgId: string, asOf: Date) {
  const [row] = await tx
    .select({
      orgId: subscriptions.orgId,
      cycle: subscriptions.cycle,
      periodStart: subscriptions.periodStart,
      periodEnd: subscriptions.periodEnd,
      seats: subscriptions.seats,
      creditBalance: subscriptions.creditBalance,
      plan: organizations.plan,
      orgName: organizations.name,
    })
    .from(subscriptions)
    .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
    .where(
      and(
        eq(subscriptions.orgId, orgId),
        isNotNull(subscriptions.periodEnd),
        lte(subscriptions.periodEnd, asOf),
        inArray(organizations.plan, PAID_PLANS),
        liveOrganization(),
      ),
    )
    .for('update', { of: subscriptions, skipLocked: true });
  return row;
}

export interface Renewal {
  invoiceId: string;
  number: number;
  periodStart: Date;
  periodEnd: Date;
  seats: number;
  total: number;
}

/**
 * Renews one org's subscription by one period if it is due at `asOf`, as the system; null (and
 * nothing recorded) when it is not due, or another transaction is renewing it.
 */
export const renewSubscription = defineCommand({
  action: 'subscription.renewed',
  async run(ctx, input: { orgId: string; asOf: Date }): Promise<Renewal | null> {
    if (ctx.actor.type !== 'system') throw new UnauthenticatedError();
    const sub = await lockDueSubscription(ctx.tx, input.orgId, input.asOf);
    if (!sub?.periodEnd) {
      ctx.unchanged();
      return null;
    }
    const plan = sub.plan as Plan;
    const cycle = sub.cycle as BillingCycle;
    const previousStart = sub.periodStart ?? sub.periodEnd;
    const periodStart = sub.periodEnd;
    const periodEnd = nextPeriodEnd(periodStart, cycle);
    const seats = Math.max(1, await countActiveMembers(ctx.tx, input.orgId));
    const unit = seatPrice(plan, cycle);
    const lines: InvoiceLine[] = [
      {
        description: `${planName(plan)} plan, ${cycle}, ${day(periodStart)} to ${day(periodEnd)} (per seat)`,
        quantity: seats,
        unitAmount: unit,
        amount: unit * seats,
      },
    ];
    for (const boost of await listBoostsGranted(ctx.tx, input.orgId, previousStart, periodStart)) {
      const price = boostPrice(boost.tokens);
      lines.push({
        description: `Quota boost of ${boost.tokens.toLocaleString('en-US')} tokens, granted ${day(boost.createdAt)}`,
        quantity: 1,
        unitAmount: price,
        amount: price,
      });
    }
    const charges = lines.reduce((sum, l) => sum + l.amount, 0);
    const credit = Math.min(sub.creditBalance, charges);
    if (credit > 0) {
      lines.push({
        description: 'Credit from earlier changes',
        quantity: 1,
        unitAmount: -credit,
        amount: -credit,
      });
    }
    const invoice = await issueInvoice(ctx.tx, input.orgId, {
      reason: 'cycle',
      plan,
      cycle,
      periodStart,
      periodEnd,
      currency: BILLING_CURRENCY,
      lines,
    });
    await ctx.tx
      .update(subscriptions)
      .set({
        periodStart,
        periodEnd,
        seats,
        creditBalance: sql`${subscriptions.creditBalance} - ${credit}`,
        updatedAt: sql`now()`,
      })
      .where(eq(subscriptions.orgId, input.orgId));
    ctx.record({
      orgId: input.orgId,
      target: { type: 'subscription', id: input.orgId, name: sub.orgName },
      before: {
        periodStart: previousStart.toISOString(),
        periodEnd: sub.periodEnd.toISOString(),
        seats: sub.seats,
      },
      after: {
        periodStart: periodStart.toISOString(),
        periodEnd: periodEnd.toISOString(),
        seats,
        invoiceId: invoice.id,
        invoiceNumber: invoice.number,
        total: invoice.total,
        creditApplied: credit,
      },
    });
    return {
      invoiceId: invoice.id,
      number: invoice.number,
      periodStart,
      periodEnd,
      seats,
      total: invoice.total,
    };
  },
});

/** Orgs whose paid subscription is due at `asOf` (read without locks; each renewal re-checks). */
async function listDueOrgIds(db: Executor, asOf: Date): Promise<string[]> {
  const rows = await db
    .select({ orgId: subscriptions.orgId })
    .from(subscriptions)
    .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
    .where(
      and(
        isNotNull(subscriptions.periodEnd),
        lte(subscriptions.periodEnd, asOf),
        inArray(organizations.plan, PAID_PLANS),
        liveOrganization(),
      ),
    )
    .orderBy(subscriptions.periodEnd);
  return rows.map((r) => r.orgId);
}

/**
 * Renews every subscription due at `asOf` (each missed period in turn). Safe on several
 * instances at once. Returns the renewals this call made.
 */
export async function renewDueSubscriptions(app: FastifyInstance, asOf = new Date()): Promise<Renewal[]> {
  const { database, commands } = app.gatehouse;
  const done: Renewal[] = [];
  for (const orgId of await listDueOrgIds(database.db, asOf)) {
    try {
      for (let i = 0; i < MAX_PERIODS_PER_RUN; i++) {
        const renewal = await commands.run(renewSubscription, SYSTEM, { orgId, asOf });
        if (!renewal) break;
        done.push(renewal);
      }
    } catch (err) {
      app.log.error({ err, orgId }, 'renewing a subscription failed');
    }
  }
  return done;
}

/** On every instance: due subscriptions renewed a minute after start, then every interval. */
export function startRenewalJob(app: FastifyInstance): void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    renewDueSubscriptions(app)
      .catch((err) => app.log.error({ err }, 'subscription renewal failed'))
      .finally(() => {
        running = false;
      });
  };
  const first = setTimeout(tick, 60_000);
  const every = setInterval(tick, app.gatehouse.config.billing.renewalIntervalMs);
  first.unref();
  every.unref();
  app.addHook('onClose', async () => {
    clearTimeout(first);
    clearInterval(every);
  });
}
