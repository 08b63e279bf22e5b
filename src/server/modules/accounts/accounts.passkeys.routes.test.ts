import { and, desc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  sessionCookie,
  signUp,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { SoftPasskey } from '../../../../test/support/webauthn.ts';
import { auditEvents, users, webauthnChallenges } from '../../platform/db/schema.ts';
import { MAX_PASSKEYS_PER_USER, purgeChallenges } from './accounts.passkeys.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Who = { userId: string; email: string; cookie: string };

const send = (method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, payload?: unknown, cookie?: string) =>
  t.app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: payload as object }),
    headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
  });

async function registrationOptions(who: Who) {
  // Passkeys are added only to an account whose address is proven.
  await verifyEmailInDatabase(t.app, who.userId);
  const res = await send('POST', '/api/v1/me/passkeys/options', undefined, who.cookie);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Registers a software passkey for `who` and returns it with the created row. */
async function register(who: Who, passkey = new SoftPasskey(), name = 'Laptop') {
  const options = await registrationOptions(who);
  const res = await send(
    'POST',
    '/api/v1/me/passkeys',
    { name, response: passkey.register(options) },
    who.cookie,
  );
  expect(res.statusCode, res.body).toBe(201);
  return { passkey, row: res.json() };
}

async function signInOptions(email?: string) {
  const res = await send('POST', '/api/v1/auth/passkey/options', email === undefined ? {} : { email });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const signInWith = (response: unknown, cookie?: string) =>
  send('POST', '/api/v1/auth/passkey', { response }, cookie);

/** The newest audit entry with this action whose actor is `userId`. */
async function lastEntry(action: string, userId: string) {
  const [row] = await t.db.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.actorId, userId)))
    .orderBy(desc(auditEvents.occurredAt), desc(auditEvents.seq))
    .limit(1);
  return row;
}

describe('POST /api/v1/me/passkeys/options', () => {
  it('asks for a discoverable credential with user verification for this RP, excluding the ones held', async () => {
    const who = await signUp(t.app, { name: 'Pia Passkey' });
    const first = await registrationOptions(who);
    expect(first).toMatchObject({
      rp: { name: 'Gatehouse', id: 'localhost' },
      user: { name: who.email, displayName: 'Pia Passkey' },
      attestation: 'none',
      authenticatorSelection: {
        residentKey: 'required',
        requireResidentKey: true,
        userVerification: 'required',
      },
      excludeCredentials: [],
    });
    const { passkey } = await register(who);
    const again = await registrationOptions(who);
    expect(again.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([passkey.id]);
  });

  it('keeps only a few outstanding registration challenges per user', async () => {
    const who = await signUp(t.app);
    for (let i = 0; i < 8; i++) await registrationOptions(who);
    const rows = await t.db.database.db
      .select()
      .from(webauthnChallenges)
      .where(eq(webauthnChallenges.userId, who.userId));
    expect(rows.length).toBe(5);
    expect(rows.every((r) => r.purpose === 'registration')).toBe(true);
  });

  it('needs a session', async () => {
    expect((await send('POST', '/api/v1/me/passkeys/options')).statusCode).toBe(401);
  });
});

describe('POST /api/v1/me/passkeys', () => {
  it('registers a passkey, audits it, and /me counts it', async () => {
    const who = await signUp(t.app);
    const { row } = await register(who, new SoftPasskey(), 'Work laptop');
    expect(row).toEqual({ id: row.id, name: 'Work laptop', createdAt: expect.any(String), lastUsedAt: null });
    const me = (await send('GET', '/api/v1/me', undefined, who.cookie)).json();
    expect(me.user.passkeyCount).toBe(1);
    const entry = await lastEntry('user.passkey_added', who.userId);
    expect(entry).toMatchObject({ targetType: 'passkey', targetId: row.id, targetName: 'Work laptop' });
    expect(JSON.stringify(entry)).not.toContain('publicKey');
  });

  it('uses a challenge once: the same answer again is refused', async () => {
    const who = await signUp(t.app);
    const options = await registrationOptions(who);
    const response = new SoftPasskey().register(options);
    expect((await send('POST', '/api/v1/me/passkeys', { name: 'A', response }, who.cookie)).statusCode).toBe(
      201,
    );
    const again = await send('POST', '/api/v1/me/passkeys', { name: 'A', response }, who.cookie);
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('passkey_rejected');
  });

  it('refuses another user’s challenge, another RP ID, another origin and no user verification', async () => {
    const who = await signUp(t.app);
    const other = await signUp(t.app);
    const cases = [
      { options: await registrationOptions(other), ceremony: {} },
      {
        options: await registrationOptions(who),
        ceremony: { rpId: 'evil.test', origin: 'http://localhost:3000' },
      },
      { options: await registrationOptions(who), ceremony: { origin: 'http://evil.test:3000' } },
      { options: await registrationOptions(who), ceremony: { userVerified: false } },
    ];
    for (const { options, ceremony } of cases) {
      const response = new SoftPasskey().register(options, ceremony);
      const res = await send('POST', '/api/v1/me/passkeys', { name: 'Bad', response }, who.cookie);
      expect(res.statusCode, JSON.stringify(ceremony)).toBe(400);
      expect(res.json().code).toBe('passkey_rejected');
    }
    expect((await send('GET', '/api/v1/me/passkeys', undefined, who.cookie)).json().items).toEqual([]);
  });

  it('refuses a credential already registered (409), to this account or another', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const again = await send(
      'POST',
      '/api/v1/me/passkeys',
      { name: 'Twice', response: passkey.register(await registrationOptions(who)) },
      who.cookie,
    );
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('passkey_exists');
    const other = await signUp(t.app);
    const theirs = await send(
      'POST',
      '/api/v1/me/passkeys',
      { name: 'Stolen', response: passkey.register(await registrationOptions(other)) },
      other.cookie,
    );
    expect(theirs.statusCode).toBe(409);
  });

  it('refuses a passkey past the limit per account (409)', async () => {
    const who = await signUp(t.app);
    for (let i = 0; i < MAX_PASSKEYS_PER_USER; i++) await register(who, new SoftPasskey(), `Key ${i}`);
    const res = await send(
      'POST',
      '/api/v1/me/passkeys',
      { name: 'One too many', response: new SoftPasskey().register(await registrationOptions(who)) },
      who.cookie,
    );
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'passkey_limit', params: { limit: MAX_PASSKEYS_PER_USER } });
  });

  it('answers junk with 400, never 500', async () => {
    const who = await signUp(t.app);
    const options = await registrationOptions(who);
    const good = new SoftPasskey().register(options);
    const junk = [
      { ...good, response: { ...good.response, clientDataJSON: 'bm90LWpzb24' } },
      { ...good, response: { ...good.response, attestationObject: 'AAAA' } },
    ];
    for (const response of junk) {
      const res = await send('POST', '/api/v1/me/passkeys', { name: 'Junk', response }, who.cookie);
      expect(res.statusCode, res.body).toBe(400);
    }
  });

  it('answers a challenge no server wrote (a NUL byte, not base64url) as refused, never 500', async () => {
    const who = await signUp(t.app);
    const clientDataJSON = (challenge: string) =>
      Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: ORIGIN })).toString('base64url');
    for (const challenge of ['a\u0000b', 'not base64url!', 'é']) {
      const registration = {
        id: 'AAAA',
        rawId: 'AAAA',
        type: 'public-key',
        response: { clientDataJSON: clientDataJSON(challenge), attestationObject: 'AAAA' },
        clientExtensionResults: {},
      };
      const added = await send(
        'POST',
        '/api/v1/me/passkeys',
        { name: 'Junk', response: registration },
        who.cookie,
      );
      expect(added.statusCode, added.body).toBe(400);
      const assertion = {
        id: 'AAAA',
        rawId: 'AAAA',
        type: 'public-key',
        response: { clientDataJSON: clientDataJSON(challenge), authenticatorData: 'AAAA', signature: 'AAAA' },
        clientExtensionResults: {},
      };
      const signedIn = await signInWith(assertion);
      expect(signedIn.statusCode, signedIn.body).toBe(401);
    }
  });
});

describe('GET, PATCH and DELETE /api/v1/me/passkeys', () => {
  it('lists, renames (audited) and removes (audited) one’s own passkeys', async () => {
    const who = await signUp(t.app);
    const a = await register(who, new SoftPasskey(), 'Phone');
    const b = await register(who, new SoftPasskey(), 'Key');
    const list = (await send('GET', '/api/v1/me/passkeys', undefined, who.cookie)).json();
    expect(list.items.map((p: { name: string }) => p.name)).toEqual(['Phone', 'Key']);

    const renamed = await send('PATCH', `/api/v1/me/passkeys/${a.row.id}`, { name: 'Old phone' }, who.cookie);
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json().name).toBe('Old phone');
    expect(await lastEntry('user.passkey_renamed', who.userId)).toMatchObject({
      targetId: a.row.id,
      before: { name: 'Phone' },
      after: { name: 'Old phone' },
    });

    const removed = await send('DELETE', `/api/v1/me/passkeys/${b.row.id}`, undefined, who.cookie);
    expect(removed.statusCode).toBe(204);
    expect(await lastEntry('user.passkey_removed', who.userId)).toMatchObject({ targetId: b.row.id });
    const after = (await send('GET', '/api/v1/me/passkeys', undefined, who.cookie)).json();
    expect(after.items.map((p: { id: string }) => p.id)).toEqual([a.row.id]);

    // A removed passkey signs nobody in.
    const options = await signInOptions();
    expect((await signInWith(b.passkey.assert(options))).statusCode).toBe(401);
  });

  it('answers 404 for another user’s passkey on PATCH and DELETE, and leaves it alone', async () => {
    const owner = await signUp(t.app);
    const stranger = await signUp(t.app);
    const { row } = await register(owner);
    const patch = await send('PATCH', `/api/v1/me/passkeys/${row.id}`, { name: 'Mine now' }, stranger.cookie);
    expect(patch.statusCode).toBe(404);
    const del = await send('DELETE', `/api/v1/me/passkeys/${row.id}`, undefined, stranger.cookie);
    expect(del.statusCode).toBe(404);
    const list = (await send('GET', '/api/v1/me/passkeys', undefined, owner.cookie)).json();
    expect(list.items).toEqual([expect.objectContaining({ id: row.id, name: 'Laptop' })]);
    expect((await send('GET', '/api/v1/me/passkeys', undefined, stranger.cookie)).json().items).toEqual([]);
  });
});

describe('POST /api/v1/auth/passkey/options', () => {
  it('without an email: a discoverable sign-in, user verification required', async () => {
    const options = await signInOptions();
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required', allowCredentials: [] });
  });

  it('with an email: that account’s credentials', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const options = await signInOptions(who.email.toUpperCase());
    expect(options.allowCredentials).toEqual([{ id: passkey.id, type: 'public-key' }]);
  });

  it('an unknown email, or an account without passkeys, looks like an account with one', async () => {
    const known = await signUp(t.app);
    await register(known);
    const without = await signUp(t.app);
    const unknown = uniqueEmail('nobody');
    const shape = (o: Record<string, unknown>) => ({
      ...o,
      challenge: typeof o.challenge,
      allowCredentials: (o.allowCredentials as Array<{ id: string }>).map((c) => ({
        ...c,
        id: Buffer.from(c.id, 'base64url').length,
      })),
    });
    const answers = [
      await signInOptions(known.email),
      await signInOptions(without.email),
      await signInOptions(unknown),
    ];
    expect(shape(answers[1])).toEqual(shape(answers[0]));
    expect(shape(answers[2])).toEqual(shape(answers[0]));
    // And the same stand-in every time, as a real account's credentials would be.
    expect((await signInOptions(unknown)).allowCredentials).toEqual(answers[2].allowCredentials);
    expect(answers[2].allowCredentials).not.toEqual(answers[1].allowCredentials);
  });

  it('stores its challenge until it expires; housekeeping drops the expired ones', async () => {
    const fresh = await signInOptions();
    const stale = await signInOptions();
    await t.db.database.db
      .update(webauthnChallenges)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(webauthnChallenges.challenge, stale.challenge));
    await purgeChallenges(t.db.database.db);
    const left = await t.db.database.db
      .select({ challenge: webauthnChallenges.challenge, purpose: webauthnChallenges.purpose })
      .from(webauthnChallenges)
      .where(inArray(webauthnChallenges.challenge, [fresh.challenge, stale.challenge]));
    expect(left).toEqual([{ challenge: fresh.challenge, purpose: 'authentication' }]);
  });

  it('is limited per client address (429)', async () => {
    const limited = await createTestApp({ loginThrottle: { maxPasskeyChallengesPerIp: 3 } }, t.db);
    try {
      const ask = () =>
        limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/passkey/options',
          payload: {},
          headers: { origin: ORIGIN },
          // An address of its own: the other tests' challenges share the database.
          remoteAddress: '203.0.113.77',
        });
      for (let i = 0; i < 3; i++) expect((await ask()).statusCode).toBe(200);
      const refused = await ask();
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('POST /api/v1/auth/passkey', () => {
  it('signs in with a discoverable passkey: session cookie, audited with the method, no second factor asked', async () => {
    const who = await signUp(t.app);
    const { passkey, row } = await register(who);
    const res = await signInWith(passkey.assert(await signInOptions()));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user).toMatchObject({ id: who.userId, email: who.email });
    const me = (await send('GET', '/api/v1/me', undefined, sessionCookie(res))).json();
    expect(me.user.id).toBe(who.userId);
    const entry = await lastEntry('user.signed_in', who.userId);
    expect(entry?.after).toMatchObject({ userId: who.userId, method: 'passkey', passkeyId: row.id });
    const list = (await send('GET', '/api/v1/me/passkeys', undefined, who.cookie)).json();
    expect(list.items[0].lastUsedAt).not.toBeNull();
  });

  it('signs in after typing the email, and replaces a session presented', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const res = await signInWith(passkey.assert(await signInOptions(who.email)), who.cookie);
    expect(res.statusCode, res.body).toBe(200);
    expect(sessionCookie(res)).not.toBe(who.cookie);
    expect((await send('GET', '/api/v1/me', undefined, who.cookie)).statusCode).toBe(401);
  });

  it('refuses a replayed assertion (401)', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const assertion = passkey.assert(await signInOptions());
    expect((await signInWith(assertion)).statusCode).toBe(200);
    const replay = await signInWith(assertion);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('invalid_credentials');
  });

  it('refuses an assertion for another RP ID or origin, or without user verification', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    for (const ceremony of [
      { rpId: 'evil.test', origin: 'http://localhost:3000' },
      { origin: 'http://evil.test:3000' },
      { userVerified: false },
    ]) {
      const res = await signInWith(passkey.assert(await signInOptions(), ceremony));
      expect(res.statusCode, JSON.stringify(ceremony)).toBe(401);
    }
    // A credential created for another RP is unknown here.
    const foreign = new SoftPasskey({ rpId: 'evil.test' });
    foreign.register({ challenge: 'x', rp: { id: 'evil.test' }, user: { id: 'eA' } });
    expect(
      (await signInWith(foreign.assert(await signInOptions(), { origin: 'http://localhost:3000' })))
        .statusCode,
    ).toBe(401);
  });

  it('checks the signature counter: it must grow; 0 then 0 is a synced passkey', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who, new SoftPasskey({ counter: 5 }));
    expect((await signInWith(passkey.assert(await signInOptions(), { counter: 9 }))).statusCode).toBe(200);
    expect((await signInWith(passkey.assert(await signInOptions(), { counter: 9 }))).statusCode).toBe(401);
    expect((await signInWith(passkey.assert(await signInOptions(), { counter: 7 }))).statusCode).toBe(401);
    expect((await signInWith(passkey.assert(await signInOptions(), { counter: 0 }))).statusCode).toBe(401);
    expect((await signInWith(passkey.assert(await signInOptions(), { counter: 10 }))).statusCode).toBe(200);

    const synced = await signUp(t.app);
    const { passkey: cloud } = await register(synced, new SoftPasskey({ synced: true }));
    for (let i = 0; i < 2; i++) {
      expect((await signInWith(cloud.assert(await signInOptions()))).statusCode).toBe(200);
    }
  });

  it('answers a challenge asked for one account with that account’s passkeys only', async () => {
    const alice = await signUp(t.app);
    const bob = await signUp(t.app);
    await register(alice);
    const { passkey: bobs } = await register(bob);
    const res = await signInWith(bobs.assert(await signInOptions(alice.email)));
    expect(res.statusCode).toBe(401);
  });

  it('refuses a disabled account like a wrong credential', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    await t.db.database.db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, who.userId));
    const res = await signInWith(passkey.assert(await signInOptions()));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
  });

  it('refuses an expired challenge', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const options = await signInOptions();
    await t.db.database.db
      .update(webauthnChallenges)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(webauthnChallenges.challenge, options.challenge));
    expect((await signInWith(passkey.assert(options))).statusCode).toBe(401);
  });

  it.runIf(onPostgres)('one assertion sent in parallel makes exactly one session', async () => {
    const who = await signUp(t.app);
    const { passkey } = await register(who);
    const assertion = passkey.assert(await signInOptions());
    const results = await Promise.all(Array.from({ length: 8 }, () => signInWith(assertion)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
  });
});
