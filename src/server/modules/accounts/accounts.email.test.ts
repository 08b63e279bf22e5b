import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../../../../test/support/app.ts';
import {
  as,
  createOrg,
  expectStatus,
  INVITATION_LINK,
  tokenFromMail,
} from '../../../../test/support/orgs.ts';
import { normalizeEmail } from '../../platform/auth/email.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ loginThrottle: { maxFailuresPerAccount: 3, maxFailuresPerIp: 100_000 } });
});
afterAll(async () => {
  await t?.close();
});

const rand = () => Math.random().toString(36).slice(2, 8);
const login = (email: string, password: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    headers: { origin: ORIGIN },
  });

/** Other spellings of `mike…@example.test` a person (or an attacker) may type. */
const SPELLINGS: Record<string, (email: string) => string> = {
  exact: (e) => e,
  upper: (e) => e.toUpperCase(),
  padded: (e) => `  ${e}\t`,
  dottedCapitalI: (e) => e.replace('mike', 'm\u0130ke'),
  kelvinSign: (e) => e.replace('mike', 'mi\u212Ae'),
  fullWidth: (e) => e.replace('mike', '\uFF4D\uFF49\uFF4B\uFF45'),
  dotlessI: (e) => e.replace('mike', 'm\u0131ke'),
};

describe('normalizeEmail', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        (s) => normalizeEmail(normalizeEmail(s)) === normalizeEmail(s),
      ),
    );
  });

  it('folds case, width and compatibility forms, and trims', () => {
    expect(normalizeEmail('  Mike@Example.TEST ')).toBe('mike@example.test');
    expect(normalizeEmail('\uFF4D\uFF49\uFF4B\uFF45@example.test')).toBe('mike@example.test');
    expect(normalizeEmail('mi\u212Ae@example.test')).toBe('mike@example.test');
  });
});

describe('one normalisation of emails for every path', () => {
  /**
   * Locks `mike…` out with failures under its exact spelling, then tries one more spelling. The
   * answer must not depend on whether the account exists, or the lockout tells who has one.
   */
  async function lockoutAnswer(exists: boolean, spelling: (email: string) => string): Promise<number> {
    const email = `mike${rand()}@example.test`;
    if (exists) await signUp(t.app, { email });
    for (let i = 0; i < 3; i++) expect((await login(email, `wrong-guess-${i}-xyz`)).statusCode).toBe(401);
    return (await login(spelling(email), 'wrong-guess-final')).statusCode;
  }

  for (const [name, spelling] of Object.entries(SPELLINGS)) {
    it(`answers the ${name} spelling of a locked-out email alike, whether the account exists or not`, async () => {
      const existing = await lockoutAnswer(true, spelling);
      const unknown = await lockoutAnswer(false, spelling);
      expect(existing).toBe(unknown);
      // Spellings that normalise to the same address share its lockout.
      const email = 'mike@example.test';
      expect(existing).toBe(normalizeEmail(spelling(email)) === email ? 429 : 401);
    });
  }

  it('signs in under any spelling that normalises to the account, and only those', async () => {
    const email = `mike${rand()}@example.test`;
    const { password } = await signUp(t.app, { email: email.replace('mike', 'Mike') });
    for (const [name, spelling] of Object.entries(SPELLINGS)) {
      const same = normalizeEmail(spelling(email)) === email;
      expect((await login(spelling(email), password)).statusCode, name).toBe(same ? 200 : 401);
    }
  });

  it('stores the normal form and refuses a second account under another spelling of it', async () => {
    const local = `mike${rand()}`;
    const first = await signUp(t.app, { email: `${local.toUpperCase()}@Example.test` });
    const me = expectStatus(
      await t.app.inject({ url: '/api/v1/me', headers: { cookie: first.cookie } }),
      200,
    );
    expect(me.json().user.email).toBe(`${local}@example.test`);
    for (const email of [`${local}@example.test`, `${local.replace('mike', 'MiKe')}@EXAMPLE.TEST`]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/signup',
        headers: { origin: ORIGIN },
        payload: { email, password: 'violet-anchor-meadow-42', name: 'Twin' },
      });
      expect(res.statusCode, email).toBe(409);
      expect(res.json().code).toBe('email_taken');
    }
  });

  it('keeps one pending invitation per address however it is spelled, and the invitee accepts it', async () => {
    const org = await createOrg(t.app);
    const local = `mike${rand()}`;
    const owner = as(t.app, org.owner);
    const invited = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [`${local.toUpperCase()}@Example.test`, `${local}@example.TEST`],
        role: 'developer',
      }),
      201,
    ).json();
    expect(invited.items.map((i: { email: string }) => i.email)).toEqual([`${local}@example.test`]);
    const invitee = await signUp(t.app, { email: `${local.replace('mike', 'Mike')}@example.test` });
    const token = tokenFromMail((await t.mail.latestTo(`${local}@example.test`, 0, INVITATION_LINK)).text);
    expectStatus(await as(t.app, invitee).post('/api/v1/invitations/accept', { token }), 200);
    // Now a member under any spelling: inviting another spelling of the address is refused.
    const again = await owner.post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [`${local.replace('mike', 'MIke')}@example.test`],
      role: 'developer',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('already_member');
  });
});
