import { and, asc, desc, eq, gt, inArray, isNull, or, type SQL, Subquery, sql } from 'drizzle-orm';
import type { Permission } from '../../../contracts/permissions.ts';
import { entitlements } from '../../../contracts/plans.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { inactiveCutoff } from '../../platform/access/access.ts';
import { normalizeEmail } from '../../platform/auth/email.ts';
import type { Executor } from '../../platform/db/client.ts';
import { membershipRole } from '../../platform/db/joins.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import { invitations, memberships, organizations, roles, users } from '../../platform/db/schema.ts';
import { PlanLimitError } from '../../platform/errors/app-error.ts';
import { keysetBefore } from '../../platform/http/paging.ts';

export type MemberStatus = 'active' | 'inactive' | 'removed';

export interface MemberRow {
  userId: string;
  email: string;
  name: string;
  roleId: string;
  role: string;
  /** The role's name as people read it. */
  roleName: string;
  rolePermissions: string[];
  status: MemberStatus;
  joinedAt: Date;
  lastActiveAt: Date | null;
  removedAt: Date | null;
}

const memberStatus = sql<MemberStatus>`CASE
  WHEN ${memberships.status} = 'removed' THEN 'removed'
  WHEN coalesce(${memberships.lastActiveAt}, ${memberships.joinedAt}) < ${inactiveCutoff} THEN 'inactive'
  ELSE 'active' END`;

const memberColumns = {
  userId: memberships.userId,
  email: users.email,
  name: users.name,
  roleId: memberships.roleId,
  role: roles.slug,
  roleName: roles.name,
  rolePermissions: roles.permissions,
  status: memberStatus,
  joinedAt: memberships.joinedAt,
  lastActiveAt: memberships.lastActiveAt,
  removedAt: memberships.removedAt,
};

const selectMembers = (db: Executor) =>
  db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole);

/** A member of the org (any status), or undefined. */
export async function findMember(
  db: Executor,
  orgId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  const [row] = await selectMembers(db).where(
    and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)),
  );
  return row;
}

/** Same, with the membership row locked for the rest of the transaction. */
export async function lockMember(
  db: Executor,
  orgId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  const [row] = await selectMembers(db)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .for('update', { of: memberships });
  return row;
}

/**
 * Makes the user an active member with the role: a new row, or the user's removed row brought
 * back (one row per org and user, ever). Undefined when they already are an active member.
 */
export async function admitMember(
  tx: Executor,
  orgId: string,
  userId: string,
  roleId: string,
): Promise<{ userId: string } | undefined> {
  const [row] = await tx
    .insert(memberships)
    .values({ orgId, userId, roleId })
    .onConflictDoUpdate({
      target: [memberships.orgId, memberships.userId],
      set: { roleId, status: 'active', joinedAt: sql`now()`, removedAt: null, lastActiveAt: null },
      setWhere: eq(memberships.status, 'removed'),
    })
    .returning({ userId: memberships.userId });
  return row;
}

export async function setMemberRole(
  tx: Executor,
  orgId: string,
  userId: string,
  roleId: string,
): Promise<void> {
  await tx
    .update(memberships)
    .set({ roleId })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
}

/** Lets the member pass the org's enforced SSO until `until` (break-glass). */
export async function grantSsoBypass(
  tx: Executor,
  orgId: string,
  userId: string,
  until: Date,
): Promise<void> {
  await tx
    .update(memberships)
    .set({ ssoBypassUntil: until })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
}

export async function markMemberRemoved(tx: Executor, orgId: string, userId: string): Promise<void> {
  await tx
    .update(memberships)
    .set({ status: 'removed', removedAt: sql`now()` })
    .where(
      and(eq(memberships.orgId, orgId), eq(memberships.userId, userId), eq(memberships.status, 'active')),
    );
}

/** The org's active owners (join `roles` on the membership's role). */
const activeOwners = (orgId: string) =>
  and(eq(memberships.orgId, orgId), eq(memberships.status, 'active'), eq(roles.slug, OWNER_ROLE));

export async function countOwners(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .innerJoin(roles, membershipRole)
    .where(activeOwners(orgId));
  return row?.n ?? 0;
}

/** Live organizations the user is an active owner of (what `ORGS_MAX_OWNED_PER_USER` caps). */
export async function countOwnedOrgs(db: Executor, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .innerJoin(roles, membershipRole)
    .where(
      and(
        eq(memberships.userId, userId),
        eq(memberships.status, 'active'),
        eq(roles.slug, OWNER_ROLE),
        liveOrganization(),
      ),
    );
  return row?.n ?? 0;
}

/** Seats in use for the plan's member limit: active members plus live pending invitations. */
/** Refuses when `extra` more seats would pass the plan's member limit (members + live invitations). */
export async function assertSeatsFor(
  db: Executor,
  orgId: string,
  plan: string,
  extra: number,
): Promise<void> {
  const max = entitlements(plan).maxMembers;
  if (max === null || extra <= 0) return;
  const used = await countSeats(db, orgId);
  if (used + extra > max) {
    throw new PlanLimitError(
      `The ${entitlements(plan).name} plan allows ${max} members, pending invitations included; ${used} are in use.`,
    );
  }
}

export async function countSeats(db: Executor, orgId: string): Promise<number> {
  const [members] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active')));
  const [pending] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(invitations)
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.status, 'pending'),
        gt(invitations.expiresAt, sql`now()`),
      ),
    );
  return (members?.n ?? 0) + (pending?.n ?? 0);
}

/** The org's active members (pending invitations not counted): the seats a renewal bills. */
export async function countActiveMembers(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active')));
  return row?.n ?? 0;
}

/** `%q%` for LIKE, with the caller's own `%`, `_` and `\` taken literally. */
export function containsPattern(q: string): string {
  return `%${escapeLike(q.toLowerCase())}%`;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Below this many characters trigram indexes cannot help: short queries match the start instead. */
const MIN_SUBSTRING_QUERY = 3;
/** The most matching users fetched first; more than this and the org's own list is walked instead. */
const MAX_PREFETCHED_USERS = 2000;

/**
 * Who a search matches, as a condition on users: any part of the name or email (trigram
 * indexes), or for one or two characters their start (prefix indexes). A query with a space
 * cannot be in an email, one with `@` is not looked for in names.
 */
function userMatch(q: string): SQL {
  const like = (text: string) =>
    text.length < MIN_SUBSTRING_QUERY ? `${escapeLike(text)}%` : `%${escapeLike(text)}%`;
  const lower = q.toLowerCase();
  const name = sql`lower(${users.name}) LIKE ${like(lower)}`;
  if (/\s/.test(lower)) return name;
  // Emails are stored normalised: the query is normalised the same way, the column compared as is.
  const email = sql`${users.email} LIKE ${like(normalizeEmail(q))}`;
  if (q.includes('@')) return email;
  return or(name, email)!;
}

export interface MemberFilter {
  status?: MemberStatus;
  roleId?: string;
  q?: string;
}

/**
 * One page of the org's members, newest first (keyset on joined_at, user_id). Without a status
 * filter: current members (active and inactive). The search matches any part of the name or the
 * email, case-insensitively.
 *
 * Plans (measured with 100,000 members in one org): the keyset is a row comparison so that the
 * cursor is an index condition (page 500 reads a few hundred buffers, not the 25,000 rows before
 * it). A search first collects the matching users and, when they are few, reads just their
 * memberships by primary key (`memberPageByKey`): walking the org's list and testing each row
 * against the ids reads thousands of rows for a surname with a few hundred bearers. A common term
 * walks the list: a page fills at once.
 */
export async function listMembers(
  db: Executor,
  orgId: string,
  filter: MemberFilter,
  page: { limit: number; after?: { createdAt: Date; id: string } },
): Promise<MemberRow[]> {
  const conditions: SQL[] = [eq(memberships.orgId, orgId)];
  const lastActive = sql`coalesce(${memberships.lastActiveAt}, ${memberships.joinedAt})`;
  if (filter.status === 'removed') conditions.push(eq(memberships.status, 'removed'));
  else conditions.push(eq(memberships.status, 'active'));
  if (filter.status === 'active') conditions.push(sql`${lastActive} >= ${inactiveCutoff}`);
  if (filter.status === 'inactive') {
    // Activity is never before joining, so only members who joined before the cutoff can be
    // inactive: a bound the list index can use.
    conditions.push(sql`${lastActive} < ${inactiveCutoff}`, sql`${memberships.joinedAt} < ${inactiveCutoff}`);
  }
  if (filter.roleId) conditions.push(eq(memberships.roleId, filter.roleId));
  if (page.after) {
    conditions.push(keysetBefore(memberships.joinedAt, memberships.userId, page.after));
  }
  let prefetched: string[] | undefined;
  if (filter.q) {
    const match = userMatch(filter.q);
    if (filter.q.length < MIN_SUBSTRING_QUERY) {
      // One or two characters: most names start with some common pair, so the newest members
      // usually fill the page before the matching users could even be collected.
      const walked = await memberPageOfNewest(db, and(...conditions)!, match, page.limit);
      if (walked.length === page.limit) return walked;
    }
    // Rare terms are found through the trigram indexes, common ones by a short scan that stops at
    // the limit. (The indexes keep no pending list: one would make every search read it.) No
    // match anywhere goes on to the org's page query, as matches outside the org do: answering at
    // once would tell the org's admins, by the time taken, that no account anywhere matches.
    const matching = await db
      .select({ id: users.id })
      .from(users)
      .where(match)
      .limit(MAX_PREFETCHED_USERS + 1);
    if (matching.length <= MAX_PREFETCHED_USERS) prefetched = matching.map((u) => u.id);
    else conditions.push(match);
  }
  if (prefetched) {
    conditions.push(inArray(memberships.userId, prefetched));
    return memberPageByKey(db, and(...conditions)!, page.limit);
  }
  return selectMembers(db)
    .where(and(...conditions))
    .orderBy(...newestFirst)
    .limit(page.limit);
}

const newestFirst = [desc(memberships.joinedAt), desc(memberships.userId)];

/**
 * A page of members from `rows`, SQL selecting membership rows newest first: joined to their
 * users and roles (optionally kept only where `match` holds), in the list's own order
 * (joined_at, user_id), newest first, cut to `limit`. The subquery is aliased `memberships`, so
 * the shared member columns read from it.
 */
function pageOf(db: Executor, rows: SQL, limit: number, match?: SQL) {
  const page = new Subquery(rows, { userId: memberships.userId }, 'memberships');
  return db
    .select(memberColumns)
    .from(page)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole)
    .where(match)
    .orderBy(...newestFirst)
    .limit(limit);
}

const NEWEST_FIRST_SQL = sql`ORDER BY ${memberships.joinedAt} DESC, ${memberships.userId} DESC`;

/**
 * A page of members whose condition names their ids: their rows are looked up by user id, sorted
 * and cut to the page before they are joined. The inner subquery's `OFFSET 0` is a planning fence
 * (PostgreSQL does not flatten a subquery with an OFFSET): without it the planner walks the org's
 * list index in page order and tests every row against the ids, thousands of rows for a few
 * hundred matches.
 */
function memberPageByKey(db: Executor, where: SQL, limit: number) {
  return pageOf(
    db,
    sql`SELECT * FROM (SELECT * FROM ${memberships} WHERE ${where} OFFSET 0) AS ${memberships}
      ${NEWEST_FIRST_SQL} LIMIT ${limit}`,
    limit,
  );
}

/** How many of the newest members a short search reads before it collects the matching users. */
const FIRST_WALK_ROWS = 2000;

/**
 * The first page of members matching `match` among the FIRST_WALK_ROWS newest ones that meet
 * `where`: a full page is the page (nothing newer was skipped); fewer means the search must look
 * further. The inner `LIMIT` bounds the rows read however rare the term, and the join to users is
 * by primary key.
 */
function memberPageOfNewest(db: Executor, where: SQL, match: SQL, limit: number) {
  return pageOf(
    db,
    sql`SELECT * FROM ${memberships} WHERE ${where} ${NEWEST_FIRST_SQL} LIMIT ${FIRST_WALK_ROWS}`,
    limit,
    match,
  );
}

/** Whether a user with this email is an active member (invitations to members are refused). */
export async function findActiveMemberByEmail(
  db: Executor,
  orgId: string,
  email: string,
): Promise<{ userId: string } | undefined> {
  const [row] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      and(
        eq(memberships.orgId, orgId),
        eq(memberships.status, 'active'),
        eq(users.email, normalizeEmail(email)),
      ),
    );
  return row;
}

/** Emails of the org's active owners. */
export async function listOwnerEmails(db: Executor, orgId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole)
    .where(activeOwners(orgId));
  return rows.map((r) => r.email);
}

/**
 * The addresses and languages of the org's active members who hold `permission` (an Owner holds
 * every one): who is told of what that permission looks after (a webhook turned off).
 */
export async function listMembersHolding(
  db: Executor,
  orgId: string,
  permission: string,
): Promise<{ email: string; locale: string | null }[]> {
  return db
    .select({ email: users.email, locale: users.locale })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole)
    .where(
      and(
        eq(memberships.orgId, orgId),
        eq(memberships.status, 'active'),
        or(eq(roles.slug, OWNER_ROLE), sql`${permission} = ANY(${roles.permissions})`),
      ),
    )
    .orderBy(asc(users.email));
}

/**
 * Who in the org is told of something (notifications): active members of the live organization
 * (not suspended) whose account works (not disabled nor deleted), holding `permission` (an Owner holds every
 * one), or, without one, the Owners. Ids, in a stable order.
 */
export async function listMembersToTell(
  db: Executor,
  orgId: string,
  holding: Permission | 'owner',
): Promise<string[]> {
  const rows = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole)
    .where(
      and(
        eq(memberships.orgId, orgId),
        eq(memberships.status, 'active'),
        liveOrganization(),
        isNull(organizations.suspendedAt),
        isNull(users.disabledAt),
        isNull(users.deletedAt),
        holding === 'owner'
          ? eq(roles.slug, OWNER_ROLE)
          : or(eq(roles.slug, OWNER_ROLE), sql`${holding} = ANY(${roles.permissions})`),
      ),
    )
    .orderBy(asc(memberships.userId));
  return rows.map((r) => r.userId);
}

/** Of `userIds`, those still active members of the live, unsuspended org with a working account. */
export async function filterMembersToTell(db: Executor, orgId: string, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      and(
        eq(memberships.orgId, orgId),
        inArray(memberships.userId, userIds),
        eq(memberships.status, 'active'),
        liveOrganization(),
        isNull(organizations.suspendedAt),
        isNull(users.disabledAt),
        isNull(users.deletedAt),
      ),
    )
    .orderBy(asc(memberships.userId));
  return rows.map((r) => r.userId);
}

/** The live organizations `userId` is an active member of, by id (the order their locks are taken in). */
export async function listActiveOrgIds(db: Executor, userId: string): Promise<string[]> {
  const rows = await db
    .select({ orgId: memberships.orgId })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(and(eq(memberships.userId, userId), eq(memberships.status, 'active'), liveOrganization()))
    .orderBy(asc(memberships.orgId));
  return rows.map((r) => r.orgId);
}

/** Every membership `userId` has or had, with its organization and role, for their data export. */
export async function listUserMembershipHistory(db: Executor, userId: string) {
  return db
    .select({
      org: { id: organizations.id, slug: organizations.slug, name: organizations.name },
      role: roles.slug,
      status: memberships.status,
      joinedAt: memberships.joinedAt,
      lastActiveAt: memberships.lastActiveAt,
      removedAt: memberships.removedAt,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .innerJoin(roles, membershipRole)
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.joinedAt), asc(memberships.orgId));
}

/**
 * The organization's active members per role, with how many of them have two-factor
 * authentication on (compliance and executive reports). Roles nobody holds are not listed.
 */
export async function countMembersByRole(
  db: Executor,
  orgId: string,
): Promise<{ roleId: string; role: string; roleName: string; members: number; withTwoFactor: number }[]> {
  return db
    .select({
      roleId: roles.id,
      role: roles.slug,
      roleName: roles.name,
      members: sql<number>`count(*)::int`,
      withTwoFactor: sql<number>`count(${users.totpEnabledAt})::int`,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(roles, membershipRole)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active')))
    .groupBy(roles.id, roles.slug, roles.name)
    .orderBy(asc(roles.slug));
}
