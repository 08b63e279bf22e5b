import type { Permission } from '../../../contracts/permissions.ts';
import { PermissionDeniedError } from '../errors/app-error.ts';
import type { OrgAccess } from './access.ts';

/** What a grant asked for, by name: `{ member, role }`, `{ role }`, `{ role, reassignTo }`... */
export type GrantAsked = Readonly<Record<string, string>>;

/** A refusal like any other (recorded as `access.denied`), naming everything the actor lacks. */
export class GrantDeniedError extends PermissionDeniedError {
  constructor(missing: readonly [string, ...string[]], asked?: GrantAsked) {
    super(missing[0], `You cannot grant permissions you do not hold: ${missing.join(', ')}.`, missing, asked);
  }
}

/**
 * Nobody grants what they do not hold: creating or editing a role, or giving someone a role,
 * is refused when it would hand out a permission the actor lacks. Also used before changing or
 * removing a member: whoever holds more than the actor is out of the actor's reach. `asked` says
 * what the actor asked for: the refusal's audit entry keeps it, and refusals of different things
 * on one route are each recorded.
 */
export function assertCanGrant(
  access: OrgAccess,
  permissions: Iterable<Permission>,
  asked?: GrantAsked,
): void {
  const missing: string[] = [];
  for (const p of permissions) if (!access.permissions.has(p)) missing.push(p);
  const [first, ...rest] = missing;
  if (first !== undefined) throw new GrantDeniedError([first, ...rest], asked);
}
