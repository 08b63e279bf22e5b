/**
 * A real SAML 2.0 identity provider for tests, on samlify: its own RSA key and self-signed
 * certificate (test-only, test/fixtures/saml), its metadata, reading our AuthnRequest from the
 * redirect URL, and signed answers built and signed by samlify (the assertion, the Response, both,
 * or neither). `sign` signs an answer edited by hand, for the attacks a real IdP never sends.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * samlify, loaded through require with the members used typed here: its typings import
 * @xmldom/xmldom's, which pull the browser's DOM library into the whole project's type check.
 */
interface SamlifyEntity {
  getMetadata(): string;
}
interface SamlifyIdp extends SamlifyEntity {
  createLoginResponse(
    sp: SamlifyEntity,
    requestInfo: { extract: { request: { id: string } } },
    binding: 'post',
    user: { email: string },
    options: { customTagReplacement: (template: string) => { id: string; context: string } },
  ): Promise<{ context: string }>;
  parseLoginRequest(
    sp: SamlifyEntity,
    binding: 'redirect',
    request: { query: Record<string, string>; octetString: string },
  ): Promise<{ extract: { request?: Record<string, string>; issuer?: string | string[] } }>;
}
interface Samlify {
  setSchemaValidator(validator: { validate: (xml: string) => Promise<unknown> }): void;
  IdentityProvider(settings: Record<string, unknown>): SamlifyIdp;
  ServiceProvider(settings: Record<string, unknown>): SamlifyEntity;
  SamlLib: { constructSAMLSignature(options: Record<string, unknown>): string };
}
const samlify = createRequire(import.meta.url)('samlify') as Samlify;

// samlify validates messages against the SAML schema with a pluggable validator; the IdP here
// reads only our own AuthnRequests, so none is installed. Never done outside tests.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/saml');
const readFixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** Two unrelated key pairs: the IdP's, and another IdP's (for "signed by someone else"). */
export const SAML_TEST_KEYS = {
  idp: { privateKey: readFixture('idp.key.pem'), certificate: readFixture('idp.cert.pem') },
  other: { privateKey: readFixture('other-idp.key.pem'), certificate: readFixture('other-idp.cert.pem') },
} as const;

const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

export interface SamlRespondOptions {
  /** The AuthnRequest answered; null or absent: an IdP-initiated (unsolicited) answer. */
  inResponseTo?: string | null;
  acsUrl: string;
  audience: string;
  nameId: string;
  nameIdFormat?: string;
  email?: string | null;
  name?: string | null;
  groups?: string[];
  /** Default `groups`. */
  groupsAttribute?: string;
  /** Default `email`. */
  emailAttribute?: string;
  /** Default now. */
  issueInstant?: Date;
  /** Default issueInstant + 5 minutes. */
  notOnOrAfter?: Date;
  /** Default the IdP's entity ID. */
  issuer?: string;
  /** Default false. */
  signResponse?: boolean;
  /** Default true. */
  signAssertion?: boolean;
}

export interface TestSamlIdp {
  entityId: string;
  ssoUrl: string;
  certificate: string;
  metadata: string;
  /** A SAMLResponse (base64) as the IdP posts it to the ACS. */
  respond(options: SamlRespondOptions): Promise<string>;
  /** The unsigned answer's XML, to edit before `sign`. */
  responseXml(options: SamlRespondOptions): string;
  /** Signs an answer's XML with this IdP's key: its (first) Assertion, the Response, or both. */
  sign(xml: string, what: { assertion?: boolean; response?: boolean }): string;
  /** Reads our AuthnRequest from the redirect URL the SP sends the browser to, as the IdP would. */
  readAuthnRequest(
    redirectUrl: string,
    spMetadataXml: string,
  ): Promise<{ id: string; issuer: string; acsUrl: string | null }>;
}

export function createTestSamlIdp(
  options: { entityId?: string; ssoUrl?: string; keys?: keyof typeof SAML_TEST_KEYS } = {},
): TestSamlIdp {
  const entityId = options.entityId ?? 'https://idp.example.test/metadata';
  const ssoUrl = options.ssoUrl ?? 'https://idp.example.test/sso';
  const keys = SAML_TEST_KEYS[options.keys ?? 'idp'];
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey: keys.privateKey,
    signingCert: keys.certificate,
    nameIDFormat: [NAMEID_EMAIL, NAMEID_PERSISTENT],
    singleSignOnService: [
      { Binding: BINDING_REDIRECT, Location: ssoUrl },
      { Binding: BINDING_POST, Location: ssoUrl },
    ],
    singleLogoutService: [{ Binding: BINDING_REDIRECT, Location: `${ssoUrl}/logout` }],
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });

  const responseXml = (o: SamlRespondOptions) => renderResponse(entityId, o);

  const sign = (xml: string, what: { assertion?: boolean; response?: boolean }) => {
    const config = {
      privateKey: keys.privateKey,
      // samlify takes the certificate as metadata carries it: the base64 body only.
      signingCert: keys.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''),
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      isBase64Output: false,
    };
    let signed = xml;
    if (what.assertion) {
      signed = samlify.SamlLib.constructSAMLSignature({
        ...config,
        rawSamlMessage: signed,
        referenceTagXPath: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']",
        signatureConfig: {
          prefix: 'ds',
          location: {
            reference: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']",
            action: 'after',
          },
        },
      });
    }
    if (what.response) {
      signed = samlify.SamlLib.constructSAMLSignature({
        ...config,
        rawSamlMessage: signed,
        isMessageSigned: true,
        signatureConfig: {
          prefix: 'ds',
          location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
        },
      });
    }
    return signed;
  };

  return {
    entityId,
    ssoUrl,
    certificate: keys.certificate,
    metadata: idp.getMetadata(),
    responseXml,
    sign,
    async respond(o) {
      const signAssertion = o.signAssertion ?? true;
      const signResponse = o.signResponse ?? false;
      const xml = responseXml(o);
      // samlify signs the message whenever the assertion is not signed: a wholly unsigned answer
      // is not something it makes.
      if (!signAssertion && !signResponse) return Buffer.from(xml).toString('base64');
      const sp = samlify.ServiceProvider({
        entityID: o.audience,
        assertionConsumerService: [{ Binding: BINDING_POST, Location: o.acsUrl }],
        wantAssertionsSigned: signAssertion,
        wantMessageSigned: signResponse,
      });
      const id = /ID="([^"]+)"/.exec(xml)![1]!;
      const result = await idp.createLoginResponse(
        sp,
        { extract: { request: { id: o.inResponseTo ?? '' } } },
        'post',
        { email: o.nameId },
        { customTagReplacement: () => ({ id, context: xml }) },
      );
      return result.context;
    },
    async readAuthnRequest(redirectUrl, spMetadataXml) {
      const url = new URL(redirectUrl);
      const sp = samlify.ServiceProvider({ metadata: spMetadataXml });
      const parsed = await idp.parseLoginRequest(sp, 'redirect', {
        query: Object.fromEntries(url.searchParams),
        octetString: url.search.slice(1),
      });
      const request = parsed.extract.request;
      const issuer = parsed.extract.issuer;
      if (!request?.id) throw new Error('no AuthnRequest ID in the redirect');
      return {
        id: request.id,
        issuer: Array.isArray(issuer) ? issuer[0]! : (issuer ?? ''),
        acsUrl: request.assertionConsumerServiceUrl ?? null,
      };
    },
  };
}

const escapeXml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const newId = () => `_${randomBytes(16).toString('hex')}`;

function attribute(name: string, values: string[]): string {
  const rendered = values
    .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
    .join('');
  return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${rendered}</saml:Attribute>`;
}

/** The answer as IdPs shape it: Response > Issuer, Status, Assertion (Subject, Conditions, statements). */
function renderResponse(idpEntityId: string, o: SamlRespondOptions): string {
  const issued = o.issueInstant ?? new Date();
  const notOnOrAfter = (o.notOnOrAfter ?? new Date(issued.getTime() + 5 * 60_000)).toISOString();
  const instant = issued.toISOString();
  const issuer = escapeXml(o.issuer ?? idpEntityId);
  const inResponseTo = o.inResponseTo ? ` InResponseTo="${escapeXml(o.inResponseTo)}"` : '';
  const attributes = [
    o.email ? attribute(o.emailAttribute ?? 'email', [o.email]) : '',
    o.name ? attribute('displayName', [o.name]) : '',
    o.groups ? attribute(o.groupsAttribute ?? 'groups', o.groups) : '',
  ].join('');
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${instant}" Destination="${escapeXml(o.acsUrl)}"${inResponseTo}>` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
    `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="${newId()}" Version="2.0" IssueInstant="${instant}">` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    '<saml:Subject>' +
    `<saml:NameID Format="${escapeXml(o.nameIdFormat ?? NAMEID_EMAIL)}">${escapeXml(o.nameId)}</saml:NameID>` +
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
    `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(o.acsUrl)}"${inResponseTo}/>` +
    '</saml:SubjectConfirmation>' +
    '</saml:Subject>' +
    `<saml:Conditions NotBefore="${instant}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(o.audience)}</saml:Audience></saml:AudienceRestriction>` +
    '</saml:Conditions>' +
    `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="${newId()}">` +
    '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>' +
    '</saml:AuthnStatement>' +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    '</saml:Assertion>' +
    '</samlp:Response>'
  );
}

// ---------------------------------------------------------------------------------------------
// Editing answers (the attacks): @xmldom/xmldom through require with the members used typed here,
// as in src/server/modules/sso/sso.xml.ts (its typings would pull the DOM library into the build).

export interface DomNode {
  readonly nodeType: number;
  readonly localName: string | null;
  readonly namespaceURI: string | null;
  readonly childNodes: ArrayLike<DomNode>;
  readonly parentNode: DomNode | null;
  readonly firstChild: DomNode | null;
  readonly nextSibling: DomNode | null;
  readonly ownerDocument: DomDocument;
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  appendChild(node: DomNode): DomNode;
  insertBefore(node: DomNode, before: DomNode | null): DomNode;
  removeChild(node: DomNode): DomNode;
  cloneNode(deep: boolean): DomNode;
}

export interface DomDocument {
  readonly documentElement: DomNode;
  createElementNS(ns: string, qualifiedName: string): DomNode;
}

const xmldom = createRequire(import.meta.url)('@xmldom/xmldom') as {
  DOMParser: new () => { parseFromString(xml: string, mime: string): DomDocument };
  XMLSerializer: new () => { serializeToString(node: DomNode | DomDocument): string };
};

export const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export const parseXml = (xml: string): DomDocument => new xmldom.DOMParser().parseFromString(xml, 'text/xml');
export const serializeXml = (node: DomNode | DomDocument): string =>
  new xmldom.XMLSerializer().serializeToString(node);

export const decodeSamlResponse = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
export const encodeSamlResponse = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

/** The element children of `parent` with this namespace and local name. */
export function children(parent: DomNode, ns: string, localName: string): DomNode[] {
  return Array.from(parent.childNodes).filter(
    (n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === localName,
  );
}

/** The first element below `root` with this namespace and local name. */
export function find(root: DomNode, ns: string, localName: string): DomNode {
  const stack = [root];
  for (let node = stack.shift(); node; node = stack.shift()) {
    if (node.nodeType === 1 && node.namespaceURI === ns && node.localName === localName) return node;
    stack.unshift(...Array.from(node.childNodes ?? []));
  }
  throw new Error(`no ${localName} element`);
}
