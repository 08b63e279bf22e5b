import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import { BUILTIN_ROLES } from '../../../contracts/roles.ts';
import type { Executor } from '../../platform/db/client.ts';
import { invitations, memberships, roles, users } from '../../platform/db/schema.ts';

export interface RoleRow {
  id: string;
  orgId: string;
  slug: string;
  name: string;
  description: string | null;
  permissions: string[];
  builtin: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const roleColumns = {
  id: roles.id,
  orgId: roles.orgId,
  slug: roles.slug,
  name: roles.name,
  description: roles.description,
  permissions: roles.permissions,
  builtin: roles.builtin,
  createdAt: roles.createdAt,
  updatedAt: roles.updatedAt,
};

/** A new organization's own copies of the five built-in roles. */
export async function insertBuiltinRoles(tx: Executor, orgId: string): Promise<RoleRow[]> {
  return tx
    .insert(roles)
    .values(
      BUILTIN_ROLES.map((r) => ({
        orgId,
        slug: r.slug,
        name: r.name,
        description: r.description,
        permissions: [...r.permissions],
        builtin: true,
      })),
    )
    .returning(roleColumns);
}

export async function findRoleBySlug(
  db: Executor,
  orgId: string,
  slug: string,
): Promise<RoleRow | undefined> {
  const [row] = await db
    .select(roleColumns)
    .from(roles)
    .where(and(eq(roles.orgId, orgId), eq(roles.slug, slug)));
  return row;
}

export async function findRoleById(
  db: Executor,
  orgId: string,
  roleId: string,
): Promise<RoleRow | undefined> {
  const [row] = await db
    .select(roleColumns)
    .from(roles)
    .where(and(eq(roles.orgId, orgId), eq(roles.id, roleId)));
  return row;
}

/** Built-in roles first (in their fixed order), then custom roles by name. */
export async function listRoles(db: Executor, orgId: string): Promise<(RoleRow & { memberCount: number })[]> {
  const order = sql`array_position(${sql.raw(`ARRAY[${BUILTIN_ROLES.map((r) => `'${r.slug}'`).join(',')}]::text[]`)}, ${roles.slug})`;
  return db
    .select({
      ...roleColumns,
      memberCount: sql<number>`(SELECT count(*)::int FROM ${memberships} m WHERE m.org_id = ${roles.orgId} AND m.role_id = ${roles.id} AND m.status = 'active')`,
    })
    .from(roles)
    .where(eq(roles.orgId, orgId))
    .orderBy(desc(roles.builtin), sql`${order} NULLS LAST`, asc(sql`lower(${roles.name})`), asc(roles.id));
}

export async function insertRole(
  tx: Executor,
  values: { orgId: string; slug: string; name: string; description: string | null; permissions: string[] },
): Promise<RoleRow | undefined> {
  const [row] = await tx.insert(roles).values(values).onConflictDoNothing().returning(roleColumns);
  return row;
}

export async function updateRole(
  tx: Executor,
  orgId: string,
  roleId: string,
  changes: { name?: string; description?: string | null; permissions?: string[] },
): Promise<RoleRow> {
  const [row] = await tx
    .update(roles)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(eq(roles.orgId, orgId), eq(roles.id, roleId)))
    .returning(roleColumns);
  return row!;
}

/** Active members holding the role, and pending invitations that would give it. */
export async function countRoleAssignments(
  db: Executor,
  orgId: string,
  roleId: string,
): Promise<{ members: number; invitations: number }> {
  const [members] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(
      and(eq(memberships.orgId, orgId), eq(memberships.roleId, roleId), eq(memberships.status, 'active')),
    );
  const [pending] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(invitations)
    .where(
      and(eq(invitations.orgId, orgId), eq(invitations.roleId, roleId), eq(invitations.status, 'pending')),
    );
  return { members: members?.n ?? 0, invitations: pending?.n ?? 0 };
}

/** The emails of the active members holding a role. */
export async function listRoleMembers(
  db: Executor,
  orgId: string,
  roleId: string,
): Promise<{ userId: string; email: string; name: string }[]> {
  return db
    .select({ userId: users.id, email: users.email, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      and(eq(memberships.orgId, orgId), eq(memberships.roleId, roleId), eq(memberships.status, 'active')),
    );
}

/**
 * Moves every row that points at a role to another role of the same org: memberships (active and
 * removed) and invitations (any status). Returns the users whose active membership moved, whose
 * cached access must be dropped.
 */
export async function reassignRole(
  tx: Executor,
  orgId: string,
  fromId: string,
  toId: string,
): Promise<string[]> {
  const moved = await tx
    .update(memberships)
    .set({ roleId: toId })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.roleId, fromId)))
    .returning({ userId: memberships.userId, status: memberships.status });
  await tx
    .update(invitations)
    .set({ roleId: toId })
    .where(and(eq(invitations.orgId, orgId), eq(invitations.roleId, fromId)));
  return moved.filter((m) => m.status === 'active').map((m) => m.userId);
}

export async function deleteRole(tx: Executor, orgId: string, roleId: string): Promise<void> {
  await tx.delete(roles).where(and(eq(roles.orgId, orgId), eq(roles.id, roleId), ne(roles.builtin, true)));
}
