import type { FastifyInstance } from 'fastify';
import { invoiceEmailHandler } from './billing.invoices.mail.ts';
import type { Seller } from './billing.invoices.pdf.ts';
import { Invoice, invoicesRoutes } from './billing.invoices.routes.ts';
import { providerEventsRoutes } from './billing.provider-events.routes.ts';
import { startRenewalJob } from './billing.renewal.ts';

/**
 * Invoices and payments: the list and PDFs, the invoice emails, the renewal job that issues the
 * cycle invoices, and the payment provider's signed events. Called by the billing plugin.
 */
export async function registerInvoices(app: FastifyInstance): Promise<void> {
  const { config, outbox, mailer } = app.gatehouse;
  const seller: Seller = { lines: config.billing.sellerLines, bankDetails: config.billing.bankDetails };
  app.addSchema(Invoice);
  invoicesRoutes(app, seller);
  await app.register(providerEventsRoutes);
  outbox.register(invoiceEmailHandler(mailer, seller, config.publicUrl));
  startRenewalJob(app);
}
