import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ logLevel: 'debug' });
});
afterAll(async () => {
  await t?.close();
});

describe('logs', () => {
  it('carry request ids and never contain passwords, session tokens or cookies', async () => {
    const password = 'a-very-secret-passphrase-91';
    const { email, cookie } = await signUp(t.app, { password });
    const token = cookie.split('=')[1]!;
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
      headers: { origin: ORIGIN },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'wrong-secret-guess-77' },
      headers: { origin: ORIGIN },
    });
    await t.app.inject({
      url: '/api/v1/me?token=query-secret-value',
      headers: { cookie, authorization: 'Bearer bearer-secret-value' },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      payload: { currentPassword: password, newPassword: 'another-secret-phrase-33' },
      headers: { cookie, origin: ORIGIN },
    });
    const all = t.logs.join('\n');
    expect(all).toContain('"requestId"');
    for (const secret of [
      password,
      'wrong-secret-guess-77',
      'another-secret-phrase-33',
      token,
      'query-secret-value',
      'bearer-secret-value',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toContain('$argon2id$');
  });

  it('echo a well-formed incoming request id and replace a malformed one', async () => {
    const ok = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-abc.123' } });
    expect(ok.headers['x-request-id']).toBe('trace-abc.123');
    const bad = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u00e9<script>' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
