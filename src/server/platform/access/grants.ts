import type { Permission } from '../../../contracts/permissions.ts';
import { AppError } from '../errors/app-error.ts';
import type { OrgAccess } from './access.ts';

export class GrantDeniedError extends AppError {
  constructor(missing: readonly string[]) {
    super(
      403,
      'permission_denied',
      'Permission denied',
      `You cannot grant permissions you do not hold: ${missing.join(', ')}.`,
    );
  }
}

/**
 * Nobody grants what they do not hold: creating or editing a role, or giving someone a role,
 * is refused when it would hand out a permission the actor lacks. Also used before changing or
 * removing a member: whoever holds more than the actor is out of the actor's reach.
 */
export function assertCanGrant(access: OrgAccess, permissions: Iterable<Permission>): void {
  const missing: string[] = [];
  for (const p of permissions) if (!access.permissions.has(p)) missing.push(p);
  if (missing.length > 0) throw new GrantDeniedError(missing);
}
