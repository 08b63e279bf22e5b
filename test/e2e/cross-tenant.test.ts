import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueInvoice } from '../../src/server/modules/billing/index.ts';
import type { RouteInventoryEntry } from '../../src/server/platform/http/route-policy.ts';
import { createTestApp, STRONG_PASSWORD, type TestApp, uniqueEmail } from '../support/app.ts';
import { seedFindings } from '../support/findings.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  orgState,
  type Person,
  type RequestSpec,
  requestToJoin,
  sendAs,
  TINY_PNG,
} from '../support/orgs.ts';
import { SAML_TEST_KEYS } from '../support/saml-idp.ts';

/**
 * Tenant isolation. Two organizations, A and B, each with an owner, an admin, a developer, a
 * custom role with a slug both share (`auditor`) and one only it has, a pending invitation, a
 * pending join request and a logo. The owner of A — who may do everything in A — uses B's ids:
 *
 * (a) every org route with B's orgId in the path: 404, as for an org that does not exist;
 * (b) every org route with A's orgId but B's member / invitation / role / join-request id: 404
 *     where the id is in the path or names the target (ownership transfer's `userId`), 400
 *     `validation_failed` "is not a role of this organization" where a role slug is in the body
 *     or query (invitations' and approvals' `role`, a member's new `role`, the members list's
 *     `?role=`, role deletion's `?reassignTo=`) — each answer identical to the one for an id that
 *     exists nowhere, so nothing about B leaks;
 * and neither B nor A changes (each org's state, read through its owner, compared before and after).
 *
 * Every route with `:orgId` in the live inventory must have an entry in ROUTES.
 */

interface Tenant {
  orgId: string;
  owner: Person;
  admin: Person;
  developer: Person;
  /** A custom role only this org has. */
  roleSlug: string;
  invitationId: string;
  joinRequestId: string;
  automationTokenId: string;
  personalTokenId: string;
  /** A policy, scoped to an application of this org (seeded as a row). */
  policyId: string;
  policyApplicationId: string;
  applicationId: string;
  scanId: string;
  findingId: string;
  remediationId: string;
}

/** The ids a request names. */
type Ids = Pick<
  Tenant,
  | 'orgId'
  | 'owner'
  | 'developer'
  | 'admin'
  | 'roleSlug'
  | 'invitationId'
  | 'joinRequestId'
  | 'automationTokenId'
  | 'personalTokenId'
  | 'policyId'
  | 'policyApplicationId'
  | 'applicationId'
  | 'scanId'
  | 'findingId'
  | 'remediationId'
>;

interface ForeignVariant {
  what: string;
  /** The request in A's org (`a`) naming the other org's (`b`) id. */
  request(a: Ids, b: Ids): RequestSpec;
  status: 404 | 400;
  /** For 400: the field the problem names. */
  field?: string;
  /** For 400: what it says of the field (default: not a role of this organization). */
  message?: string;
}

interface RouteCase {
  /** A valid request to the route in org `org` naming the objects of `ids`. */
  request(org: Ids, ids: Ids): RequestSpec;
  /** The ways the route can be handed a foreign id while addressing A. */
  foreign?: ForeignVariant[];
}

const SHARED_ROLE = 'auditor';

let t: TestApp;
let A: Tenant;
let B: Tenant;
/** Ids that exist nowhere: what a foreign id must be indistinguishable from. */
let NOWHERE: Ids;

const rand = () => randomBytes(4).toString('hex');
const at = (org: { orgId: string }, rest = '') => `/api/v1/orgs/${org.orgId}${rest}`;
const routeKey = (r: Pick<RouteInventoryEntry, 'method' | 'url'>) => `${r.method} ${r.url}`;
const withoutRequestId = ({ requestId: _, ...problem }: Record<string, unknown>) => problem;

/** Each org's department (budgets are Enterprise's: the tenants are moved to it for these). */
const DEPARTMENT = new Map<string, string>();
const departmentOf = (o: Ids) => DEPARTMENT.get(o.orgId) ?? randomUUID();

async function giveDepartment(x: Tenant): Promise<void> {
  await t.db.database.db.execute(sql`UPDATE organizations SET plan = 'enterprise' WHERE id = ${x.orgId}`);
  const res = await as(t.app, x.owner).post(at(x, '/departments'), { name: 'Team', monthlyBudget: 5 });
  DEPARTMENT.set(x.orgId, expectStatus(res, 201).json().id);
}

/** Each org's webhook (to loopback, nobody listening) and the attempt of its one test delivery. */
const WEBHOOK = new Map<string, { id: string; attemptId: string }>();
const webhookOf = (o: Ids) => WEBHOOK.get(o.orgId) ?? { id: randomUUID(), attemptId: randomUUID() };
const HOOK_URL = 'http://127.0.0.1:9/hook';

async function giveWebhook(x: Tenant): Promise<void> {
  const created = await as(t.app, x.owner).post(at(x, '/webhooks'), {
    url: HOOK_URL,
    events: ['scan.started'],
  });
  const id = expectStatus(created, 201).json().id;
  expectStatus(await as(t.app, x.owner).post(at(x, `/webhooks/${id}/test`)), 200);
  const log = expectStatus(await as(t.app, x.owner).get(at(x, `/webhooks/${id}/deliveries`)), 200).json();
  WEBHOOK.set(x.orgId, { id, attemptId: log.items[0].id });
}

/** Each org's data export (ready to download). */
const EXPORT = new Map<string, string>();
const exportOf = (o: Ids) => EXPORT.get(o.orgId) ?? randomUUID();

/** Each org's compliance report and executive summary (ready to download). */
const REPORT = new Map<string, { compliance: string; executive: string }>();
const reportOf = (o: Ids, kind: 'compliance' | 'executive') => REPORT.get(o.orgId)?.[kind] ?? randomUUID();
const reportPeriod = () => ({
  from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
  to: new Date().toISOString(),
});

async function giveReports(x: Tenant): Promise<void> {
  const owner = as(t.app, x.owner);
  const compliance = expectStatus(
    await owner.post(at(x, '/compliance-reports'), { framework: 'soc2', ...reportPeriod() }),
    202,
  ).json().id;
  const executive = expectStatus(await owner.post(at(x, '/reports/executive'), reportPeriod()), 202).json()
    .id;
  await t.drainOutbox({ kind: 'report.build' });
  REPORT.set(x.orgId, { compliance, executive });
}

async function giveExport(x: Tenant): Promise<void> {
  const id = expectStatus(await as(t.app, x.owner).post(at(x, '/exports')), 202).json().id;
  await t.drainOutbox({ kind: 'org.export' });
  EXPORT.set(x.orgId, id);
}

/** Each org's invoice (issued as a plan change would). */
const INVOICE = new Map<string, string>();
const invoiceOf = (o: Ids) => INVOICE.get(o.orgId) ?? randomUUID();

async function giveInvoice(x: Tenant): Promise<void> {
  const issued = await t.db.database.db.transaction((tx) =>
    issueInvoice(tx, x.orgId, {
      reason: 'plan_change',
      plan: 'pro',
      cycle: 'monthly',
      periodStart: new Date(),
      periodEnd: new Date(Date.now() + 30 * 86_400_000),
      currency: 'usd',
      lines: [{ description: 'Pro', quantity: 1, unitAmount: 2900, amount: 2900 }],
    }),
  );
  INVOICE.set(x.orgId, issued.id);
}

const webhookUrl = (o: Ids, ids: Ids, rest = '') => at(o, `/webhooks/${webhookOf(ids).id}${rest}`);
const foreignWebhook = (key: string): ForeignVariant[] => [
  { what: "B's webhook", request: (a, b) => ROUTES[key]!.request(a, b), status: 404 },
];

const WEBHOOK_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/webhooks': { request: (o) => ({ method: 'GET', url: at(o, '/webhooks') }) },
  'POST /api/v1/orgs/:orgId/webhooks': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/webhooks'),
      payload: { url: HOOK_URL, events: ['scan.started'] },
    }),
  },
  'GET /api/v1/orgs/:orgId/webhooks/:id': {
    request: (o, ids) => ({ method: 'GET', url: webhookUrl(o, ids) }),
    foreign: foreignWebhook('GET /api/v1/orgs/:orgId/webhooks/:id'),
  },
  'PATCH /api/v1/orgs/:orgId/webhooks/:id': {
    request: (o, ids) => ({ method: 'PATCH', url: webhookUrl(o, ids), payload: { enabled: false } }),
    foreign: foreignWebhook('PATCH /api/v1/orgs/:orgId/webhooks/:id'),
  },
  'DELETE /api/v1/orgs/:orgId/webhooks/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: webhookUrl(o, ids) }),
    foreign: foreignWebhook('DELETE /api/v1/orgs/:orgId/webhooks/:id'),
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/rotate-secret': {
    request: (o, ids) => ({ method: 'POST', url: webhookUrl(o, ids, '/rotate-secret') }),
    foreign: foreignWebhook('POST /api/v1/orgs/:orgId/webhooks/:id/rotate-secret'),
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/test': {
    request: (o, ids) => ({ method: 'POST', url: webhookUrl(o, ids, '/test') }),
    foreign: foreignWebhook('POST /api/v1/orgs/:orgId/webhooks/:id/test'),
  },
  'GET /api/v1/orgs/:orgId/webhooks/:id/deliveries': {
    request: (o, ids) => ({ method: 'GET', url: webhookUrl(o, ids, '/deliveries') }),
    foreign: foreignWebhook('GET /api/v1/orgs/:orgId/webhooks/:id/deliveries'),
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/deliveries/:deliveryId/redeliver': {
    request: (o, ids) => ({
      method: 'POST',
      url: webhookUrl(o, ids, `/deliveries/${webhookOf(ids).attemptId}/redeliver`),
    }),
    foreign: [
      {
        what: "B's webhook and delivery",
        request: (a, b) =>
          ROUTES['POST /api/v1/orgs/:orgId/webhooks/:id/deliveries/:deliveryId/redeliver']!.request(a, b),
        status: 404,
      },
      {
        what: "A's webhook, B's delivery",
        request: (a, b) => ({
          method: 'POST',
          url: webhookUrl(a, a, `/deliveries/${webhookOf(b).attemptId}/redeliver`),
        }),
        status: 404,
      },
    ],
  },
};

/** Each org's SSO group mapping. */
const GROUP_MAPPING = new Map<string, string>();
const groupMappingOf = (o: Ids) => GROUP_MAPPING.get(o.orgId) ?? randomUUID();

async function giveGroupMapping(x: Tenant): Promise<void> {
  const res = await as(t.app, x.owner).post(at(x, '/sso/group-mappings'), {
    idpGroup: 'engineering',
    role: 'developer',
  });
  GROUP_MAPPING.set(x.orgId, expectStatus(res, 201).json().id);
}

/** Each org's SCIM token id. */
const SCIM_TOKEN = new Map<string, string>();
const scimTokenOf = (o: Ids) => SCIM_TOKEN.get(o.orgId) ?? randomUUID();

async function giveScimToken(x: Tenant): Promise<void> {
  const res = await as(t.app, x.owner).post(at(x, '/scim-tokens'), { name: 'IdP' });
  SCIM_TOKEN.set(x.orgId, expectStatus(res, 201).json().id);
}

/**
 * SCIM tokens and the request log name only the org in the path, a token by id. (`/scim/v2`
 * itself names no org: the token says which; its tenancy is swept in modules/scim's tests.)
 */
const SCIM_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/scim-tokens': { request: (o) => ({ method: 'GET', url: at(o, '/scim-tokens') }) },
  'POST /api/v1/orgs/:orgId/scim-tokens': {
    request: (o) => ({ method: 'POST', url: at(o, '/scim-tokens'), payload: { name: `idp-${rand()}` } }),
  },
  'DELETE /api/v1/orgs/:orgId/scim-tokens/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/scim-tokens/${scimTokenOf(ids)}`) }),
    foreign: [
      {
        what: "B's SCIM token",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/scim-tokens/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/scim-log': { request: (o) => ({ method: 'GET', url: at(o, '/scim-log') }) },
};

/**
 * Single sign-on: the settings and connections name only the org in the path (a PUT is
 * refused before its IdP is fetched); a group mapping is named by id.
 */
const SSO_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/sso': { request: (o) => ({ method: 'GET', url: at(o, '/sso') }) },
  'PATCH /api/v1/orgs/:orgId/sso': {
    request: (o) => ({ method: 'PATCH', url: at(o, '/sso'), payload: { jitProvisioning: true } }),
    foreign: [
      {
        what: 'a default role only B has',
        request: (a, b) => ({ method: 'PATCH', url: at(a, '/sso'), payload: { defaultRole: b.roleSlug } }),
        status: 400,
        field: '/body/defaultRole',
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/sso/oidc': { request: (o) => ({ method: 'GET', url: at(o, '/sso/oidc') }) },
  'PUT /api/v1/orgs/:orgId/sso/oidc': {
    request: (o) => ({
      method: 'PUT',
      url: at(o, '/sso/oidc'),
      payload: { issuer: 'https://idp.example.test', clientId: 'gatehouse', clientSecret: 'secret-1234' },
    }),
  },
  'DELETE /api/v1/orgs/:orgId/sso/oidc': { request: (o) => ({ method: 'DELETE', url: at(o, '/sso/oidc') }) },
  'GET /api/v1/orgs/:orgId/sso/saml': { request: (o) => ({ method: 'GET', url: at(o, '/sso/saml') }) },
  'PUT /api/v1/orgs/:orgId/sso/saml': {
    request: (o) => ({
      method: 'PUT',
      url: at(o, '/sso/saml'),
      payload: {
        idpEntityId: 'https://idp.example.test',
        idpSsoUrl: 'https://idp.example.test/sso',
        idpCertificates: [SAML_TEST_KEYS.idp.certificate],
      },
    }),
  },
  'DELETE /api/v1/orgs/:orgId/sso/saml': { request: (o) => ({ method: 'DELETE', url: at(o, '/sso/saml') }) },
  'GET /api/v1/orgs/:orgId/sso/group-mappings': {
    request: (o) => ({ method: 'GET', url: at(o, '/sso/group-mappings') }),
  },
  'POST /api/v1/orgs/:orgId/sso/group-mappings': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/sso/group-mappings'),
      payload: { idpGroup: `group-${rand()}`, role: 'viewer' },
    }),
    foreign: [
      {
        what: 'an IdP group mapped to a role only B has',
        request: (a, b) => ({
          method: 'POST',
          url: at(a, '/sso/group-mappings'),
          payload: { idpGroup: 'contractors', role: b.roleSlug },
        }),
        status: 400,
        field: '/body/role',
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/sso/group-mappings/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/sso/group-mappings/${groupMappingOf(ids)}`) }),
    foreign: [
      {
        what: "B's group mapping",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/sso/group-mappings/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
};

const QUOTA_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/usage': { request: (o) => ({ method: 'GET', url: at(o, '/usage') }) },
  'GET /api/v1/orgs/:orgId/departments': { request: (o) => ({ method: 'GET', url: at(o, '/departments') }) },
  'POST /api/v1/orgs/:orgId/departments': {
    request: (o) => ({ method: 'POST', url: at(o, '/departments'), payload: { name: `Cross ${rand()}` } }),
  },
  'GET /api/v1/orgs/:orgId/departments/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/departments/${departmentOf(ids)}`) }),
    foreign: [
      {
        what: "B's department",
        request: (a, b) => QUOTA_ROUTES['GET /api/v1/orgs/:orgId/departments/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'PATCH /api/v1/orgs/:orgId/departments/:id': {
    request: (o, ids) => ({
      method: 'PATCH',
      url: at(o, `/departments/${departmentOf(ids)}`),
      payload: { monthlyBudget: 1 },
    }),
    foreign: [
      {
        what: "B's department",
        request: (a, b) => QUOTA_ROUTES['PATCH /api/v1/orgs/:orgId/departments/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/departments/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/departments/${departmentOf(ids)}`) }),
    foreign: [
      {
        what: "B's department",
        request: (a, b) => QUOTA_ROUTES['DELETE /api/v1/orgs/:orgId/departments/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/member-budgets': {
    request: (o) => ({ method: 'GET', url: at(o, '/member-budgets') }),
  },
  'PUT /api/v1/orgs/:orgId/members/:userId/budget': {
    request: (o, ids) => ({
      method: 'PUT',
      url: at(o, `/members/${ids.developer.userId}/budget`),
      payload: { monthlyTokens: 3 },
    }),
    foreign: [
      {
        what: "B's member",
        request: (a, b) => QUOTA_ROUTES['PUT /api/v1/orgs/:orgId/members/:userId/budget']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/quota-boosts': {
    request: (o) => ({ method: 'GET', url: at(o, '/quota-boosts') }),
  },
  'POST /api/v1/orgs/:orgId/quota-boosts': {
    request: (o) => ({ method: 'POST', url: at(o, '/quota-boosts'), payload: { tokens: 1 } }),
  },
  'GET /api/v1/orgs/:orgId/billing/subscription': {
    request: (o) => ({ method: 'GET', url: at(o, '/billing/subscription') }),
  },
  'PATCH /api/v1/orgs/:orgId/billing/subscription': {
    request: (o) => ({
      method: 'PATCH',
      url: at(o, '/billing/subscription'),
      payload: { plan: 'enterprise', cycle: 'annual', confirm: true },
    }),
  },
  'GET /api/v1/orgs/:orgId/billing/payment-method': {
    request: (o) => ({ method: 'GET', url: at(o, '/billing/payment-method') }),
  },
  'PUT /api/v1/orgs/:orgId/billing/payment-method': {
    request: (o) => ({
      method: 'PUT',
      url: at(o, '/billing/payment-method'),
      payload: { provider: 'invoice', reference: 'Stolen mandate', brand: 'SEPA', last4: '9999' },
    }),
  },
};

/** Slack and quota alerts: nothing in them names another object, only the org in the path. */
const NOTIFICATION_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/slack': { request: (o) => ({ method: 'GET', url: at(o, '/slack') }) },
  'PUT /api/v1/orgs/:orgId/slack': {
    request: (o) => ({
      method: 'PUT',
      url: at(o, '/slack'),
      payload: {
        webhookUrl: 'https://hooks.slack.example/services/T0/B0/x',
        events: [],
        minSeverity: 'high',
      },
    }),
  },
  'DELETE /api/v1/orgs/:orgId/slack': { request: (o) => ({ method: 'DELETE', url: at(o, '/slack') }) },
  'POST /api/v1/orgs/:orgId/slack/test': {
    request: (o) => ({ method: 'POST', url: at(o, '/slack/test'), payload: {} }),
  },
  'GET /api/v1/orgs/:orgId/quota-alerts': {
    request: (o) => ({ method: 'GET', url: at(o, '/quota-alerts') }),
  },
  'PATCH /api/v1/orgs/:orgId/quota-alerts': {
    request: (o) => ({ method: 'PATCH', url: at(o, '/quota-alerts'), payload: { thresholds: [50] } }),
  },
};

/** Each org's AI connection (remediator) and integration, to loopback (nobody listening). */
const INTEGRATION = new Map<string, string>();
const integrationOf = (o: Ids) => INTEGRATION.get(o.orgId) ?? randomUUID();
const AI_SETTINGS = { provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini' };

async function giveAiAndIntegration(x: Tenant): Promise<void> {
  const owner = as(t.app, x.owner);
  expectStatus(
    await owner.put(at(x, '/ai-connections/remediator'), { ...AI_SETTINGS, apiKey: `sk-${rand()}` }),
    200,
  );
  const created = await owner.post(at(x, '/integrations'), {
    kind: 'scm',
    provider: 'github',
    name: `GitHub ${rand()}`,
    config: { baseUrl: 'http://127.0.0.1:9' },
    secret: `ghp-${rand()}`,
  });
  INTEGRATION.set(x.orgId, expectStatus(created, 201).json().id);
}

const integrationUrl = (o: Ids, ids: Ids, rest = '') => at(o, `/integrations/${integrationOf(ids)}${rest}`);
const foreignIntegration = (key: string): ForeignVariant[] => [
  { what: "B's integration", request: (a, b) => ROUTES[key]!.request(a, b), status: 404 },
];

/** AI connections name nothing but the org and a purpose; integrations are named by id. */
const AI_INTEGRATION_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/ai-connections/:purpose': {
    request: (o) => ({ method: 'GET', url: at(o, '/ai-connections/remediator') }),
  },
  'PUT /api/v1/orgs/:orgId/ai-connections/:purpose': {
    request: (o) => ({
      method: 'PUT',
      url: at(o, '/ai-connections/remediator'),
      payload: { ...AI_SETTINGS, apiKey: 'sk-cross-tenant-key' },
    }),
  },
  'DELETE /api/v1/orgs/:orgId/ai-connections/:purpose': {
    request: (o) => ({ method: 'DELETE', url: at(o, '/ai-connections/remediator') }),
  },
  'POST /api/v1/orgs/:orgId/ai-connections/:purpose/test': {
    request: (o) => ({ method: 'POST', url: at(o, '/ai-connections/remediator/test'), payload: {} }),
  },
  'GET /api/v1/orgs/:orgId/integrations': {
    request: (o) => ({ method: 'GET', url: at(o, '/integrations') }),
  },
  'POST /api/v1/orgs/:orgId/integrations': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/integrations'),
      payload: { kind: 'chat', provider: 'slack', name: 'Cross', config: { baseUrl: 'http://127.0.0.1:9' } },
    }),
  },
  'GET /api/v1/orgs/:orgId/integrations/:id': {
    request: (o, ids) => ({ method: 'GET', url: integrationUrl(o, ids) }),
    foreign: foreignIntegration('GET /api/v1/orgs/:orgId/integrations/:id'),
  },
  'PATCH /api/v1/orgs/:orgId/integrations/:id': {
    request: (o, ids) => ({ method: 'PATCH', url: integrationUrl(o, ids), payload: { name: 'Taken over' } }),
    foreign: foreignIntegration('PATCH /api/v1/orgs/:orgId/integrations/:id'),
  },
  'DELETE /api/v1/orgs/:orgId/integrations/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: integrationUrl(o, ids) }),
    foreign: foreignIntegration('DELETE /api/v1/orgs/:orgId/integrations/:id'),
  },
  'POST /api/v1/orgs/:orgId/integrations/:id/test': {
    request: (o, ids) => ({ method: 'POST', url: integrationUrl(o, ids, '/test') }),
    foreign: foreignIntegration('POST /api/v1/orgs/:orgId/integrations/:id/test'),
  },
};

const ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId': { request: (o) => ({ method: 'GET', url: at(o) }) },
  'PATCH /api/v1/orgs/:orgId': {
    request: (o) => ({ method: 'PATCH', url: at(o), payload: { description: 'cross-tenant write' } }),
  },
  'GET /api/v1/orgs/:orgId/security': { request: (o) => ({ method: 'GET', url: at(o, '/security') }) },
  'PATCH /api/v1/orgs/:orgId/security': {
    request: (o) => ({ method: 'PATCH', url: at(o, '/security'), payload: { sessionIdleMinutes: 30 } }),
  },
  'GET /api/v1/orgs/:orgId/settings/platform': {
    request: (o) => ({ method: 'GET', url: at(o, '/settings/platform') }),
  },
  'PATCH /api/v1/orgs/:orgId/settings/platform': {
    request: (o) => ({
      method: 'PATCH',
      url: at(o, '/settings/platform'),
      payload: { autonomousScanning: true },
    }),
  },
  'GET /api/v1/orgs/:orgId/settings/localization': {
    request: (o) => ({ method: 'GET', url: at(o, '/settings/localization') }),
  },
  'PATCH /api/v1/orgs/:orgId/settings/localization': {
    request: (o) => ({ method: 'PATCH', url: at(o, '/settings/localization'), payload: { language: 'es' } }),
  },
  'GET /api/v1/orgs/:orgId/setup': { request: (o) => ({ method: 'GET', url: at(o, '/setup') }) },
  'PUT /api/v1/orgs/:orgId/setup': {
    request: (o) => ({ method: 'PUT', url: at(o, '/setup'), payload: { dismissed: true } }),
  },
  'GET /api/v1/orgs/:orgId/settings/data': {
    request: (o) => ({ method: 'GET', url: at(o, '/settings/data') }),
  },
  'PATCH /api/v1/orgs/:orgId/settings/data': {
    request: (o) => ({ method: 'PATCH', url: at(o, '/settings/data'), payload: { scanRetentionDays: 365 } }),
  },
  'POST /api/v1/orgs/:orgId/exports': { request: (o) => ({ method: 'POST', url: at(o, '/exports') }) },
  'GET /api/v1/orgs/:orgId/exports': { request: (o) => ({ method: 'GET', url: at(o, '/exports') }) },
  'GET /api/v1/orgs/:orgId/billing/invoices': {
    request: (o) => ({ method: 'GET', url: at(o, '/billing/invoices') }),
  },
  'GET /api/v1/orgs/:orgId/billing/invoices/:id/pdf': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/billing/invoices/${invoiceOf(ids)}/pdf`) }),
    foreign: [
      {
        what: "B's invoice",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/billing/invoices/:id/pdf']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/exports/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/exports/${exportOf(ids)}`) }),
    foreign: [
      {
        what: "B's export",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/exports/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/exports/:id/download': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/exports/${exportOf(ids)}/download`) }),
    foreign: [
      {
        what: "B's export",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/exports/:id/download']!.request(a, b),
        status: 404,
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/compliance-reports': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/compliance-reports'),
      payload: { framework: 'soc2', ...reportPeriod() },
    }),
  },
  'GET /api/v1/orgs/:orgId/compliance-reports': {
    request: (o) => ({ method: 'GET', url: at(o, '/compliance-reports') }),
  },
  'GET /api/v1/orgs/:orgId/compliance-reports/:id': {
    request: (o, ids) => ({
      method: 'GET',
      url: at(o, `/compliance-reports/${reportOf(ids, 'compliance')}`),
    }),
    foreign: [
      {
        what: "B's compliance report",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/compliance-reports/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/compliance-reports/:id/pdf': {
    request: (o, ids) => ({
      method: 'GET',
      url: at(o, `/compliance-reports/${reportOf(ids, 'compliance')}/pdf`),
    }),
    foreign: [
      {
        what: "B's compliance report",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/compliance-reports/:id/pdf']!.request(a, b),
        status: 404,
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/reports/executive': {
    request: (o) => ({ method: 'POST', url: at(o, '/reports/executive'), payload: reportPeriod() }),
  },
  'GET /api/v1/orgs/:orgId/reports/executive': {
    request: (o) => ({ method: 'GET', url: at(o, '/reports/executive') }),
  },
  'GET /api/v1/orgs/:orgId/reports/executive/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/reports/executive/${reportOf(ids, 'executive')}`) }),
    foreign: [
      {
        what: "B's executive summary",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/reports/executive/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/reports/executive/:id/pdf': {
    request: (o, ids) => ({
      method: 'GET',
      url: at(o, `/reports/executive/${reportOf(ids, 'executive')}/pdf`),
    }),
    foreign: [
      {
        what: "B's executive summary",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/reports/executive/:id/pdf']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId': {
    // A's owner's own password: right for the account, wrong org.
    request: (o) => ({ method: 'DELETE', url: at(o), payload: { password: STRONG_PASSWORD } }),
  },
  'PUT /api/v1/orgs/:orgId/logo': {
    request: (o) => ({ method: 'PUT', url: at(o, '/logo'), payload: TINY_PNG, contentType: 'image/png' }),
  },
  'GET /api/v1/orgs/:orgId/logo': { request: (o) => ({ method: 'GET', url: at(o, '/logo') }) },
  'DELETE /api/v1/orgs/:orgId/logo': { request: (o) => ({ method: 'DELETE', url: at(o, '/logo') }) },
  'POST /api/v1/orgs/:orgId/ownership-transfer': {
    request: (o, ids) => ({
      method: 'POST',
      url: at(o, '/ownership-transfer'),
      payload: { userId: ids.admin.userId },
    }),
    foreign: [
      {
        what: "B's admin as the new owner of A",
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/ownership-transfer']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/members': {
    request: (o) => ({ method: 'GET', url: at(o, '/members') }),
    foreign: [
      {
        what: '?role= naming a role only B has',
        request: (a, b) => ({ method: 'GET', url: at(a, `/members?role=${b.roleSlug}`) }),
        status: 400,
        field: '/querystring/role',
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/members/:userId': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/members/${ids.developer.userId}`) }),
    foreign: [
      {
        what: "B's developer",
        request: (a, b) => ({ method: 'GET', url: at(a, `/members/${b.developer.userId}`) }),
        status: 404,
      },
      {
        what: "B's owner",
        request: (a, b) => ({ method: 'GET', url: at(a, `/members/${b.owner.userId}`) }),
        status: 404,
      },
    ],
  },
  'PATCH /api/v1/orgs/:orgId/members/:userId': {
    request: (o, ids) => ({
      method: 'PATCH',
      url: at(o, `/members/${ids.developer.userId}`),
      payload: { role: ids.roleSlug },
    }),
    foreign: [
      {
        what: "B's developer, given a role of A",
        request: (a, b) => ({
          method: 'PATCH',
          url: at(a, `/members/${b.developer.userId}`),
          payload: { role: 'viewer' },
        }),
        status: 404,
      },
      {
        what: "A's developer, given a role only B has",
        request: (a, b) => ({
          method: 'PATCH',
          url: at(a, `/members/${a.developer.userId}`),
          payload: { role: b.roleSlug },
        }),
        status: 400,
        field: '/body/role',
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/members/:userId': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/members/${ids.developer.userId}`) }),
    foreign: [
      {
        what: "B's developer",
        request: (a, b) => ({ method: 'DELETE', url: at(a, `/members/${b.developer.userId}`) }),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/roles': { request: (o) => ({ method: 'GET', url: at(o, '/roles') }) },
  'GET /api/v1/orgs/:orgId/roles/:slug': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/roles/${ids.roleSlug}`) }),
    foreign: [
      {
        what: 'a role only B has',
        request: (a, b) => ({ method: 'GET', url: at(a, `/roles/${b.roleSlug}`) }),
        status: 404,
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/roles': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/roles'),
      payload: { slug: `x-${rand()}`, name: 'Cross', permissions: ['findings:read'] },
    }),
  },
  'PATCH /api/v1/orgs/:orgId/roles/:slug': {
    request: (o, ids) => ({
      method: 'PATCH',
      url: at(o, `/roles/${ids.roleSlug}`),
      payload: { permissions: ['findings:read', 'scans:read', 'members:read'] },
    }),
    foreign: [
      {
        what: 'a role only B has',
        request: (a, b) => ROUTES['PATCH /api/v1/orgs/:orgId/roles/:slug']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/roles/:slug': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/roles/${ids.roleSlug}`) }),
    foreign: [
      {
        what: 'a role only B has',
        request: (a, b) => ({ method: 'DELETE', url: at(a, `/roles/${b.roleSlug}`) }),
        status: 404,
      },
      {
        what: "A's role, its members moved to a role only B has",
        request: (a, b) => ({
          method: 'DELETE',
          url: at(a, `/roles/${SHARED_ROLE}?reassignTo=${b.roleSlug}`),
        }),
        status: 400,
        field: '/querystring/reassignTo',
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/invitations': {
    request: (o, ids) => ({
      method: 'POST',
      url: at(o, '/invitations'),
      payload: { emails: [uniqueEmail('cross')], role: ids.roleSlug },
    }),
    foreign: [
      {
        what: 'a role only B has',
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/invitations']!.request(a, b),
        status: 400,
        field: '/body/role',
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/invitations': { request: (o) => ({ method: 'GET', url: at(o, '/invitations') }) },
  'POST /api/v1/orgs/:orgId/invitations/:id/resend': {
    request: (o, ids) => ({ method: 'POST', url: at(o, `/invitations/${ids.invitationId}/resend`) }),
    foreign: [
      {
        what: "B's invitation",
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/invitations/:id/resend']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/invitations/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/invitations/${ids.invitationId}`) }),
    foreign: [
      {
        what: "B's invitation",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/invitations/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/join-link': { request: (o) => ({ method: 'GET', url: at(o, '/join-link') }) },
  'POST /api/v1/orgs/:orgId/join-link': { request: (o) => ({ method: 'POST', url: at(o, '/join-link') }) },
  'DELETE /api/v1/orgs/:orgId/join-link': {
    request: (o) => ({ method: 'DELETE', url: at(o, '/join-link') }),
  },
  'GET /api/v1/orgs/:orgId/join-requests': {
    request: (o) => ({ method: 'GET', url: at(o, '/join-requests') }),
  },
  'POST /api/v1/orgs/:orgId/join-requests/:id/approve': {
    request: (o, ids) => ({
      method: 'POST',
      url: at(o, `/join-requests/${ids.joinRequestId}/approve`),
      payload: { role: ids.roleSlug },
    }),
    foreign: [
      {
        what: "B's join request, approved with a role of A",
        request: (a, b) => ({
          method: 'POST',
          url: at(a, `/join-requests/${b.joinRequestId}/approve`),
          payload: { role: 'viewer' },
        }),
        status: 404,
      },
      {
        what: "A's join request, approved with a role only B has",
        request: (a, b) => ({
          method: 'POST',
          url: at(a, `/join-requests/${a.joinRequestId}/approve`),
          payload: { role: b.roleSlug },
        }),
        status: 400,
        field: '/body/role',
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/join-requests/:id/deny': {
    request: (o, ids) => ({ method: 'POST', url: at(o, `/join-requests/${ids.joinRequestId}/deny`) }),
    foreign: [
      {
        what: "B's join request",
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/join-requests/:id/deny']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/audit-events': {
    request: (o) => ({ method: 'GET', url: at(o, '/audit-events') }),
  },
  'GET /api/v1/orgs/:orgId/audit-events/export': {
    request: (o) => ({ method: 'GET', url: at(o, '/audit-events/export?format=jsonl') }),
  },
  'GET /api/v1/orgs/:orgId/audit-events/verify': {
    request: (o) => ({ method: 'GET', url: at(o, '/audit-events/verify') }),
  },
  'GET /api/v1/orgs/:orgId/audit-checkpoints': {
    request: (o) => ({ method: 'GET', url: at(o, '/audit-checkpoints') }),
  },
  'POST /api/v1/orgs/:orgId/audit-checkpoints': {
    request: (o) => ({ method: 'POST', url: at(o, '/audit-checkpoints') }),
  },
  'GET /api/v1/orgs/:orgId/applications': {
    request: (o) => ({ method: 'GET', url: at(o, '/applications') }),
  },
  'POST /api/v1/orgs/:orgId/applications': {
    request: (o) => ({ method: 'POST', url: at(o, '/applications'), payload: { name: `cross ${rand()}` } }),
  },
  'GET /api/v1/orgs/:orgId/applications/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/applications/${ids.applicationId}`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/applications/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'PATCH /api/v1/orgs/:orgId/applications/:id': {
    request: (o, ids) => ({
      method: 'PATCH',
      url: at(o, `/applications/${ids.applicationId}`),
      payload: { description: 'cross-tenant' },
    }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['PATCH /api/v1/orgs/:orgId/applications/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/applications/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/applications/${ids.applicationId}`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/applications/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/scans/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/scans/${ids.scanId}`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/scans/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/scans/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/scans/${ids.scanId}`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/scans/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/scans/:id/findings': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/scans/${ids.scanId}/findings`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/scans/:id/findings']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/scans/:id/export': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/scans/${ids.scanId}/export?format=json`) }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/scans/:id/export']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/scans': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/scans?applicationId=${ids.applicationId}`) }),
  },
  'POST /api/v1/orgs/:orgId/scans': {
    request: (o, ids) => ({
      method: 'POST',
      url: at(o, '/scans'),
      payload: { applicationId: ids.applicationId, modules: ['secrets'] },
    }),
    foreign: [
      {
        what: "B's object",
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/scans']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/automation-tokens': {
    request: (o) => ({ method: 'GET', url: at(o, '/automation-tokens') }),
  },
  'POST /api/v1/orgs/:orgId/automation-tokens': {
    request: (o) => ({
      method: 'POST',
      url: at(o, '/automation-tokens'),
      payload: { name: 'cross-tenant bot', role: 'viewer' },
    }),
  },
  'DELETE /api/v1/orgs/:orgId/automation-tokens/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/automation-tokens/${ids.automationTokenId}`) }),
    foreign: [
      {
        what: "B's automation token",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/automation-tokens/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/automation-tokens/:id/usage': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/automation-tokens/${ids.automationTokenId}/usage`) }),
    foreign: [
      {
        what: "B's automation token",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/automation-tokens/:id/usage']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/personal-tokens': {
    request: (o) => ({ method: 'GET', url: at(o, '/personal-tokens') }),
  },
  'DELETE /api/v1/orgs/:orgId/personal-tokens/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/personal-tokens/${ids.personalTokenId}`) }),
    foreign: [
      {
        what: "B's member's personal token",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/personal-tokens/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'GET /api/v1/orgs/:orgId/policies': { request: (o) => ({ method: 'GET', url: at(o, '/policies') }) },
  'GET /api/v1/orgs/:orgId/policies/:id': {
    request: (o, ids) => ({ method: 'GET', url: at(o, `/policies/${ids.policyId}`) }),
    foreign: [
      {
        what: "B's policy",
        request: (a, b) => ROUTES['GET /api/v1/orgs/:orgId/policies/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  'POST /api/v1/orgs/:orgId/policies': {
    request: (o, ids) => ({
      method: 'POST',
      url: at(o, '/policies'),
      payload: { name: `Cross ${rand()}`, failOn: 'high', applicationIds: [ids.policyApplicationId] },
    }),
    foreign: [
      {
        what: "a policy scoped to B's application",
        request: (a, b) => ROUTES['POST /api/v1/orgs/:orgId/policies']!.request(a, b),
        status: 400,
        field: '/body/applicationIds/0',
        message: 'is not an application of this organization',
      },
    ],
  },
  'PATCH /api/v1/orgs/:orgId/policies/:id': {
    request: (o, ids) => ({
      method: 'PATCH',
      url: at(o, `/policies/${ids.policyId}`),
      payload: { failOn: 'low' },
    }),
    foreign: [
      {
        what: "B's policy",
        request: (a, b) => ROUTES['PATCH /api/v1/orgs/:orgId/policies/:id']!.request(a, b),
        status: 404,
      },
      {
        what: "A's policy scoped to B's application",
        request: (a, b) => ({
          method: 'PATCH',
          url: at(a, `/policies/${a.policyId}`),
          payload: { applicationIds: [b.policyApplicationId] },
        }),
        status: 400,
        field: '/body/applicationIds/0',
        message: 'is not an application of this organization',
      },
    ],
  },
  'DELETE /api/v1/orgs/:orgId/policies/:id': {
    request: (o, ids) => ({ method: 'DELETE', url: at(o, `/policies/${ids.policyId}`) }),
    foreign: [
      {
        what: "B's policy",
        request: (a, b) => ROUTES['DELETE /api/v1/orgs/:orgId/policies/:id']!.request(a, b),
        status: 404,
      },
    ],
  },
  // Findings: the org's own, named by id.
  'GET /api/v1/orgs/:orgId/findings': { request: (o) => ({ method: 'GET', url: at(o, '/findings') }) },
  ...findingRoutes(),
  // Account-level, but org-scoped: leaving an org one does not belong to.
  'DELETE /api/v1/me/memberships/:orgId': {
    request: (o) => ({ method: 'DELETE', url: `/api/v1/me/memberships/${o.orgId}` }),
  },
  ...QUOTA_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...WEBHOOK_ROUTES,
  ...SSO_ROUTES,
  ...SCIM_ROUTES,
  ...AI_INTEGRATION_ROUTES,
};

/** The routes that name a finding or a remediation: B's, asked for in A, are not found. */
function findingRoutes(): Record<string, RouteCase> {
  const cases: Array<[string, (o: Ids, ids: Ids) => RequestSpec]> = [
    [
      'GET /api/v1/orgs/:orgId/findings/:id',
      (o, ids) => ({ method: 'GET', url: at(o, `/findings/${ids.findingId}`) }),
    ],
    [
      'PATCH /api/v1/orgs/:orgId/findings/:id',
      (o, ids) => ({
        method: 'PATCH',
        url: at(o, `/findings/${ids.findingId}`),
        payload: { status: 'triaged' },
      }),
    ],
    [
      'GET /api/v1/orgs/:orgId/findings/:id/comments',
      (o, ids) => ({ method: 'GET', url: at(o, `/findings/${ids.findingId}/comments`) }),
    ],
    [
      'POST /api/v1/orgs/:orgId/findings/:id/comments',
      (o, ids) => ({
        method: 'POST',
        url: at(o, `/findings/${ids.findingId}/comments`),
        payload: { body: 'x' },
      }),
    ],
    [
      'GET /api/v1/orgs/:orgId/findings/:id/remediations',
      (o, ids) => ({ method: 'GET', url: at(o, `/findings/${ids.findingId}/remediations`) }),
    ],
    [
      'POST /api/v1/orgs/:orgId/findings/:id/remediations',
      (o, ids) => ({
        method: 'POST',
        url: at(o, `/findings/${ids.findingId}/remediations`),
        payload: { summary: 'x' },
      }),
    ],
    [
      'POST /api/v1/orgs/:orgId/remediations/:id/approve',
      (o, ids) => ({ method: 'POST', url: at(o, `/remediations/${ids.remediationId}/approve`) }),
    ],
  ];
  return Object.fromEntries(
    cases.map(([key, request]) => [
      key,
      {
        request,
        foreign: [{ what: "B's id", request: (a: Ids, b: Ids) => request(a, b), status: 404 as const }],
      },
    ]),
  );
}

async function tenant(name: string): Promise<Tenant> {
  const org = await createOrg(t.app, { plan: 'pro', name });
  const owner = as(t.app, org.owner);
  const admin = await addMember(t.app, org, 'admin', { name: `${name} admin` }, t.mail);
  const developer = await addMember(t.app, org, 'developer', { name: `${name} developer` }, t.mail);
  const roleSlug = `only-${name.toLowerCase()}-${rand()}`;
  for (const slug of [SHARED_ROLE, roleSlug]) {
    expectStatus(
      await owner.post(at(org, '/roles'), {
        slug,
        name: slug,
        permissions: ['findings:read', 'members:read'],
      }),
      201,
    );
  }
  const invited = expectStatus(
    await owner.post(at(org, '/invitations'), { emails: [uniqueEmail('pending')], role: roleSlug }),
    201,
  );
  const { id: joinRequestId } = await requestToJoin(t.app, org);
  expectStatus(
    await sendAs(t.app, org.owner, {
      method: 'PUT',
      url: at(org, '/logo'),
      payload: TINY_PNG,
      contentType: 'image/png',
    }),
    204,
  );
  expectStatus(await owner.patch(at(org), { description: `${name} profile` }), 200);
  const automation = expectStatus(
    await owner.post(at(org, '/automation-tokens'), { name: `${name} bot`, role: 'viewer' }),
    201,
  );
  const personal = await createPersonalToken(t.app, developer, org.orgId, ['read']);
  const application = expectStatus(await owner.post(at(org, '/applications'), { name: `${name} app` }), 201);
  const policy = expectStatus(
    await owner.post(at(org, '/policies'), {
      name: `${name} gate`,
      failOn: 'high',
      applicationIds: [application.json().id],
    }),
    201,
  );
  const scan = expectStatus(
    await owner.post(at(org, '/scans'), { applicationId: application.json().id, modules: ['secrets'] }),
    201,
  );
  const [findingId] = await seedFindings(t.app, org.orgId, application.json().id, [
    { title: `${name} finding` },
  ]);
  const remediation = expectStatus(
    await owner.post(at(org, `/findings/${findingId}/remediations`), { summary: `${name} fix` }),
    201,
  );
  return {
    orgId: org.orgId,
    owner: org.owner,
    admin,
    developer,
    roleSlug,
    invitationId: invited.json().items[0].id,
    joinRequestId,
    automationTokenId: automation.json().id,
    personalTokenId: personal.id,
    policyId: policy.json().id,
    policyApplicationId: application.json().id,
    applicationId: application.json().id,
    scanId: scan.json().id,
    findingId: findingId!,
    remediationId: remediation.json().id,
  };
}

/** What the owner reads of the org, and its audit log's newest entry: a refused request records nothing. */
async function state(x: Tenant) {
  const log = expectStatus(await as(t.app, x.owner).get(at(x, '/audit-events?limit=1')), 200).json();
  const [newest] = log.items;
  const tokens = async (kind: string) =>
    expectStatus(await as(t.app, x.owner).get(at(x, `/${kind}-tokens`)), 200)
      .json()
      .items.map((i: { id: string; name: string; role: string }) => [i.id, i.name, i.role]);
  const hook = WEBHOOK.get(x.orgId);
  return {
    ...(await orgState(t.app, x.owner, x.orgId)),
    webhooks: expectStatus(await as(t.app, x.owner).get(at(x, '/webhooks?limit=200')), 200).json().items,
    webhookLog: hook
      ? expectStatus(await as(t.app, x.owner).get(at(x, `/webhooks/${hook.id}/deliveries`)), 200).json().items
      : [],
    automationTokens: await tokens('automation'),
    personalTokens: await tokens('personal'),
    auditHead: { seq: newest.seq, action: newest.action, hash: newest.hash },
  };
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
  expect(res.headers['content-type'], what).toContain('application/problem+json');
  expect(res.json(), what).toMatchObject({ status, code });
}

beforeAll(async () => {
  // Webhooks point at loopback: allowed here, as an operator allows an on-premises receiver.
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  A = await tenant('Alpha');
  B = await tenant('Bravo');
  for (const x of [A, B]) {
    await giveDepartment(x);
    await giveWebhook(x);
    await giveGroupMapping(x);
    await giveScimToken(x);
    await giveAiAndIntegration(x);
    await giveExport(x);
    await giveInvoice(x);
    await giveReports(x);
  }
  const ghost = { userId: randomUUID(), email: 'nobody@example.test', password: '', cookie: '' };
  NOWHERE = {
    orgId: randomUUID(),
    owner: ghost,
    admin: ghost,
    developer: ghost,
    roleSlug: `nowhere-${rand()}`,
    invitationId: randomUUID(),
    joinRequestId: randomUUID(),
    automationTokenId: randomUUID(),
    personalTokenId: randomUUID(),
    policyId: randomUUID(),
    policyApplicationId: randomUUID(),
    applicationId: randomUUID(),
    scanId: randomUUID(),
    findingId: randomUUID(),
    remediationId: randomUUID(),
  };
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('tenant isolation', () => {
  it('every org route of the inventory has an entry, and every entry is a live route', () => {
    const live = t.app.gatehouse.routes.filter((r) => r.url.includes(':orgId')).map(routeKey);
    expect(
      live.filter((k) => !(k in ROUTES)),
      'org routes with no entry in ROUTES: add one',
    ).toEqual([]);
    expect(Object.keys(ROUTES).filter((k) => !live.includes(k))).toEqual([]);
    // Every permission route is among them.
    for (const r of t.app.gatehouse.routes) {
      if (r.access !== 'public' && r.access !== 'authenticated') expect(live).toContain(routeKey(r));
    }
  });

  it("the fixtures are real: each request, aimed at B by B's owner, names objects that exist in B", async () => {
    // Read-only probes: B's ids are valid in B, so a 404 for A's owner is about tenancy alone.
    const owner = as(t.app, B.owner);
    expectStatus(await owner.get(at(B, `/members/${B.developer.userId}`)), 200);
    expect(expectStatus(await owner.get(at(B, `/members/${B.admin.userId}`)), 200).json().role).toBe('admin');
    expectStatus(await owner.get(at(B, `/roles/${B.roleSlug}`)), 200);
    expectProblem(await owner.get(at(A, `/roles/${B.roleSlug}`)), 404, 'not_found', "B's role is not A's");
    const s = await state(B);
    expect(s.invitations.pending).toEqual([expect.objectContaining({ id: B.invitationId })]);
    expect(s.joinRequests.pending).toEqual([expect.objectContaining({ id: B.joinRequestId })]);
    expect(s.logo).not.toBe(404);
    expect(s.sso.groupMappings).toEqual([expect.objectContaining({ id: GROUP_MAPPING.get(B.orgId) })]);
  });

  describe("(a) A's owner, B's orgId in the path: 404 on every route, B and A unchanged", () => {
    let beforeA: Awaited<ReturnType<typeof state>>;
    beforeAll(async () => {
      beforeA = await state(A);
    });

    it.each(Object.keys(ROUTES))('%s', async (key) => {
      const c = ROUTES[key]!;
      const beforeB = await state(B);
      const res = await sendAs(t.app, A.owner, c.request(B, B));
      expectProblem(res, 404, 'not_found', key);
      const nowhere = await sendAs(t.app, A.owner, c.request(NOWHERE, NOWHERE));
      expect(withoutRequestId(res.json()), 'the same answer as for an org that does not exist').toEqual(
        withoutRequestId(nowhere.json()),
      );
      expect(await state(B), 'B unchanged').toEqual(beforeB);
    });

    it('A is unchanged too', async () => {
      expect(await state(A)).toEqual(beforeA);
    });
  });

  describe("(b) A's owner, A's orgId, B's member / invitation / role / join-request ids", () => {
    const variants = Object.entries(ROUTES).flatMap(([key, c]) =>
      (c.foreign ?? []).map((v) => [`${key} — ${v.what} → ${v.status}`, v] as const),
    );

    it('covers every route that names an object besides the org', () => {
      const named = Object.keys(ROUTES).filter((k) => /:(userId|id|slug)\b/.test(k));
      for (const key of named) expect(ROUTES[key]!.foreign?.length, key).toBeGreaterThan(0);
    });

    it.each(variants)('%s', async (_name, v) => {
      const [beforeA, beforeB] = [await state(A), await state(B)];
      const req = v.request(A, B);
      const res = await sendAs(t.app, A.owner, req);
      const nowhere = await sendAs(t.app, A.owner, v.request(A, NOWHERE));
      if (v.status === 404) {
        expectProblem(res, 404, 'not_found', v.what);
      } else {
        expectProblem(res, 400, 'validation_failed', v.what);
        expect(res.json().errors).toEqual([
          { field: v.field, message: v.message ?? 'is not a role of this organization' },
        ]);
      }
      expect(withoutRequestId(res.json()), 'the same answer as for an id that exists nowhere').toEqual(
        withoutRequestId(nowhere.json()),
      );
      expect(await state(B), 'B unchanged').toEqual(beforeB);
      expect(await state(A), 'A unchanged').toEqual(beforeA);
    });

    it("A's lists show none of B's members, invitations, join requests or roles", async () => {
      const a = await state(A);
      const text = JSON.stringify(a);
      for (const id of [
        B.owner.userId,
        B.admin.userId,
        B.developer.userId,
        B.invitationId,
        B.joinRequestId,
      ]) {
        expect(text).not.toContain(id);
      }
      expect(a.roles.map((r: { slug: string }) => r.slug)).not.toContain(B.roleSlug);
      expect(JSON.stringify(await state(B))).not.toContain(A.orgId);
    });
  });

  it("A's audit log, searched by B's ids or exported, holds nothing of B", async () => {
    const owner = as(t.app, A.owner);
    for (const query of [
      `actorId=${B.owner.userId}`,
      `actorId=${B.admin.userId}`,
      `actorId=${B.developer.userId}`,
      `targetId=${B.developer.userId}`,
      `targetId=${B.invitationId}`,
      `targetId=${B.joinRequestId}`,
      `targetId=${B.orgId}`,
      `targetId=${B.automationTokenId}`,
      `targetId=${B.personalTokenId}`,
      `targetId=${B.policyId}`,
    ]) {
      const found = expectStatus(await owner.get(at(A, `/audit-events?${query}`)), 200).json();
      expect(found.items, query).toEqual([]);
    }
    const exported = expectStatus(await owner.get(at(A, '/audit-events/export?format=jsonl')), 200).body;
    for (const id of [
      B.orgId,
      B.owner.userId,
      B.admin.userId,
      B.developer.userId,
      B.invitationId,
      B.automationTokenId,
      B.personalTokenId,
      B.policyId,
    ]) {
      expect(exported).not.toContain(id);
    }
    // B's own log, searched the same way, has them: the filters did not simply match nothing.
    const own = expectStatus(
      await as(t.app, B.owner).get(at(B, `/audit-events?actorId=${B.developer.userId}`)),
      200,
    ).json();
    expect(own.items.map((e: { action: string }) => e.action)).toEqual(['token.created', 'invite.accepted']);
  });

  it("a slug both orgs have: A's owner edits A's role, B's stays as it was", async () => {
    const beforeB = await state(B);
    const res = await as(t.app, A.owner).patch(at(A, `/roles/${SHARED_ROLE}`), {
      permissions: ['findings:read', 'scans:read'],
    });
    expect(expectStatus(res, 200).json().permissions).toEqual(['findings:read', 'scans:read']);
    expect(await state(B)).toEqual(beforeB);
    const bRole = expectStatus(await as(t.app, B.owner).get(at(B, `/roles/${SHARED_ROLE}`)), 200).json();
    expect(bRole.permissions).toEqual(['findings:read', 'members:read']);
  });

  it("B's own owner can still do what A's owner could not (the ids were valid all along)", async () => {
    // One write per kind of object, as B's owner, so the 404s above were about tenancy only.
    const owner = as(t.app, B.owner);
    expectStatus(await owner.post(at(B, `/invitations/${B.invitationId}/resend`)), 200);
    expectStatus(await owner.patch(at(B, `/members/${B.developer.userId}`), { role: B.roleSlug }), 200);
    expectStatus(
      await owner.post(at(B, `/join-requests/${B.joinRequestId}/approve`), { role: 'viewer' }),
      200,
    );
    expectStatus(await owner.patch(at(B, `/roles/${B.roleSlug}`), { permissions: ['findings:read'] }), 200);
    expectStatus(await owner.delete(at(B, `/sso/group-mappings/${GROUP_MAPPING.get(B.orgId)}`)), 204);
  });
});
