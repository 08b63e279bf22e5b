/**
 * A real OpenID Provider for tests: oidc-provider on 127.0.0.1 (a free port), with clients and
 * accounts the test chooses, PKCE required, scopes `openid email profile` (profile carries `name`,
 * `groups` and `roles`), consent granted on the user's behalf.
 *
 * Signing in needs no browser: `login(authorizationUrl, account)` walks the authorization request
 * through the interaction with plain HTTP and a cookie jar, and returns the redirect to the
 * client's redirect_uri without following it. The interaction is also a real HTML page (an
 * `Email` field and a `Sign in` button), so a browser test can click through the same flow.
 *
 * For attack tests: more than one client, accounts whose `email_verified` is false or absent, an
 * IdP that puts claims only in userinfo, and `tamperIdToken` to rewrite (and re-sign, or sign with
 * a key the IdP never published) the ID token the token endpoint returns.
 */
import crypto, { type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContext } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /** Default `client_secret_basic` (oidc-provider's default, and the spec's). */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
}

export interface IdpAccount {
  sub: string;
  email?: string;
  /** Left out: the claim is absent from the ID token and userinfo. */
  email_verified?: boolean;
  name?: string;
  /** Any JSON value, so that tests can send what real IdPs send (a list, one string, nonsense). */
  groups?: unknown;
  roles?: unknown;
}

export interface OidcIdpOptions {
  clients: IdpClient[];
  accounts?: IdpAccount[];
  /**
   * Where the `email` and `profile` claims go. `id_token` (default): in the ID token and userinfo.
   * `userinfo`: only userinfo, as a provider following the spec to the letter does for the code
   * flow (oidc-provider's `conformIdTokenClaims`).
   */
  claimsIn?: 'id_token' | 'userinfo';
}

export type IdTokenTamper = (claims: Record<string, unknown>) => Record<string, unknown>;

export interface OidcIdp {
  /** `http://127.0.0.1:<port>` */
  issuer: string;
  /** Method and path of every request the IdP received, in order. */
  requests: string[];
  setAccount(account: IdpAccount): void;
  addClient(client: IdpClient): Promise<void>;
  /**
   * Signs `account` in (a login name — the email or sub of an account already set — or an account,
   * set first and signed in by its sub) at the authorization request `authorizationUrl`, and returns the URL the IdP
   * redirects the browser to at the client (code and state, or an error). Throws when the IdP
   * answers with anything else (an error page, say).
   */
  login(authorizationUrl: string | URL, account: string | IdpAccount): Promise<URL>;
  /**
   * Rewrites the claims of every ID token the token endpoint returns from now on (null: stop),
   * re-signed with the IdP's own key, or with `foreignKey` a key it never published.
   */
  tamperIdToken(tamper: IdTokenTamper | null, options?: { foreignKey?: boolean }): void;
  close(): Promise<void>;
}

const CLAIMS_SUPPORTED = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'groups', 'roles'],
};

function rsaKey(kid: string): { privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function decodeJwtPart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function loginPage(uid: string, clientId: string, message?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Test IdP: sign in</title></head>
<body>
<main>
<h1>Sign in to ${escapeHtml(clientId)}</h1>
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Email <input name="login" autocomplete="username" autofocus required></label>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>`;
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Cookies by name, as a browser on one host keeps them (paths ignored: the names differ). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = '', val = ''] = a.trim().split('=');
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

export async function startOidcIdp(options: OidcIdpOptions): Promise<OidcIdp> {
  const accounts = new Map<string, IdpAccount>();
  const setAccount = (account: IdpAccount) => accounts.set(account.sub, structuredClone(account));
  for (const account of options.accounts ?? []) setAccount(account);
  const findByLogin = (login: string) =>
    accounts.get(login) ?? [...accounts.values()].find((a) => a.email === login);

  const signing = rsaKey('test-idp-1');
  const foreign = rsaKey('test-idp-1');
  let tamper: { fn: IdTokenTamper; foreignKey: boolean } | null = null;
  const requests: string[] = [];

  // The port comes first: the issuer names it, and the provider is built with the issuer.
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const adapter = createMemoryAdapter();
  const configuration: Configuration = {
    adapter,
    clients: options.clients.map((c) => ({
      ...c,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks: { keys: [signing.jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: CLAIMS_SUPPORTED,
    conformIdTokenClaims: options.claimsIn === 'userinfo',
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => {
          const { sub: _sub, ...rest } = structuredClone(account);
          return { sub, ...rest };
        },
      };
    },
    // Consent is granted on the user's behalf: every scope and claim the client asks for.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      if (!oidc.account) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      const grant =
        (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ??
        new oidc.provider.Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
      grant.addOIDCScope(oidc.requestParamOIDCScopes);
      grant.addOIDCClaims(oidc.requestParamClaims);
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Seconds; set so that oidc-provider does not call its defaults (and say so on every run).
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Grant: 600,
      Session: 600,
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => console.error('test IdP server_error', err));

  provider.use(async (ctx: KoaContext, next) => {
    requests.push(`${ctx.method} ${ctx.path}`);
    const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (interaction) {
      await handleInteraction(ctx, interaction[1] ?? '', interaction[2] === '/login');
      return;
    }
    await next();
    if (tamper && ctx.path === '/token' && ctx.status === 200) {
      const body = ctx.body as { id_token?: string } | undefined;
      if (body?.id_token) {
        const [header, payload] = body.id_token.split('.');
        const claims = tamper.fn(decodeJwtPart(payload));
        body.id_token = signJwt(
          decodeJwtPart(header),
          claims,
          tamper.foreignKey ? foreign.privateKey : signing.privateKey,
        );
      }
    }
  });

  async function handleInteraction(ctx: KoaContext, uid: string, submitted: boolean): Promise<void> {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const clientId = details.params.client_id ?? '';
    ctx.set('cache-control', 'no-store');
    if (!submitted || ctx.method !== 'POST') {
      ctx.type = 'html';
      ctx.body = loginPage(uid, clientId);
      return;
    }
    const form = await readForm(ctx.req);
    const account = findByLogin(form.get('login') ?? '');
    if (!account) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginPage(uid, clientId, 'No account with that email.');
      return;
    }
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  handler = provider.callback();

  return {
    issuer,
    requests,
    setAccount,
    async addClient(client) {
      // Clients the configuration did not list are looked up in the adapter.
      const store = adapter('Client') as { upsert(id: string, payload: unknown): Promise<void> };
      await store.upsert(client.client_id, {
        ...client,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      });
    },
    async login(authorizationUrl, account) {
      if (typeof account !== 'string') setAccount(account);
      const login = typeof account === 'string' ? account : account.sub;
      const jar = new CookieJar();
      const send = async (url: URL, init: RequestInit = {}) => {
        const response = await fetch(url, {
          ...init,
          redirect: 'manual',
          headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
        });
        jar.take(response);
        return response;
      };
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 10; hop++) {
        if (url.origin !== issuer) return url;
        const response = await send(url);
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          url = new URL(location, url);
          continue;
        }
        if (response.status === 200 && url.pathname.startsWith('/interaction/')) {
          await response.arrayBuffer();
          const submitted = await send(new URL(`${url.pathname}/login`, url), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ login }).toString(),
          });
          const next = submitted.headers.get('location');
          if (submitted.status !== 303 || !next) {
            throw new Error(
              `the test IdP refused the login (${submitted.status}): ${await submitted.text()}`,
            );
          }
          url = new URL(next, url);
          continue;
        }
        throw new Error(`the test IdP answered ${response.status}: ${await response.text()}`);
      }
      throw new Error('the test IdP redirected too many times');
    },
    tamperIdToken(fn, tamperOptions = {}) {
      tamper = fn ? { fn, foreignKey: tamperOptions.foreignKey === true } : null;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
