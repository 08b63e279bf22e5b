import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, sessionCookie, signUp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';

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

describe.runIf(onPostgres)('several instances on one PostgreSQL database', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({}, a.db);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** Propagation is a notification, not a poll: allow it the time to cross the socket. */
  async function refusedWithin(app: TestApp, cookie: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    do {
      if ((await app.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode === 401) return true;
      await sleep(5);
    } while (Date.now() < until);
    return false;
  }

  it('a logout on one instance ends the session cached by another', async () => {
    // Both listen for invalidations, so both serve sessions from memory.
    expect(a.app.gatehouse.bus.healthy && b.app.gatehouse.bus.healthy).toBe(true);
    const { cookie } = await signUp(a.app);
    expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);
    const out = await a.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie, origin: ORIGIN },
    });
    expect(out.statusCode).toBe(204);
    expect(await refusedWithin(b, cookie, 2_000)).toBe(true);
  });

  it('a password change on one instance ends the other sessions cached by another', async () => {
    const { email, password, cookie } = await signUp(a.app);
    const other = sessionCookie(
      await b.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
        headers: { origin: ORIGIN },
      }),
    );
    expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie: other } })).statusCode).toBe(200);
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      payload: { currentPassword: password, newPassword: 'an-entirely-new-phrase' },
      headers: { cookie, origin: ORIGIN },
    });
    expect(res.statusCode).toBe(204);
    expect(await refusedWithin(b, other, 2_000)).toBe(true);
  });

  it('a profile change on one instance is seen by another', async () => {
    const { cookie } = await signUp(a.app, { name: 'Before' });
    expect((await b.app.inject({ url: '/api/v1/me', headers: { cookie } })).json().user.name).toBe('Before');
    await a.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      payload: { name: 'After' },
      headers: { cookie, origin: ORIGIN },
    });
    const until = Date.now() + 2_000;
    let name = '';
    while (Date.now() < until && name !== 'After') {
      name = (await b.app.inject({ url: '/api/v1/me', headers: { cookie } })).json().user.name;
      if (name !== 'After') await sleep(5);
    }
    expect(name).toBe('After');
  });
});
