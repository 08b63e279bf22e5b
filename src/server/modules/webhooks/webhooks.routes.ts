import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { EVENT_TYPES } from '../../../contracts/events.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { DateTime, Nullable, OrgParams, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { enqueue } from '../../platform/outbox/index.ts';
import {
  createWebhook,
  editWebhook,
  removeWebhook,
  rotateWebhookSecret,
  WEBHOOKS_PER_ORG,
} from './webhooks.commands.ts';
import { queueRedelivery, sendTestPing } from './webhooks.delivery.ts';
import {
  type AttemptRow,
  findAttempt,
  findWebhook,
  listAttempts,
  listWebhooks,
  lockDelivery,
  type WebhookRow,
} from './webhooks.repository.ts';

const Events = Type.Array(Type.Union(EVENT_TYPES.map((e) => Type.Literal(e))), {
  minItems: 1,
  maxItems: EVENT_TYPES.length * 2,
  description:
    'Event types the webhook receives, from the catalog (scan.started, scan.completed, finding.created, …)',
});
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'Where deliveries are POSTed: https, on the public internet (http and private addresses only when the operator allows them with OUTBOUND_ALLOWLIST)',
});
const Description = Nullable(Type.String({ maxLength: 500 }));

export const Webhook = Type.Object(
  {
    id: Uuid,
    url: Type.String(),
    description: Nullable(Type.String()),
    events: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    disabledReason: Nullable(
      Type.String({
        description:
          'Why Gatehouse turned it off: `gone` (it answered 410) or `failing` (5 days of failures)',
      }),
    ),
    disabledAt: Nullable(DateTime),
    failingSince: Nullable(DateTime),
    previousSecretExpiresAt: Nullable(
      Type.Unsafe<Date | string>({
        type: 'string',
        format: 'date-time',
        description: 'Until when the secret before the last rotation still signs beside the current one',
      }),
    ),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Webhook' },
);

export const WebhookDelivery = Type.Object(
  {
    id: Uuid,
    eventId: Type.String({ description: 'The event’s id: `webhook-id` on every attempt' }),
    type: Type.String(),
    attempt: Type.Integer(),
    state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    responseStatus: Nullable(Type.Integer()),
    responseBody: Nullable(Type.String({ description: 'The first KiB of the answer' })),
    durationMs: Nullable(Type.Integer()),
    error: Nullable(Type.String()),
    at: DateTime,
    nextAttemptAt: Nullable(DateTime),
  },
  { $id: 'WebhookDelivery' },
);

const WebhookParams = Type.Object({ orgId: Uuid, id: Uuid });
const DeliveryParams = Type.Object({ orgId: Uuid, id: Uuid, deliveryId: Uuid });

/** What the API shows of a webhook: never a secret, sealed or not. */
const present = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events,
  enabled: w.enabled,
  disabledReason: w.disabledReason,
  disabledAt: w.disabledAt,
  failingSince: w.failingSince,
  previousSecretExpiresAt:
    w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now()
      ? w.previousSecretExpiresAt
      : null,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

const presentAttempt = (a: AttemptRow) => ({
  id: a.id,
  eventId: a.eventId,
  type: a.type,
  attempt: a.attempt,
  state: a.state as 'pending' | 'delivered' | 'failed',
  responseStatus: a.responseStatus,
  responseBody: a.responseBody,
  durationMs: a.durationMs,
  error: a.error,
  at: a.at,
  nextAttemptAt: a.nextAttemptAt,
});

/** Catalog order, once each. */
const canonicalEvents = (events: readonly string[]) => EVENT_TYPES.filter((e) => events.includes(e));

export function webhooksRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;
  const base = '/api/v1/orgs/:orgId/webhooks';

  r.get(
    base,
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        tags: ['webhooks'],
        summary: "The organization's webhooks, newest first",
        params: OrgParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('Webhook')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listWebhooks(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(rows, limit, present);
    },
  );

  r.post(
    base,
    {
      config: { command: createWebhook },
      schema: {
        tags: ['webhooks'],
        summary: 'Create a webhook',
        description: `Answers the signing secret (\`whsec_…\`) once: it is never shown again (rotate it to get a new one). The URL is checked by the outbound guard (400 \`url_not_allowed\`). An organization may have ${WEBHOOKS_PER_ORG} webhooks (409 \`webhook_limit\`).`,
        params: OrgParams,
        body: Type.Object(
          {
            url: Url,
            events: Events,
            description: Type.Optional(Description),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Intersect([Type.Ref('Webhook'), Type.Object({ secret: Type.String() })]),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const checked = await app.gatehouse.outbound.check(request.body.url.trim(), { field: '/body/url' });
      const created = await commands.run(createWebhook, request.invocation(), {
        url: checked.href,
        events: canonicalEvents(request.body.events),
        description: request.body.description?.trim() || null,
        enabled: request.body.enabled ?? true,
      });
      return reply.status(201).send({ ...present(created), secret: created.secret });
    },
  );

  r.get(
    `${base}/:id`,
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'One webhook',
        params: WebhookParams,
        response: { 200: Type.Ref('Webhook'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const webhook = await findWebhook(database.db, requestOrgId(request), request.params.id);
      assertFound(webhook, 'webhook');
      return present(webhook);
    },
  );

  r.patch(
    `${base}/:id`,
    {
      config: { command: editWebhook },
      schema: {
        tags: ['webhooks'],
        summary: 'Change a webhook',
        description:
          'Turning a webhook back on (`enabled: true`) clears why it was turned off; events that happened while it was off are not sent.',
        params: WebhookParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            description: Type.Optional(Description),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Webhook'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { url, events, description, enabled } = request.body;
      const checked =
        url !== undefined
          ? await app.gatehouse.outbound.check(url.trim(), { field: '/body/url' })
          : undefined;
      return present(
        await commands.run(editWebhook, request.invocation(), {
          id: request.params.id,
          ...(checked ? { url: checked.href } : {}),
          ...(events !== undefined ? { events: canonicalEvents(events) } : {}),
          ...(description !== undefined ? { description: description?.trim() || null } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
        }),
      );
    },
  );

  r.delete(
    `${base}/:id`,
    {
      config: { command: removeWebhook },
      schema: {
        tags: ['webhooks'],
        summary: 'Delete a webhook (and its delivery log)',
        params: WebhookParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeWebhook, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.post(
    `${base}/:id/rotate-secret`,
    {
      config: { command: rotateWebhookSecret },
      schema: {
        tags: ['webhooks'],
        summary: 'Rotate the signing secret',
        description:
          'Answers the new secret once. For 24 hours the previous one signs too: `webhook-signature` and `X-Gatehouse-Signature` carry both signatures, space-separated.',
        params: WebhookParams,
        response: {
          200: Type.Object({ secret: Type.String(), previousSecretExpiresAt: DateTime }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => commands.run(rotateWebhookSecret, request.invocation(), { id: request.params.id }),
  );

  r.post(
    `${base}/:id/test`,
    {
      // Writes only the delivery log (not an audited change).
      config: { permission: 'webhooks:manage', command: [] },
      schema: {
        tags: ['webhooks'],
        summary: 'Send a test delivery now',
        description:
          'POSTs a signed `webhook.test` event to the URL (whether the webhook is on or off) and answers what the receiver said: `delivered` for a 2xx, its status and the first KiB of its body. The attempt is logged with the deliveries.',
        params: WebhookParams,
        response: {
          200: Type.Object({
            delivered: Type.Boolean(),
            status: Nullable(Type.Integer()),
            body: Nullable(Type.String()),
            durationMs: Type.Integer(),
            error: Type.Optional(Type.String()),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const result = await sendTestPing(app.gatehouse, requestOrgId(request), request.params.id);
      assertFound(result, 'webhook');
      return {
        delivered: result.delivered,
        status: result.status,
        body: result.body,
        durationMs: result.durationMs,
        ...(result.error ? { error: result.error } : {}),
      };
    },
  );

  r.get(
    `${base}/:id/deliveries`,
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        tags: ['webhooks'],
        summary: "The webhook's delivery log, newest first: one item per attempt",
        params: WebhookParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            eventId: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'One event’s attempts' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('WebhookDelivery')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const webhook = await findWebhook(database.db, orgId, request.params.id);
      assertFound(webhook, 'webhook');
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listAttempts(database.db, orgId, webhook.id, {
        limit: limit + 1,
        ...(after ? { after } : {}),
        ...(request.query.eventId ? { eventId: request.query.eventId } : {}),
      });
      return toPage(rows, limit, presentAttempt);
    },
  );

  r.post(
    `${base}/:id/deliveries/:deliveryId/redeliver`,
    {
      // Queues an attempt in the delivery log and the outbox (not an audited change).
      config: { permission: 'webhooks:manage', command: [] },
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivery again',
        description:
          'Queues a new attempt of the same event (same `webhook-id` and body, signed anew), whatever became of the earlier ones. Answers the queued attempt.',
        params: DeliveryParams,
        response: { 202: Type.Ref('WebhookDelivery'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const orgId = requestOrgId(request);
      const { id: webhookId, deliveryId } = request.params;
      const attemptId = await database.db.transaction(async (tx) => {
        const attempt = await findAttempt(tx, orgId, webhookId, deliveryId);
        assertFound(attempt, 'delivery');
        const delivery = await lockDelivery(tx, orgId, attempt.deliveryId);
        assertFound(delivery, 'delivery');
        return queueRedelivery(tx, orgId, delivery, (job) => enqueue(tx, job));
      });
      app.gatehouse.outbox.wake();
      const queued = await findAttempt(database.db, orgId, webhookId, attemptId);
      assertFound(queued, 'delivery');
      return reply.status(202).send(presentAttempt(queued));
    },
  );
}
