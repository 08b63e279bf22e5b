/**
 * The OpenID Connect relying party: discovery, the authorization request (state, nonce, PKCE
 * S256) and the callback (code exchange, ID token validation, userinfo), over openid-client.
 *
 * Every request openid-client makes — discovery, the token endpoint, JWKS, userinfo — goes
 * through the outbound guard: each Configuration is given `customFetch` with an adapter onto
 * `Outbound.request`, so the IdP's URLs (all of them chosen by an org admin) are held to the
 * same rules as a webhook's. openid-client never uses the global fetch here.
 *
 * ID token signatures are checked against the IdP's JWKS even though the token comes straight
 * from the token endpoint (`enableNonRepudiationChecks`): an http issuer (tests, development) has
 * no TLS to vouch for it, and a signature check costs one cached key fetch.
 *
 * Failures are typed: `SsoIdpError` (saving a connection: 400 `idp_unreachable` / `idp_invalid`)
 * and `SsoLoginError` (a sign-in: `sso_failed` with a `reason` to audit). Neither carries the
 * client secret, the authorization code, tokens or internal addresses (the guard's messages name
 * the kind of address, never the address).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { AppError } from '../../platform/errors/app-error.ts';
import { type Outbound, OutboundError, type OutboundFailure } from '../../platform/outbound/index.ts';

/** Whole request, connection to last byte, for each call to the IdP. */
const IDP_TIMEOUT_MS = 10_000;
/** openid-client's own deadline (seconds), later than the guard's so the guard's reason wins. */
const CLIENT_TIMEOUT_S = 15;
/** Discovery documents, key sets, token and userinfo responses are all small. */
const IDP_MAX_RESPONSE_BYTES = 512 * 1024;

/** The issuer's discovery document as fetched: plain JSON, stored as jsonb by the caller. */
export interface OidcMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  [member: string]: unknown;
}

/** Who the IdP says signed in. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  /** True only when the ID token or userinfo says `email_verified: true` for this email. */
  emailVerified: boolean;
  name: string | null;
  groups: string[];
}

export interface OidcAuthorizationRequest {
  redirectUri: string;
  scopes: readonly string[];
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface OidcCallbackChecks {
  /** The redirect_uri sent with the authorization request (the callback's query is read from `currentUrl`). */
  redirectUri: string;
  expectedState: string;
  expectedNonce: string;
  codeVerifier: string;
  /** The ID token claim naming the user's groups (null: groups are not read). */
  groupsClaim: string | null;
}

export interface OidcClient {
  authorizationUrl(request: OidcAuthorizationRequest): URL;
  callback(currentUrl: URL, checks: OidcCallbackChecks): Promise<OidcIdentity>;
}

/** What went wrong reaching or reading an IdP's configuration. */
export type SsoIdpFailure =
  | OutboundFailure
  | 'http_status'
  | 'issuer_invalid'
  | 'issuer_not_https'
  | 'not_discovery_document'
  | 'issuer_mismatch'
  | 'missing_endpoint'
  | 'endpoint_invalid'
  | 'code_flow_unsupported'
  | 'client_auth_unsupported';

/**
 * The IdP's configuration could not be fetched (`idp_unreachable`: the guard refused it, the
 * network failed, or it answered other than 200) or is not usable (`idp_invalid`).
 */
export class SsoIdpError extends AppError {
  constructor(
    code: 'idp_unreachable' | 'idp_invalid',
    readonly reason: SsoIdpFailure,
    detail: string,
  ) {
    super(
      400,
      code,
      code === 'idp_unreachable' ? 'Identity provider unreachable' : 'Identity provider not usable',
      detail,
      { params: { reason } },
    );
    this.name = 'SsoIdpError';
  }
}

/** Why a sign-in through the IdP failed (for the audit log; the person sees one message). */
export type SsoLoginFailure =
  /** The callback's `state` is not the sign-in in progress (forged, replayed or crossed). */
  | 'state_mismatch'
  /** The ID token's `nonce` is missing or not the sign-in's. */
  | 'nonce_mismatch'
  /** The callback's `iss` names another issuer (a mix-up), or is missing where promised. */
  | 'issuer_mismatch'
  /** The IdP sent an `error` back instead of a code (in `idpError`). */
  | 'idp_error'
  /** The token endpoint refused the code: used already, expired, another client's, wrong PKCE verifier. */
  | 'invalid_grant'
  /** The token endpoint refused our client id or secret. */
  | 'invalid_client'
  /** The token endpoint refused for another reason. */
  | 'token_error'
  /** The ID token's signature, issuer, audience or times are wrong, or there is none. */
  | 'id_token_invalid'
  /** The userinfo endpoint refused the access token or answered for another subject. */
  | 'userinfo_invalid'
  /** A response that is not what the protocol says (no code, not JSON, …). */
  | 'response_invalid'
  /** The guard refused an endpoint, the network failed, or the IdP took too long. */
  | 'idp_unreachable';

const LOGIN_STATUS: Record<SsoLoginFailure, 400 | 401> = {
  state_mismatch: 401,
  nonce_mismatch: 401,
  issuer_mismatch: 401,
  idp_error: 400,
  invalid_grant: 401,
  invalid_client: 400,
  token_error: 400,
  id_token_invalid: 401,
  userinfo_invalid: 401,
  response_invalid: 400,
  idp_unreachable: 400,
};

/** A sign-in through the IdP failed; `reason` says why (never a token, code or secret). */
export class SsoLoginError extends AppError {
  constructor(
    readonly reason: SsoLoginFailure,
    /** With `idp_error`: the IdP's `error` code (e.g. `access_denied`), when it is a plain token. */
    readonly idpError: string | null = null,
    /** With `idp_unreachable`: what the guard or the network said. */
    readonly outboundReason: OutboundFailure | null = null,
  ) {
    super(
      LOGIN_STATUS[reason],
      'sso_failed',
      'Single sign-on failed',
      'Signing in through the identity provider failed. Try again; if it keeps failing, ask an admin of the organization to check its single sign-on settings.',
      {
        params: {
          reason,
          ...(idpError ? { idpError } : {}),
          ...(outboundReason ? { outboundReason } : {}),
        },
      },
    );
    this.name = 'SsoLoginError';
  }
}

export const randomState = (): string => client.randomState();
export const randomNonce = (): string => client.randomNonce();
export const randomCodeVerifier = (): string => client.randomPKCECodeVerifier();

/**
 * openid-client's fetch, onto the guard: the guard resolves, checks and pins the address, bounds
 * time and size, and never follows a redirect (openid-client asks for `redirect: 'manual'`).
 */
function guardedFetch(outbound: Outbound): client.CustomFetch {
  return async (url, options) => {
    options.signal?.throwIfAborted();
    const method = options.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      throw new OutboundError('protocol', `the ${method} method is not used with identity providers`);
    }
    const { body } = options;
    let payload: string | Buffer | undefined;
    if (body === undefined || body === null) payload = undefined;
    else if (typeof body === 'string') payload = body;
    else if (body instanceof URLSearchParams) payload = body.toString();
    else if (body instanceof Uint8Array) payload = Buffer.from(body);
    else if (body instanceof ArrayBuffer) payload = Buffer.from(body);
    else throw new OutboundError('protocol', 'a streamed request body is not sent to identity providers');

    const response = await outbound.request(url, {
      method,
      headers: options.headers,
      ...(payload === undefined ? {} : { body: payload }),
      timeoutMs: IDP_TIMEOUT_MS,
      maxResponseBytes: IDP_MAX_RESPONSE_BYTES,
    });
    if (response.truncated) {
      throw new OutboundError('too_large', `the response was larger than ${IDP_MAX_RESPONSE_BYTES} bytes`);
    }
    if (response.status < 200 || response.status > 599) {
      throw new OutboundError('protocol', `the response status ${response.status} is not usable`);
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) headers.set(name, value);
    const nullBody = [204, 205, 304].includes(response.status);
    return new Response(nullBody ? null : new Uint8Array(response.body), {
      status: response.status,
      headers,
    });
  };
}

/** The OutboundError behind an openid-client error (it wraps what customFetch throws). */
function outboundCause(err: unknown): OutboundError | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof OutboundError) return e;
  }
  return null;
}

/** The messages of an error and its causes, for telling openid-client's checks apart. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    out.push(e.message);
  }
  return out.join(' | ');
}

/** An issuer URL, checked before anything is fetched. */
function parseIssuer(issuer: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new SsoIdpError('idp_invalid', 'issuer_invalid', 'The issuer is not a valid absolute URL.');
  }
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw new SsoIdpError('idp_invalid', 'issuer_invalid', 'The issuer URL must have no query or fragment.');
  }
  if (url.username !== '' || url.password !== '') {
    throw new SsoIdpError(
      'idp_invalid',
      'issuer_invalid',
      'The issuer URL must carry no user name or password.',
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttp)) {
    throw new SsoIdpError('idp_invalid', 'issuer_not_https', 'The issuer must be an https:// URL.');
  }
  return url;
}

const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const;

/** The document's own promises, beyond what openid-client checks. Throws SsoIdpError. */
function validateMetadata(issuer: string, doc: Record<string, unknown>, allowHttp: boolean): OidcMetadata {
  if (doc.issuer !== issuer) {
    const named = typeof doc.issuer === 'string' ? doc.issuer.slice(0, 200) : '';
    throw new SsoIdpError(
      'idp_invalid',
      'issuer_mismatch',
      `The discovery document names the issuer "${named}", not the one given: enter the issuer exactly as the identity provider names it.`,
    );
  }
  const checkUrl = (name: string, value: unknown) => {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new SsoIdpError(
        'idp_invalid',
        'endpoint_invalid',
        `The discovery document's ${name} is not a URL.`,
      );
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttp)) {
      throw new SsoIdpError(
        'idp_invalid',
        'endpoint_invalid',
        `The discovery document's ${name} is not an https:// URL.`,
      );
    }
  };
  for (const name of ENDPOINTS) {
    const value = doc[name];
    if (typeof value !== 'string' || value === '') {
      throw new SsoIdpError('idp_invalid', 'missing_endpoint', `The discovery document names no ${name}.`);
    }
    checkUrl(name, value);
  }
  if (doc.userinfo_endpoint !== undefined) checkUrl('userinfo_endpoint', doc.userinfo_endpoint);
  const responseTypes = doc.response_types_supported;
  if (!Array.isArray(responseTypes) || !responseTypes.includes('code')) {
    throw new SsoIdpError(
      'idp_invalid',
      'code_flow_unsupported',
      'The identity provider does not offer the authorization code flow (response type "code").',
    );
  }
  const authMethods = doc.token_endpoint_auth_methods_supported;
  if (
    Array.isArray(authMethods) &&
    !authMethods.includes('client_secret_basic') &&
    !authMethods.includes('client_secret_post')
  ) {
    throw new SsoIdpError(
      'idp_invalid',
      'client_auth_unsupported',
      'The identity provider accepts no client secret at its token endpoint (client_secret_basic or client_secret_post).',
    );
  }
  return doc as OidcMetadata;
}

/**
 * Fetches `${issuer}/.well-known/openid-configuration` through the guard and returns it, checked:
 * the issuer it names is exactly `issuer`, it has the authorization, token and JWKS endpoints
 * (https unless `allowHttp`), and it offers the code flow. `allowHttp` admits an http:// issuer
 * and endpoints (loopback tests, OUTBOUND_ALLOW_HTTP); the guard still decides every address.
 */
export async function discoverOidc(
  outbound: Outbound,
  issuer: string,
  options: { allowHttp: boolean },
): Promise<OidcMetadata> {
  const url = parseIssuer(issuer, options.allowHttp);
  let config: client.Configuration;
  try {
    config = await client.discovery(url, 'gatehouse-discovery', undefined, client.None(), {
      [client.customFetch]: guardedFetch(outbound),
      timeout: CLIENT_TIMEOUT_S,
      ...(options.allowHttp ? { execute: [client.allowInsecureRequests] } : {}),
    });
  } catch (err) {
    throw discoveryError(err);
  }
  // A plain object: serverMetadata() also carries helper functions.
  const doc = JSON.parse(JSON.stringify(config.serverMetadata())) as Record<string, unknown>;
  return validateMetadata(issuer, doc, options.allowHttp);
}

function discoveryError(err: unknown): SsoIdpError {
  const guard = outboundCause(err);
  if (guard) {
    return new SsoIdpError(
      'idp_unreachable',
      guard.reason,
      `The identity provider's discovery document could not be fetched: ${guard.message}.`,
    );
  }
  const code = (err as { code?: unknown })?.code;
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    const status = (err as { cause?: { status?: unknown } }).cause?.status;
    return new SsoIdpError(
      'idp_unreachable',
      'http_status',
      `The identity provider answered HTTP ${typeof status === 'number' ? status : 'with an error'} for its discovery document (/.well-known/openid-configuration).`,
    );
  }
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') {
    return new SsoIdpError('idp_unreachable', 'timeout', 'The identity provider did not answer in time.');
  }
  if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
    return new SsoIdpError(
      'idp_invalid',
      'issuer_mismatch',
      'The discovery document names another issuer: enter the issuer exactly as the identity provider names it.',
    );
  }
  return new SsoIdpError(
    'idp_invalid',
    'not_discovery_document',
    'The issuer did not answer with an OpenID Connect discovery document (JSON with an "issuer").',
  );
}

/**
 * openid-client's error (or the guard's) as a sign-in failure. `stage` is the call that failed.
 * Unknown errors (a bug of ours, a TypeError) are not failures of the sign-in: they go up as is.
 */
function loginError(err: unknown, stage: 'token' | 'userinfo'): unknown {
  const guard = outboundCause(err);
  if (guard) return new SsoLoginError('idp_unreachable', null, guard.reason);
  if (err instanceof client.ResponseBodyError) {
    if (stage === 'userinfo') return new SsoLoginError('userinfo_invalid');
    if (err.error === 'invalid_grant') return new SsoLoginError('invalid_grant');
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client') {
      return new SsoLoginError('invalid_client');
    }
    return new SsoLoginError('token_error');
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: at the token endpoint our client authentication was refused.
    return new SsoLoginError(stage === 'token' ? 'invalid_client' : 'userinfo_invalid');
  }
  if (err instanceof client.ClientError) {
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') {
      return new SsoLoginError('idp_unreachable', null, 'timeout');
    }
    if (stage === 'userinfo') return new SsoLoginError('userinfo_invalid');
    const text = messages(err);
    if (/"nonce"/.test(text)) return new SsoLoginError('nonce_mismatch');
    if (
      err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' ||
      err.code === 'OAUTH_RESPONSE_IS_NOT_JSON' ||
      err.code === 'OAUTH_PARSE_ERROR'
    ) {
      return new SsoLoginError('response_invalid');
    }
    if (/JWT|ID Token|id_token/.test(text)) return new SsoLoginError('id_token_invalid');
    return new SsoLoginError('response_invalid');
  }
  return err;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value : null;

/** A groups claim as sent: a list of strings, or one string; anything else is no groups. */
function groupsFrom(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) {
    return [...new Set(value.filter((g) => g !== ''))];
  }
  return [];
}

function nameFrom(claims: Record<string, unknown>): string | null {
  const name = text(claims.name);
  if (name) return name;
  const parts = [text(claims.given_name), text(claims.family_name)].filter((p) => p !== null);
  return parts.length > 0 ? parts.join(' ') : null;
}

/**
 * A client of the IdP, built from the stored discovery document (nothing is fetched until a
 * callback). The client secret goes to the token endpoint as HTTP Basic unless the IdP only
 * takes it in the form body.
 */
export function oidcClient(
  outbound: Outbound,
  options: {
    metadata: OidcMetadata;
    clientId: string;
    clientSecret: string;
    allowHttp: boolean;
    /** Keeps the IdP's key set between sign-ins (see createOidcJwksCache); without it each callback fetches it. */
    jwksCache?: OidcJwksCache;
  },
): OidcClient {
  const { metadata, clientId, clientSecret, allowHttp, jwksCache } = options;
  const authMethods = metadata.token_endpoint_auth_methods_supported;
  const usePost =
    Array.isArray(authMethods) &&
    !authMethods.includes('client_secret_basic') &&
    authMethods.includes('client_secret_post');
  const config = new client.Configuration(
    metadata as client.ServerMetadata,
    clientId,
    undefined,
    usePost ? client.ClientSecretPost(clientSecret) : client.ClientSecretBasic(clientSecret),
  );
  config[client.customFetch] = guardedFetch(outbound);
  config.timeout = CLIENT_TIMEOUT_S;
  if (allowHttp) client.allowInsecureRequests(config);
  client.enableNonRepudiationChecks(config);
  const cachedKeys = jwksCache?.get(metadata.jwks_uri);
  if (cachedKeys) client.setJwksCache(config, cachedKeys);

  return {
    authorizationUrl(request) {
      const scopes = new Set(['openid', ...request.scopes]);
      return client.buildAuthorizationUrl(config, {
        redirect_uri: request.redirectUri,
        response_type: 'code',
        scope: [...scopes].join(' '),
        state: request.state,
        nonce: request.nonce,
        code_challenge: pkceChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
    },

    async callback(currentUrl, checks) {
      const params = currentUrl.searchParams;
      // The authorization response, checked here first so that each refusal has its reason (and
      // before anything is sent to the IdP); openid-client checks state and iss again.
      const state = params.get('state');
      if (state === null || !sameText(state, checks.expectedState)) throw new SsoLoginError('state_mismatch');
      const iss = params.get('iss');
      if (
        iss === null
          ? metadata.authorization_response_iss_parameter_supported === true
          : iss !== metadata.issuer
      ) {
        throw new SsoLoginError('issuer_mismatch');
      }
      const idpError = params.get('error');
      if (idpError !== null) {
        throw new SsoLoginError('idp_error', /^[\w.-]{1,64}$/.test(idpError) ? idpError : 'unknown');
      }
      if (!params.get('code')) throw new SsoLoginError('response_invalid');

      // The redirect_uri the token request names is the one we sent, whatever host or scheme the
      // callback reached us on (a proxy in front, say).
      const answered = new URL(checks.redirectUri);
      answered.search = currentUrl.search;
      answered.hash = '';

      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, answered, {
          expectedState: checks.expectedState,
          expectedNonce: checks.expectedNonce,
          pkceCodeVerifier: checks.codeVerifier,
          idTokenExpected: true,
        });
      } catch (err) {
        throw loginError(err, 'token');
      }
      const keys = client.getJwksCache(config);
      if (jwksCache && keys) jwksCache.set(metadata.jwks_uri, keys);
      const claims = tokens.claims() as Record<string, unknown> | undefined;
      if (!claims || typeof claims.sub !== 'string' || typeof claims.iss !== 'string') {
        throw new SsoLoginError('id_token_invalid');
      }

      const groupsClaim = checks.groupsClaim;
      const wantsUserinfo =
        text(claims.email) === null ||
        claims.email_verified !== true ||
        nameFrom(claims) === null ||
        (groupsClaim !== null && claims[groupsClaim] === undefined);
      let userinfo: Record<string, unknown> = {};
      if (wantsUserinfo && typeof metadata.userinfo_endpoint === 'string' && tokens.access_token) {
        try {
          userinfo = (await client.fetchUserInfo(config, tokens.access_token, claims.sub)) as Record<
            string,
            unknown
          >;
        } catch (err) {
          throw loginError(err, 'userinfo');
        }
      }

      // The email and whether it is verified come from one source: the ID token's email, verified
      // by either when both name the same address; otherwise userinfo's.
      let email = text(claims.email);
      let emailVerified = email !== null && claims.email_verified === true;
      if (email === null) {
        email = text(userinfo.email);
        emailVerified = email !== null && userinfo.email_verified === true;
      } else if (!emailVerified && userinfo.email === email && userinfo.email_verified === true) {
        emailVerified = true;
      }

      let groups: string[] = [];
      if (groupsClaim !== null) {
        groups = groupsFrom(claims[groupsClaim] !== undefined ? claims[groupsClaim] : userinfo[groupsClaim]);
      }

      return {
        issuer: claims.iss,
        subject: claims.sub,
        email,
        emailVerified,
        name: nameFrom(claims) ?? nameFrom(userinfo),
        groups,
      };
    },
  };
}

/** IdP key sets kept between sign-ins, by jwks_uri (bounded; openid-client refetches on an unknown key). */
export interface OidcJwksCache {
  get(jwksUri: string): client.ExportedJWKSCache | undefined;
  set(jwksUri: string, keys: client.ExportedJWKSCache): void;
}

export function createOidcJwksCache(maxEntries = 256): OidcJwksCache {
  const entries = new Map<string, client.ExportedJWKSCache>();
  return {
    get: (jwksUri) => entries.get(jwksUri),
    set(jwksUri, keys) {
      entries.delete(jwksUri);
      entries.set(jwksUri, keys);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
  };
}
