import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { SETUP_STEPS, type SetupChecklist, type SetupStep } from '../../../contracts/settings.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import type { Executor } from '../../platform/db/client.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { OrgParams, problemResponses } from '../../platform/http/schemas.ts';
import { orgHasLiveToken } from '../api-tokens/index.ts';
import { hasPaymentMethod } from '../billing/index.ts';
import { countIntegrations } from '../integrations/index.ts';
import { countSeats } from '../members/index.ts';
import { findQuotaAlerts, findSlackConfig } from '../notifications/index.ts';
import { findSetupFacts, setSetupDismissed } from '../organizations/index.ts';
import { countWebhooks } from '../webhooks/index.ts';

const Checklist = Type.Object({
  dismissed: Type.Boolean({ description: 'An admin hid the checklist' }),
  steps: Type.Array(
    Type.Object({
      key: Type.Unsafe<SetupStep>({ type: 'string', enum: [...SETUP_STEPS] }),
      done: Type.Boolean(),
    }),
  ),
});

/**
 * The setup checklist of a new organization, each step read from what exists (nothing is ticked
 * by hand): a logo, a description, a second member or a pending invitation, a live API token, a
 * place events go (an integration, Slack or a webhook), and the org's notification settings
 * (quota alerts) saved, and a payment method on file (Settings → Billing: the plan is chosen there
 * too, but a paid plan alone does not say how it will be paid, so the method is what ticks it).
 */
export async function readChecklist(db: Executor, orgId: string): Promise<SetupChecklist | undefined> {
  const [facts, seats, token, integrations, slack, webhooks, alerts, payment] = await Promise.all([
    findSetupFacts(db, orgId),
    countSeats(db, orgId),
    orgHasLiveToken(db, orgId),
    countIntegrations(db, orgId),
    findSlackConfig(db, orgId),
    countWebhooks(db, orgId),
    findQuotaAlerts(db, orgId),
    hasPaymentMethod(db, orgId),
  ]);
  if (!facts) return undefined;
  const done: Record<SetupStep, boolean> = {
    logo: facts.hasLogo,
    description: facts.hasDescription,
    members: seats > 1,
    api_token: token,
    integration: integrations > 0 || slack !== undefined || webhooks > 0,
    notifications: alerts !== undefined,
    billing: payment,
  };
  return { dismissed: facts.dismissed, steps: SETUP_STEPS.map((key) => ({ key, done: done[key] })) };
}

export function setupRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/setup',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['settings'],
        summary: "The setup checklist on the organization's home page, each step ticked by what exists",
        params: OrgParams,
        response: { 200: Checklist, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const checklist = await readChecklist(database.db, requestOrgId(request));
      assertFound(checklist, 'organization');
      return checklist;
    },
  );

  r.put(
    '/api/v1/orgs/:orgId/setup',
    {
      config: { command: setSetupDismissed },
      schema: {
        tags: ['settings'],
        summary: 'Hide the setup checklist for every member, or show it again',
        params: OrgParams,
        body: Type.Object({ dismissed: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Checklist, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await commands.run(setSetupDismissed, request.invocation(), { dismissed: request.body.dismissed });
      const checklist = await readChecklist(database.db, requestOrgId(request));
      assertFound(checklist, 'organization');
      return checklist;
    },
  );
}
