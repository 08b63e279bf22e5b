import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../../../../test/support/app.ts';

describe('session lifetime (real clock, shortened limits)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ session: { idleTimeoutMs: 1_200, absoluteLifetimeMs: 60_000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a session left idle past the idle timeout', async () => {
    const { cookie } = await signUp(t.app);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
    await sleep(1_500);
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
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ session: { idleTimeoutMs: 60_000, absoluteLifetimeMs: 1_500 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends a session at its absolute lifetime even while in use', async () => {
    const { cookie } = await signUp(t.app);
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline - 300) {
      expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
      await sleep(200);
    }
    await sleep(600);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(401);
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
});

// Revocation across several instances is tested in platform/cache/cache.test.ts.
