import type { FastifyInstance } from 'fastify';
import { billingRoutes } from './billing.routes.ts';

export { PlanSelectionError, startSubscription } from './billing.subscription.apply.ts';
export { findPlanBlockers, type PlanBlocker } from './billing.subscription.blockers.ts';
export { carryOutPlanChange, preparePlanChange } from './billing.subscription.commands.ts';
export { hasPaymentMethod } from './billing.subscription.repository.ts';

/** Billing: the subscription (plan, cycle, changes and their invoices) and the payment method. */
export async function billingModule(app: FastifyInstance): Promise<void> {
  billingRoutes(app);
}
