import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessResolver, OrgAccess } from '../access/access.ts';
import type { DeniedRecorder } from '../audit/denied.ts';
import type { Actor, Invocation } from '../command.ts';
import { AppError, NotFoundError, PermissionDeniedError, UnauthenticatedError } from '../errors/app-error.ts';
import type { RouteAccess } from '../http/route-policy.ts';
import { type ResolvedSession, SESSION_COOKIE, type SessionService } from './sessions.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
    /** Set when the request carries a live session cookie. */
    session: ResolvedSession | undefined;
    /** On org-scoped routes: the caller's membership and permissions in the `:orgId` org. */
    access: OrgAccess | undefined;
    /** The actor and request facts a command needs. */
    invocation(): Invocation;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
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
 * whose Origin (or, failing that, Referer / Sec-Fetch-Site) shows another site is refused.
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
  return false;
}

export function readSessionCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[SESSION_COOKIE];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export interface AuthenticationOptions {
  sessions: SessionService;
  access: AccessResolver;
  allowedOrigins: ReadonlySet<string>;
  /** Told of each member refused for lacking a route's permission, before the 403 is sent. */
  onDenied?: DeniedRecorder;
}

/**
 * Authentication for every route, before the body is read: public routes pass, everything else
 * needs a live session (bearer tokens arrive with the API-token capability), org routes need
 * active membership of the path's `:orgId` and the declared permission (the role's set). Unknown paths (404) run no route hook: they answer 404
 * to everyone, since route existence is no secret worth a 401.
 */
export function installAuthentication(app: FastifyInstance, options: AuthenticationOptions): void {
  app.decorateRequest('actor', undefined as never);
  app.decorateRequest('session', undefined);
  app.decorateRequest('access', undefined);
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
}

async function authenticate(
  request: FastifyRequest,
  access: RouteAccess,
  options: AuthenticationOptions,
): Promise<void> {
  request.actor = ANONYMOUS;
  // Origin check first and for every unsafe method: login CSRF is a thing too.
  if (UNSAFE_METHODS.has(request.method) && isForeignOrigin(request, options.allowedOrigins)) {
    throw new ForbiddenOriginError();
  }
  const token = readSessionCookie(request);
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
    // Not a member (or no such org, or a malformed id): 404 alike, so existence does not leak.
    // A member without the permission: 403.
    const orgId = (request.params as { orgId?: unknown }).orgId;
    if (typeof orgId !== 'string' || !UUID.test(orgId)) throw new NotFoundError('organization');
    const resolved = await options.access.resolve(orgId.toLowerCase(), request.actor.userId);
    if (!resolved) throw new NotFoundError('organization');
    if (!resolved.permissions.has(access.permission)) {
      const { actor, meta, route } = request.invocation();
      await options.onDenied?.({
        actor,
        meta,
        access: resolved,
        permission: access.permission,
        route: route!,
      });
      throw new PermissionDeniedError(access.permission);
    }
    request.access = resolved;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
