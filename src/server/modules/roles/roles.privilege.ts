import { PRIVILEGED_ROLES } from '../../../contracts/roles.ts';
import { rolePermissions } from '../../platform/access/access.ts';

/** Permissions that hand out control of the organization: whoever gets one, the owners hear of it. */
const CONTROL = ['members:manage', 'roles:manage', 'sso:manage', 'org:delete', 'org:transfer'] as const;

/** Owner, Admin, or any role (custom included) that carries a permission of control. */
export function isPrivileged(role: { slug: string; permissions: readonly string[] }): boolean {
  if (PRIVILEGED_ROLES.has(role.slug)) return true;
  const granted = rolePermissions(role.slug, role.permissions);
  return CONTROL.some((p) => granted.has(p));
}
