import { and, gt, isNull, or, sql } from 'drizzle-orm';
import { apiTokens, organizations } from './schema.ts';

// The predicates that say what "live" means, written once: the platform's access checks and every
// module's queries use these instead of spelling the columns out.

/** An organization that exists for its members: not deleted. */
export const liveOrganization = () => isNull(organizations.deletedAt);

/** A token that can still authenticate: not revoked and not past its expiry. */
export const liveToken = () =>
  and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`)));
