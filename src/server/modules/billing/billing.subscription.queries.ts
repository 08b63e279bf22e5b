import { annualSavings, BILLING_CURRENCY, type BillingCycle, seatPrice } from '../../../contracts/billing.ts';
import { isPlan, type Plan } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import { presentPaymentMethod } from './billing.payment-method.commands.ts';
import { countActiveMembers, findSubscription } from './billing.subscription.repository.ts';

/**
 * The subscription as Settings → Billing shows it. `seats` are the active members now and
 * `amount` what the next renewal costs for them (0 on a free plan, with no next billing date).
 * The payment method is shown only to who may manage it (`showPaymentMethod`: billing:manage,
 * as GET …/billing/payment-method asks); to a reader of billing it is null.
 */
export async function readSubscription(
  db: Executor,
  orgId: string,
  currentPlan: string,
  planSelection: 'open' | 'operator',
  showPaymentMethod = false,
) {
  const [row, members] = await Promise.all([findSubscription(db, orgId), countActiveMembers(db, orgId)]);
  const plan: Plan = isPlan(currentPlan) ? currentPlan : 'free';
  const cycle = (row?.cycle ?? 'monthly') as BillingCycle;
  const seats = Math.max(1, members);
  const paid = seatPrice(plan, cycle) > 0;
  return {
    plan,
    cycle,
    nextBillingDate: paid ? (row?.periodEnd?.toISOString() ?? null) : null,
    seats,
    amount: seatPrice(plan, cycle) * seats,
    currency: BILLING_CURRENCY,
    annualSavings: annualSavings(plan, seats),
    status: (row?.status ?? 'active') as 'active' | 'past_due',
    periodStart: paid ? (row?.periodStart?.toISOString() ?? null) : null,
    periodEnd: paid ? (row?.periodEnd?.toISOString() ?? null) : null,
    creditBalance: row?.creditBalance ?? 0,
    paymentMethod: showPaymentMethod ? presentPaymentMethod(row) : null,
    planSelection,
  };
}
