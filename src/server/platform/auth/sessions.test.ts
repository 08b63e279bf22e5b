import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../../../../test/support/app.ts';
import { createOrg } from '../../../../test/support/orgs.ts';

describe('session lifetime (real clock, shortened limits)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Margins of a second and more either side: a loaded machine may take that long per request.
    t = await createTestApp({ session: { idleTimeoutMs: 2_000, absoluteLifetimeMs: 60_000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a session left idle past the idle timeout', async () => {
    const { cookie } = await signUp(t.app);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
    await sleep(2_500);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('keeps a session alive while it is used (sliding)', async () => {
    const { cookie } = await signUp(t.app);
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
    }
  });
});

describe('absolute session lifetime', () => {
  const LIFETIME = 4_000;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ session: { idleTimeoutMs: 60_000, absoluteLifetimeMs: LIFETIME } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a session at its absolute lifetime even while in use', async () => {
    // The session starts somewhere within the sign-up: in use until well before the earliest
    // end it can have, refused after the latest.
    const before = Date.now();
    const { cookie } = await signUp(t.app);
    const after = Date.now();
    let used = 0;
    while (Date.now() < before + LIFETIME - 1_000) {
      expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
      used++;
      await sleep(200);
    }
    await sleep(Math.max(0, after + LIFETIME + 300 - Date.now()));
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(401);
    // Used on the way unless the sign-up alone took most of the lifetime.
    if (after - before < 1_000) expect(used).toBeGreaterThan(3);
  });
});

describe('cross-site request defence', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const patch = (headers: Record<string, string>) =>
    t.app.inject({ method: 'PATCH', url: '/api/v1/me', payload: { name: 'Mallory' }, headers });

  it('refuses a cookie-authenticated change from a foreign Origin, and changes nothing', async () => {
    const { cookie } = await signUp(t.app, { name: 'Alice' });
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
      const res = await patch({ cookie, origin });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden_origin');
    }
    const viaReferer = await patch({ cookie, referer: 'https://evil.example/page' });
    expect(viaReferer.statusCode).toBe(403);
    const viaFetchSite = await patch({ cookie, 'sec-fetch-site': 'cross-site' });
    expect(viaFetchSite.statusCode).toBe(403);
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(me.json().user.name).toBe('Alice');
  });

  it('accepts the public origin, the server own origin, and non-browser clients', async () => {
    const { cookie } = await signUp(t.app);
    expect((await patch({ cookie, origin: ORIGIN })).statusCode).toBe(200);
    expect((await patch({ cookie, origin: 'http://localhost:80', host: 'localhost:80' })).statusCode).toBe(
      200,
    );
    expect((await patch({ cookie })).statusCode).toBe(200);
  });

  it('refuses a foreign-origin login (login CSRF)', async () => {
    const { email, password } = await signUp(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.cookies).toHaveLength(0);
  });

  it('lets a foreign page read nothing: reads are not state changes but need the cookie, which SameSite=Lax keeps', async () => {
    const { cookie } = await signUp(t.app);
    const res = await t.app.inject({
      url: '/api/v1/me',
      headers: { cookie, origin: 'https://evil.example' },
    });
    // No CORS headers are ever granted, so the browser hides the body from the foreign page.
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a cross-site GET that writes (the audit export records itself and signs checkpoints), and nothing is written', async () => {
    const org = await createOrg(t.app);
    const url = `/api/v1/orgs/${org.orgId}/audit-events/export?format=jsonl`;
    const head = async () => (await t.app.gatehouse.audit.chainHead(t.app.gatehouse.database.db, org.orgId))!;
    const before = await head();
    // A link on another site, followed in the victim's browser: SameSite=Lax sends the cookie.
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { referer: 'https://evil.example/page' },
      // A sibling subdomain's page (same site, so Lax sends the cookie) that sends no Referer.
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'same-site', referer: 'https://files.localhost/page' },
    ]) {
      const res = await t.app.inject({ url, headers: { cookie: org.owner.cookie, ...headers } });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden_origin');
    }
    expect(await head()).toEqual(before);
    // From the console itself, or a non-browser client, the export works and is recorded.
    const own = await t.app.inject({
      url,
      headers: { cookie: org.owner.cookie, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).toBe(200);
    expect((await head()).headSeq).toBeGreaterThan(before.headSeq);
    // Another origin of the site that says which it is, and is allowed (here the public URL).
    const sibling = await t.app.inject({
      url,
      headers: { cookie: org.owner.cookie, 'sec-fetch-site': 'same-site', referer: `${ORIGIN}/audit` },
    });
    expect(sibling.statusCode).toBe(200);
  });

  it('declares every GET that writes: the audit export, and the SSO sign-in’s steps (a sign-in in flight stored, a session made)', () => {
    const writingReads = t.app.gatehouse.routes.filter((r) => r.method === 'GET' && r.writes);
    // A new one must be added here on purpose: each is refused from another site unless it
    // declares crossSite (the IdP's redirect back, which proves itself instead).
    expect(writingReads.map((r) => r.url).sort()).toEqual(
      [
        '/api/v1/orgs/:orgId/audit-events/export',
        '/sso/:orgSlug/oidc/login',
        '/sso/:orgSlug/oidc/callback',
        '/sso/:orgSlug/saml/login',
      ].sort(),
    );
  });
});

// Revocation across several instances is tested in platform/cache/cache.test.ts.

describe('the session cookie behind TLS', () => {
  let t: TestApp;
  const origin = 'https://gatehouse.example';
  beforeAll(async () => {
    t = await createTestApp({ publicUrl: origin });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is __Host-gatehouse_session: Secure, Path=/, no Domain; the unprefixed name is not read', async () => {
    const email = `tls-${Date.now()}@example.test`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      headers: { origin },
      payload: { email, password: 'violet-anchor-meadow-42', name: 'Tess' },
    });
    expect(res.statusCode).toBe(201);
    const cookie = res.cookies.find((c) => c.name === '__Host-gatehouse_session');
    expect(cookie).toMatchObject({ secure: true, path: '/', httpOnly: true, sameSite: 'Lax' });
    expect(cookie).not.toHaveProperty('domain');
    expect(res.cookies.find((c) => c.name === 'gatehouse_session')).toBeUndefined();

    const me = (c: string) => t.app.inject({ url: '/api/v1/me', headers: { cookie: c } });
    expect((await me(`__Host-gatehouse_session=${cookie!.value}`)).statusCode).toBe(200);
    // A cookie a sibling subdomain or a plain-http page could plant is not a session here.
    expect((await me(`gatehouse_session=${cookie!.value}`)).statusCode).toBe(401);

    const out = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { origin, cookie: `__Host-gatehouse_session=${cookie!.value}` },
    });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === '__Host-gatehouse_session')).toMatchObject({
      value: '',
      path: '/',
    });
  });
});

describe('the API reference at /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('cannot be framed by another page', async () => {
    for (const url of ['/docs', '/docs/json']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-security-policy'], url).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['content-security-policy'], url).not.toMatch(/upgrade-insecure-requests/);
      expect(res.headers['x-frame-options'], url).toBe('DENY');
    }
  });
});
