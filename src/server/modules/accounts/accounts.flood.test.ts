import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { onPasswordHashing, waitingPasswordHashes } from '../../platform/auth/passwords.ts';
import { loginAttempts, sessions } from '../../platform/db/schema.ts';

/** Sign-ins with the right password: bounded per account, sessions capped, hashing shared fairly. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    // One hash at a time makes the order of hashing the order of service.
    passwordHashConcurrency: 1,
    // Pending attempts count against the failure budgets too; those budgets are not under test here,
    // and the flood must reach the hasher.
    loginThrottle: { maxSignInsPerAccount: 5, maxFailuresPerAccount: 1000, maxFailuresPerIp: 100_000 },
    session: { maxPerUser: 3 },
  });
});
afterAll(async () => {
  await t?.close();
});

const login = ({ email, password }: { email: string; password: string }) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    headers: { origin: ORIGIN },
  });
const me = (cookie: string) => t.app.inject({ url: '/api/v1/me', headers: { cookie } });
const cookieOf = (res: { cookies: { name: string; value: string }[] }) =>
  `gatehouse_session=${res.cookies.find((c) => c.name === 'gatehouse_session')!.value}`;

async function sessionRows(userId: string): Promise<number> {
  const [row] = await t.db.database.db
    .select({ n: count() })
    .from(sessions)
    .where(eq(sessions.userId, userId));
  return row!.n;
}

describe('successful sign-ins per account', () => {
  it('answers 429 rate_limited with a Retry-After of the window once an account has signed in too often', async () => {
    const { email, password } = await signUp(t.app);
    for (let i = 0; i < 5; i++) expect((await login({ email, password })).statusCode).toBe(200);
    const refused = await login({ email, password });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringMatching(/sign-ins/) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(14 * 60);
    expect(refused.cookies.find((c) => c.name === 'gatehouse_session')).toBeUndefined();
    // Without the password the limit is not visible: a wrong one is still just wrong.
    expect((await login({ email, password: 'not-the-password-at-all' })).statusCode).toBe(401);
    // Another account is not affected.
    const other = await signUp(t.app);
    expect((await login(other)).statusCode).toBe(200);
  });
  it("counts a right password refused by the sign-in limit as no failure: it does not spend the address's budget", async () => {
    const strict = await createTestApp({ loginThrottle: { maxSignInsPerAccount: 1, maxFailuresPerIp: 3 } });
    const send = (who: { email: string; password: string }) =>
      strict.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: who.email, password: who.password },
        headers: { origin: ORIGIN },
      });
    try {
      const busy = await signUp(strict.app);
      expect((await send(busy)).statusCode).toBe(200);
      for (let i = 0; i < 4; i++) {
        const refused = await send(busy);
        expect(refused.statusCode).toBe(429);
        expect(refused.json().detail).toMatch(/sign-ins/);
      }
      // A colleague behind the same address signs in: the refusals above were not failures.
      const colleague = await signUp(strict.app);
      expect((await send(colleague)).statusCode).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('live sessions per user', () => {
  it('keeps at most SESSION_MAX_PER_USER: a new sign-in ends the oldest', async () => {
    const user = await signUp(t.app); // session 1
    const cookies = [user.cookie];
    for (let i = 0; i < 3; i++) cookies.push(cookieOf(await login(user)));
    expect(await sessionRows(user.userId)).toBe(3);
    expect((await me(cookies[0]!)).statusCode).toBe(401);
    for (const cookie of cookies.slice(1)) expect((await me(cookie)).statusCode).toBe(200);
    // The sign-in that pushed the oldest session out says so in the user's own log.
    const log = await t.app.inject({ url: '/api/v1/me/audit-events', headers: { cookie: cookies[3]! } });
    const signIns = (log.json().items as Array<{ action: string; after: Record<string, unknown> }>).filter(
      (e) => e.action === 'user.signed_in',
    );
    expect(signIns[0]!.after.sessionsEnded).toHaveLength(1);
    expect(signIns.slice(1).every((e) => e.after.sessionsEnded === undefined)).toBe(true);
  });

  it.runIf(onPostgres)('holds under concurrent sign-ins', async () => {
    const strict = await createTestApp({
      loginThrottle: { maxSignInsPerAccount: 100 },
      session: { maxPerUser: 3 },
      passwordHashConcurrency: 2,
    });
    try {
      const user = await signUp(strict.app);
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          strict.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: user.email, password: user.password },
            headers: { origin: ORIGIN },
          }),
        ),
      );
      expect(results.map((r) => r.statusCode).filter((s) => s !== 200 && s !== 429)).toEqual([]);
      const { rows } = await strict.db.database.pool!.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1',
        [user.userId],
      );
      expect(rows[0]!.n).toBe(3);
    } finally {
      await strict.close();
    }
  });
});

describe('password hashing under a flood of sign-ins', () => {
  it("50 parallel correct sign-ins of one account do not hold another account's sign-in behind them", async () => {
    const flood = await signUp(t.app);
    const other = await signUp(t.app);
    const floodKey = `user:${flood.userId}`;
    const otherKey = `user:${other.userId}`;
    /** The hasher's events in order: who queued, who started. */
    const events: string[] = [];
    let floodWaitingWhenOtherQueued = -1;
    const stop = onPasswordHashing((event, account) => {
      events.push(`${event} ${account}`);
      if (event === 'queued' && account === otherKey)
        floodWaitingWhenOtherQueued = waitingPasswordHashes(floodKey);
    });
    try {
      const floodRequests = Array.from({ length: 50 }, () => login(flood));
      await expect.poll(() => waitingPasswordHashes(floodKey)).toBeGreaterThanOrEqual(2);
      const otherResponse = await login(other);
      const floodResponses = await Promise.all(floodRequests);

      expect(otherResponse.statusCode).toBe(200);
      expect(floodResponses.map((r) => r.statusCode).filter((s) => s !== 200 && s !== 429)).toEqual([]);
      // Order, not time. When the other account's hash queued, flood hashes were waiting ahead of
      // it; between its queueing and its start at most one flood hash started (the flood's turn
      // in the rotation), and the flood's queue was served after it.
      const queuedAt = events.indexOf(`queued ${otherKey}`);
      const startedAt = events.indexOf(`started ${otherKey}`);
      expect(queuedAt).toBeGreaterThanOrEqual(0);
      expect(floodWaitingWhenOtherQueued).toBeGreaterThanOrEqual(2);
      const floodStartsBetween = events.slice(queuedAt, startedAt).filter((e) => e === `started ${floodKey}`);
      expect(floodStartsBetween.length).toBeLessThanOrEqual(1);
      const floodStartsAfter = events.slice(startedAt).filter((e) => e === `started ${floodKey}`);
      expect(floodStartsAfter.length).toBeGreaterThanOrEqual(floodWaitingWhenOtherQueued - 1);
    } finally {
      stop();
    }
  });

  it('counts a sign-in refused for want of hashing capacity as no failure of the account', async () => {
    const { userId, email } = await signUp(t.app);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login({ email, password: `wrong-guess-${i}-abcdef` })),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    // Only the guesses that were judged (401) stay on the account's failure budget.
    const [row] = await t.db.database.db
      .select({ n: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.kind, 'login'), eq(loginAttempts.accountKey, `user:${userId}`)));
    expect(row!.n).toBe(statuses.filter((s) => s === 401).length);
  });
});
