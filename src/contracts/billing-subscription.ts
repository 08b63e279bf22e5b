import type { BillingCycle, InvoiceLine } from './billing.ts';
import type { Plan } from './plans.ts';

/** GET …/billing/subscription. Amounts in minor units of `currency`; times RFC 3339. */
export interface SubscriptionView {
  plan: Plan;
  cycle: BillingCycle;
  nextBillingDate: string | null;
  seats: number;
  amount: number;
  currency: string;
  annualSavings: number;
  status: 'active' | 'past_due';
  periodStart: string | null;
  periodEnd: string | null;
  creditBalance: number;
  paymentMethod: PaymentMethodView | null;
  /** `operator`: only the installation's operator changes the plan (the cycle stays the org's). */
  planSelection: 'open' | 'operator';
}

export interface PaymentMethodView {
  provider: string;
  reference: string;
  brand: string;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

/** PATCH …/billing/subscription: a preview (`confirmed: false`) or the change made. */
export interface PlanChangeView {
  confirmed: boolean;
  changed: boolean;
  from: { plan: Plan; cycle: BillingCycle };
  to: { plan: Plan; cycle: BillingCycle };
  seats: number;
  lines: InvoiceLine[];
  net: number;
  creditApplied: number;
  amountDue: number;
  creditBalance: number;
  recurringAmount: number;
  currency: string;
  effectiveDate: string;
  nextBillingDate: string | null;
  invoice: { id: string; number: number; total: number } | null;
}

/** What a 409 `plan_limit` on a plan change lists in `params.blockers`. */
export interface PlanBlockerView {
  kind: 'members' | 'custom_roles' | 'scim_tokens' | 'ip_allowlist' | 'session_timeout' | 'budgets';
  count: number;
  limit?: number;
  detail: string;
}
