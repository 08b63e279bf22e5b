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

/**
 * A quota boost granted during a paid period is billed on the next cycle's invoice, per started
 * 1,000 tokens it added (a boost of 2,500 tokens is billed as 3).
 */
export const BOOST_PRICE_PER_1000_TOKENS = 500;

/** What a boost of `tokens` tokens costs (minor units). */
export function boostPrice(tokens: number): number {
  return Math.ceil(Math.max(0, tokens) / 1000) * BOOST_PRICE_PER_1000_TOKENS;
}

export const INVOICE_STATUSES = ['open', 'paid', 'failed', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export const INVOICE_REASONS = ['cycle', 'plan_change'] as const;
export type InvoiceReason = (typeof INVOICE_REASONS)[number];

/** An invoice number as printed and searched for: `INV-000042`. */
export function formatInvoiceNumber(n: number): string {
  return `INV-${String(n).padStart(6, '0')}`;
}

/**
 * The number a search text names, in any common spelling (`42`, `000042`, `INV-000042`,
 * `inv 42`, `#42`), or undefined when it names none.
 */
export function parseInvoiceNumber(text: string): number | undefined {
  const match = /^\s*(?:inv(?:oice)?[\s#-]*|#)?0*([0-9]{1,15})\s*$/i.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** An amount in minor units written as money: `$1,234.50`, `-$12.00`. */
export function formatMoney(amount: number, currency: string, locale = 'en-US'): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(
    amount / 100,
  );
}

/** An invoice as GET …/billing/invoices lists it. */
export interface InvoiceView {
  id: string;
  number: number;
  /** `INV-000042` */
  displayNumber: string;
  reason: InvoiceReason;
  plan: string;
  cycle: BillingCycle;
  periodStart: string;
  periodEnd: string;
  currency: string;
  subtotal: number;
  total: number;
  lines: InvoiceLine[];
  status: InvoiceStatus;
  issuedAt: string;
  dueAt: string;
  paidAt: string | null;
  pdfUrl: string;
}
