import { BILLING_CURRENCY, formatInvoiceNumber } from '../../../contracts/billing.ts';
import type { Plan } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { issueInvoice, lockUnpaidInvoices, voidInvoice } from './billing.invoices.repository.ts';
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

type IssuedInvoice = { id: string; number: number; total: number };

/**
 * Credit on account pays the org's unpaid invoices first (oldest first): an invoice it covers is
 * void, one it covers in part is void and replaced by an invoice for the rest. Without this, a
 * change of plan would credit the unused time of a period never paid for (upgrade, leave the
 * invoice unpaid, downgrade: credit for nothing). Returns the credit left and what was settled.
 */
async function settleUnpaid(
  tx: Executor,
  orgId: string,
  credit: number,
): Promise<{ credit: number; settled: IssuedInvoice[]; replacement: IssuedInvoice | null }> {
  const settled: IssuedInvoice[] = [];
  let replacement: IssuedInvoice | null = null;
  for (const unpaid of await lockUnpaidInvoices(tx, orgId)) {
    if (credit <= 0) break;
    await voidInvoice(tx, orgId, unpaid.id);
    settled.push({ id: unpaid.id, number: unpaid.number, total: unpaid.total });
    if (unpaid.total <= credit) {
      credit -= unpaid.total;
      continue;
    }
    replacement = await issueInvoice(tx, orgId, {
      reason: unpaid.reason,
      plan: unpaid.plan,
      cycle: unpaid.cycle,
      periodStart: unpaid.periodStart,
      periodEnd: unpaid.periodEnd,
      currency: unpaid.currency,
      lines: [
        {
          description: `Balance of ${formatInvoiceNumber(unpaid.number)} (void), unpaid`,
          quantity: 1,
          unitAmount: unpaid.total,
          amount: unpaid.total,
        },
        { description: 'Credit on account applied', quantity: 1, unitAmount: -credit, amount: -credit },
      ],
    });
    credit = 0;
  }
  return { credit, settled, replacement };
}

/**
 * Carries a quoted change out in the caller's transaction: the subscription row takes the new
 * cycle, period, seats and credit, and a positive amount due is invoiced (reason `plan_change`).
 * Credit left on account settles the org's unpaid invoices first (see settleUnpaid). The
 * organization's plan itself is the caller's to set (it owns that row and its cache).
 */
export async function applyQuote(
  tx: Executor,
  orgId: string,
  quote: PlanChangeQuote,
): Promise<{
  invoice: IssuedInvoice | null;
  creditBalance: number;
  settled: IssuedInvoice[];
  replacement: IssuedInvoice | null;
}> {
  const settlement =
    quote.creditBalance > 0
      ? await settleUnpaid(tx, orgId, quote.creditBalance)
      : { credit: quote.creditBalance, settled: [], replacement: null };
  await upsertSubscription(tx, orgId, {
    cycle: quote.to.cycle,
    periodStart: quote.period?.start ?? null,
    periodEnd: quote.period?.end ?? null,
    seats: Math.max(1, quote.seats),
    creditBalance: settlement.credit,
  });
  const done = {
    creditBalance: settlement.credit,
    settled: settlement.settled,
    replacement: settlement.replacement,
  };
  if (quote.amountDue <= 0) return { invoice: null, ...done };
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
  return { invoice, ...done };
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
