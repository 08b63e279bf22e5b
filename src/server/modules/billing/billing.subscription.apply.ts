import { BILLING_CURRENCY } from '../../../contracts/billing.ts';
import type { Plan } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { issueInvoice } from './billing.invoices.repository.ts';
import { type PlanChangeQuote, quotePlanChange } from './billing.subscription.pricing.ts';
import { countActiveMembers, upsertSubscription } from './billing.subscription.repository.ts';

/**
 * PLAN_SELECTION=operator: plans are the installation operator's to set, never the org's.
 * (Kept free of the organizations module so that org creation can use it.)
 */
export class PlanSelectionError extends AppError {
  constructor() {
    super(
      403,
      'plan_selection_operator',
      'Plans are set by the operator',
      'On this installation the operators set each organization’s plan (gatehouse operator orgs set-plan); ask them to change it. The billing cycle may still be changed here.',
    );
  }
}

/**
 * Carries a quoted change out in the caller's transaction: the subscription row takes the new
 * cycle, period, seats and credit, and a positive amount due is invoiced (reason `plan_change`).
 * The organization's plan itself is the caller's to set (it owns that row and its cache).
 */
export async function applyQuote(
  tx: Executor,
  orgId: string,
  quote: PlanChangeQuote,
): Promise<{ invoice: { id: string; number: number; total: number } | null }> {
  await upsertSubscription(tx, orgId, {
    cycle: quote.to.cycle,
    periodStart: quote.period?.start ?? null,
    periodEnd: quote.period?.end ?? null,
    seats: Math.max(1, quote.seats),
    creditBalance: quote.creditBalance,
  });
  if (quote.amountDue <= 0) return { invoice: null };
  const lines = [...quote.lines];
  if (quote.creditApplied > 0) {
    lines.push({
      description: 'Credit on account applied',
      quantity: 1,
      unitAmount: -quote.creditApplied,
      amount: -quote.creditApplied,
    });
  }
  const invoice = await issueInvoice(tx, orgId, {
    reason: 'plan_change',
    plan: quote.to.plan,
    cycle: quote.to.cycle,
    periodStart: quote.effectiveDate,
    periodEnd: quote.period?.end ?? quote.effectiveDate,
    currency: BILLING_CURRENCY,
    lines,
  });
  return { invoice };
}

/**
 * A new organization created on a paid plan: its first period starts today and is charged as an
 * upgrade from free would be (its creator is its one seat). Nothing for a free plan.
 */
export async function startSubscription(
  tx: Executor,
  orgId: string,
  plan: Plan,
  now = new Date(),
): Promise<PlanChangeQuote | null> {
  if (plan === 'free') return null;
  const seats = Math.max(1, await countActiveMembers(tx, orgId));
  const quote = quotePlanChange(
    { plan: 'free', cycle: 'monthly', period: null, creditBalance: 0 },
    { plan, cycle: 'monthly' },
    seats,
    now,
  );
  await applyQuote(tx, orgId, quote);
  return quote;
}
