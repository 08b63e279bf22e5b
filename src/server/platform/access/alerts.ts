import { and, eq } from 'drizzle-orm';
import { OWNER_ROLE, PRIVILEGED_ROLES } from '../../../contracts/roles.ts';
import { describeActor } from '../actor.ts';
import type { CommandContext } from '../command.ts';
import type { Executor } from '../db/client.ts';
import { memberships, roles, users } from '../db/schema.ts';
import { oneLine } from '../mail/mailer.ts';
import { rolePermissions } from './access.ts';

/** Permissions that hand out control of the organization: whoever gets one, the owners hear of it. */
const CONTROL = ['members:manage', 'roles:manage', 'sso:manage', 'org:delete', 'org:transfer'] as const;

/** Owner, Admin, or any role (custom included) that carries a permission of control. */
export function isPrivileged(role: { slug: string; permissions: readonly string[] }): boolean {
  if (PRIVILEGED_ROLES.has(role.slug)) return true;
  const granted = rolePermissions(role.slug, role.permissions);
  return CONTROL.some((p) => granted.has(p));
}

/** Emails of the org's active owners. */
export async function listOwnerEmails(db: Executor, orgId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, eq(roles.id, memberships.roleId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active'), eq(roles.slug, OWNER_ROLE)));
  return rows.map((r) => r.email);
}

/**
 * Someone was given a privileged role: every owner is told by email after commit ("promotion to
 * Admin or Owner raises an alert"), so a compromised admin account cannot quietly raise another.
 */
export async function alertOwnersOfPromotion(
  ctx: Pick<CommandContext, 'tx' | 'actor' | 'afterCommit' | 'services'>,
  org: { orgId: string; orgName: string },
  who: string,
  roleName: string,
): Promise<void> {
  const owners = await listOwnerEmails(ctx.tx, org.orgId);
  const by = describeActor(ctx.actor);
  ctx.afterCommit(() => {
    for (const to of owners) {
      ctx.services.mailer.dispatch({
        to,
        subject: oneLine(`${who} is now ${roleName} of ${org.orgName}`),
        text: `${who} was given the ${roleName} role in ${org.orgName} by ${by}.\n\nIf you did not expect this, review the organization's members now.\n`,
      });
    }
  });
}
