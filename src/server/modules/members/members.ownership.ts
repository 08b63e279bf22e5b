import type { Executor } from '../../platform/db/client.ts';
import { ConflictError } from '../../platform/errors/app-error.ts';
import { lockUser } from '../accounts/index.ts';
import { countOwnedOrgs } from './members.repository.ts';

/**
 * Refuses (409 `org_limit`) to make the user the owner of one more organization when they already
 * own `max` live ones (`ORGS_MAX_OWNED_PER_USER`), whichever way they would become one: creating
 * an organization, ownership transferred to them, an Owner invitation accepted, a request to join
 * approved as Owner, or a role change to Owner.
 *
 * Their user row is locked first and stays locked until the transaction ends: concurrent grants
 * and creations for the same user take turns, and each counts what the one before committed.
 * Call it before writing the membership (the insert's foreign-key check would share the row, and
 * two such transactions would then deadlock on the lock).
 */
export async function assertMayOwnAnother(
  tx: Executor,
  userId: string,
  max: number,
  /** The email of the person made owner by someone else (the refusal names them); none for oneself. */
  grantee?: string,
): Promise<void> {
  await lockUser(tx, userId);
  if ((await countOwnedOrgs(tx, userId)) < max) return;
  throw new ConflictError(
    grantee === undefined
      ? `You own ${max} organizations, the most one person may. Delete one or transfer its ownership first.`
      : `${grantee} owns ${max} organizations, the most one person may, and cannot be made the owner of another until they delete one or transfer its ownership.`,
    'org_limit',
  );
}
