import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { buildApp } from '../../app.ts';
import { createRole } from '../../modules/roles/roles.commands.ts';
import { defineCommand } from '../command.ts';
import { installRoutePolicy } from './route-policy.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('route inventory', () => {
  it('lists every API route with what it requires', () => {
    const api = t.app.gatehouse.routes
      .filter((r) => !r.url.startsWith('/docs'))
      .map((r) => `${r.method} ${r.url} → ${r.access}${r.sessionOnly ? ' (session only)' : ''}`)
      .sort();
    // A new route must be added here on purpose, with the access it declares.
    expect(api).toEqual(
      [
        'GET /healthz → public',
        'GET /readyz → public',
        'GET /openapi.json → public',
        'DELETE /api/v1/me → authenticated (session only)',
        'DELETE /api/v1/me/2fa/totp → authenticated (session only)',
        'GET /api/v1/me/export → authenticated (session only)',
        'POST /api/v1/auth/password-reset → public',
        'POST /api/v1/auth/password-reset/confirm → public',
        'POST /api/v1/auth/verify-email → public',
        'POST /api/v1/me/2fa/recovery-codes → authenticated (session only)',
        'POST /api/v1/me/2fa/totp → authenticated (session only)',
        'POST /api/v1/me/2fa/totp/confirm → authenticated (session only)',
        'POST /api/v1/me/email → authenticated (session only)',
        'POST /api/v1/me/email-verification → authenticated (session only)',
        'POST /api/v1/me/email/confirm → authenticated (session only)',
        'GET /* → public',
        'GET /api/v1/permissions → authenticated',
        'POST /api/v1/auth/signup → public',
        'POST /api/v1/auth/login → public',
        'POST /api/v1/auth/logout → public',
        'GET /api/v1/me → authenticated',
        'PATCH /api/v1/me → authenticated (session only)',
        'POST /api/v1/me/password → authenticated (session only)',
        'GET /api/v1/me/sessions → authenticated (session only)',
        'DELETE /api/v1/me/sessions/:id → authenticated (session only)',
        'POST /api/v1/me/passkeys/options → authenticated (session only)',
        'POST /api/v1/me/passkeys → authenticated (session only)',
        'GET /api/v1/me/passkeys → authenticated (session only)',
        'PATCH /api/v1/me/passkeys/:id → authenticated (session only)',
        'DELETE /api/v1/me/passkeys/:id → authenticated (session only)',
        'POST /api/v1/auth/passkey/options → public',
        'POST /api/v1/auth/passkey → public',
        'DELETE /api/v1/me/memberships/:orgId → authenticated (session only)',
        'POST /api/v1/orgs → authenticated (session only)',
        'GET /api/v1/orgs → authenticated (session only)',
        'GET /api/v1/orgs/:orgId → settings:read',
        'PATCH /api/v1/orgs/:orgId → settings:update',
        'DELETE /api/v1/orgs/:orgId → org:delete (session only)',
        'GET /api/v1/orgs/:orgId/security → settings:read',
        'GET /api/v1/orgs/:orgId/settings/data → settings:read',
        'PATCH /api/v1/orgs/:orgId/settings/data → settings:update',
        'POST /api/v1/orgs/:orgId/exports → org:export',
        'GET /api/v1/orgs/:orgId/exports → org:export',
        'GET /api/v1/orgs/:orgId/exports/:id → org:export',
        'GET /api/v1/orgs/:orgId/exports/:id/download → org:export',
        'GET /api/v1/orgs/:orgId/billing/invoices → billing:read',
        'GET /api/v1/orgs/:orgId/billing/invoices/:id/pdf → billing:read',
        'POST /api/v1/billing/provider-events → public',
        'POST /api/v1/orgs/:orgId/compliance-reports → compliance:read',
        'POST /api/v1/orgs/:orgId/reports/executive → analytics:read',
        'GET /api/v1/orgs/:orgId/compliance-reports → compliance:read',
        'GET /api/v1/orgs/:orgId/compliance-reports/:id → compliance:read',
        'GET /api/v1/orgs/:orgId/compliance-reports/:id/pdf → compliance:read',
        'GET /api/v1/orgs/:orgId/reports/executive → analytics:read',
        'GET /api/v1/orgs/:orgId/reports/executive/:id → analytics:read',
        'GET /api/v1/orgs/:orgId/reports/executive/:id/pdf → analytics:read',
        'PATCH /api/v1/orgs/:orgId/security → settings:update',
        'GET /api/v1/orgs/:orgId/settings/platform → settings:read',
        'PATCH /api/v1/orgs/:orgId/settings/platform → settings:update',
        'GET /api/v1/orgs/:orgId/settings/localization → settings:read',
        'PATCH /api/v1/orgs/:orgId/settings/localization → settings:update',
        'GET /api/v1/orgs/:orgId/setup → settings:read',
        'PUT /api/v1/orgs/:orgId/setup → settings:update',
        'PUT /api/v1/orgs/:orgId/logo → settings:update',
        'GET /api/v1/orgs/:orgId/logo → members:read',
        'DELETE /api/v1/orgs/:orgId/logo → settings:update',
        'POST /api/v1/orgs/:orgId/ownership-transfer → org:transfer (session only)',
        'GET /api/v1/orgs/:orgId/members → members:read',
        'GET /api/v1/orgs/:orgId/members/:userId → members:read',
        'PATCH /api/v1/orgs/:orgId/members/:userId → members:manage',
        'DELETE /api/v1/orgs/:orgId/members/:userId → members:manage',
        'GET /api/v1/orgs/:orgId/roles → members:read',
        'GET /api/v1/orgs/:orgId/roles/:slug → members:read',
        'POST /api/v1/orgs/:orgId/roles → roles:manage',
        'PATCH /api/v1/orgs/:orgId/roles/:slug → roles:manage',
        'DELETE /api/v1/orgs/:orgId/roles/:slug → roles:manage',
        'POST /api/v1/orgs/:orgId/invitations → members:manage',
        'GET /api/v1/orgs/:orgId/invitations → members:manage',
        'POST /api/v1/orgs/:orgId/invitations/:id/resend → members:manage',
        'DELETE /api/v1/orgs/:orgId/invitations/:id → members:manage',
        'POST /api/v1/invitations/preview → public',
        'POST /api/v1/invitations/accept → authenticated (session only)',
        'GET /api/v1/orgs/:orgId/join-link → members:manage',
        'POST /api/v1/orgs/:orgId/join-link → members:manage',
        'DELETE /api/v1/orgs/:orgId/join-link → members:manage',
        'POST /api/v1/join-requests → authenticated (session only)',
        'GET /api/v1/orgs/:orgId/join-requests → members:manage',
        'POST /api/v1/orgs/:orgId/join-requests/:id/approve → members:manage',
        'POST /api/v1/orgs/:orgId/join-requests/:id/deny → members:manage',
        'GET /api/v1/orgs/:orgId/audit-events → audit:read',
        'GET /api/v1/orgs/:orgId/audit-events/export → audit:export',
        'GET /api/v1/orgs/:orgId/audit-events/verify → audit:read',
        'GET /api/v1/orgs/:orgId/audit-checkpoints → audit:read',
        'POST /api/v1/orgs/:orgId/audit-checkpoints → audit:export',
        'GET /api/v1/audit-keys → public',
        'GET /api/v1/me/audit-events → authenticated (session only)',
        'GET /api/v1/me/tokens → authenticated',
        'POST /api/v1/me/tokens → authenticated (session only)',
        'DELETE /api/v1/me/tokens/:id → authenticated (session only)',
        'GET /api/v1/orgs/:orgId/automation-tokens → api_keys:manage',
        'POST /api/v1/orgs/:orgId/automation-tokens → api_keys:manage (session only)',
        'DELETE /api/v1/orgs/:orgId/automation-tokens/:id → api_keys:manage',
        'GET /api/v1/orgs/:orgId/automation-tokens/:id/usage → api_keys:manage',
        'GET /api/v1/orgs/:orgId/personal-tokens → api_keys:manage',
        'DELETE /api/v1/orgs/:orgId/personal-tokens/:id → api_keys:manage',
        'GET /api/v1/orgs/:orgId/findings → findings:read',
        'GET /api/v1/orgs/:orgId/findings/:id → findings:read',
        'PATCH /api/v1/orgs/:orgId/findings/:id → findings:update',
        'GET /api/v1/orgs/:orgId/findings/:id/comments → findings:read',
        'POST /api/v1/orgs/:orgId/findings/:id/comments → findings:update',
        'GET /api/v1/orgs/:orgId/findings/:id/remediations → findings:read',
        'POST /api/v1/orgs/:orgId/findings/:id/remediations → remediations:create',
        'POST /api/v1/orgs/:orgId/remediations/:id/approve → remediations:approve',
        'POST /mcp → authenticated',
        'GET /mcp → authenticated',
        'DELETE /mcp → authenticated',
        'DELETE /api/v1/orgs/:orgId/applications/:id → applications:delete',
        'DELETE /api/v1/orgs/:orgId/departments/:id → quota:manage',
        'DELETE /api/v1/orgs/:orgId/policies/:id → policies:manage',
        'DELETE /api/v1/orgs/:orgId/scans/:id → scans:delete',
        'GET /api/v1/orgs/:orgId/applications → applications:read',
        'GET /api/v1/orgs/:orgId/applications/:id → applications:read',
        'GET /api/v1/orgs/:orgId/departments → quota:read',
        'GET /api/v1/orgs/:orgId/departments/:id → quota:read',
        'GET /api/v1/orgs/:orgId/member-budgets → quota:read',
        'GET /api/v1/orgs/:orgId/policies → policies:read',
        'GET /api/v1/orgs/:orgId/policies/:id → policies:read',
        'GET /api/v1/orgs/:orgId/quota-boosts → quota:read',
        'GET /api/v1/orgs/:orgId/billing/subscription → billing:read',
        'PATCH /api/v1/orgs/:orgId/billing/subscription → billing:manage',
        'GET /api/v1/orgs/:orgId/billing/payment-method → billing:manage',
        'PUT /api/v1/orgs/:orgId/billing/payment-method → billing:manage',
        'GET /api/v1/orgs/:orgId/scans → scans:read',
        'GET /api/v1/orgs/:orgId/scans/:id → scans:read',
        'GET /api/v1/orgs/:orgId/scans/:id/export → scans:export',
        'GET /api/v1/orgs/:orgId/scans/:id/findings → findings:read',
        'GET /api/v1/orgs/:orgId/usage → quota:read',
        'GET /api/v1/plans → public',
        'PATCH /api/v1/orgs/:orgId/applications/:id → applications:manage',
        'PATCH /api/v1/orgs/:orgId/departments/:id → quota:manage',
        'PATCH /api/v1/orgs/:orgId/policies/:id → policies:manage',
        'POST /api/v1/me/reauthenticate → authenticated (session only)',
        'POST /api/v1/orgs/:orgId/applications → applications:manage',
        'POST /api/v1/orgs/:orgId/departments → quota:manage',
        'POST /api/v1/orgs/:orgId/policies → policies:manage',
        'POST /api/v1/orgs/:orgId/quota-boosts → quota:manage',
        'POST /api/v1/orgs/:orgId/scans → scans:create',
        'PUT /api/v1/orgs/:orgId/members/:userId/budget → quota:manage',
        'GET /api/v1/orgs/:orgId/webhooks → webhooks:manage',
        'POST /api/v1/orgs/:orgId/webhooks → webhooks:manage',
        'GET /api/v1/orgs/:orgId/webhooks/:id → webhooks:manage',
        'PATCH /api/v1/orgs/:orgId/webhooks/:id → webhooks:manage',
        'DELETE /api/v1/orgs/:orgId/webhooks/:id → webhooks:manage',
        'POST /api/v1/orgs/:orgId/webhooks/:id/rotate-secret → webhooks:manage',
        'POST /api/v1/orgs/:orgId/webhooks/:id/test → webhooks:manage',
        'GET /api/v1/orgs/:orgId/webhooks/:id/deliveries → webhooks:manage',
        'POST /api/v1/orgs/:orgId/webhooks/:id/deliveries/:deliveryId/redeliver → webhooks:manage',
        'GET /api/v1/me/notifications → authenticated (session only)',
        'PATCH /api/v1/me/notifications → authenticated (session only)',
        'GET /api/v1/me/inbox → authenticated (session only)',
        'POST /api/v1/me/inbox/:id/read → authenticated (session only)',
        'POST /api/v1/me/inbox/read-all → authenticated (session only)',
        'GET /api/v1/orgs/:orgId/slack → integrations:manage',
        'PUT /api/v1/orgs/:orgId/slack → integrations:manage',
        'DELETE /api/v1/orgs/:orgId/slack → integrations:manage',
        'POST /api/v1/orgs/:orgId/slack/test → integrations:manage',
        'GET /api/v1/orgs/:orgId/quota-alerts → quota:manage',
        'PATCH /api/v1/orgs/:orgId/quota-alerts → quota:manage',
        'GET /api/v1/orgs/:orgId/sso → sso:manage',
        'PATCH /api/v1/orgs/:orgId/sso → sso:manage',
        'GET /api/v1/orgs/:orgId/sso/oidc → sso:manage',
        'PUT /api/v1/orgs/:orgId/sso/oidc → sso:manage',
        'DELETE /api/v1/orgs/:orgId/sso/oidc → sso:manage',
        'GET /api/v1/orgs/:orgId/sso/saml → sso:manage',
        'PUT /api/v1/orgs/:orgId/sso/saml → sso:manage',
        'DELETE /api/v1/orgs/:orgId/sso/saml → sso:manage',
        'GET /api/v1/orgs/:orgId/sso/group-mappings → sso:manage',
        'POST /api/v1/orgs/:orgId/sso/group-mappings → sso:manage',
        'DELETE /api/v1/orgs/:orgId/sso/group-mappings/:id → sso:manage',
        'POST /api/v1/auth/sso/discover → public',
        'GET /sso/:orgSlug/oidc/login → public',
        'GET /sso/:orgSlug/oidc/callback → public',
        'GET /sso/:orgSlug/saml/metadata → public',
        'GET /sso/:orgSlug/saml/login → public',
        'POST /sso/:orgSlug/saml/acs → public',
        'GET /api/v1/orgs/:orgId/scim-tokens → sso:manage',
        'POST /api/v1/orgs/:orgId/scim-tokens → sso:manage (session only)',
        'DELETE /api/v1/orgs/:orgId/scim-tokens/:id → sso:manage',
        'GET /api/v1/orgs/:orgId/scim-log → sso:manage',
        // The identity provider's SCIM token is checked by the routes' own hook.
        'GET /scim/v2/* → public',
        'POST /scim/v2/* → public',
        'PUT /scim/v2/* → public',
        'PATCH /scim/v2/* → public',
        'DELETE /scim/v2/* → public',
        'GET /api/v1/orgs/:orgId/ai-connections/:purpose → settings:read',
        'PUT /api/v1/orgs/:orgId/ai-connections/:purpose → settings:update',
        'DELETE /api/v1/orgs/:orgId/ai-connections/:purpose → settings:update',
        'POST /api/v1/orgs/:orgId/ai-connections/:purpose/test → settings:update',
        'GET /api/v1/orgs/:orgId/integrations → integrations:read',
        'POST /api/v1/orgs/:orgId/integrations → integrations:manage',
        'GET /api/v1/orgs/:orgId/integrations/:id → integrations:read',
        'PATCH /api/v1/orgs/:orgId/integrations/:id → integrations:manage',
        'DELETE /api/v1/orgs/:orgId/integrations/:id → integrations:manage',
        'POST /api/v1/orgs/:orgId/integrations/:id/test → integrations:manage',
      ].sort(),
    );
  });

  it('serves every API route in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const route of t.app.gatehouse.routes) {
      if (route.url.startsWith('/docs') || route.url === '/openapi.json' || route.url === '/*') continue;
      // A trailing wildcard (`/scim/v2/*`) is the parameter `{*}` in the document.
      const path = route.url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{*}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/v1/me'].get.security).toEqual([{ session: [] }, { bearer: [] }]);
    expect(doc.paths['/api/v1/me/password'].post.security).toEqual([{ session: [] }]);
    expect(doc.paths['/api/v1/auth/signup'].post.security).toEqual([]);
    // Personal tokens only: no session.
    expect(doc.paths['/mcp'].post.security).toEqual([{ bearer: [] }]);
  });

  it('serves the reference UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger-ui');
  });
});

describe('deny by default', () => {
  const build = () => {
    const app = Fastify();
    installRoutePolicy(app);
    return app;
  };

  it('refuses to boot with a route that declares no access rule', async () => {
    const app = build();
    app.register(async (module) => {
      module.get('/api/v1/forgotten', async () => 'oops');
    });
    await expect(app.ready()).rejects.toThrow(/must declare exactly one of/);
  });

  it('refuses a route that declares two rules, an unknown permission, or a permission without :orgId', () => {
    const app = build();
    expect(() => app.get('/x', { config: { public: true, authenticated: true } }, async () => '')).toThrow(
      /exactly one/,
    );
    expect(() =>
      app.get('/api/v1/orgs/:orgId/x', { config: { permission: 'everything:all' as never } }, async () => ''),
    ).toThrow(/unknown permission/);
    expect(() => app.get('/api/v1/x', { config: { permission: 'members:read' } }, async () => '')).toThrow(
      /no :orgId/,
    );
  });

  it('accepts a route that declares one rule', async () => {
    const app = build();
    app.get('/api/v1/orgs/:orgId/members', { config: { permission: 'members:read' } }, async () => '');
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });
});

describe('a route and the commands it runs', () => {
  const build = () => {
    const app = Fastify();
    return { app, inventory: installRoutePolicy(app) };
  };
  const probe = (action: string, permission?: 'members:read' | 'members:manage') =>
    defineCommand({
      action,
      ...(permission ? { permission } : {}),
      async run() {},
    });
  const manage = probe('probe.managed', 'members:manage');
  const account = probe('probe.own');

  it('takes its permission from the command it runs, once', async () => {
    const { app, inventory } = build();
    app.post('/api/v1/orgs/:orgId/probe', { config: { command: manage } }, async () => '');
    app.delete(
      '/api/v1/orgs/:orgId/probe',
      { config: { command: [manage, probe('probe.also_managed', 'members:manage')] } },
      async () => '',
    );
    app.post('/api/v1/me/probe', { config: { authenticated: true, command: account } }, async () => '');
    await app.ready();
    expect(inventory.map((r) => `${r.method} ${r.url} → ${r.access}`)).toEqual([
      'POST /api/v1/orgs/:orgId/probe → members:manage',
      'DELETE /api/v1/orgs/:orgId/probe → members:manage',
      'POST /api/v1/me/probe → authenticated',
    ]);
    await app.close();
  });

  it("refuses a route whose declared permission is not its command's", () => {
    const { app } = build();
    expect(() =>
      app.post(
        '/api/v1/orgs/:orgId/probe',
        { config: { permission: 'members:read', command: manage } },
        async () => '',
      ),
    ).toThrow(
      'POST /api/v1/orgs/:orgId/probe declares "members:read" but runs probe.managed, which requires "members:manage"',
    );
    expect(() =>
      app.post(
        '/api/v1/orgs/:orgId/probe',
        { config: { permission: 'members:manage', command: account } },
        async () => '',
      ),
    ).toThrow('declares "members:manage" but runs probe.own, which requires no permission');
    expect(() =>
      app.post('/api/v1/me/probe', { config: { authenticated: true, command: manage } }, async () => ''),
    ).toThrow('POST /api/v1/me/probe declares config.authenticated but runs probe.managed');
    expect(() =>
      app.post('/api/v1/auth/probe', { config: { public: true, command: manage } }, async () => ''),
    ).toThrow('declares config.public but runs probe.managed');
    expect(() =>
      app.post(
        '/api/v1/orgs/:orgId/probe',
        { config: { command: [manage, probe('probe.read', 'members:read')] } },
        async () => '',
      ),
    ).toThrow(
      /runs probe\.managed, which requires "members:manage", and probe\.read, which requires "members:read"/,
    );
    // An org command needs the org in the path, as a declared permission does.
    expect(() => app.post('/api/v1/probe', { config: { command: manage } }, async () => '')).toThrow(
      /no :orgId/,
    );
    // Declaring the command's own permission as well is allowed.
    app.post(
      '/api/v1/orgs/:orgId/probe',
      { config: { permission: 'members:manage', command: manage } },
      async () => '',
    );
  });

  it('refuses a route that may change something without saying which commands it runs', async () => {
    const { app } = build();
    expect(() =>
      app.post('/api/v1/orgs/:orgId/probe', { config: { permission: 'members:manage' } }, async () => ''),
    ).toThrow('POST /api/v1/orgs/:orgId/probe may change something but does not say which command it runs');
    expect(() => app.delete('/api/v1/me/probe', { config: { authenticated: true } }, async () => '')).toThrow(
      /DELETE \/api\/v1\/me\/probe may change something/,
    );
    expect(() => app.put('/api/v1/auth/probe', { config: { public: true } }, async () => '')).toThrow(
      /may change something/,
    );
    expect(() =>
      app.get(
        '/api/v1/orgs/:orgId/probe',
        { config: { permission: 'members:manage', writes: true } },
        async () => '',
      ),
    ).toThrow(/GET \/api\/v1\/orgs\/:orgId\/probe may change something/);
    // A route that runs a command is a writing route (cross-site cookie requests are refused).
    expect(() =>
      app.get('/api/v1/orgs/:orgId/probe', { config: { command: manage } }, async () => ''),
    ).toThrow('GET /api/v1/orgs/:orgId/probe runs probe.managed but does not declare that it writes');
    // Saying it runs none is saying it.
    app.post('/api/v1/auth/probe', { config: { public: true, command: [] } }, async () => '');
    app.get('/api/v1/orgs/:orgId/probe', { config: { command: manage, writes: true } }, async () => '');
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });

  it("stops the real app from starting when a module's route disagrees with its command", async () => {
    const app: FastifyInstance = await buildApp({ config: t.config, database: t.db.database, quiet: true });
    try {
      app.register(async (module) => {
        module.post(
          '/api/v1/orgs/:orgId/roles-probe',
          { config: { permission: 'members:read', command: createRole } },
          async () => '',
        );
      });
      await expect(app.ready()).rejects.toThrow(
        'POST /api/v1/orgs/:orgId/roles-probe declares "members:read" but runs role.created, which requires "roles:manage"',
      );
    } finally {
      await app.close();
    }
  });
});
