import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  STRONG_PASSWORD,
  sessionCookie,
  signUp,
  type TestApp,
  uniqueEmail,
} from '../../../../test/support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, payload: unknown, cookie?: string) =>
  t.app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
  });
const get = (url: string, cookie?: string) =>
  t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

describe('POST /api/v1/auth/signup', () => {
  it('creates the account, signs it in and never returns the password', async () => {
    const email = uniqueEmail('ann');
    const res = await post('/api/v1/auth/signup', { email, password: STRONG_PASSWORD, name: 'Ann' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toMatchObject({ email, name: 'Ann', locale: null, timezone: null });
    expect(JSON.stringify(body)).not.toContain('password');
    const cookie = res.cookies.find((c) => c.name === 'gatehouse_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.value.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    const me = await get('/api/v1/me', sessionCookie(res));
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      user: { ...body.user, passkeyCount: 0 },
      memberships: [],
      session: { amr: ['pwd'] },
    });
  });

  it('treats emails case-insensitively: a second account with another case is refused', async () => {
    const email = uniqueEmail('Case');
    await signUp(t.app, { email });
    const res = await post('/api/v1/auth/signup', {
      email: email.toUpperCase(),
      password: STRONG_PASSWORD,
      name: 'B',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('email_taken');
  });

  it('stores the password as an argon2id hash with OWASP parameters', async () => {
    const { userId } = await signUp(t.app);
    const rows = await t.db.database.db.execute(
      `SELECT password_hash FROM users WHERE id = '${userId}'` as never,
    );
    const hash = (rows as unknown as { rows: { password_hash: string }[] }).rows[0]!.password_hash;
    expect(hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
  });

  it.each([
    [{ email: 'not-an-email', password: STRONG_PASSWORD, name: 'A' }, '/body/email'],
    [{ email: uniqueEmail(), password: 'short', name: 'A' }, '/body/password'],
    [{ email: uniqueEmail(), password: 'passwordpassword', name: 'A' }, '/body/password'],
    [{ email: uniqueEmail(), password: STRONG_PASSWORD, name: '   ' }, '/body/name'],
    [{ email: uniqueEmail(), password: STRONG_PASSWORD }, '/body/name'],
    [{ email: uniqueEmail(), password: STRONG_PASSWORD, name: 'A', admin: true }, '/body/admin'],
    [{ email: uniqueEmail(), password: STRONG_PASSWORD, name: 42 }, '/body/name'],
    [{ email: uniqueEmail(), password: STRONG_PASSWORD, name: 'A\u0000B' }, '/body/name'],
  ])('refuses %j naming the field %s, and creates nothing', async (payload, field) => {
    const res = await post('/api/v1/auth/signup', payload);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = res.json();
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(res.cookies).toHaveLength(0);
  });

  it('answers malformed JSON, a wrong content type and an oversized body with 4xx problems', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      payload: '{"email": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('malformed_request');
    const form = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      payload: 'email=a',
    });
    expect(form.statusCode).toBe(415);
    expect(form.json().code).toBe('unsupported_media_type');
    const huge = await post('/api/v1/auth/signup', {
      email: 'a@b.io',
      password: 'x'.repeat(t.config.bodyLimit),
      name: 'x',
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('payload_too_large');
    const proto = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      payload:
        '{"__proto__": {"admin": true}, "email": "p@x.io", "password": "violet-anchor-meadow-42", "name": "P"}',
    });
    expect(proto.statusCode).toBe(400);
  });
});

describe('POST /api/v1/auth/login', () => {
  it('signs in with the right password, in any email case', async () => {
    const { email, password } = await signUp(t.app);
    const res = await post('/api/v1/auth/login', { email: email.toUpperCase(), password });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.email).toBe(email);
    const me = await get('/api/v1/me', sessionCookie(res));
    expect(me.statusCode).toBe(200);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const { email } = await signUp(t.app);
    const wrong = await post('/api/v1/auth/login', { email, password: 'not-the-password-1' });
    const unknown = await post('/api/v1/auth/login', {
      email: uniqueEmail('ghost'),
      password: 'not-the-password-1',
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
    expect(wrong.json().code).toBe('invalid_credentials');
    expect(wrong.cookies.filter((c) => c.name === 'gatehouse_session')).toHaveLength(0);
  });

  it('replaces a session presented at sign-in instead of keeping it (no fixation)', async () => {
    const { email, password, cookie } = await signUp(t.app);
    const res = await post('/api/v1/auth/login', { email, password }, cookie);
    expect(res.statusCode).toBe(200);
    expect(sessionCookie(res)).not.toBe(cookie);
    expect((await get('/api/v1/me', cookie)).statusCode).toBe(401);
    expect((await get('/api/v1/me', sessionCookie(res))).statusCode).toBe(200);
  });
});

describe('POST /api/v1/auth/logout', () => {
  it('ends the session: the very next request with the cookie is refused', async () => {
    const { cookie } = await signUp(t.app);
    expect((await get('/api/v1/me', cookie)).statusCode).toBe(200);
    const out = await post('/api/v1/auth/logout', undefined, cookie);
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'gatehouse_session')?.value).toBe('');
    const after = await get('/api/v1/me', cookie);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('unauthenticated');
  });

  it('answers 204 without a session', async () => {
    expect((await post('/api/v1/auth/logout', undefined)).statusCode).toBe(204);
  });
});

describe('GET /api/v1/me', () => {
  it('needs a session', async () => {
    const res = await get('/api/v1/me');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(
      (await get('/api/v1/me', 'gatehouse_session=forged-token-value-that-is-long-enough')).statusCode,
    ).toBe(401);
  });
});

describe('PATCH /api/v1/me', () => {
  const patch = (payload: unknown, cookie: string) =>
    t.app.inject({
      method: 'PATCH',
      url: '/api/v1/me',
      payload: payload as object,
      headers: { origin: ORIGIN, cookie },
    });

  it('changes name, language and time zone, visible on the next request', async () => {
    const { cookie } = await signUp(t.app);
    const res = await patch({ name: '  Grace  ', locale: 'es-mx', timezone: 'Europe/Madrid' }, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ name: 'Grace', locale: 'es-MX', timezone: 'Europe/Madrid' });
    expect((await get('/api/v1/me', cookie)).json().user).toMatchObject({ name: 'Grace', locale: 'es-MX' });
    const cleared = await patch({ locale: null, timezone: null }, cookie);
    expect(cleared.json().user).toMatchObject({ locale: null, timezone: null });
  });

  it('answers a change to what already is with the profile, and records nothing', async () => {
    const { cookie } = await signUp(t.app, { email: uniqueEmail('same'), name: 'Same Name' });
    const actions = async () =>
      (await get('/api/v1/me/audit-events?limit=100', cookie))
        .json()
        .items.map((e: { action: string }) => e.action);
    expect((await patch({ name: 'Other Name' }, cookie)).statusCode).toBe(200);
    const before = await actions();
    expect(before.filter((a: string) => a === 'user.updated')).toHaveLength(1);
    const res = await patch({ name: 'Other Name', locale: null }, cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ name: 'Other Name', locale: null });
    expect(res.json().user).not.toHaveProperty('passwordHash');
    expect(await actions()).toEqual(before);
  });

  it.each([
    [{ locale: 'fr' }, '/body/locale'],
    [{ locale: 'not a locale!' }, '/body/locale'],
    [{ timezone: 'Mars/Olympus' }, '/body/timezone'],
    [{ name: '' }, '/body/name'],
    [{ email: 'x@y.io' }, '/body/email'],
    [{}, '/body'],
  ])('refuses %j', async (payload, field) => {
    const { cookie } = await signUp(t.app);
    const res = await patch(payload, cookie);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});

describe('POST /api/v1/me/password', () => {
  it('changes the password, ends every session and continues this one on a new cookie', async () => {
    const { email, password, cookie } = await signUp(t.app);
    const other = sessionCookie(await post('/api/v1/auth/login', { email, password }));
    const res = await post(
      '/api/v1/me/password',
      { currentPassword: password, newPassword: 'a-brand-new-passphrase' },
      cookie,
    );
    expect(res.statusCode).toBe(204);
    const renewed = sessionCookie(res);
    expect(renewed).not.toBe(cookie);
    expect((await get('/api/v1/me', renewed)).statusCode).toBe(200);
    expect((await get('/api/v1/me', cookie)).statusCode).toBe(401);
    expect((await get('/api/v1/me', other)).statusCode).toBe(401);
    expect((await post('/api/v1/auth/login', { email, password })).statusCode).toBe(401);
    expect((await post('/api/v1/auth/login', { email, password: 'a-brand-new-passphrase' })).statusCode).toBe(
      200,
    );
  });

  it('never leaves a session made with the old password, even when sign-ins race the change', async () => {
    const { email, password, cookie } = await signUp(t.app);
    let changed = false;
    // Sign-ins with the old password keep arriving while the owner changes it.
    const attacker = (async () => {
      const results: number[] = [];
      while (!changed) {
        const burst = await Promise.all(
          Array.from({ length: 4 }, () => post('/api/v1/auth/login', { email, password })),
        );
        results.push(...burst.map((r) => r.statusCode));
      }
      return results;
    })();
    await new Promise((r) => setTimeout(r, 30));
    const res = await post(
      '/api/v1/me/password',
      { currentPassword: password, newPassword: 'raced-but-safe-phrase' },
      cookie,
    );
    changed = true;
    expect(res.statusCode).toBe(204);
    const statuses = await attacker;
    expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
    // Whatever raced, the only live session is the one the change handed back.
    const list = await get('/api/v1/me/sessions', sessionCookie(res));
    expect(list.json().items).toHaveLength(1);
    expect(list.json().items[0].current).toBe(true);
  });

  it('refuses a wrong current password and a weak new one, changing nothing', async () => {
    const { email, password, cookie } = await signUp(t.app);
    const wrong = await post(
      '/api/v1/me/password',
      { currentPassword: 'wrong-password-123', newPassword: 'another-good-passphrase' },
      cookie,
    );
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors[0].field).toBe('/body/currentPassword');
    const weak = await post(
      '/api/v1/me/password',
      { currentPassword: password, newPassword: 'short' },
      cookie,
    );
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors[0].field).toBe('/body/newPassword');
    expect((await post('/api/v1/auth/login', { email, password })).statusCode).toBe(200);
  });
});

describe('GET and DELETE /api/v1/me/sessions', () => {
  it('lists own sessions with the current one marked, and revokes one effective at once', async () => {
    const { email, password, cookie } = await signUp(t.app);
    const second = sessionCookie(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
        headers: { origin: ORIGIN, 'user-agent': 'second-browser' },
      }),
    );
    const list = await get('/api/v1/me/sessions', cookie);
    expect(list.statusCode).toBe(200);
    const items = list.json().items as { id: string; current: boolean; userAgent: string | null }[];
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const target = items.find((s) => !s.current)!;
    expect(target.userAgent).toBe('second-browser');
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/me/sessions/${target.id}`,
      headers: { origin: ORIGIN, cookie },
    });
    expect(del.statusCode).toBe(204);
    expect((await get('/api/v1/me', second)).statusCode).toBe(401);
    expect((await get('/api/v1/me', cookie)).statusCode).toBe(200);
  });

  it("pages with a cursor and never shows or ends another user's session", async () => {
    const alice = await signUp(t.app);
    for (let i = 0; i < 3; i++)
      await post('/api/v1/auth/login', { email: alice.email, password: alice.password });
    const first = (await get('/api/v1/me/sessions?limit=2', alice.cookie)).json();
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await get(`/api/v1/me/sessions?limit=2&cursor=${first.nextCursor}`, alice.cookie)).json();
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
    const ids = [...first.items, ...second.items].map((s: { id: string }) => s.id);
    expect(new Set(ids).size).toBe(4);
    expect((await get('/api/v1/me/sessions?cursor=garbage', alice.cookie)).statusCode).toBe(400);

    const bob = await signUp(t.app);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/me/sessions/${ids[0]}`,
      headers: { origin: ORIGIN, cookie: bob.cookie },
    });
    expect(del.statusCode).toBe(404);
    expect((await get('/api/v1/me/sessions', alice.cookie)).json().items).toHaveLength(4);
  });
});

describe('weak passwords', () => {
  const signup = (password: string, fields: { email?: string; name?: string } = {}) =>
    post('/api/v1/auth/signup', {
      email: fields.email ?? uniqueEmail(),
      password,
      name: fields.name ?? 'Pat Doe',
    });

  it('refuses common and guessable passwords on sign-up with reason common_password', async () => {
    for (const password of [
      'password123456',
      'qwertyuiop123',
      'iloveyou1234',
      'passwordpassword',
      'aaaaaaaaaaaaab',
    ]) {
      const res = await signup(password);
      expect(res.statusCode, password).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors, password).toEqual([
        {
          field: '/body/password',
          reason: 'common_password',
          message: 'is among the most common passwords; choose a longer or less predictable one',
        },
      ]);
    }
  });

  it('refuses a password built on the email or the name', async () => {
    const email = uniqueEmail('quentin');
    const local = email.split('@')[0]!;
    for (const [password, fields] of [
      [`${local}-2026!`, { email }],
      ['xX-Ramona Quimby-Xx', { name: 'Ramona Quimby' }],
      ['ramonaquimby-winter-97', { name: 'Ramona Quimby' }],
    ] as const) {
      const res = await signup(password, fields);
      expect(res.statusCode, password).toBe(400);
      expect(res.json().errors[0]).toMatchObject({
        field: '/body/password',
        reason: 'contains_personal_info',
      });
    }
  });

  it('says why a short password is refused, with the limit', async () => {
    const res = await signup('short-1');
    expect(res.json().errors).toEqual([
      {
        field: '/body/password',
        reason: 'minLength',
        params: { limit: 12 },
        message: 'must be at least 12 characters',
      },
    ]);
  });

  it('refuses a common password as the new one in a password change', async () => {
    const { password, cookie } = await signUp(t.app);
    const res = await post(
      '/api/v1/me/password',
      { currentPassword: password, newPassword: 'password123456' },
      cookie,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ field: '/body/newPassword', reason: 'common_password' });
  });

  it('counts refused new passwords against the account’s re-entry budget: judging them is not free', async () => {
    const { password, cookie } = await signUp(t.app);
    const max = t.config.loginThrottle.maxFailuresPerAccount;
    for (let i = 0; i < max; i++) {
      const res = await post(
        '/api/v1/me/password',
        { currentPassword: password, newPassword: 'password123456' },
        cookie,
      );
      expect(res.statusCode).toBe(400);
    }
    const past = await post(
      '/api/v1/me/password',
      { currentPassword: password, newPassword: 'password123456' },
      cookie,
    );
    expect(past.statusCode).toBe(429);
    expect(past.json().code).toBe('rate_limited');
    expect(Number(past.headers['retry-after'])).toBeGreaterThan(60);
  });

  it('accepts a long passphrase', async () => {
    expect((await signup('violet-anchor-meadow-42')).statusCode).toBe(201);
  });

  it('judges a sign-up password only within the address budget: past it, 429 before any judging', async () => {
    // Judging a password takes tens of milliseconds of the event loop: anonymous requests must
    // not get it without limit.
    const strict = await createTestApp({ loginThrottle: { maxSignupsPerIp: 2 } });
    try {
      const send = (password: string) =>
        strict.app.inject({
          method: 'POST',
          url: '/api/v1/auth/signup',
          payload: { email: uniqueEmail(), password, name: 'Pat Doe' },
          headers: { origin: ORIGIN },
        });
      expect((await send('1q2w3e4r5t6y7u8i9o0p')).statusCode).toBe(400);
      expect((await send(STRONG_PASSWORD)).statusCode).toBe(201);
      const refused = await send('1q2w3e4r5t6y7u8i9o0p');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await strict.close();
    }
  });
});
