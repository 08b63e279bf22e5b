/**
 * The OIDC relying party against a real OpenID Provider (oidc-provider) on loopback, every request
 * of ours through the outbound guard. Addresses outside loopback appear only as URLs the guard
 * refuses before connecting.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackReceiver, startLoopbackReceiver } from '../../../../test/support/loopback-receiver.ts';
import { type IdpAccount, type OidcIdp, startOidcIdp } from '../../../../test/support/oidc-idp.ts';
import { createOutbound, type Outbound } from '../../platform/outbound/index.ts';
import {
  createOidcJwksCache,
  discoverOidc,
  type OidcCallbackChecks,
  type OidcClient,
  type OidcJwksCache,
  type OidcMetadata,
  oidcClient,
  randomCodeVerifier,
  randomNonce,
  randomState,
  SsoIdpError,
  SsoLoginError,
} from './sso.oidc.ts';

const REDIRECT = 'https://gatehouse.example/sso/acme/oidc/callback';
const CLIENT_A = {
  client_id: 'gatehouse-a',
  client_secret: 'secret-a-0123456789',
  redirect_uris: [REDIRECT],
};
const CLIENT_B = {
  client_id: 'gatehouse-b',
  client_secret: 'secret-b-0123456789',
  redirect_uris: [REDIRECT],
};
const ADA: IdpAccount = {
  sub: 'ada-1815',
  email: 'ada@example.com',
  email_verified: true,
  name: 'Ada Lovelace',
  groups: ['engineering', 'security'],
};

/** The guard allowing loopback, with every URL it is asked for kept (in order). */
function recordingOutbound(): Outbound & { urls: string[] } {
  const guard = createOutbound({ allowlist: ['127.0.0.1/32'], allowHttp: true });
  const urls: string[] = [];
  return {
    urls,
    check: (url, options) => guard.check(url, options),
    request: (url, request) => {
      urls.push(`${request?.method ?? 'GET'} ${new URL(url).pathname}`);
      return guard.request(url, request);
    },
  };
}

/** The request's failure, for asserting on its kind and fields. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

let idp: OidcIdp;
let metadata: OidcMetadata;

beforeAll(async () => {
  idp = await startOidcIdp({ clients: [CLIENT_A, CLIENT_B], accounts: [ADA] });
  metadata = await discoverOidc(recordingOutbound(), idp.issuer, { allowHttp: true });
});
afterAll(async () => {
  await idp.close();
});
afterEach(() => {
  idp.tamperIdToken(null);
});

function clientFor(
  outbound: Outbound,
  options: { client?: typeof CLIENT_A; secret?: string; meta?: OidcMetadata; jwksCache?: OidcJwksCache } = {},
): OidcClient {
  const c = options.client ?? CLIENT_A;
  return oidcClient(outbound, {
    metadata: options.meta ?? metadata,
    clientId: c.client_id,
    clientSecret: options.secret ?? c.client_secret,
    allowHttp: true,
    ...(options.jwksCache ? { jwksCache: options.jwksCache } : {}),
  });
}

/** An authorization request of `rp`, signed in at the IdP as `account`: the callback URL and its checks. */
async function signIn(
  rp: OidcClient,
  account: string | IdpAccount = ADA.email ?? '',
  options: { groupsClaim?: string | null; extra?: Record<string, string> } = {},
): Promise<{ callbackUrl: URL; checks: OidcCallbackChecks }> {
  const checks: OidcCallbackChecks = {
    redirectUri: REDIRECT,
    expectedState: randomState(),
    expectedNonce: randomNonce(),
    codeVerifier: randomCodeVerifier(),
    groupsClaim: options.groupsClaim === undefined ? 'groups' : options.groupsClaim,
  };
  const url = rp.authorizationUrl({
    redirectUri: REDIRECT,
    scopes: ['email', 'profile'],
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    codeVerifier: checks.codeVerifier,
  });
  for (const [k, v] of Object.entries(options.extra ?? {})) url.searchParams.set(k, v);
  return { callbackUrl: await idp.login(url, account), checks };
}

describe('discoverOidc', () => {
  it('fetches the discovery document through the guard and returns it as plain JSON', async () => {
    const outbound = recordingOutbound();
    const found = await discoverOidc(outbound, idp.issuer, { allowHttp: true });
    expect(outbound.urls).toEqual(['GET /.well-known/openid-configuration']);
    expect(found).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${idp.issuer}/auth`,
      token_endpoint: `${idp.issuer}/token`,
      jwks_uri: `${idp.issuer}/jwks`,
      userinfo_endpoint: `${idp.issuer}/me`,
    });
    // What the caller stores as jsonb and reads back is the same document.
    expect(JSON.parse(JSON.stringify(found))).toEqual(found);
  });

  it('refuses an http issuer unless allowed, before any request', async () => {
    const outbound = recordingOutbound();
    const err = await failure(discoverOidc(outbound, idp.issuer, { allowHttp: false }));
    expect(err).toBeInstanceOf(SsoIdpError);
    expect(err).toMatchObject({ code: 'idp_invalid', status: 400, reason: 'issuer_not_https' });
    expect(outbound.urls).toEqual([]);
  });

  it('says idp_unreachable when nothing listens at the issuer', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const err = await failure(
      discoverOidc(recordingOutbound(), `http://127.0.0.1:${port}`, { allowHttp: true }),
    );
    expect(err).toMatchObject({ code: 'idp_unreachable', status: 400, reason: 'connect' });
    expect((err as Error).message).toMatch(/connection failed/);
  });

  it('lets the guard refuse a private address, decided before any connection', async () => {
    const err = await failure(discoverOidc(createOutbound(), 'https://10.0.0.1', { allowHttp: false }));
    expect(err).toMatchObject({ code: 'idp_unreachable', status: 400, reason: 'not_allowed' });
    expect((err as Error).message).toMatch(/private/);
  });

  it('does not tell which internal address a name resolved to', async () => {
    const outbound = createOutbound({ lookup: async () => [{ address: '10.1.2.3', family: 4 }] });
    const err = await failure(discoverOidc(outbound, 'https://idp.corp.example', { allowHttp: false }));
    expect(err).toMatchObject({ code: 'idp_unreachable', reason: 'not_allowed' });
    expect((err as Error).message).toMatch(/private/);
    expect((err as Error).message).not.toContain('10.1.2.3');
  });

  it('lets the guard refuse loopback when it is not allowlisted: the IdP sees no request', async () => {
    const before = idp.requests.length;
    const err = await failure(
      discoverOidc(createOutbound({ allowHttp: true }), idp.issuer, { allowHttp: true }),
    );
    expect(err).toMatchObject({ code: 'idp_unreachable', reason: 'not_allowed' });
    expect(idp.requests.length).toBe(before);
  });

  describe('against a server that is not quite an IdP', () => {
    let receiver: LoopbackReceiver;
    beforeAll(async () => {
      receiver = await startLoopbackReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });
    const serve = (doc: unknown, status = 200, type = 'application/json') =>
      receiver.answer(() => ({
        status,
        body: typeof doc === 'string' ? doc : JSON.stringify(doc),
        headers: { 'content-type': type },
      }));
    const documentFor = (issuer: string) => ({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const discover = () => discoverOidc(recordingOutbound(), receiver.url, { allowHttp: true });

    it('accepts a complete document', async () => {
      serve(documentFor(receiver.url));
      await expect(discover()).resolves.toMatchObject({ issuer: receiver.url });
      expect(receiver.requests.at(-1)?.path).toBe('/.well-known/openid-configuration');
    });

    it('refuses a document naming another issuer (idp_invalid)', async () => {
      serve(documentFor('https://idp.other.example'));
      const err = await failure(discover());
      expect(err).toMatchObject({ code: 'idp_invalid', reason: 'issuer_mismatch' });
    });

    it('refuses an issuer that differs only by a trailing slash (the match is exact)', async () => {
      serve(documentFor(`${receiver.url}/`));
      expect(await failure(discover())).toMatchObject({ code: 'idp_invalid', reason: 'issuer_mismatch' });
    });

    it('refuses a document without a token endpoint', async () => {
      const { token_endpoint: _, ...doc } = documentFor(receiver.url);
      serve(doc);
      const err = await failure(discover());
      expect(err).toMatchObject({ code: 'idp_invalid', reason: 'missing_endpoint' });
      expect((err as Error).message).toMatch(/token_endpoint/);
    });

    it('refuses an IdP without the code flow', async () => {
      serve({ ...documentFor(receiver.url), response_types_supported: ['id_token'] });
      expect(await failure(discover())).toMatchObject({
        code: 'idp_invalid',
        reason: 'code_flow_unsupported',
      });
    });

    it('refuses an IdP that takes no client secret', async () => {
      serve({ ...documentFor(receiver.url), token_endpoint_auth_methods_supported: ['private_key_jwt'] });
      expect(await failure(discover())).toMatchObject({
        code: 'idp_invalid',
        reason: 'client_auth_unsupported',
      });
    });

    it('says idp_unreachable with the status when the document is not there', async () => {
      serve('not here', 404, 'text/plain');
      const err = await failure(discover());
      expect(err).toMatchObject({ code: 'idp_unreachable', reason: 'http_status' });
      expect((err as Error).message).toMatch(/HTTP 404/);
    });

    it('refuses a page that is not a discovery document', async () => {
      serve('<html>Welcome</html>', 200, 'text/html');
      expect(await failure(discover())).toMatchObject({
        code: 'idp_invalid',
        reason: 'not_discovery_document',
      });
    });

    it('does not follow a redirect', async () => {
      receiver.answer(() => ({
        status: 302,
        headers: { location: `${idp.issuer}/.well-known/openid-configuration` },
      }));
      const before = idp.requests.length;
      expect(await failure(discover())).toMatchObject({ code: 'idp_unreachable', reason: 'http_status' });
      expect(idp.requests.length).toBe(before);
    });
  });
});

describe('oidcClient', () => {
  it('builds the authorization request from the stored document, fetching nothing', async () => {
    const outbound = recordingOutbound();
    const rp = clientFor(outbound);
    const url = rp.authorizationUrl({
      redirectUri: REDIRECT,
      scopes: ['email', 'profile'],
      state: 'state-1',
      nonce: 'nonce-1',
      codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    });
    expect(outbound.urls).toEqual([]);
    expect(url.origin + url.pathname).toBe(metadata.authorization_endpoint);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: CLIENT_A.client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid email profile',
      state: 'state-1',
      nonce: 'nonce-1',
      // RFC 7636 appendix B: this verifier's S256 challenge.
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
  });

  it('signs someone in end to end: code exchange, ID token, identity, every request through the guard', async () => {
    const outbound = recordingOutbound();
    const rp = clientFor(outbound);
    const { callbackUrl, checks } = await signIn(rp);
    expect(callbackUrl.href.startsWith(`${REDIRECT}?`)).toBe(true);
    expect(callbackUrl.searchParams.get('state')).toBe(checks.expectedState);

    const identity = await rp.callback(callbackUrl, checks);
    expect(identity).toEqual({
      issuer: idp.issuer,
      subject: ADA.sub,
      email: ADA.email,
      emailVerified: true,
      name: ADA.name,
      groups: ['engineering', 'security'],
    });
    // The ID token carried everything: no userinfo call; its signature was checked against the JWKS.
    expect(outbound.urls).toEqual(['POST /token', 'GET /jwks']);
  });

  it('reads the callback on the redirect_uri it sent, whatever host the callback reached', async () => {
    const rp = clientFor(recordingOutbound());
    const { callbackUrl, checks } = await signIn(rp);
    const behindProxy = new URL(`http://10.1.2.3:8080/sso/acme/oidc/callback${callbackUrl.search}`);
    await expect(rp.callback(behindProxy, checks)).resolves.toMatchObject({ subject: ADA.sub });
  });

  it('signs in with a client the IdP was given after it started', async () => {
    const late = {
      client_id: 'gatehouse-late',
      client_secret: 'secret-late-0123456789',
      redirect_uris: [REDIRECT],
    };
    await idp.addClient(late);
    const rp = clientFor(recordingOutbound(), { client: late });
    const { callbackUrl, checks } = await signIn(rp);
    await expect(rp.callback(callbackUrl, checks)).resolves.toMatchObject({ subject: ADA.sub });
  });

  it('keeps the key set between sign-ins when given a cache', async () => {
    const outbound = recordingOutbound();
    const jwksCache = createOidcJwksCache();
    for (let i = 0; i < 2; i++) {
      const rp = clientFor(outbound, { jwksCache });
      const { callbackUrl, checks } = await signIn(rp);
      await rp.callback(callbackUrl, checks);
    }
    expect(outbound.urls).toEqual(['POST /token', 'GET /jwks', 'POST /token']);
  });

  describe('claims', () => {
    it('says emailVerified false when the IdP says nothing about it', async () => {
      const outbound = recordingOutbound();
      const rp = clientFor(outbound);
      const { email_verified: _, ...unverified } = {
        ...ADA,
        sub: 'no-verified-claim',
        email: 'nv@example.com',
      };
      const { callbackUrl, checks } = await signIn(rp, unverified);
      const identity = await rp.callback(callbackUrl, checks);
      expect(identity).toMatchObject({ email: 'nv@example.com', emailVerified: false });
      // Userinfo was asked too, and did not say it either.
      expect(outbound.urls).toContain('GET /me');
    });

    it('says emailVerified false when the IdP says false', async () => {
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp, {
        ...ADA,
        sub: 'verified-false',
        email: 'vf@example.com',
        email_verified: false,
      });
      expect(await rp.callback(callbackUrl, checks)).toMatchObject({
        email: 'vf@example.com',
        emailVerified: false,
      });
    });

    it.each([
      ['one string', 'admins', ['admins']],
      ['a list with duplicates', ['a', 'b', 'a'], ['a', 'b']],
      ['a number', 42, []],
      ['an object', { admins: true }, []],
      ['a list with a non-string', ['a', 7], []],
    ])('reads a groups claim that is %s', async (_what, groups, expected) => {
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp, { ...ADA, sub: `groups-${String(_what)}`, groups });
      expect((await rp.callback(callbackUrl, checks)).groups).toEqual(expected);
    });

    it('reads groups from the claim configured, and none when none is', async () => {
      const account = { ...ADA, sub: 'roles-claim', roles: ['owners'] };
      const rp = clientFor(recordingOutbound());
      const roles = await signIn(rp, account, { groupsClaim: 'roles' });
      expect((await rp.callback(roles.callbackUrl, roles.checks)).groups).toEqual(['owners']);
      const none = await signIn(rp, account, { groupsClaim: null });
      expect((await rp.callback(none.callbackUrl, none.checks)).groups).toEqual([]);
    });

    it('takes email, name and groups from userinfo when the ID token has only the subject', async () => {
      const strict = await startOidcIdp({ clients: [CLIENT_A], accounts: [ADA], claimsIn: 'userinfo' });
      try {
        const outbound = recordingOutbound();
        const meta = await discoverOidc(outbound, strict.issuer, { allowHttp: true });
        const rp = clientFor(outbound, { meta });
        const checks: OidcCallbackChecks = {
          redirectUri: REDIRECT,
          expectedState: randomState(),
          expectedNonce: randomNonce(),
          codeVerifier: randomCodeVerifier(),
          groupsClaim: 'groups',
        };
        const url = rp.authorizationUrl({
          redirectUri: REDIRECT,
          scopes: ['email', 'profile'],
          state: checks.expectedState,
          nonce: checks.expectedNonce,
          codeVerifier: checks.codeVerifier,
        });
        const identity = await rp.callback(await strict.login(url, ADA.sub), checks);
        expect(identity).toEqual({
          issuer: strict.issuer,
          subject: ADA.sub,
          email: ADA.email,
          emailVerified: true,
          name: ADA.name,
          groups: ['engineering', 'security'],
        });
        expect(outbound.urls).toEqual([
          'GET /.well-known/openid-configuration',
          'POST /token',
          'GET /jwks',
          'GET /me',
        ]);
      } finally {
        await strict.close();
      }
    });
  });

  describe('refuses', () => {
    const expectLoginFailure = async (promise: Promise<unknown>, reason: string, status?: number) => {
      const err = await failure(promise);
      expect(err).toBeInstanceOf(SsoLoginError);
      expect(err).toMatchObject({ code: 'sso_failed', reason, ...(status ? { status } : {}) });
      return err as SsoLoginError;
    };

    it('a callback whose state is not the sign-in’s, before calling the token endpoint', async () => {
      const outbound = recordingOutbound();
      const rp = clientFor(outbound);
      const { callbackUrl, checks } = await signIn(rp);
      await expectLoginFailure(
        rp.callback(callbackUrl, { ...checks, expectedState: randomState() }),
        'state_mismatch',
        401,
      );
      const stateless = new URL(callbackUrl);
      stateless.searchParams.delete('state');
      await expectLoginFailure(rp.callback(stateless, checks), 'state_mismatch');
      expect(outbound.urls).toEqual([]);
    });

    it('an ID token whose nonce is not the sign-in’s', async () => {
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp);
      await expectLoginFailure(
        rp.callback(callbackUrl, { ...checks, expectedNonce: randomNonce() }),
        'nonce_mismatch',
        401,
      );
    });

    it('an ID token without a nonce', async () => {
      idp.tamperIdToken(({ nonce: _, ...claims }) => claims);
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp);
      await expectLoginFailure(rp.callback(callbackUrl, checks), 'nonce_mismatch');
    });

    it('a code used twice (the same callback replayed)', async () => {
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp);
      await expect(rp.callback(callbackUrl, checks)).resolves.toMatchObject({ subject: ADA.sub });
      await expectLoginFailure(rp.callback(callbackUrl, checks), 'invalid_grant', 401);
    });

    it('a code issued to another client of the IdP', async () => {
      const ours = clientFor(recordingOutbound());
      const theirs = clientFor(recordingOutbound(), { client: CLIENT_B });
      // The other client's sign-in; the callback is handed to ours (with its state, as an attacker would).
      const { callbackUrl, checks } = await signIn(theirs);
      await expectLoginFailure(ours.callback(callbackUrl, checks), 'invalid_grant');
    });

    it('a code with the wrong PKCE verifier', async () => {
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp);
      await expectLoginFailure(
        rp.callback(callbackUrl, { ...checks, codeVerifier: randomCodeVerifier() }),
        'invalid_grant',
      );
    });

    it.each([
      ['for another audience', (c: Record<string, unknown>) => ({ ...c, aud: CLIENT_B.client_id }), false],
      [
        'from another issuer',
        (c: Record<string, unknown>) => ({ ...c, iss: 'https://idp.other.example' }),
        false,
      ],
      ['expired', (c: Record<string, unknown>) => ({ ...c, iat: 1_000_000_000, exp: 1_000_000_600 }), false],
      ['signed with a key the IdP never published', (c: Record<string, unknown>) => c, true],
    ] as const)('an ID token %s', async (_what, tamper, foreignKey) => {
      idp.tamperIdToken(tamper, { foreignKey });
      const rp = clientFor(recordingOutbound());
      const { callbackUrl, checks } = await signIn(rp);
      await expectLoginFailure(rp.callback(callbackUrl, checks), 'id_token_invalid', 401);
    });

    it('a callback naming another issuer (a mix-up)', async () => {
      const outbound = recordingOutbound();
      const rp = clientFor(outbound);
      const { callbackUrl, checks } = await signIn(rp);
      const mixedUp = new URL(callbackUrl);
      mixedUp.searchParams.set('iss', 'https://idp.other.example');
      await expectLoginFailure(rp.callback(mixedUp, checks), 'issuer_mismatch');
      expect(outbound.urls).toEqual([]);
    });

    it('an error the IdP sent back, keeping its code', async () => {
      const rp = clientFor(recordingOutbound());
      // prompt=none without a session at the IdP: it answers login_required.
      const { callbackUrl, checks } = await signIn(rp, ADA.email, { extra: { prompt: 'none' } });
      expect(callbackUrl.searchParams.get('error')).toBe('login_required');
      const err = await expectLoginFailure(rp.callback(callbackUrl, checks), 'idp_error', 400);
      expect(err.idpError).toBe('login_required');
    });

    it('a wrong client secret, and does not repeat it', async () => {
      const rp = clientFor(recordingOutbound(), { secret: 'not-the-secret' });
      const { callbackUrl, checks } = await signIn(rp);
      const err = await expectLoginFailure(rp.callback(callbackUrl, checks), 'invalid_client');
      expect(JSON.stringify({ message: err.message, params: err.params })).not.toContain('not-the-secret');
    });

    it('a token endpoint the guard does not allow, without connecting to it', async () => {
      const rp = clientFor(recordingOutbound(), {
        meta: { ...metadata, token_endpoint: 'https://10.0.0.1/token' },
      });
      const { callbackUrl, checks } = await signIn(rp);
      const err = await expectLoginFailure(rp.callback(callbackUrl, checks), 'idp_unreachable');
      expect(err.outboundReason).toBe('not_allowed');
    });
  });
});
