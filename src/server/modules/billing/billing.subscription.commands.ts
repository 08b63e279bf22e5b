import type { BillingCycle } from '../../../contracts/billing.ts';
import { isPlan, type Plan } from '../../../contracts/plans.ts';
import { ORGS_CACHE } from '../../platform/access/access.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import type { Executor } from '../../platform/db/client.ts';
import { ConflictError } from '../../platform/errors/app-error.ts';
import { setOrgPlan } from '../organizations/index.ts';
import { applyQuote, PlanSelectionError } from './billing.subscription.apply.ts';
import { findPlanBlockers, type PlanBlocker } from './billing.subscription.blockers.ts';
import { type PlanChangeQuote, quotePlanChange } from './billing.subscription.pricing.ts';
import {
  countActiveMembers,
  findSubscription,
  lockSubscription,
  type SubscriptionRow,
} from './billing.subscription.repository.ts';

export interface PlanChangeRequest {
  plan: Plan;
  cycle: BillingCycle;
}

/** The new plan does not fit what the org uses: 409 `plan_limit` listing what to change first. */
export class PlanBlockedError extends ConflictError {
  constructor(plan: string, blockers: PlanBlocker[]) {
    super(
      `The organization uses more than the ${plan} plan allows. Change these first: ${blockers.map((b) => b.detail).join(' ')}`,
      'plan_limit',
      { plan, blockers },
    );
  }
}

export interface PreparedChange {
  quote: PlanChangeQuote;
  row: SubscriptionRow | undefined;
  changed: boolean;
  /** What exceeds the new plan (only an operator's change goes ahead with some). */
  blockers: PlanBlocker[];
}

/**
 * Decides and prices a change of plan or cycle from what is stored: refused under
 * PLAN_SELECTION=operator when the plan changes (unless the operator makes it), refused with the
 * blockers when the org exceeds the new plan (unless the operator overrides them). With `lock`,
 * the subscription row is held until commit (the org row is already held by the caller).
 */
export async function preparePlanChange(
  db: Executor,
  orgId: string,
  currentPlan: string,
  /** No cycle: the one in force is kept (the operator's set-plan). */
  asked: { plan: Plan; cycle?: BillingCycle },
  options: { planSelection: 'open' | 'operator'; byOperator?: boolean; lock?: boolean; now?: Date },
): Promise<PreparedChange> {
  const row = options.lock ? await lockSubscription(db, orgId) : await findSubscription(db, orgId);
  const fromPlan: Plan = isPlan(currentPlan) ? currentPlan : 'free';
  const fromCycle = (row?.cycle ?? 'monthly') as BillingCycle;
  const to: PlanChangeRequest = { plan: asked.plan, cycle: asked.cycle ?? fromCycle };
  const planChanges = to.plan !== currentPlan;
  if (planChanges && options.planSelection === 'operator' && !options.byOperator) {
    throw new PlanSelectionError();
  }
  const blockers = planChanges ? await findPlanBlockers(db, orgId, to.plan) : [];
  if (blockers.length > 0 && !options.byOperator) throw new PlanBlockedError(to.plan, blockers);
  const seats = Math.max(1, await countActiveMembers(db, orgId));
  const changed = planChanges || to.cycle !== fromCycle;
  const period =
    row?.periodStart && row.periodEnd
      ? { start: row.periodStart, end: row.periodEnd, seats: row.seats }
      : null;
  const quote = changed
    ? quotePlanChange(
        { plan: fromPlan, cycle: fromCycle, period, creditBalance: row?.creditBalance ?? 0 },
        to,
        seats,
        options.now ?? new Date(),
      )
    : unchangedQuote(fromPlan, fromCycle, seats, row, options.now ?? new Date());
  return { quote, row, changed, blockers };
}

function unchangedQuote(
  plan: Plan,
  cycle: BillingCycle,
  seats: number,
  row: SubscriptionRow | undefined,
  now: Date,
): PlanChangeQuote {
  const credit = row?.creditBalance ?? 0;
  const period = row?.periodStart && row.periodEnd ? { start: row.periodStart, end: row.periodEnd } : null;
  const quote = quotePlanChange(
    { plan, cycle, period: null, creditBalance: credit },
    { plan, cycle },
    seats,
    now,
  );
  return {
    ...quote,
    lines: [],
    net: 0,
    creditApplied: 0,
    amountDue: 0,
    creditBalance: credit,
    period,
    nextBillingDate: period?.end ?? null,
  };
}

const terms = (
  plan: string,
  row: { cycle: string; periodStart: Date | null; periodEnd: Date | null } | undefined,
) => ({
  plan,
  cycle: row?.cycle ?? 'monthly',
  periodStart: row?.periodStart?.toISOString() ?? null,
  periodEnd: row?.periodEnd?.toISOString() ?? null,
});

/**
 * Carries out a prepared change in the caller's transaction, the org row held: the plan on the
 * organization (its cached copy dropped everywhere, as the operator's set-plan does), the
 * subscription row, an invoice for a positive amount due. Returns the audit entry's before/after.
 */
export async function carryOutPlanChange(
  ctx: Pick<CommandContext, 'tx' | 'invalidate'>,
  orgId: string,
  currentPlan: string,
  prepared: PreparedChange,
) {
  const { quote, row } = prepared;
  if (quote.to.plan !== currentPlan) {
    await setOrgPlan(ctx.tx, orgId, quote.to.plan);
    // Decisions read the plan from the cached organization.
    await ctx.invalidate(ORGS_CACHE, orgId);
  }
  const { invoice, creditBalance, settled, replacement } = await applyQuote(ctx.tx, orgId, quote);
  const before = { ...terms(currentPlan, row), creditBalance: row?.creditBalance ?? 0 };
  const after = {
    plan: quote.to.plan,
    cycle: quote.to.cycle,
    periodStart: quote.period?.start.toISOString() ?? null,
    periodEnd: quote.period?.end.toISOString() ?? null,
    seats: quote.seats,
    amountDue: quote.amountDue,
    creditBalance,
    recurringAmount: quote.recurringAmount,
    invoiceId: invoice?.id ?? null,
    invoiceNumber: invoice?.number ?? null,
    ...(settled.length > 0
      ? {
          settledInvoices: settled.map((i) => ({ id: i.id, number: i.number, total: i.total })),
          replacementInvoice: replacement ? { id: replacement.id, number: replacement.number } : null,
        }
      : {}),
  };
  return { invoice, before, after, creditBalance };
}

/**
 * PATCH …/billing/subscription with `confirm: true`. The org row is held exclusively and the
 * subscription row locked, so the same change sent twice at once is charged once: the second
 * finds it already made (nothing to do, nothing recorded).
 */
export const changeSubscription = defineCommand({
  action: 'subscription.changed',
  permission: 'billing:manage',
  orgLock: 'exclusive',
  async run(ctx, input: PlanChangeRequest & { planSelection: 'open' | 'operator'; now?: Date }) {
    const { orgId, orgName, plan } = orgAccess(ctx);
    const prepared = await preparePlanChange(
      ctx.tx,
      orgId,
      plan,
      { plan: input.plan, cycle: input.cycle },
      { planSelection: input.planSelection, lock: true, ...(input.now ? { now: input.now } : {}) },
    );
    if (!prepared.changed) {
      ctx.unchanged();
      return { quote: prepared.quote, invoice: null, changed: false };
    }
    const { invoice, before, after, creditBalance } = await carryOutPlanChange(ctx, orgId, plan, prepared);
    ctx.record({ target: { type: 'subscription', id: orgId, name: orgName }, before, after });
    return { quote: { ...prepared.quote, creditBalance }, invoice, changed: true };
  },
});
