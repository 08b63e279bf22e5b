import { and, eq, isNull } from 'drizzle-orm';
import type { CommandContext } from '../command.ts';
import type { Tx } from '../db/client.ts';
import { memberships, organizations, roles } from '../db/schema.ts';
import { NotFoundError } from '../errors/app-error.ts';
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
): Promise<OrgAccess> {
  const query = tx
    .select({ id: organizations.id, name: organizations.name, plan: organizations.plan })
    .from(organizations)
    .where(and(eq(organizations.id, orgId), isNull(organizations.deletedAt)));
  const [org] = await (lock === 'exclusive' ? query.for('no key update') : query.for('share'));
  if (!org) throw new NotFoundError('organization');
  const [member] = await tx
    .select({ roleId: roles.id, slug: roles.slug, permissions: roles.permissions })
    .from(memberships)
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .where(
      and(eq(memberships.orgId, orgId), eq(memberships.userId, userId), eq(memberships.status, 'active')),
    );
  if (!member) throw new NotFoundError('organization');
  return {
    orgId,
    orgName: org.name,
    userId,
    plan: org.plan,
    roleId: member.roleId,
    roleSlug: member.slug,
    permissions: rolePermissions(member.slug, member.permissions),
  };
}

/** The org access the command runner re-read in this transaction (org-scoped commands only). */
export function orgAccess(ctx: Pick<CommandContext, 'access'>): OrgAccess {
  if (!ctx.access) throw new NotFoundError('organization');
  return ctx.access;
}

/**
 * Locks a live organization for a command that is not an org member's (accepting an invitation,
 * asking to join): the same lock membership changes take, so seat counts and "at most once"
 * checks made under it hold at commit.
 */
export async function lockLiveOrg(
  tx: Tx,
  orgId: string,
): Promise<{ id: string; slug: string; name: string; plan: string } | undefined> {
  const [org] = await tx
    .select({
      id: organizations.id,
      slug: organizations.slug,
      name: organizations.name,
      plan: organizations.plan,
    })
    .from(organizations)
    .where(and(eq(organizations.id, orgId), isNull(organizations.deletedAt)))
    .for('no key update');
  return org;
}
