import type { FastifyInstance, RouteOptions } from 'fastify';
import { isPermission, type Permission } from '../../../contracts/permissions.ts';

/**
 * What a route requires, declared in its `config`. Exactly one of:
 * - `public: true`        anyone, signed in or not (health, sign-up, login, docs);
 * - `authenticated: true` any signed-in principal, acting on itself (`/me`);
 * - `permission: 'x:y'`   a member of the `:orgId` in the path who holds that permission.
 */
export interface RouteAccess {
  public?: true;
  authenticated?: true;
  permission?: Permission;
  /** Refuse bearer tokens: only an interactive session may call this route. */
  sessionOnly?: true;
  /**
   * This route changes something (appends to the audit log, signs, sends) although its method is
   * safe (a GET that records an export). Routes with unsafe methods write whatever they declare.
   * Cookie-authenticated requests to a writing route from another site are refused.
   */
  writes?: true;
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
    const declared = (route.config ?? {}) as RouteAccess;
    const rules = [
      declared.public === true,
      declared.authenticated === true,
      declared.permission !== undefined,
    ];
    const count = rules.filter(Boolean).length;
    if (count !== 1) {
      throw new RoutePolicyError(
        `${describe(route)} must declare exactly one of config.public, config.authenticated or config.permission`,
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
      schema.security = declared.sessionOnly ? [{ session: [] }] : [{ session: [] }, { bearer: [] }];
      if (declared.permission) schema['x-permission'] = declared.permission;
    } else if (route.schema) {
      (route.schema as Record<string, unknown>).security = [];
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
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
