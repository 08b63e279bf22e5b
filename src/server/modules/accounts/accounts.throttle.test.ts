import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ loginThrottle: { maxFailuresPerAccount: 10, maxFailuresPerIp: 1000 } });
});
afterAll(async () => {
  await t?.close();
});

const login = (payload: { email: string; password: string }, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload,
    headers: { origin: ORIGIN, ...headers },
  });

const deviceCookie = (res: { cookies: { name: string; value: string }[] }) => {
  const c = res.cookies.find((x) => x.name === 'gatehouse_device');
  return c ? `gatehouse_device=${c.value}` : undefined;
};

describe('POST /api/v1/auth/login throttling', () => {
  it('allows 10 failures per account in the window, then answers 429 with Retry-After even for the right password', async () => {
    const { email, password } = await signUp(t.app);
    for (let i = 0; i < 10; i++)
      expect((await login({ email, password: `wrong-guess-${i}` })).statusCode).toBe(401);
    const locked = await login({ email, password: 'wrong-guess-x' });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('rate_limited');
    // The failures were just made: the lock lasts (within a minute) the whole 15-minute window.
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The right password does not get through either: the limit says nothing about guesses.
    expect((await login({ email, password })).statusCode).toBe(429);
  });

  it('counts unknown emails the same way, so the limit does not reveal which accounts exist', async () => {
    const email = uniqueEmail('nobody');
    for (let i = 0; i < 10; i++)
      expect((await login({ email, password: `guess-${i}-abcdef` })).statusCode).toBe(401);
    expect((await login({ email, password: 'guess-x-abcdef' })).statusCode).toBe(429);
  });

  it('does not lock out the owner: a browser that signed in before keeps its own budget', async () => {
    const { email, password } = await signUp(t.app);
    const first = await login({ email, password });
    const device = deviceCookie(first);
    expect(device).toBeDefined();
    expect(first.cookies.find((c) => c.name === 'gatehouse_device')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    // An attacker exhausts the account's budget from elsewhere.
    for (let i = 0; i < 11; i++) await login({ email, password: `attacker-${i}-guess` });
    expect((await login({ email, password })).statusCode).toBe(429);
    // The owner's browser still signs in.
    expect((await login({ email, password }, { cookie: device! })).statusCode).toBe(200);
  });

  it("does not let a device cookie issued to one account help guessing another's password", async () => {
    const owner = await signUp(t.app);
    const victim = await signUp(t.app);
    const device = deviceCookie(await login({ email: owner.email, password: owner.password }));
    for (let i = 0; i < 10; i++)
      await login({ email: victim.email, password: `guess-${i}-qwerty` }, { cookie: device! });
    expect(
      (await login({ email: victim.email, password: 'guess-x-qwerty' }, { cookie: device! })).statusCode,
    ).toBe(429);
  });

  it('a success clears the failures before it', async () => {
    const { email, password } = await signUp(t.app);
    for (let i = 0; i < 9; i++) await login({ email, password: `typo-${i}-password` });
    expect((await login({ email, password })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++)
      expect((await login({ email, password: `typo-${i}-again!` })).statusCode).toBe(401);
  });

  it.runIf(onPostgres)('never admits more than 10 guesses, even 40 at once', async () => {
    const { email } = await signUp(t.app);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login({ email, password: `parallel-guess-${i}` })),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});

describe('one budget per account, however its email is spelled', () => {
  it("counts every spelling of the account's address on its one budget", async () => {
    const { email } = await signUp(t.app, { email: uniqueEmail('alice') });
    for (let i = 0; i < 10; i++) await login({ email, password: `guess-${i}-lookalike` });
    expect((await login({ email, password: 'guess-x-lookalike' })).statusCode).toBe(429);
    // Every spelling that normalises to the account's address is the account, on its budget.
    expect((await login({ email: email.toUpperCase(), password: 'guess-z-lookalike' })).statusCode).toBe(429);
    // U+0130 normalises to "i̇", not "i": that spelling is another (unknown) address, with the
    // budget of an unknown address, exactly as if alice had no account (accounts.email.test.ts).
    const lookalike = email.replace('alice', 'al\u0130ce');
    expect((await login({ email: lookalike, password: 'guess-y-lookalike' })).statusCode).toBe(401);
  });

  it('keeps password changes on a budget of their own that sign-in guesses cannot fill', async () => {
    const { email, password, cookie } = await signUp(t.app);
    for (let i = 0; i < 11; i++) await login({ email, password: `attacker-${i}-guess` });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      payload: { currentPassword: password, newPassword: 'owner-changes-it-now' },
      headers: { origin: ORIGIN, cookie },
    });
    expect(res.statusCode).toBe(204);
  });
});

describe('sign-up limit per address', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ loginThrottle: { maxSignupsPerIp: 3 } });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('answers 429 once an address has created its share of accounts, and creates nothing more', async () => {
    for (let i = 0; i < 3; i++) await signUp(strict.app);
    const email = uniqueEmail('flood');
    const res = await strict.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email, password: 'violet-anchor-meadow-42', name: 'Flood' },
      headers: { origin: ORIGIN },
    });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    const login = await strict.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'violet-anchor-meadow-42' },
      headers: { origin: ORIGIN },
    });
    expect(login.statusCode).toBe(401);
  });
});

describe('per-address limit', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await createTestApp({ loginThrottle: { maxFailuresPerAccount: 10, maxFailuresPerIp: 5 } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('limits failures from one address across many accounts', async () => {
    const tries = (email: string) =>
      small.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password: 'spray-password-1' },
        headers: { origin: ORIGIN },
      });
    for (let i = 0; i < 5; i++) expect((await tries(uniqueEmail(`spray${i}`))).statusCode).toBe(401);
    expect((await tries(uniqueEmail('spray-last'))).statusCode).toBe(429);
  });
});

describe('clientKey', () => {
  it('counts an IPv6 client by its /64 and leaves IPv4 alone', async () => {
    const { clientKey } = await import('./accounts.throttle.ts');
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:127.0.0.1')).toBe('::ffff:127.0.0.1');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:0db8:0001:0002::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe(clientKey('2001:db8:1:2:ffff::1'));
    expect(clientKey('2001:db8::1')).toBe('2001:0db8:0000:0000::/64');
    expect(clientKey('::1')).toBe('0000:0000:0000:0000::/64');
  });
});
