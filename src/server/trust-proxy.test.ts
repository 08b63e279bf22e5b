import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  STRONG_PASSWORD,
  sessionCookie,
  signUp,
  type TestApp,
  uniqueEmail,
} from '../../test/support/app.ts';
import type { TrustProxy } from './config.ts';

// Header values come from documentation ranges (RFC 5737); nothing ever connects to them.
// app.inject's peer address is 127.0.0.1 unless `remoteAddress` says otherwise.

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(trustProxy: TrustProxy, maxFailuresPerIp = 100): Promise<TestApp> {
  t = await createTestApp({ trustProxy, loginThrottle: { maxFailuresPerIp, maxFailuresPerAccount: 1000 } });
  return t;
}

/** Signs in with the given forwarding header and answers the address the new session recorded. */
async function recordedIp(app: TestApp, forwardedFor: string | undefined, remoteAddress?: string) {
  const { email, password } = await signUp(app.app);
  const login = await app.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { origin: ORIGIN, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: { email, password },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
  expect(login.statusCode).toBe(200);
  const list = await app.app.inject({
    method: 'GET',
    url: '/api/v1/me/sessions',
    headers: { cookie: sessionCookie(login) },
  });
  expect(list.statusCode).toBe(200);
  const current = list.json().items.find((s: { current: boolean }) => s.current);
  return current.ip as string;
}

async function failedLogins(app: TestApp, forwardedFor: (i: number) => string, n: number) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await app.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN, 'x-forwarded-for': forwardedFor(i) },
      payload: { email: uniqueEmail('nobody'), password: STRONG_PASSWORD },
    });
    statuses.push(res.statusCode);
  }
  return statuses;
}

describe('client address behind TRUST_PROXY', () => {
  it('ignores X-Forwarded-For when no proxy is trusted (the default)', async () => {
    const app = await start(false);
    expect(await recordedIp(app, '203.0.113.9')).toBe('127.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not in the trusted list', async () => {
    const app = await start(['10.0.0.0/8', '192.168.0.0/16']);
    expect(await recordedIp(app, '203.0.113.9')).toBe('127.0.0.1');
  });

  it('takes the address a listed proxy forwards, and not the one a client put before it', async () => {
    const app = await start(['127.0.0.1']);
    expect(await recordedIp(app, '203.0.113.9')).toBe('203.0.113.9');
    // The client wrote 198.51.100.7; the trusted proxy appended the address it saw.
    expect(await recordedIp(app, '198.51.100.7, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('with a hop count of 1 takes the right-most forwarded address', async () => {
    const app = await start(1);
    expect(await recordedIp(app, '203.0.113.9')).toBe('203.0.113.9');
    expect(await recordedIp(app, '198.51.100.7, 203.0.113.9')).toBe('203.0.113.9');
    expect(await recordedIp(app, undefined)).toBe('127.0.0.1');
  });

  it('with a hop count of 2 takes the address the second proxy saw', async () => {
    const app = await start(2);
    expect(await recordedIp(app, '198.51.100.7, 203.0.113.9, 10.0.0.2')).toBe('203.0.113.9');
  });

  it('a client changing X-Forwarded-For does not escape the per-address sign-in limit', async () => {
    const app = await start(false, 3);
    expect(await failedLogins(app, (i) => `203.0.113.${i + 1}`, 5)).toEqual([401, 401, 401, 429, 429]);
  });

  it('behind one trusted proxy, a client prepending addresses is still counted by its real one', async () => {
    const app = await start(1, 3);
    expect(await failedLogins(app, (i) => `198.51.100.${i + 1}, 203.0.113.9`, 5)).toEqual([
      401, 401, 401, 429, 429,
    ]);
  });
});
