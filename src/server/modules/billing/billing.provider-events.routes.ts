import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Invocation } from '../../platform/command.ts';
import { NotFoundError } from '../../platform/errors/app-error.ts';
import { problemResponses } from '../../platform/http/schemas.ts';
import {
  applyPaymentFailed,
  applyPaymentSucceeded,
  claimProviderEvent,
  PROVIDER_EVENT_BODY_LIMIT,
  type ProviderEventOutcome,
  readPaymentData,
  readProviderEvent,
  SIGNATURE_HEADER,
  verifySignature,
} from './billing.provider-events.ts';

const Outcome = Type.Object({
  received: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'This event id was received before: nothing was applied again' }),
  applied: Type.Boolean({
    description: 'The event changed an invoice (false: a replay, an ignored type, nothing to change)',
  }),
  invoiceId: Type.Optional(Type.String()),
  status: Type.Optional(Type.String({ description: 'The invoice’s status now' })),
});

/**
 * POST /api/v1/billing/provider-events, in a context of its own: the signature is over the raw
 * bytes, so JSON is read here as a buffer (the app's JSON parser is left to every other route).
 */
export async function providerEventsRoutes(app: FastifyInstance): Promise<void> {
  const { commands, database, config } = app.gatehouse;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: PROVIDER_EVENT_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  app.post(
    '/api/v1/billing/provider-events',
    {
      bodyLimit: PROVIDER_EVENT_BODY_LIMIT,
      config: { public: true, command: [applyPaymentSucceeded, applyPaymentFailed] },
      schema: {
        tags: ['billing'],
        summary: 'Events from the payment provider (signed)',
        description:
          `Signed with BILLING_WEBHOOK_SECRET: header \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>\`, the hex ` +
          'being HMAC-SHA256 of `<t>.<raw body>`; more than one `v1` may be sent while a secret is replaced. ' +
          'A signature more than 5 minutes off is refused. Body: `{id, type, data: {orgId, invoiceId | invoiceNumber, amount?, currency?, reference?, reason?}}`; ' +
          'a `payment.succeeded` whose `amount` (minor units) or `currency` is not the invoice’s is refused (409) and not kept; ' +
          'types `payment.succeeded` and `payment.failed` are applied, any other is kept and ignored. ' +
          'An event id already received answers `duplicate: true` and applies nothing. 404 while no secret is set.',
        response: { 200: Outcome, ...problemResponses(400, 401, 404, 409, 413, 415) },
      },
    },
    async (request): Promise<ProviderEventOutcome> => {
      const secrets = config.billing.webhookSecrets;
      // Not configured: as if the endpoint were not there.
      if (secrets.length === 0) throw new NotFoundError('route');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers[SIGNATURE_HEADER];
      verifySignature(Array.isArray(header) ? header.join(',') : header, body, secrets);
      const event = readProviderEvent(body);
      const invocation: Invocation = { ...request.invocation(), actor: { type: 'system' } };
      switch (event.type) {
        case 'payment.succeeded':
          return commands.run(applyPaymentSucceeded, invocation, {
            event,
            data: readPaymentData(event.data),
          });
        case 'payment.failed':
          return commands.run(applyPaymentFailed, invocation, { event, data: readPaymentData(event.data) });
        default: {
          // Kept, so that a replay of it is a duplicate too; nothing else happens.
          const fresh = await database.db.transaction((tx) => claimProviderEvent(tx, event, null));
          return { received: true, duplicate: !fresh, applied: false };
        }
      }
    },
  );
}
