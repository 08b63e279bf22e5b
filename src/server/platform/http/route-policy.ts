import type { FastifyInstance, RouteOptions } from 'fastify';
import { isPermission, type Permission } from '../../../contracts/permissions.ts';
import type { AnyCommand } from '../command.ts';

/**
 * What a route requires, declared in its `config`. Exactly one of:
 * - `public: true`        anyone, signed in or not (health, sign-up, login, docs);
 * - `authenticated: true` any signed-in principal, acting on itself (`/me`);
 * - `permission: 'x:y'`   a member of the `:orgId` in the path who holds that permission.
 * A route that runs commands names them in `command`; the permission they require is the route's,
 * so an org route that runs a command declares the command alone and takes its permission.
 */
export interface RouteAccess {
  public?: true;
  authenticated?: true;
  permission?: Permission;
  /**
   * The command, or commands, the route's handler runs (`[]`: none). They must all require the
   * route's permission (none on public and authenticated routes); checked while the app is built,
   * and again by the runner for each command a request runs.
   */
  command?: AnyCommand | readonly AnyCommand[];
  /** Refuse bearer tokens: only an interactive session may call this route. */
  sessionOnly?: true;
  /**
   * With `authenticated`: only a personal API token, sent as a bearer, may call this route, with
   * any method (cookies and automation tokens are refused). For endpoints that act by calling
   * the API again with the same token (MCP), where each call is authorized as a request of its
   * own.
   */
  personalTokenOnly?: true;
  /**
   * This route changes something (appends to the audit log, signs, sends) although its method is
   * safe (a GET that records an export). Routes with unsafe methods write whatever they declare.
   * Cookie-authenticated requests to a writing route from another site are refused.
   */
  writes?: true;
  /**
   * Another site's page sends this request by design (an identity provider's answer: the OIDC
   * redirect back, SAML's POST binding), so the origin check does not apply. The route proves
   * the request itself instead: an answer signed by the IdP, to a sign-in this server started,
   * in the browser that started it.
   */
  crossSite?: true;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether a request with this method to a route with this config may change something. */
export function routeWrites(method: string, access: RouteAccess): boolean {
  return access.writes === true || UNSAFE_METHODS.has(method);
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
}

export interface RouteInventoryEntry {
  method: string;
  url: string;
  access: 'public' | 'authenticated' | Permission;
  sessionOnly: boolean;
  /** Whether the route may change something (see RouteAccess.writes). */
  writes: boolean;
}

/** The reference UI's own asset routes, registered by @fastify/swagger-ui. */
const DOCUMENTATION_PREFIX = '/docs';

export class RoutePolicyError extends Error {}

function describe(route: RouteOptions): string {
  const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
  return `${methods} ${route.url}`;
}

/** The commands a route declares it runs, or undefined when it declares none. */
export function routeCommands(access: RouteAccess): readonly AnyCommand[] | undefined {
  return access.command === undefined ? undefined : ([] as AnyCommand[]).concat(access.command);
}

const requirement = (permission: Permission | undefined) =>
  permission === undefined ? 'no permission' : `"${permission}"`;

/**
 * The route's declared access with the permission its commands require: declared once, on the
 * command. Stops the build when the route declares another, or its commands disagree.
 */
function withCommandPermission(route: RouteOptions, declared: RouteAccess): RouteAccess {
  const commands = routeCommands(declared);
  if (!commands || commands.length === 0) return declared;
  const [first, ...rest] = commands as [AnyCommand, ...AnyCommand[]];
  const other = rest.find((c) => c.permission !== first.permission);
  if (other) {
    throw new RoutePolicyError(
      `${describe(route)} runs ${first.action}, which requires ${requirement(first.permission)}, and ${other.action}, which requires ${requirement(other.permission)}: a route's commands must require the same permission`,
    );
  }
  const required = first.permission;
  const names = commands.map((c) => c.action).join(', ');
  const declares = declared.public
    ? 'config.public'
    : declared.authenticated
      ? 'config.authenticated'
      : declared.permission !== undefined
        ? `"${declared.permission}"`
        : undefined;
  if (required === undefined) {
    if (declared.permission === undefined) return declared;
    throw new RoutePolicyError(
      `${describe(route)} declares ${declares} but runs ${names}, which requires no permission`,
    );
  }
  if (declares === undefined) return { ...declared, permission: required };
  if (declared.permission === required) return declared;
  throw new RoutePolicyError(
    `${describe(route)} declares ${declares} but runs ${names}, which requires ${requirement(required)}`,
  );
}

/**
 * Deny by default, checked while the app is being built: a route that declares no access rule,
 * or more than one, stops the server from booting. Returns the live inventory of routes.
 */
export function installRoutePolicy(app: FastifyInstance): RouteInventoryEntry[] {
  const inventory: RouteInventoryEntry[] = [];
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as RouteAccess;
    if (route.url === DOCUMENTATION_PREFIX || route.url.startsWith(`${DOCUMENTATION_PREFIX}/`)) {
      route.config = { ...config, public: true };
    }
    const declared = withCommandPermission(route, (route.config ?? {}) as RouteAccess);
    route.config = declared;
    const rules = [
      declared.public === true,
      declared.authenticated === true,
      declared.permission !== undefined,
    ];
    const count = rules.filter(Boolean).length;
    if (count !== 1) {
      throw new RoutePolicyError(
        `${describe(route)} must declare exactly one of config.public, config.authenticated or config.permission (or run a command that requires one)`,
      );
    }
    if (declared.personalTokenOnly && (!declared.authenticated || declared.sessionOnly)) {
      throw new RoutePolicyError(
        `${describe(route)} declares personalTokenOnly without config.authenticated`,
      );
    }
    if (declared.permission !== undefined) {
      if (!isPermission(declared.permission)) {
        throw new RoutePolicyError(`${describe(route)} declares unknown permission "${declared.permission}"`);
      }
      if (!route.url.includes(':orgId')) {
        throw new RoutePolicyError(`${describe(route)} declares a permission but has no :orgId in its path`);
      }
    }
    // The OpenAPI document states what each route requires, from the same declaration.
    if (route.schema && !declared.public) {
      const schema = route.schema as Record<string, unknown>;
      schema.security = declared.sessionOnly
        ? [{ session: [] }]
        : declared.personalTokenOnly
          ? [{ bearer: [] }]
          : [{ session: [] }, { bearer: [] }];
      if (declared.permission) schema['x-permission'] = declared.permission;
    } else if (route.schema) {
      (route.schema as Record<string, unknown>).security = [];
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // A route that may change something says which commands it runs, so the permission it
    // declares can be checked against theirs; a route that runs one is a writing route.
    const commands = routeCommands(declared);
    const writes = methods.some((method) => routeWrites(method, declared));
    if (writes && commands === undefined) {
      throw new RoutePolicyError(
        `${describe(route)} may change something but does not say which command it runs: declare config.command (the command, a list of them, or [] for none)`,
      );
    }
    if (!writes && commands !== undefined && commands.length > 0) {
      throw new RoutePolicyError(
        `${describe(route)} runs ${commands.map((c) => c.action).join(', ')} but does not declare that it writes (config.writes)`,
      );
    }
    for (const method of methods) {
      if (method === 'HEAD') continue;
      inventory.push({
        method,
        url: route.url,
        access: declared.public ? 'public' : declared.authenticated ? 'authenticated' : declared.permission!,
        sessionOnly: declared.sessionOnly === true,
        writes: routeWrites(method, declared),
      });
    }
  });
  return inventory;
}
