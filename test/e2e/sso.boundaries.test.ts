/**
 * Single sign-on at its edges: one organization's SSO never reachable from another's admins or
 * sign-ins, each route's permission (sessions and API tokens), enforcement not sidestepped by a
 * credential minted from a password session, junk on every route answered without a 5xx, and the
 * OIDC client secret in no answer, log line or audit entry.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableUser } from '../../src/server/modules/operator/index.ts';
import {
  createTestApp,
  ORIGIN,
  sessionCookie,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../support/app.ts';
import { CookieBrowser } from '../support/cookie-browser.ts';
import { queryRows } from '../support/database.ts';
import { type IdpAccount, type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  tokenFromMail,
  withToken,
} from '../support/orgs.ts';

let t: TestApp;
let idp: OidcIdp;
const SECRET = 'idp-client-secret-boundaries-0987654321';

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  idp = await startOidcIdp({
    clients: [
      {
        client_id: 'placeholder',
        client_secret: SECRET,
        redirect_uris: ['http://localhost:3000/sso/placeholder/oidc/callback'],
      },
    ],
  });
});
afterAll(async () => {
  await idp?.close();
  await t?.close();
});

async function orgWithOidc(settings: Record<string, unknown> = {}) {
  const org = await createOrg(t.app, { plan: 'pro' });
  await idp.addClient({
    client_id: `gh-${org.slug}`,
    client_secret: SECRET,
    redirect_uris: [`http://localhost:3000/sso/${org.slug}/oidc/callback`],
  });
  const owner = as(t.app, org.owner);
  expectStatus(
    await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: idp.issuer,
      clientId: `gh-${org.slug}`,
      clientSecret: SECRET,
    }),
    200,
  );
  if (Object.keys(settings).length > 0) {
    expectStatus(await owner.patch(`/api/v1/orgs/${org.orgId}/sso`, settings), 200);
  }
  return org;
}

async function ssoSignIn(browser: CookieBrowser, slug: string, who: IdpAccount, next = '/orgs') {
  const start = await browser.get(`/sso/${slug}/oidc/login?next=${encodeURIComponent(next)}`);
  expect(start.statusCode).toBe(302);
  const back = await idp.login(start.headers.location as string, who);
  return browser.get(back.pathname + back.search);
}

const account = (label: string, extra: Partial<IdpAccount> = {}): IdpAccount => {
  const email = uniqueEmail(label);
  return { sub: `sub-${email}`, email, email_verified: true, name: `${label} person`, ...extra };
};

/** The org with SSO enforced, from its owner's SSO session (returned). */
async function enforcedOrg() {
  const org = await orgWithOidc({ jitProvisioning: true });
  await verifyEmailInDatabase(t.app, org.owner.userId);
  const browser = new CookieBrowser(t.app).signedInAs(org.owner);
  const done = await ssoSignIn(browser, org.slug, account('owner', { email: org.owner.email }));
  expect(done.statusCode).toBe(303);
  const ownerSso = browser.session()!;
  expectStatus(
    await as(t.app, ownerSso).patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' }),
    200,
  );
  return { ...org, ownerSso };
}

async function passwordSession(email: string, password: string) {
  const login = expectStatus(
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN },
      payload: { email, password },
    }),
    200,
  );
  return { cookie: sessionCookie(login) };
}

describe('enforced SSO and API tokens', () => {
  it('a password session cannot mint a personal token for an org that enforces SSO', async () => {
    const org = await enforcedOrg();
    const password = await passwordSession(org.owner.email, org.owner.password);
    expect((await as(t.app, password).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(403);
    const minted = await as(t.app, password).post('/api/v1/me/tokens', {
      name: 'ci',
      orgId: org.orgId,
      scopes: ['admin'],
    });
    expect(minted.statusCode).toBe(403);
    expect(minted.json()).toMatchObject({ code: 'sso_required', loginUrl: `/sso/${org.slug}/oidc/login` });
    // The session the IdP signed in may.
    await createPersonalToken(t.app, org.ownerSso, org.orgId, ['read']);
  });
});

describe('SSO sessions when the IdP goes', () => {
  it('a session the disconnected IdP signed in no longer counts as signed in through the org’s IdP', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const browser = new CookieBrowser(t.app).signedInAs(org.owner);
    const owner = account('owner', { email: org.owner.email });
    expect((await ssoSignIn(browser, org.slug, owner)).statusCode).toBe(303);
    const session = as(t.app, browser.session()!);
    expectStatus(await session.delete(`/api/v1/orgs/${org.orgId}/sso/oidc`), 204);
    expectStatus(
      await session.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
        issuer: idp.issuer,
        clientId: `gh-${org.slug}`,
        clientSecret: SECRET,
      }),
      200,
    );
    // Still signed in, but not through the IdP the org has now: enforcing would lock it out.
    const locked = await session.patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' });
    expect(locked.statusCode).toBe(409);
    expect(locked.json().code).toBe('would_lock_out');
    // Signed in through it again, it may.
    expect((await ssoSignIn(browser, org.slug, owner)).statusCode).toBe(303);
    expectStatus(
      await as(t.app, browser.session()!).patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' }),
      200,
    );
  });
});

describe('who comes back through SSO', () => {
  it('a removed member and a disabled account are refused, even with just-in-time provisioning', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const leaver = account('leaver');
    const first = await ssoSignIn(new CookieBrowser(t.app), org.slug, leaver);
    expect(first.headers.location).toBe('/orgs');
    const [row] = await queryRows<{ id: string }>(
      t.db.database.db,
      sql`SELECT id FROM users WHERE email = ${leaver.email}`,
    );
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${row!.id}`), 204);
    const again = await ssoSignIn(new CookieBrowser(t.app), org.slug, leaver);
    expect(again.headers.location).toMatch(/sso_error=sso_failed/);
    expect(again.cookies.some((c) => c.name === 'gatehouse_session' && c.value !== '')).toBe(false);

    const disabled = account('disabled');
    expect((await ssoSignIn(new CookieBrowser(t.app), org.slug, disabled)).headers.location).toBe('/orgs');
    await t.app.gatehouse.commands.run(
      disableUser,
      { actor: { type: 'operator' }, meta: { ip: null, userAgent: null, requestId: null } },
      { email: disabled.email, reason: 'test' },
    );
    const refused = await ssoSignIn(new CookieBrowser(t.app), org.slug, disabled);
    expect(refused.headers.location).toMatch(/sso_error=sso_failed&sso_reason=account_disabled/);
  });

  it('an email differing only in case or width is the same account: linked only with its proof', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const victim = await addMember(t.app, org, 'developer', {}, t.mail);
    await verifyEmailInDatabase(t.app, victim.userId);
    const [local, domain] = victim.email.split('@') as [string, string];
    for (const email of [victim.email.toUpperCase(), `${local.replace('d', '\uff44')}@${domain}`]) {
      const res = await ssoSignIn(new CookieBrowser(t.app), org.slug, account('twin', { email }));
      expect(res.headers.location, email).toMatch(/sso_error=sso_link_required/);
    }
    const [count] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM sso_identities WHERE user_id = ${victim.userId}`,
    );
    expect(count!.n).toBe(0);
  });
});

describe('an account an IdP made for an address', () => {
  it('is the mailbox owner’s once they set its password: the IdP that made it signs it in no more without their proof', async () => {
    // An org's IdP (its admins' to run) makes an account for an address nobody here holds yet.
    const org = await orgWithOidc({ jitProvisioning: true });
    const claimed = account('claimed');
    expect((await ssoSignIn(new CookieBrowser(t.app), org.slug, claimed)).headers.location).toBe('/orgs');
    // The address's owner takes the account over by a password reset (sign-up says it exists).
    const since = t.mail.messages.length;
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      headers: { origin: ORIGIN },
      payload: { email: claimed.email },
    });
    const token = tokenFromMail((await t.mail.latestTo(claimed.email!, since, /reset-password#token=/)).text);
    expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password-reset/confirm',
        headers: { origin: ORIGIN },
        payload: { token, newPassword: 'owner-of-the-mailbox-77' },
      }),
      204,
    );
    // The IdP's identity no longer signs into it: linking again needs the account's own session.
    const again = await ssoSignIn(new CookieBrowser(t.app), org.slug, claimed);
    expect(again.headers.location).toMatch(/sso_error=sso_link_required/);
    const owner = await passwordSession(claimed.email!, 'owner-of-the-mailbox-77');
    const linked = await ssoSignIn(new CookieBrowser(t.app).signedInAs(owner), org.slug, claimed);
    expect(linked.headers.location).toBe('/orgs');
  });
});

describe('who may call the SSO routes', () => {
  it('another org’s admin, a Developer and a Viewer reach nothing of an org’s SSO', async () => {
    const org = await orgWithOidc();
    const owner = as(t.app, org.owner);
    const mapping = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/sso/group-mappings`, {
        idpGroup: 'eng',
        role: 'developer',
      }),
      201,
    ).json();
    const other = await createOrg(t.app, { plan: 'pro' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const routes: Array<['GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE', string, unknown?]> = [
      ['GET', 'sso'],
      ['PATCH', 'sso', { jitProvisioning: true }],
      ['GET', 'sso/oidc'],
      ['PUT', 'sso/oidc', { issuer: idp.issuer, clientId: 'x', clientSecret: 'y' }],
      ['DELETE', 'sso/oidc'],
      ['GET', 'sso/saml'],
      ['PUT', 'sso/saml', { idpEntityId: 'x', idpSsoUrl: 'https://idp.example', idpCertificates: ['x'] }],
      ['DELETE', 'sso/saml'],
      ['GET', 'sso/group-mappings'],
      ['POST', 'sso/group-mappings', { idpGroup: 'x', role: 'admin' }],
      ['DELETE', `sso/group-mappings/${mapping.id}`],
    ];
    const send = (who: { cookie: string }, m: string, path: string, body?: unknown) =>
      t.app.inject({
        method: m as 'GET',
        url: `/api/v1/orgs/${org.orgId}/${path}`,
        headers: { cookie: who.cookie, origin: ORIGIN },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    for (const [m, path, body] of routes) {
      expect((await send(other.owner, m, path, body)).statusCode, `${m} ${path} other org`).toBe(404);
      expect((await send(dev, m, path, body)).statusCode, `${m} ${path} developer`).toBe(403);
      expect((await send(viewer, m, path, body)).statusCode, `${m} ${path} viewer`).toBe(403);
    }
    // Org B's admin naming org A's mapping at org B's route: not found, and it stays.
    expect(
      (await as(t.app, other.owner).delete(`/api/v1/orgs/${other.orgId}/sso/group-mappings/${mapping.id}`))
        .statusCode,
    ).toBe(404);
    expect(
      expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso/group-mappings`), 200).json().items,
    ).toHaveLength(1);
    // A read-only or write-scoped token has no sso:manage; an admin-scoped one of an Owner does.
    const read = await createPersonalToken(t.app, org.owner, org.orgId, ['read', 'write']);
    expect((await withToken(t.app, read.token).get(`/api/v1/orgs/${org.orgId}/sso`)).statusCode).toBe(403);
    expect(
      (await withToken(t.app, read.token).patch(`/api/v1/orgs/${org.orgId}/sso`, { jitProvisioning: true }))
        .statusCode,
    ).toBe(403);
    // A token of org A at org B: not found.
    expect((await withToken(t.app, read.token).get(`/api/v1/orgs/${other.orgId}/sso`)).statusCode).toBe(404);
  });
});

describe('junk on the SSO routes', () => {
  it('answers every odd input with a 4xx or a redirect, never a 5xx', async () => {
    const org = await orgWithOidc();
    const owner = as(t.app, org.owner);
    const base = `/api/v1/orgs/${org.orgId}/sso`;
    const bodies: Array<['PATCH' | 'PUT' | 'POST', string, unknown]> = [
      ['PATCH', base, { domains: ['exämple.com'] }],
      ['PATCH', base, { domains: ['a\u0000.com'] }],
      ['PATCH', base, { groupsAttribute: 'g\u0000' }],
      ['PATCH', base, { defaultRole: 'owner' }],
      ['PATCH', base, { defaultRole: 'nope' }],
      ['PATCH', base, { enforcement: 1 }],
      ['PATCH', base, { domains: 'x.com' }],
      ['PATCH', base, []],
      ['PATCH', base, 'x'],
      ['PUT', `${base}/oidc`, { issuer: 'not a url at all', clientId: 'x', clientSecret: 'y' }],
      ['PUT', `${base}/oidc`, { issuer: 'https://\u0000idp.example', clientId: 'x', clientSecret: 'y' }],
      ['PUT', `${base}/oidc`, { issuer: idp.issuer, clientId: 'x\u0000', clientSecret: 'y' }],
      ['PUT', `${base}/oidc`, { issuer: idp.issuer, clientId: 'x', clientSecret: 'y\u0000' }],
      ['PUT', `${base}/oidc`, { issuer: idp.issuer, clientId: ' ', clientSecret: 'y' }],
      ['PUT', `${base}/saml`, { idpMetadataXml: '<x' }],
      ['PUT', `${base}/saml`, { idpMetadataXml: '\u0000' }],
      [
        'PUT',
        `${base}/saml`,
        {
          idpMetadataXml:
            '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbbbb"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]><a>&d;</a>',
        },
      ],
      [
        'PUT',
        `${base}/saml`,
        {
          idpMetadataXml: `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">${'<a>'.repeat(150_000)}${'</a>'.repeat(150_000)}</md:EntityDescriptor>`,
        },
      ],
      ['PUT', `${base}/saml`, { idpMetadataUrl: 'file:///etc/passwd' }],
      [
        'PUT',
        `${base}/saml`,
        { idpEntityId: '\u0000', idpSsoUrl: 'javascript:alert(1)', idpCertificates: ['x'] },
      ],
      [
        'PUT',
        `${base}/saml`,
        { idpEntityId: 'x', idpSsoUrl: 'https://idp.example/\u0000', idpCertificates: ['x'] },
      ],
      ['POST', `${base}/group-mappings`, { idpGroup: 'x', role: 'owner' }],
      ['POST', `${base}/group-mappings`, { idpGroup: ' ', role: 'viewer' }],
      ['POST', `${base}/group-mappings`, { idpGroup: 'x\u2028', role: 'no-such-role' }],
      ['POST', `${base}/group-mappings`, { idpGroup: 'x'.repeat(100_000), role: 'viewer' }],
    ];
    for (const [m, url, body] of bodies) {
      const res = await t.app.inject({
        method: m,
        url,
        headers: { cookie: org.owner.cookie, origin: ORIGIN },
        payload: body as object,
      });
      expect(res.statusCode, `${m} ${url} ${JSON.stringify(body).slice(0, 80)}: ${res.body}`).toBeLessThan(
        500,
      );
      expect(res.statusCode, `${m} ${url} ${JSON.stringify(body).slice(0, 80)}`).toBeGreaterThanOrEqual(400);
    }
    expectStatus(await owner.get(`${base}/group-mappings/x`), 404);
    const gets = [
      `/sso/${org.slug}/oidc/login?next=//evil.example`,
      `/sso/${org.slug}/oidc/login?next=a&next=b`,
      `/sso/${org.slug}/oidc/login?purpose=x`,
      `/sso/${org.slug}/oidc/login?purpose=test`,
      `/sso/${org.slug}/oidc/callback`,
      `/sso/${org.slug}/oidc/callback?state=a&state=b`,
      `/sso/${org.slug}/oidc/callback?state=%00&code=%00`,
      `/sso/${org.slug}/oidc/callback?error=access_denied&state=x`,
      `/sso/${org.slug}/oidc/callback?code=x&state=${'s'.repeat(4000)}`,
      `/sso/${encodeURIComponent('é\u0000')}/oidc/login`,
      `/sso/${'x'.repeat(100)}/oidc/login`,
      `/sso/${org.slug}/saml/login`,
      `/sso/${org.slug}/saml/metadata`,
    ];
    for (const url of gets) {
      const res = await new CookieBrowser(t.app).get(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(500);
    }
    const acs = [
      'not base64 !!',
      Buffer.from('<x').toString('base64'),
      Buffer.from('\u0000').toString('base64'),
      Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbbbb"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>',
      ).toString('base64'),
    ];
    // Deeply nested, and as large as the ACS takes.
    const deep = (n: number) =>
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'<a>'.repeat(n)}${'</a>'.repeat(n)}</samlp:Response>`;
    acs.push(Buffer.from(deep(200_000)).toString('base64'));
    acs.push(Buffer.from(`<x>${'y'.repeat(1_400_000)}</x>`).toString('base64'));
    for (const SAMLResponse of acs) {
      const res = await new CookieBrowser(t.app).postForm(
        `/sso/${org.slug}/saml/acs`,
        { SAMLResponse },
        null,
      );
      expect(res.statusCode, res.body).toBeLessThan(500);
    }
    const discover = [{ email: 'a@\u0000' }, { orgSlug: '\u0000' }, { email: 'x@y', orgSlug: 'z' }, {}, []];
    for (const payload of discover) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/sso/discover',
        headers: { origin: ORIGIN },
        payload: payload as object,
      });
      expect(res.statusCode, `${JSON.stringify(payload)}: ${res.body}`).toBeLessThan(500);
    }
  });

  it('keeps the sign-in on this site whatever next says', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    for (const next of [
      '//evil.example',
      '/\\evil.example',
      'https:evil.example',
      '/%2F%2Fevil.example',
      '/\t/evil.example',
      '\\/evil.example',
      'https://evil.example',
    ]) {
      const done = await ssoSignIn(new CookieBrowser(t.app), org.slug, account('next'), next);
      expect(done.statusCode).toBe(303);
      const location = done.headers.location as string;
      expect(new URL(location, 'http://localhost:3000').origin, `${next} → ${location}`).toBe(
        'http://localhost:3000',
      );
      expect(location.startsWith('//') || location.startsWith('/\\')).toBe(false);
    }
  });
});

describe('the OIDC client secret', () => {
  it('appears in no answer, log line or audit entry', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const owner = as(t.app, org.owner);
    for (const path of ['sso', 'sso/oidc']) {
      expect(expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/${path}`), 200).body).not.toContain(
        SECRET,
      );
    }
    // A failed save and a sign-in, so that the error paths log too.
    await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: 'http://127.0.0.1:1',
      clientId: 'x',
      clientSecret: SECRET,
    });
    await ssoSignIn(new CookieBrowser(t.app), org.slug, account('secret'));
    const audit = await queryRows<{ entry: string }>(
      t.db.database.db,
      sql`SELECT row_to_json(a)::text AS entry FROM audit_events a`,
    );
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.filter((a) => a.entry.includes(SECRET))).toEqual([]);
    expect(t.logs.filter((l) => l.includes(SECRET))).toEqual([]);
  });
});

describe('concurrency', () => {
  it('two first sign-ins of one person at once make one account, one link and one membership, and no 5xx', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const person = account('twice');
    const browsers = [new CookieBrowser(t.app), new CookieBrowser(t.app)];
    const callbacks: string[] = [];
    for (const browser of browsers) {
      const start = await browser.get(`/sso/${org.slug}/oidc/login`);
      const back = await idp.login(start.headers.location as string, person);
      callbacks.push(back.pathname + back.search);
    }
    const done = await Promise.all(browsers.map((b, i) => b.get(callbacks[i]!)));
    for (const res of done) expect(res.statusCode, res.body).toBe(303);
    expect(done.filter((r) => !String(r.headers.location).includes('sso_error')).length).toBeGreaterThan(0);
    const counts = await queryRows<{ users: number; links: number; members: number }>(
      t.db.database.db,
      sql`SELECT (SELECT count(*)::int FROM users WHERE email = ${person.email}) AS users,
                 (SELECT count(*)::int FROM sso_identities WHERE org_id = ${org.orgId}) AS links,
                 (SELECT count(*)::int FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.org_id = ${org.orgId} AND u.email = ${person.email}) AS members`,
    );
    expect(counts[0]).toEqual({ users: 1, links: 1, members: 1 });
  });

  it('enforcing and disconnecting the IdP at once never leave SSO enforced without an IdP', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const browser = new CookieBrowser(t.app).signedInAs(org.owner);
    expect(
      (await ssoSignIn(browser, org.slug, account('owner', { email: org.owner.email }))).statusCode,
    ).toBe(303);
    const ownerSso = as(t.app, browser.session()!);
    const [patch, del] = await Promise.all([
      ownerSso.patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' }),
      ownerSso.delete(`/api/v1/orgs/${org.orgId}/sso/oidc`),
    ]);
    expect([patch.statusCode, del.statusCode].sort()).toEqual(
      patch.statusCode === 200 ? [200, 409] : [204, 409],
    );
    const state = await queryRows<{ enforcement: string; oidc: number }>(
      t.db.database.db,
      sql`SELECT s.enforcement, (SELECT count(*)::int FROM sso_oidc WHERE org_id = ${org.orgId}) AS oidc
          FROM sso_settings s WHERE s.org_id = ${org.orgId}`,
    );
    expect(state[0]!.enforcement === 'enforced' && state[0]!.oidc === 0).toBe(false);
  });
});
