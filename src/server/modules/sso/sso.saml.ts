/**
 * SAML 2.0 service provider for an organization's identity provider, on @node-saml/node-saml:
 * reading the IdP's metadata, our SP metadata, the AuthnRequest (HTTP-Redirect) and the checks on
 * the IdP's answer (HTTP-POST). Accepted only when signed by a configured certificate (the whole
 * Response or the Assertion), for our audience and ACS URL, within its time window, in answer to a
 * request of ours (unless the org allows IdP-initiated sign-in), from the configured issuer, and
 * never twice: the request is taken when first read, the assertion recorded until it expires.
 */
import { createHash, X509Certificate } from 'node:crypto';
import {
  type CacheItem,
  type CacheProvider,
  generateServiceProviderMetadata,
  type Profile,
  SAML,
  SamlStatusError,
  ValidateInResponseTo,
} from '@node-saml/node-saml';
import type { Executor } from '../../platform/db/client.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { type Outbound, OutboundError } from '../../platform/outbound/outbound.ts';
import {
  recordSsoAssertion,
  SSO_REQUEST_TTL_MS,
  type SsoPurpose,
  type SsoRequestRow,
  saveSsoRequest,
  takeSsoRequest,
} from './sso.requests.repository.ts';
import {
  childElements,
  descendantElements,
  hasDoctype,
  parseUntrustedXml,
  SAML_METADATA_NS,
  XMLDSIG_NS,
  type XmlElement,
  XmlRefusedError,
} from './sso.xml.ts';

/** What Gatehouse needs of an IdP. Certificates are PEM; several while the IdP rotates its key. */
export interface SamlIdpConfig {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
}

/** An org's IdP together with our side of the connection. */
export interface SamlSpConfig extends SamlIdpConfig {
  spEntityId: string;
  acsUrl: string;
}

export interface SamlValidationConfig extends SamlSpConfig {
  /** Accept responses that answer no request of ours (the IdP's own app launcher). */
  allowIdpInitiated: boolean;
  /** The attribute carrying the person's groups (multi-valued); null: groups are not read. */
  groupsAttribute: string | null;
}

/** What the sign-in was started for, as saved with its AuthnRequest. */
export interface SamlRequestContext {
  purpose: SsoPurpose;
  next: string | null;
  userId: string | null;
  /** SHA-256 (hex) of the binding cookie of the browser that started it (checked by the ACS route). */
  browserBinding: string | null;
}

/** Who the IdP says signed in, read from the signed assertion only. */
export interface SamlIdentity {
  /** The NameID, whole: the subject an account is linked by. */
  nameId: string;
  email: string | null;
  name: string | null;
  groups: string[];
  assertionId: string;
  /** The sign-in this answers; null for an IdP-initiated one. */
  request: SamlRequestContext | null;
}

/** Largest metadata document or (decoded) SAML response read. */
export const MAX_SAML_XML_BYTES = 1024 * 1024;
/** Clocks of IdP and Gatehouse may differ this much. */
export const SAML_CLOCK_SKEW_MS = 60_000;
/** An assertion is not taken more than this long after it was issued, whatever its NotOnOrAfter says. */
export const SAML_MAX_ASSERTION_AGE_MS = 60 * 60 * 1000;

const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

// ---------------------------------------------------------------------------------------------
// Errors

export type IdpConfigReason =
  | 'too_large'
  | 'doctype'
  | 'not_xml'
  | 'no_idp'
  | 'several_idps'
  | 'no_entity_id'
  | 'no_sso_url'
  | 'bad_sso_url'
  | 'no_certificate'
  | 'bad_certificate';

/** The IdP's settings or metadata cannot be used (400 `idp_invalid`); `reason` says which part. */
export class IdpInvalidError extends AppError {
  constructor(
    readonly reason: IdpConfigReason,
    detail: string,
  ) {
    super(400, 'idp_invalid', 'Identity provider settings not usable', detail, { params: { reason } });
  }
}

/** The IdP's metadata URL gave no metadata (400 `idp_unreachable`); the detail is safe to show. */
export class IdpUnreachableError extends AppError {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(400, 'idp_unreachable', 'Identity provider not reachable', detail, { params: { reason } });
  }
}

/** Why an IdP's answer was refused (for the audit log). */
export type SsoFailureReason =
  | 'signature'
  | 'audience'
  | 'recipient'
  | 'expired'
  | 'replay'
  | 'unknown_request'
  | 'unsolicited'
  | 'issuer'
  | 'idp_refused'
  | 'unsupported'
  | 'malformed';

const FAILURE_DETAIL: Record<SsoFailureReason, string> = {
  signature: 'The answer is not signed by a certificate configured for this identity provider.',
  audience: 'The answer is meant for another service provider (audience).',
  recipient: 'The answer is addressed to another sign-in URL (recipient).',
  expired: 'The answer is outside its validity window: it expired, or is not valid yet.',
  replay: 'This answer was already used.',
  unknown_request: 'The answer does not match a sign-in started here, or the sign-in took too long.',
  unsolicited: 'The answer was not asked for: start signing in from Gatehouse.',
  issuer: 'The answer comes from another identity provider (issuer).',
  idp_refused: 'The identity provider refused the sign-in.',
  unsupported: 'The answer uses a form not supported here (an encrypted assertion).',
  malformed: 'The answer could not be read as a SAML response.',
};

/**
 * A refused SSO answer (401 `sso_failed`). The message is fixed per reason; `diagnostic` is what
 * the library said, possibly quoting the answer (attacker-controlled), reduced to printable ASCII
 * and bounded: for logs and an admin's test sign-in, escaped like any other text where shown.
 */
export class SsoLoginError extends AppError {
  readonly diagnostic: string | undefined;

  constructor(
    readonly reason: SsoFailureReason,
    diagnostic?: string,
  ) {
    super(401, 'sso_failed', 'Single sign-on failed', FAILURE_DETAIL[reason], { params: { reason } });
    this.diagnostic = diagnostic === undefined ? undefined : printable(diagnostic);
  }
}

const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);

// ---------------------------------------------------------------------------------------------
// IdP metadata and certificates

/**
 * The IdP's entity ID, SSO URL (HTTP-Redirect binding preferred, else HTTP-POST) and signing
 * certificates from its metadata (an EntityDescriptor, or an EntitiesDescriptor holding one IdP).
 * Throws IdpInvalidError.
 */
export function parseIdpMetadata(xml: string): SamlIdpConfig {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new IdpInvalidError('not_xml', 'The metadata is empty.');
  }
  if (Buffer.byteLength(xml, 'utf8') > MAX_SAML_XML_BYTES) {
    throw new IdpInvalidError(
      'too_large',
      'The metadata is larger than 1 MiB; give the metadata of one IdP.',
    );
  }
  let root: XmlElement;
  try {
    root = parseUntrustedXml(xml.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof XmlRefusedError && err.reason === 'doctype') {
      throw new IdpInvalidError('doctype', 'Metadata with a DOCTYPE is refused (it may declare entities).');
    }
    throw new IdpInvalidError('not_xml', 'The metadata is not well-formed XML.');
  }
  try {
    return readIdpMetadata(root);
  } catch (err) {
    if (err instanceof IdpInvalidError) throw err;
    // A document shaped to exhaust the reader (nesting deeper than its recursion goes).
    throw new IdpInvalidError('not_xml', 'The metadata could not be read.');
  }
}

function readIdpMetadata(root: XmlElement): SamlIdpConfig {
  const idps = descendantElements(root, SAML_METADATA_NS, 'EntityDescriptor').flatMap((entity) =>
    childElements(entity, SAML_METADATA_NS, 'IDPSSODescriptor')
      .filter((d) =>
        (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL),
      )
      .map((descriptor) => ({ entity, descriptor })),
  );
  if (idps.length === 0) {
    throw new IdpInvalidError(
      'no_idp',
      'The metadata describes no SAML 2.0 identity provider (no IDPSSODescriptor); check that it is the IdP’s metadata, not a service provider’s.',
    );
  }
  if (idps.length > 1) {
    throw new IdpInvalidError(
      'several_idps',
      `The metadata describes ${idps.length} identity providers; give the metadata of the one to use.`,
    );
  }
  const { entity, descriptor } = idps[0]!;

  const idpEntityId = (entity.getAttribute('entityID') ?? '').trim();
  if (idpEntityId === '' || idpEntityId.length > 1024) {
    throw new IdpInvalidError('no_entity_id', 'The metadata gives the identity provider no entityID.');
  }

  const services = childElements(descriptor, SAML_METADATA_NS, 'SingleSignOnService');
  const service =
    services.find((s) => s.getAttribute('Binding') === BINDING_REDIRECT) ??
    services.find((s) => s.getAttribute('Binding') === BINDING_POST);
  if (!service) {
    throw new IdpInvalidError(
      'no_sso_url',
      'The metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.',
    );
  }
  const idpSsoUrl = checkSsoUrl((service.getAttribute('Location') ?? '').trim());

  const idpCertificates: string[] = [];
  for (const key of childElements(descriptor, SAML_METADATA_NS, 'KeyDescriptor')) {
    // No `use`: for signing and encryption alike. (xmldom answers '' for a missing attribute.)
    const use = key.getAttribute('use') || 'signing';
    if (use !== 'signing') continue;
    for (const cert of descendantElements(key, XMLDSIG_NS, 'X509Certificate')) {
      const pem = normalizeCertificatePem(cert.textContent ?? '');
      if (!idpCertificates.includes(pem)) idpCertificates.push(pem);
    }
  }
  if (idpCertificates.length === 0) {
    throw new IdpInvalidError(
      'no_certificate',
      'The metadata has no signing certificate (KeyDescriptor with an X509Certificate).',
    );
  }
  return { idpEntityId, idpSsoUrl, idpCertificates };
}

/** The IdP's SSO URL, where people are sent: an absolute http(s) URL. Throws IdpInvalidError. */
export function checkSsoUrl(value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || value.length > 2048) {
    throw new IdpInvalidError('bad_sso_url', 'The identity provider’s sign-in URL is not an http(s) URL.');
  }
  return value;
}

/**
 * One X.509 certificate as canonical PEM, from PEM or bare base64 (as metadata and IdP consoles
 * give it). Throws IdpInvalidError when it is not exactly one readable certificate.
 */
export function normalizeCertificatePem(text: string): string {
  const bad = () =>
    new IdpInvalidError('bad_certificate', 'A signing certificate is not a readable X.509 certificate.');
  if (typeof text !== 'string' || text.length > 64 * 1024) throw bad();
  const begins = text.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (begins > 1) throw bad();
  const body = text
    .replace(/-----BEGIN CERTIFICATE-----/, '')
    .replace(/-----END CERTIFICATE-----/, '')
    .replace(/\s+/g, '');
  if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw bad();
  const der = Buffer.from(body, 'base64');
  try {
    new X509Certificate(der);
  } catch {
    throw bad();
  }
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export interface CertificateInfo {
  subject: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  /** SHA-256 of the DER, colon-separated hex (as IdP consoles show it). */
  fingerprintSha256: string;
}

/** What the console lists of a configured certificate. Throws IdpInvalidError. */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = new X509Certificate(normalizeCertificatePem(pem));
  return {
    subject: cert.subject.split('\n').join(', '),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprintSha256: cert.fingerprint256,
  };
}

const OUTBOUND_FAILURE: Record<string, string> = {
  dns: 'its host name does not resolve',
  connect: 'no connection could be made',
  tls: 'the TLS handshake failed (check its certificate)',
  timeout: 'it did not answer in time',
  too_large: 'its answer is too large',
  protocol: 'its answer is not valid HTTP',
};

/**
 * Fetches IdP metadata through the outbound guard (no redirects followed, bounded in time and
 * size). Throws IdpUnreachableError, or IdpInvalidError when the document is over the size cap.
 */
export async function fetchIdpMetadata(outbound: Outbound, url: string): Promise<string> {
  let response: Awaited<ReturnType<Outbound['request']>>;
  try {
    response = await outbound.request(url, {
      method: 'GET',
      headers: { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1' },
      timeoutMs: 10_000,
      maxResponseBytes: MAX_SAML_XML_BYTES + 1,
    });
  } catch (err) {
    if (err instanceof OutboundError) {
      // The guard's refusals describe the URL the admin gave (its host, its address class).
      const why = err.reason === 'not_allowed' ? `the address is not allowed: ${err.message}` : undefined;
      throw new IdpUnreachableError(
        err.reason,
        `The metadata URL could not be read: ${why ?? OUTBOUND_FAILURE[err.reason] ?? 'the request failed'}.`,
      );
    }
    throw err;
  }
  if (response.status >= 300 && response.status < 400) {
    throw new IdpUnreachableError(
      'redirect',
      `The metadata URL answered with a redirect (HTTP ${response.status}); give the address it redirects to.`,
    );
  }
  if (response.status !== 200) {
    throw new IdpUnreachableError('status', `The metadata URL answered HTTP ${response.status}.`);
  }
  if (response.truncated || response.body.length > MAX_SAML_XML_BYTES) {
    throw new IdpInvalidError(
      'too_large',
      'The metadata is larger than 1 MiB; give the metadata of one IdP.',
    );
  }
  return response.body.toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Our side: SP metadata, AuthnRequest, response

/** Our SP metadata for the IdP's admin: the ACS (HTTP-POST), unsigned requests, signed assertions wanted. */
export function spMetadata({ spEntityId, acsUrl }: { spEntityId: string; acsUrl: string }): string {
  // A stable ID: the same metadata every time it is served.
  const id = `_${createHash('sha256').update(`${spEntityId}\n${acsUrl}`).digest('hex').slice(0, 40)}`;
  return generateServiceProviderMetadata({
    issuer: spEntityId,
    callbackUrl: acsUrl,
    wantAssertionsSigned: true,
    identifierFormat: null,
    generateUniqueId: () => id,
  });
}

/**
 * node-saml's InResponseTo cache on `sso_requests`, one per sign-in or validation. A request is
 * deleted the first time it is read (DELETE … RETURNING), so of two answers citing it only one
 * finds it; node-saml's own removal, whose result it ignores, has nothing left to do.
 */
class SsoRequestCache implements CacheProvider {
  /** The request this validation took (an answer cites at most one). */
  taken: SsoRequestRow | null = null;

  constructor(
    private readonly db: Executor,
    private readonly orgId: string,
    private readonly context?: SamlRequestContext,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    if (!this.context) throw new Error('a SAML validation saves no request');
    await saveSsoRequest(this.db, this.orgId, { key, protocol: 'saml', ...this.context });
    return { value, createdAt: Date.now() };
  }

  async getAsync(key: string): Promise<string | null> {
    if (!this.taken) this.taken = await takeRequest(this.db, this.orgId, key);
    return this.taken?.key === key ? this.taken.createdAt.toISOString() : null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    return key !== null && this.taken?.key === key ? this.taken.createdAt.toISOString() : null;
  }
}

/** Request IDs are short; a cited one of any length is looked up only when it could be ours. */
const takeRequest = (db: Executor, orgId: string, key: string) =>
  key.length > 0 && key.length <= 256 ? takeSsoRequest(db, orgId, 'saml', key) : Promise.resolve(null);

function buildSaml(config: SamlSpConfig, allowIdpInitiated: boolean, cache: SsoRequestCache): SAML {
  return new SAML({
    idpCert: config.idpCertificates,
    issuer: config.spEntityId,
    callbackUrl: config.acsUrl,
    audience: config.spEntityId,
    entryPoint: config.idpSsoUrl,
    idpIssuer: config.idpEntityId,
    // "Signed Response or signed Assertion": with both off node-saml still refuses an answer with
    // neither signature valid, checks the Assertion's signature whenever the Response has none, and
    // reads the assertion from the signed bytes only. Requiring the Assertion's own signature would
    // turn away IdPs that sign only the Response, which is as strong.
    wantAuthnResponseSigned: false,
    wantAssertionsSigned: false,
    validateInResponseTo: allowIdpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: SSO_REQUEST_TTL_MS,
    acceptedClockSkewMs: SAML_CLOCK_SKEW_MS,
    maxAssertionAgeMs: SAML_MAX_ASSERTION_AGE_MS,
    disableRequestedAuthnContext: true,
    identifierFormat: null,
    signatureAlgorithm: 'sha256',
    authnRequestBinding: 'HTTP-Redirect',
    cacheProvider: cache,
  });
}

/**
 * The IdP's sign-in URL with an AuthnRequest (HTTP-Redirect binding, unsigned). Its ID is saved
 * in `sso_requests` for ten minutes with what the sign-in is for.
 */
export async function samlLoginUrl(
  db: Executor,
  orgId: string,
  config: SamlSpConfig,
  options: {
    relayState?: string;
    purpose: SsoPurpose;
    next: string | null;
    userId: string | null;
    browserBinding?: string | null;
  },
): Promise<string> {
  const cache = new SsoRequestCache(db, orgId, {
    purpose: options.purpose,
    next: options.next,
    userId: options.userId,
    browserBinding: options.browserBinding ?? null,
  });
  return buildSaml(config, false, cache).getAuthorizeUrlAsync(options.relayState ?? '', undefined, {});
}

/**
 * Checks the IdP's answer (the SAMLResponse form field, base64) and takes it: the request it
 * answers is consumed and its assertion recorded, so it signs in once. Throws SsoLoginError.
 */
export async function validateSamlResponse(
  db: Executor,
  orgId: string,
  config: SamlValidationConfig,
  samlResponseBase64: string,
): Promise<SamlIdentity> {
  const samlResponse = decodeSamlResponse(samlResponseBase64);
  const cache = new SsoRequestCache(db, orgId);
  const saml = buildSaml(config, config.allowIdpInitiated, cache);
  let profile: Profile | null;
  try {
    ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (err) {
    throw new SsoLoginError(classifyFailure(err), err instanceof Error ? err.message : undefined);
  }
  // A signed LogoutResponse or a NoPassive answer: no one signed in.
  if (!profile) throw new SsoLoginError('malformed', 'no assertion');

  const assertion = readAssertion(profile);
  // node-saml takes the Issuer option for logout messages only.
  if (profile.issuer !== config.idpEntityId) throw new SsoLoginError('issuer');
  const recipients = assertion.confirmations.map((c) => c.recipient).filter((r) => r !== null);
  if (recipients.length > 0 && !recipients.includes(config.acsUrl)) throw new SsoLoginError('recipient');
  const nameId = typeof profile.nameID === 'string' ? profile.nameID : '';
  if (nameId === '' || !assertion.id) throw new SsoLoginError('malformed', 'no NameID or assertion ID');

  let request = cache.taken;
  if (!request) {
    // The Response names no request (allowed when IdP-initiated sign-in is on), but the signed
    // assertion may: then it answers that request, which must be ours and is taken with it.
    const cited = assertion.confirmations.map((c) => c.inResponseTo).find((r) => r !== null);
    if (cited) {
      request = await takeRequest(db, orgId, cited);
      if (!request) throw new SsoLoginError('unknown_request');
    }
  }

  if (!(await recordSsoAssertion(db, orgId, assertion.id, assertion.acceptableUntil))) {
    throw new SsoLoginError('replay');
  }

  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  return {
    nameId,
    email: readEmail(attributes, nameId, profile.nameIDFormat),
    name: readName(attributes),
    groups: config.groupsAttribute ? readGroups(attributes, config.groupsAttribute) : [],
    assertionId: assertion.id,
    request: request
      ? {
          purpose: request.purpose,
          next: request.next,
          userId: request.userId,
          browserBinding: request.browserBinding,
        }
      : null,
  };
}

/** The SAMLResponse field as node-saml takes it, after the checks it does not make. */
function decodeSamlResponse(value: string): string {
  if (typeof value !== 'string') throw new SsoLoginError('malformed', 'no SAMLResponse');
  const base64 = value.replace(/\s+/g, '');
  if (base64.length === 0 || base64.length > Math.ceil((MAX_SAML_XML_BYTES * 4) / 3) + 4) {
    throw new SsoLoginError('malformed', 'empty or too large');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new SsoLoginError('malformed', 'not base64');
  if (hasDoctype(Buffer.from(base64, 'base64').toString('utf8'))) {
    throw new SsoLoginError('malformed', 'DOCTYPE refused');
  }
  return base64;
}

/** node-saml reports by message only; these are its messages, by what they mean. */
function classifyFailure(err: unknown): SsoFailureReason {
  if (err instanceof SamlStatusError) return 'idp_refused';
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('InResponseTo is missing')) return 'unsolicited';
  if (/InResponseTo/.test(message)) return 'unknown_request';
  if (/decryption|EncryptedAssertion/i.test(message)) return 'unsupported';
  if (/signature|signed|ID cannot refer|Referenced node|transforms|multiple assertions/i.test(message)) {
    return 'signature';
  }
  if (/audience/i.test(message)) return 'audience';
  if (/expired|not yet valid|subject confirmation/i.test(message)) return 'expired';
  return 'malformed';
}

interface AssertionFacts {
  id: string | null;
  confirmations: { recipient: string | null; inResponseTo: string | null }[];
  /** Until when the assertion could be accepted: how long to remember it was taken. */
  acceptableUntil: Date;
}

type XmlJs = { $?: Record<string, string>; [child: string]: unknown };

const first = (value: unknown): XmlJs | undefined =>
  Array.isArray(value) && value[0] && typeof value[0] === 'object' ? (value[0] as XmlJs) : undefined;

const all = (value: unknown): XmlJs[] =>
  Array.isArray(value) ? value.filter((v): v is XmlJs => Boolean(v) && typeof v === 'object') : [];

/** From the signed assertion node-saml read (xml2js form). */
function readAssertion(profile: Profile): AssertionFacts {
  const parsed = profile.getAssertion?.() as { Assertion?: XmlJs } | undefined;
  const assertion = parsed?.Assertion;
  const attr = (node: XmlJs | undefined, name: string) => {
    const value = node?.$?.[name];
    return typeof value === 'string' && value !== '' ? value : null;
  };
  const confirmations = all(first(assertion?.Subject)?.SubjectConfirmation).map((confirmation) => {
    const data = first(confirmation.SubjectConfirmationData);
    return { recipient: attr(data, 'Recipient'), inResponseTo: attr(data, 'InResponseTo') };
  });
  const now = Date.now();
  const limits = [
    Date.parse(attr(first(assertion?.Conditions), 'NotOnOrAfter') ?? ''),
    Date.parse(attr(assertion, 'IssueInstant') ?? '') + SAML_MAX_ASSERTION_AGE_MS,
  ].filter(Number.isFinite);
  const until = limits.length > 0 ? Math.min(...limits) : now + SAML_MAX_ASSERTION_AGE_MS;
  return {
    id: attr(assertion, 'ID'),
    confirmations,
    acceptableUntil: new Date(Math.max(until, now) + SAML_CLOCK_SKEW_MS),
  };
}

/** An attribute's string values, trimmed, empty ones dropped. */
function attributeValues(attributes: Record<string, unknown>, name: string): string[] {
  if (!Object.hasOwn(attributes, name)) return [];
  const value = attributes[name];
  return (Array.isArray(value) ? value : [value])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const firstValue = (attributes: Record<string, unknown>, names: readonly string[]) => {
  for (const name of names) {
    const [value] = attributeValues(attributes, name);
    if (value) return value;
  }
  return null;
};

const EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'emailAddress',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  'urn:oid:0.9.2342.19200300.100.1.3',
] as const;

const NAME_ATTRIBUTES = [
  'displayName',
  'name',
  'http://schemas.microsoft.com/identity/claims/displayname',
  'urn:oid:2.16.840.1.113730.3.1.241',
] as const;

const GIVEN_NAME_ATTRIBUTES = [
  'givenName',
  'firstName',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
  'urn:oid:2.5.4.42',
] as const;

const FAMILY_NAME_ATTRIBUTES = [
  'sn',
  'surname',
  'lastName',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
  'urn:oid:2.5.4.4',
] as const;

const looksLikeEmail = (value: string) => value.length <= 320 && /^[^\s@]+@[^\s@]+$/.test(value);

function readEmail(
  attributes: Record<string, unknown>,
  nameId: string,
  nameIdFormat: unknown,
): string | null {
  const email = firstValue(attributes, EMAIL_ATTRIBUTES);
  if (email) return looksLikeEmail(email) ? email : null;
  return nameIdFormat === NAMEID_EMAIL && looksLikeEmail(nameId) ? nameId : null;
}

function readName(attributes: Record<string, unknown>): string | null {
  const name = firstValue(attributes, NAME_ATTRIBUTES);
  if (name) return name.slice(0, 200);
  const parts = [
    firstValue(attributes, GIVEN_NAME_ATTRIBUTES),
    firstValue(attributes, FAMILY_NAME_ATTRIBUTES),
  ];
  const joined = parts.filter((p) => p !== null).join(' ');
  return joined === '' ? null : joined.slice(0, 200);
}

/** At most this many groups are read, each at most 256 characters (more is not a group name). */
const MAX_GROUPS = 1000;

function readGroups(attributes: Record<string, unknown>, attribute: string): string[] {
  const groups = attributeValues(attributes, attribute).filter((g) => g.length <= 256);
  return [...new Set(groups)].slice(0, MAX_GROUPS);
}
