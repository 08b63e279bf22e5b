/**
 * Single sign-on through a real SAML identity provider (samlify, signing with the test keys),
 * driven through the routes as a browser drives them: connecting the IdP by metadata, by fields
 * and by a metadata URL; signing in with just-in-time provisioning; the answers a service
 * provider must turn away at its ACS, each leaving nothing behind; enforcement; and one answer
 * posted twice at once.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { type LoopbackReceiver, startLoopbackReceiver } from '../support/loopback-receiver.ts';
import { startOidcIdp } from '../support/oidc-idp.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';
import {
  children,
  createTestSamlIdp,
  type DomNode,
  DSIG_NS,
  decodeSamlResponse,
  encodeSamlResponse,
  find,
  parseXml,
  SAML_NS,
  SAMLP_NS,
  type SamlRespondOptions,
  serializeXml,
  type TestSamlIdp,
} from '../support/saml-idp.ts';

let t: TestApp;
const idp = createTestSamlIdp();
/** The same IdP (entity ID) signing with its other key: a rotation's next key, or an impostor's. */
const otherKey = createTestSamlIdp({ keys: 'other' });
/** Where the IdP's page that posts the answer lives: another site. */
const IDP_ORIGIN = new URL(idp.ssoUrl).origin;

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
});
afterAll(async () => {
  if (process.env.SSO_DEBUG)
    for (const l of t.logs) if (l.includes('"level":50')) console.log(l.slice(0, 1500));
  await t?.close();
});

type SamlOrg = Awaited<ReturnType<typeof orgWithSaml>>;

/** An org with SAML connected (by default from the IdP's metadata), and our SP metadata as the IdP reads it. */
async function orgWithSaml(
  settings: Record<string, unknown> = {},
  connection: Record<string, unknown> = { idpMetadataXml: idp.metadata },
) {
  const org = await createOrg(t.app, { plan: 'pro' });
  const owner = as(t.app, org.owner);
  const saml = expectStatus(await owner.put(`/api/v1/orgs/${org.orgId}/sso/saml`, connection), 200).json();
  if (Object.keys(settings).length > 0) {
    expectStatus(await owner.patch(`/api/v1/orgs/${org.orgId}/sso`, settings), 200);
  }
  const spMetadata = expectStatus(
    await t.app.inject({ method: 'GET', url: `/sso/${org.slug}/saml/metadata` }),
    200,
  ).body;
  return {
    ...org,
    spEntityId: saml.spEntityId as string,
    acsUrl: saml.acsUrl as string,
    spMetadata,
  };
}

/** Someone at the IdP: NameID and email are the address unless told otherwise. */
interface IdpPerson {
  email: string;
  groups?: string[];
}
const person = (label: string, groups?: string[]): IdpPerson => ({
  email: uniqueEmail(label),
  ...(groups ? { groups } : {}),
});

/** The IdP's answer for `who` to `inResponseTo` (null: unsolicited), for this org's SP. */
const answer = (
  org: SamlOrg,
  who: IdpPerson,
  inResponseTo: string | null,
  overrides: Partial<SamlRespondOptions> = {},
): SamlRespondOptions => ({
  inResponseTo,
  acsUrl: org.acsUrl,
  audience: org.spEntityId,
  nameId: who.email,
  email: who.email,
  name: 'Sam L. Person',
  ...(who.groups ? { groups: who.groups } : {}),
  ...overrides,
});

/**
 * Starts a sign-in in `browser` (302 to the IdP with an AuthnRequest, the binding cookie kept),
 * and returns the request's ID as the IdP reads it.
 */
async function startSignIn(browser: CookieBrowser, org: SamlOrg, next = '/x'): Promise<string> {
  const start = await browser.get(`/sso/${org.slug}/saml/login?next=${encodeURIComponent(next)}`);
  expect(start.statusCode).toBe(302);
  const location = start.headers.location as string;
  expect(location.startsWith(`${idp.ssoUrl}?`)).toBe(true);
  expect(new URL(location).searchParams.get('SAMLRequest')).toBeTruthy();
  expect(browser.cookies.get('gatehouse_sso')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const request = await idp.readAuthnRequest(location, org.spMetadata);
  expect(request).toMatchObject({ issuer: org.spEntityId, acsUrl: org.acsUrl });
  return request.id;
}

/** The IdP's page posts the answer to the ACS: a form, cross-site (a foreign Origin, or none). */
const postAnswer = (
  browser: CookieBrowser,
  org: SamlOrg,
  samlResponse: string,
  origin: string | null = IDP_ORIGIN,
) => browser.postForm(`/sso/${org.slug}/saml/acs`, { SAMLResponse: samlResponse }, origin);

/** A whole sign-in of `who` in `browser`: started here, answered by `from`, posted back. */
async function signIn(
  browser: CookieBrowser,
  org: SamlOrg,
  who: IdpPerson,
  options: { next?: string; from?: TestSamlIdp; origin?: string | null } = {},
) {
  const requestId = await startSignIn(browser, org, options.next);
  const response = await (options.from ?? idp).respond(answer(org, who, requestId));
  return postAnswer(browser, org, response, options.origin);
}

const sessionSet = (res: LightMyRequestResponse) =>
  res.cookies.some((c) => c.name === 'gatehouse_session' && c.value !== '');

/** A sign-in that worked: 303 onwards, with a session of `email`. */
async function expectSignedIn(
  res: LightMyRequestResponse,
  browser: CookieBrowser,
  email: string,
  next = '/x',
) {
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe(next);
  expect(sessionSet(res)).toBe(true);
  const me = expectStatus(await as(t.app, browser.session()!).get('/api/v1/me'), 200).json();
  expect(me.user.email).toBe(email);
  return me;
}

/** Every row a sign-in could make, counted across the database. */
async function footprint() {
  const [row] = await queryRows<{ users: number; identities: number; memberships: number; sessions: number }>(
    t.db.database.db,
    sql`SELECT (SELECT count(*)::int FROM users) AS users,
               (SELECT count(*)::int FROM sso_identities) AS identities,
               (SELECT count(*)::int FROM memberships) AS memberships,
               (SELECT count(*)::int FROM sessions) AS sessions`,
  );
  return row!;
}

/**
 * The attempt is refused: the browser lands on the sign-in page told why (`reason`, or none),
 * gets no session, and no account, identity, membership or session was made anywhere.
 */
async function expectRefused(attempt: () => Promise<LightMyRequestResponse>, reason: string | null) {
  const before = await footprint();
  const res = await attempt();
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe(`/signin?sso_error=sso_failed${reason ? `&sso_reason=${reason}` : ''}`);
  expect(sessionSet(res)).toBe(false);
  expect(await footprint()).toEqual(before);
  return res;
}

const usersWithEmail = (email: string) =>
  queryRows(t.db.database.db, sql`SELECT 1 FROM users WHERE email = ${email}`);

const memberRole = async (orgId: string, email: string) => {
  const rows = await queryRows<{ role: string }>(
    t.db.database.db,
    sql`SELECT r.slug AS role FROM memberships m JOIN users u ON u.id = m.user_id
          JOIN roles r ON r.id = m.role_id WHERE m.org_id = ${orgId} AND u.email = ${email}`,
  );
  return rows[0]?.role;
};

const certificateOf = (pem: string) => {
  const cert = new X509Certificate(pem);
  return {
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprintSha256: cert.fingerprint256,
  };
};

describe('SAML connection', () => {
  it('connects an IdP by its metadata, answers our entity ID, ACS and metadata URLs, and serves SP metadata naming the ACS', async () => {
    const org = await orgWithSaml();
    const owner = as(t.app, org.owner);
    const base = `http://localhost:3000/sso/${org.slug}/saml`;
    const got = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso/saml`), 200).json();
    expect(got).toMatchObject({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpMetadataUrl: null,
      spEntityId: `${base}/metadata`,
      acsUrl: `${base}/acs`,
      metadataUrl: `${base}/metadata`,
    });
    expect(got.certificates).toEqual([expect.objectContaining(certificateOf(idp.certificate))]);
    const settings = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso`), 200).json();
    expect(settings).toMatchObject({
      protocol: 'saml',
      loginUrl: `${base}/login`,
      serviceProvider: {
        spEntityId: `${base}/metadata`,
        acsUrl: `${base}/acs`,
        metadataUrl: `${base}/metadata`,
        scimBaseUrl: 'http://localhost:3000/scim/v2',
      },
    });

    // Our metadata, public, for the IdP's admin.
    const metadata = await t.app.inject({ method: 'GET', url: `/sso/${org.slug}/saml/metadata` });
    expect(metadata.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
    const descriptor = parseXml(metadata.body).documentElement;
    expect(descriptor.getAttribute('entityID')).toBe(`${base}/metadata`);
    const acs = find(descriptor, 'urn:oasis:names:tc:SAML:2.0:metadata', 'AssertionConsumerService');
    expect(acs.getAttribute('Location')).toBe(`${base}/acs`);
    expect(acs.getAttribute('Binding')).toBe('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
  });

  it('refuses junk and a DOCTYPE with idp_invalid, leaving the connection as it was (or absent)', async () => {
    const org = await orgWithSaml();
    const owner = as(t.app, org.owner);
    const url = `/api/v1/orgs/${org.orgId}/sso/saml`;
    const before = expectStatus(await owner.get(url), 200).json();
    for (const [xml, reason] of [
      ['this is not metadata <', 'not_xml'],
      ['<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><unclosed>', 'not_xml'],
      [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',
        'doctype',
      ],
      [`<!DOCTYPE md:EntityDescriptor>${idp.metadata.replace(/^<\?xml[^>]*\?>/, '')}`, 'doctype'],
      [org.spMetadata, 'no_idp'],
    ] as const) {
      const res = await owner.put(url, { idpMetadataXml: xml });
      expect(res.statusCode, xml).toBe(400);
      expect(res.json()).toMatchObject({ code: 'idp_invalid', params: { reason } });
      expect(res.body).not.toContain('passwd');
    }
    expect(expectStatus(await owner.get(url), 200).json()).toEqual(before);

    // An org without SAML: still none after a refused save.
    const bare = await createOrg(t.app, { plan: 'pro' });
    const bareOwner = as(t.app, bare.owner);
    const junk = await bareOwner.put(`/api/v1/orgs/${bare.orgId}/sso/saml`, { idpMetadataXml: '<x/>' });
    expect(junk.statusCode).toBe(400);
    expect((await bareOwner.get(`/api/v1/orgs/${bare.orgId}/sso/saml`)).statusCode).toBe(404);
  });

  it('connects an IdP by its fields with two certificates (a rotation): an answer signed by either key signs in', async () => {
    const org = await orgWithSaml(
      { jitProvisioning: true },
      {
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.certificate, otherKey.certificate],
      },
    );
    const owner = as(t.app, org.owner);
    const url = `/api/v1/orgs/${org.orgId}/sso/saml`;
    const got = expectStatus(await owner.get(url), 200).json();
    expect(got.certificates).toEqual([
      expect.objectContaining(certificateOf(idp.certificate)),
      expect.objectContaining(certificateOf(otherKey.certificate)),
    ]);
    for (const from of [idp, otherKey]) {
      const browser = new CookieBrowser(t.app);
      const who = person('rotation');
      await expectSignedIn(await signIn(browser, org, who, { from }), browser, who.email);
    }
    // A certificate that is not one: 400 naming it, the two kept.
    const bad = await owner.put(url, {
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.certificate, 'not a certificate'],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('/body/idpCertificates/1');
    expect(expectStatus(await owner.get(url), 200).json().certificates).toHaveLength(2);
  });

  describe('by metadata URL', () => {
    let receiver: LoopbackReceiver;
    beforeAll(async () => {
      receiver = await startLoopbackReceiver();
    });
    afterAll(async () => {
      await receiver?.close();
    });

    it('fetches the IdP’s metadata through the outbound guard, and signs in with it', async () => {
      receiver.answer((req) =>
        req.path === '/idp/metadata'
          ? { status: 200, body: idp.metadata, headers: { 'content-type': 'application/samlmetadata+xml' } }
          : { status: 404, body: 'not here' },
      );
      const metadataUrl = `${receiver.url}/idp/metadata`;
      const org = await orgWithSaml({ jitProvisioning: true }, { idpMetadataUrl: metadataUrl });
      expect(receiver.requests.at(-1)).toMatchObject({ method: 'GET', path: '/idp/metadata' });
      const owner = as(t.app, org.owner);
      const url = `/api/v1/orgs/${org.orgId}/sso/saml`;
      const got = expectStatus(await owner.get(url), 200).json();
      expect(got).toMatchObject({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpMetadataUrl: metadataUrl,
      });
      expect(got.certificates).toEqual([expect.objectContaining(certificateOf(idp.certificate))]);
      const browser = new CookieBrowser(t.app);
      const who = person('by-url');
      await expectSignedIn(await signIn(browser, org, who), browser, who.email);
      // A URL that answers no metadata: idp_unreachable, the connection unchanged.
      const missing = await owner.put(url, { idpMetadataUrl: `${receiver.url}/gone` });
      expect(missing.statusCode).toBe(400);
      expect(missing.json()).toMatchObject({ code: 'idp_unreachable', params: { reason: 'status' } });
      expect(expectStatus(await owner.get(url), 200).json()).toEqual(got);
    });
  });

  it('refuses SAML while OIDC is connected (409), creating no SAML connection', async () => {
    const oidc = await startOidcIdp({
      clients: [
        { client_id: 'gh', client_secret: 'idp-client-secret-1234567890', redirect_uris: [`${ORIGIN}/cb`] },
      ],
    });
    try {
      const org = await createOrg(t.app, { plan: 'pro' });
      const owner = as(t.app, org.owner);
      expectStatus(
        await owner.put(`/api/v1/orgs/${org.orgId}/sso/oidc`, {
          issuer: oidc.issuer,
          clientId: 'gh',
          clientSecret: 'idp-client-secret-1234567890',
        }),
        200,
      );
      const res = await owner.put(`/api/v1/orgs/${org.orgId}/sso/saml`, { idpMetadataXml: idp.metadata });
      expect(res.statusCode).toBe(409);
      expect((await owner.get(`/api/v1/orgs/${org.orgId}/sso/saml`)).statusCode).toBe(404);
      const rows = await queryRows(t.db.database.db, sql`SELECT 1 FROM sso_saml WHERE org_id = ${org.orgId}`);
      expect(rows).toEqual([]);
    } finally {
      await oidc.close();
    }
  });
});

describe('SAML sign-in', () => {
  it('signs in a new person with the role of their group, from the IdP’s cross-site post, and a returning one keeps a role changed by hand', async () => {
    const org = await orgWithSaml({
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
    const dev = person('dev', ['staff', 'appsec']);
    const browser = new CookieBrowser(t.app);
    // The IdP's page posts with its own Origin: the ACS takes it all the same.
    const me = await expectSignedIn(
      await signIn(browser, org, dev, { origin: IDP_ORIGIN }),
      browser,
      dev.email,
    );
    expect(me.user.emailVerified).toBe(true);
    expect(me.memberships).toEqual([expect.objectContaining({ role: 'cyberoper' })]);
    const identities = await queryRows(
      t.db.database.db,
      sql`SELECT protocol, subject FROM sso_identities WHERE org_id = ${org.orgId} AND user_id = ${me.user.id}`,
    );
    expect(identities).toEqual([{ protocol: 'saml', subject: dev.email }]);
    // A session for the org's routes.
    expectStatus(await as(t.app, browser.session()!).get(`/api/v1/orgs/${org.orgId}/members`), 200);

    // Changed by hand; the next sign-in (a post without any Origin) does not undo it.
    expectStatus(
      await owner.patch(`/api/v1/orgs/${org.orgId}/members/${me.user.id}`, { role: 'developer' }),
      200,
    );
    const again = new CookieBrowser(t.app);
    await expectSignedIn(
      await signIn(again, org, dev, { next: '/orgs', origin: null }),
      again,
      dev.email,
      '/orgs',
    );
    expect(await memberRole(org.orgId, dev.email)).toBe('developer');

    // No group mapped: the default role. The org's log says who joined and how they signed in.
    const plain = person('plain', ['staff']);
    const third = new CookieBrowser(t.app);
    await expectSignedIn(await signIn(third, org, plain), third, plain.email);
    expect(await memberRole(org.orgId, plain.email)).toBe('viewer');
    const log = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/audit-events?limit=50`), 200).json();
    const actions = log.items.map((e: { action: string }) => e.action);
    expect(actions).toContain('member.provisioned');
    expect(actions).toContain('member.signed_in');
  });

  it('refuses a stranger without just-in-time provisioning, making nothing', async () => {
    const org = await orgWithSaml();
    const stranger = person('stranger');
    await expectRefused(() => signIn(new CookieBrowser(t.app), org, stranger), 'not_member');
    expect(await usersWithEmail(stranger.email)).toEqual([]);
  });
  it('refuses to start a sign-in from another site: it would carry the visitor’s session into a link', async () => {
    const org = await orgWithSaml();
    const visitor = await createOrg(t.app, { plan: 'pro' });
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { referer: 'https://attacker.example.test/page' },
    ]) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/sso/${org.slug}/saml/login`,
        headers: { cookie: visitor.owner.cookie, ...headers },
      });
      expect(res.statusCode).toBe(403);
      expect(res.cookies.map((c) => c.name)).not.toContain('gatehouse_sso');
    }
    const pending = await queryRows(
      t.db.database.db,
      sql`SELECT 1 FROM sso_requests WHERE org_id = ${org.orgId}`,
    );
    expect(pending).toEqual([]);
  });
});

describe('SAML answers refused at the ACS, leaving nothing behind', () => {
  let org: SamlOrg;
  /** A member who signed in through the IdP before: the account attacks aim at. */
  const victim = person('victim');
  /** The attacker's own account at the IdP (a real one: the IdP signs answers for it). */
  const mallory = person('mallory');

  beforeAll(async () => {
    org = await orgWithSaml({ jitProvisioning: true });
    const browser = new CookieBrowser(t.app);
    await expectSignedIn(await signIn(browser, org, victim), browser, victim.email);
  });

  /** A fresh sign-in in a new browser, and the IdP's answer to it before any signing. */
  async function started(who: IdpPerson = mallory, overrides: Partial<SamlRespondOptions> = {}) {
    const browser = new CookieBrowser(t.app);
    const requestId = await startSignIn(browser, org);
    return { browser, requestId, options: answer(org, who, requestId, overrides) };
  }

  it('an unsigned answer', async () => {
    const { browser, options } = await started(victim);
    const response = await idp.respond({ ...options, signAssertion: false, signResponse: false });
    await expectRefused(() => postAnswer(browser, org, response), 'signature');
  });

  it('an assertion changed after signing (the NameID and email made the victim’s)', async () => {
    for (const signing of [{ signAssertion: true }, { signAssertion: false, signResponse: true }]) {
      const { browser, options } = await started();
      const doc = parseXml(decodeSamlResponse(await idp.respond({ ...options, ...signing })));
      find(doc.documentElement, SAML_NS, 'NameID').textContent = victim.email;
      find(doc.documentElement, SAML_NS, 'AttributeValue').textContent = victim.email;
      await expectRefused(() => postAnswer(browser, org, encodeSamlResponse(serializeXml(doc))), 'signature');
    }
  });

  /** An unsigned copy of the signed assertion naming the victim, under a new ID unless told. */
  function victimCopy(assertion: DomNode, keepId = false): DomNode {
    const evil = assertion.cloneNode(true);
    for (const signature of children(evil, DSIG_NS, 'Signature')) evil.removeChild(signature);
    if (!keepId) evil.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
    find(evil, SAML_NS, 'NameID').textContent = victim.email;
    find(evil, SAML_NS, 'AttributeValue').textContent = victim.email;
    return evil;
  }

  it.each([
    [
      'an unsigned assertion naming the victim before mallory’s signed one',
      (response: DomNode, signed: DomNode) => {
        response.insertBefore(victimCopy(signed), signed);
      },
    ],
    [
      'mallory’s signed assertion hidden in Extensions, the victim’s with the same ID in its place',
      (response: DomNode, signed: DomNode) => {
        response.insertBefore(victimCopy(signed, true), signed);
        const extensions = response.ownerDocument.createElementNS(SAMLP_NS, 'samlp:Extensions');
        extensions.appendChild(response.removeChild(signed));
        const issuer = children(response, SAML_NS, 'Issuer')[0]!;
        response.insertBefore(extensions, issuer.nextSibling);
      },
    ],
    [
      'mallory’s signed assertion wrapped inside an unsigned one naming the victim',
      (response: DomNode, signed: DomNode) => {
        const evil = victimCopy(signed);
        response.insertBefore(evil, signed);
        evil.appendChild(response.removeChild(signed));
      },
    ],
  ])('signature wrapping (XSW): %s', async (_label, wrap) => {
    const { browser, options } = await started();
    const doc = parseXml(idp.sign(idp.responseXml(options), { assertion: true }));
    const response = doc.documentElement;
    wrap(response, children(response, SAML_NS, 'Assertion')[0] ?? find(response, SAML_NS, 'Assertion'));
    const xml = serializeXml(doc);
    expect(xml).toContain(victim.email);
    await expectRefused(() => postAnswer(browser, org, encodeSamlResponse(xml)), 'signature');
  });

  it('an answer for another service provider (its audience)', async () => {
    const elsewhere = await orgWithSaml();
    const { browser, options } = await started(mallory, { audience: elsewhere.spEntityId });
    await expectRefused(async () => postAnswer(browser, org, await idp.respond(options)), 'audience');
  });

  it('an answer to another org’s sign-in, or for its service provider, at this org’s ACS', async () => {
    // Two orgs trusting one IdP: an answer meant for one is never taken at the other.
    const other = await orgWithSaml({ jitProvisioning: true });
    const browser = new CookieBrowser(t.app);
    const otherRequest = await startSignIn(browser, other);
    const forOther = await idp.respond(answer(other, mallory, otherRequest));
    // (Its request is the other org's: refused before its audience is read.)
    await expectRefused(() => postAnswer(browser, org, forOther), 'unknown_request');
    // Addressed to this org, answering the other org's request: no request of this org's.
    const crossed = await idp.respond(answer(org, mallory, otherRequest));
    await expectRefused(() => postAnswer(browser, org, crossed), 'unknown_request');
  });

  it('an answer not valid yet (NotBefore ahead, past the skew)', async () => {
    const { browser, options } = await started(mallory, {
      issueInstant: new Date(Date.now() + 10 * 60_000),
      notOnOrAfter: new Date(Date.now() + 15 * 60_000),
    });
    // Outside its time window, as an expired one is.
    await expectRefused(async () => postAnswer(browser, org, await idp.respond(options)), 'expired');
  });

  it('an expired answer', async () => {
    const { browser, options } = await started(mallory, {
      issueInstant: new Date(Date.now() - 10 * 60_000),
      notOnOrAfter: new Date(Date.now() - 5 * 60_000),
    });
    await expectRefused(async () => postAnswer(browser, org, await idp.respond(options)), 'expired');
  });

  it('an answer signed by a key the org did not configure', async () => {
    const { browser, options } = await started(victim);
    await expectRefused(async () => postAnswer(browser, org, await otherKey.respond(options)), 'signature');
  });

  it('a valid answer posted a second time', async () => {
    const { browser, options } = await started(person('twice'));
    const response = await idp.respond(options);
    const first = await postAnswer(browser, org, response);
    await expectSignedIn(first, browser, options.email!);
    await expectRefused(() => postAnswer(browser, org, response), 'unknown_request');
  });

  it('an answer to a request never made here', async () => {
    const { browser, options } = await started();
    const forged = { ...options, inResponseTo: `_${randomBytes(20).toString('hex')}` };
    await expectRefused(async () => postAnswer(browser, org, await idp.respond(forged)), 'unknown_request');
  });

  it('a valid answer posted from another browser (no binding cookie)', async () => {
    const { options } = await started();
    const response = await idp.respond(options);
    await expectRefused(() => postAnswer(new CookieBrowser(t.app), org, response), 'unknown_request');
  });

  it('a NameID split by a comment: the identity is the whole NameID, never the part before it', async () => {
    // Without just-in-time provisioning: the victim is a member, linked by their NameID; mallory
    // has an IdP account `<victim>.evil.test`, which is no one here.
    const closed = await orgWithSaml();
    const member = person('member');
    expectStatus(
      await as(t.app, closed.owner).post(`/api/v1/orgs/${closed.orgId}/invitations`, {
        emails: [member.email],
        role: 'developer',
      }),
      201,
    );
    const memberBrowser = new CookieBrowser(t.app);
    await expectSignedIn(await signIn(memberBrowser, closed, member), memberBrowser, member.email);

    const browser = new CookieBrowser(t.app);
    const requestId = await startSignIn(browser, closed);
    const whole = `${member.email}.evil.test`;
    // Signed as the IdP signs it; the comment slipped in after leaves the signed bytes as they are.
    const signed = idp.sign(idp.responseXml(answer(closed, { email: whole }, requestId)), {
      assertion: true,
    });
    const commented = signed.replaceAll(`>${whole}<`, `>${member.email}<!---->.evil.test<`);
    expect(commented).toContain(`>${member.email}<!---->.evil.test</saml:NameID>`);
    await expectRefused(() => postAnswer(browser, closed, encodeSamlResponse(commented)), 'not_member');
    expect(await usersWithEmail(whole)).toEqual([]);

    // With provisioning on, the same trick signs in the whole NameID's new account, not the member.
    expectStatus(
      await as(t.app, closed.owner).patch(`/api/v1/orgs/${closed.orgId}/sso`, { jitProvisioning: true }),
      200,
    );
    const again = new CookieBrowser(t.app);
    const id2 = await startSignIn(again, closed);
    const signed2 = idp.sign(idp.responseXml(answer(closed, { email: whole }, id2)), { assertion: true });
    const res = await postAnswer(
      again,
      closed,
      encodeSamlResponse(signed2.replaceAll(`>${whole}<`, `>${member.email}<!---->.evil.test<`)),
    );
    await expectSignedIn(res, again, whole);
    const subjects = await queryRows<{ subject: string }>(
      t.db.database.db,
      sql`SELECT subject FROM sso_identities WHERE org_id = ${closed.orgId} ORDER BY created_at`,
    );
    expect(subjects.map((s) => s.subject)).toEqual([member.email, whole]);
  });

  it.each([
    ['NameID', { nameId: 'nul-nameid' }, 'nul-nameid'],
    ['email', { email: 'nul-email@example.test' }, 'nul-email@example.test'],
    ['name', { name: 'Nul Name' }, 'Nul Name'],
  ] as const)(
    'a signed answer whose %s holds a NUL character (no 500: PostgreSQL text holds none)',
    async (_label, overrides, value) => {
      const { browser, options } = await started(person('nul'), overrides);
      const xml = idp.responseXml(options);
      expect(xml).toContain(`>${value}<`);
      const response = idp.sign(xml.replaceAll(`>${value}<`, `>${value.slice(0, 3)}&#0;${value.slice(3)}<`), {
        assertion: true,
      });
      await expectRefused(() => postAnswer(browser, org, encodeSamlResponse(response)), 'malformed');
    },
  );

  it('an unsolicited (IdP-initiated) answer while the org does not allow it; accepted once when it does', async () => {
    const launcher = await orgWithSaml({ jitProvisioning: true });
    const who = person('launched');
    const response = await idp.respond(answer(launcher, who, null));
    await expectRefused(() => postAnswer(new CookieBrowser(t.app), launcher, response), 'unsolicited');
    const settings = expectStatus(
      await as(t.app, launcher.owner).patch(`/api/v1/orgs/${launcher.orgId}/sso`, {
        allowIdpInitiated: true,
      }),
      200,
    ).json();
    expect(settings.allowIdpInitiated).toBe(true);
    // From the IdP's app launcher: no sign-in started here, so no binding cookie; home afterwards.
    const browser = new CookieBrowser(t.app);
    await expectSignedIn(await postAnswer(browser, launcher, response), browser, who.email, '/');
    await expectRefused(() => postAnswer(new CookieBrowser(t.app), launcher, response), 'replay');
  });
});

describe('SSO enforced with SAML', () => {
  it('refuses a member’s password session with sso_required and where to sign in; their SAML session passes', async () => {
    const org = await orgWithSaml();
    // The owner links their account through the IdP, then enforces from that session.
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const ownerBrowser = new CookieBrowser(t.app).signedInAs(org.owner);
    await expectSignedIn(
      await signIn(ownerBrowser, org, { email: org.owner.email }),
      ownerBrowser,
      org.owner.email,
    );
    const ownerSso = as(t.app, ownerBrowser.session()!);
    expectStatus(await ownerSso.patch(`/api/v1/orgs/${org.orgId}/sso`, { enforcement: 'enforced' }), 200);

    // A developer with a password: refused on the org's routes, told where to sign in.
    // (Signing in through the IdP replaced the owner's password session in that browser.)
    const dev = await addMember(
      t.app,
      { orgId: org.orgId, owner: ownerBrowser.session()! },
      'developer',
      {},
      t.mail,
    );
    const membersUrl = `/api/v1/orgs/${org.orgId}/members`;
    const refused = await as(t.app, dev).get(membersUrl);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'sso_required', loginUrl: `/sso/${org.slug}/saml/login` });
    // A fresh password sign-in is no better.
    const login = expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { origin: ORIGIN },
        payload: { email: dev.email, password: dev.password },
      }),
      200,
    );
    expect((await as(t.app, { cookie: sessionCookie(login) }).get(membersUrl)).json().code).toBe(
      'sso_required',
    );
    // Signing in through the IdP (linking the account from its own session): that session passes.
    await verifyEmailInDatabase(t.app, dev.userId);
    const devBrowser = new CookieBrowser(t.app).signedInAs(dev);
    await expectSignedIn(await signIn(devBrowser, org, { email: dev.email }), devBrowser, dev.email);
    expectStatus(await as(t.app, devBrowser.session()!).get(membersUrl), 200);
    expectStatus(await ownerSso.get(membersUrl), 200);
  });
});

describe('one answer posted twice at once', () => {
  it('signs in exactly once: one 303 with a session, the other refused, one account made', async () => {
    const org = await orgWithSaml({ jitProvisioning: true });
    const who = person('race');
    const browser = new CookieBrowser(t.app);
    const requestId = await startSignIn(browser, org);
    const response = await idp.respond(answer(org, who, requestId));
    const before = await footprint();
    const results = await Promise.all([
      postAnswer(browser, org, response),
      postAnswer(browser, org, response),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([303, 303]);
    const won = results.filter((r) => r.headers.location === '/x');
    const lost = results.filter((r) => r.headers.location !== '/x');
    expect(won).toHaveLength(1);
    expect(sessionSet(won[0]!)).toBe(true);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.headers.location).toMatch(
      /^\/signin\?sso_error=sso_failed&sso_reason=(unknown_request|replay)$/,
    );
    expect(sessionSet(lost[0]!)).toBe(false);
    expect(await footprint()).toEqual({
      users: before.users + 1,
      identities: before.identities + 1,
      memberships: before.memberships + 1,
      sessions: before.sessions + 1,
    });
  });

  it('signs one new person in once from two answers at once: one account, identity and membership', async () => {
    const org = await orgWithSaml({ jitProvisioning: true });
    const who = person('race-two');
    const browsers = [new CookieBrowser(t.app), new CookieBrowser(t.app)];
    const answers = await Promise.all(
      browsers.map(async (b) => idp.respond(answer(org, who, await startSignIn(b, org)))),
    );
    const before = await footprint();
    const results = await Promise.all(browsers.map((b, i) => postAnswer(b, org, answers[i]!)));
    // The org's lock puts one after the other: the second finds the identity the first linked.
    for (const [i, res] of results.entries()) await expectSignedIn(res, browsers[i]!, who.email);
    expect(await footprint()).toEqual({
      users: before.users + 1,
      identities: before.identities + 1,
      memberships: before.memberships + 1,
      sessions: before.sessions + 2,
    });
  });
});
