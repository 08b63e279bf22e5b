import type { FastifyInstance } from 'fastify';
import { registerInvoices } from './billing.invoices.ts';

export { issueInvoice } from './billing.invoices.repository.ts';
export { SIGNATURE_HEADER, signatureHeader } from './billing.provider-events.ts';
export { renewDueSubscriptions } from './billing.renewal.ts';

/** Billing: subscriptions, invoices and the payment provider's events. */
export async function billingModule(app: FastifyInstance): Promise<void> {
  await registerInvoices(app);
}
