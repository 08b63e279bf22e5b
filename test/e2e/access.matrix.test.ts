import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueInvoice } from '../../src/server/modules/billing/index.ts';
import type { RouteInventoryEntry } from '../../src/server/platform/http/route-policy.ts';
import { createTestApp, STRONG_PASSWORD, signUp, type TestApp, uniqueEmail } from '../support/app.ts';
import { onPostgres, queryRows } from '../support/database.ts';
import { seedApplication, seedFindings } from '../support/findings.ts';
import { type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import { unscopedStatements } from '../support/org-scoped-statements.ts';
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
  withToken,
} from '../support/orgs.ts';
import { SAML_TEST_KEYS } from '../support/saml-idp.ts';
import { captureStatements } from '../support/statement-capture.ts';

/**
 * The permission matrix, route by route. Every route of the live inventory
 * (`app.gatehouse.routes`) that declares a permission has an entry in ROUTES below saying how to
 * make a valid request to it. For each: a member whose custom role holds every catalog permission
 * except the route's gets 403 `permission_denied` and nothing changes; the same member, moved to a
 * role holding every permission, gets a 2xx and the change is there. (The roles hold almost
 * everything because nobody may act on members or grant roles beyond what they hold.)
 *
 * The catalog and the built-in role table are the product's, written out again here as the oracle.
 */

const CATALOG = [
  'findings:read',
  'findings:update',
  'findings:mark_false_positive',
  'remediations:create',
  'remediations:approve',
  'scans:read',
  'scans:create',
  'scans:delete',
  'scans:export',
  'scanners:configure',
  'applications:read',
  'applications:manage',
  'applications:delete',
  'policies:read',
  'policies:manage',
  'integrations:read',
  'integrations:manage',
  'webhooks:manage',
  'analytics:read',
  'compliance:read',
  'audit:read',
  'audit:export',
  'settings:read',
  'settings:update',
  'members:read',
  'members:manage',
  'roles:manage',
  'sso:manage',
  'api_keys:manage',
  'quota:read',
  'quota:manage',
  'billing:read',
  'billing:manage',
  'org:export',
  'org:delete',
  'org:transfer',
];

/** The built-in roles (defaults): the table's rows, top to bottom. */
const ROW_EVERYONE = [
  'findings:read',
  'scans:read',
  'scans:export',
  'applications:read',
  'policies:read',
  'members:read',
];
const ROW_CONTRIBUTORS = [
  'findings:update',
  'findings:mark_false_positive',
  'remediations:create',
  'scans:create',
];
const ROW_OPERATORS = [
  'policies:manage',
  'integrations:read',
  'integrations:manage',
  'applications:manage',
  'scanners:configure',
  'analytics:read',
  'compliance:read',
  'quota:read',
];
const ROW_ADMINISTRATORS = [
  'remediations:approve',
  'scans:delete',
  'applications:delete',
  'webhooks:manage',
  'audit:read',
  'audit:export',
  'settings:read',
  'settings:update',
  'members:manage',
  'roles:manage',
  'sso:manage',
  'api_keys:manage',
  'quota:manage',
];
const ROW_OWNER_ONLY = ['billing:read', 'billing:manage', 'org:export', 'org:delete', 'org:transfer'];

const BUILTIN_TABLE: Record<string, { name: string; permissions: string[] }> = {
  owner: {
    name: 'Owner',
    permissions: [
      ...ROW_EVERYONE,
      ...ROW_CONTRIBUTORS,
      ...ROW_OPERATORS,
      ...ROW_ADMINISTRATORS,
      ...ROW_OWNER_ONLY,
    ],
  },
  admin: {
    name: 'Admin',
    permissions: [...ROW_EVERYONE, ...ROW_CONTRIBUTORS, ...ROW_OPERATORS, ...ROW_ADMINISTRATORS],
  },
  cyberoper: { name: 'Cyberoper', permissions: [...ROW_EVERYONE, ...ROW_CONTRIBUTORS, ...ROW_OPERATORS] },
  developer: { name: 'Developer', permissions: [...ROW_EVERYONE, ...ROW_CONTRIBUTORS] },
  viewer: { name: 'Viewer', permissions: [...ROW_EVERYONE] },
};

/** The custom role that holds the whole catalog. */
const EVERYTHING = 'everything';

interface Org {
  orgId: string;
  owner: Person;
  /** The member whose role each case sets: without the route's permission, then with everything. */
  actor: Person;
  /** Custom roles already created in this org, by slug. */
  roles: Set<string>;
}

interface RouteCase {
  /** The success status. */
  status: number;
  /** Run as the owner first: creates what the request acts on (an invitation, a role, …), returns the request. */
  prepare(org: Org): Promise<RequestSpec>;
  /** The change is there after the successful request. */
  effect?(org: Org, res: LightMyRequestResponse, req: RequestSpec): Promise<void> | void;
  /** Deletes or hands over the organization: runs in an org of its own. */
  ownOrg?: true;
  /** Needs the Owner role itself, not only the permission: a non-owner holding everything is still refused. */
  ownerOnly?: true;
}

let t: TestApp;
let shared: Org;

const rand = () => randomBytes(4).toString('hex');
const orgUrl = (org: { orgId: string }, rest = '') => `/api/v1/orgs/${org.orgId}${rest}`;

/** An invoice of the org, issued as a plan change would; its id. */
async function invoiceIn(org: { orgId: string }): Promise<string> {
  const issued = await t.db.database.db.transaction((tx) =>
    issueInvoice(tx, org.orgId, {
      reason: 'plan_change',
      plan: 'pro',
      cycle: 'monthly',
      periodStart: new Date(),
      periodEnd: new Date(Date.now() + 30 * 86_400_000),
      currency: 'usd',
      lines: [{ description: 'Pro', quantity: 1, unitAmount: 2900, amount: 2900 }],
    }),
  );
  return issued.id;
}
const sorted = (list: Iterable<string>) => [...list].sort();

function expectProblem(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ status, code });
}

/** An application of the org, made by its owner; returns its id. */
async function ownerCreatesApplication(org: Org): Promise<string> {
  return expectStatus(
    await as(t.app, org.owner).post(orgUrl(org, '/applications'), { name: `app ${rand()}` }),
    201,
  ).json().id;
}

/** A pending scan of a new application, made by the owner; returns its id. */
async function ownerCreatesScan(org: Org): Promise<string> {
  const applicationId = await ownerCreatesApplication(org);
  return expectStatus(
    await as(t.app, org.owner).post(orgUrl(org, '/scans'), { applicationId, modules: ['secrets'] }),
    201,
  ).json().id;
}

/** The last week, as a report's period. */
const reportPeriod = () => ({
  from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
  to: new Date().toISOString(),
});

/** A report of the org made by its owner (built when `ready`); returns its id. */
async function ownerCreatesReport(org: Org, path: string, ready = false): Promise<string> {
  const body = path === '/compliance-reports' ? { framework: 'soc2', ...reportPeriod() } : reportPeriod();
  const id = expectStatus(await as(t.app, org.owner).post(orgUrl(org, path), body), 202).json().id;
  if (ready) await t.drainOutbox({ kind: 'report.build' });
  return id;
}

async function ownerCreatesRole(org: Org, slug: string, permissions: string[]): Promise<void> {
  if (org.roles.has(slug)) return;
  expectStatus(
    await as(t.app, org.owner).post(orgUrl(org, '/roles'), { slug, name: slug, permissions }),
    201,
  );
  org.roles.add(slug);
}

/** The custom role holding every catalog permission except `permission`. */
async function roleWithout(org: Org, permission: string): Promise<string> {
  const slug = `without-${permission.replace(':', '-')}`;
  await ownerCreatesRole(
    org,
    slug,
    CATALOG.filter((p) => p !== permission),
  );
  return slug;
}

async function setRole(org: Org, who: Person, role: string): Promise<void> {
  const res = await as(t.app, org.owner).patch(orgUrl(org, `/members/${who.userId}`), { role });
  expect(expectStatus(res, 200).json().role).toBe(role);
}

/** A pro org (custom roles allowed) with an owner, the all-permissions role and an actor holding it. */
async function newOrg(): Promise<Org> {
  const created = await createOrg(t.app, { plan: 'pro', name: `Matrix ${rand()}` });
  const org: Org = { ...created, actor: undefined as unknown as Person, roles: new Set() };
  await ownerCreatesRole(org, EVERYTHING, CATALOG);
  org.actor = await addMember(t.app, org, EVERYTHING, { name: 'Avery Actor' }, t.mail);
  return org;
}

async function ownerInvites(org: Org): Promise<string> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/invitations'), {
    emails: [uniqueEmail('invitee')],
    role: 'viewer',
  });
  return expectStatus(res, 201).json().items[0].id;
}

async function invitation(org: Org, id: string, status: string) {
  const list = expectStatus(
    await as(t.app, org.owner).get(orgUrl(org, `/invitations?status=${status}`)),
    200,
  );
  return list.json().items.find((i: { id: string }) => i.id === id);
}

async function member(org: Org, userId: string) {
  return as(t.app, org.owner).get(orgUrl(org, `/members/${userId}`));
}

/** A new high-severity finding of the org (in an application of its own). */
async function findingOf(org: Org): Promise<string> {
  const app = await seedApplication(t.app, org.orgId);
  const [id] = await seedFindings(t.app, org.orgId, app, [{ severity: 'high' }]);
  return id!;
}

/** A policy the owner made (failing on high); returns its id. */
async function ownerCreatesPolicy(org: Org): Promise<string> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/policies'), {
    name: `Policy ${rand()}`,
    failOn: 'high',
  });
  return expectStatus(res, 201).json().id;
}

/** Budgets and boosts are Enterprise's: the org is moved to it (in the database) first. */
async function enterprise(org: Org): Promise<void> {
  await t.db.database.db.execute(sql`UPDATE organizations SET plan = 'enterprise' WHERE id = ${org.orgId}`);
}

async function ownerCreatesDepartment(org: Org): Promise<string> {
  await enterprise(org);
  const res = await as(t.app, org.owner).post(orgUrl(org, '/departments'), { name: `Team ${rand()}` });
  return expectStatus(res, 201).json().id;
}

const QUOTA_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/usage': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/usage?month=2025-01') }),
    effect: (_org, res) => expect(res.json()).toMatchObject({ month: '2025-01', used: 0 }),
  },
  'GET /api/v1/orgs/:orgId/departments': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesDepartment(org);
      return { method: 'GET', url: orgUrl(org, '/departments') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/departments/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/departments/${await ownerCreatesDepartment(org)}`),
    }),
    effect: (_org, res, req) => expect(res.json().id).toBe(req.url.split('/').at(-1)),
  },
  'POST /api/v1/orgs/:orgId/departments': {
    status: 201,
    prepare: async (org) => {
      await enterprise(org);
      return {
        method: 'POST',
        url: orgUrl(org, '/departments'),
        payload: { name: `Made ${rand()}`, monthlyBudget: 10 },
      };
    },
    effect: async (org, res) => {
      const got = await as(t.app, org.owner).get(orgUrl(org, `/departments/${res.json().id}`));
      expect(expectStatus(got, 200).json().monthlyBudget).toBe(10);
    },
  },
  'PATCH /api/v1/orgs/:orgId/departments/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/departments/${await ownerCreatesDepartment(org)}`),
      payload: { monthlyBudget: 99 },
    }),
    effect: async (org, _res, req) => {
      const got = await as(t.app, org.owner).get(req.url);
      expect(expectStatus(got, 200).json().monthlyBudget).toBe(99);
    },
  },
  'DELETE /api/v1/orgs/:orgId/departments/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/departments/${await ownerCreatesDepartment(org)}`),
    }),
    effect: async (org, _res, req) => {
      const got = await as(t.app, org.owner).get(req.url);
      expectProblem(got, 404, 'not_found');
    },
  },
  'GET /api/v1/orgs/:orgId/member-budgets': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/member-budgets') }),
    effect: (_org, res) => expect(Array.isArray(res.json().items)).toBe(true),
  },
  'PUT /api/v1/orgs/:orgId/members/:userId/budget': {
    status: 200,
    prepare: async (org) => {
      await enterprise(org);
      return {
        method: 'PUT',
        url: orgUrl(org, `/members/${org.owner.userId}/budget`),
        payload: { monthlyTokens: 1000 + (Number.parseInt(rand(), 16) % 100_000) },
      };
    },
    effect: async (org, _res, req) => {
      const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/member-budgets')), 200).json();
      const mine = list.items.find((b: { userId: string }) => b.userId === org.owner.userId);
      expect(mine.monthlyTokens).toBe((req.payload as { monthlyTokens: number }).monthlyTokens);
    },
  },
  'GET /api/v1/orgs/:orgId/quota-boosts': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/quota-boosts') }),
    effect: (_org, res) => expect(Array.isArray(res.json().items)).toBe(true),
  },
  'POST /api/v1/orgs/:orgId/quota-boosts': {
    status: 201,
    prepare: async (org) => {
      await enterprise(org);
      return { method: 'POST', url: orgUrl(org, '/quota-boosts'), payload: { tokens: 7 } };
    },
    effect: async (org, res) => {
      const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/quota-boosts')), 200).json();
      expect(list.items.map((b: { id: string }) => b.id)).toContain(res.json().id);
    },
  },
};

/** Settings → Billing: the subscription and the payment method (billing:read, billing:manage). */
const BILLING_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/billing/subscription': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/billing/subscription') }),
    effect: (_org, res) => expect(res.json()).toMatchObject({ currency: 'usd' }),
  },
  'PATCH /api/v1/orgs/:orgId/billing/subscription': {
    status: 200,
    prepare: async (org) => {
      const sub = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/billing/subscription')),
        200,
      ).json();
      // The org's plan as stored: other entries move the shared org to Enterprise in SQL, past the
      // cached entry the subscription is read from; a change of cycle alone is never blocked.
      const [stored] = await queryRows<{ plan: string }>(
        t.db.database.db,
        sql`SELECT plan FROM organizations WHERE id = ${org.orgId}`,
      );
      const plan = stored!.plan;
      return {
        method: 'PATCH',
        url: orgUrl(org, '/billing/subscription'),
        payload: { plan, cycle: sub.cycle === 'monthly' ? 'annual' : 'monthly', confirm: true },
      };
    },
    effect: async (org, _res, req) => {
      const sub = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/billing/subscription')),
        200,
      ).json();
      expect(sub.cycle).toBe((req.payload as { cycle: string }).cycle);
    },
  },
  'GET /api/v1/orgs/:orgId/billing/payment-method': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/billing/payment-method') }),
    effect: (_org, res) => expect(res.json()).toHaveProperty('paymentMethod'),
  },
  'PUT /api/v1/orgs/:orgId/billing/payment-method': {
    status: 200,
    prepare: async (org) => ({
      method: 'PUT',
      url: orgUrl(org, '/billing/payment-method'),
      payload: {
        provider: 'invoice',
        reference: `Mandate ${rand()}`,
        brand: 'SEPA',
        last4: String(1000 + (Number.parseInt(rand(), 16) % 9000)),
      },
    }),
    effect: async (org, _res, req) => {
      const got = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/billing/payment-method')),
        200,
      ).json();
      expect(got.paymentMethod.last4).toBe((req.payload as { last4: string }).last4);
    },
  },
};

/** Slack and quota alerts (notifications). The Slack URL is loopback, opened by OUTBOUND_ALLOWLIST. */
const SLACK_HOOK = 'http://127.0.0.1:9/services/T0/B0/matrix';

async function ownerConnectsSlack(org: Org): Promise<void> {
  expectStatus(
    await as(t.app, org.owner).put(orgUrl(org, '/slack'), {
      webhookUrl: SLACK_HOOK,
      events: ['scan.completed'],
      minSeverity: 'high',
    }),
    200,
  );
}

const NOTIFICATION_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/slack': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsSlack(org);
      return { method: 'GET', url: orgUrl(org, '/slack') };
    },
    effect: (_org, res) => expect(res.json()).toMatchObject({ configured: true, webhookHost: '127.0.0.1:9' }),
  },
  'PUT /api/v1/orgs/:orgId/slack': {
    status: 200,
    prepare: async (org) => ({
      method: 'PUT',
      url: orgUrl(org, '/slack'),
      payload: {
        webhookUrl: SLACK_HOOK,
        events: ['member.added'],
        minSeverity: rand() < '8' ? 'low' : 'medium',
      },
    }),
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/slack')), 200).json();
      expect(got.minSeverity).toBe((req.payload as { minSeverity: string }).minSeverity);
    },
  },
  'DELETE /api/v1/orgs/:orgId/slack': {
    status: 204,
    prepare: async (org) => {
      await ownerConnectsSlack(org);
      return { method: 'DELETE', url: orgUrl(org, '/slack') };
    },
    effect: async (org) => {
      expect(expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/slack')), 200).json().configured).toBe(
        false,
      );
    },
  },
  'POST /api/v1/orgs/:orgId/slack/test': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsSlack(org);
      return { method: 'POST', url: orgUrl(org, '/slack/test'), payload: {} };
    },
    // Nothing listens on the discard port: the answer says so.
    effect: (_org, res) => expect(res.json()).toMatchObject({ delivered: false, status: null }),
  },
  'GET /api/v1/orgs/:orgId/quota-alerts': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/quota-alerts') }),
    effect: (_org, res) => expect(res.json().thresholds.length).toBeGreaterThan(0),
  },
  'PATCH /api/v1/orgs/:orgId/quota-alerts': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, '/quota-alerts'),
      payload: { thresholds: rand() < '8' ? [50] : [75], channels: ['in_app'] },
    }),
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/quota-alerts')), 200).json();
      expect(got.thresholds).toEqual((req.payload as { thresholds: number[] }).thresholds);
    },
  },
};

/** How to make a valid request to each permission route. Keys are the inventory's `METHOD url`. */
/** Where webhooks of these tests point: loopback (allowlisted below), nobody listening. */
const HOOK_URL = 'http://127.0.0.1:9/hook';

/** A webhook the owner made; its id. */
async function ownerCreatesWebhook(org: Org): Promise<string> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/webhooks'), {
    url: HOOK_URL,
    events: ['scan.started'],
  });
  return expectStatus(res, 201).json().id;
}

/** A webhook with one logged (failed) test delivery; the webhook's and the attempt's ids. */
async function ownerTestsWebhook(org: Org): Promise<{ id: string; attemptId: string }> {
  const id = await ownerCreatesWebhook(org);
  expectStatus(await as(t.app, org.owner).post(orgUrl(org, `/webhooks/${id}/test`)), 200);
  const log = expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/webhooks/${id}/deliveries`)), 200);
  return { id, attemptId: log.json().items[0].id };
}

const WEBHOOK_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/webhooks': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesWebhook(org);
      return { method: 'GET', url: orgUrl(org, '/webhooks') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/webhooks': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/webhooks'),
      payload: { url: HOOK_URL, events: ['member.added'], description: `made ${rand()}` },
    }),
    effect: async (org, res) => {
      expect(res.json().secret).toMatch(/^whsec_/);
      const got = await as(t.app, org.owner).get(orgUrl(org, `/webhooks/${res.json().id}`));
      expect(expectStatus(got, 200).json().events).toEqual(['member.added']);
    },
  },
  'GET /api/v1/orgs/:orgId/webhooks/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/webhooks/${await ownerCreatesWebhook(org)}`),
    }),
    effect: (_org, res) => expect(res.json().url).toBe(HOOK_URL),
  },
  'PATCH /api/v1/orgs/:orgId/webhooks/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/webhooks/${await ownerCreatesWebhook(org)}`),
      payload: { enabled: false },
    }),
    effect: async (org, _res, req) =>
      expect(expectStatus(await as(t.app, org.owner).get(req.url), 200).json().enabled).toBe(false),
  },
  'DELETE /api/v1/orgs/:orgId/webhooks/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/webhooks/${await ownerCreatesWebhook(org)}`),
    }),
    effect: async (org, _res, req) =>
      expectProblem(await as(t.app, org.owner).get(req.url), 404, 'not_found'),
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/rotate-secret': {
    status: 200,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/webhooks/${await ownerCreatesWebhook(org)}/rotate-secret`),
    }),
    effect: async (org, res, req) => {
      expect(res.json().secret).toMatch(/^whsec_/);
      const got = await as(t.app, org.owner).get(req.url.replace('/rotate-secret', ''));
      expect(expectStatus(got, 200).json().previousSecretExpiresAt).toEqual(expect.any(String));
    },
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/test': {
    status: 200,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/webhooks/${await ownerCreatesWebhook(org)}/test`),
    }),
    effect: async (org, res, req) => {
      expect(res.json()).toMatchObject({ delivered: false, status: null });
      const log = await as(t.app, org.owner).get(req.url.replace('/test', '/deliveries'));
      expect(expectStatus(log, 200).json().items).toHaveLength(1);
    },
  },
  'GET /api/v1/orgs/:orgId/webhooks/:id/deliveries': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/webhooks/${(await ownerTestsWebhook(org)).id}/deliveries`),
    }),
    effect: (_org, res) =>
      expect(res.json().items[0]).toMatchObject({ type: 'webhook.test', state: 'failed' }),
  },
  'POST /api/v1/orgs/:orgId/webhooks/:id/deliveries/:deliveryId/redeliver': {
    status: 202,
    prepare: async (org) => {
      const { id, attemptId } = await ownerTestsWebhook(org);
      return { method: 'POST', url: orgUrl(org, `/webhooks/${id}/deliveries/${attemptId}/redeliver`) };
    },
    effect: (_org, res) =>
      expect(res.json()).toMatchObject({ type: 'webhook.test', attempt: 2, state: 'pending' }),
  },
};

/** AI connections and integrations: to loopback (allowlisted below), nobody listening. */
const AI_BASE = 'http://127.0.0.1:9/v1';
const AI_SETTINGS = { provider: 'openai_compatible', baseUrl: AI_BASE, model: 'gpt-4o-mini' };

async function ownerConnectsAi(org: Org, purpose: string): Promise<void> {
  expectStatus(
    await as(t.app, org.owner).put(orgUrl(org, `/ai-connections/${purpose}`), {
      ...AI_SETTINGS,
      apiKey: `sk-matrix-${rand()}`,
    }),
    200,
  );
}

/** An integration the owner added; its id. */
async function ownerAddsIntegration(org: Org): Promise<string> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/integrations'), {
    kind: 'scm',
    provider: 'github',
    name: `GitHub ${rand()}`,
    config: { baseUrl: 'http://127.0.0.1:9' },
    secret: `ghp-matrix-${rand()}`,
  });
  return expectStatus(res, 201).json().id;
}

const AI_INTEGRATION_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/ai-connections/:purpose': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsAi(org, 'validator');
      return { method: 'GET', url: orgUrl(org, '/ai-connections/validator') };
    },
    effect: (_org, res) => expect(res.json()).toMatchObject({ configured: true, hasApiKey: true }),
  },
  'PUT /api/v1/orgs/:orgId/ai-connections/:purpose': {
    status: 200,
    prepare: async (org) => ({
      method: 'PUT',
      url: orgUrl(org, '/ai-connections/remediator'),
      payload: { ...AI_SETTINGS, model: `model-${rand()}`, apiKey: `sk-matrix-${rand()}` },
    }),
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(req.url), 200).json();
      expect(got.model).toBe((req.payload as { model: string }).model);
    },
  },
  'DELETE /api/v1/orgs/:orgId/ai-connections/:purpose': {
    status: 204,
    prepare: async (org) => {
      await ownerConnectsAi(org, 'validator');
      return { method: 'DELETE', url: orgUrl(org, '/ai-connections/validator') };
    },
    effect: async (org, _res, req) =>
      expect(expectStatus(await as(t.app, org.owner).get(req.url), 200).json().configured).toBe(false),
  },
  'POST /api/v1/orgs/:orgId/ai-connections/:purpose/test': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsAi(org, 'remediator');
      return { method: 'POST', url: orgUrl(org, '/ai-connections/remediator/test') };
    },
    // Nothing listens on the discard port: the answer says so, and the connection keeps it.
    effect: async (org, res, req) => {
      expect(res.json()).toMatchObject({ ok: false, status: null, code: 'connect' });
      const got = expectStatus(await as(t.app, org.owner).get(req.url.replace('/test', '')), 200).json();
      expect(got.lastTest).toMatchObject({ ok: false, code: 'connect' });
    },
  },
  'GET /api/v1/orgs/:orgId/integrations': {
    status: 200,
    prepare: async (org) => {
      await ownerAddsIntegration(org);
      return { method: 'GET', url: orgUrl(org, '/integrations') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/integrations': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/integrations'),
      payload: {
        kind: 'ticketing',
        provider: 'jira',
        name: `Jira ${rand()}`,
        config: { baseUrl: 'http://127.0.0.1:9' },
      },
    }),
    effect: async (org, res) => {
      const got = await as(t.app, org.owner).get(orgUrl(org, `/integrations/${res.json().id}`));
      expect(expectStatus(got, 200).json()).toMatchObject({ provider: 'jira', status: 'untested' });
    },
  },
  'GET /api/v1/orgs/:orgId/integrations/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/integrations/${await ownerAddsIntegration(org)}`),
    }),
    effect: (_org, res) => expect(res.json()).toMatchObject({ provider: 'github', hasSecret: true }),
  },
  'PATCH /api/v1/orgs/:orgId/integrations/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/integrations/${await ownerAddsIntegration(org)}`),
      payload: { name: `Renamed ${rand()}` },
    }),
    effect: async (org, _res, req) =>
      expect(expectStatus(await as(t.app, org.owner).get(req.url), 200).json().name).toBe(
        (req.payload as { name: string }).name,
      ),
  },
  'DELETE /api/v1/orgs/:orgId/integrations/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/integrations/${await ownerAddsIntegration(org)}`),
    }),
    effect: async (org, _res, req) =>
      expectProblem(await as(t.app, org.owner).get(req.url), 404, 'not_found'),
  },
  'POST /api/v1/orgs/:orgId/integrations/:id/test': {
    status: 200,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/integrations/${await ownerAddsIntegration(org)}/test`),
    }),
    effect: async (org, res, req) => {
      expect(res.json()).toMatchObject({ ok: false, status: null, code: 'connect' });
      const got = expectStatus(await as(t.app, org.owner).get(req.url.replace('/test', '')), 200).json();
      expect(got.status).toBe('failing');
    },
  },
};

/**
 * Single sign-on. An org has one IdP at a time, so each case that connects one removes the other
 * first. OIDC's discovery document is fetched on save: from the real test IdP on loopback
 * (allowlisted below); SAML is connected with the fields form and the test IdP's certificate.
 */
let oidcIdp: OidcIdp;
const SAML_FIELDS = {
  idpEntityId: 'https://idp.example.test',
  idpSsoUrl: 'https://idp.example.test/sso',
  idpCertificates: [SAML_TEST_KEYS.idp.certificate],
};

/** Removes the org's IdP of that protocol if it has one. */
async function ownerDisconnects(org: Org, protocol: 'oidc' | 'saml'): Promise<void> {
  const res = await as(t.app, org.owner).delete(orgUrl(org, `/sso/${protocol}`));
  expect([204, 404], res.body).toContain(res.statusCode);
}

const oidcBody = () => ({
  issuer: oidcIdp.issuer,
  clientId: `matrix-${rand()}`,
  clientSecret: 'matrix-client-secret-0123456789',
});

async function ownerConnectsOidc(org: Org): Promise<void> {
  await ownerDisconnects(org, 'saml');
  expectStatus(await as(t.app, org.owner).put(orgUrl(org, '/sso/oidc'), oidcBody()), 200);
}

async function ownerConnectsSaml(org: Org): Promise<void> {
  await ownerDisconnects(org, 'oidc');
  expectStatus(await as(t.app, org.owner).put(orgUrl(org, '/sso/saml'), SAML_FIELDS), 200);
}

/** A group mapping the owner made; its id. */
async function ownerMapsGroup(org: Org): Promise<string> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/sso/group-mappings'), {
    idpGroup: `group-${rand()}`,
    role: 'developer',
  });
  return expectStatus(res, 201).json().id;
}

async function groupMappingIds(org: Org): Promise<string[]> {
  const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso/group-mappings')), 200).json();
  return list.items.map((m: { id: string }) => m.id);
}

const SSO_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/sso': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/sso') }),
    effect: (_org, res) => expect(res.json()).toMatchObject({ enforcement: 'coexist' }),
  },
  'PATCH /api/v1/orgs/:orgId/sso': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, '/sso'),
      payload: { groupsAttribute: `groups-${rand()}`, defaultRole: 'developer' },
    }),
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso')), 200).json();
      expect(got).toMatchObject(req.payload as object);
    },
  },
  'GET /api/v1/orgs/:orgId/sso/oidc': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsOidc(org);
      return { method: 'GET', url: orgUrl(org, '/sso/oidc') };
    },
    effect: (_org, res) =>
      expect(res.json()).toMatchObject({ issuer: oidcIdp.issuer, clientSecretSet: true }),
  },
  'PUT /api/v1/orgs/:orgId/sso/oidc': {
    ownerOnly: true,
    status: 200,
    prepare: async (org) => {
      await ownerDisconnects(org, 'saml');
      return { method: 'PUT', url: orgUrl(org, '/sso/oidc'), payload: oidcBody() };
    },
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso/oidc')), 200).json();
      expect(got.clientId).toBe((req.payload as { clientId: string }).clientId);
    },
  },
  'DELETE /api/v1/orgs/:orgId/sso/oidc': {
    ownerOnly: true,
    status: 204,
    prepare: async (org) => {
      await ownerConnectsOidc(org);
      return { method: 'DELETE', url: orgUrl(org, '/sso/oidc') };
    },
    effect: async (org) => {
      expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso/oidc')), 404);
    },
  },
  'GET /api/v1/orgs/:orgId/sso/saml': {
    status: 200,
    prepare: async (org) => {
      await ownerConnectsSaml(org);
      return { method: 'GET', url: orgUrl(org, '/sso/saml') };
    },
    effect: (_org, res) =>
      expect(res.json()).toMatchObject({ idpEntityId: SAML_FIELDS.idpEntityId, certificates: [{}] }),
  },
  'PUT /api/v1/orgs/:orgId/sso/saml': {
    ownerOnly: true,
    status: 200,
    prepare: async (org) => {
      await ownerDisconnects(org, 'oidc');
      return {
        method: 'PUT',
        url: orgUrl(org, '/sso/saml'),
        payload: { ...SAML_FIELDS, idpSsoUrl: `https://idp.example.test/sso/${rand()}` },
      };
    },
    effect: async (org, _res, req) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso/saml')), 200).json();
      expect(got.idpSsoUrl).toBe((req.payload as { idpSsoUrl: string }).idpSsoUrl);
    },
  },
  'DELETE /api/v1/orgs/:orgId/sso/saml': {
    ownerOnly: true,
    status: 204,
    prepare: async (org) => {
      await ownerConnectsSaml(org);
      return { method: 'DELETE', url: orgUrl(org, '/sso/saml') };
    },
    effect: async (org) => {
      expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/sso/saml')), 404);
    },
  },
  'GET /api/v1/orgs/:orgId/sso/group-mappings': {
    status: 200,
    prepare: async (org) => {
      await ownerMapsGroup(org);
      return { method: 'GET', url: orgUrl(org, '/sso/group-mappings') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/sso/group-mappings': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/sso/group-mappings'),
      payload: { idpGroup: `made-${rand()}`, role: 'viewer' },
    }),
    effect: async (org, res) => expect(await groupMappingIds(org)).toContain(res.json().id),
  },
  'DELETE /api/v1/orgs/:orgId/sso/group-mappings/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/sso/group-mappings/${await ownerMapsGroup(org)}`),
    }),
    effect: async (org, _res, req) =>
      expect(await groupMappingIds(org)).not.toContain(req.url.split('/').at(-1)),
  },
};

/** A SCIM token the owner made; its id and value. */
async function ownerMakesScimToken(org: Org): Promise<{ id: string; token: string }> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/scim-tokens'), { name: `idp-${rand()}` });
  return expectStatus(res, 201).json();
}

async function scimTokenIds(org: Org): Promise<string[]> {
  const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/scim-tokens')), 200).json();
  return list.items.map((m: { id: string }) => m.id);
}

const SCIM_ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId/scim-tokens': {
    status: 200,
    prepare: async (org) => {
      await ownerMakesScimToken(org);
      return { method: 'GET', url: orgUrl(org, '/scim-tokens') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/scim-tokens': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/scim-tokens'),
      payload: { name: `made-${rand()}` },
    }),
    effect: async (org, res) => {
      expect(res.json().token).toMatch(/^scim_/);
      expect(await scimTokenIds(org)).toContain(res.json().id);
    },
  },
  'DELETE /api/v1/orgs/:orgId/scim-tokens/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/scim-tokens/${(await ownerMakesScimToken(org)).id}`),
    }),
    effect: async (org, _res, req) =>
      expect(await scimTokenIds(org)).not.toContain(req.url.split('/').at(-1)),
  },
  'GET /api/v1/orgs/:orgId/scim-log': {
    status: 200,
    prepare: async (org) => {
      const { token } = await ownerMakesScimToken(org);
      const res = await t.app.inject({
        method: 'GET',
        url: '/scim/v2/Users',
        headers: { authorization: `Bearer ${token}` },
      });
      expectStatus(res, 200);
      return { method: 'GET', url: orgUrl(org, '/scim-log') };
    },
    effect: (_org, res) => expect(res.json().items).toBeInstanceOf(Array),
  },
};

const ROUTES: Record<string, RouteCase> = {
  'GET /api/v1/orgs/:orgId': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org) }),
    effect: (org, res) => expect(res.json().id).toBe(org.orgId),
  },
  'PATCH /api/v1/orgs/:orgId': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org),
      payload: { description: `Changed ${rand()}` },
    }),
    effect: (_org, res, req) =>
      expect(res.json().description).toBe((req.payload as { description: string }).description),
  },
  'GET /api/v1/orgs/:orgId/security': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/security') }),
    effect: (_org, res) => expect(res.json().ipAllowlist).toEqual([]),
  },
  'PATCH /api/v1/orgs/:orgId/security': {
    status: 200,
    prepare: async (org) => {
      // From the installation's timeout to the standard 30 minutes (every plan's), so it changes.
      expectStatus(
        await as(t.app, org.owner).patch(orgUrl(org, '/security'), { sessionIdleMinutes: null }),
        200,
      );
      return { method: 'PATCH', url: orgUrl(org, '/security'), payload: { sessionIdleMinutes: 30 } };
    },
    effect: (_org, res) => expect(res.json().sessionIdleMinutes).toBe(30),
  },
  'GET /api/v1/orgs/:orgId/settings/platform': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/settings/platform') }),
    effect: (_org, res) => expect(res.json().scanSchedule).toBe('none'),
  },
  'PATCH /api/v1/orgs/:orgId/settings/platform': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, '/settings/platform'),
      payload: { autonomousScanning: true },
    }),
    effect: (_org, res) => expect(res.json().autonomousScanning).toBe(true),
  },
  'GET /api/v1/orgs/:orgId/settings/localization': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/settings/localization') }),
    effect: (_org, res) => expect(res.json().dateFormat).toBe('locale'),
  },
  'PATCH /api/v1/orgs/:orgId/settings/localization': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, '/settings/localization'),
      payload: { timezone: 'Europe/Madrid' },
    }),
    effect: (_org, res) => expect(res.json().timezone).toBe('Europe/Madrid'),
  },
  'GET /api/v1/orgs/:orgId/setup': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/setup') }),
    effect: (_org, res) => expect(res.json().steps.length).toBeGreaterThan(0),
  },
  'PUT /api/v1/orgs/:orgId/setup': {
    status: 200,
    prepare: async (org) => ({ method: 'PUT', url: orgUrl(org, '/setup'), payload: { dismissed: true } }),
    effect: (_org, res) => expect(res.json().dismissed).toBe(true),
  },
  'GET /api/v1/orgs/:orgId/settings/data': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/settings/data') }),
    effect: (_org, res) => expect(res.json().deletedOrgGraceDays).toBe(30),
  },
  'PATCH /api/v1/orgs/:orgId/settings/data': {
    status: 200,
    prepare: async (org) => {
      expectStatus(
        await as(t.app, org.owner).patch(orgUrl(org, '/settings/data'), { scanRetentionDays: 365 }),
        200,
      );
      return { method: 'PATCH', url: orgUrl(org, '/settings/data'), payload: { scanRetentionDays: 90 } };
    },
    effect: async (org) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/settings/data')), 200);
      expect(got.json().scanRetentionDays).toBe(90);
    },
  },
  'POST /api/v1/orgs/:orgId/exports': {
    status: 202,
    prepare: async (org) => ({ method: 'POST', url: orgUrl(org, '/exports') }),
    effect: async (org, res) => {
      const got = expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/exports/${res.json().id}`)), 200);
      expect(got.json().status).toMatch(/^(pending|running|ready)$/);
    },
  },
  'GET /api/v1/orgs/:orgId/exports': {
    status: 200,
    prepare: async (org) => {
      expectStatus(await as(t.app, org.owner).post(orgUrl(org, '/exports')), 202);
      return { method: 'GET', url: orgUrl(org, '/exports') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/exports/:id': {
    status: 200,
    prepare: async (org) => {
      const id = expectStatus(await as(t.app, org.owner).post(orgUrl(org, '/exports')), 202).json().id;
      return { method: 'GET', url: orgUrl(org, `/exports/${id}`) };
    },
    effect: (_org, res, req) => expect(res.json().id).toBe(req.url.split('/').at(-1)),
  },
  'GET /api/v1/orgs/:orgId/exports/:id/download': {
    status: 200,
    prepare: async (org) => {
      const id = expectStatus(await as(t.app, org.owner).post(orgUrl(org, '/exports')), 202).json().id;
      await t.drainOutbox({ kind: 'org.export' });
      return { method: 'GET', url: orgUrl(org, `/exports/${id}/download`) };
    },
    effect: (_org, res) => expect(res.rawPayload.subarray(0, 2).toString('latin1')).toBe('PK'),
  },
  'GET /api/v1/orgs/:orgId/billing/invoices': {
    status: 200,
    prepare: async (org) => {
      await invoiceIn(org);
      return { method: 'GET', url: orgUrl(org, '/billing/invoices') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/billing/invoices/:id/pdf': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/billing/invoices/${await invoiceIn(org)}/pdf`),
    }),
    effect: (_org, res) => expect(res.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-'),
  },
  'POST /api/v1/orgs/:orgId/compliance-reports': {
    status: 202,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/compliance-reports'),
      payload: { framework: 'gdpr', ...reportPeriod() },
    }),
    effect: async (org, res) => {
      const got = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, `/compliance-reports/${res.json().id}`)),
        200,
      );
      expect(got.json().status).toMatch(/^(pending|running|ready)$/);
    },
  },
  'GET /api/v1/orgs/:orgId/compliance-reports': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesReport(org, '/compliance-reports');
      return { method: 'GET', url: orgUrl(org, '/compliance-reports') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/compliance-reports/:id': {
    status: 200,
    prepare: async (org) => {
      const id = await ownerCreatesReport(org, '/compliance-reports');
      return { method: 'GET', url: orgUrl(org, `/compliance-reports/${id}`) };
    },
    effect: (_org, res, req) => expect(res.json().id).toBe(req.url.split('/').at(-1)),
  },
  'GET /api/v1/orgs/:orgId/compliance-reports/:id/pdf': {
    status: 200,
    prepare: async (org) => {
      const id = await ownerCreatesReport(org, '/compliance-reports', true);
      return { method: 'GET', url: orgUrl(org, `/compliance-reports/${id}/pdf`) };
    },
    effect: (_org, res) => expect(res.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-'),
  },
  'POST /api/v1/orgs/:orgId/reports/executive': {
    status: 202,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/reports/executive'),
      payload: reportPeriod(),
    }),
    effect: async (org, res) => {
      const got = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, `/reports/executive/${res.json().id}`)),
        200,
      );
      expect(got.json().status).toMatch(/^(pending|running|ready)$/);
    },
  },
  'GET /api/v1/orgs/:orgId/reports/executive': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesReport(org, '/reports/executive');
      return { method: 'GET', url: orgUrl(org, '/reports/executive') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/reports/executive/:id': {
    status: 200,
    prepare: async (org) => {
      const id = await ownerCreatesReport(org, '/reports/executive');
      return { method: 'GET', url: orgUrl(org, `/reports/executive/${id}`) };
    },
    effect: (_org, res, req) => expect(res.json().id).toBe(req.url.split('/').at(-1)),
  },
  'GET /api/v1/orgs/:orgId/reports/executive/:id/pdf': {
    status: 200,
    prepare: async (org) => {
      const id = await ownerCreatesReport(org, '/reports/executive', true);
      return { method: 'GET', url: orgUrl(org, `/reports/executive/${id}/pdf`) };
    },
    effect: (_org, res) => expect(res.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-'),
  },
  'DELETE /api/v1/orgs/:orgId': {
    status: 204,
    ownOrg: true,
    ownerOnly: true,
    prepare: async (org) => ({ method: 'DELETE', url: orgUrl(org), payload: { password: STRONG_PASSWORD } }),
    effect: async (org) => {
      expectProblem(await as(t.app, org.owner).get(orgUrl(org)), 404, 'not_found');
      const mine = expectStatus(await as(t.app, org.owner).get('/api/v1/orgs'), 200).json();
      expect(mine.items.map((o: { id: string }) => o.id)).not.toContain(org.orgId);
    },
  },
  'PUT /api/v1/orgs/:orgId/logo': {
    status: 204,
    prepare: async (org) => {
      expectStatus(await as(t.app, org.owner).delete(orgUrl(org, '/logo')), 204);
      return { method: 'PUT', url: orgUrl(org, '/logo'), payload: TINY_PNG, contentType: 'image/png' };
    },
    effect: async (org) => {
      const logo = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/logo')), 200);
      expect(logo.rawPayload.equals(TINY_PNG)).toBe(true);
    },
  },
  'GET /api/v1/orgs/:orgId/logo': {
    status: 200,
    prepare: async (org) => {
      expectStatus(
        await sendAs(t.app, org.owner, {
          method: 'PUT',
          url: orgUrl(org, '/logo'),
          payload: TINY_PNG,
          contentType: 'image/png',
        }),
        204,
      );
      return { method: 'GET', url: orgUrl(org, '/logo') };
    },
    effect: (_org, res) => {
      expect(res.headers['content-type']).toBe('image/png');
      expect(res.rawPayload.equals(TINY_PNG)).toBe(true);
    },
  },
  'DELETE /api/v1/orgs/:orgId/logo': {
    status: 204,
    prepare: async (org) => {
      expectStatus(
        await sendAs(t.app, org.owner, {
          method: 'PUT',
          url: orgUrl(org, '/logo'),
          payload: TINY_PNG,
          contentType: 'image/png',
        }),
        204,
      );
      return { method: 'DELETE', url: orgUrl(org, '/logo') };
    },
    effect: async (org) =>
      expectProblem(await as(t.app, org.owner).get(orgUrl(org, '/logo')), 404, 'not_found'),
  },
  'POST /api/v1/orgs/:orgId/ownership-transfer': {
    status: 200,
    ownOrg: true,
    ownerOnly: true,
    prepare: async (org) => {
      const admin = await addMember(t.app, org, 'admin', { name: 'Ada Admin' }, t.mail);
      return { method: 'POST', url: orgUrl(org, '/ownership-transfer'), payload: { userId: admin.userId } };
    },
    effect: async (org, res, req) => {
      const newOwner = (req.payload as { userId: string }).userId;
      expect(res.json()).toEqual({ ownerId: newOwner, previousOwnerId: org.owner.userId });
      expect(expectStatus(await member(org, newOwner), 200).json().role).toBe('owner');
      expect(expectStatus(await member(org, org.owner.userId), 200).json().role).toBe('admin');
    },
  },
  'GET /api/v1/orgs/:orgId/members': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/members') }),
    effect: (org, res) =>
      expect(res.json().items.map((m: { userId: string }) => m.userId)).toContain(org.owner.userId),
  },
  'GET /api/v1/orgs/:orgId/members/:userId': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, `/members/${org.owner.userId}`) }),
    effect: (org, res) => expect(res.json()).toMatchObject({ userId: org.owner.userId, role: 'owner' }),
  },
  'PATCH /api/v1/orgs/:orgId/members/:userId': {
    status: 200,
    prepare: async (org) => {
      const target = await addMember(t.app, org, 'developer', { name: 'Tess Target' }, t.mail);
      return { method: 'PATCH', url: orgUrl(org, `/members/${target.userId}`), payload: { role: 'viewer' } };
    },
    effect: async (org, res) => {
      expect(res.json().role).toBe('viewer');
      expect(expectStatus(await member(org, res.json().userId), 200).json().role).toBe('viewer');
    },
  },
  'DELETE /api/v1/orgs/:orgId/members/:userId': {
    status: 204,
    prepare: async (org) => {
      const target = await addMember(t.app, org, 'developer', { name: 'Rex Removed' }, t.mail);
      return { method: 'DELETE', url: orgUrl(org, `/members/${target.userId}`) };
    },
    effect: async (org, _res, req) => {
      const userId = req.url.split('/').at(-1)!;
      expect(expectStatus(await member(org, userId), 200).json().status).toBe('removed');
    },
  },
  'GET /api/v1/orgs/:orgId/roles': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/roles') }),
    effect: (_org, res) => expect(res.json().items.map((r: { slug: string }) => r.slug)).toContain('owner'),
  },
  'GET /api/v1/orgs/:orgId/roles/:slug': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/roles/developer') }),
    effect: (_org, res) => expect(res.json().slug).toBe('developer'),
  },
  'POST /api/v1/orgs/:orgId/roles': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/roles'),
      payload: { slug: `made-${rand()}`, name: 'Made', permissions: ['findings:read'] },
    }),
    effect: async (org, _res, req) => {
      const slug = (req.payload as { slug: string }).slug;
      const role = expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/roles/${slug}`)), 200).json();
      expect(role).toMatchObject({ slug, builtin: false, permissions: ['findings:read'] });
    },
  },
  'PATCH /api/v1/orgs/:orgId/roles/:slug': {
    status: 200,
    prepare: async (org) => {
      const slug = `edited-${rand()}`;
      await ownerCreatesRole(org, slug, ['findings:read']);
      return {
        method: 'PATCH',
        url: orgUrl(org, `/roles/${slug}`),
        payload: { permissions: ['findings:read', 'scans:read'] },
      };
    },
    effect: (_org, res) => expect(sorted(res.json().permissions)).toEqual(['findings:read', 'scans:read']),
  },
  'DELETE /api/v1/orgs/:orgId/roles/:slug': {
    status: 204,
    prepare: async (org) => {
      const slug = `doomed-${rand()}`;
      await ownerCreatesRole(org, slug, ['findings:read']);
      return { method: 'DELETE', url: orgUrl(org, `/roles/${slug}`) };
    },
    effect: async (org, _res, req) =>
      expectProblem(await as(t.app, org.owner).get(req.url), 404, 'not_found'),
  },
  'GET /api/v1/orgs/:orgId/policies': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/policies') }),
    effect: (_org, res) => expect(res.json()).toMatchObject({ items: expect.any(Array) }),
  },
  'GET /api/v1/orgs/:orgId/policies/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/policies/${await ownerCreatesPolicy(org)}`),
    }),
    effect: (_org, res) => expect(res.json().failOn).toBe('high'),
  },
  'POST /api/v1/orgs/:orgId/policies': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/policies'),
      payload: { name: `Made ${rand()}`, failOn: 'critical', modules: ['secrets'] },
    }),
    effect: async (org, res) => {
      const made = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, `/policies/${res.json().id}`)),
        200,
      );
      expect(made.json()).toMatchObject({ failOn: 'critical', modules: ['secrets'] });
    },
  },
  'PATCH /api/v1/orgs/:orgId/policies/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/policies/${await ownerCreatesPolicy(org)}`),
      payload: { failOn: 'low' },
    }),
    effect: async (org, _res, req) =>
      expect(expectStatus(await as(t.app, org.owner).get(req.url), 200).json().failOn).toBe('low'),
  },
  'DELETE /api/v1/orgs/:orgId/policies/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/policies/${await ownerCreatesPolicy(org)}`),
    }),
    effect: async (org, _res, req) =>
      expectProblem(await as(t.app, org.owner).get(req.url), 404, 'not_found'),
  },
  'POST /api/v1/orgs/:orgId/invitations': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/invitations'),
      payload: { emails: [uniqueEmail('invitee')], role: 'viewer' },
    }),
    effect: async (org, res) => {
      const [created] = res.json().items;
      expect(created).toMatchObject({ role: 'viewer', status: 'pending' });
      expect(await invitation(org, created.id, 'pending')).toBeDefined();
    },
  },
  'GET /api/v1/orgs/:orgId/invitations': {
    status: 200,
    prepare: async (org) => {
      await ownerInvites(org);
      return { method: 'GET', url: orgUrl(org, '/invitations') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/invitations/:id/resend': {
    status: 200,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/invitations/${await ownerInvites(org)}/resend`),
    }),
    effect: async (org, res) => expect((await invitation(org, res.json().id, 'pending')).sendCount).toBe(2),
  },
  'DELETE /api/v1/orgs/:orgId/invitations/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/invitations/${await ownerInvites(org)}`),
    }),
    effect: async (org, _res, req) =>
      expect(await invitation(org, req.url.split('/').at(-1)!, 'cancelled')).toBeDefined(),
  },
  'GET /api/v1/orgs/:orgId/join-link': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/join-link') }),
    effect: (_org, res) => expect(typeof res.json().enabled).toBe('boolean'),
  },
  'POST /api/v1/orgs/:orgId/join-link': {
    status: 201,
    prepare: async (org) => ({ method: 'POST', url: orgUrl(org, '/join-link') }),
    effect: async (org, res) => {
      expect(res.json().token.length).toBeGreaterThanOrEqual(20);
      expect(
        expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/join-link')), 200).json().enabled,
      ).toBe(true);
    },
  },
  'DELETE /api/v1/orgs/:orgId/join-link': {
    status: 204,
    prepare: async (org) => {
      expectStatus(await as(t.app, org.owner).post(orgUrl(org, '/join-link')), 201);
      return { method: 'DELETE', url: orgUrl(org, '/join-link') };
    },
    effect: async (org) =>
      expect(
        expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/join-link')), 200).json().enabled,
      ).toBe(false),
  },
  'GET /api/v1/orgs/:orgId/join-requests': {
    status: 200,
    prepare: async (org) => {
      await requestToJoin(t.app, org);
      return { method: 'GET', url: orgUrl(org, '/join-requests') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/join-requests/:id/approve': {
    status: 200,
    prepare: async (org) => {
      const { id } = await requestToJoin(t.app, org);
      return {
        method: 'POST',
        url: orgUrl(org, `/join-requests/${id}/approve`),
        payload: { role: 'viewer' },
      };
    },
    effect: async (org, res) => {
      expect(res.json().role).toBe('viewer');
      expect(expectStatus(await member(org, res.json().userId), 200).json()).toMatchObject({
        role: 'viewer',
        status: 'active',
      });
    },
  },
  'POST /api/v1/orgs/:orgId/join-requests/:id/deny': {
    status: 204,
    prepare: async (org) => {
      const { id } = await requestToJoin(t.app, org);
      return { method: 'POST', url: orgUrl(org, `/join-requests/${id}/deny`) };
    },
    effect: async (org, _res, req) => {
      const id = req.url.split('/').at(-2);
      const denied = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/join-requests?status=denied')),
        200,
      );
      expect(denied.json().items.map((r: { id: string }) => r.id)).toContain(id);
    },
  },
  'GET /api/v1/orgs/:orgId/audit-events': {
    status: 200,
    prepare: async (org) => {
      const description = `Logged ${rand()}`;
      expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { description }), 200);
      return { method: 'GET', url: orgUrl(org, '/audit-events?action=org.updated&limit=1') };
    },
    effect: (org, res) => {
      const [entry] = res.json().items;
      expect(entry).toMatchObject({ action: 'org.updated', actor: { id: org.owner.userId } });
      expect(entry.after.description).toMatch(/^Logged /);
    },
  },
  'GET /api/v1/orgs/:orgId/audit-events/export': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/audit-events/export?format=jsonl') }),
    effect: async (org, res) => {
      expect(res.headers['content-type']).toContain('application/x-ndjson');
      const lines = res.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const entries = lines.filter((l) => !l.checkpoint);
      // The last line is the signed checkpoint vouching for the last entry exported.
      const { checkpoint } = lines.at(-1);
      expect(checkpoint).toMatchObject({
        orgId: org.orgId,
        seq: entries.at(-1).seq,
        hash: entries.at(-1).hash,
      });
      expect(entries[0].seq).toBe(1);
      // The export itself is the next entry, by whoever asked for it.
      const newest = expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/audit-events?limit=1')),
        200,
      ).json().items[0];
      expect(newest).toMatchObject({
        action: 'audit.exported',
        seq: checkpoint.seq + 1,
        actor: { id: org.actor.userId },
      });
    },
  },
  'GET /api/v1/orgs/:orgId/audit-events/verify': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, '/audit-events/verify?full=true') }),
    effect: (_org, res) => {
      expect(res.json()).toMatchObject({ ok: true, firstSeq: 1, scope: 'full' });
      expect(res.json().checked).toBe(res.json().headSeq);
    },
  },
  'GET /api/v1/orgs/:orgId/audit-checkpoints': {
    status: 200,
    prepare: async (org) => {
      expectStatus(await as(t.app, org.owner).post(orgUrl(org, '/audit-checkpoints')), 201);
      return { method: 'GET', url: orgUrl(org, '/audit-checkpoints') };
    },
    effect: (org, res) => {
      expect(res.json().items.length).toBeGreaterThan(0);
      expect(res.json().items[0]).toMatchObject({ orgId: org.orgId, signature: expect.any(String) });
    },
  },
  'POST /api/v1/orgs/:orgId/audit-checkpoints': {
    status: 201,
    prepare: async (org) => ({ method: 'POST', url: orgUrl(org, '/audit-checkpoints') }),
    effect: async (org, res) => {
      const created = res.json();
      expect(created.orgId).toBe(org.orgId);
      const listed = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/audit-checkpoints')), 200);
      expect(listed.json().items).toContainEqual(created);
    },
  },
  'GET /api/v1/orgs/:orgId/applications': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesApplication(org);
      return { method: 'GET', url: orgUrl(org, '/applications') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/applications': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/applications'),
      payload: { name: `app ${rand()}` },
    }),
    effect: async (org, res) => {
      expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/applications/${res.json().id}`)), 200);
    },
  },
  'GET /api/v1/orgs/:orgId/applications/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/applications/${await ownerCreatesApplication(org)}`),
    }),
  },
  'PATCH /api/v1/orgs/:orgId/applications/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/applications/${await ownerCreatesApplication(org)}`),
      payload: { description: `edited ${rand()}` },
    }),
    effect: (_org, res, req) =>
      expect(res.json().description).toBe((req.payload as { description: string }).description),
  },
  'DELETE /api/v1/orgs/:orgId/applications/:id': {
    status: 204,
    prepare: async (org) => ({
      method: 'DELETE',
      url: orgUrl(org, `/applications/${await ownerCreatesApplication(org)}`),
    }),
    effect: async (org, _res, req) => {
      expect((await as(t.app, org.owner).get(req.url)).statusCode).toBe(404);
    },
  },
  'GET /api/v1/orgs/:orgId/scans': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesScan(org);
      return { method: 'GET', url: orgUrl(org, '/scans') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'POST /api/v1/orgs/:orgId/scans': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/scans'),
      payload: { applicationId: await ownerCreatesApplication(org), modules: ['secrets'] },
    }),
    effect: async (org, res) => {
      expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/scans/${res.json().id}`)), 200);
    },
  },
  'GET /api/v1/orgs/:orgId/scans/:id': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, `/scans/${await ownerCreatesScan(org)}`) }),
  },
  'DELETE /api/v1/orgs/:orgId/scans/:id': {
    status: 204,
    prepare: async (org) => ({ method: 'DELETE', url: orgUrl(org, `/scans/${await ownerCreatesScan(org)}`) }),
    effect: async (org, _res, req) => {
      expect((await as(t.app, org.owner).get(req.url)).statusCode).toBe(404);
    },
  },
  'GET /api/v1/orgs/:orgId/scans/:id/findings': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/scans/${await ownerCreatesScan(org)}/findings`),
    }),
  },
  'GET /api/v1/orgs/:orgId/scans/:id/export': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/scans/${await ownerCreatesScan(org)}/export?format=csv`),
    }),
  },
  'GET /api/v1/orgs/:orgId/automation-tokens': {
    status: 200,
    prepare: async (org) => {
      await ownerCreatesAutomationToken(org);
      return { method: 'GET', url: orgUrl(org, '/automation-tokens') };
    },
    effect: (_org, res) => {
      expect(res.json().items.length).toBeGreaterThan(0);
      expect(res.body).not.toMatch(/gta_[0-9A-Za-z]{38}/);
    },
  },
  'POST /api/v1/orgs/:orgId/automation-tokens': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, '/automation-tokens'),
      payload: { name: `bot ${rand()}`, role: 'viewer' },
    }),
    effect: async (org, res) => {
      const api = withToken(t.app, res.json().token);
      expectStatus(await api.get(orgUrl(org, '/members')), 200);
    },
  },
  'DELETE /api/v1/orgs/:orgId/automation-tokens/:id': {
    status: 204,
    prepare: async (org) => {
      const { id } = await ownerCreatesAutomationToken(org);
      return { method: 'DELETE', url: orgUrl(org, `/automation-tokens/${id}`) };
    },
    effect: async (org, _res, req) => {
      const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/automation-tokens')), 200);
      expect(list.json().items.map((i: { id: string }) => i.id)).not.toContain(req.url.split('/').pop());
    },
  },
  'GET /api/v1/orgs/:orgId/automation-tokens/:id/usage': {
    status: 200,
    prepare: async (org) => {
      const { id, token } = await ownerCreatesAutomationToken(org);
      expectStatus(await withToken(t.app, token).get(orgUrl(org, '/members')), 200);
      return { method: 'GET', url: orgUrl(org, `/automation-tokens/${id}/usage`) };
    },
    effect: (_org, res) => {
      expect(res.json().items[0]).toMatchObject({ method: 'GET', status: 200 });
    },
  },
  'GET /api/v1/orgs/:orgId/personal-tokens': {
    status: 200,
    prepare: async (org) => {
      await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
      return { method: 'GET', url: orgUrl(org, '/personal-tokens') };
    },
    effect: (_org, res) => {
      expect(res.json().items.length).toBeGreaterThan(0);
    },
  },
  'DELETE /api/v1/orgs/:orgId/personal-tokens/:id': {
    status: 204,
    prepare: async (org) => {
      const { id, token } = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
      personalTokens.set(id, token);
      return { method: 'DELETE', url: orgUrl(org, `/personal-tokens/${id}`) };
    },
    effect: async (org, _res, req) => {
      const token = personalTokens.get(req.url.split('/').pop()!)!;
      expectStatus(await withToken(t.app, token).get(orgUrl(org, '/members')), 401);
    },
  },
  ...QUOTA_ROUTES,
  ...BILLING_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...WEBHOOK_ROUTES,
  ...SSO_ROUTES,
  ...SCIM_ROUTES,
  ...AI_INTEGRATION_ROUTES,
  // Findings (written by SARIF ingestion; seeded here straight into the database).
  'GET /api/v1/orgs/:orgId/findings': {
    status: 200,
    prepare: async (org) => {
      await findingOf(org);
      return { method: 'GET', url: orgUrl(org, '/findings?severity=high') };
    },
    effect: (_org, res) => expect(res.json().items.length).toBeGreaterThan(0),
  },
  'GET /api/v1/orgs/:orgId/findings/:id': {
    status: 200,
    prepare: async (org) => ({ method: 'GET', url: orgUrl(org, `/findings/${await findingOf(org)}`) }),
    effect: (_org, res) => expect(res.json().severity).toBe('high'),
  },
  'PATCH /api/v1/orgs/:orgId/findings/:id': {
    status: 200,
    prepare: async (org) => ({
      method: 'PATCH',
      url: orgUrl(org, `/findings/${await findingOf(org)}`),
      payload: { status: 'triaged' },
    }),
    effect: async (org, _res, req) => {
      expect(expectStatus(await as(t.app, org.owner).get(req.url), 200).json().status).toBe('triaged');
    },
  },
  'GET /api/v1/orgs/:orgId/findings/:id/comments': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/findings/${await findingOf(org)}/comments`),
    }),
  },
  'POST /api/v1/orgs/:orgId/findings/:id/comments': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/findings/${await findingOf(org)}/comments`),
      payload: { body: 'Seen it' },
    }),
    effect: async (org, _res, req) => {
      const list = expectStatus(await as(t.app, org.owner).get(req.url), 200).json();
      expect(list.items.map((c: { body: string }) => c.body)).toContain('Seen it');
    },
  },
  'GET /api/v1/orgs/:orgId/findings/:id/remediations': {
    status: 200,
    prepare: async (org) => ({
      method: 'GET',
      url: orgUrl(org, `/findings/${await findingOf(org)}/remediations`),
    }),
  },
  'POST /api/v1/orgs/:orgId/findings/:id/remediations': {
    status: 201,
    prepare: async (org) => ({
      method: 'POST',
      url: orgUrl(org, `/findings/${await findingOf(org)}/remediations`),
      payload: { summary: 'Patch it' },
    }),
    effect: async (org, _res, req) => {
      const list = expectStatus(await as(t.app, org.owner).get(req.url), 200).json();
      expect(list.items.map((r: { summary: string }) => r.summary)).toContain('Patch it');
    },
  },
  'POST /api/v1/orgs/:orgId/remediations/:id/approve': {
    status: 200,
    prepare: async (org) => {
      const id = expectStatus(
        await as(t.app, org.owner).post(orgUrl(org, `/findings/${await findingOf(org)}/remediations`), {
          summary: 'To approve',
        }),
        201,
      ).json().id;
      return { method: 'POST', url: orgUrl(org, `/remediations/${id}/approve`) };
    },
    effect: (_org, res) => expect(res.json().status).toBe('approved'),
  },
};

/** Personal tokens made by `prepare`, by id, for `effect` to try. */
const personalTokens = new Map<string, string>();

async function ownerCreatesAutomationToken(org: Org): Promise<{ id: string; token: string }> {
  const res = await as(t.app, org.owner).post(orgUrl(org, '/automation-tokens'), {
    name: `bot ${rand()}`,
    role: 'viewer',
  });
  return expectStatus(res, 201).json();
}

const routeKey = (r: Pick<RouteInventoryEntry, 'method' | 'url'>) => `${r.method} ${r.url}`;
const permissionRoutes = () =>
  t.app.gatehouse.routes.filter((r) => r.access !== 'public' && r.access !== 'authenticated');
const inventoryEntry = (key: string) => {
  const entry = t.app.gatehouse.routes.find((r) => routeKey(r) === key);
  if (!entry) throw new Error(`${key} is in the table but not in the route inventory`);
  return entry;
};

/** On PostgreSQL, every statement the routes below make, for the org-scoping check at the end. */
const capture = onPostgres ? captureStatements() : null;

beforeAll(async () => {
  // Webhooks and the OIDC IdP are on loopback: allowed here, as an operator allows an
  // on-premises receiver or IdP.
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  oidcIdp = await startOidcIdp({
    clients: [
      {
        client_id: 'matrix',
        client_secret: 'matrix-client-secret-0123456789',
        redirect_uris: ['http://localhost:3000/sso/matrix/oidc/callback'],
      },
    ],
  });
  shared = await newOrg();
});
afterAll(async () => {
  capture?.stop();
  await oidcIdp?.close();
  await t?.close();
});

describe('the permission catalog and the built-in roles', () => {
  it('the catalog is exactly the product’s', async () => {
    const who = await signUp(t.app);
    const res = expectStatus(await as(t.app, who).get('/api/v1/permissions'), 200).json();
    const keys = res.items.map((p: { key: string }) => p.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sorted(keys)).toEqual(sorted(CATALOG));
    for (const p of res.items) expect(`${p.resource}:${p.action}`).toBe(p.key);
  });

  it('a new organization has exactly the five built-in roles with the product’s permission sets', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const roles = expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/roles')), 200).json().items;
    expect(roles.map((r: { slug: string }) => r.slug)).toEqual([
      'owner',
      'admin',
      'cyberoper',
      'developer',
      'viewer',
    ]);
    for (const role of roles) {
      const expected = BUILTIN_TABLE[role.slug]!;
      expect(role, role.slug).toMatchObject({
        name: expected.name,
        builtin: true,
        editable: role.slug !== 'owner',
      });
      expect(sorted(role.permissions), role.slug).toEqual(sorted(expected.permissions));
      expect(new Set(role.permissions).size, role.slug).toBe(role.permissions.length);
    }
    // Owner holds the whole catalog; the table's rows partition it.
    expect(sorted(BUILTIN_TABLE.owner!.permissions)).toEqual(sorted(CATALOG));
    // What a member is told about their own grants agrees with the role list.
    const me = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org, `/members/${org.owner.userId}`)),
      200,
    ).json();
    expect(sorted(me.permissions)).toEqual(sorted(CATALOG));
  });

  describe('spot checks: each built-in role may call one route and not another', () => {
    let org: Org;
    const people: Record<string, Person> = {};
    beforeAll(async () => {
      org = await newOrg();
      for (const role of ['admin', 'cyberoper', 'developer', 'viewer']) {
        people[role] = await addMember(t.app, org, role, { name: `${role} person` }, t.mail);
      }
    });

    const cases: Array<[string, string, number, (o: Org) => RequestSpec]> = [
      ['viewer', 'GET members (members:read)', 200, (o) => ({ method: 'GET', url: orgUrl(o, '/members') })],
      [
        'viewer',
        'POST invitations (members:manage)',
        403,
        (o) => ({
          method: 'POST',
          url: orgUrl(o, '/invitations'),
          payload: { emails: [uniqueEmail()], role: 'viewer' },
        }),
      ],
      ['viewer', 'GET the org profile (settings:read)', 403, (o) => ({ method: 'GET', url: orgUrl(o) })],
      [
        'developer',
        'GET a member (members:read)',
        200,
        (o) => ({ method: 'GET', url: orgUrl(o, `/members/${o.owner.userId}`) }),
      ],
      [
        'developer',
        'PATCH the org profile (settings:update)',
        403,
        (o) => ({ method: 'PATCH', url: orgUrl(o), payload: { description: 'dev was here' } }),
      ],
      [
        'developer',
        'POST a role (roles:manage)',
        403,
        (o) => ({
          method: 'POST',
          url: orgUrl(o, '/roles'),
          payload: { slug: `d-${rand()}`, name: 'D', permissions: [] },
        }),
      ],
      [
        'cyberoper',
        'GET a role (members:read)',
        200,
        (o) => ({ method: 'GET', url: orgUrl(o, '/roles/viewer') }),
      ],
      [
        'cyberoper',
        'GET invitations (members:manage)',
        403,
        (o) => ({ method: 'GET', url: orgUrl(o, '/invitations') }),
      ],
      ['cyberoper', 'GET the org profile (settings:read)', 403, (o) => ({ method: 'GET', url: orgUrl(o) })],
      [
        'admin',
        'PATCH the org profile (settings:update)',
        200,
        (o) => ({ method: 'PATCH', url: orgUrl(o), payload: { industry: 'Security' } }),
      ],
      [
        'admin',
        'POST a role (roles:manage)',
        201,
        (o) => ({
          method: 'POST',
          url: orgUrl(o, '/roles'),
          payload: { slug: `a-${rand()}`, name: 'A', permissions: ['findings:read'] },
        }),
      ],
      [
        'admin',
        'DELETE the org (org:delete)',
        403,
        (o) => ({ method: 'DELETE', url: orgUrl(o), payload: { password: STRONG_PASSWORD } }),
      ],
      [
        'admin',
        'POST ownership-transfer (org:transfer)',
        403,
        (o) => ({
          method: 'POST',
          url: orgUrl(o, '/ownership-transfer'),
          payload: { userId: o.actor.userId },
        }),
      ],
    ];

    it.each(cases)('%s: %s → %i', async (role, _what, status, build) => {
      const req = build(org);
      const before = status === 403 ? await orgState(t.app, org.owner, org.orgId) : undefined;
      const res = await sendAs(t.app, people[role], req);
      if (status === 403) {
        expectProblem(res, 403, 'permission_denied');
        expect(await orgState(t.app, org.owner, org.orgId)).toEqual(before);
      } else {
        expect(res.statusCode, res.body).toBe(status);
      }
    });
  });
});

describe('every permission route: without the permission 403, with it 2xx', () => {
  it('every permission route in the inventory has an entry in the table, and every entry is a live route', () => {
    const live = permissionRoutes().map(routeKey);
    const missing = live.filter((k) => !(k in ROUTES));
    expect(missing, 'permission routes with no entry in ROUTES: add one').toEqual([]);
    const stale = Object.keys(ROUTES).filter((k) => !live.includes(k));
    expect(stale, 'ROUTES entries that are not permission routes of the inventory').toEqual([]);
  });

  it.each(Object.keys(ROUTES))('%s', async (key) => {
    const permission = inventoryEntry(key).access;
    expect(CATALOG, `${key} declares a catalog permission`).toContain(permission);
    const c = ROUTES[key]!;
    const org = c.ownOrg ? await newOrg() : shared;

    await setRole(org, org.actor, await roleWithout(org, permission));
    const req = await c.prepare(org);
    const before = await orgState(t.app, org.owner, org.orgId);
    const denied = await sendAs(t.app, org.actor, req);
    expectProblem(denied, 403, 'permission_denied');
    expect(denied.json().detail).toContain(permission);
    expect(await orgState(t.app, org.owner, org.orgId), 'a refused request changed nothing').toEqual(before);

    await setRole(org, org.actor, EVERYTHING);
    let ok: LightMyRequestResponse;
    if (c.ownerOnly) {
      const stateWithEverything = await orgState(t.app, org.owner, org.orgId);
      const refused = await sendAs(t.app, org.actor, req);
      expectProblem(refused, 403, 'permission_denied');
      expect(await orgState(t.app, org.owner, org.orgId)).toEqual(stateWithEverything);
      ok = await sendAs(t.app, org.owner, req);
    } else {
      ok = await sendAs(t.app, org.actor, req);
    }
    expect(ok.statusCode, ok.body).toBe(c.status);
    await c.effect?.(org, ok, req);
  });
});

describe('who is not a member never reaches an org route', () => {
  /** A request to the route with every path parameter filled in (shared org, its owner, a role slug). */
  const anyRequest = (r: RouteInventoryEntry): RequestSpec => {
    const url = r.url
      .replace(':orgId', shared.orgId)
      .replace(':userId', shared.owner.userId)
      .replace(':slug', 'viewer')
      .replace(/:[A-Za-z]+/g, () => randomUUID());
    return {
      method: r.method as RequestSpec['method'],
      url,
      ...(r.method === 'GET' ? {} : { payload: {} }),
    };
  };
  const orgRoutes = () => t.app.gatehouse.routes.filter((r) => r.url.includes(':orgId'));

  it('anonymous: 401 unauthenticated on every route that is not public, and nothing changes', async () => {
    const routes = t.app.gatehouse.routes.filter((r) => r.access !== 'public');
    expect(routes.length).toBeGreaterThan(permissionRoutes().length);
    const before = await orgState(t.app, shared.owner, shared.orgId);
    for (const route of routes) {
      const res = await sendAs(t.app, undefined, anyRequest(route));
      expect(res.statusCode, `${routeKey(route)}: ${res.body}`).toBe(401);
      expect(res.json().code, routeKey(route)).toBe('unauthenticated');
    }
    expect(await orgState(t.app, shared.owner, shared.orgId)).toEqual(before);
  });

  it('signed in but not a member: 404 not_found on every org route, as for an org that does not exist', async () => {
    const stranger = await signUp(t.app, { name: 'Sam Stranger' });
    const routes = orgRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(permissionRoutes().length);
    // The valid request where the table has one (ids that exist, a password where one is asked for).
    const requests: Array<[string, RequestSpec]> = [];
    for (const route of routes) {
      const key = routeKey(route);
      const c = ROUTES[key];
      requests.push([key, c ? await c.prepare(shared) : anyRequest(route)]);
    }
    const before = await orgState(t.app, shared.owner, shared.orgId);
    const withoutRequestId = ({ requestId: _, ...problem }: Record<string, unknown>) => problem;
    for (const [key, req] of requests) {
      const res = await sendAs(t.app, stranger, req);
      expect(res.statusCode, `${key}: ${res.body}`).toBe(404);
      expect(res.json().code, key).toBe('not_found');
      const nowhere = await sendAs(t.app, stranger, {
        ...req,
        url: req.url.replace(shared.orgId, randomUUID()),
      });
      expect(withoutRequestId(res.json()), `${key}: same answer as for no such org`).toEqual(
        withoutRequestId(nowhere.json()),
      );
    }
    expect(await orgState(t.app, shared.owner, shared.orgId)).toEqual(before);
  });
});

describe('every statement on an organization’s data names its organization (PostgreSQL)', () => {
  // Run last: the statements of every route above (and of the jobs they queued) were captured.
  it.skipIf(!onPostgres)(
    'each statement on a table with org_id filters or writes org_id, but the known exceptions',
    async () => {
      const found = await unscopedStatements(t.db.database.db, capture!.statements);
      expect(found.checked).toBeGreaterThan(150);
      expect(found.unscoped, found.unscoped.join('\n')).toEqual([]);
    },
  );
});
