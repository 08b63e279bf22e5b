import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Permission } from '../../../contracts/permissions.ts';
import type { AccessResolver, OrgAccess } from '../access/access.ts';
import { isAllowed } from '../access/cidr.ts';
import type { Actor } from '../actor.ts';
import type { DeniedRecorder } from '../audit/denied.ts';
import type { Invocation } from '../command.ts';
import {
  AppError,
  assertFound,
  NotFoundError,
  OrgSuspendedError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '../errors/app-error.ts';
import { type RouteAccess, routeCommands, routeWrites } from '../http/route-policy.ts';
import { type ResolvedSession, type SessionService, sessionSatisfiesTwoFactor } from './sessions.ts';
import type { TokenEntry, TokenService } from './tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
    /** Set when the request carries a live session cookie. */
    session: ResolvedSession | undefined;
    /** On org-scoped routes: the caller's membership and permissions in the `:orgId` org. */
    access: OrgAccess | undefined;
    /** Set when the request carries a live API token. */
    apiToken: TokenEntry | undefined;
    /** The actor and request facts a command needs. */
    invocation(): Invocation;
  }
}

const ANONYMOUS: Actor = Object.freeze({ type: 'anonymous' });

export class ForbiddenOriginError extends AppError {
  constructor() {
    super(
      403,
      'forbidden_origin',
      'Forbidden origin',
      'State-changing requests from another site are refused.',
    );
  }
}

/**
 * Cross-site request forgery defence for cookie-authenticated requests: a state-changing request
 * whose Origin (or, failing that, Referer / Sec-Fetch-Site) shows another site, or another
 * origin of this site that is not allowed, is refused.
 * Requests with neither header come from non-browser clients, which cannot be made to carry a
 * victim's cookie.
 */
export function isForeignOrigin(request: FastifyRequest, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  const ownOrigin = `${request.protocol}://${request.host}`;
  const isAllowed = (o: string) => allowed.has(o) || o === ownOrigin;
  if (typeof origin === 'string' && origin !== '') {
    if (origin === 'null') return true;
    return !isAllowed(origin);
  }
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite === 'cross-site') return true;
  const referer = request.headers.referer;
  if (typeof referer === 'string' && referer !== '') {
    try {
      return !isAllowed(new URL(referer).origin);
    } catch {
      return true;
    }
  }
  // Another origin of this site (a sibling subdomain, whose requests Lax cookies go with) that
  // does not say which: it is not known to be allowed.
  return fetchSite === 'same-site';
}

/** The organization's IP allowlist does not cover the request's address (as TRUST_PROXY reads it). */
export class IpNotAllowedError extends AppError {
  constructor() {
    super(
      403,
      'ip_not_allowed',
      'Address not allowed',
      "This organization accepts requests only from the addresses on its allowlist, and this request's address is not on it.",
    );
  }
}

/**
 * The organization requires two-factor authentication of its members, and this request's proof
 * has none: no TOTP on the account, and not a passkey sign-in (or, for a personal token, no
 * passkey on the account).
 */
export class TwoFactorRequiredError extends AppError {
  constructor() {
    super(
      403,
      'two_factor_required',
      'Two-factor authentication required',
      'This organization requires its members to use two-factor authentication or a passkey. Turn two-factor authentication on for your account, or sign in with a passkey, then try again.',
    );
  }
}

/**
 * The organization enforces SSO and this session was not signed in through its identity
 * provider: the member signs in there (`loginUrl`), or an operator grants break-glass.
 */
export class SsoRequiredError extends AppError {
  constructor(loginUrl: string) {
    super(
      403,
      'sso_required',
      'Single sign-on required',
      'This organization requires its members to sign in through its identity provider. Sign in with SSO, then try again.',
      { params: { loginUrl }, extensions: { loginUrl } },
    );
  }
}

/**
 * Enforced SSO: a session signed in any other way (password, passkey, another org's IdP) does not
 * reach the org, unless an operator's break-glass lets this member through for now. Asked on the
 * org's routes, and wherever a session mints a credential for the org (a personal token would
 * otherwise carry a password session past enforcement).
 */
export function assertSsoSatisfied(access: OrgAccess, ssoOrgId: string | null): void {
  const sso = access.policy?.sso;
  if (sso && ssoOrgId !== access.orgId && !sso.bypass) throw new SsoRequiredError(sso.loginUrl);
}

export function readSessionCookie(request: FastifyRequest, name: string): string | undefined {
  const value = request.cookies?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export class SessionRequiredError extends AppError {
  constructor(detail = 'This action needs a signed-in session; API tokens cannot perform it.') {
    super(403, 'session_required', 'Session required', detail);
  }
}

class ReadOnlyTokenError extends AppError {
  constructor() {
    super(
      403,
      'permission_denied',
      'Permission denied',
      'This token has the read scope: it cannot change anything.',
    );
  }
}

/** A route for people's own tools (MCP) called with an organization's automation token. */
class PersonalTokenRequiredError extends AppError {
  constructor() {
    super(
      403,
      'permission_denied',
      'Permission denied',
      'Only personal API tokens can call this route; automation tokens cannot.',
    );
  }
}

/** Every bearer failure answers the same: an unknown, revoked, expired and malformed token look alike. */
class InvalidTokenError extends UnauthenticatedError {
  constructor() {
    super('The bearer token is not valid.');
    this.headers['www-authenticate'] = 'Bearer error="invalid_token"';
  }
}

export interface AuthenticationOptions {
  sessions: SessionService;
  tokens: TokenService;
  access: AccessResolver;
  allowedOrigins: ReadonlySet<string>;
  /** The session cookie's name (see sessionCookieName). */
  sessionCookie: string;
  /** Told of each member refused for lacking a route's permission, before the 403 is sent. */
  onDenied?: DeniedRecorder;
}

/**
 * Authentication for every route, before the body is read: public routes pass, everything else
 * needs a live session or API token (`authenticateBearer`), org routes need
 * active membership of the path's `:orgId` and the declared permission (the role's set). Unknown paths (404) run no route hook: they answer 404
 * to everyone, since route existence is no secret worth a 401.
 */
export function installAuthentication(app: FastifyInstance, options: AuthenticationOptions): void {
  app.decorateRequest('actor', undefined as never);
  app.decorateRequest('session', undefined);
  app.decorateRequest('access', undefined);
  app.decorateRequest('apiToken', undefined);
  app.decorateRequest('invocation', function (this: FastifyRequest): Invocation {
    return {
      actor: this.actor,
      ...(this.access ? { access: this.access } : {}),
      meta: {
        ip: this.ip ?? null,
        userAgent: this.headers['user-agent']?.slice(0, 512) ?? null,
        requestId: this.id,
      },
      route: `${this.method} ${this.routeOptions.url ?? ''}`,
      ...(this.routeOptions.config.permission
        ? { routePermission: this.routeOptions.config.permission }
        : {}),
      routeCommands: routeCommands(this.routeOptions.config) ?? [],
    };
  });

  // Each route gets its own hook with its declared access captured once, at registration: public
  // routes do no session work unless a cookie is sent, and nothing is looked up per request.
  app.addHook('onRoute', (route) => {
    const access = (route.config ?? {}) as RouteAccess;
    const hook = async (request: FastifyRequest) => authenticate(request, access, options);
    const existing = route.onRequest;
    route.onRequest = existing ? [hook, ...(Array.isArray(existing) ? existing : [existing])] : [hook];
  });

  // The automation tokens' usage log: every answer a live automation token got, refusals included.
  app.addHook('onResponse', async (request, reply) => {
    const token = request.apiToken;
    if (token?.kind !== 'automation') return;
    const path = request.url.split('?', 1)[0]!;
    options.tokens.recordUsage({
      orgId: token.orgId,
      tokenId: token.id,
      at: new Date(),
      ip: request.ip ?? null,
      method: request.method,
      route: path.length > 512 ? path.slice(0, 512) : path,
      status: reply.statusCode,
    });
  });
}

async function authenticate(
  request: FastifyRequest,
  access: RouteAccess,
  options: AuthenticationOptions,
): Promise<void> {
  request.actor = ANONYMOUS;
  // A bearer request carries its credential in a header no other site can make a browser send:
  // it needs no cookie and no origin check (and any cookie it carries is ignored).
  const authorization = request.headers.authorization;
  // Only the Bearer scheme carries a token: another (a proxy's Basic credentials) leaves the cookie in charge.
  if (authorization !== undefined && !access.public && BEARER_SCHEME.test(authorization)) {
    return authenticateBearer(request, authorization, access, options);
  }
  if (access.personalTokenOnly) {
    throw new UnauthenticatedError(
      'Send a personal API token as a bearer token; sessions cannot call this route.',
    );
  }
  // Origin check first and for every request that may write, whatever its method (a GET that
  // records an export too): login CSRF is a thing too.
  if (
    routeWrites(request.method, access) &&
    !access.crossSite &&
    isForeignOrigin(request, options.allowedOrigins)
  ) {
    throw new ForbiddenOriginError();
  }
  const token = readSessionCookie(request, options.sessionCookie);
  if (token) {
    const resolved = await options.sessions.resolve(token);
    if (resolved) {
      request.session = resolved;
      request.actor = {
        type: 'user',
        userId: resolved.user.id,
        email: resolved.user.email,
        sessionId: resolved.session.id,
      };
    }
  }
  if (access.public) return;
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  if (access.permission) {
    const orgId = pathOrgId(request);
    const resolved = await options.access.resolve(orgId, request.actor.userId);
    assertFound(resolved, 'organization');
    const { user, session } = request.session!;
    await authorize(
      request,
      resolved,
      access.permission,
      options,
      // Signed in through the org's own IdP: the second factor is the IdP's to ask for.
      () => session.ssoOrgId === orgId || sessionSatisfiesTwoFactor(user, session),
      session.ssoOrgId,
    );
  }
}

/**
 * Not a member (or no such org, or a malformed id): 404 alike, so existence does not leak. A
 * member without the permission: 403.
 */
function pathOrgId(request: FastifyRequest): string {
  const orgId = (request.params as { orgId?: unknown }).orgId;
  if (typeof orgId !== 'string' || !UUID.test(orgId)) throw new NotFoundError('organization');
  return orgId.toLowerCase();
}

/**
 * The member (or token) may see the org: now its policy, then the route's permission. The
 * allowlist comes first (cookie and bearer alike): a request from elsewhere learns nothing more
 * about the org, not even that it is suspended. `twoFactor` says whether the person's proof meets
 * require-2FA (asked only of an org that requires it), or is undefined for an automation token,
 * which belongs to the org and is not held by require-2FA.
 */
async function authorize(
  request: FastifyRequest,
  resolved: OrgAccess,
  permission: Permission,
  options: AuthenticationOptions,
  twoFactor: (() => boolean | Promise<boolean>) | undefined,
  /** For a session: the org whose IdP signed it in (null: none). Undefined for an API token. */
  ssoOrgId?: string | null,
): Promise<void> {
  const policy = resolved.policy;
  if (policy?.allowlist && !isAllowed(policy.allowlist, request.ip)) {
    const { actor, meta, route } = request.invocation();
    await options.onDenied?.({
      actor,
      meta,
      access: resolved,
      permission,
      route: route!,
      reason: 'ip_not_allowed',
    });
    throw new IpNotAllowedError();
  }
  // Suspended by an operator: every member and token is told so, whatever the route asks for
  // (those who may not see the org got their 404 before this).
  if (resolved.suspended) throw new OrgSuspendedError();
  // Not audited: the member's own set-up is unfinished, which is no attempt at anything (and the
  // console asks again on every page until it is done).
  // Enforced SSO holds sessions only: a token is not held by it (README, "Single sign-on").
  if (ssoOrgId !== undefined) assertSsoSatisfied(resolved, ssoOrgId);
  if (policy?.require2fa && twoFactor && !(await twoFactor())) throw new TwoFactorRequiredError();
  if (!resolved.permissions.has(permission)) {
    const { actor, meta, route } = request.invocation();
    await options.onDenied?.({ actor, meta, access: resolved, permission, route: route! });
    throw new PermissionDeniedError(permission);
  }
  request.access = resolved;
}

const BEARER_SCHEME = /^bearer(?: |$)/i;
const BEARER = /^Bearer +([^\s]+) *$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * `Authorization: Bearer <token>`. A personal token acts as its owner in its one organization,
 * with the owner's current role there narrowed by the token's scopes; an automation token acts
 * with its role, narrowed the same way. Both are decided afresh on every request from caches that
 * every revocation, removal and role change drops at once. Outside its organization a token sees
 * nothing (404); account routes take personal tokens for reading only.
 */
async function authenticateBearer(
  request: FastifyRequest,
  authorization: string,
  access: RouteAccess,
  options: AuthenticationOptions,
): Promise<void> {
  const match = BEARER.exec(authorization);
  const token = match ? await options.tokens.resolve(match[1]!, request.ip ?? null) : undefined;
  if (!token) throw new InvalidTokenError();
  let twoFactor: (() => boolean | Promise<boolean>) | undefined;
  if (token.kind === 'personal') {
    const user = await options.sessions.user(token.userId!);
    if (!user) throw new InvalidTokenError();
    // A token shows no sign-in: its owner qualifies by what the account holds, TOTP or a passkey
    // (looked up only when an org requiring 2FA asks, and TOTP is off).
    twoFactor = () => user.twoFactorEnabled || options.sessions.hasPasskey(user.id);
    request.actor = { type: 'user', userId: user.id, email: user.email, tokenId: token.id };
  } else {
    request.actor = { type: 'token', tokenId: token.id, orgId: token.orgId, name: token.name };
  }
  request.apiToken = token;
  if (access.sessionOnly) throw new SessionRequiredError();
  if (access.authenticated) {
    if (token.kind === 'automation') {
      if (access.personalTokenOnly) throw new PersonalTokenRequiredError();
      throw new SessionRequiredError('This route acts on a user account; automation tokens cannot call it.');
    }
    // Each thing such a route does is a request of its own, authorized there.
    if (access.personalTokenOnly) return;
    if (!SAFE_METHODS.has(request.method)) {
      throw new SessionRequiredError('Personal tokens can read account routes but not change them.');
    }
    return;
  }
  if (!access.permission) return;
  const orgId = pathOrgId(request);
  if (orgId !== token.orgId) throw new NotFoundError('organization');
  if (token.readOnly && !SAFE_METHODS.has(request.method)) throw new ReadOnlyTokenError();
  const resolved =
    token.kind === 'personal'
      ? await options.access.resolve(orgId, token.userId!)
      : await options.access.resolveRole(orgId, token.roleId!);
  assertFound(resolved, 'organization');
  const permissions = options.tokens.effective(token, resolved.permissions);
  await authorize(
    request,
    { ...resolved, tokenId: token.id, permissions },
    access.permission,
    options,
    twoFactor,
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
