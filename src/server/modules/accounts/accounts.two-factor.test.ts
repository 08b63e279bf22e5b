import { and, eq, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  signUp as signUpUnverified,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../../../../test/support/app.ts';
import {
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  withToken,
} from '../../../../test/support/orgs.ts';
import { enableTwoFactor, totpCode } from '../../../../test/support/two-factor.ts';
import { organizations, recoveryCodes, users } from '../../platform/db/schema.ts';
import { matchTotp, totpStep } from './accounts.two-factor.ts';

/** A new account whose address is proven (2FA is added only to such accounts). */
async function signUp(...args: Parameters<typeof signUpUnverified>) {
  const who = await signUpUnverified(...args);
  await verifyEmailInDatabase(args[0], who.userId);
  return who;
}

/**
 * TOTP 2FA and recovery codes through the API, on a real database: set-up, sign-in with each
 * factor, each code accepted once (also when requests race), turning it off, and the throttle.
 */

let t: TestApp;
beforeAll(async () => {
  // Enough failures for the parallel cases; the throttle case counts against this budget.
  t = await createTestApp({ loginThrottle: { maxFailuresPerAccount: 12, maxFailuresPerIp: 100_000 } });
});
afterAll(async () => {
  await t?.close();
});

type Factor = { totp?: string; recoveryCode?: string };
const login = (who: { email: string; password: string }, factor: Factor = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { origin: ORIGIN },
    payload: { email: who.email, password: who.password, ...factor },
  });

const me = async (cookie: string) =>
  (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).json().user;

async function userRow(userId: string) {
  const [row] = await t.db.database.db.select().from(users).where(eq(users.id, userId));
  return row!;
}

/** A new account with 2FA on. */
async function enrolled() {
  const who = await signUp(t.app, { email: uniqueEmail('twofa') });
  return { ...who, ...(await enableTwoFactor(t.app, who)) };
}

describe('setting up TOTP', () => {
  it('hands out a pending secret, confirms it with a code and shows ten recovery codes once', async () => {
    const who = await signUp(t.app, { email: uniqueEmail('setup') });
    const started = expectStatus(await as(t.app, who).post('/api/v1/me/2fa/totp'), 200);
    expect(started.headers['cache-control']).toBe('no-store');
    const { secret, otpauthUrl } = started.json();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe(`/Gatehouse:${who.email}`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      issuer: 'Gatehouse',
      secret,
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    // Pending: stored sealed, and 2FA is not on yet.
    const pending = await userRow(who.userId);
    expect(pending.totpPendingSecret).toMatch(/^gh1\./);
    expect(pending.totpPendingSecret).not.toContain(secret);
    expect(t.app.gatehouse.secrets.open(pending.totpPendingSecret!, `totp-pending:${who.userId}`)).toBe(
      secret,
    );
    expect((await me(who.cookie)).twoFactorEnabled).toBe(false);

    // A wrong code is named under the field; nothing changes.
    const wrong = await as(t.app, who).post('/api/v1/me/2fa/totp/confirm', {
      code: totpCode(secret, 5),
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors).toEqual([expect.objectContaining({ field: '/body/code' })]);

    const confirmed = expectStatus(
      await as(t.app, who).post('/api/v1/me/2fa/totp/confirm', { code: totpCode(secret) }),
      200,
    );
    expect(confirmed.headers['cache-control']).toBe('no-store');
    const codes: string[] = confirmed.json().recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    // On at once, for this session (the user cache was dropped).
    expect((await me(who.cookie)).twoFactorEnabled).toBe(true);

    const row = await userRow(who.userId);
    expect(row.totpPendingSecret).toBeNull();
    expect(row.totpEnabledAt).toBeInstanceOf(Date);
    expect(row.totpLastStep).toBeGreaterThanOrEqual(totpStep() - 1);
    expect(t.app.gatehouse.secrets.open(row.totpSecret!, `totp:${who.userId}`)).toBe(secret);
    // Recovery codes are stored only as hashes.
    const stored = await t.db.database.db
      .select()
      .from(recoveryCodes)
      .where(eq(recoveryCodes.userId, who.userId));
    expect(stored).toHaveLength(10);
    for (const r of stored) {
      expect(r.codeHash).toHaveLength(32);
      for (const code of codes) expect(r.codeHash.toString('latin1')).not.toContain(code);
    }

    // Already on: no second set-up.
    expect((await as(t.app, who).post('/api/v1/me/2fa/totp')).json().code).toBe('conflict');
    expect(
      (await as(t.app, who).post('/api/v1/me/2fa/totp/confirm', { code: totpCode(secret, 1) })).statusCode,
    ).toBe(409);
  });

  it('accepts a code one step either side of now, not two', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const now = Date.now();
    expect(matchTotp(secret, totpCode(secret, 0), now)).toBe(totpStep(now));
    expect(matchTotp(secret, totpCode(secret, -1), now)).toBe(totpStep(now) - 1);
    expect(matchTotp(secret, totpCode(secret, 1), now)).toBe(totpStep(now) + 1);
    expect(matchTotp(secret, totpCode(secret, 3), now)).toBeNull();
    expect(matchTotp(secret, '12345', now)).toBeNull();
    expect(matchTotp(secret, '１２３４５６', now)).toBeNull();
  });
});

describe('signing in with 2FA on', () => {
  it('asks for the second factor only once the password is right, then takes a code once', async () => {
    const who = await enrolled();
    const wrongPassword = await login({ ...who, password: 'not-the-password-at-all' });
    expect(wrongPassword.json().code).toBe('invalid_credentials');
    // Even with a right code, a wrong password says nothing about the code.
    const wrongPasswordRightCode = await login(
      { ...who, password: 'not-the-password-at-all' },
      { totp: totpCode(who.secret) },
    );
    expect(wrongPasswordRightCode.json().code).toBe('invalid_credentials');

    const asked = await login(who);
    expect(asked.statusCode).toBe(401);
    expect(asked.json().code).toBe('second_factor_required');
    expect(asked.cookies.find((c) => c.name === 'gatehouse_session')).toBeUndefined();

    const wrong = await login(who, { totp: totpCode(who.secret, 4) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_second_factor');

    const code = totpCode(who.secret);
    const ok = await login(who, { totp: code });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().user.twoFactorEnabled).toBe(true);
    // The same code again: refused, it was spent.
    expect((await login(who, { totp: code })).json().code).toBe('invalid_second_factor');
    // The code that confirmed the set-up (the previous step) is spent too.
    expect((await login(who, { totp: totpCode(who.secret, -1) })).json().code).toBe('invalid_second_factor');
  });

  it('takes each recovery code once, in any case and spacing', async () => {
    const who = await enrolled();
    const [first, second] = who.recoveryCodes as [string, string];
    const ok = await login(who, { recoveryCode: first });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await login(who, { recoveryCode: first })).json().code).toBe('invalid_second_factor');
    const typed = ` ${second.toUpperCase().replace('-', ' ')} `;
    expect((await login(who, { recoveryCode: typed })).statusCode).toBe(200);
    // Someone else's codes are no codes here.
    const other = await enrolled();
    expect((await login(who, { recoveryCode: other.recoveryCodes[0]! })).json().code).toBe(
      'invalid_second_factor',
    );
  });

  it('the same valid code in two parallel sign-ins makes exactly one session', async () => {
    const who = await enrolled();
    const code = totpCode(who.secret);
    const answers = await Promise.all([login(who, { totp: code }), login(who, { totp: code })]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 401]);
    expect(answers.find((a) => a.statusCode === 401)!.json().code).toBe('invalid_second_factor');
    const sessions = expectStatus(
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/me/sessions',
        headers: { cookie: who.cookie },
      }),
      200,
    ).json().items;
    // The sign-up's session and the one sign-in.
    expect(sessions).toHaveLength(2);
  });

  it('a recovery code sent in 10 parallel sign-ins succeeds exactly once', async () => {
    const who = await enrolled();
    const code = who.recoveryCodes[3]!;
    const answers = await Promise.all(Array.from({ length: 10 }, () => login(who, { recoveryCode: code })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The others are refused: the code was spent (or, on a busy machine, password hashing was
    // at capacity: 429, not judged).
    for (const res of answers.filter((a) => a.statusCode !== 200)) {
      expect(['invalid_second_factor', 'rate_limited']).toContain(res.json().code);
    }
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    const used = await t.db.database.db
      .select({ id: recoveryCodes.id })
      .from(recoveryCodes)
      .where(and(eq(recoveryCodes.userId, who.userId), isNotNull(recoveryCodes.usedAt)));
    expect(used).toHaveLength(1);
  });

  it('refuses a code of an enrolment that was turned off, and a wrong code counts toward the throttle', async () => {
    const who = await enrolled();
    expectStatus(
      await as(t.app, who).delete('/api/v1/me/2fa/totp', {
        password: who.password,
        code: totpCode(who.secret),
      }),
      204,
    );
    // Off: the password alone signs in, and the old recovery codes are gone.
    expect((await login(who)).statusCode).toBe(200);
    expect(
      await t.db.database.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, who.userId)),
    ).toEqual([]);
    const again = await enableTwoFactor(t.app, who);
    expect(again.secret).not.toBe(who.secret);
    expect((await login(who, { totp: totpCode(who.secret, 1) })).json().code).toBe('invalid_second_factor');
    expect((await login(who, { recoveryCode: who.recoveryCodes[0]! })).json().code).toBe(
      'invalid_second_factor',
    );

    // Wrong codes are failed attempts: the account's budget runs out (two spent just above).
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login(who, { totp: '000000' })).statusCode);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Asking for the second factor counted nothing, but the lock holds for the right code too.
    expect((await login(who, { totp: totpCode(again.secret, 1) })).statusCode).toBe(429);
  });
});

describe('turning 2FA off and replacing recovery codes', () => {
  it('needs the password and a code (a recovery code will do); refused while an organization requires 2FA', async () => {
    const who = await enrolled();
    const off = (body: unknown) => as(t.app, who).delete('/api/v1/me/2fa/totp', body);
    const wrongPassword = await off({ password: 'not-the-password-at-all', code: totpCode(who.secret) });
    expect(wrongPassword.statusCode).toBe(400);
    expect(wrongPassword.json().errors[0].field).toBe('/body/password');
    const wrongCode = await off({ password: who.password, code: '123456' });
    expect(wrongCode.statusCode).toBe(400);
    expect(wrongCode.json().errors[0].field).toBe('/body/code');

    const org = await createOrg(t.app, { name: 'Strict Co' }, who);
    await t.db.database.db
      .update(organizations)
      .set({ require2fa: true })
      .where(eq(organizations.id, org.orgId));
    const held = await off({ password: who.password, code: who.recoveryCodes[0] });
    expect(held.statusCode).toBe(409);
    expect(held.json()).toMatchObject({
      code: 'two_factor_required',
      params: { orgs: [{ id: org.orgId, name: 'Strict Co' }] },
    });
    // Refused before anything was spent: the same recovery code still works.
    await t.db.database.db
      .update(organizations)
      .set({ require2fa: false })
      .where(eq(organizations.id, org.orgId));
    expectStatus(await off({ password: who.password, code: who.recoveryCodes[0] }), 204);
    expect((await me(who.cookie)).twoFactorEnabled).toBe(false);
    const row = await userRow(who.userId);
    expect([row.totpSecret, row.totpPendingSecret, row.totpEnabledAt]).toEqual([null, null, null]);
    expect((await off({ password: who.password, code: '123456' })).statusCode).toBe(409);
  });

  it('replaces the recovery codes with the password: the old set is dead', async () => {
    const who = await enrolled();
    const path = '/api/v1/me/2fa/recovery-codes';
    expect((await as(t.app, who).post(path, { password: 'not-the-password-at-all' })).statusCode).toBe(400);
    const fresh = expectStatus(await as(t.app, who).post(path, { password: who.password }), 200).json();
    expect(fresh.recoveryCodes).toHaveLength(10);
    expect((await login(who, { recoveryCode: who.recoveryCodes[1]! })).json().code).toBe(
      'invalid_second_factor',
    );
    expect((await login(who, { recoveryCode: fresh.recoveryCodes[1] })).statusCode).toBe(200);
    const plain = await signUp(t.app);
    expect((await as(t.app, plain).post(path, { password: plain.password })).statusCode).toBe(409);
  });
});

describe('who may call the 2FA routes', () => {
  it('refuses personal tokens and the signed-out; each user reaches only their own', async () => {
    const org = await createOrg(t.app, { name: 'Token Co' });
    const { token } = await createPersonalToken(t.app, org.owner, org.orgId, ['admin']);
    const byToken = withToken(t.app, token);
    for (const res of [
      await byToken.post('/api/v1/me/2fa/totp', {}),
      await byToken.post('/api/v1/me/2fa/totp/confirm', { code: '123456' }),
      await t.app.inject({
        method: 'DELETE',
        url: '/api/v1/me/2fa/totp',
        headers: { authorization: `Bearer ${token}` },
        payload: { password: org.owner.password, code: '123456' },
      }),
      await byToken.post('/api/v1/me/2fa/recovery-codes', { password: org.owner.password }),
    ]) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('session_required');
    }
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/2fa/totp',
      headers: { origin: ORIGIN },
    });
    expect(anonymous.statusCode).toBe(401);

    // Another user's secret confirms nothing here, and their set-up does not touch this account.
    const victim = await enrolled();
    const other = await signUp(t.app);
    expectStatus(await as(t.app, other).post('/api/v1/me/2fa/totp'), 200);
    const borrowed = await as(t.app, other).post('/api/v1/me/2fa/totp/confirm', {
      code: totpCode(victim.secret),
    });
    expect(borrowed.statusCode).toBe(400);
    expect(
      (
        await as(t.app, other).delete('/api/v1/me/2fa/totp', {
          password: victim.password,
          code: victim.recoveryCodes[0],
        })
      ).statusCode,
    ).toBe(409);
    expect((await me(victim.cookie)).twoFactorEnabled).toBe(true);
    expect((await login(victim, { recoveryCode: victim.recoveryCodes[0]! })).statusCode).toBe(200);
  });

  it('answers junk with a 4xx problem, never a 5xx', async () => {
    const who = await enrolled();
    const bodies: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/me/2fa/totp/confirm', { code: 'abcdef' }],
      ['POST', '/api/v1/me/2fa/totp/confirm', { code: 123456 }],
      ['POST', '/api/v1/me/2fa/totp/confirm', {}],
      ['DELETE', '/api/v1/me/2fa/totp', { password: who.password }],
      ['DELETE', '/api/v1/me/2fa/totp', { password: who.password, code: 'x'.repeat(65) }],
      ['DELETE', '/api/v1/me/2fa/totp', { password: who.password, code: '\u0000\u202e' }],
      ['POST', '/api/v1/me/2fa/recovery-codes', { password: ['x'] }],
      ['POST', '/api/v1/auth/login', { email: who.email, password: who.password, totp: '12' }],
      ['POST', '/api/v1/auth/login', { email: who.email, password: who.password, recoveryCode: '' }],
      [
        'POST',
        '/api/v1/auth/login',
        { email: who.email, password: who.password, recoveryCode: '💥'.repeat(16) },
      ],
      ['POST', '/api/v1/auth/login', { email: who.email, password: who.password, totp: '99999999' }],
    ];
    for (const [method, url, payload] of bodies) {
      const res = await t.app.inject({
        method: method as 'POST',
        url,
        headers: { origin: ORIGIN, cookie: who.cookie },
        payload: payload as object,
      });
      expect(
        res.statusCode,
        `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`,
      ).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });
});
