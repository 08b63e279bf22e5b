import type { FastifyInstance } from 'fastify';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import { previousSecretContext, secretContext } from './webhooks.commands.ts';
import { deliveryHandler } from './webhooks.delivery.ts';
import { AuditStream, webhookSubscriber } from './webhooks.dispatch.ts';
import { Webhook, WebhookDelivery, webhooksRoutes } from './webhooks.routes.ts';

export { DELIVER_JOB } from './webhooks.delivery.ts';
export { countWebhooks } from './webhooks.repository.ts';
export { signatureHeaders } from './webhooks.signing.ts';

// `gatehouse secrets rotate` re-seals both; the contexts are built from the row's id as below.
registerSealedColumn({
  table: 'webhooks',
  idColumn: 'id',
  orgColumn: 'org_id',
  sealedColumn: 'secret',
  context: (row) => secretContext(String(row.id)),
});
registerSealedColumn({
  table: 'webhooks',
  idColumn: 'id',
  orgColumn: 'org_id',
  sealedColumn: 'previous_secret',
  context: (row) => previousSecretContext(String(row.id)),
});

/**
 * Outgoing webhooks: each org's endpoints (CRUD, secret rotation, test, delivery log and
 * redelivery), the delivery of every catalog event to them through the outbox and the outbound
 * guard, and the streaming of the audit log to those that take `audit.entry`.
 */
export async function webhooksModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Webhook);
  app.addSchema(WebhookDelivery);
  webhooksRoutes(app);
  const { config, database, outbound, secrets, commands, outbox, metrics } = app.gatehouse;
  outbox.register(
    deliveryHandler({
      database,
      outbound,
      secrets,
      commands,
      retrySchedule: config.webhooks.retrySchedule,
      onOutcome: (outcome) => metrics.webhookDelivery(outcome),
    }),
  );
  outbox.subscribe('webhooks', webhookSubscriber);
  const stream = new AuditStream({ database, outbox }, config.webhooks.auditStreamIntervalMs, {
    error: (obj, msg) => app.log.error(obj, msg),
  });
  // It feeds the outbox: it runs where the outbox's worker does (OUTBOX_WORKER).
  if (config.outbox.worker) app.addHook('onReady', async () => stream.start());
  app.addHook('preClose', async () => stream.stop());
}
