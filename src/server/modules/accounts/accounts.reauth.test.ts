import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  sessionCookie,
  signUp as signUpUnverified,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
  withToken,
} from '../../../../test/support/orgs.ts';
import { clearOfStepEnd, enableTwoFactor, totpCode } from '../../../../test/support/two-factor.ts';
import { SoftPasskey } from '../../../../test/support/webauthn.ts';
import { resetUserTwoFactor } from '../operator/operator.commands.ts';
import { NOTICE_SUBJECT_PREFIX } from './accounts.notices.ts';

/**
 * How sessions were signed in (amr), re-authentication before adding a credential, the security
 * notices mailed on credential changes, and passkeys meeting an organization's require-2FA.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ loginThrottle: { maxFailuresPerAccount: 20, maxFailuresPerIp: 100_000 } });
});
afterAll(async () => {
  await t?.close();
});

/** A new account whose address is proven (credentials are added only to such accounts). */
async function signUp(): Promise<Person> {
  const who = await signUpUnverified(t.app, { email: uniqueEmail('reauth') });
  await verifyEmailInDatabase(t.app, who.userId);
  return who;
}

const post = (url: string, payload: object, cookie?: string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
    payload,
  });

/** A second session of `who`, signed in with the password (and a factor when given). */
async function passwordSession(who: Person, factor: Record<string, string> = {}): Promise<Person> {
  const res = expectStatus(
    await post('/api/v1/auth/login', { email: who.email, password: who.password, ...factor }),
    200,
  );
  return { ...who, cookie: sessionCookie(res) };
}

async function registerPasskey(who: Person, name = 'Laptop'): Promise<{ passkey: SoftPasskey; id: string }> {
  const passkey = new SoftPasskey();
  const options = expectStatus(await as(t.app, who).post('/api/v1/me/passkeys/options'), 200).json();
  const res = expectStatus(
    await as(t.app, who).post('/api/v1/me/passkeys', { name, response: passkey.register(options) }),
    201,
  );
  return { passkey, id: res.json().id };
}

async function passkeySession(who: Person, passkey: SoftPasskey): Promise<Person> {
  const request = expectStatus(await post('/api/v1/auth/passkey/options', { email: who.email }), 200).json();
  const res = expectStatus(await post('/api/v1/auth/passkey', { response: passkey.assert(request) }), 200);
  return { ...who, cookie: sessionCookie(res) };
}

const amrOf = async (who: { cookie: string }) =>
  expectStatus(await as(t.app, who).get('/api/v1/me'), 200).json().session.amr as string[];

/** Makes every session of the user look proven 16 minutes ago, straight in the database. */
async function makeStale(userId: string): Promise<void> {
  await t.db.database.db.execute(
    sql`UPDATE sessions SET authenticated_at = now() - interval '16 minutes' WHERE user_id = ${userId}`,
  );
}

const reentryAttempts = async (userId: string) =>
  (
    await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM login_attempts WHERE kind = 'password_change' AND account_key = ${`user:${userId}`}`,
    )
  )[0]!.n;

const ENROLMENT_ROUTES = ['/api/v1/me/passkeys/options', '/api/v1/me/2fa/totp'];

describe('sessions remember how they were signed in', () => {
  it('pwd for a password, pwd+otp with a code, pwd+rc with a recovery code, hwk for a passkey', async () => {
    const who = await signUp();
    expect(await amrOf(who)).toEqual(['pwd']);
    const { passkey } = await registerPasskey(who);
    expect(await amrOf(await passkeySession(who, passkey))).toEqual(['hwk', 'user']);
    const { secret, recoveryCodes } = await enableTwoFactor(t.app, who);
    await clearOfStepEnd();
    expect(await amrOf(await passwordSession(who, { totp: totpCode(secret) }))).toEqual(['pwd', 'otp']);
    expect(await amrOf(await passwordSession(who, { recoveryCode: recoveryCodes[0]! }))).toEqual([
      'pwd',
      'rc',
    ]);
  });

  it('a password change keeps the session’s methods and the time it was proven', async () => {
    const who = await signUp();
    const { passkey } = await registerPasskey(who);
    const session = await passkeySession(who, passkey);
    await makeStale(who.userId);
    const res = expectStatus(
      await as(t.app, session).post('/api/v1/me/password', {
        currentPassword: who.password,
        newPassword: 'a-brand-new-passphrase-77',
      }),
      204,
    );
    const next = { ...who, cookie: sessionCookie(res) };
    expect(await amrOf(next)).toEqual(['hwk', 'user']);
    // The password alone is no re-authentication of a session: still stale.
    const refused = expectStatus(await as(t.app, next).post('/api/v1/me/2fa/totp'), 403);
    expect(refused.json().code).toBe('reauthentication_required');
  });
});

describe('POST /api/v1/me/reauthenticate', () => {
  it('a session proven more than 15 minutes ago cannot start adding a passkey or 2FA', async () => {
    const who = await signUp();
    for (const url of ENROLMENT_ROUTES) expectStatus(await as(t.app, who).post(url), 200);
    await makeStale(who.userId);
    for (const url of ENROLMENT_ROUTES) {
      const res = expectStatus(await as(t.app, who).post(url), 403);
      expect(res.json().code).toBe('reauthentication_required');
    }
  });

  it('a wrong password is 401 invalid_credentials and counted; the right one re-authenticates this session only', async () => {
    const who = await signUp();
    const other = await passwordSession(who);
    await makeStale(who.userId);
    const before = await reentryAttempts(who.userId);
    const wrong = expectStatus(
      await as(t.app, who).post('/api/v1/me/reauthenticate', { password: 'not-my-password-at-all' }),
      401,
    );
    expect(wrong.json().code).toBe('invalid_credentials');
    expect(await reentryAttempts(who.userId)).toBe(before + 1);
    expectStatus(await as(t.app, who).post('/api/v1/me/2fa/totp'), 403);

    expectStatus(await as(t.app, who).post('/api/v1/me/reauthenticate', { password: who.password }), 204);
    // A success proves the failures before it were the owner's own.
    expect(await reentryAttempts(who.userId)).toBe(0);
    for (const url of ENROLMENT_ROUTES) expectStatus(await as(t.app, who).post(url), 200);
    // The same user's other session is not stamped.
    for (const url of ENROLMENT_ROUTES) {
      expect(expectStatus(await as(t.app, other).post(url), 403).json().code).toBe(
        'reauthentication_required',
      );
    }
    const [entry] = await queryRows<{ action: string; target_id: string }>(
      t.db.database.db,
      sql`SELECT action, target_id FROM audit_events WHERE action = 'user.reauthenticated' AND actor_id = ${who.userId}`,
    );
    expect(entry).toBeDefined();
  });

  it('with 2FA on it needs a code: missing is not counted, wrong is 401 invalid_second_factor and counted', async () => {
    const who = await signUp();
    const { secret, recoveryCodes } = await enableTwoFactor(t.app, who);
    await makeStale(who.userId);
    const before = await reentryAttempts(who.userId);
    const missing = expectStatus(
      await as(t.app, who).post('/api/v1/me/reauthenticate', { password: who.password }),
      401,
    );
    expect(missing.json().code).toBe('second_factor_required');
    expect(await reentryAttempts(who.userId)).toBe(before);
    const wrong = expectStatus(
      await as(t.app, who).post('/api/v1/me/reauthenticate', { password: who.password, code: '000000' }),
      401,
    );
    expect(wrong.json().code).toBe('invalid_second_factor');
    expect(await reentryAttempts(who.userId)).toBe(before + 1);
    expectStatus(await as(t.app, who).post('/api/v1/me/passkeys/options'), 403);

    await clearOfStepEnd();
    expectStatus(
      await as(t.app, who).post('/api/v1/me/reauthenticate', {
        password: who.password,
        code: totpCode(secret),
      }),
      204,
    );
    expectStatus(await as(t.app, who).post('/api/v1/me/passkeys/options'), 200);
    // A recovery code proves it too, once.
    await makeStale(who.userId);
    const body = { password: who.password, code: recoveryCodes[1]! };
    expectStatus(await as(t.app, who).post('/api/v1/me/reauthenticate', body), 204);
    await makeStale(who.userId);
    expect(expectStatus(await as(t.app, who).post('/api/v1/me/reauthenticate', body), 401).json().code).toBe(
      'invalid_second_factor',
    );
  });

  it('is for sessions only: a personal token is refused, and so is no session at all', async () => {
    const org = await createOrg(t.app);
    const pat = await createPersonalToken(t.app, org.owner, org.orgId, ['admin']);
    const viaToken = await withToken(t.app, pat.token).post('/api/v1/me/reauthenticate', {
      password: org.owner.password,
    });
    expect(expectStatus(viaToken, 403).json().code).toBe('session_required');
    for (const url of ENROLMENT_ROUTES) {
      expect(expectStatus(await withToken(t.app, pat.token).post(url), 403).json().code).toBe(
        'session_required',
      );
    }
    expectStatus(await post('/api/v1/me/reauthenticate', { password: 'whatever-it-is' }), 401);
  });
});

describe('security notices', () => {
  const notice = (email: string, since: number, what: RegExp) =>
    t.mail.latestTo(email, since, new RegExp(`${NOTICE_SUBJECT_PREFIX} ${what.source}`));

  it('mails the account on 2FA on and off, new recovery codes, passkeys added and removed, and a password change', async () => {
    const who = await signUp();
    let since = t.mail.messages.length;
    await enableTwoFactor(t.app, who);
    const on = await notice(who.email, since, /two-factor authentication turned on/);
    expect(on.text).toContain('Two-factor authentication was turned on');
    expect(on.text).toMatch(/When: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(on.text).toContain('IP address 127.0.0.1');
    expect(on.text).toContain('If it was not you');

    since = t.mail.messages.length;
    const { recoveryCodes } = expectStatus(
      await as(t.app, who).post('/api/v1/me/2fa/recovery-codes', { password: who.password }),
      200,
    ).json();
    await notice(who.email, since, /new recovery codes/);

    since = t.mail.messages.length;
    const { id } = await registerPasskey(who, 'Work key');
    expect((await notice(who.email, since, /passkey added/)).text).toContain('"Work key"');
    since = t.mail.messages.length;
    expectStatus(await as(t.app, who).delete(`/api/v1/me/passkeys/${id}`), 204);
    expect((await notice(who.email, since, /passkey removed/)).text).toContain('"Work key"');

    since = t.mail.messages.length;
    expectStatus(
      await as(t.app, who).delete('/api/v1/me/2fa/totp', { password: who.password, code: recoveryCodes[0] }),
      204,
    );
    await notice(who.email, since, /two-factor authentication turned off/);

    since = t.mail.messages.length;
    const res = expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/me/password',
        headers: { cookie: who.cookie, origin: ORIGIN, 'user-agent': 'Agent visiting http://evil.example' },
        payload: { currentPassword: who.password, newPassword: 'another-fine-passphrase-31' },
      }),
      204,
    );
    expect(res.statusCode).toBe(204);
    const changed = await notice(who.email, since, /password changed/);
    // The client's own words are quoted and defanged, never a link.
    expect(changed.text).toContain('"Agent visiting hxxp[:]//evil[.]example"');
  });

  it('mails the account when an operator resets its 2FA', async () => {
    const who = await signUp();
    await enableTwoFactor(t.app, who);
    const since = t.mail.messages.length;
    await t.app.gatehouse.commands.run(
      resetUserTwoFactor,
      { actor: { type: 'operator' }, meta: { ip: null, userAgent: null, requestId: null } },
      { email: who.email, reason: 'ticket 42: identity checked by video call' },
    );
    const mail = await notice(who.email, since, /two-factor authentication reset/);
    expect(mail.text).toContain('By: an operator of this Gatehouse installation');
  });

  it('a refused change mails nothing', async () => {
    const who = await signUp();
    const since = t.mail.messages.length;
    expectStatus(await as(t.app, who).post('/api/v1/me/2fa/totp/confirm', { code: '123456' }), 409);
    await new Promise((r) => setTimeout(r, 300));
    const notices = t.mail.messages
      .slice(since)
      .filter((m) => m.to.includes(who.email.toLowerCase()) && m.subject.startsWith(NOTICE_SUBJECT_PREFIX));
    expect(notices).toEqual([]);
  });
});

describe('require-2FA and passkeys', () => {
  const securityUrl = (org: { orgId: string }) => `/api/v1/orgs/${org.orgId}/security`;
  const membersUrl = (org: { orgId: string }) => `/api/v1/orgs/${org.orgId}/members`;

  it('admits a passkey sign-in, refuses a password sign-in of the same passkey-only member', async () => {
    const org = await createOrg(t.app);
    await enableTwoFactor(t.app, org.owner);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    await verifyEmailInDatabase(t.app, dev.userId);
    const { passkey } = await registerPasskey(dev);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 200);

    const byPassword = await passwordSession(dev);
    const refused = expectStatus(await as(t.app, byPassword).get(membersUrl(org)), 403);
    expect(refused.json().code).toBe('two_factor_required');
    const byPasskey = await passkeySession(dev, passkey);
    expectStatus(await as(t.app, byPasskey).get(membersUrl(org)), 200);
  });

  it('a personal token counts TOTP or a passkey on the account', async () => {
    const org = await createOrg(t.app);
    const withPasskey = await addMember(t.app, org, 'developer', {}, t.mail);
    const without = await addMember(t.app, org, 'developer', {}, t.mail);
    await verifyEmailInDatabase(t.app, withPasskey.userId);
    await registerPasskey(withPasskey);
    const good = await createPersonalToken(t.app, withPasskey, org.orgId, ['read']);
    const bad = await createPersonalToken(t.app, without, org.orgId, ['read']);
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const { passkey } = await registerPasskey(org.owner);
    const owner = await passkeySession(org.owner, passkey);
    expectStatus(await as(t.app, owner).patch(securityUrl(org), { require2fa: true }), 200);

    expectStatus(await withToken(t.app, good.token).get(membersUrl(org)), 200);
    expect(expectStatus(await withToken(t.app, bad.token).get(membersUrl(org)), 403).json().code).toBe(
      'two_factor_required',
    );
  });

  it('would_lock_out uses the same rule for the caller’s own session', async () => {
    const org = await createOrg(t.app);
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const { passkey } = await registerPasskey(org.owner);
    // Signed in with the password: the passkey on the account is not enough.
    const refused = expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }),
      409,
    );
    expect(refused.json()).toMatchObject({ code: 'would_lock_out', params: { reason: 'two_factor' } });
    const viaPasskey = await passkeySession(org.owner, passkey);
    expectStatus(await as(t.app, viaPasskey).patch(securityUrl(org), { require2fa: true }), 200);
  });

  it('TOTP may be turned off while an org requires 2FA when the account has a passkey', async () => {
    const org = await createOrg(t.app);
    const { recoveryCodes } = await enableTwoFactor(t.app, org.owner);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 200);
    const off = { password: org.owner.password, code: recoveryCodes[0] };
    const held = expectStatus(await as(t.app, org.owner).delete('/api/v1/me/2fa/totp', off), 409);
    expect(held.json().code).toBe('two_factor_required');
    const { passkey } = await registerPasskey(org.owner);
    expectStatus(await as(t.app, org.owner).delete('/api/v1/me/2fa/totp', off), 204);
    // Now only a passkey sign-in gets in.
    expect(expectStatus(await as(t.app, org.owner).get(membersUrl(org)), 403).json().code).toBe(
      'two_factor_required',
    );
    expectStatus(await as(t.app, await passkeySession(org.owner, passkey)).get(membersUrl(org)), 200);
  });
});
