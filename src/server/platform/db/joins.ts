import { and, eq, type SQL } from 'drizzle-orm';
import { memberships, roles } from './schema.ts';

/**
 * A membership's role, matched on the role's key `(org_id, id)`: by id alone the join could not
 * use the primary key, and under distribution by organization it would leave the shard.
 */
export const membershipRole: SQL = and(eq(roles.orgId, memberships.orgId), eq(roles.id, memberships.roleId))!;
