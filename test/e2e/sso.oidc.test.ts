/**
 * Single sign-on through a real OpenID Provider (oidc-provider on loopback): configuration,
 * just-in-time provisioning with group mappings, linking rules, enforcement and break-glass.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakGlass } from '../../src/server/modules/operator/index.ts';
import {
  createTestApp,
  ORIGIN,
  sessionCookie,
  signUp,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../support/app.ts';
import { CookieBrowser } from '../support/cookie-browser.ts';
import { queryRows } from '../support/database.ts';
import { type IdpAccount, type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

let t: TestApp;
let idp: OidcIdp;
const CLIENT = { client_id: 'gatehouse', client_secret: 'idp-client-secret-1234567890' };

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  idp = await startOidcIdp({
    clients: [{ ...CLIENT, redirect_uris: ['http://localhost:3000/sso/placeholder/oidc/callback'] }],
  });
});
afterAll(async () => {
  if (process.env.SSO_DEBUG)
    for (const l of t.logs) if (l.includes('"level":50')) console.log(l.slice(0, 1500));
  await idp?.close();
  await t?.close();
});

/** An org with OIDC connected to the test IdP (its redirect URI registered there). */
async function orgWithOidc(settings: Record<string, unknown> = {}) {
  const org = await createOrg(t.app, { plan: 'pro' });
  const owner = as(t.app, org.owner);
  const redirect = `http://localhost:3000/sso/${org.slug}/oidc/callback`;
  await idp.addClient({
    client_id: `gh-${org.slug}`,
    client_secret: CLIENT.client_secret,
    redirect_uris: [redirect],
  });
  const put = expectStatus(
    await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: idp.issuer,
      clientId: `gh-${org.slug}`,
      clientSecret: CLIENT.client_secret,
    }),
    200,
  );
  expect(put.json()).toMatchObject({ issuer: idp.issuer, clientSecretSet: true, redirectUri: redirect });
  expect(put.body).not.toContain(CLIENT.client_secret);
  if (Object.keys(settings).length > 0) {
    expectStatus(await owner.patch(`/api/v1/orgs/${org.orgId}/sso`, settings), 200);
  }
  return org;
}

/** Signs `account` in through the org's IdP in `browser`; the final response of the callback. */
async function ssoSignIn(browser: CookieBrowser, slug: string, account: IdpAccount, next = '/orgs') {
  const start = await browser.get(`/sso/${slug}/oidc/login?next=${encodeURIComponent(next)}`);
  expect(start.statusCode).toBe(302);
  const back = await idp.login(start.headers.location as string, account);
  return browser.get(back.pathname + back.search);
}

const members = (orgId: string) =>
  queryRows<{ email: string; role: string; status: string }>(
    t.db.database.db,
    sql`SELECT u.email, r.slug AS role, m.status FROM memberships m JOIN users u ON u.id = m.user_id
        JOIN roles r ON r.id = m.role_id WHERE m.org_id = ${orgId} ORDER BY u.email`,
  );

const account = (label: string, extra: Partial<IdpAccount> = {}): IdpAccount => {
  const email = uniqueEmail(label);
  return { sub: `sub-${email}`, email, email_verified: true, name: `${label} person`, ...extra };
};

describe('OIDC single sign-on', () => {
  it('connects an IdP by discovery, never answers the client secret, and refuses a bad issuer with the reason', async () => {
    const org = await orgWithOidc();
    const owner = as(t.app, org.owner);
    const got = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso/oidc`), 200);
    expect(got.json()).toMatchObject({ issuer: idp.issuer, clientSecretSet: true });
    expect(got.body).not.toContain(CLIENT.client_secret);
    const sealed = await queryRows<{ s: string }>(
      t.db.database.db,
      sql`SELECT client_secret AS s FROM sso_oidc WHERE org_id = ${org.orgId}`,
    );
    expect(sealed[0]!.s).not.toContain(CLIENT.client_secret);
    // Nothing listens there: unreachable, and the connection is unchanged.
    const bad = await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: 'http://127.0.0.1:1',
      clientId: 'x',
      clientSecret: 'y',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('idp_unreachable');
    // A private address outside the allowlist: refused by the guard before any connection.
    const priv = await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: 'https://10.20.30.40',
      clientId: 'x',
      clientSecret: 'y',
    });
    expect(priv.statusCode).toBe(400);
    expect(expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso/oidc`), 200).json().issuer).toBe(
      idp.issuer,
    );
  });

  it('provisions a new person with the role of their group, and a returning one keeps a role changed by hand', async () => {
    const org = await orgWithOidc({
      jitProvisioning: true,
      groupsAttribute: 'groups',
      defaultRole: 'viewer',
    });
    const owner = as(t.app, org.owner);
    expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/sso/group-mappings`, {
        idpGroup: 'appsec',
        role: 'cyberoper',
      }),
      201,
    );
    const dev = account('dev', { groups: ['staff', 'appsec'] });
    const browser = new CookieBrowser(t.app);
    const done = await ssoSignIn(browser, org.slug, dev, '/orgs/x/settings/findings');
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/orgs/x/settings/findings');
    const me = expectStatus(await as(t.app, browser.session()!).get('/api/v1/me'), 200).json();
    expect(me.user.email).toBe(dev.email);
    expect(me.user.emailVerified).toBe(true);
    expect(me.memberships).toEqual([expect.objectContaining({ role: 'cyberoper' })]);
    // The admin changes the role by hand; the next SSO sign-in does not undo it.
    expectStatus(
      await owner.patch(`/api/v1/orgs/${org.orgId}/members/${me.user.id}`, { role: 'developer' }),
      200,
    );
    const again = new CookieBrowser(t.app);
    expect((await ssoSignIn(again, org.slug, dev)).statusCode).toBe(303);
    expect((await members(org.orgId)).find((m) => m.email === dev.email)?.role).toBe('developer');
    // The session knows the org's IdP signed it in; the org's log says who signed in and how they joined.
    const log = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/audit-events?limit=50`), 200).json();
    const actions = log.items.map((e: { action: string }) => e.action);
    expect(actions).toContain('member.provisioned');
    expect(actions).toContain('member.signed_in');
    // No group mapped: the default role.
    const other = account('plain', { groups: ['staff'] });
    expect((await ssoSignIn(new CookieBrowser(t.app), org.slug, other)).statusCode).toBe(303);
    expect((await members(org.orgId)).find((m) => m.email === other.email)?.role).toBe('viewer');
  });

  it('admits only members and invitees without just-in-time provisioning', async () => {
    const org = await orgWithOidc();
    const stranger = account('stranger');
    const res = await ssoSignIn(new CookieBrowser(t.app), org.slug, stranger);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/signin\?sso_error=sso_failed/);
    const made = await queryRows(t.db.database.db, sql`SELECT 1 FROM users WHERE email = ${stranger.email}`);
    expect(made).toEqual([]);
    // Invited: the invitation's role, the invitation used.
    const invitee = account('invitee');
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [invitee.email],
        role: 'developer',
      }),
      201,
    );
    expect((await ssoSignIn(new CookieBrowser(t.app), org.slug, invitee)).headers.location).toBe('/orgs');
    expect((await members(org.orgId)).find((m) => m.email === invitee.email)?.role).toBe('developer');
  });

  it('never takes over an existing account on the IdP’s word alone', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    // An account with this email exists here; the IdP does not vouch for the address.
    const victim = await signUp(t.app, { email: uniqueEmail('victim') });
    await verifyEmailInDatabase(t.app, victim.userId);
    const unverified = await ssoSignIn(
      new CookieBrowser(t.app),
      org.slug,
      account('x', { email: victim.email, email_verified: undefined }),
    );
    expect(unverified.headers.location).toMatch(/sso_error=sso_failed&sso_reason=email_unverified/);
    // It vouches, but nobody proved they hold the account: link required, nothing linked.
    const vouched = account('y', { email: victim.email });
    const refused = await ssoSignIn(new CookieBrowser(t.app), org.slug, vouched);
    expect(refused.headers.location).toMatch(/sso_error=sso_link_required/);
    const links = () =>
      queryRows(t.db.database.db, sql`SELECT 1 FROM sso_identities WHERE user_id = ${victim.userId}`);
    expect(await links()).toEqual([]);
    // An unverified account with the email: not linked even from its own session.
    const unproven = await signUp(t.app, { email: uniqueEmail('unproven') });
    const own = new CookieBrowser(t.app);
    own.cookies.set('gatehouse_session', unproven.cookie.split('=')[1]!);
    expect(
      (await ssoSignIn(own, org.slug, account('z', { email: unproven.email }))).headers.location,
    ).toMatch(/sso_error=sso_link_required/);
    // Even from the account's own session, an org it never joined does not link it (an org's IdP
    // is its admins' to run: linking would let them sign in as this person elsewhere).
    const mine = new CookieBrowser(t.app);
    mine.cookies.set('gatehouse_session', victim.cookie.split('=')[1]!);
    expect((await ssoSignIn(mine, org.slug, vouched)).headers.location).toMatch(/sso_error=sso_failed/);
    expect(await links()).toEqual([]);
    // Invited, the account's owner, signed in, links it by signing in through the IdP.
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [victim.email],
        role: 'developer',
      }),
      201,
    );
    const again = new CookieBrowser(t.app);
    again.cookies.set('gatehouse_session', victim.cookie.split('=')[1]!);
    expect((await ssoSignIn(again, org.slug, vouched)).statusCode).toBe(303);
    expect(await links()).toHaveLength(1);
    expect((await members(org.orgId)).find((m) => m.email === victim.email)?.role).toBe('developer');
  });

  it('refuses a callback with a state it never issued, or in another browser, creating nothing', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const person = account('csrf');
    const browser = new CookieBrowser(t.app);
    const start = await browser.get(`/sso/${org.slug}/oidc/login`);
    const back = await idp.login(start.headers.location as string, person);
    // Another browser (no binding cookie) brings the same answer: refused, and it takes nothing.
    const elsewhere = await new CookieBrowser(t.app).get(back.pathname + back.search);
    expect(elsewhere.headers.location).toMatch(/sso_error=sso_failed&sso_reason=state_mismatch/);
    const forged = new URL(back);
    forged.searchParams.set('state', 'forged-state');
    expect((await browser.get(forged.pathname + forged.search)).headers.location).toMatch(/state_mismatch/);
    expect(await queryRows(t.db.database.db, sql`SELECT 1 FROM users WHERE email = ${person.email}`)).toEqual(
      [],
    );
  });

  it('enforced: password sessions get 403 sso_required with where to sign in; SSO sessions and break-glass pass', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    // Enforcing from a password session would lock its author out.
    const locked = await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/sso`, {
      enforcement: 'enforced',
    });
    expect(locked.statusCode).toBe(409);
    expect(locked.json().code).toBe('would_lock_out');
    // The owner links their account to the IdP, then enforces from that SSO session.
    const ownerAtIdp = account('owner', { email: org.owner.email });
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const ownerBrowser = new CookieBrowser(t.app);
    ownerBrowser.cookies.set('gatehouse_session', org.owner.cookie.split('=')[1]!);
    expect((await ssoSignIn(ownerBrowser, org.slug, ownerAtIdp)).statusCode).toBe(303);
    const ownerSso = as(t.app, ownerBrowser.session()!);
    expectStatus(await ownerSso.patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' }), 200);
    // (Signing in through the IdP replaced the browser's password session.) A password session
    // of the owner: refused on the org's routes, told where to sign in.
    const login = expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { origin: ORIGIN },
        payload: { email: org.owner.email, password: org.owner.password },
      }),
      200,
    );
    const owner = as(t.app, { cookie: sessionCookie(login) });
    const refused = await owner.get(`/api/v1/orgs/${org.orgId}/members`);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: 'sso_required',
      loginUrl: `/sso/${org.slug}/oidc/login`,
    });
    // Its own account routes still work.
    expectStatus(await owner.get('/api/v1/me'), 200);
    expectStatus(await ownerSso.get(`/api/v1/orgs/${org.orgId}/members`), 200);
    // Break-glass: an operator makes the password session's account pass for a day.
    await t.app.gatehouse.commands.run(
      breakGlass,
      { actor: { type: 'operator' }, meta: { ip: null, userAgent: null, requestId: null } },
      { slug: org.slug, email: org.owner.email, reason: 'IdP down', maxOwnedPerUser: 100 },
    );
    expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/members`), 200);
    // The IdP cannot be removed while enforced.
    expect((await ownerSso.delete(`/api/v1/orgs/${org.orgId}/sso/oidc`)).statusCode).toBe(409);
  });

  it('finds where to sign in by email domain or org slug, and 404 otherwise', async () => {
    const org = await orgWithOidc();
    const domain = `${org.slug}.example`;
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/sso`, { domains: [domain] }),
      200,
    );
    const discover = (payload: unknown) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/sso/discover',
        headers: { origin: ORIGIN },
        payload: payload as object,
      });
    expect(expectStatus(await discover({ email: `someone@${domain.toUpperCase()}` }), 200).json()).toEqual({
      loginUrl: `http://localhost:3000/sso/${org.slug}/oidc/login`,
      orgSlug: org.slug,
    });
    expect(expectStatus(await discover({ orgSlug: org.slug }), 200).json().orgSlug).toBe(org.slug);
    expect((await discover({ email: 'someone@nowhere.example' })).statusCode).toBe(404);
    // Another org may not claim the domain.
    const other = await createOrg(t.app, { plan: 'pro' });
    const taken = await as(t.app, other.owner).patch(`/api/v1/orgs/${other.orgId}/sso`, {
      domains: [domain],
    });
    expect(taken.statusCode).toBe(409);
  });

  it('lets only an Owner change the IdP (it signs in as every linked member), and a new issuer forgets the old links', async () => {
    const org = await orgWithOidc({ jitProvisioning: true });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    // An Admin holds sso:manage (policy, mappings) but may not point the org at another IdP.
    const swap = await as(t.app, admin).put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
      issuer: idp.issuer,
      clientId: 'another-client',
      clientSecret: 'another-secret',
    });
    expect(swap.statusCode).toBe(403);
    expect(swap.json().code).toBe('permission_denied');
    expect((await as(t.app, admin).delete(`/api/v1/orgs/${org.orgId}/sso/oidc`)).statusCode).toBe(403);
    expectStatus(
      await as(t.app, admin).patch(`/api/v1/orgs/${org.orgId}/sso`, { defaultRole: 'developer' }),
      200,
    );
    // Someone signs in and is linked; the Owner moves the org to another issuer: the link goes.
    const person = account('linked');
    expect((await ssoSignIn(new CookieBrowser(t.app), org.slug, person)).statusCode).toBe(303);
    const linksOf = () =>
      queryRows(t.db.database.db, sql`SELECT 1 FROM sso_identities WHERE org_id = ${org.orgId}`);
    expect(await linksOf()).toHaveLength(1);
    const other = await startOidcIdp({
      clients: [
        {
          client_id: 'other',
          client_secret: CLIENT.client_secret,
          redirect_uris: [`http://localhost:3000/sso/${org.slug}/oidc/callback`],
        },
      ],
    });
    try {
      expectStatus(
        await as(t.app, org.owner).put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
          issuer: other.issuer,
          clientId: 'other',
          clientSecret: CLIENT.client_secret,
        }),
        200,
      );
      expect(await linksOf()).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
