import type { BlockList } from 'node:net';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { isPermission, PERMISSIONS, type Permission } from '../../../contracts/permissions.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { InvalidatingCache, type InvalidationBus } from '../cache/cache.ts';
import type { CommandScope } from '../command-scope.ts';
import type { Db } from '../db/client.ts';
import { liveOrganization } from '../db/live.ts';
import { memberships, organizations, roles, ssoOidc, ssoSaml, ssoSettings } from '../db/schema.ts';
import { assertFound } from '../errors/app-error.ts';
import { allowlistOf } from './cidr.ts';

export const ORGS_CACHE = 'orgs';
export const MEMBERSHIPS_CACHE = 'memberships';
export const ROLES_CACHE = 'roles';

/** Last activity is written at most this often per member: no database write per request. */
const ACTIVITY_WRITE_INTERVAL_MS = 10 * 60_000;

export interface OrgEntry {
  id: string;
  slug: string;
  name: string;
  plan: string;
  /** Suspended by an operator: its members and tokens are refused (403 `org_suspended`). */
  suspended: boolean;
  /** Members without 2FA are refused on its routes (403 `two_factor_required`). */
  require2fa: boolean;
  /** Its members' sessions end after this many idle minutes; null: the installation's timeout. */
  sessionIdleMinutes: number | null;
  /** The addresses its routes answer, parsed once per cached entry; undefined: any address. */
  allowlist: BlockList | undefined;
  /** SSO enforced: members' sessions not signed in through its IdP are refused (403 `sso_required`). */
  ssoEnforced: boolean;
  /** The protocol of its identity provider, if it has one (where `sso_required` sends people). */
  ssoProtocol: 'oidc' | 'saml' | null;
  /** Settings → Language: what members without a choice of their own read the console in. */
  localization: { language: string; timezone: string | null; dateFormat: string };
}

export interface MembershipEntry {
  roleId: string;
  /** Until when (ms) the member may pass enforced SSO (`gatehouse break-glass`); 0: never. */
  ssoBypassUntil: number;
  /** Last activity written to the database (ms). */
  persistedLastActiveAt: number;
}

/**
 * A user's active memberships, by org id: one cache entry per user (a user belongs to few
 * orgs), so a decision looks up the user's id, a string the session already holds, instead of
 * building and hashing an "org:user" key on every request.
 */
export type UserMemberships = Map<string, MembershipEntry>;

export interface RoleEntry {
  id: string;
  orgId: string;
  slug: string;
  permissions: ReadonlySet<Permission>;
}

/** What a member may do in one organization: the answer the access layer gives each request. */
export interface OrgAccess {
  orgId: string;
  /** The organization's display name (messages, alerts). */
  orgName: string;
  /** The member acting; null for an automation token (it belongs to the organization, not a person). */
  userId: string | null;
  /** The API token the request came with, if any (its scopes already narrow `permissions`). */
  tokenId?: string;
  plan: string;
  roleId: string;
  roleSlug: string;
  permissions: ReadonlySet<Permission>;
  /**
   * The organization is suspended by an operator: whoever may see it is told so (403
   * `org_suspended`) whatever the route asks for; set only then.
   */
  suspended?: true;
  /** The organization's security policy, as the request's door enforces it (set by the resolver). */
  policy?: OrgPolicy;
}

/** What an organization's security policy asks of each request to its routes. */
export interface OrgPolicy {
  require2fa: boolean;
  allowlist: BlockList | undefined;
  /**
   * Enforced SSO: where its members sign in (`/sso/{slug}/{protocol}/login`), and whether this
   * member may pass without it for now (break-glass). Unset when the org does not enforce SSO.
   */
  sso?: { loginUrl: string; bypass: boolean };
}

const policyOf = (org: OrgEntry, membership?: MembershipEntry): OrgPolicy => ({
  require2fa: org.require2fa,
  allowlist: org.allowlist,
  ...(org.ssoEnforced
    ? {
        sso: {
          loginUrl: `/sso/${encodeURIComponent(org.slug)}/${org.ssoProtocol ?? 'oidc'}/login`,
          bypass: membership !== undefined && membership.ssoBypassUntil > Date.now(),
        },
      }
    : {}),
});

export const ALL_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSIONS);

/**
 * The permissions a role grants. An Owner holds every permission, whatever is stored (so
 * permissions added to the catalog later reach Owners too); unknown keys (a permission since
 * removed from the catalog) grant nothing.
 */
export function rolePermissions(slug: string, stored: readonly string[]): ReadonlySet<Permission> {
  if (slug === OWNER_ROLE) return ALL_PERMISSIONS;
  return new Set(stored.filter(isPermission));
}

/**
 * Role resolution for org-scoped requests. Three cached facts make a decision: the organization
 * (live, plan), the caller's membership in it (active, role), and the role's permission set. Each
 * is dropped on every instance the moment a command changes it (role change, removal, role edit,
 * deletion), so a change is effective on the member's very next request, and a request for a
 * cached member costs no database round trip.
 */
export class AccessResolver {
  constructor(
    private readonly db: Db,
    private readonly orgCache: InvalidatingCache<OrgEntry>,
    private readonly membershipCache: InvalidatingCache<UserMemberships>,
    private readonly roleCache: InvalidatingCache<RoleEntry>,
    private readonly onError: (err: unknown, msg: string) => void,
  ) {}

  /** The caller's access to the org, or undefined when they are not an active member of a live org. */
  async resolve(orgId: string, userId: string): Promise<OrgAccess | undefined> {
    const org = this.orgCache.get(orgId) ?? (await this.orgCache.load(orgId, () => this.loadOrg(orgId)));
    if (!org) return undefined;
    const userMemberships =
      this.membershipCache.get(userId) ??
      (await this.membershipCache.load(userId, () => this.loadMemberships(userId)));
    const membership = userMemberships?.get(orgId);
    if (!membership) return undefined;
    const role =
      this.roleCache.get(membership.roleId) ??
      (await this.roleCache.load(membership.roleId, () => this.loadRole(orgId, membership.roleId)));
    if (!role) return undefined;
    this.noteActivity(orgId, userId, membership);
    return {
      orgId,
      orgName: org.name,
      userId,
      plan: org.plan,
      roleId: role.id,
      roleSlug: role.slug,
      permissions: role.permissions,
      ...(org.suspended ? { suspended: true as const } : {}),
      policy: policyOf(org, membership),
    };
  }

  /**
   * The strictest idle timeout (ms) among the live organizations the user is an active member of,
   * or null when none sets one. Derived on each call from the same two caches every decision uses
   * (the user's memberships, one entry; each org, one entry), never cached as a value of its own:
   * a policy change drops one org entry and a membership change one user entry, and the answer
   * is right on every instance at once, whatever the org's size. A user belongs to few orgs, so
   * the walk costs a handful of map lookups.
   */
  idleLimitCached(userId: string): number | null | undefined {
    const userMemberships = this.membershipCache.get(userId);
    if (!userMemberships) return undefined;
    let strictest: number | null = null;
    for (const orgId of userMemberships.keys()) {
      const org = this.orgCache.get(orgId);
      if (!org) return undefined;
      if (org.sessionIdleMinutes !== null && (strictest === null || org.sessionIdleMinutes < strictest)) {
        strictest = org.sessionIdleMinutes;
      }
    }
    return strictest === null ? null : strictest * 60_000;
  }

  /** `idleLimitCached`, loading whatever is not cached (a deleted org sets nothing). */
  async idleLimit(userId: string): Promise<number | null> {
    const userMemberships =
      this.membershipCache.get(userId) ??
      (await this.membershipCache.load(userId, () => this.loadMemberships(userId)));
    let strictest: number | null = null;
    for (const orgId of userMemberships?.keys() ?? []) {
      const org = this.orgCache.get(orgId) ?? (await this.orgCache.load(orgId, () => this.loadOrg(orgId)));
      if (org?.sessionIdleMinutes != null && (strictest === null || org.sessionIdleMinutes < strictest)) {
        strictest = org.sessionIdleMinutes;
      }
    }
    return strictest === null ? null : strictest * 60_000;
  }

  /**
   * The live organizations the user is an active member of, with their role, by name: from the
   * same caches as every decision (no database round trip once they are warm).
   */
  async userOrgs(userId: string): Promise<
    Array<{
      org: {
        id: string;
        slug: string;
        name: string;
        suspended: boolean;
        localization: OrgEntry['localization'];
      };
      role: string;
      permissions: Permission[];
    }>
  > {
    const userMemberships =
      this.membershipCache.get(userId) ??
      (await this.membershipCache.load(userId, () => this.loadMemberships(userId)));
    const out: Array<{
      org: {
        id: string;
        slug: string;
        name: string;
        suspended: boolean;
        localization: OrgEntry['localization'];
      };
      role: string;
      permissions: Permission[];
      key: string;
    }> = [];
    for (const [orgId, membership] of userMemberships ?? []) {
      const org = this.orgCache.get(orgId) ?? (await this.orgCache.load(orgId, () => this.loadOrg(orgId)));
      const role =
        this.roleCache.get(membership.roleId) ??
        (await this.roleCache.load(membership.roleId, () => this.loadRole(orgId, membership.roleId)));
      if (!org || !role) continue;
      out.push({
        org: {
          id: org.id,
          slug: org.slug,
          name: org.name,
          suspended: org.suspended,
          localization: org.localization,
        },
        role: role.slug,
        // In catalog order, so that clients can show and compare them as they are.
        permissions: PERMISSIONS.filter((p) => role.permissions.has(p)),
        key: org.name.toLowerCase(),
      });
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.org.id < b.org.id ? -1 : 1));
    return out.map(({ key: _key, ...rest }) => rest);
  }

  /**
   * What a role of the org grants, for an automation token acting with it: undefined when the org
   * is gone or the role is not the org's.
   */
  async resolveRole(orgId: string, roleId: string): Promise<OrgAccess | undefined> {
    const org = this.orgCache.get(orgId) ?? (await this.orgCache.load(orgId, () => this.loadOrg(orgId)));
    if (!org) return undefined;
    const role =
      this.roleCache.get(roleId) ?? (await this.roleCache.load(roleId, () => this.loadRole(orgId, roleId)));
    if (!role || role.orgId !== orgId) return undefined;
    return {
      orgId,
      orgName: org.name,
      userId: null,
      plan: org.plan,
      roleId: role.id,
      roleSlug: role.slug,
      permissions: role.permissions,
      ...(org.suspended ? { suspended: true as const } : {}),
      policy: policyOf(org),
    };
  }

  /**
   * The decision from cached facts only (no I/O): true/false, or undefined when something is not
   * cached. What `resolve` + `has` cost on the hot path, without the promise.
   */
  decideCached(orgId: string, userId: string, permission: Permission): boolean | undefined {
    const org = this.orgCache.get(orgId);
    if (!org) return undefined;
    if (org.suspended) return false;
    const membership = this.membershipCache.get(userId)?.get(orgId);
    if (!membership) return undefined;
    const role = this.roleCache.get(membership.roleId);
    if (!role) return undefined;
    return role.permissions.has(permission);
  }

  /** Last activity, written at most once per interval per member and never awaited by the request. */
  private noteActivity(orgId: string, userId: string, entry: MembershipEntry): void {
    const now = Date.now();
    if (now - entry.persistedLastActiveAt < ACTIVITY_WRITE_INTERVAL_MS) return;
    // The cached entry itself remembers the write: no second write from this instance.
    entry.persistedLastActiveAt = now;
    const at = new Date(now);
    this.db
      .update(memberships)
      .set({ lastActiveAt: at })
      .where(
        and(
          eq(memberships.orgId, orgId),
          eq(memberships.userId, userId),
          or(isNull(memberships.lastActiveAt), lt(memberships.lastActiveAt, at)),
        ),
      )
      .catch((err) => this.onError(err, 'could not record member activity'));
  }

  private async loadOrg(orgId: string): Promise<OrgEntry | undefined> {
    const [row] = await this.db
      .select({
        id: organizations.id,
        slug: organizations.slug,
        name: organizations.name,
        plan: organizations.plan,
        suspendedAt: organizations.suspendedAt,
        require2fa: organizations.require2fa,
        sessionIdleMinutes: organizations.sessionIdleMinutes,
        ipAllowlist: organizations.ipAllowlist,
        language: organizations.language,
        timezone: organizations.timezone,
        dateFormat: organizations.dateFormat,
        ssoEnforcement: ssoSettings.enforcement,
        oidc: ssoOidc.orgId,
        saml: ssoSaml.orgId,
      })
      .from(organizations)
      .leftJoin(ssoSettings, eq(ssoSettings.orgId, organizations.id))
      .leftJoin(ssoOidc, eq(ssoOidc.orgId, organizations.id))
      .leftJoin(ssoSaml, eq(ssoSaml.orgId, organizations.id))
      .where(and(eq(organizations.id, orgId), liveOrganization()));
    if (!row) return undefined;
    const { suspendedAt, ipAllowlist, ssoEnforcement, oidc, saml, language, timezone, dateFormat, ...org } =
      row;
    return {
      ...org,
      localization: { language, timezone, dateFormat },
      suspended: suspendedAt !== null,
      allowlist: allowlistOf(ipAllowlist),
      ssoEnforced: ssoEnforcement === 'enforced',
      ssoProtocol: oidc ? 'oidc' : saml ? 'saml' : null,
    };
  }

  private async loadMemberships(userId: string): Promise<UserMemberships> {
    const rows = await this.db
      .select({
        orgId: memberships.orgId,
        roleId: memberships.roleId,
        lastActiveAt: memberships.lastActiveAt,
        ssoBypassUntil: memberships.ssoBypassUntil,
      })
      .from(memberships)
      .where(and(eq(memberships.userId, userId), eq(memberships.status, 'active')));
    return new Map(
      rows.map((r) => [
        r.orgId,
        {
          roleId: r.roleId,
          persistedLastActiveAt: r.lastActiveAt?.getTime() ?? 0,
          ssoBypassUntil: r.ssoBypassUntil?.getTime() ?? 0,
        },
      ]),
    );
  }

  private async loadRole(orgId: string, roleId: string): Promise<RoleEntry | undefined> {
    const [row] = await this.db
      .select({ id: roles.id, orgId: roles.orgId, slug: roles.slug, permissions: roles.permissions })
      .from(roles)
      .where(and(eq(roles.orgId, orgId), eq(roles.id, roleId)));
    if (!row) return undefined;
    return {
      id: row.id,
      orgId: row.orgId,
      slug: row.slug,
      permissions: rolePermissions(row.slug, row.permissions),
    };
  }
}

/** `now() - interval` in SQL for the "inactive after 30 days" rule, one definition for every query. */
export const INACTIVE_AFTER_DAYS = 30;
export const inactiveCutoff = sql`now() - make_interval(days => ${INACTIVE_AFTER_DAYS})`;

/**
 * Drops members' cached access everywhere at commit: their next request is decided afresh. (The
 * cache holds each user's memberships together, so the org only documents the call.)
 */
export async function invalidateMemberships(
  ctx: Pick<CommandScope, 'invalidate'>,
  _orgId: string,
  userIds: Iterable<string>,
): Promise<void> {
  for (const userId of userIds) await ctx.invalidate(MEMBERSHIPS_CACHE, userId);
}

const CACHE_TTL_MS = 5 * 60_000;

/** The resolver with its three invalidating caches on `bus`, as the app runs it. */
export function createAccessResolver(
  db: Db,
  bus: InvalidationBus,
  onError: (err: unknown, msg: string) => void,
): AccessResolver {
  return new AccessResolver(
    db,
    new InvalidatingCache<OrgEntry>(ORGS_CACHE, bus, { max: 100_000, ttlMs: CACHE_TTL_MS }),
    new InvalidatingCache<UserMemberships>(MEMBERSHIPS_CACHE, bus, { max: 200_000, ttlMs: CACHE_TTL_MS }),
    new InvalidatingCache<RoleEntry>(ROLES_CACHE, bus, { max: 100_000, ttlMs: CACHE_TTL_MS }),
    onError,
  );
}

/**
 * Whether the caller may see members' email addresses where another resource names a member (a
 * scan's creator, a finding's assignee): only with members:read, as the member list itself asks.
 */
export function mayReadMembers(request: FastifyRequest): boolean {
  return request.access?.permissions.has('members:read') === true;
}

/** The org of an org-scoped request, as the access hook resolved it (404 on any other route). */
export function requestOrgId(request: FastifyRequest): string {
  assertFound(request.access, 'organization');
  return request.access.orgId;
}
