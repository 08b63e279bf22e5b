import type { Plan } from './plans.ts';

/**
 * Prices of the default plan catalog, shared by the server (previews, invoices) and the console.
 * Amounts are integers in the currency's minor unit (cents). A plan without a price (Free) is
 * never invoiced. An annual cycle charges `ANNUAL_MONTHS_CHARGED` months for twelve.
 */
export const BILLING_CYCLES = ['monthly', 'annual'] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];

export const BILLING_CURRENCY = 'usd';

/** Price per seat per month, minor units; null: free, never invoiced. */
export const PLAN_PRICES: Record<Plan, { seatMonthly: number } | null> = {
  free: null,
  pro: { seatMonthly: 2900 },
  enterprise: { seatMonthly: 7900 },
};

/** An annual cycle is billed as this many months (two months free). */
export const ANNUAL_MONTHS_CHARGED = 10;

export function isBillingCycle(value: unknown): value is BillingCycle {
  return typeof value === 'string' && (BILLING_CYCLES as readonly string[]).includes(value);
}

/** What one seat costs for one whole cycle of `plan` (0 for a free plan). */
export function seatPrice(plan: Plan, cycle: BillingCycle): number {
  const price = PLAN_PRICES[plan];
  if (!price) return 0;
  return cycle === 'annual' ? price.seatMonthly * ANNUAL_MONTHS_CHARGED : price.seatMonthly;
}

/** What `seats` seats save in a year on the annual cycle rather than twelve monthly ones. */
export function annualSavings(plan: Plan, seats: number): number {
  const price = PLAN_PRICES[plan];
  if (!price) return 0;
  return price.seatMonthly * (12 - ANNUAL_MONTHS_CHARGED) * seats;
}

/** One line of an invoice (or of a plan change's preview). */
export interface InvoiceLine {
  description: string;
  quantity: number;
  /** Minor units per unit; may be negative for a credit. */
  unitAmount: number;
  amount: number;
}
