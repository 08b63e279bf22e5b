import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { FINDING_SEVERITIES } from '../../../contracts/findings.ts';
import { QUOTA_CHANNELS, QUOTA_THRESHOLDS, SLACK_EVENTS } from '../../../contracts/notifications.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { describeActor } from '../../platform/actor.ts';
import { NotFoundError } from '../../platform/errors/app-error.ts';
import { DateTime, Nullable, OrgParams, problemResponses } from '../../platform/http/schemas.ts';
import { removeSlack, saveSlack, updateQuotaAlerts } from './notifications.commands.ts';
import { readQuotaAlerts, readSlack } from './notifications.queries.ts';
import { findSlackConfig } from './notifications.repository.ts';
import { postToSlack, slackMessage, slackSealContext } from './notifications.slack.ts';

const SlackEvents = Type.Array(Type.Union(SLACK_EVENTS.map((e) => Type.Literal(e))), {
  maxItems: SLACK_EVENTS.length * 2,
  description: 'Events posted to the channel (quota alerts are chosen under quota-alerts)',
});
const Severity = Type.Union(
  FINDING_SEVERITIES.map((s) => Type.Literal(s)),
  { description: 'Finding events below this severity are not posted' },
);
const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "The channel's incoming webhook URL (write-only: never returned)",
});

export const SlackConfigSchema = Type.Object(
  {
    configured: Type.Boolean(),
    webhookUrlSet: Type.Boolean(),
    webhookHost: Nullable(Type.String()),
    events: Type.Array(Type.String()),
    minSeverity: Type.String(),
    updatedAt: Nullable(DateTime),
  },
  { $id: 'SlackConfig' },
);

const QuotaAlerts = Type.Object(
  {
    thresholds: Type.Array(Type.Integer()),
    channels: Type.Array(Type.String()),
  },
  { $id: 'QuotaAlerts' },
);

export { QuotaAlerts as QuotaAlertsSchema };

export function notificationsOrgRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, secrets } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/slack',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        tags: ['notifications'],
        summary: "The organization's Slack channel: events, minimum severity, where it posts",
        params: OrgParams,
        response: { 200: Type.Ref('SlackConfig'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => readSlack(database.db, requestOrgId(request)),
  );

  r.put(
    '/api/v1/orgs/:orgId/slack',
    {
      config: { command: saveSlack },
      schema: {
        tags: ['notifications'],
        summary: 'Connect Slack, or change what is posted',
        description:
          'The URL is checked by the outbound guard (400 `url_not_allowed`), sealed at rest and never returned. Leave it out to keep the stored one.',
        params: OrgParams,
        body: Type.Object(
          {
            webhookUrl: Type.Optional(WebhookUrl),
            events: SlackEvents,
            minSeverity: Severity,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('SlackConfig'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { webhookUrl, events, minSeverity } = request.body;
      let webhook: { sealed: string; host: string } | undefined;
      if (webhookUrl !== undefined) {
        const url = await app.gatehouse.outbound.check(webhookUrl.trim(), { field: '/body/webhookUrl' });
        webhook = { sealed: secrets.seal(url.toString(), slackSealContext(orgId)), host: url.host };
      }
      await commands.run(saveSlack, request.invocation(), {
        ...(webhook ? { webhook } : {}),
        events,
        minSeverity,
      });
      return readSlack(database.db, orgId);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/slack',
    {
      config: { command: removeSlack },
      schema: {
        tags: ['notifications'],
        summary: 'Disconnect Slack',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeSlack, request.invocation(), undefined);
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/slack/test',
    {
      // Sends a message and stores nothing.
      config: { permission: 'integrations:manage', command: [] },
      schema: {
        tags: ['notifications'],
        summary: 'Post a test message to the Slack channel and answer what Slack said',
        description:
          'Posts to the stored URL, or to `webhookUrl` when given (to try one before saving it). A message Slack did not accept is `delivered: false` with its status and body.',
        params: OrgParams,
        body: Type.Object({ webhookUrl: Type.Optional(WebhookUrl) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            delivered: Type.Boolean(),
            status: Nullable(Type.Integer()),
            body: Type.String(),
            durationMs: Type.Integer(),
            error: Type.Optional(Type.String()),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const given = request.body.webhookUrl;
      let url: string;
      if (given !== undefined) {
        url = (await app.gatehouse.outbound.check(given.trim(), { field: '/body/webhookUrl' })).toString();
      } else {
        const config = await findSlackConfig(database.db, orgId);
        if (!config) throw new NotFoundError('Slack connection');
        url = secrets.open(config.webhookUrl, slackSealContext(orgId));
      }
      const orgName = request.access?.orgName ?? '';
      const result = await postToSlack(
        app.gatehouse.outbound,
        url,
        slackMessage(`Test message from Gatehouse for ${orgName}`, [
          `Sent by ${describeActor(request.actor)}. Notifications for this organization will be posted here.`,
        ]),
      );
      return {
        delivered: result.delivered,
        status: result.status,
        body: result.body,
        durationMs: Math.round(result.durationMs),
        ...(result.error ? { error: result.error } : {}),
      };
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/quota-alerts',
    {
      config: { permission: 'quota:manage' },
      schema: {
        tags: ['notifications'],
        summary: 'At which quota thresholds the organization is alerted, and how',
        params: OrgParams,
        response: { 200: Type.Ref('QuotaAlerts'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => readQuotaAlerts(database.db, requestOrgId(request)),
  );

  r.patch(
    '/api/v1/orgs/:orgId/quota-alerts',
    {
      config: { command: updateQuotaAlerts },
      schema: {
        tags: ['notifications'],
        summary: 'Choose the quota thresholds and alert channels',
        description:
          'Each chosen threshold alerts once per month through each chosen channel: email and in-app to the members who may manage quota, Slack to the connected channel.',
        params: OrgParams,
        body: Type.Object(
          {
            thresholds: Type.Optional(
              Type.Array(Type.Union(QUOTA_THRESHOLDS.map((t) => Type.Literal(t))), { maxItems: 8 }),
            ),
            channels: Type.Optional(
              Type.Array(Type.Union(QUOTA_CHANNELS.map((c) => Type.Literal(c))), { maxItems: 6 }),
            ),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('QuotaAlerts'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => commands.run(updateQuotaAlerts, request.invocation(), request.body),
  );
}
