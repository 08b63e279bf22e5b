import { randomBytes } from 'node:crypto';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditRetention } from '../../src/server/modules/audit-log/index.ts';
import {
  issueInvoice,
  renewDueSubscriptions,
  SIGNATURE_HEADER,
  signatureHeader,
} from '../../src/server/modules/billing/index.ts';
import { applyScanRetention, purgeDeletedOrganizations } from '../../src/server/modules/org-data/index.ts';
import type { AuditEntry, ChainKind } from '../../src/server/platform/audit/entry.ts';
import { entryFromRow } from '../../src/server/platform/audit/log.ts';
import { listCommands } from '../../src/server/platform/command.ts';
import { auditChains, auditEvents } from '../../src/server/platform/db/schema.ts';
import {
  createTestApp,
  ORIGIN,
  STRONG_PASSWORD,
  sessionCookie,
  signUp,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../support/app.ts';
import { seedApplication, seedFindings } from '../support/findings.ts';
import { type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  INVITATION_LINK,
  type Person,
  requestToJoin,
  sendAs,
  TINY_PNG,
  tokenFromMail,
} from '../support/orgs.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { createTestSamlIdp } from '../support/saml-idp.ts';
import { enableTwoFactor, totpCode } from '../support/two-factor.ts';
import { SoftPasskey } from '../support/webauthn.ts';

/**
 * The audit inventory: every command there is (`listCommands()`, once every module is loaded) has
 * an entry in INVENTORY saying how to make it happen through the HTTP API (retention through
 * `runAuditRetention`), and whose log, actor and target the entry it writes must name. For each:
 * the heads of every chain are read, the command is triggered, and exactly one new entry — with
 * that action, actor and target — is in the expected chain, no other chain grew, and the chain
 * still verifies. A new command with no entry here fails the suite until someone says how it is
 * audited.
 *
 * Entries are read from the database: some logs are no longer readable through the API once the
 * command ran (a deleted organization's, a signed-out user's).
 */

const DAY_MS = 86_400_000;
const NEW_PASSWORD = 'copper-lantern-harbor-77';

interface ChainRef {
  kind: ChainKind;
  id: string;
}

/** What the one entry a command writes must say. */
interface Expected {
  chain: ChainRef;
  /** A person (a user actor), the system (retention), or an org's identity provider (a SCIM token). */
  actor: Pick<Person, 'userId' | 'email'> | 'system' | 'anonymous' | { scimTokenId: string };
  /** With the words that name it (`name`, `email`) exactly when the entry must carry them. */
  target: { type: string; id: string; name?: string; email?: string };
  /** Members `before` / `after` must hold (role names beside slugs, the people named). */
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

interface InventoryCase {
  /** How the command is made to happen, for the test's name. */
  how: string;
  /**
   * Sets up what the command acts on (whatever that writes to the log is not counted) and
   * returns the trigger: one request (or job run) that makes the command happen once.
   */
  arrange(): Promise<() => Promise<Expected>>;
  /** Other commands that record the same action (connecting and removing an IdP), each checked alike. */
  others?: Array<Omit<InventoryCase, 'others'>>;
}

let t: TestApp;

const BILLING_SECRET = 'whsec_inventory';

/** An open invoice of a new org, issued as a plan change would. */
async function billedInvoice(): Promise<{ orgId: string; id: string; name: string }> {
  const org = await createOrg(t.app, { name: `Billed ${rand()}`, plan: 'pro' });
  const issued = await t.db.database.db.transaction((tx) =>
    issueInvoice(tx, org.orgId, {
      reason: 'plan_change',
      plan: 'pro',
      cycle: 'monthly',
      periodStart: new Date(),
      periodEnd: new Date(Date.now() + 30 * DAY_MS),
      currency: 'usd',
      lines: [{ description: 'Pro', quantity: 1, unitAmount: 2900, amount: 2900 }],
    }),
  );
  return { orgId: org.orgId, id: issued.id, name: `INV-${String(issued.number).padStart(6, '0')}` };
}

/** The payment provider reports on the invoice, signed. */
function providerEvent(type: string, invoice: { orgId: string; id: string }) {
  const body = JSON.stringify({
    id: `evt_${rand()}`,
    type,
    data: { orgId: invoice.orgId, invoiceId: invoice.id },
  });
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/billing/provider-events',
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signatureHeader(body, BILLING_SECRET),
    },
    payload: body,
  });
}

/** A Scale organization most cases act in; cases that end or hand over an org make their own. */
let shared: { orgId: string; owner: Person };

const rand = () => randomBytes(4).toString('hex');

/** An application of the shared org named `app <its id>`; returns its id. */
async function sharedApplication(): Promise<string> {
  const made = expectStatus(
    await as(t.app, shared.owner).post(at(shared.orgId, '/applications'), { name: `app ${rand()}` }),
    201,
  ).json();
  expectStatus(
    await as(t.app, shared.owner).patch(at(shared.orgId, `/applications/${made.id}`), {
      name: `app ${made.id}`,
    }),
    200,
  );
  return made.id;
}
const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}${rest}`;
const orgChain = (orgId: string): ChainRef => ({ kind: 'org', id: orgId });
const userChain = (who: { userId: string }): ChainRef => ({ kind: 'user', id: who.userId });
const organization = (orgId: string, name: string) => ({ type: 'organization', id: orgId, name });
/** The shared organization's name. */
const SHARED_NAME = 'Audited Inc';
const sharedOrg = () => organization(shared.orgId, SHARED_NAME);
/** The name a person gets when a test names no one (`signUp`). */
const DEFAULT_NAME = 'Test User';
const memberNamed = (who: Pick<Person, 'userId' | 'email'>, name: string) => ({
  type: 'member',
  id: who.userId,
  email: who.email,
  name,
});
const userNamed = (who: Pick<Person, 'userId' | 'email'>, name = DEFAULT_NAME) => ({
  type: 'user',
  id: who.userId,
  email: who.email,
  name,
});

/** Every chain's head sequence number (a chain that does not exist yet has none). */
async function chainHeads(): Promise<Map<string, { kind: ChainKind; seq: number }>> {
  const rows = await t.db.database.db
    .select({ id: auditChains.chainId, kind: auditChains.kind, seq: auditChains.headSeq })
    .from(auditChains);
  return new Map(rows.map((r) => [r.id, { kind: r.kind as ChainKind, seq: r.seq }]));
}

/** The chains that grew since `before`, as `kind:id`, sorted. */
async function grownChains(before: Map<string, { seq: number }>): Promise<string[]> {
  const after = await chainHeads();
  return [...after]
    .filter(([id, head]) => head.seq > (before.get(id)?.seq ?? 0))
    .map(([id, head]) => `${head.kind}:${id}`)
    .sort();
}

const chainName = (c: ChainRef) => `${c.kind}:${c.id}`;

/** A chain's entries after sequence number `afterSeq`, oldest first, as the API shows them. */
async function entriesSince(chain: ChainRef, afterSeq: number): Promise<AuditEntry[]> {
  const rows = await t.db.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, chain.id), gt(auditEvents.seq, afterSeq)))
    .orderBy(asc(auditEvents.seq));
  return rows.map((row) => entryFromRow(chain.kind, row));
}

const actorOf = (actor: Expected['actor']) =>
  actor === 'system' || actor === 'anonymous'
    ? { type: actor, id: null, email: null }
    : 'scimTokenId' in actor
      ? { type: 'scim', id: actor.scimTokenId, email: null }
      : { type: 'user', id: actor.userId, email: actor.email };

async function expectVerifies(chain: ChainRef): Promise<void> {
  const report = await t.app.gatehouse.audit.verify(t.db.database.db, chain);
  expect(report.ok, `${chainName(chain)} verifies: ${report.detail ?? ''}`).toBe(true);
}

/** The session a cookie belongs to. */
async function sessionIdOf(who: { cookie: string }): Promise<string> {
  const list = expectStatus(await as(t.app, who).get('/api/v1/me/sessions'), 200).json();
  return list.items.find((s: { current: boolean }) => s.current).id;
}

/** Registers a software passkey for `who`; returns the passkey's id. */
async function addPasskey(who: { cookie: string; userId: string }, name: string): Promise<string> {
  await verifyEmailInDatabase(t.app, who.userId);
  const options = expectStatus(await as(t.app, who).post('/api/v1/me/passkeys/options'), 200).json();
  const response = new SoftPasskey().register(options);
  return expectStatus(await as(t.app, who).post('/api/v1/me/passkeys', { name, response }), 201).json().id;
}

async function logIn(who: { email: string; password: string }) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { origin: ORIGIN },
    payload: { email: who.email, password: who.password },
  });
  expectStatus(res, 200);
  return { cookie: sessionCookie(res) };
}

async function ownerInvites(org: { orgId: string; owner: Person }, email = uniqueEmail('invitee')) {
  const res = await as(t.app, org.owner).post(at(org.orgId, '/invitations'), {
    emails: [email],
    role: 'viewer',
  });
  return { id: expectStatus(res, 201).json().items[0].id as string, email };
}

async function ownerCreatesRole(org: { orgId: string; owner: Person }, slug = `r-${rand()}`) {
  const name = `Role ${slug}`;
  const res = await as(t.app, org.owner).post(at(org.orgId, '/roles'), {
    slug,
    name,
    permissions: ['findings:read'],
  });
  return { id: expectStatus(res, 201).json().id as string, slug, name };
}

async function putLogo(org: { orgId: string; owner: Person }) {
  return sendAs(t.app, org.owner, {
    method: 'PUT',
    url: at(org.orgId, '/logo'),
    payload: TINY_PNG,
    contentType: 'image/png',
  });
}

/** Every command's action, and how it is audited. */
/** An Enterprise organization (budgets and boosts), made on first use. */
let enterpriseOrg: { orgId: string; owner: Person } | undefined;
async function enterprise() {
  enterpriseOrg ??= await createOrg(t.app, { name: 'Budgeted Inc', plan: 'enterprise' });
  return enterpriseOrg;
}

async function ownerCreatesDepartment(org: { orgId: string; owner: Person }) {
  const name = `Team ${rand()}`;
  const res = await as(t.app, org.owner).post(at(org.orgId, '/departments'), { name, monthlyBudget: 10 });
  return { id: expectStatus(res, 201).json().id as string, name };
}

const QUOTA_INVENTORY: Record<string, InventoryCase> = {
  'department.created': {
    how: 'POST /orgs/:orgId/departments',
    arrange: async () => {
      const org = await enterprise();
      return async () => {
        const made = await ownerCreatesDepartment(org);
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'department', ...made },
          after: { monthlyBudget: 10, memberIds: [] },
        };
      };
    },
  },
  'department.updated': {
    how: 'PATCH /orgs/:orgId/departments/:id',
    arrange: async () => {
      const org = await enterprise();
      const made = await ownerCreatesDepartment(org);
      return async () => {
        expectStatus(
          await as(t.app, org.owner).patch(at(org.orgId, `/departments/${made.id}`), { monthlyBudget: 20 }),
          200,
        );
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'department', ...made },
          before: { monthlyBudget: 10 },
          after: { monthlyBudget: 20 },
        };
      };
    },
  },
  'department.deleted': {
    how: 'DELETE /orgs/:orgId/departments/:id',
    arrange: async () => {
      const org = await enterprise();
      const made = await ownerCreatesDepartment(org);
      return async () => {
        expectStatus(await as(t.app, org.owner).delete(at(org.orgId, `/departments/${made.id}`)), 204);
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'department', ...made },
          before: { monthlyBudget: 10 },
        };
      };
    },
  },
  'member.budget_set': {
    how: 'PUT /orgs/:orgId/members/:userId/budget',
    arrange: async () => {
      const org = await enterprise();
      const who = await addMember(t.app, org, 'developer', { name: 'Bud Get' }, t.mail);
      return async () => {
        expectStatus(
          await as(t.app, org.owner).put(at(org.orgId, `/members/${who.userId}/budget`), {
            monthlyTokens: 25,
          }),
          200,
        );
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: memberNamed(who, 'Bud Get'),
          before: { monthlyTokens: null },
          after: { monthlyTokens: 25 },
        };
      };
    },
  },
  'quota.boosted': {
    how: 'POST /orgs/:orgId/quota-boosts',
    arrange: async () => {
      const org = await enterprise();
      return async () => {
        const res = await as(t.app, org.owner).post(at(org.orgId, '/quota-boosts'), { tokens: 100 });
        const { id } = expectStatus(res, 201).json();
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'quota_boost', id },
          after: { tokens: 100 },
        };
      };
    },
  },
};

/** A finding of the shared org, seeded as SARIF ingestion would leave it. */
async function sharedFinding(title: string): Promise<string> {
  const app = await seedApplication(t.app, shared.orgId);
  const [id] = await seedFindings(t.app, shared.orgId, app, [{ title }]);
  return id!;
}

/** Notification preferences, the Slack channel and quota alerts. */
const SLACK_HOOK = 'http://127.0.0.1:9/services/T0/B0/audit';
/** AI connections and integrations point at loopback (allowlisted), nobody listening. */
const AI_SETTINGS = { provider: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini' };

/** An integration of the shared org (GitLab, with a secret); its id and name. */
async function sharedIntegration(): Promise<{ id: string; name: string }> {
  const name = `GitLab ${rand()}`;
  const res = await as(t.app, shared.owner).post(at(shared.orgId, '/integrations'), {
    kind: 'scm',
    provider: 'gitlab',
    name,
    config: { baseUrl: 'http://127.0.0.1:9/api/v4' },
    secret: `glpat-${rand()}`,
  });
  return { id: expectStatus(res, 201).json().id, name };
}

const NOTIFICATION_INVENTORY: Record<string, InventoryCase> = {
  'user.notifications_updated': {
    how: 'PATCH /me/notifications → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(await as(t.app, who).patch('/api/v1/me/notifications', { emailDigest: 'weekly' }), 200);
        return {
          chain: userChain(who),
          actor: who,
          target: userNamed(who),
          after: { emailDigest: 'weekly', phoneSet: false },
        };
      };
    },
  },
  'ai_connection.updated': {
    how: 'PUT /orgs/:orgId/ai-connections/:purpose',
    arrange: async () => async () => {
      const model = `model-${rand()}`;
      expectStatus(
        await as(t.app, shared.owner).put(at(shared.orgId, '/ai-connections/remediator'), {
          ...AI_SETTINGS,
          model,
          apiKey: `sk-audited-${rand()}`,
        }),
        200,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'ai_connection', id: 'remediator', name: 'AI remediator' },
        after: { ...AI_SETTINGS, purpose: 'remediator', model, apiKeyChanged: true },
      };
    },
  },
  'ai_connection.deleted': {
    how: 'DELETE /orgs/:orgId/ai-connections/:purpose',
    arrange: async () => {
      expectStatus(
        await as(t.app, shared.owner).put(at(shared.orgId, '/ai-connections/validator'), {
          ...AI_SETTINGS,
          apiKey: `sk-audited-${rand()}`,
        }),
        200,
      );
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).delete(at(shared.orgId, '/ai-connections/validator')),
          204,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'ai_connection', id: 'validator', name: 'AI validator' },
          before: { ...AI_SETTINGS, purpose: 'validator' },
        };
      };
    },
  },
  'integration.created': {
    how: 'POST /orgs/:orgId/integrations',
    arrange: async () => async () => {
      const name = `Jira ${rand()}`;
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/integrations'), {
        kind: 'ticketing',
        provider: 'jira',
        name,
        config: { baseUrl: 'http://127.0.0.1:9', project: 'SEC' },
        secret: `jira-${rand()}`,
      });
      const { id } = expectStatus(res, 201).json();
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'integration', id, name },
        after: {
          kind: 'ticketing',
          provider: 'jira',
          name,
          config: { baseUrl: 'http://127.0.0.1:9', project: 'SEC' },
          secretSet: true,
        },
      };
    },
  },
  'integration.updated': {
    how: 'PATCH /orgs/:orgId/integrations/:id',
    arrange: async () => {
      const { id, name } = await sharedIntegration();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/integrations/${id}`), {
            secret: `new-${rand()}`,
          }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'integration', id, name },
          before: { name },
          after: { name, secretChanged: true },
        };
      };
    },
  },
  'integration.deleted': {
    how: 'DELETE /orgs/:orgId/integrations/:id',
    arrange: async () => {
      const { id, name } = await sharedIntegration();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/integrations/${id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'integration', id, name },
          before: { kind: 'scm', provider: 'gitlab', name, secretSet: true },
        };
      };
    },
  },
  'slack.updated': {
    how: 'PUT /orgs/:orgId/slack',
    arrange: async () => async () => {
      expectStatus(
        await as(t.app, shared.owner).put(at(shared.orgId, '/slack'), {
          webhookUrl: SLACK_HOOK,
          events: ['scan.completed'],
          minSeverity: 'high',
        }),
        200,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'slack', id: shared.orgId, name: 'Slack' },
        after: { webhookHost: '127.0.0.1:9', webhookUrlChanged: true },
      };
    },
  },
  'slack.deleted': {
    how: 'DELETE /orgs/:orgId/slack',
    arrange: async () => {
      const org = await createOrg(t.app, { name: 'Slack Leaver' });
      expectStatus(
        await as(t.app, org.owner).put(at(org.orgId, '/slack'), {
          webhookUrl: SLACK_HOOK,
          events: [],
          minSeverity: 'low',
        }),
        200,
      );
      return async () => {
        expectStatus(await as(t.app, org.owner).delete(at(org.orgId, '/slack')), 204);
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'slack', id: org.orgId, name: 'Slack' },
          before: { webhookHost: '127.0.0.1:9', minSeverity: 'low' },
        };
      };
    },
  },
  'quota_alerts.updated': {
    how: 'PATCH /orgs/:orgId/quota-alerts',
    arrange: async () => async () => {
      const thresholds = rand() < '8' ? [75] : [90];
      expectStatus(
        await as(t.app, shared.owner).patch(at(shared.orgId, '/quota-alerts'), {
          thresholds,
          channels: ['email'],
        }),
        200,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: sharedOrg(),
        after: { thresholds, channels: ['email'] },
      };
    },
  },
};

/**
 * Single sign-on. Each IdP case has an org of its own (an org has one IdP at a time); OIDC's
 * discovery document comes from the real test IdP on loopback, SAML is connected with the fields
 * form and the test IdP's certificate.
 */
let oidcIdp: OidcIdp;
const samlIdp = createTestSamlIdp();
const OIDC_SECRET = 'audit-client-secret-0123456789';
const ssoTarget = (org: { orgId: string }, name: string) => ({ type: 'sso', id: org.orgId, name });

async function orgWithOidc(name: string) {
  const org = await createOrg(t.app, { name });
  expectStatus(
    await as(t.app, org.owner).put(at(org.orgId, '/sso/oidc'), {
      issuer: oidcIdp.issuer,
      clientId: 'audited',
      clientSecret: OIDC_SECRET,
    }),
    200,
  );
  return org;
}

const SAML_FIELDS = () => ({
  idpEntityId: samlIdp.entityId,
  idpSsoUrl: samlIdp.ssoUrl,
  idpCertificates: [samlIdp.certificate],
});

/** An org connected to the test SAML IdP; its SP's entity ID and ACS URL, and the certificate's fingerprint. */
async function orgWithSaml(name: string, settings: Record<string, unknown> = {}) {
  const org = await createOrg(t.app, { name });
  const saml = expectStatus(
    await as(t.app, org.owner).put(at(org.orgId, '/sso/saml'), SAML_FIELDS()),
    200,
  ).json();
  if (Object.keys(settings).length > 0) {
    expectStatus(await as(t.app, org.owner).patch(at(org.orgId, '/sso'), settings), 200);
  }
  return {
    ...org,
    spEntityId: saml.spEntityId as string,
    acsUrl: saml.acsUrl as string,
    fingerprint: saml.certificates[0].fingerprintSha256 as string,
  };
}

async function sharedGroupMapping(idpGroup = `group-${rand()}`) {
  const res = await as(t.app, shared.owner).post(at(shared.orgId, '/sso/group-mappings'), {
    idpGroup,
    role: 'developer',
  });
  return { id: expectStatus(res, 201).json().id as string, idpGroup };
}

const SSO_INVENTORY: Record<string, InventoryCase> = {
  'sso.updated': {
    how: 'PATCH /orgs/:orgId/sso',
    arrange: async () => async () => {
      const groupsAttribute = `groups-${rand()}`;
      expectStatus(await as(t.app, shared.owner).patch(at(shared.orgId, '/sso'), { groupsAttribute }), 200);
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: ssoTarget(shared, SHARED_NAME),
        before: { enforcement: 'coexist' },
        after: { enforcement: 'coexist', groupsAttribute },
      };
    },
  },
  'sso.oidc_updated': {
    how: 'PUT /orgs/:orgId/sso/oidc (the IdP’s discovery fetched first)',
    arrange: async () => {
      const org = await createOrg(t.app, { name: 'OIDC Joiner' });
      return async () => {
        expectStatus(
          await as(t.app, org.owner).put(at(org.orgId, '/sso/oidc'), {
            issuer: oidcIdp.issuer,
            clientId: 'audited',
            clientSecret: OIDC_SECRET,
          }),
          200,
        );
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: ssoTarget(org, 'OIDC Joiner'),
          after: {
            issuer: oidcIdp.issuer,
            clientId: 'audited',
            scopes: ['openid', 'email', 'profile'],
            clientSecretChanged: true,
          },
        };
      };
    },
    others: [
      {
        how: 'DELETE /orgs/:orgId/sso/oidc',
        arrange: async () => {
          const org = await orgWithOidc('OIDC Leaver');
          return async () => {
            expectStatus(await as(t.app, org.owner).delete(at(org.orgId, '/sso/oidc')), 204);
            return {
              chain: orgChain(org.orgId),
              actor: org.owner,
              target: ssoTarget(org, 'OIDC Leaver'),
              before: { issuer: oidcIdp.issuer, clientId: 'audited' },
            };
          };
        },
      },
    ],
  },
  'sso.saml_updated': {
    how: 'PUT /orgs/:orgId/sso/saml',
    arrange: async () => {
      const org = await createOrg(t.app, { name: 'SAML Joiner' });
      return async () => {
        const res = await as(t.app, org.owner).put(at(org.orgId, '/sso/saml'), SAML_FIELDS());
        const fingerprint = expectStatus(res, 200).json().certificates[0].fingerprintSha256;
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: ssoTarget(org, 'SAML Joiner'),
          after: {
            idpEntityId: samlIdp.entityId,
            idpSsoUrl: samlIdp.ssoUrl,
            idpMetadataUrl: null,
            idpCertificates: 1,
            certificateFingerprints: [fingerprint],
          },
        };
      };
    },
    others: [
      {
        how: 'DELETE /orgs/:orgId/sso/saml',
        arrange: async () => {
          const org = await orgWithSaml('SAML Leaver');
          return async () => {
            expectStatus(await as(t.app, org.owner).delete(at(org.orgId, '/sso/saml')), 204);
            return {
              chain: orgChain(org.orgId),
              actor: org.owner,
              target: ssoTarget(org, 'SAML Leaver'),
              before: { idpEntityId: samlIdp.entityId, idpCertificates: 1 },
            };
          };
        },
      },
    ],
  },
  'sso.group_mapping_created': {
    how: 'POST /orgs/:orgId/sso/group-mappings',
    arrange: async () => async () => {
      const made = await sharedGroupMapping();
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'sso_group_mapping', id: made.id, name: made.idpGroup },
        after: { idpGroup: made.idpGroup, role: 'developer', roleName: 'Developer' },
      };
    },
  },
  'sso.group_mapping_deleted': {
    how: 'DELETE /orgs/:orgId/sso/group-mappings/:id',
    arrange: async () => {
      const made = await sharedGroupMapping();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).delete(at(shared.orgId, `/sso/group-mappings/${made.id}`)),
          204,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'sso_group_mapping', id: made.id, name: made.idpGroup },
          before: { idpGroup: made.idpGroup, role: 'developer', roleName: 'Developer' },
        };
      };
    },
  },
};

/** The shared org's SCIM token (made once): its id, and a client sending SCIM requests with it. */
let sharedScim:
  | {
      id: string;
      send: (
        method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
        url: string,
        body?: unknown,
      ) => Promise<LightMyRequestResponse>;
    }
  | undefined;
async function scimClient() {
  if (sharedScim) return sharedScim;
  const made = expectStatus(
    await as(t.app, shared.owner).post(at(shared.orgId, '/scim-tokens'), { name: 'Audited IdP' }),
    201,
  ).json();
  const send = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    t.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: { authorization: `Bearer ${made.token}`, 'content-type': 'application/scim+json' },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  sharedScim = { id: made.id, send };
  return sharedScim;
}
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** A user of the shared org provisioned by SCIM: the SCIM id, the account, the userName. */
async function scimUser() {
  const scim = await scimClient();
  const email = uniqueEmail('scim');
  const res = expectStatus(
    await scim.send('POST', '/Users', { schemas: [SCIM_USER], userName: email, displayName: 'Sam Scim' }),
    201,
  ).json();
  const [row] = await t.db.database.db
    .select({ userId: auditEvents.targetId })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.chainId, shared.orgId),
        eq(auditEvents.action, 'member.provisioned'),
        eq(auditEvents.targetEmail, email),
      ),
    );
  return { id: res.id as string, email, userId: row!.userId };
}
async function scimGroup(): Promise<{ id: string; displayName: string }> {
  const scim = await scimClient();
  const displayName = `Group ${rand()}`;
  const res = expectStatus(
    await scim.send('POST', '/Groups', { schemas: [SCIM_GROUP], displayName }),
    201,
  ).json();
  return { id: res.id, displayName };
}

const SCIM_INVENTORY: Record<string, InventoryCase> = {
  'scim_token.created': {
    how: 'POST /orgs/:orgId/scim-tokens',
    arrange: async () => async () => {
      const made = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/scim-tokens'), { name: 'Okta' }),
        201,
      ).json();
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'scim_token', id: made.id, name: 'Okta' },
        after: { name: 'Okta' },
      };
    },
  },
  'scim_token.revoked': {
    how: 'DELETE /orgs/:orgId/scim-tokens/:id',
    arrange: async () => {
      const made = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/scim-tokens'), { name: 'Entra' }),
        201,
      ).json();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/scim-tokens/${made.id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'scim_token', id: made.id, name: 'Entra' },
          before: { name: 'Entra' },
        };
      };
    },
  },
  'member.provisioned': {
    how: 'POST /scim/v2/Users',
    arrange: async () => {
      const scim = await scimClient();
      return async () => {
        const email = uniqueEmail('provisioned');
        expectStatus(
          await scim.send('POST', '/Users', {
            schemas: [SCIM_USER],
            userName: email,
            displayName: 'Pat Provisioned',
          }),
          201,
        );
        const [row] = await t.db.database.db
          .select({ userId: auditEvents.targetId })
          .from(auditEvents)
          .where(and(eq(auditEvents.chainId, shared.orgId), eq(auditEvents.targetEmail, email)));
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: memberNamed({ userId: row!.userId, email }, 'Pat Provisioned'),
          after: { via: 'scim', role: 'viewer', userName: email, accountCreated: true },
        };
      };
    },
  },
  'scim.user_updated': {
    how: 'PATCH /scim/v2/Users/:id',
    arrange: async () => {
      const user = await scimUser();
      const scim = await scimClient();
      return async () => {
        expectStatus(
          await scim.send('PATCH', `/Users/${user.id}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'displayName', value: 'Sam Renamed' }],
          }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: memberNamed(user, 'Sam Scim'),
          before: { displayName: 'Sam Scim' },
          after: { displayName: 'Sam Renamed' },
        };
      };
    },
  },
  'member.deprovisioned': {
    how: 'DELETE /scim/v2/Users/:id',
    arrange: async () => {
      const user = await scimUser();
      const scim = await scimClient();
      return async () => {
        expectStatus(await scim.send('DELETE', `/Users/${user.id}`), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: memberNamed(user, 'Sam Scim'),
          before: { userName: user.email, role: 'viewer' },
          after: { via: 'scim' },
        };
      };
    },
  },
  'scim.group_created': {
    how: 'POST /scim/v2/Groups',
    arrange: async () => {
      const scim = await scimClient();
      return async () => {
        const displayName = `Group ${rand()}`;
        const made = expectStatus(
          await scim.send('POST', '/Groups', { schemas: [SCIM_GROUP], displayName }),
          201,
        ).json();
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: { type: 'scim_group', id: made.id, name: displayName },
          after: { displayName, members: 0 },
        };
      };
    },
  },
  'scim.group_updated': {
    how: 'PATCH /scim/v2/Groups/:id',
    arrange: async () => {
      const group = await scimGroup();
      const user = await scimUser();
      const scim = await scimClient();
      return async () => {
        expectStatus(
          await scim.send('PATCH', `/Groups/${group.id}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'add', path: 'members', value: [{ value: user.id }] }],
          }),
          204,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: { type: 'scim_group', id: group.id, name: group.displayName },
          after: { membersAdded: [user.id] },
        };
      };
    },
  },
  'scim.group_deleted': {
    how: 'DELETE /scim/v2/Groups/:id',
    arrange: async () => {
      const group = await scimGroup();
      const scim = await scimClient();
      return async () => {
        expectStatus(await scim.send('DELETE', `/Groups/${group.id}`), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: { scimTokenId: scim.id },
          target: { type: 'scim_group', id: group.id, name: group.displayName },
          before: { displayName: group.displayName },
        };
      };
    },
  },
};

const BILLING_INVENTORY: Record<string, InventoryCase> = {
  'subscription.changed': {
    how: 'PATCH /orgs/:orgId/billing/subscription {confirm: true}',
    arrange: async () => {
      const org = await createOrg(t.app, { name: 'Billing Co', plan: 'free' });
      return async () => {
        const res = await as(t.app, org.owner).patch(at(org.orgId, '/billing/subscription'), {
          plan: 'pro',
          cycle: 'monthly',
          confirm: true,
        });
        expectStatus(res, 200);
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'subscription', id: org.orgId, name: 'Billing Co' },
          before: { plan: 'free', cycle: 'monthly' },
          after: { plan: 'pro', cycle: 'monthly', amountDue: 2900 },
        };
      };
    },
  },
  'payment_method.updated': {
    how: 'PUT /orgs/:orgId/billing/payment-method',
    arrange: async () => {
      // Scale, not Free: audit.pruned below counts on the only Free organization being its own.
      const org = await createOrg(t.app, { name: 'Paying Co', plan: 'pro' });
      return async () => {
        const res = await as(t.app, org.owner).put(at(org.orgId, '/billing/payment-method'), {
          provider: 'invoice',
          reference: 'SEPA mandate 77',
          brand: 'SEPA',
          last4: '1234',
        });
        expectStatus(res, 200);
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: { type: 'payment_method', id: org.orgId, name: 'Paying Co' },
          after: { provider: 'invoice', brand: 'SEPA', last4: '1234' },
        };
      };
    },
  },
};

const INVENTORY: Record<string, InventoryCase> = {
  ...BILLING_INVENTORY,
  ...NOTIFICATION_INVENTORY,
  ...SCIM_INVENTORY,
  ...QUOTA_INVENTORY,
  ...SSO_INVENTORY,
  'user.created': {
    how: 'POST /auth/signup → the new user’s own log',
    arrange: async () => async () => {
      const who = await signUp(t.app);
      return { chain: userChain(who), actor: who, target: userNamed(who) };
    },
  },
  'user.signed_in': {
    // An SSO sign-in records it too, with the org's entries beside it: see "an SSO sign-in" below.
    how: 'POST /auth/login → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        const session = await logIn(who);
        return {
          chain: userChain(who),
          actor: who,
          target: { type: 'session', id: await sessionIdOf(session) },
        };
      };
    },
  },
  'session.ended': {
    how: 'POST /auth/logout → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const sessionId = await sessionIdOf(who);
      return async () => {
        expectStatus(await as(t.app, who).post('/api/v1/auth/logout'), 204);
        return { chain: userChain(who), actor: who, target: { type: 'session', id: sessionId } };
      };
    },
  },
  'session.revoked': {
    how: 'DELETE /me/sessions/:id (another of one’s sessions) → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const other = await sessionIdOf(await logIn(who));
      return async () => {
        expectStatus(await as(t.app, who).delete(`/api/v1/me/sessions/${other}`), 204);
        return { chain: userChain(who), actor: who, target: { type: 'session', id: other } };
      };
    },
  },
  'user.updated': {
    how: 'PATCH /me → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(await as(t.app, who).patch('/api/v1/me', { name: 'Renamed Person' }), 200);
        return { chain: userChain(who), actor: who, target: userNamed(who, 'Renamed Person') };
      };
    },
  },
  'user.password_changed': {
    how: 'POST /me/password → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(
          await as(t.app, who).post('/api/v1/me/password', {
            currentPassword: who.password,
            newPassword: NEW_PASSWORD,
          }),
          204,
        );
        return { chain: userChain(who), actor: who, target: userNamed(who) };
      };
    },
  },
  'user.reauthenticated': {
    how: 'POST /me/reauthenticate → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const sessionId = await sessionIdOf(who);
      return async () => {
        expectStatus(await as(t.app, who).post('/api/v1/me/reauthenticate', { password: who.password }), 204);
        return { chain: userChain(who), actor: who, target: { type: 'session', id: sessionId } };
      };
    },
  },
  'user.passkey_added': {
    how: 'POST /me/passkeys → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        const id = await addPasskey(who, 'Audited key');
        return { chain: userChain(who), actor: who, target: { type: 'passkey', id, name: 'Audited key' } };
      };
    },
  },
  'user.passkey_renamed': {
    how: 'PATCH /me/passkeys/{id} → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const id = await addPasskey(who, 'Before');
      return async () => {
        expectStatus(await as(t.app, who).patch(`/api/v1/me/passkeys/${id}`, { name: 'After' }), 200);
        return {
          chain: userChain(who),
          actor: who,
          target: { type: 'passkey', id, name: 'After' },
          before: { name: 'Before' },
          after: { name: 'After' },
        };
      };
    },
  },
  'user.passkey_removed': {
    how: 'DELETE /me/passkeys/{id} → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const id = await addPasskey(who, 'Doomed key');
      return async () => {
        expectStatus(await as(t.app, who).delete(`/api/v1/me/passkeys/${id}`), 204);
        return { chain: userChain(who), actor: who, target: { type: 'passkey', id, name: 'Doomed key' } };
      };
    },
  },
  'user.email_verification_sent': {
    how: 'POST /me/email-verification → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(await as(t.app, who).post('/api/v1/me/email-verification'), 202);
        return { chain: userChain(who), actor: who, target: userNamed(who) };
      };
    },
  },
  'user.email_verified': {
    how: 'POST /auth/verify-email (the mailed link) → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const token = tokenFromMail((await t.mail.latestTo(who.email, 0, /verify-email#token=/)).text);
      return async () => {
        expectStatus(
          await sendAs(t.app, undefined, {
            method: 'POST',
            url: '/api/v1/auth/verify-email',
            payload: { token },
          }),
          200,
        );
        return { chain: userChain(who), actor: who, target: userNamed(who) };
      };
    },
  },
  'user.password_reset_requested': {
    how: 'POST /auth/password-reset (signed out) → the account’s own log, by an anonymous actor',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(
          await sendAs(t.app, undefined, {
            method: 'POST',
            url: '/api/v1/auth/password-reset',
            payload: { email: who.email },
          }),
          202,
        );
        return { chain: userChain(who), actor: 'anonymous', target: userNamed(who) };
      };
    },
  },
  'user.password_reset': {
    how: 'POST /auth/password-reset/confirm (the mailed link) → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const since = t.mail.messages.length;
      await sendAs(t.app, undefined, {
        method: 'POST',
        url: '/api/v1/auth/password-reset',
        payload: { email: who.email },
      });
      const token = tokenFromMail((await t.mail.latestTo(who.email, since, /reset-password#token=/)).text);
      return async () => {
        expectStatus(
          await sendAs(t.app, undefined, {
            method: 'POST',
            url: '/api/v1/auth/password-reset/confirm',
            payload: { token, newPassword: NEW_PASSWORD },
          }),
          204,
        );
        return { chain: userChain(who), actor: who, target: userNamed(who) };
      };
    },
  },
  'user.email_change_requested': {
    how: 'POST /me/email → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const newEmail = uniqueEmail('moving');
      return async () => {
        expectStatus(
          await as(t.app, who).post('/api/v1/me/email', { newEmail, password: who.password }),
          202,
        );
        return { chain: userChain(who), actor: who, target: userNamed(who), after: { newEmail } };
      };
    },
  },
  'user.email_changed': {
    how: 'POST /me/email/confirm (the link mailed to the new address) → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const newEmail = uniqueEmail('moved');
      const since = t.mail.messages.length;
      expectStatus(await as(t.app, who).post('/api/v1/me/email', { newEmail, password: who.password }), 202);
      const token = tokenFromMail((await t.mail.latestTo(newEmail, since, /confirm-email#token=/)).text);
      return async () => {
        expectStatus(await as(t.app, who).post('/api/v1/me/email/confirm', { token }), 200);
        return {
          chain: userChain(who),
          actor: who,
          target: { ...userNamed(who), email: newEmail },
          before: { email: who.email },
          after: { email: newEmail },
        };
      };
    },
  },
  'user.deleted': {
    how: 'DELETE /me (an account in no organization) → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        expectStatus(await as(t.app, who).delete('/api/v1/me', { password: who.password }), 204);
        return { chain: userChain(who), actor: who, target: userNamed(who), after: { deleted: true } };
      };
    },
  },
  'user.2fa_enabled': {
    how: 'POST /me/2fa/totp/confirm → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      await verifyEmailInDatabase(t.app, who.userId);
      const { secret } = expectStatus(await as(t.app, who).post('/api/v1/me/2fa/totp'), 200).json();
      return async () => {
        expectStatus(
          await as(t.app, who).post('/api/v1/me/2fa/totp/confirm', { code: totpCode(secret) }),
          200,
        );
        return {
          chain: userChain(who),
          actor: who,
          target: userNamed(who),
          after: { twoFactorEnabled: true },
        };
      };
    },
  },
  'user.2fa_disabled': {
    how: 'DELETE /me/2fa/totp → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      const { recoveryCodes } = await enableTwoFactor(t.app, who);
      return async () => {
        expectStatus(
          await as(t.app, who).delete('/api/v1/me/2fa/totp', {
            password: who.password,
            code: recoveryCodes[0],
          }),
          204,
        );
        return {
          chain: userChain(who),
          actor: who,
          target: userNamed(who),
          after: { twoFactorEnabled: false, confirmedWith: 'recovery_code' },
        };
      };
    },
  },
  'user.recovery_codes_regenerated': {
    how: 'POST /me/2fa/recovery-codes → the user’s own log',
    arrange: async () => {
      const who = await signUp(t.app);
      await enableTwoFactor(t.app, who);
      return async () => {
        expectStatus(
          await as(t.app, who).post('/api/v1/me/2fa/recovery-codes', { password: who.password }),
          200,
        );
        return { chain: userChain(who), actor: who, target: userNamed(who), after: { codesIssued: 10 } };
      };
    },
  },
  'org.created': {
    how: 'POST /orgs → the new org’s log',
    arrange: async () => {
      const who = await signUp(t.app);
      return async () => {
        const name = `Created ${rand()}`;
        const res = await as(t.app, who).post('/api/v1/orgs', { name, plan: 'pro' });
        const orgId = expectStatus(res, 201).json().id;
        return { chain: orgChain(orgId), actor: who, target: organization(orgId, name) };
      };
    },
  },
  'org.updated': {
    how: 'PATCH /orgs/:orgId',
    arrange: async () => async () => {
      expectStatus(
        await as(t.app, shared.owner).patch(at(shared.orgId), { description: `Now ${rand()}` }),
        200,
      );
      return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
    },
  },
  'org.security_updated': {
    how: 'PATCH /orgs/:orgId/security',
    arrange: async () => {
      expectStatus(
        await as(t.app, shared.owner).patch(at(shared.orgId, '/security'), { sessionIdleMinutes: null }),
        200,
      );
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, '/security'), { sessionIdleMinutes: 30 }),
          200,
        );
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
      };
    },
  },
  'org.logo_changed': {
    how: 'PUT /orgs/:orgId/logo',
    arrange: async () => async () => {
      expectStatus(await putLogo(shared), 204);
      return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
    },
  },
  'org.logo_removed': {
    how: 'DELETE /orgs/:orgId/logo',
    arrange: async () => {
      expectStatus(await putLogo(shared), 204);
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, '/logo')), 204);
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
      };
    },
  },
  'org.deleted': {
    how: 'DELETE /orgs/:orgId (an org of its own) → the deleted org’s log',
    arrange: async () => {
      const name = `Doomed ${rand()}`;
      const org = await createOrg(t.app, { name });
      return async () => {
        expectStatus(await as(t.app, org.owner).delete(at(org.orgId), { password: STRONG_PASSWORD }), 204);
        return { chain: orgChain(org.orgId), actor: org.owner, target: organization(org.orgId, name) };
      };
    },
  },
  'settings.updated': {
    how: 'PATCH /orgs/:orgId/settings/data (also …/settings/platform, …/settings/localization, PUT …/setup)',
    arrange: async () => async () => {
      const days = 100 + Math.floor(Math.random() * 600);
      expectStatus(
        await as(t.app, shared.owner).patch(at(shared.orgId, '/settings/data'), { scanRetentionDays: days }),
        200,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: sharedOrg(),
        after: { scanRetentionDays: days },
      };
    },
  },
  'org.exported': {
    how: 'POST /orgs/:orgId/exports (an org of its own: one export at a time)',
    arrange: async () => {
      const name = `Exported ${rand()}`;
      const org = await createOrg(t.app, { name });
      return async () => {
        const id = expectStatus(await as(t.app, org.owner).post(at(org.orgId, '/exports')), 202).json().id;
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: organization(org.orgId, name),
          after: { exportId: id },
        };
      };
    },
  },
  'compliance_report.generated': {
    how: 'POST /orgs/:orgId/compliance-reports (SOC 2, the last week)',
    arrange: async () => async () => {
      const from = new Date(Date.now() - 7 * DAY_MS).toISOString();
      const to = new Date().toISOString();
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/compliance-reports'), {
        framework: 'soc2',
        from,
        to,
      });
      const id = expectStatus(res, 202).json().id;
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'report', id, name: `SOC 2 Type II report of ${SHARED_NAME}` },
        after: { kind: 'compliance', framework: 'soc2', from, to },
      };
    },
  },
  'report.generated': {
    how: 'POST /orgs/:orgId/reports/executive (the last week)',
    arrange: async () => async () => {
      const from = new Date(Date.now() - 7 * DAY_MS).toISOString();
      const to = new Date().toISOString();
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/reports/executive'), { from, to });
      const id = expectStatus(res, 202).json().id;
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'report', id, name: `Executive summary of ${SHARED_NAME}` },
        after: { kind: 'executive', from, to },
      };
    },
  },
  'scans.retention_applied': {
    how: 'applyScanRetention on an org with a scan past its year → that org’s log, by the system',
    arrange: async () => {
      const name = `Retained ${rand()}`;
      const org = await createOrg(t.app, { name });
      const applicationId = expectStatus(
        await as(t.app, org.owner).post(at(org.orgId, '/applications'), { name: 'old' }),
        201,
      ).json().id;
      const scan = expectStatus(
        await as(t.app, org.owner).post(at(org.orgId, '/scans'), { applicationId, modules: ['secrets'] }),
        201,
      ).json().id;
      await t.db.database.db.execute(
        sql`UPDATE scans SET created_at = now() - interval '400 days' WHERE id = ${scan}`,
      );
      return async () => {
        expect(await applyScanRetention(t.app, org.orgId)).toMatchObject({ scans: 1 });
        return {
          chain: orgChain(org.orgId),
          actor: 'system',
          target: organization(org.orgId, name),
          after: { retentionDays: 365, scansDeleted: 1, findingsDeleted: 0 },
        };
      };
    },
  },
  'subscription.renewed': {
    how: 'renewDueSubscriptions once a paid period ended → that org’s log, by the system',
    arrange: async () => {
      const name = `Renewed ${rand()}`;
      const org = await createOrg(t.app, { name, plan: 'pro' });
      // The period a paid plan's start opened, moved back so that it ended yesterday.
      await t.db.database.db.execute(sql`
        UPDATE subscriptions SET period_start = now() - interval '31 days', period_end = now() - interval '1 day'
         WHERE org_id = ${org.orgId}`);
      return async () => {
        expect(await renewDueSubscriptions(t.app)).toHaveLength(1);
        return {
          chain: orgChain(org.orgId),
          actor: 'system',
          target: { type: 'subscription', id: org.orgId, name },
          after: { seats: 1 },
        };
      };
    },
  },
  'billing.payment_succeeded': {
    how: 'POST /billing/provider-events payment.succeeded, signed → the invoice’s org’s log, by the system',
    arrange: async () => {
      const invoice = await billedInvoice();
      return async () => {
        expectStatus(await providerEvent('payment.succeeded', invoice), 200);
        return {
          chain: orgChain(invoice.orgId),
          actor: 'system',
          target: { type: 'invoice', id: invoice.id, name: invoice.name },
          before: { status: 'open' },
          after: { status: 'paid' },
        };
      };
    },
  },
  'billing.payment_failed': {
    how: 'POST /billing/provider-events payment.failed, signed → the invoice’s org’s log, by the system',
    arrange: async () => {
      const invoice = await billedInvoice();
      return async () => {
        expectStatus(await providerEvent('payment.failed', invoice), 200);
        return {
          chain: orgChain(invoice.orgId),
          actor: 'system',
          target: { type: 'invoice', id: invoice.id, name: invoice.name },
          before: { status: 'open' },
          after: { status: 'failed' },
        };
      };
    },
  },
  'org.purged': {
    how: 'purgeDeletedOrganizations once an org’s grace period is over → its log (which stays), by the system',
    arrange: async () => {
      const name = `Purged ${rand()}`;
      const org = await createOrg(t.app, { name });
      expectStatus(await as(t.app, org.owner).delete(at(org.orgId), { password: STRONG_PASSWORD }), 204);
      // Deleted 31 days ago: past the grace period (30), unlike every other org this file deletes.
      await t.db.database.db.execute(
        sql`UPDATE organizations SET deleted_at = now() - interval '31 days' WHERE id = ${org.orgId}`,
      );
      return async () => {
        expect(await purgeDeletedOrganizations(t.app)).toBe(1);
        return {
          chain: orgChain(org.orgId),
          actor: 'system',
          target: organization(org.orgId, name),
          after: { purged: true, graceDays: 30 },
        };
      };
    },
  },
  'member.invited': {
    how: 'POST /orgs/:orgId/invitations',
    arrange: async () => async () => {
      const { id, email } = await ownerInvites(shared);
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: sharedOrg(),
        after: { role: 'viewer', roleName: 'Viewer', invitations: [{ id, email }] },
      };
    },
  },
  'invite.resent': {
    how: 'POST /orgs/:orgId/invitations/:id/resend',
    arrange: async () => {
      const { id, email } = await ownerInvites(shared);
      return async () => {
        expectStatus(await as(t.app, shared.owner).post(at(shared.orgId, `/invitations/${id}/resend`)), 200);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'invitation', id, email },
        };
      };
    },
  },
  'invite.cancelled': {
    how: 'DELETE /orgs/:orgId/invitations/:id',
    arrange: async () => {
      const { id, email } = await ownerInvites(shared);
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/invitations/${id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'invitation', id, email },
          before: { email, role: 'viewer', roleName: 'Viewer' },
        };
      };
    },
  },
  'invite.accepted': {
    how: 'POST /invitations/accept (by the invitee) → the org’s log',
    arrange: async () => {
      const { id, email } = await ownerInvites(shared);
      const invitee = await signUp(t.app, { email });
      const token = tokenFromMail((await t.mail.latestTo(email, 0, INVITATION_LINK)).text);
      return async () => {
        expectStatus(await as(t.app, invitee).post('/api/v1/invitations/accept', { token }), 200);
        return {
          chain: orgChain(shared.orgId),
          actor: invitee,
          target: { type: 'invitation', id, email, name: DEFAULT_NAME },
          after: { userId: invitee.userId, role: 'viewer', roleName: 'Viewer' },
        };
      };
    },
  },
  'join_link.rotated': {
    how: 'POST /orgs/:orgId/join-link',
    arrange: async () => async () => {
      expectStatus(await as(t.app, shared.owner).post(at(shared.orgId, '/join-link')), 201);
      return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
    },
  },
  'join_link.disabled': {
    how: 'DELETE /orgs/:orgId/join-link',
    arrange: async () => {
      expectStatus(await as(t.app, shared.owner).post(at(shared.orgId, '/join-link')), 201);
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, '/join-link')), 204);
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: sharedOrg() };
      };
    },
  },
  'join_request.created': {
    how: 'POST /join-requests (by the joiner, with the share link) → the org’s log',
    arrange: async () => {
      const { token } = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/join-link')),
        201,
      ).json();
      const joiner = await signUp(t.app);
      return async () => {
        const res = await as(t.app, joiner).post('/api/v1/join-requests', { token });
        const id = expectStatus(res, 202).json().id;
        return {
          chain: orgChain(shared.orgId),
          actor: joiner,
          target: { type: 'join_request', id, email: joiner.email, name: DEFAULT_NAME },
        };
      };
    },
  },
  'join_request.approved': {
    how: 'POST /orgs/:orgId/join-requests/:id/approve',
    arrange: async () => {
      const { id, person } = await requestToJoin(t.app, shared);
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).post(at(shared.orgId, `/join-requests/${id}/approve`), {
            role: 'viewer',
          }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'join_request', id, email: person.email, name: 'Jo Joiner' },
          after: { userId: person.userId, role: 'viewer', roleName: 'Viewer' },
        };
      };
    },
  },
  'join_request.denied': {
    how: 'POST /orgs/:orgId/join-requests/:id/deny',
    arrange: async () => {
      const { id, person } = await requestToJoin(t.app, shared);
      return async () => {
        expectStatus(await as(t.app, shared.owner).post(at(shared.orgId, `/join-requests/${id}/deny`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'join_request', id, email: person.email, name: 'Jo Joiner' },
        };
      };
    },
  },
  'member.role_changed': {
    how: 'PATCH /orgs/:orgId/members/:userId',
    arrange: async () => {
      const dev = await addMember(t.app, shared, 'developer', {}, t.mail);
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/members/${dev.userId}`), { role: 'admin' }),
          200,
        );
        // "Developer → Admin", readable from the entry alone.
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: memberNamed(dev, 'developer person'),
          before: { role: 'developer', roleName: 'Developer' },
          after: { role: 'admin', roleName: 'Admin' },
        };
      };
    },
  },
  'member.removed': {
    how: 'DELETE /orgs/:orgId/members/:userId',
    arrange: async () => {
      const dev = await addMember(t.app, shared, 'developer', {}, t.mail);
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/members/${dev.userId}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: memberNamed(dev, 'developer person'),
          before: { role: 'developer', roleName: 'Developer', status: 'active' },
        };
      };
    },
  },
  'member.left': {
    how: 'DELETE /me/memberships/:orgId (by the member) → the org’s log',
    arrange: async () => {
      const dev = await addMember(t.app, shared, 'developer', {}, t.mail);
      return async () => {
        expectStatus(await as(t.app, dev).delete(`/api/v1/me/memberships/${shared.orgId}`), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: dev,
          target: memberNamed(dev, 'developer person'),
          before: { role: 'developer', roleName: 'Developer', status: 'active' },
        };
      };
    },
  },
  'ownership.transferred': {
    how: 'POST /orgs/:orgId/ownership-transfer (an org of its own)',
    arrange: async () => {
      const name = `Handed over ${rand()}`;
      const org = await createOrg(t.app, { name });
      const admin = await addMember(t.app, org, 'admin', { name: 'Ada Admin' }, t.mail);
      return async () => {
        expectStatus(
          await as(t.app, org.owner).post(at(org.orgId, '/ownership-transfer'), { userId: admin.userId }),
          200,
        );
        return {
          chain: orgChain(org.orgId),
          actor: org.owner,
          target: organization(org.orgId, name),
          after: {
            owner: admin.userId,
            ownerEmail: admin.email,
            ownerName: 'Ada Admin',
            previousOwnerRole: 'admin',
            previousOwnerRoleName: 'Admin',
          },
        };
      };
    },
  },
  'policy.created': {
    how: 'POST /orgs/:orgId/policies',
    arrange: async () => async () => {
      const name = `Gate ${randomBytes(4).toString('hex')}`;
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/policies'), { name, failOn: 'high' });
      const { id } = expectStatus(res, 201).json();
      return { chain: orgChain(shared.orgId), actor: shared.owner, target: { type: 'policy', id, name } };
    },
  },
  'policy.updated': {
    how: 'PATCH /orgs/:orgId/policies/:id',
    arrange: async () => {
      const name = `Gate ${randomBytes(4).toString('hex')}`;
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/policies'), { name, failOn: 'high' });
      const { id } = expectStatus(res, 201).json();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/policies/${id}`), { failOn: 'low' }),
          200,
        );
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: { type: 'policy', id, name } };
      };
    },
  },
  'policy.deleted': {
    how: 'DELETE /orgs/:orgId/policies/:id',
    arrange: async () => {
      const name = `Gate ${randomBytes(4).toString('hex')}`;
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/policies'), { name, failOn: 'high' });
      const { id } = expectStatus(res, 201).json();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/policies/${id}`)), 204);
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: { type: 'policy', id, name } };
      };
    },
  },
  'application.created': {
    how: 'POST /orgs/:orgId/applications',
    arrange: async () => async () => {
      const name = `app ${rand()}`;
      const res = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/applications'), { name }),
        201,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'application', id: res.json().id, name },
        after: { name, repositoryUrl: null },
      };
    },
  },
  'application.updated': {
    how: 'PATCH /orgs/:orgId/applications/:id',
    arrange: async () => {
      const id = await sharedApplication();
      return async () => {
        const name = `renamed ${rand()}`;
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/applications/${id}`), { name }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'application', id, name },
          after: { name },
        };
      };
    },
  },
  'application.deleted': {
    how: 'DELETE /orgs/:orgId/applications/:id',
    arrange: async () => {
      const id = await sharedApplication();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/applications/${id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'application', id, name: `app ${id}` },
        };
      };
    },
  },
  'scan.created': {
    how: 'POST /orgs/:orgId/scans',
    arrange: async () => {
      const id = await sharedApplication();
      return async () => {
        const res = expectStatus(
          await as(t.app, shared.owner).post(at(shared.orgId, '/scans'), {
            applicationId: id,
            modules: ['secrets'],
          }),
          201,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'scan', id: res.json().id, name: `app ${id}` },
          after: { applicationId: id, modules: ['secrets'], status: 'pending', tokens: 5 },
        };
      };
    },
  },
  'scan.deleted': {
    how: 'DELETE /orgs/:orgId/scans/:id',
    arrange: async () => {
      const applicationId = await sharedApplication();
      const scan = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/scans'), {
          applicationId,
          modules: ['secrets'],
        }),
        201,
      ).json();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/scans/${scan.id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'scan', id: scan.id },
          before: { applicationId, modules: ['secrets'], tokens: 5 },
        };
      };
    },
  },
  'role.created': {
    how: 'POST /orgs/:orgId/roles',
    arrange: async () => async () => {
      const { id, name } = await ownerCreatesRole(shared);
      return { chain: orgChain(shared.orgId), actor: shared.owner, target: { type: 'role', id, name } };
    },
  },
  'role.updated': {
    how: 'PATCH /orgs/:orgId/roles/:slug',
    arrange: async () => {
      const { id, slug, name } = await ownerCreatesRole(shared);
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/roles/${slug}`), {
            name: `Renamed ${slug}`,
            permissions: ['findings:read', 'scans:read'],
          }),
          200,
        );
        // Named as it is after the change; the old name is in `before`.
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'role', id, name: `Renamed ${slug}` },
          before: { name },
        };
      };
    },
  },
  'role.deleted': {
    how: 'DELETE /orgs/:orgId/roles/:slug',
    arrange: async () => {
      const { id, slug, name } = await ownerCreatesRole(shared);
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/roles/${slug}`)), 204);
        return { chain: orgChain(shared.orgId), actor: shared.owner, target: { type: 'role', id, name } };
      };
    },
  },
  'token.created': {
    how: 'POST /me/tokens (and POST /orgs/:orgId/automation-tokens, the same action)',
    arrange: async () => async () => {
      const { id } = await createPersonalToken(t.app, shared.owner, shared.orgId, ['read'], {
        name: 'laptop',
      });
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'personal_token', id, name: 'laptop' },
        after: { name: 'laptop', role: 'owner', roleName: 'Owner' },
      };
    },
  },
  'token.revoked': {
    how: 'DELETE /orgs/:orgId/automation-tokens/:id (and DELETE /me/tokens/:id, the same action)',
    arrange: async () => {
      const created = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/automation-tokens'), {
          name: 'bot',
          role: 'viewer',
        }),
        201,
      ).json();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).delete(at(shared.orgId, `/automation-tokens/${created.id}`)),
          204,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'automation_token', id: created.id, name: 'bot' },
        };
      };
    },
  },
  'audit.exported': {
    how: 'GET /orgs/:orgId/audit-events/export',
    arrange: async () => async () => {
      expectStatus(
        await as(t.app, shared.owner).get(at(shared.orgId, '/audit-events/export?format=jsonl')),
        200,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'audit_log', id: shared.orgId, name: SHARED_NAME },
      };
    },
  },
  'audit.checkpoint_created': {
    how: 'POST /orgs/:orgId/audit-checkpoints',
    arrange: async () => async () => {
      const cp = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, '/audit-checkpoints')),
        201,
      );
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'audit_checkpoint', id: String(cp.json().seq) },
      };
    },
  },
  'audit.pruned': {
    how: 'runAuditRetention past a Free org’s 30 days → that org’s log, by the system',
    arrange: async () => {
      // The only Free organization in this file: at `asOf` no other chain is past its retention
      // (Scale keeps 90 days, accounts 365), so only this one is pruned.
      const name = `Old ${rand()}`;
      const org = await createOrg(t.app, { name, plan: 'free' });
      return async () => {
        expect(await runAuditRetention(t.app, new Date(Date.now() + 31 * DAY_MS))).toBe(1);
        return { chain: orgChain(org.orgId), actor: 'system', target: organization(org.orgId, name) };
      };
    },
  },
  'finding.updated': {
    how: 'PATCH /orgs/:orgId/findings/:id',
    arrange: async () => {
      const id = await sharedFinding('Audited finding');
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/findings/${id}`), { status: 'triaged' }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'finding', id, name: 'Audited finding' },
          before: { status: 'open', assigneeId: null },
          after: { status: 'triaged', assigneeId: null },
        };
      };
    },
  },
  'finding.commented': {
    how: 'POST /orgs/:orgId/findings/:id/comments',
    arrange: async () => {
      const id = await sharedFinding('Commented finding');
      return async () => {
        const comment = expectStatus(
          await as(t.app, shared.owner).post(at(shared.orgId, `/findings/${id}/comments`), { body: 'Noted' }),
          201,
        ).json();
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'finding', id, name: 'Commented finding' },
          after: { commentId: comment.id },
        };
      };
    },
  },
  'remediation.created': {
    how: 'POST /orgs/:orgId/findings/:id/remediations',
    arrange: async () => {
      const findingId = await sharedFinding('Remediated finding');
      return async () => {
        const created = expectStatus(
          await as(t.app, shared.owner).post(at(shared.orgId, `/findings/${findingId}/remediations`), {
            summary: 'Bump the library',
          }),
          201,
        ).json();
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'remediation', id: created.id, name: 'Bump the library' },
          after: { findingId, status: 'proposed' },
        };
      };
    },
  },
  'remediation.approved': {
    how: 'POST /orgs/:orgId/remediations/:id/approve',
    arrange: async () => {
      const findingId = await sharedFinding('Approved finding');
      const { id } = expectStatus(
        await as(t.app, shared.owner).post(at(shared.orgId, `/findings/${findingId}/remediations`), {
          summary: 'Pin the version',
        }),
        201,
      ).json();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).post(at(shared.orgId, `/remediations/${id}/approve`)),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'remediation', id, name: 'Pin the version' },
          before: { status: 'proposed' },
          after: { status: 'approved', findingId },
        };
      };
    },
  },
  'webhook.created': {
    how: 'POST /orgs/:orgId/webhooks',
    arrange: async () => async () => {
      const description = `Hook ${rand()}`;
      const res = await as(t.app, shared.owner).post(at(shared.orgId, '/webhooks'), {
        url: receiver.url,
        events: ['scan.completed'],
        description,
      });
      const { id } = expectStatus(res, 201).json();
      return {
        chain: orgChain(shared.orgId),
        actor: shared.owner,
        target: { type: 'webhook', id, name: description },
        after: { url: receiver.url, events: ['scan.completed'], enabled: true, description },
      };
    },
  },
  'webhook.updated': {
    how: 'PATCH /orgs/:orgId/webhooks/:id',
    arrange: async () => {
      const { id, description } = await sharedWebhook();
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).patch(at(shared.orgId, `/webhooks/${id}`), {
            events: ['member.added'],
          }),
          200,
        );
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'webhook', id, name: description },
          before: { events: ['scan.completed'] },
          after: { events: ['member.added'] },
        };
      };
    },
  },
  'webhook.deleted': {
    how: 'DELETE /orgs/:orgId/webhooks/:id',
    arrange: async () => {
      const { id, description } = await sharedWebhook();
      return async () => {
        expectStatus(await as(t.app, shared.owner).delete(at(shared.orgId, `/webhooks/${id}`)), 204);
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'webhook', id, name: description },
          before: { url: receiver.url },
        };
      };
    },
  },
  'webhook.secret_rotated': {
    how: 'POST /orgs/:orgId/webhooks/:id/rotate-secret',
    arrange: async () => {
      const { id, description } = await sharedWebhook();
      return async () => {
        const res = await as(t.app, shared.owner).post(at(shared.orgId, `/webhooks/${id}/rotate-secret`));
        const { previousSecretExpiresAt } = expectStatus(res, 200).json();
        return {
          chain: orgChain(shared.orgId),
          actor: shared.owner,
          target: { type: 'webhook', id, name: description },
          after: { previousSecretExpiresAt },
        };
      };
    },
  },
  'webhook.disabled': {
    how: 'a delivery answered 410 Gone (a redelivery, itself not audited) → by the system',
    arrange: async () => {
      const { id, description } = await sharedWebhook();
      receiver.answer = () => ({ status: 410 });
      // A test ping (not audited, and never turning a webhook off) leaves a delivery to send again.
      expectStatus(await as(t.app, shared.owner).post(at(shared.orgId, `/webhooks/${id}/test`)), 200);
      const log = await as(t.app, shared.owner).get(at(shared.orgId, `/webhooks/${id}/deliveries`));
      const [attempt] = expectStatus(log, 200).json().items;
      return async () => {
        expectStatus(
          await as(t.app, shared.owner).post(
            at(shared.orgId, `/webhooks/${id}/deliveries/${attempt.id}/redeliver`),
          ),
          202,
        );
        await expect
          .poll(
            async () =>
              (await as(t.app, shared.owner).get(at(shared.orgId, `/webhooks/${id}`))).json().enabled,
            {
              timeout: 15_000,
            },
          )
          .toBe(false);
        receiver.answer = () => ({ status: 200 });
        return {
          chain: orgChain(shared.orgId),
          actor: 'system',
          target: { type: 'webhook', id, name: description },
          before: { enabled: true },
          after: { enabled: false, reason: 'gone' },
        };
      };
    },
  },
};

/** A webhook of the shared org (to the receiver, taking scan.completed); its id and description. */
async function sharedWebhook(): Promise<{ id: string; description: string }> {
  const description = `Hook ${rand()}`;
  const res = await as(t.app, shared.owner).post(at(shared.orgId, '/webhooks'), {
    url: receiver.url,
    events: ['scan.completed'],
    description,
  });
  return { id: expectStatus(res, 201).json().id, description };
}

let receiver: Receiver;

beforeAll(async () => {
  // Webhooks point at a loopback receiver, and the OIDC IdP is on loopback: allowed here, as an
  // operator allows on-premises ones.
  t = await createTestApp({
    outbound: { allowlist: ['127.0.0.1/32'] },
    billing: { webhookSecrets: [BILLING_SECRET] },
  });
  receiver = await startReceiver();
  oidcIdp = await startOidcIdp({
    clients: [
      {
        client_id: 'audited',
        client_secret: OIDC_SECRET,
        redirect_uris: ['http://localhost:3000/sso/audited/oidc/callback'],
      },
    ],
  });
  shared = await createOrg(t.app, { name: SHARED_NAME });
});
afterAll(async () => {
  await oidcIdp?.close();
  await receiver?.close();
  await t?.close();
});

describe('every command is audited', () => {
  it('the inventory names every command’s action, and only those', () => {
    const live = new Set(listCommands().map((c) => c.action));
    const table = new Set(Object.keys(INVENTORY));
    const missing = [...live].filter((a) => !table.has(a)).sort();
    const stale = [...table].filter((a) => !live.has(a)).sort();
    expect(missing, 'commands with no entry in INVENTORY: say how each is triggered and audited').toEqual([]);
    expect(stale, 'INVENTORY entries that no command records: remove them').toEqual([]);
    for (const action of live)
      expect(action, 'audit actions are resource.past_tense').toMatch(/^[a-z_]+\.[a-z0-9_]+$/);
  });

  const cases = Object.entries(INVENTORY).flatMap(([action, c]) =>
    [c, ...(c.others ?? [])].map((one) => [action, one.how, one] as const),
  );
  it.each(cases)('%s: %s', async (action, _how, c) => {
    const trigger = await c.arrange();
    const before = await chainHeads();
    const expected = await trigger();
    expect(await grownChains(before), `${action} is written to ${chainName(expected.chain)} alone`).toEqual([
      chainName(expected.chain),
    ]);
    const entries = await entriesSince(expected.chain, before.get(expected.chain.id)?.seq ?? 0);
    expect(
      entries.map((e) => e.action),
      'exactly one new entry',
    ).toEqual([action]);
    expect(entries[0]!.actor).toEqual(actorOf(expected.actor));
    expect(entries[0]!.target).toEqual(expected.target);
    if (expected.before) expect(entries[0]!.before).toMatchObject(expected.before);
    if (expected.after) expect(entries[0]!.after).toMatchObject(expected.after);
    await expectVerifies(expected.chain);
  });
});

describe('a sign-in is one entry, in the user’s own log', () => {
  /** `who` joins the org through an invitation sent by its owner. */
  async function joins(org: { orgId: string; owner: Person }, who: Person, role: string): Promise<void> {
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/invitations'), { emails: [who.email], role }),
      201,
    );
    const token = tokenFromMail((await t.mail.latestTo(who.email, since, INVITATION_LINK)).text);
    expectStatus(await as(t.app, who).post('/api/v1/invitations/accept', { token }), 200);
  }

  it('user.signed_in in the user’s log and nothing in any of their orgs’ logs', async () => {
    const who = await signUp(t.app, { name: 'Mo Multi' });
    await createOrg(t.app, { name: `Own ${rand()}` }, who);
    const other = await createOrg(t.app, { name: `Other ${rand()}` });
    await joins(other, who, 'developer');

    const before = await chainHeads();
    const sessionId = await sessionIdOf(await logIn(who));

    // Only the user's own log grew: neither org they belong to took an entry.
    const chain = userChain(who);
    expect(await grownChains(before)).toEqual([chainName(chain)]);
    const entries = await entriesSince(chain, before.get(chain.id)?.seq ?? 0);
    expect(entries.map((e) => e.action)).toEqual(['user.signed_in']);
    expect(entries[0]!.actor).toEqual(actorOf(who));
    expect(entries[0]!.target).toEqual({ type: 'session', id: sessionId });
    await expectVerifies(chain);
  });
});

describe('an SSO sign-in: user.signed_in in the user’s log, the org’s own entries in its log', () => {
  /** Signs `email` in through the org's SAML IdP as a browser would: login, then the IdP's answer at the ACS. */
  async function samlSignIn(
    org: { slug: string; spEntityId: string; acsUrl: string },
    email: string,
    groups: string[],
  ) {
    const login = await t.app.inject({ method: 'GET', url: `/sso/${org.slug}/saml/login` });
    expect(login.statusCode, login.body).toBe(302);
    const binding = login.cookies.find((c) => c.name === 'gatehouse_sso')!;
    const metadata = (await t.app.inject({ method: 'GET', url: `/sso/${org.slug}/saml/metadata` })).body;
    const request = await samlIdp.readAuthnRequest(login.headers.location as string, metadata);
    const SAMLResponse = await samlIdp.respond({
      inResponseTo: request.id,
      acsUrl: org.acsUrl,
      audience: org.spEntityId,
      nameId: email,
      email,
      name: 'Sam Saml',
      groups,
    });
    return t.app.inject({
      method: 'POST',
      url: `/sso/${org.slug}/saml/acs`,
      headers: {
        cookie: `${binding.name}=${binding.value}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: new URLSearchParams({ SAMLResponse }).toString(),
    });
  }

  it('a first sign-in provisions the member: user.signed_in in their log; member.provisioned and member.signed_in in the org’s', async () => {
    const org = await orgWithSaml('SSO Signers', { jitProvisioning: true, groupsAttribute: 'groups' });
    expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/sso/group-mappings'), {
        idpGroup: 'engineering',
        role: 'developer',
      }),
      201,
    );
    const email = uniqueEmail('saml');
    const before = await chainHeads();
    const res = await samlSignIn(org, email, ['staff', 'engineering']);
    expect(res.statusCode, res.body).toBe(303);
    const who = { cookie: sessionCookie(res) };
    const me = expectStatus(await as(t.app, who).get('/api/v1/me'), 200).json();
    const person = { userId: me.user.id as string, email };
    const sessionId = await sessionIdOf(who);

    const orgLog = orgChain(org.orgId);
    const userLog = userChain(person);
    expect(await grownChains(before)).toEqual([chainName(orgLog), chainName(userLog)].sort());
    const [signedIn, ...moreOfUser] = await entriesSince(userLog, before.get(person.userId)?.seq ?? 0);
    expect(moreOfUser).toEqual([]);
    expect(signedIn).toMatchObject({
      action: 'user.signed_in',
      actor: actorOf(person),
      target: { type: 'session', id: sessionId },
      after: { method: 'sso', protocol: 'saml', orgId: org.orgId, accountCreated: true, linked: true },
    });
    const orgEntries = await entriesSince(orgLog, before.get(org.orgId)!.seq);
    expect(orgEntries.map((e) => e.action)).toEqual(['member.provisioned', 'member.signed_in']);
    expect(orgEntries[0]).toMatchObject({
      actor: actorOf(person),
      target: memberNamed(person, 'Sam Saml'),
      after: {
        role: 'developer',
        roleName: 'Developer',
        via: 'jit',
        idpGroup: 'engineering',
        protocol: 'saml',
      },
    });
    expect(orgEntries[1]).toMatchObject({
      actor: actorOf(person),
      target: { type: 'session', id: sessionId },
      after: { method: 'sso', protocol: 'saml', orgId: org.orgId },
    });
    await expectVerifies(orgLog);
    await expectVerifies(userLog);

    // Coming back: signed in again, in both logs; nothing provisioned.
    const again = await chainHeads();
    expect((await samlSignIn(org, email, ['engineering'])).statusCode).toBe(303);
    expect((await entriesSince(userLog, again.get(person.userId)!.seq)).map((e) => e.action)).toEqual([
      'user.signed_in',
    ]);
    expect((await entriesSince(orgLog, again.get(org.orgId)!.seq)).map((e) => e.action)).toEqual([
      'member.signed_in',
    ]);
  });

  it('a refused sign-in (not a member, no provisioning) lands on the sign-in page and writes nothing', async () => {
    const org = await orgWithSaml('SSO Closed');
    const email = uniqueEmail('outsider');
    const before = await chainHeads();
    const res = await samlSignIn(org, email, []);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/signin\?sso_error=sso_failed/);
    expect(await grownChains(before), 'no chain grew').toEqual([]);
  });
});

describe('access.denied: a member refused on a sensitive route', () => {
  let org: { orgId: string; owner: Person };
  let viewer: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: `Guarded ${rand()}` });
    viewer = await addMember(t.app, org, 'viewer', { name: 'Vic Viewer' }, t.mail);
  });

  /** The org's log entries since `before`, after one request by `who`. */
  async function refused(who: Person, spec: Parameters<typeof sendAs>[2], status = 403) {
    const before = await chainHeads();
    const res = await sendAs(t.app, who, spec);
    expect(res.statusCode, res.body).toBe(status);
    const grown = await grownChains(before);
    const entries = await entriesSince(orgChain(org.orgId), before.get(org.orgId)?.seq ?? 0);
    return { grown, entries };
  }

  it('is recorded once, naming the member and the route; the same refusal within the minute is not', async () => {
    const route = 'GET /api/v1/orgs/:orgId/audit-events';
    const first = await refused(viewer, { method: 'GET', url: at(org.orgId, '/audit-events') });
    expect(first.grown).toEqual([chainName(orgChain(org.orgId))]);
    expect(first.entries).toHaveLength(1);
    expect(first.entries[0]).toMatchObject({
      action: 'access.denied',
      actor: actorOf(viewer),
      target: { type: 'route', id: route },
      after: { permission: 'audit:read', role: 'viewer', roleName: 'Viewer' },
    });
    const again = await refused(viewer, { method: 'GET', url: at(org.orgId, '/audit-events?limit=5') });
    expect(again.grown, 'a repeat within the minute adds nothing').toEqual([]);

    // What the owner reads.
    const log = expectStatus(
      await as(t.app, org.owner).get(at(org.orgId, '/audit-events?action=access.denied')),
      200,
    ).json();
    expect(log.items.map((e: { target: { id: string } }) => e.target.id)).toEqual([route]);
    await expectVerifies(orgChain(org.orgId));
  });

  it('another sensitive route is another entry (POST invitations, members:manage)', async () => {
    const { grown, entries } = await refused(viewer, {
      method: 'POST',
      url: at(org.orgId, '/invitations'),
      payload: { emails: [uniqueEmail()], role: 'viewer' },
    });
    expect(grown).toEqual([chainName(orgChain(org.orgId))]);
    expect(entries.map((e) => [e.action, e.actor.id, e.target.id])).toEqual([
      ['access.denied', viewer.userId, 'POST /api/v1/orgs/:orgId/invitations'],
    ]);
    expect(entries[0]!.after).toEqual({ permission: 'members:manage', role: 'viewer', roleName: 'Viewer' });
  });

  it('a refusal on a route that is not sensitive is not recorded (GET the org profile, settings:read)', async () => {
    const { grown } = await refused(viewer, { method: 'GET', url: at(org.orgId) });
    expect(grown).toEqual([]);
  });

  it('a refusal from inside a command is recorded too (org:delete held through a custom role, not Owner)', async () => {
    const slug = `deleter-${rand()}`;
    expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/roles'), {
        slug,
        name: 'Deleter',
        permissions: ['org:delete', 'members:read'],
      }),
      201,
    );
    const deleter = await addMember(t.app, org, slug, { name: 'Del Eter' }, t.mail);
    const { grown, entries } = await refused(deleter, {
      method: 'DELETE',
      url: at(org.orgId),
      payload: { password: STRONG_PASSWORD },
    });
    expect(grown).toEqual([chainName(orgChain(org.orgId))]);
    expect(entries.map((e) => [e.action, e.actor.id, e.target.id, e.after])).toEqual([
      [
        'access.denied',
        deleter.userId,
        'DELETE /api/v1/orgs/:orgId',
        { permission: 'org:delete', role: slug, roleName: 'Deleter' },
      ],
    ]);
    expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200);
  });

  it('a different refusal on the same route within the minute is its own entry; the identical one is not', async () => {
    const route = 'PATCH /api/v1/orgs/:orgId/members/:userId';
    const reader = `reader-${rand()}`;
    expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/roles'), {
        slug: reader,
        name: 'Billing reader',
        permissions: ['billing:read'],
      }),
      201,
    );
    const admin = await addMember(t.app, org, 'admin', { name: 'Ada Admin' }, t.mail);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dev Eloper' }, t.mail);
    const patch = (who: Person, role: string) => ({
      method: 'PATCH' as const,
      url: at(org.orgId, `/members/${who.userId}`),
      payload: { role },
    });
    const recorded = async (spec: ReturnType<typeof patch>) =>
      (await refused(admin, spec)).entries.map((e) => [e.action, e.target.id, e.after]);
    // A harmless refusal first: a role carrying billing:read, which an Admin lacks.
    const harmless = {
      permission: 'billing:read',
      missing: ['billing:read'],
      asked: { member: dev.userId, role: reader },
      role: 'admin',
      roleName: 'Admin',
    };
    expect(await recorded(patch(dev, reader))).toEqual([['access.denied', route, harmless]]);
    expect(await recorded(patch(dev, reader)), 'the same refusal again adds nothing').toEqual([]);
    // Then, on the same route within the minute, the serious one: making someone an Owner.
    const [serious, ...more] = await recorded(patch(dev, 'owner'));
    expect(more).toEqual([]);
    expect(serious).toEqual([
      'access.denied',
      route,
      {
        permission: 'billing:read',
        missing: expect.arrayContaining(['billing:read', 'billing:manage', 'org:delete', 'org:transfer']),
        asked: { member: dev.userId, role: 'owner' },
        role: 'admin',
        roleName: 'Admin',
      },
    ]);
    expect(await recorded(patch(dev, 'owner'))).toEqual([]);
    // The same grant asked for someone else, and a member out of reach, are each recorded too.
    const other = await addMember(t.app, org, 'viewer', { name: 'Val Viewer' }, t.mail);
    expect(
      (await recorded(patch(other, 'owner'))).map(([, , after]) => (after as { asked: unknown }).asked),
    ).toEqual([{ member: other.userId, role: 'owner' }]);
    expect(
      (await recorded(patch(org.owner, 'viewer'))).map(([, , after]) => (after as { asked: unknown }).asked),
    ).toEqual([{ member: org.owner.userId }]);
    expect(await recorded(patch(org.owner, 'developer')), 'out of reach whatever the role asked').toEqual([]);
    await expectVerifies(orgChain(org.orgId));
  });

  it('asking for other mixes of the permissions lacked is no new refusal: each permission is recorded once a minute', async () => {
    // An Admin lacks billing:read, billing:manage, org:delete and org:transfer: fifteen mixes of
    // them to ask for, but four permissions to be refused.
    const admin = await addMember(t.app, org, 'admin', { name: 'Mix Admin' }, t.mail);
    const create = (permissions: string[]) => ({
      method: 'POST' as const,
      url: at(org.orgId, '/roles'),
      payload: { slug: `mix-${rand()}`, name: 'Mix', permissions: ['members:read', ...permissions] },
    });
    const recorded = async (permissions: string[]) =>
      (await refused(admin, create(permissions))).entries.map(
        (e) => (e.after as { missing: string[] }).missing,
      );
    expect(await recorded(['billing:read'])).toEqual([['billing:read']]);
    expect(await recorded(['billing:read', 'billing:manage'])).toEqual([['billing:read', 'billing:manage']]);
    expect(await recorded(['billing:manage']), 'nothing it has not been refused').toEqual([]);
    expect(await recorded(['billing:manage', 'billing:read'])).toEqual([]);
    // A permission not refused yet is recorded, with the rest of what was asked.
    expect(await recorded(['billing:read', 'org:delete'])).toEqual([['billing:read', 'org:delete']]);
    expect(await recorded(['org:delete', 'billing:manage'])).toEqual([]);
  });

  it('who is not a member gets 404 and nothing is recorded anywhere', async () => {
    const stranger = await signUp(t.app);
    const { grown } = await refused(stranger, { method: 'GET', url: at(org.orgId, '/audit-events') }, 404);
    expect(grown).toEqual([]);
  });
});

describe('a command that fails writes nothing', () => {
  let org: { orgId: string; owner: Person };
  beforeAll(async () => {
    org = await createOrg(t.app, { name: `Failing ${rand()}` });
  });

  type Attempt = () => Promise<LightMyRequestResponse>;
  /** What the failing request needs is set up first (and may write); then the request itself. */
  const FAILURES: Array<[string, number, string, () => Promise<Attempt>]> = [
    [
      'the last owner demotes themself',
      409,
      'last_owner',
      async () => () =>
        as(t.app, org.owner).patch(at(org.orgId, `/members/${org.owner.userId}`), { role: 'admin' }),
    ],
    [
      'the last owner removes themself',
      409,
      'last_owner',
      async () => () => as(t.app, org.owner).delete(at(org.orgId, `/members/${org.owner.userId}`)),
    ],
    [
      'the last owner leaves',
      409,
      'last_owner',
      async () => () => as(t.app, org.owner).delete(`/api/v1/me/memberships/${org.orgId}`),
    ],
    [
      'a role with a slug the org has',
      409,
      'conflict',
      async () => {
        const { slug } = await ownerCreatesRole(org);
        return () =>
          as(t.app, org.owner).post(at(org.orgId, '/roles'), { slug, name: 'Again', permissions: [] });
      },
    ],
    [
      'an invitation accepted a second time',
      409,
      'invite_used',
      async () => {
        const { email } = await ownerInvites(org);
        const invitee = await signUp(t.app, { email });
        const token = tokenFromMail((await t.mail.latestTo(email, 0, INVITATION_LINK)).text);
        expectStatus(await as(t.app, invitee).post('/api/v1/invitations/accept', { token }), 200);
        return () => as(t.app, invitee).post('/api/v1/invitations/accept', { token });
      },
    ],
    [
      'a sign-up with an email that has an account',
      409,
      'email_taken',
      async () => () =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/signup',
          headers: { origin: ORIGIN },
          payload: { email: org.owner.email, password: STRONG_PASSWORD, name: 'Twin' },
        }),
    ],
    [
      'an export on the Free plan (the owner holds audit:export, so no access.denied either)',
      403,
      'plan_limit',
      async () => {
        const free = await createOrg(t.app, { name: `Free ${rand()}`, plan: 'free' });
        return () => as(t.app, free.owner).get(at(free.orgId, '/audit-events/export'));
      },
    ],
  ];

  it.each(FAILURES)('%s → %i %s', async (_what, status, code, arrange) => {
    const attempt = await arrange();
    const before = await chainHeads();
    const res = await attempt();
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect(await grownChains(before), 'no chain grew').toEqual([]);
  });
});
