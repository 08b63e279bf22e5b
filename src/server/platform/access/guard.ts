import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Permission } from '../../../contracts/permissions.ts';
import { scopePermissions, type TokenScope } from '../../../contracts/tokens.ts';
import type { Actor } from '../actor.ts';
import { tokenPermissions } from '../auth/tokens.ts';
import type { Executor, Tx } from '../db/client.ts';
import { membershipRole } from '../db/joins.ts';
import { liveOrganization, liveToken } from '../db/live.ts';
import { apiTokens, memberships, organizations, roles } from '../db/schema.ts';
import { assertFound, PermissionDeniedError, UnauthenticatedError } from '../errors/app-error.ts';
import { type OrgAccess, rolePermissions } from './access.ts';

/**
 * How an org-scoped command holds its organization while it runs. `exclusive` for changes to who
 * belongs and with which role (members, invitations, roles, ownership, deletion): they run one at
 * a time per organization. `shared` for the rest: they run side by side, but never while one of
 * the former is changing the ground under them.
 */
export type OrgLock = 'exclusive' | 'shared';

/**
 * Re-reads, inside the command's transaction and under the organization's row lock, what the
 * actor may do there. The request was authorized from cache a moment earlier; between that and
 * this transaction the actor may have been demoted or removed, or the org deleted. Deciding again
 * here, under the lock that every membership change also takes, makes the decision and the write
 * one atomic step.
 */
export async function lockOrgAccess(
  tx: Tx,
  orgId: string,
  userId: string,
  lock: OrgLock,
): Promise<OrgAccess & { userId: string }> {
  const org = await lockOrgRow(tx, orgId, lock);
  const [member] = await tx
    .select({ roleId: roles.id, slug: roles.slug, permissions: roles.permissions })
    .from(memberships)
    .innerJoin(roles, membershipRole)
    .where(
      and(eq(memberships.orgId, orgId), eq(memberships.userId, userId), eq(memberships.status, 'active')),
    );
  assertFound(member, 'organization');
  return {
    orgId,
    orgName: org.name,
    userId,
    plan: org.plan,
    roleId: member.roleId,
    roleSlug: member.slug,
    permissions: rolePermissions(member.slug, member.permissions),
    ...(org.suspended ? { suspended: true as const } : {}),
  };
}

async function lockOrgRow(
  tx: Tx,
  orgId: string,
  lock: OrgLock,
): Promise<{ name: string; plan: string; suspended: boolean }> {
  const query = tx
    .select({
      name: organizations.name,
      plan: organizations.plan,
      suspended: sql<boolean>`${organizations.suspendedAt} IS NOT NULL`,
    })
    .from(organizations)
    .where(and(eq(organizations.id, orgId), liveOrganization()));
  const [org] = await (lock === 'exclusive' ? query.for('no key update') : query.for('share'));
  assertFound(org, 'organization');
  return org;
}

/**
 * `lockOrgAccess` for whoever acts: a signed-in user, a user through a personal token (their role,
 * narrowed by the token's scopes), or an automation token (its role, narrowed by its scopes). The
 * token row is held too (after the org: every command takes the org first), so a revocation
 * waits for commands already deciding with it and every later one sees it revoked (401).
 */
export async function lockActorAccess(
  tx: Tx,
  actor: Actor,
  orgId: string,
  lock: OrgLock,
): Promise<OrgAccess> {
  if (actor.type === 'user' && !actor.tokenId) return lockOrgAccess(tx, orgId, actor.userId, lock);
  if (actor.type !== 'user' && actor.type !== 'token') throw new UnauthenticatedError();
  let access: OrgAccess;
  if (actor.type === 'user') {
    access = await lockOrgAccess(tx, orgId, actor.userId, lock);
  } else {
    const org = await lockOrgRow(tx, orgId, lock);
    access = {
      orgId,
      orgName: org.name,
      userId: null,
      plan: org.plan,
      roleId: '',
      roleSlug: '',
      permissions: new Set(),
      ...(org.suspended ? { suspended: true as const } : {}),
    };
  }
  const tokenId = actor.tokenId!;
  const [token] = await tx
    .select({
      orgId: apiTokens.orgId,
      userId: apiTokens.userId,
      scopes: apiTokens.scopes,
      roleId: roles.id,
      roleSlug: roles.slug,
      rolePermissions: roles.permissions,
    })
    .from(apiTokens)
    .leftJoin(roles, and(eq(roles.orgId, apiTokens.orgId), eq(roles.id, apiTokens.roleId)))
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.id, tokenId), liveToken()))
    .for('share', { of: apiTokens });
  if (!token || token.orgId !== orgId) throw new UnauthenticatedError();
  if (actor.type === 'token') {
    if (!token.roleId || !token.roleSlug || !token.rolePermissions) throw new UnauthenticatedError();
    access = {
      ...access,
      roleId: token.roleId,
      roleSlug: token.roleSlug,
      permissions: rolePermissions(token.roleSlug, token.rolePermissions),
    };
  } else if (token.userId !== actor.userId) {
    throw new UnauthenticatedError();
  }
  return {
    ...access,
    tokenId,
    permissions: tokenPermissions(scopePermissions(token.scopes as TokenScope[]), access.permissions),
  };
}

/**
 * The member acting in an org-scoped command. Commands about the actor's own membership (taking
 * ownership, giving it away) have no meaning for an automation token: refused with the permission.
 */
export function actingMember(access: OrgAccess, permission: Permission): string {
  if (access.userId === null) throw new PermissionDeniedError(permission);
  return access.userId;
}

/** The org access the command runner re-read in this transaction (org-scoped commands only). */
export function orgAccess(ctx: { access?: OrgAccess | undefined }): OrgAccess {
  assertFound(ctx.access, 'organization');
  return ctx.access;
}

/** A live organization as a lock on it answers: what commands outside its routes need to know. */
export interface LockedOrg {
  id: string;
  slug: string;
  name: string;
  plan: string;
  suspended: boolean;
}

/**
 * Locks the live organization `where` names, with the lock membership changes take, so that seat
 * counts and "at most once" checks made under it hold at commit.
 */
/** What commands outside an org's routes know of it (LockedOrg), as a select list. */
export const lockedOrgColumns = {
  id: organizations.id,
  slug: organizations.slug,
  name: organizations.name,
  plan: organizations.plan,
  suspended: sql<boolean>`${organizations.suspendedAt} IS NOT NULL`,
};

export async function lockLiveOrgWhere(tx: Executor, where: SQL): Promise<LockedOrg | undefined> {
  const [org] = await tx
    .select(lockedOrgColumns)
    .from(organizations)
    .where(and(where, liveOrganization()))
    .for('no key update');
  return org;
}

/**
 * Locks a live organization for a command that is not an org member's (accepting an invitation,
 * asking to join), by id.
 */
export function lockLiveOrg(tx: Tx, orgId: string): Promise<LockedOrg | undefined> {
  return lockLiveOrgWhere(tx, eq(organizations.id, orgId));
}
