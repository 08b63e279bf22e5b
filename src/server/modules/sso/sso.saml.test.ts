import { randomBytes, X509Certificate } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { type LoopbackReceiver, startLoopbackReceiver } from '../../../../test/support/loopback-receiver.ts';
import { createOrg } from '../../../../test/support/orgs.ts';
import {
  children,
  createTestSamlIdp,
  type DomNode,
  DSIG_NS,
  decodeSamlResponse,
  encodeSamlResponse,
  find,
  NAMEID_PERSISTENT,
  parseXml,
  SAML_NS,
  SAML_TEST_KEYS,
  SAMLP_NS,
  type SamlRespondOptions,
  serializeXml,
} from '../../../../test/support/saml-idp.ts';
import type { Db } from '../../platform/db/client.ts';
import { createOutbound } from '../../platform/outbound/index.ts';
import {
  certificateInfo,
  fetchIdpMetadata,
  parseIdpMetadata,
  type SamlValidationConfig,
  SsoLoginError,
  samlLoginUrl,
  spMetadata,
  validateSamlResponse,
} from './sso.saml.ts';

const SP = {
  spEntityId: 'https://gatehouse.example.test/sso/acme/saml/metadata',
  acsUrl: 'https://gatehouse.example.test/sso/acme/saml/acs',
};

const idp = createTestSamlIdp();
/** Another IdP claiming to be ours: same entity ID, its own key. */
const impostor = createTestSamlIdp({ keys: 'other' });

let t: TestApp;
let db: Db;
let orgId: string;
let ownerId: string;
let config: SamlValidationConfig;

beforeAll(async () => {
  t = await createTestApp();
  db = t.db.database.db;
  const org = await createOrg(t.app);
  orgId = org.orgId;
  ownerId = org.owner.userId;
  config = { ...parseIdpMetadata(idp.metadata), ...SP, allowIdpInitiated: false, groupsAttribute: 'groups' };
});

afterAll(async () => {
  await t?.close();
});

/** Starts a sign-in as the login route would and returns the AuthnRequest ID the IdP reads. */
async function startSignIn(options: { next?: string; userId?: string | null } = {}): Promise<string> {
  const url = await samlLoginUrl(db, orgId, config, {
    relayState: 'rs-1',
    purpose: 'login',
    next: options.next ?? '/orgs/acme',
    userId: options.userId ?? null,
  });
  return (await idp.readAuthnRequest(url, spMetadata(SP))).id;
}

const answer = (
  inResponseTo: string | null,
  overrides: Partial<SamlRespondOptions> = {},
): SamlRespondOptions => ({
  inResponseTo,
  acsUrl: SP.acsUrl,
  audience: SP.spEntityId,
  nameId: 'ada@example.com',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  groups: ['engineering', 'security'],
  ...overrides,
});

const assertionIdsOf = (samlResponse: string) =>
  children(parseXml(decodeSamlResponse(samlResponse)).documentElement, SAML_NS, 'Assertion').map(
    (a) => a.getAttribute('ID')!,
  );

async function seenCount(): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM sso_assertions_seen WHERE org_id = ${orgId}`,
  );
  return row!.n;
}

/** Refused with `reason`, and no assertion recorded as taken. */
async function expectRefused(
  samlResponse: string,
  reason: string,
  overrides: Partial<SamlValidationConfig> = {},
) {
  const before = await seenCount();
  const error = await validateSamlResponse(db, orgId, { ...config, ...overrides }, samlResponse).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SsoLoginError);
  expect(error).toMatchObject({ status: 401, code: 'sso_failed', reason });
  expect(await seenCount()).toBe(before);
  return error as SsoLoginError;
}

describe('parseIdpMetadata', () => {
  it('reads the entity ID, the HTTP-Redirect sign-in URL and the signing certificate of an IdP’s metadata', () => {
    const parsed = parseIdpMetadata(idp.metadata);
    expect(parsed).toEqual({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n/)],
    });
    expect(new X509Certificate(parsed.idpCertificates[0]!).fingerprint256).toBe(
      new X509Certificate(idp.certificate).fingerprint256,
    );
  });

  it('falls back to the HTTP-POST binding, and keeps every signing certificate but not encryption ones', () => {
    const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    const key = (use: string | null, pem: string) =>
      `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n${body(pem)}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
    const xml = `<?xml version="1.0"?>
      <md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <md:EntityDescriptor entityID="https://sp.example.test"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
        <md:EntityDescriptor entityID="  https://idp.example.test/rotating  ">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            ${key('signing', SAML_TEST_KEYS.idp.certificate)}
            ${key(null, SAML_TEST_KEYS.other.certificate)}
            <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>not read</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://idp.example.test/artifact"/>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/post"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
      </md:EntitiesDescriptor>`;
    const parsed = parseIdpMetadata(xml);
    expect(parsed.idpEntityId).toBe('https://idp.example.test/rotating');
    expect(parsed.idpSsoUrl).toBe('https://idp.example.test/post');
    expect(parsed.idpCertificates.map((c) => new X509Certificate(c).subject)).toEqual([
      new X509Certificate(SAML_TEST_KEYS.idp.certificate).subject,
      new X509Certificate(SAML_TEST_KEYS.other.certificate).subject,
    ]);
  });

  const withoutMatch = (pattern: RegExp) => idp.metadata.replace(pattern, '');

  it.each([
    ['empty input', '', 'not_xml'],
    ['text that is not XML', 'this is not metadata', 'not_xml'],
    [
      'broken XML',
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><unclosed>',
      'not_xml',
    ],
    [
      'a DOCTYPE declaring an external entity (XXE)',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',
      'doctype',
    ],
    [
      'a bare DOCTYPE',
      `<!DOCTYPE md:EntityDescriptor>${idp.metadata.replace(/^<\?xml[^>]*\?>/, '')}`,
      'doctype',
    ],
    ['a service provider’s metadata', spMetadata(SP), 'no_idp'],
    ['another XML document', '<html><body>Sign in</body></html>', 'no_idp'],
    [
      'an IdP without a certificate',
      withoutMatch(/<KeyDescriptor[\s\S]*?<\/KeyDescriptor>/g),
      'no_certificate',
    ],
    [
      'an IdP without a sign-in URL',
      withoutMatch(/<SingleSignOnService[^>]*>(<\/SingleSignOnService>)?/g),
      'no_sso_url',
    ],
    [
      'a sign-in URL that is not http(s)',
      idp.metadata.replace(/Location="[^"]*"/g, 'Location="javascript:alert(1)"'),
      'bad_sso_url',
    ],
    [
      'a certificate that is not one',
      idp.metadata.replace(/<ds:X509Certificate>[^<]*</, '<ds:X509Certificate>bm90IGEgY2VydGlmaWNhdGU=<'),
      'bad_certificate',
    ],
    ['a huge document', `<x>${'a'.repeat(1024 * 1024 + 1)}</x>`, 'too_large'],
  ])('refuses %s with idp_invalid', (_label, xml, reason) => {
    let error: unknown;
    try {
      parseIdpMetadata(xml);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ status: 400, code: 'idp_invalid', reason });
    expect((error as Error).message).not.toMatch(/passwd|alert/);
  });
});

describe('certificateInfo', () => {
  it('gives the subject, validity and SHA-256 fingerprint the console lists', () => {
    const info = certificateInfo(SAML_TEST_KEYS.idp.certificate);
    const cert = new X509Certificate(SAML_TEST_KEYS.idp.certificate);
    expect(info).toEqual({
      subject: 'CN=Gatehouse test idp, O=Gatehouse tests',
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      fingerprintSha256: cert.fingerprint256,
    });
    expect(info.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // Bare base64, as IdP consoles show it, reads the same.
    const bare = SAML_TEST_KEYS.idp.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    expect(certificateInfo(bare)).toEqual(info);
  });

  it.each([
    ['not PEM', 'hello'],
    ['a private key', SAML_TEST_KEYS.idp.privateKey],
    ['two certificates in one', SAML_TEST_KEYS.idp.certificate + SAML_TEST_KEYS.other.certificate],
  ])('refuses %s with idp_invalid', (_label, pem) => {
    expect(() => certificateInfo(pem)).toThrow(expect.objectContaining({ code: 'idp_invalid' }));
  });
});

describe('fetchIdpMetadata', () => {
  let receiver: LoopbackReceiver;
  const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });

  beforeAll(async () => {
    receiver = await startLoopbackReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('fetches the metadata through the outbound guard', async () => {
    receiver.answer(() => ({
      status: 200,
      body: idp.metadata,
      headers: { 'content-type': 'application/xml' },
    }));
    const xml = await fetchIdpMetadata(outbound, `${receiver.url}/metadata`);
    expect(parseIdpMetadata(xml).idpEntityId).toBe(idp.entityId);
    expect(receiver.requests.at(-1)).toMatchObject({ method: 'GET', path: '/metadata' });
  });

  it.each([
    ['an error status', { status: 404, body: 'nope' }, 'idp_unreachable', 'status'],
    [
      'a redirect (not followed)',
      { status: 302, headers: { location: 'http://127.0.0.1:1/' } },
      'idp_unreachable',
      'redirect',
    ],
    [
      'a document over 1 MiB',
      { status: 200, body: `<x>${'a'.repeat(1024 * 1024 + 16)}</x>` },
      'idp_invalid',
      'too_large',
    ],
  ])('refuses %s', async (_label, reply, code, reason) => {
    receiver.answer(() => reply);
    await expect(fetchIdpMetadata(outbound, `${receiver.url}/metadata`)).rejects.toMatchObject({
      status: 400,
      code,
      reason,
    });
  });

  it('refuses an address the guard does not allow, saying why', async () => {
    const error = await fetchIdpMetadata(t.app.gatehouse.outbound, `${receiver.url}/metadata`).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ status: 400, code: 'idp_unreachable', reason: 'not_allowed' });
    expect(error.message).toMatch(/not allowed/);
  });
});

describe('spMetadata', () => {
  it('describes our entity, the ACS (HTTP-POST), unsigned requests and signed assertions wanted, the same each time', () => {
    const xml = spMetadata(SP);
    expect(xml).toContain(`entityID="${SP.spEntityId}"`);
    expect(xml).toContain(`Location="${SP.acsUrl}"`);
    expect(xml).toContain('Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"');
    expect(xml).toContain('AuthnRequestsSigned="false"');
    expect(xml).toContain('WantAssertionsSigned="true"');
    expect(spMetadata(SP)).toBe(xml);
  });
});

describe('samlLoginUrl', () => {
  it('sends the browser to the IdP with an AuthnRequest it reads, and keeps the request for ten minutes', async () => {
    const url = await samlLoginUrl(db, orgId, config, {
      relayState: 'opaque-state',
      purpose: 'test',
      next: '/orgs/acme/settings/sso',
      userId: ownerId,
    });
    expect(url.startsWith(`${idp.ssoUrl}?`)).toBe(true);
    expect(new URL(url).searchParams.get('RelayState')).toBe('opaque-state');
    const request = await idp.readAuthnRequest(url, spMetadata(SP));
    expect(request).toMatchObject({ issuer: SP.spEntityId, acsUrl: SP.acsUrl });
    const rows = await queryRows<Record<string, unknown>>(
      db,
      sql`SELECT protocol, purpose, next, user_id, (expires_at - created_at) = interval '10 minutes' AS ten
            FROM sso_requests WHERE org_id = ${orgId} AND key = ${request.id}`,
    );
    expect(rows).toEqual([
      { protocol: 'saml', purpose: 'test', next: '/orgs/acme/settings/sso', user_id: ownerId, ten: true },
    ]);
  });
});

describe('validateSamlResponse', () => {
  it('signs in end to end: AuthnRequest, the IdP’s signed answer, the identity and the request it answers', async () => {
    const requestId = await startSignIn({ next: '/orgs/acme/findings', userId: ownerId });
    const response = await idp.respond(answer(requestId));
    const identity = await validateSamlResponse(db, orgId, config, response);
    expect(identity).toEqual({
      nameId: 'ada@example.com',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      groups: ['engineering', 'security'],
      assertionId: assertionIdsOf(response)[0],
      request: { purpose: 'login', next: '/orgs/acme/findings', userId: ownerId, browserBinding: null },
    });
    const taken = await queryRows(
      db,
      sql`SELECT 1 FROM sso_requests WHERE org_id = ${orgId} AND key = ${requestId}`,
    );
    expect(taken).toEqual([]);
    const seen = await queryRows<{ later: boolean }>(
      db,
      sql`SELECT expires_at > now() AS later FROM sso_assertions_seen
           WHERE org_id = ${orgId} AND assertion_id = ${identity.assertionId}`,
    );
    expect(seen).toEqual([{ later: true }]);
  });

  it.each([
    ['the Response only', { signResponse: true, signAssertion: false }],
    ['both the Response and the Assertion', { signResponse: true, signAssertion: true }],
  ])('accepts an answer signed on %s', async (_label, signing) => {
    const response = await idp.respond(answer(await startSignIn(), signing));
    expect((await validateSamlResponse(db, orgId, config, response)).nameId).toBe('ada@example.com');
  });

  it('accepts the IdP’s next certificate during a rotation', async () => {
    const rotated = createTestSamlIdp({ keys: 'other' });
    const rotating = { ...config, idpCertificates: [...config.idpCertificates, rotated.certificate] };
    const requestId = await samlLoginUrl(db, orgId, rotating, {
      purpose: 'login',
      next: null,
      userId: null,
    }).then(async (url) => (await idp.readAuthnRequest(url, spMetadata(SP))).id);
    const identity = await validateSamlResponse(
      db,
      orgId,
      rotating,
      await rotated.respond(answer(requestId)),
    );
    expect(identity.request).toEqual({ purpose: 'login', next: null, userId: null, browserBinding: null });
  });

  it('reads the email from the common attribute names, else from an email-format NameID only', async () => {
    for (const emailAttribute of [
      'mail',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      'urn:oid:0.9.2342.19200300.100.1.3',
    ]) {
      const response = await idp.respond(
        answer(await startSignIn(), { nameId: 'u-123', nameIdFormat: NAMEID_PERSISTENT, emailAttribute }),
      );
      expect((await validateSamlResponse(db, orgId, config, response)).email).toBe('ada@example.com');
    }
    const fromNameId = await idp.respond(
      answer(await startSignIn(), { email: null, name: null, groups: [] }),
    );
    expect(await validateSamlResponse(db, orgId, config, fromNameId)).toMatchObject({
      nameId: 'ada@example.com',
      email: 'ada@example.com',
      name: null,
      groups: [],
    });
    const persistent = await idp.respond(
      answer(await startSignIn(), {
        nameId: 'ada@example.com',
        nameIdFormat: NAMEID_PERSISTENT,
        email: null,
      }),
    );
    expect((await validateSamlResponse(db, orgId, config, persistent)).email).toBeNull();
  });

  it('reads groups from the configured attribute only', async () => {
    const response = await idp.respond(
      answer(await startSignIn(), { groupsAttribute: 'memberOf', groups: ['admins', 'admins', 'ops'] }),
    );
    const identity = await validateSamlResponse(
      db,
      orgId,
      { ...config, groupsAttribute: 'memberOf' },
      response,
    );
    expect(identity.groups).toEqual(['admins', 'ops']);
    const ignored = await idp.respond(answer(await startSignIn()));
    expect(
      (await validateSamlResponse(db, orgId, { ...config, groupsAttribute: null }, ignored)).groups,
    ).toEqual([]);
  });

  it('takes the whole NameID when a comment splits it, never the part before the comment', async () => {
    // The IdP signed `user@example.com.evil.com`; a comment leaves the canonical (signed) bytes as
    // they are, so the signature holds and only the parsing could be fooled.
    const xml = idp
      .responseXml(
        answer(await startSignIn(), {
          nameId: 'user@example.com.evil.com',
          email: 'user@example.com.evil.com',
        }),
      )
      .replaceAll('user@example.com.evil.com', 'user@example.com<!---->.evil.com');
    expect(xml).toContain('>user@example.com<!---->.evil.com</saml:NameID>');
    const response = encodeSamlResponse(idp.sign(xml, { assertion: true }));
    const identity = await validateSamlResponse(db, orgId, config, response);
    expect(identity.nameId).toBe('user@example.com.evil.com');
    expect(identity.email).toBe('user@example.com.evil.com');

    // The same with the comment slipped into an answer the IdP signed without it.
    const signed = decodeSamlResponse(
      await idp.respond(answer(await startSignIn(), { nameId: 'user@example.com.evil.com', email: null })),
    );
    const commented = signed.replace('>user@example.com.evil.com<', '>user@example.com<!---->.evil.com<');
    expect(commented).not.toBe(signed);
    const again = await validateSamlResponse(db, orgId, config, encodeSamlResponse(commented));
    expect(again.nameId).toBe('user@example.com.evil.com');
  });

  describe('refuses, recording nothing', () => {
    it('an unsigned answer', async () => {
      const response = await idp.respond(
        answer(await startSignIn(), { signAssertion: false, signResponse: false }),
      );
      await expectRefused(response, 'signature');
    });

    it.each([
      ['NameID', (doc: DomNode) => (find(doc, SAML_NS, 'NameID').textContent = 'mallory@example.com')],
      [
        'email attribute',
        (doc: DomNode) => (find(doc, SAML_NS, 'AttributeValue').textContent = 'mallory@example.com'),
      ],
      [
        'audience',
        (doc: DomNode) => (find(doc, SAML_NS, 'Audience').textContent = 'https://elsewhere.example.test'),
      ],
    ])('an assertion whose %s was changed after signing', async (_label, tamper) => {
      for (const signing of [{ signAssertion: true }, { signAssertion: false, signResponse: true }]) {
        const doc = parseXml(decodeSamlResponse(await idp.respond(answer(await startSignIn(), signing))));
        tamper(doc.documentElement);
        await expectRefused(encodeSamlResponse(serializeXml(doc)), 'signature');
      }
    });

    it('an answer signed by another IdP’s key', async () => {
      for (const signing of [{ signAssertion: true }, { signAssertion: false, signResponse: true }]) {
        await expectRefused(await impostor.respond(answer(await startSignIn(), signing)), 'signature');
      }
    });

    it('an answer for another service provider (audience)', async () => {
      const response = await idp.respond(
        answer(await startSignIn(), { audience: 'https://other-sp.example.test' }),
      );
      await expectRefused(response, 'audience');
    });

    it('an answer addressed to another ACS URL (recipient)', async () => {
      const response = await idp.respond(
        answer(await startSignIn(), { acsUrl: 'https://other-sp.example.test/acs' }),
      );
      await expectRefused(response, 'recipient');
    });

    it('an expired answer (NotOnOrAfter past, beyond the clock skew)', async () => {
      const issued = new Date(Date.now() - 10 * 60_000);
      const response = await idp.respond(
        answer(await startSignIn(), {
          issueInstant: issued,
          notOnOrAfter: new Date(Date.now() - 2 * 60_000),
        }),
      );
      await expectRefused(response, 'expired');
    });

    it('an answer not valid yet (NotBefore ahead, beyond the clock skew)', async () => {
      const response = await idp.respond(
        answer(await startSignIn(), { issueInstant: new Date(Date.now() + 5 * 60_000) }),
      );
      await expectRefused(response, 'expired');
    });

    it('an answer signed with our IdP’s key under another issuer', async () => {
      const stranger = createTestSamlIdp({ entityId: 'https://stranger.example.test' });
      await expectRefused(await stranger.respond(answer(await startSignIn())), 'issuer');
    });

    it('the same answer a second time (its request was taken by the first)', async () => {
      const response = await idp.respond(answer(await startSignIn()));
      await validateSamlResponse(db, orgId, config, response);
      await expectRefused(response, 'unknown_request');
    });

    it('an answer to a request never made here', async () => {
      await expectRefused(
        await idp.respond(answer(`_${randomBytes(20).toString('hex')}`)),
        'unknown_request',
      );
    });

    it('an answer to another org’s request', async () => {
      const other = await createOrg(t.app);
      const url = await samlLoginUrl(db, other.orgId, config, { purpose: 'login', next: null, userId: null });
      const requestId = (await idp.readAuthnRequest(url, spMetadata(SP))).id;
      await expectRefused(await idp.respond(answer(requestId)), 'unknown_request');
    });

    it('an unsolicited answer while IdP-initiated sign-in is off', async () => {
      await expectRefused(await idp.respond(answer(null)), 'unsolicited');
    });

    it('an answer whose Response names no request but whose signed assertion cites one never made', async () => {
      const xml = idp
        .responseXml(answer('_never-made'))
        .replace(/(<samlp:Response[^>]*?) InResponseTo="_never-made"/, '$1');
      const response = encodeSamlResponse(idp.sign(xml, { assertion: true }));
      await expectRefused(response, 'unknown_request', { allowIdpInitiated: true });
    });

    it('an answer with a DOCTYPE, not base64, or without an assertion', async () => {
      const xml = decodeSamlResponse(await idp.respond(answer(await startSignIn())));
      await expectRefused(encodeSamlResponse(`<!DOCTYPE x [<!ENTITY e "e">]>${xml}`), 'malformed');
      await expectRefused('not base64 at all!', 'malformed');
      const noAssertion = xml.replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '');
      await expectRefused(
        encodeSamlResponse(
          noAssertion.replace(/InResponseTo="[^"]*"/, `InResponseTo="${await startSignIn()}"`),
        ),
        'malformed',
      );
    });

    it('an answer in which the IdP says the sign-in failed', async () => {
      const xml = idp
        .responseXml(answer(await startSignIn()))
        .replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '')
        .replace(
          /<samlp:StatusCode Value="[^"]*"\/>/,
          '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode><samlp:StatusMessage>User is not assigned to this application</samlp:StatusMessage>',
        );
      await expectRefused(encodeSamlResponse(xml), 'idp_refused');
    });

    it('an encrypted assertion (no decryption key is configured)', async () => {
      const xml = idp
        .responseXml(answer(await startSignIn()))
        .replace(
          /<saml:Assertion[\s\S]*<\/saml:Assertion>/,
          '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>',
        );
      await expectRefused(encodeSamlResponse(idp.sign(xml, { response: true })), 'unsupported');
    });

    it('without echoing the answer’s content in the message', async () => {
      const evil = '<script>alert(1)</script>';
      const response = await idp.respond(answer(await startSignIn(), { audience: evil }));
      const error = await expectRefused(response, 'audience');
      expect(error.message).not.toContain('script');
      expect(error.diagnostic ?? '').not.toMatch(/[^\x20-\x7e]/);
    });
  });

  describe('refuses signature wrapping (XSW), recording nothing', () => {
    /** A valid answer to a fresh request, signed as asked, parsed for editing. */
    async function signedAnswer(signing: Partial<SamlRespondOptions>) {
      const doc = parseXml(decodeSamlResponse(await idp.respond(answer(await startSignIn(), signing))));
      const response = doc.documentElement;
      const signed = children(response, SAML_NS, 'Assertion')[0]!;
      return { doc, response, signed };
    }

    /** An unsigned copy of the assertion naming the attacker, with a new ID unless told. */
    function evilCopy(assertion: DomNode, keepId = false): DomNode {
      const evil = assertion.cloneNode(true);
      for (const signature of children(evil, DSIG_NS, 'Signature')) evil.removeChild(signature);
      if (!keepId) evil.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
      find(evil, SAML_NS, 'NameID').textContent = 'mallory@evil.test';
      return evil;
    }

    const extensionsHolding = (
      doc: { createElementNS(ns: string, name: string): DomNode },
      node: DomNode,
    ) => {
      const extensions = doc.createElementNS(SAMLP_NS, 'samlp:Extensions');
      extensions.appendChild(node);
      return extensions;
    };

    const variants: [
      string,
      Partial<SamlRespondOptions>,
      (a: Awaited<ReturnType<typeof signedAnswer>>) => void,
    ][] = [
      [
        'an unsigned assertion before the signed one',
        { signAssertion: true },
        ({ response, signed }) => response.insertBefore(evilCopy(signed), signed),
      ],
      [
        'an unsigned assertion after the signed one',
        { signAssertion: true },
        ({ response, signed }) => response.insertBefore(evilCopy(signed), signed.nextSibling),
      ],
      [
        'the signed assertion moved into Extensions, an unsigned one in its place',
        { signAssertion: true },
        ({ doc, response, signed }) => {
          const evil = evilCopy(signed);
          response.insertBefore(evil, signed);
          const issuer = children(response, SAML_NS, 'Issuer')[0]!;
          response.insertBefore(extensionsHolding(doc, response.removeChild(signed)), issuer.nextSibling);
        },
      ],
      [
        'the signed assertion moved into Extensions, an unsigned one with the same ID in its place',
        { signAssertion: true },
        ({ doc, response, signed }) => {
          const evil = evilCopy(signed, true);
          response.insertBefore(evil, signed);
          const issuer = children(response, SAML_NS, 'Issuer')[0]!;
          response.insertBefore(extensionsHolding(doc, response.removeChild(signed)), issuer.nextSibling);
        },
      ],
      [
        'the signed assertion wrapped inside an unsigned one',
        { signAssertion: true },
        ({ response, signed }) => {
          const evil = evilCopy(signed);
          response.insertBefore(evil, signed);
          evil.appendChild(response.removeChild(signed));
        },
      ],
      [
        'an unsigned assertion carrying the signature, the signed one inside its ds:Object',
        { signAssertion: true },
        ({ doc, response, signed }) => {
          const evil = evilCopy(signed);
          const signature = children(signed, DSIG_NS, 'Signature')[0]!;
          const copied = signature.cloneNode(true);
          const object = doc.createElementNS(DSIG_NS, 'ds:Object');
          copied.appendChild(object);
          evil.insertBefore(copied, children(evil, SAML_NS, 'Issuer')[0]!.nextSibling);
          response.insertBefore(evil, signed);
          const original = response.removeChild(signed);
          original.removeChild(children(original, DSIG_NS, 'Signature')[0]!);
          object.appendChild(original);
        },
      ],
      [
        'an unsigned assertion carrying the signature, the signed one in Extensions',
        { signAssertion: true },
        ({ doc, response, signed }) => {
          const evil = evilCopy(signed);
          const signature = children(signed, DSIG_NS, 'Signature')[0]!;
          evil.insertBefore(signature.cloneNode(true), children(evil, SAML_NS, 'Issuer')[0]!.nextSibling);
          response.insertBefore(evil, signed);
          const issuer = children(response, SAML_NS, 'Issuer')[0]!;
          response.insertBefore(extensionsHolding(doc, response.removeChild(signed)), issuer.nextSibling);
        },
      ],
      [
        'a Response-signed answer rewrapped: the signed Response inside the signature of an unsigned one (XSW1)',
        { signAssertion: false, signResponse: true },
        ({ doc, response, signed }) => {
          const original = response.cloneNode(true);
          response.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
          find(signed, SAML_NS, 'NameID').textContent = 'mallory@evil.test';
          const signature = children(response, DSIG_NS, 'Signature')[0]!;
          const object = doc.createElementNS(DSIG_NS, 'ds:Object');
          object.appendChild(original);
          signature.appendChild(object);
        },
      ],
      [
        'a Response-signed answer rewrapped: the signed Response a child of an unsigned one (XSW2)',
        { signAssertion: false, signResponse: true },
        ({ response, signed }) => {
          const original = response.cloneNode(true);
          response.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
          find(signed, SAML_NS, 'NameID').textContent = 'mallory@evil.test';
          response.insertBefore(original, children(response, DSIG_NS, 'Signature')[0]!.nextSibling);
        },
      ],
      [
        'a Response-signed answer with a second, unsigned assertion added',
        { signAssertion: false, signResponse: true },
        ({ response, signed }) => response.insertBefore(evilCopy(signed), signed),
      ],
    ];

    it.each(variants)('%s', async (_label, signing, attack) => {
      const parts = await signedAnswer(signing);
      attack(parts);
      const xml = serializeXml(parts.doc);
      expect(xml).toContain('mallory@evil.test');
      await expectRefused(encodeSamlResponse(xml), 'signature');
    });
  });

  describe('with IdP-initiated sign-in allowed', () => {
    it('accepts an unsolicited answer once, and refuses its replay', async () => {
      const allowing = { allowIdpInitiated: true };
      const response = await idp.respond(answer(null));
      const identity = await validateSamlResponse(db, orgId, { ...config, ...allowing }, response);
      expect(identity).toMatchObject({ nameId: 'ada@example.com', request: null });
      await expectRefused(response, 'replay', allowing);
    });

    it('still takes the request an answer cites', async () => {
      const response = await idp.respond(answer(await startSignIn({ next: '/here' })));
      const identity = await validateSamlResponse(
        db,
        orgId,
        { ...config, allowIdpInitiated: true },
        response,
      );
      expect(identity.request).toEqual({
        purpose: 'login',
        next: '/here',
        userId: null,
        browserBinding: null,
      });
    });
  });

  it('lets exactly one of two concurrent uses of one answer through', async () => {
    const response = await idp.respond(answer(await startSignIn()));
    const results = await Promise.allSettled([
      validateSamlResponse(db, orgId, config, response),
      validateSamlResponse(db, orgId, config, response),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [refused] = results.filter((r) => r.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ reason: 'unknown_request' });
    const seen = await queryRows(
      db,
      sql`SELECT 1 FROM sso_assertions_seen WHERE org_id = ${orgId} AND assertion_id = ${assertionIdsOf(response)[0]}`,
    );
    expect(seen).toHaveLength(1);
  });

  it('lets exactly one of two concurrent uses of one unsolicited answer through', async () => {
    const response = await idp.respond(answer(null));
    const allowing = { ...config, allowIdpInitiated: true };
    const results = await Promise.allSettled([
      validateSamlResponse(db, orgId, allowing, response),
      validateSamlResponse(db, orgId, allowing, response),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { reason: 'replay' } });
  });
});
