import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { BILLING_CYCLES, type BillingCycle } from '../../../contracts/billing.ts';
import { PLANS, type Plan } from '../../../contracts/plans.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  problemResponses,
  SingleLine,
} from '../../platform/http/schemas.ts';
import { sumUnpaidInvoices } from './billing.invoices.repository.ts';
import {
  PAYMENT_PROVIDERS,
  type PaymentProvider,
  presentPaymentMethod,
  refuseCardData,
  updatePaymentMethod,
} from './billing.payment-method.commands.ts';
import { changeSubscription, preparePlanChange } from './billing.subscription.commands.ts';
import type { PlanChangeQuote } from './billing.subscription.pricing.ts';
import { readSubscription } from './billing.subscription.queries.ts';
import { findSubscription } from './billing.subscription.repository.ts';

const Money = Type.Integer({ description: 'Minor units of `currency` (cents)' });
const PlanName = Type.Unsafe<Plan>({ type: 'string', enum: [...PLANS] });
const Cycle = Type.Unsafe<BillingCycle>({ type: 'string', enum: [...BILLING_CYCLES] });

const PaymentMethod = Type.Object({
  provider: Type.String(),
  reference: Type.String(),
  brand: Type.String(),
  last4: Nullable(Type.String()),
  expMonth: Nullable(Type.Integer()),
  expYear: Nullable(Type.Integer()),
});

const Subscription = Type.Object({
  plan: PlanName,
  cycle: Cycle,
  nextBillingDate: Nullable(DateTime),
  seats: Type.Integer({ description: 'Active members now' }),
  amount: Type.Integer({ description: 'What the next renewal costs for the seats now' }),
  currency: Type.String(),
  annualSavings: Type.Integer({
    description: 'What the annual cycle saves in a year over twelve monthly ones',
  }),
  status: Type.Unsafe<'active' | 'past_due'>({ type: 'string', enum: ['active', 'past_due'] }),
  periodStart: Nullable(DateTime),
  periodEnd: Nullable(DateTime),
  creditBalance: Money,
  // Only to who holds billing:manage (as GET …/billing/payment-method); null to a reader.
  paymentMethod: Nullable(PaymentMethod),
  planSelection: Type.Unsafe<'open' | 'operator'>({ type: 'string', enum: ['open', 'operator'] }),
});

const Line = Type.Object({
  description: Type.String(),
  quantity: Type.Integer(),
  unitAmount: Money,
  amount: Money,
});

const Quote = Type.Object({
  confirmed: Type.Boolean({ description: 'false: a preview, nothing changed' }),
  changed: Type.Boolean({ description: 'false: the plan and cycle asked for are those in force' }),
  from: Type.Object({ plan: PlanName, cycle: Cycle }),
  to: Type.Object({ plan: PlanName, cycle: Cycle }),
  seats: Type.Integer(),
  lines: Type.Array(Line, {
    description: 'Credits (negative) and charges for the rest of the period, to the day',
  }),
  net: Money,
  creditApplied: Money,
  amountDue: Type.Integer({ description: 'Charged today; an invoice is issued when positive' }),
  creditBalance: Type.Integer({ description: 'Credit carried on account after the change' }),
  recurringAmount: Money,
  currency: Type.String(),
  effectiveDate: DateTime,
  nextBillingDate: Nullable(DateTime),
  invoice: Nullable(Type.Object({ id: Type.String(), number: Type.Integer(), total: Money })),
});

function presentQuote(
  quote: PlanChangeQuote,
  extra: {
    confirmed: boolean;
    changed: boolean;
    invoice: { id: string; number: number; total: number } | null;
  },
) {
  return {
    ...extra,
    from: quote.from,
    to: quote.to,
    seats: quote.seats,
    lines: quote.lines,
    net: quote.net,
    creditApplied: quote.creditApplied,
    amountDue: quote.amountDue,
    creditBalance: quote.creditBalance,
    recurringAmount: quote.recurringAmount,
    currency: 'usd',
    effectiveDate: quote.effectiveDate.toISOString(),
    nextBillingDate: quote.nextBillingDate?.toISOString() ?? null,
  };
}

export function billingRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config } = app.gatehouse;
  const db = database.db;
  const planSelection = config.billing.planSelection;

  r.get(
    '/api/v1/orgs/:orgId/billing/subscription',
    {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: "The organization's plan, cycle, seats, next billing date and what it will cost",
        params: OrgParams,
        response: { 200: Subscription, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      readSubscription(
        db,
        requestOrgId(request),
        request.access!.plan,
        planSelection,
        request.access!.permissions.has('billing:manage'),
      ),
  );

  r.patch(
    '/api/v1/orgs/:orgId/billing/subscription',
    {
      config: { command: changeSubscription },
      schema: {
        tags: ['billing'],
        summary: 'Preview a change of plan or cycle, or make it with `confirm: true`',
        description:
          'Without `confirm`, a preview: nothing changes. The unused days of the period under way are credited and the new plan charged for them, to the day; a change of cycle (or from free) starts a new period today. A positive amount due is invoiced at once; a negative one is kept as credit. 409 `plan_limit` lists in `params.blockers` what the org must change first; 403 `plan_selection_operator` when only the operator sets plans.',
        params: OrgParams,
        body: Body({ plan: PlanName, cycle: Cycle, confirm: Type.Optional(Type.Boolean()) }),
        response: { 200: Quote, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { plan, cycle, confirm } = request.body;
      if (!confirm) {
        const prepared = await preparePlanChange(
          db,
          orgId,
          request.access!.plan,
          { plan, cycle },
          { planSelection },
        );
        // As the change will leave it: credit on account pays unpaid invoices first.
        const quote = prepared.quote;
        const creditBalance =
          prepared.changed && quote.creditBalance > 0
            ? Math.max(0, quote.creditBalance - (await sumUnpaidInvoices(db, orgId)))
            : quote.creditBalance;
        return presentQuote(
          { ...quote, creditBalance },
          { confirmed: false, changed: prepared.changed, invoice: null },
        );
      }
      const done = await commands.run(changeSubscription, request.invocation(), {
        plan,
        cycle,
        planSelection,
      });
      return presentQuote(done.quote, { confirmed: true, changed: done.changed, invoice: done.invoice });
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/billing/payment-method',
    {
      config: { permission: 'billing:manage' },
      schema: {
        tags: ['billing'],
        summary: "The organization's payment method: the provider's reference, brand and last four only",
        params: OrgParams,
        response: {
          200: Type.Object({ paymentMethod: Nullable(PaymentMethod) }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => ({
      paymentMethod: presentPaymentMethod(await findSubscription(db, requestOrgId(request))),
    }),
  );

  r.put(
    '/api/v1/orgs/:orgId/billing/payment-method',
    {
      config: { command: updatePaymentMethod },
      // Card data is refused by name before the schema (which would only call it an unknown field).
      preValidation: async (request) => refuseCardData(request.body),
      schema: {
        tags: ['billing'],
        summary: 'Set the payment method: a provider reference (bank transfer by default), never card data',
        description:
          'Provider `invoice`: paid by bank transfer against each invoice; `reference` is the mandate or account label, `last4` the account’s last four digits. Any field holding 12–19 digits in a row, or named like a card’s security code or number, is refused (400, `reason: card_data`) and nothing is saved.',
        params: OrgParams,
        body: Body({
          provider: Type.Unsafe<PaymentProvider>({ type: 'string', enum: [...PAYMENT_PROVIDERS] }),
          reference: SingleLine(100),
          brand: SingleLine(40),
          last4: Type.Optional(Nullable(Type.String({ pattern: '^[0-9]{4}$' }))),
          expMonth: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 12 }))),
          expYear: Type.Optional(Nullable(Type.Integer({ minimum: 2000, maximum: 2200 }))),
        }),
        response: {
          200: Type.Object({ paymentMethod: PaymentMethod }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { reference, brand, ...rest } = request.body;
      const paymentMethod = await commands.run(updatePaymentMethod, request.invocation(), {
        ...rest,
        reference: reference.trim(),
        brand: brand.trim(),
      });
      return { paymentMethod };
    },
  );
}
