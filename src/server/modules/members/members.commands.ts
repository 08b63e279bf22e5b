import type {
  EventMember,
  MemberAddedData,
  MemberRemovedData,
  MemberRoleChangedData,
} from '../../../contracts/events.ts';
import type { Permission } from '../../../contracts/permissions.ts';
import { ADMIN_ROLE, OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships, rolePermissions } from '../../platform/access/access.ts';
import { assertCanGrant } from '../../platform/access/grants.ts';
import { actingMember, lockOrgAccess, orgAccess } from '../../platform/access/guard.ts';
import { eventActor } from '../../platform/actor.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  ConflictError,
  NotFoundError,
  OrgSuspendedError,
  PermissionDeniedError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { queueEmail } from '../../platform/mail/queue.ts';
import { revokeTokens } from '../api-tokens/index.ts';
import { findRoleBySlug, isPrivileged, roleForAssignment } from '../roles/index.ts';
import { alertOwnersOfPromotion } from './members.alerts.ts';
import { ownershipReceived, roleChanged } from './members.mail.ts';
import { assertMayOwnAnother } from './members.ownership.ts';
import {
  countOwners,
  findMember,
  lockMember,
  type MemberRow,
  markMemberRemoved,
  setMemberRole,
} from './members.repository.ts';

export class LastOwnerError extends ConflictError {
  constructor(detail = 'An organization must keep at least one owner. Make someone else an owner first.') {
    super(detail, 'last_owner');
  }
}

/**
 * The database's wall behind the owner checks: a concurrent change that would leave the org
 * without an active owner fails at commit under this constraint trigger.
 */
export const keepsAnOwner = { memberships_last_owner: () => new LastOwnerError() };

/** A member as the audit trail names them: by email and name as they are now, kept in the entry. */
const memberTarget = (m: Pick<MemberRow, 'userId' | 'email' | 'name'>) => ({
  type: 'member',
  id: m.userId,
  email: m.email,
  name: m.name,
});

/** A member as events name them. */
export const eventMember = (m: Pick<MemberRow, 'userId' | 'email' | 'name'>): EventMember => ({
  userId: m.userId,
  email: m.email,
  name: m.name,
});

/** `member.role_changed`, written with the change. */
export async function emitRoleChanged(
  ctx: Pick<CommandContext, 'emit' | 'actor'>,
  orgId: string,
  member: Pick<MemberRow, 'userId' | 'email' | 'name'>,
  change: { from: string; to: string; toName: string; reason: MemberRoleChangedData['reason'] },
): Promise<void> {
  const data: MemberRoleChangedData = {
    orgId,
    member: eventMember(member),
    previousRole: change.from,
    role: change.to,
    roleName: change.toName,
    reason: change.reason,
    changedBy: eventActor(ctx.actor),
  };
  await ctx.emit({ type: 'member.role_changed', orgId, data: { ...data } });
}

/** `member.added`, written with the membership (an invitation accepted, a request approved, …). */
export async function emitMemberAdded(
  ctx: Pick<CommandContext, 'emit' | 'actor'>,
  orgId: string,
  member: EventMember,
  role: { slug: string; name: string },
  via: MemberAddedData['via'],
): Promise<void> {
  const data: MemberAddedData = {
    orgId,
    member: eventMember(member),
    role: role.slug,
    roleName: role.name,
    via,
    addedBy: eventActor(ctx.actor),
  };
  await ctx.emit({ type: 'member.added', orgId, data: { ...data } });
}

/** `member.removed`, written with the change. */
async function emitRemoved(
  ctx: Pick<CommandContext, 'emit' | 'actor'>,
  orgId: string,
  member: Pick<MemberRow, 'userId' | 'email' | 'name'>,
  role: string,
  reason: MemberRemovedData['reason'],
): Promise<void> {
  const data: MemberRemovedData = {
    orgId,
    member: eventMember(member),
    role,
    reason,
    removedBy: eventActor(ctx.actor),
  };
  await ctx.emit({ type: 'member.removed', orgId, data: { ...data } });
}

const permissionsOf = (r: { role: string; rolePermissions: string[] }): ReadonlySet<Permission> =>
  rolePermissions(r.role, r.rolePermissions);

/** The active member, locked; and out of reach when they hold what the actor does not. */
async function memberInReach(ctx: CommandContext, userId: string): Promise<MemberRow> {
  const access = orgAccess(ctx);
  const member = await lockMember(ctx.tx, access.orgId, userId);
  if (!member || member.status === 'removed') throw new NotFoundError('member');
  if (member.userId !== access.userId) {
    assertCanGrant(access, permissionsOf(member), { member: member.userId });
  }
  return member;
}

export const changeMemberRole = defineCommand({
  action: 'member.role_changed',
  constraints: keepsAnOwner,
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { userId: string; role: string; maxOwnedPerUser: number }) {
    const access = orgAccess(ctx);
    const member = await memberInReach(ctx, input.userId);
    const role = await roleForAssignment(ctx, input.role);
    assertCanGrant(access, rolePermissions(role.slug, role.permissions), {
      member: member.userId,
      role: role.slug,
    });
    if (role.id === member.roleId) {
      ctx.unchanged();
      return member;
    }
    if (role.slug === OWNER_ROLE) {
      await assertMayOwnAnother(ctx.tx, member.userId, input.maxOwnedPerUser, member.email);
    }
    if (
      member.role === OWNER_ROLE &&
      role.slug !== OWNER_ROLE &&
      (await countOwners(ctx.tx, access.orgId)) <= 1
    ) {
      throw new LastOwnerError();
    }
    await setMemberRole(ctx.tx, access.orgId, member.userId, role.id);
    await invalidateMemberships(ctx, access.orgId, [member.userId]);
    await emitRoleChanged(ctx, access.orgId, member, {
      from: member.role,
      to: role.slug,
      toName: role.name,
      reason: 'changed',
    });
    await queueEmail(ctx, member.email, (language) =>
      roleChanged(language, {
        orgName: access.orgName,
        roleName: role.name,
        from: member.role,
        to: role.slug,
      }),
    );
    if (isPrivileged(role) && !isPrivileged({ slug: member.role, permissions: member.rolePermissions })) {
      await alertOwnersOfPromotion(ctx, access, member.email, role.name);
    }
    ctx.record({
      target: memberTarget(member),
      before: { role: member.role, roleName: member.roleName },
      after: { role: role.slug, roleName: role.name },
    });
    return { ...member, roleId: role.id, role: role.slug, roleName: role.name };
  },
});

export const removeMember = defineCommand({
  action: 'member.removed',
  constraints: keepsAnOwner,
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { userId: string }) {
    const access = orgAccess(ctx);
    const member = await memberInReach(ctx, input.userId);
    if (member.role === OWNER_ROLE && (await countOwners(ctx.tx, access.orgId)) <= 1) {
      throw new LastOwnerError('The last owner cannot be removed.');
    }
    await markMemberRemoved(ctx.tx, access.orgId, member.userId);
    // Their very next request to this org is refused, on every instance, with their tokens too.
    await invalidateMemberships(ctx, access.orgId, [member.userId]);
    await revokeTokens(ctx, { orgId: access.orgId, userId: member.userId, kind: 'personal' }, access.userId);
    await emitRemoved(ctx, access.orgId, member, member.role, 'removed');
    ctx.record({
      target: memberTarget(member),
      before: { role: member.role, roleName: member.roleName, status: 'active' },
    });
  },
});

/**
 * The active member `userId` leaves `orgId` inside a command: the org held exclusively (so the
 * last-owner check cannot race another owner leaving), their membership ended everywhere at
 * commit and their personal tokens for the org revoked. Returns the `member.left` record for the
 * org's log. A suspended org is left only when `evenIfSuspended` (an account being deleted).
 */
export async function departOrganization(
  ctx: CommandContext,
  orgId: string,
  userId: string,
  evenIfSuspended = false,
  reason: 'left' | 'account_deleted' | 'deprovisioned' = 'left',
) {
  const access = await lockOrgAccess(ctx.tx, orgId, userId, 'exclusive');
  // Nothing in a suspended organization changes, its memberships included (told to members only).
  if (access.suspended && !evenIfSuspended) throw new OrgSuspendedError();
  if (access.roleSlug === OWNER_ROLE && (await countOwners(ctx.tx, orgId)) <= 1) {
    throw new LastOwnerError('The last owner cannot leave. Transfer ownership or delete the organization.');
  }
  // An active member (lockOrgAccess refuses anyone else), named in the entry as they are now.
  const member = (await findMember(ctx.tx, orgId, userId))!;
  await markMemberRemoved(ctx.tx, orgId, userId);
  await invalidateMemberships(ctx, orgId, [userId]);
  // Deprovisioned by the org's identity provider: revoked by no person.
  await revokeTokens(ctx, { orgId, userId, kind: 'personal' }, reason === 'deprovisioned' ? null : userId);
  await emitRemoved(ctx, orgId, member, access.roleSlug, reason);
  return {
    action: 'member.left',
    orgId,
    target: memberTarget(member),
    before: { role: access.roleSlug, roleName: member.roleName, status: 'active' },
  };
}

/** A member leaves an organization of their own accord (account-level: no org permission needed). */
export const leaveOrganization = defineCommand({
  action: 'member.left',
  constraints: keepsAnOwner,
  async run(ctx, input: { orgId: string }) {
    if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
    const { action: _own, ...record } = await departOrganization(ctx, input.orgId, ctx.actor.userId);
    ctx.record(record);
  },
});

/** Ownership passes to an Admin; the Owner who gives it becomes an Admin. */
export const transferOwnership = defineCommand({
  action: 'ownership.transferred',
  constraints: keepsAnOwner,
  permission: 'org:transfer',
  orgLock: 'exclusive',
  async run(ctx, input: { userId: string; maxOwnedPerUser: number }) {
    const access = orgAccess(ctx);
    const ownerId = actingMember(access, 'org:transfer');
    if (access.roleSlug !== OWNER_ROLE) {
      throw new PermissionDeniedError('org:transfer');
    }
    if (input.userId === ownerId) {
      throw new ValidationError([
        { field: '/body/userId', message: 'is you: name the Admin who becomes owner' },
      ]);
    }
    const target = await lockMember(ctx.tx, access.orgId, input.userId);
    if (!target || target.status === 'removed') throw new NotFoundError('member');
    if (target.role !== ADMIN_ROLE) {
      throw new ConflictError('Ownership can only be transferred to an Admin. Make them an Admin first.');
    }
    await assertMayOwnAnother(ctx.tx, target.userId, input.maxOwnedPerUser, target.email);
    const owner = await findRoleBySlug(ctx.tx, access.orgId, OWNER_ROLE);
    const admin = await findRoleBySlug(ctx.tx, access.orgId, ADMIN_ROLE);
    // Promote first: the last-owner check runs at commit and sees one owner either way.
    await setMemberRole(ctx.tx, access.orgId, target.userId, owner!.id);
    await setMemberRole(ctx.tx, access.orgId, ownerId, admin!.id);
    await invalidateMemberships(ctx, access.orgId, [target.userId, ownerId]);
    const previousOwner = await findMember(ctx.tx, access.orgId, ownerId);
    await emitRoleChanged(ctx, access.orgId, target, {
      from: target.role,
      to: OWNER_ROLE,
      toName: owner!.name,
      reason: 'ownership_transferred',
    });
    if (previousOwner) {
      await emitRoleChanged(ctx, access.orgId, previousOwner, {
        from: OWNER_ROLE,
        to: ADMIN_ROLE,
        toName: admin!.name,
        reason: 'ownership_transferred',
      });
    }
    await alertOwnersOfPromotion(ctx, access, target.email, owner!.name);
    await queueEmail(ctx, target.email, (language) =>
      ownershipReceived(language, { orgName: access.orgName }),
    );
    ctx.record({
      target: { type: 'organization', id: access.orgId, name: access.orgName },
      before: { owner: ownerId },
      after: {
        owner: target.userId,
        ownerEmail: target.email,
        ownerName: target.name,
        previousOwnerRole: ADMIN_ROLE,
        previousOwnerRoleName: admin!.name,
      },
    });
    return { previousOwnerId: ownerId, ownerId: target.userId };
  },
});
