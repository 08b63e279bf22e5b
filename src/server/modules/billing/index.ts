import type { FastifyInstance } from 'fastify';
import { registerInvoices } from './billing.invoices.ts';
import { billingRoutes } from './billing.routes.ts';

export { issueInvoice } from './billing.invoices.repository.ts';
export { SIGNATURE_HEADER, signatureHeader } from './billing.provider-events.ts';
export { renewDueSubscriptions } from './billing.renewal.ts';
export { PlanSelectionError, startSubscription } from './billing.subscription.apply.ts';
export { findPlanBlockers, type PlanBlocker } from './billing.subscription.blockers.ts';
export { carryOutPlanChange, preparePlanChange } from './billing.subscription.commands.ts';
export { hasPaymentMethod } from './billing.subscription.repository.ts';

/**
 * Billing: the subscription (plan, cycle, changes and their invoices), the payment method, the
 * renewals that invoice each period, invoices and the payment provider's events.
 */
export async function billingModule(app: FastifyInstance): Promise<void> {
  billingRoutes(app);
  await registerInvoices(app);
}
