import type { MemberRoleChangedData } from '../../../contracts/events.ts';
import { isPermission, PERMISSIONS, type Permission } from '../../../contracts/permissions.ts';
import { entitlements } from '../../../contracts/plans.ts';
import { BUILTIN_ROLE_SLUGS, OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships, ROLES_CACHE, rolePermissions } from '../../platform/access/access.ts';
import { assertCanGrant } from '../../platform/access/grants.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { eventActor } from '../../platform/actor.ts';
import { countRoleTokens, moveTokensToRole } from '../../platform/auth/tokens.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  assertFound,
  ConflictError,
  PlanLimitError,
  PreconditionFailedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { digestTag, ifMatches } from '../../platform/http/etag.ts';
import { queueEmail } from '../../platform/mail/queue.ts';
import { movedByDeletion } from './roles.mail.ts';
import { isPrivileged } from './roles.privilege.ts';
import {
  countRoleAssignments,
  deleteRole,
  findRoleBySlug,
  insertRole,
  listRoleMembers,
  type RoleRow,
  reassignRole,
  updateRole,
} from './roles.repository.ts';

/** A role of this org named in a request body; unknown slugs are a 400 on that field. */
export async function roleForAssignment(
  ctx: CommandContext,
  slug: string,
  field = '/body/role',
): Promise<RoleRow> {
  const role = await findRoleBySlug(ctx.tx, orgAccess(ctx).orgId, slug);
  if (!role) throw new ValidationError([{ field, message: 'is not a role of this organization' }]);
  return role;
}

/** Catalog keys, de-duplicated and in catalog order; unknown keys are a 400 naming them. */
export function checkedPermissions(input: readonly string[], field = '/body/permissions'): Permission[] {
  const unknown = input.filter((p) => !isPermission(p));
  if (unknown.length > 0) {
    throw new ValidationError([
      {
        field,
        message: `unknown permissions: ${unknown.slice(0, 10).join(', ')} (see GET /api/v1/permissions)`,
      },
    ]);
  }
  const set = new Set(input);
  return PERMISSIONS.filter((p) => set.has(p));
}

/**
 * A role's entity tag: a digest of what an edit can change (name, description, permissions), so a
 * client can ask for its edit to apply only to the role as it read it (If-Match).
 */
export function roleEtag(r: RoleRow): string {
  return digestTag([r.name, r.description, r.permissions]);
}

const snapshot = (r: RoleRow) => ({
  slug: r.slug,
  name: r.name,
  description: r.description,
  permissions: r.permissions,
});

/** A role as the audit trail names it (its name as of the change). */
const roleTarget = (r: RoleRow) => ({ type: 'role', id: r.id, name: r.name });

export async function requireRole(ctx: CommandContext, slug: string): Promise<RoleRow> {
  const role = await findRoleBySlug(ctx.tx, orgAccess(ctx).orgId, slug);
  assertFound(role, 'role');
  return role;
}

export const createRole = defineCommand({
  action: 'role.created',
  permission: 'roles:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { slug: string; name: string; description: string | null; permissions: string[] }) {
    const access = orgAccess(ctx);
    if (!entitlements(access.plan).customRoles) {
      throw new PlanLimitError('Custom roles are not part of this plan. Upgrade to create them.');
    }
    if (BUILTIN_ROLE_SLUGS.has(input.slug)) {
      throw new ConflictError(`"${input.slug}" is a built-in role.`);
    }
    const permissions = checkedPermissions(input.permissions);
    assertCanGrant(access, permissions);
    const role = await insertRole(ctx.tx, { ...input, orgId: access.orgId, permissions });
    if (!role) throw new ConflictError(`A role with the slug "${input.slug}" already exists.`);
    ctx.record({ target: roleTarget(role), after: snapshot(role) });
    return role;
  },
});

export const editRole = defineCommand({
  action: 'role.updated',
  permission: 'roles:manage',
  orgLock: 'exclusive',
  async run(
    ctx,
    input: {
      slug: string;
      name?: string;
      description?: string | null;
      permissions?: string[];
      ifMatch?: string;
    },
  ) {
    const access = orgAccess(ctx);
    const role = await requireRole(ctx, input.slug);
    // Checked under the org's exclusive lock: no other edit lands between this check and the write.
    if (input.ifMatch !== undefined && !ifMatches(input.ifMatch, roleEtag(role))) {
      throw new PreconditionFailedError(
        'The role changed since you read it. Read it again and apply your change to what it is now.',
      );
    }
    if (role.slug === OWNER_ROLE) {
      throw new ConflictError('The Owner role always holds every permission and cannot be changed.');
    }
    if (role.builtin && (input.name !== undefined || input.description !== undefined)) {
      throw new ConflictError('Built-in roles cannot be renamed; only their permissions can change.');
    }
    const changes: { name?: string; description?: string | null; permissions?: string[] } = {};
    if (input.name !== undefined && input.name !== role.name) changes.name = input.name;
    if (input.description !== undefined && input.description !== role.description) {
      changes.description = input.description;
    }
    const next = input.permissions !== undefined ? checkedPermissions(input.permissions) : undefined;
    // A role is within reach only when the actor holds all it carries, now and after the edit:
    // otherwise taking permissions away from a role would demote its holders (the Admin role
    // included) past what the actor could do to any of them directly.
    assertCanGrant(access, new Set([...rolePermissions(role.slug, role.permissions), ...(next ?? [])]), {
      role: role.slug,
    });
    const held = new Set(role.permissions);
    if (next !== undefined && (next.length !== held.size || next.some((p) => !held.has(p)))) {
      changes.permissions = next;
    }
    if (Object.keys(changes).length === 0) {
      ctx.unchanged();
      return role;
    }
    const updated = await updateRole(ctx.tx, access.orgId, role.id, changes);
    await ctx.invalidate(ROLES_CACHE, role.id);
    ctx.record({ target: roleTarget(updated), before: snapshot(role), after: snapshot(updated) });
    return updated;
  },
});

/** Single sign-on gives the role (a group mapping, or the default role): those are changed first. */
const roleUsedBySso = () =>
  new ConflictError(
    'Single sign-on gives this role (a group mapping, or the default role of new members): change that in the SSO settings first.',
    'role_in_use',
    { sso: true },
  );

export const removeRole = defineCommand({
  action: 'role.deleted',
  permission: 'roles:manage',
  orgLock: 'exclusive',
  constraints: {
    sso_group_mappings_role_fkey: roleUsedBySso,
    sso_settings_default_role_fkey: roleUsedBySso,
  },
  async run(ctx, input: { slug: string; reassignTo?: string }) {
    const access = orgAccess(ctx);
    const role = await requireRole(ctx, input.slug);
    if (role.builtin) throw new ConflictError('Built-in roles cannot be deleted.');
    // Deleting a role moves its holders: only a role within the actor's reach may go.
    assertCanGrant(access, rolePermissions(role.slug, role.permissions), { role: role.slug });
    const assigned = await countRoleAssignments(ctx.tx, access.orgId, role.id);
    const tokens = await countRoleTokens(ctx.tx, access.orgId, role.id);
    let target: RoleRow | undefined;
    if (input.reassignTo !== undefined) {
      target = await findRoleBySlug(ctx.tx, access.orgId, input.reassignTo);
      if (!target) {
        throw new ValidationError([
          { field: '/querystring/reassignTo', message: 'is not a role of this organization' },
        ]);
      }
      if (target.id === role.id) {
        throw new ValidationError([{ field: '/querystring/reassignTo', message: 'must be another role' }]);
      }
      // Ownership is given by transfer alone (and a token cannot own an organization).
      if (target.slug === OWNER_ROLE) {
        throw new ValidationError([
          {
            field: '/querystring/reassignTo',
            message: 'cannot be owner: ownership passes only by transfer',
          },
        ]);
      }
      // Moving members (or tokens) into a role is giving them that role.
      assertCanGrant(access, rolePermissions(target.slug, target.permissions), {
        role: role.slug,
        reassignTo: target.slug,
      });
    } else if (assigned.members + assigned.invitations + tokens > 0) {
      throw new ConflictError(
        `The role is assigned to ${assigned.members} member(s), ${assigned.invitations} pending invitation(s) and ${tokens} automation token(s). ` +
          'Name a role to move them to with ?reassignTo=<slug>.',
        'role_in_use',
        { members: assigned.members, invitations: assigned.invitations, tokens },
      );
    }
    // Moved members are told, as on any role change; a move into Admin or Owner alerts the owners.
    const holders = target ? await listRoleMembers(ctx.tx, access.orgId, role.id) : [];
    // Removed members and past invitations keep their history on the new role (or Viewer).
    const to = target ?? (await findRoleBySlug(ctx.tx, access.orgId, 'viewer'));
    const moved = await reassignRole(ctx.tx, access.orgId, role.id, to!.id);
    await invalidateMemberships(ctx, access.orgId, moved);
    const tokensMoved = await moveTokensToRole(ctx, access.orgId, role.id, to!.id);
    if (target && holders.length > 0) {
      // Each moved member's role changed: the event members' own role changes send (members
      // cannot be imported here, it depends on roles).
      for (const holder of holders) {
        const data: MemberRoleChangedData = {
          orgId: access.orgId,
          member: holder,
          previousRole: role.slug,
          role: target.slug,
          roleName: target.name,
          reason: 'role_deleted',
          changedBy: eventActor(ctx.actor),
        };
        await ctx.emit({ type: 'member.role_changed', orgId: access.orgId, data: { ...data } });
      }
      for (const { email } of holders) {
        await queueEmail(ctx, email, (language) =>
          movedByDeletion(language, {
            orgName: access.orgName,
            roleName: target.name,
            from: role.slug,
            to: target.slug,
            deletedRoleName: role.name,
          }),
        );
      }
      if (isPrivileged(target) && !isPrivileged(role)) {
        for (const { email } of holders) await ctx.services.alertPromotion(ctx, access, email, target.name);
      }
    }
    await deleteRole(ctx.tx, access.orgId, role.id);
    await ctx.invalidate(ROLES_CACHE, role.id);
    ctx.record({
      target: roleTarget(role),
      before: snapshot(role),
      after: target
        ? {
            reassignedTo: target.slug,
            reassignedToName: target.name,
            membersMoved: moved.length,
            ...(tokensMoved > 0 ? { tokensMoved } : {}),
          }
        : null,
    });
  },
});
