import { and, asc, desc, eq, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import {
  memberships,
  organizations,
  scimGroupMembers,
  scimGroups,
  scimRequests,
  scimTokens,
  scimUsers,
  users,
} from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

// ---- tokens ----

export async function insertScimToken(
  tx: Executor,
  values: { orgId: string; name: string; tokenHash: Buffer; lastFour: string; createdBy: string | null },
): Promise<{ id: string; createdAt: Date }> {
  const [row] = await tx
    .insert(scimTokens)
    .values(values)
    .returning({ id: scimTokens.id, createdAt: scimTokens.createdAt });
  return row!;
}

export async function countLiveScimTokens(tx: Executor, orgId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(scimTokens)
    .where(and(eq(scimTokens.orgId, orgId), isNull(scimTokens.revokedAt)));
  return row?.n ?? 0;
}

/** The org's tokens not revoked, newest first. */
export async function listScimTokens(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor },
) {
  const conditions: SQL[] = [eq(scimTokens.orgId, orgId), isNull(scimTokens.revokedAt)];
  if (page.after) conditions.push(keysetBefore(scimTokens.createdAt, scimTokens.id, page.after));
  return db
    .select({
      id: scimTokens.id,
      name: scimTokens.name,
      lastFour: scimTokens.lastFour,
      createdAt: scimTokens.createdAt,
      createdBy: scimTokens.createdBy,
      lastUsedAt: scimTokens.lastUsedAt,
    })
    .from(scimTokens)
    .where(and(...conditions))
    .orderBy(desc(scimTokens.createdAt), desc(scimTokens.id))
    .limit(page.limit + 1);
}

/** Marks a live token revoked; undefined when the org has no such live token. */
export async function revokeScimToken(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .update(scimTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(scimTokens.orgId, orgId), eq(scimTokens.id, id), isNull(scimTokens.revokedAt)))
    .returning({ id: scimTokens.id, name: scimTokens.name });
  return row;
}

/** The live token with this hash, of a live organization, with that organization's state. */
export async function findScimBearer(db: Executor, tokenHash: Buffer) {
  const [row] = await db
    .select({
      id: scimTokens.id,
      orgId: scimTokens.orgId,
      name: scimTokens.name,
      lastUsedAt: scimTokens.lastUsedAt,
      plan: organizations.plan,
      suspended: sql<boolean>`${organizations.suspendedAt} IS NOT NULL`,
    })
    .from(scimTokens)
    .innerJoin(organizations, eq(organizations.id, scimTokens.orgId))
    .where(and(eq(scimTokens.tokenHash, tokenHash), isNull(scimTokens.revokedAt), liveOrganization()));
  return row;
}

/** Notes the token's use, at most once a minute (no write per request). */
export async function touchScimToken(db: Executor, id: string): Promise<void> {
  await db
    .update(scimTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(
      and(
        eq(scimTokens.id, id),
        or(isNull(scimTokens.lastUsedAt), lt(scimTokens.lastUsedAt, sql`now() - interval '1 minute'`)),
      ),
    );
}

// ---- users ----

export type ScimUserRow = typeof scimUsers.$inferSelect;

export interface ScimUserView extends ScimUserRow {
  /** The account's membership of the org now: its role id and status (none: never admitted). */
  roleId: string | null;
  memberStatus: string | null;
}

const userView = {
  id: scimUsers.id,
  orgId: scimUsers.orgId,
  userId: scimUsers.userId,
  userName: scimUsers.userName,
  externalId: scimUsers.externalId,
  active: scimUsers.active,
  name: scimUsers.name,
  displayName: scimUsers.displayName,
  emails: scimUsers.emails,
  enterprise: scimUsers.enterprise,
  attributes: scimUsers.attributes,
  scimRoleId: scimUsers.scimRoleId,
  createdAt: scimUsers.createdAt,
  updatedAt: scimUsers.updatedAt,
  roleId: memberships.roleId,
  memberStatus: memberships.status,
};

const selectUsers = (db: Executor) =>
  db
    .select(userView)
    .from(scimUsers)
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, scimUsers.orgId), eq(memberships.userId, scimUsers.userId)),
    );

export async function findScimUser(
  db: Executor,
  orgId: string,
  id: string,
): Promise<ScimUserView | undefined> {
  const [row] = await selectUsers(db).where(and(eq(scimUsers.orgId, orgId), eq(scimUsers.id, id)));
  return row;
}

export async function lockScimUser(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<ScimUserView | undefined> {
  const [row] = await selectUsers(tx)
    .where(and(eq(scimUsers.orgId, orgId), eq(scimUsers.id, id)))
    .for('update', { of: scimUsers });
  return row;
}

export async function findScimUserByUserName(db: Executor, orgId: string, userName: string) {
  const [row] = await db
    .select({ id: scimUsers.id })
    .from(scimUsers)
    .where(and(eq(scimUsers.orgId, orgId), sql`lower(${scimUsers.userName}) = lower(${userName})`));
  return row;
}

export async function findScimUserByAccount(db: Executor, orgId: string, userId: string) {
  const [row] = await db
    .select({ id: scimUsers.id })
    .from(scimUsers)
    .where(and(eq(scimUsers.orgId, orgId), eq(scimUsers.userId, userId)));
  return row;
}

/**
 * The org's SCIM users in creation order; narrowed in SQL by the one filter IdPs send on every
 * sync (`userName eq`, case-insensitive as RFC 7643 makes `userName`), the rest filtered by the caller.
 */
export async function listScimUsers(
  db: Executor,
  orgId: string,
  only: { userName?: string; externalId?: string } = {},
  page?: { offset: number; limit: number },
): Promise<ScimUserView[]> {
  const conditions: SQL[] = [eq(scimUsers.orgId, orgId)];
  if (only.userName !== undefined)
    conditions.push(sql`lower(${scimUsers.userName}) = lower(${only.userName})`);
  if (only.externalId !== undefined) conditions.push(eq(scimUsers.externalId, only.externalId));
  const query = selectUsers(db)
    .where(and(...conditions))
    .orderBy(asc(scimUsers.createdAt), asc(scimUsers.id));
  return page ? query.offset(page.offset).limit(page.limit) : query;
}

export async function countScimUsers(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(scimUsers)
    .where(eq(scimUsers.orgId, orgId));
  return row?.n ?? 0;
}

export interface ScimUserValues {
  userName: string;
  externalId: string | null;
  active: boolean;
  name: Record<string, unknown> | null;
  displayName: string | null;
  emails: unknown[];
  enterprise: Record<string, unknown> | null;
  attributes: Record<string, unknown> | null;
}

export async function insertScimUser(
  tx: Executor,
  orgId: string,
  values: ScimUserValues & { userId: string; scimRoleId: string | null },
): Promise<{ id: string } | undefined> {
  const [row] = await tx
    .insert(scimUsers)
    .values({ orgId, ...values })
    .onConflictDoNothing()
    .returning({ id: scimUsers.id });
  return row;
}

export async function updateScimUser(
  tx: Executor,
  orgId: string,
  id: string,
  values: Partial<ScimUserValues> & { scimRoleId?: string | null },
): Promise<void> {
  await tx
    .update(scimUsers)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(scimUsers.orgId, orgId), eq(scimUsers.id, id)));
}

export async function deleteScimUser(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(scimUsers).where(and(eq(scimUsers.orgId, orgId), eq(scimUsers.id, id)));
}

/** The account's email and name, for the audit entry and events. */
export async function findAccount(db: Executor, userId: string) {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

// ---- groups ----

export type ScimGroupRow = typeof scimGroups.$inferSelect;

export async function findScimGroup(
  db: Executor,
  orgId: string,
  id: string,
): Promise<ScimGroupRow | undefined> {
  const [row] = await db
    .select()
    .from(scimGroups)
    .where(and(eq(scimGroups.orgId, orgId), eq(scimGroups.id, id)));
  return row;
}

export async function lockScimGroup(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<ScimGroupRow | undefined> {
  const [row] = await tx
    .select()
    .from(scimGroups)
    .where(and(eq(scimGroups.orgId, orgId), eq(scimGroups.id, id)))
    .for('update');
  return row;
}

export async function listScimGroups(
  db: Executor,
  orgId: string,
  only: { displayName?: string } = {},
): Promise<ScimGroupRow[]> {
  const conditions: SQL[] = [eq(scimGroups.orgId, orgId)];
  if (only.displayName !== undefined) {
    conditions.push(sql`lower(${scimGroups.displayName}) = lower(${only.displayName})`);
  }
  return db
    .select()
    .from(scimGroups)
    .where(and(...conditions))
    .orderBy(asc(scimGroups.createdAt), asc(scimGroups.id));
}

export async function insertScimGroup(
  tx: Executor,
  orgId: string,
  values: { displayName: string; externalId: string | null },
): Promise<ScimGroupRow | undefined> {
  const [row] = await tx
    .insert(scimGroups)
    .values({ orgId, ...values })
    .onConflictDoNothing()
    .returning();
  return row;
}

export async function updateScimGroup(
  tx: Executor,
  orgId: string,
  id: string,
  values: { displayName: string; externalId: string | null },
): Promise<void> {
  await tx
    .update(scimGroups)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(scimGroups.orgId, orgId), eq(scimGroups.id, id)));
}

export async function deleteScimGroup(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(scimGroups).where(and(eq(scimGroups.orgId, orgId), eq(scimGroups.id, id)));
}

/** Members (SCIM user ids) of the given groups of the org, with the user's userName. */
export async function listGroupMembers(db: Executor, orgId: string, groupIds: readonly string[]) {
  if (groupIds.length === 0) return [];
  return db
    .select({
      groupId: scimGroupMembers.groupId,
      scimUserId: scimGroupMembers.scimUserId,
      userName: scimUsers.userName,
    })
    .from(scimGroupMembers)
    .innerJoin(
      scimUsers,
      and(eq(scimUsers.orgId, scimGroupMembers.orgId), eq(scimUsers.id, scimGroupMembers.scimUserId)),
    )
    .where(and(eq(scimGroupMembers.orgId, orgId), inArray(scimGroupMembers.groupId, [...groupIds])))
    .orderBy(asc(scimUsers.createdAt), asc(scimUsers.id));
}

/** Which of these ids are SCIM users of the org. */
export async function existingScimUserIds(
  db: Executor,
  orgId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: scimUsers.id })
    .from(scimUsers)
    .where(and(eq(scimUsers.orgId, orgId), inArray(scimUsers.id, [...ids])));
  return new Set(rows.map((r) => r.id));
}

export async function addGroupMembers(tx: Executor, orgId: string, groupId: string, ids: readonly string[]) {
  if (ids.length === 0) return;
  await tx
    .insert(scimGroupMembers)
    .values(ids.map((scimUserId) => ({ orgId, groupId, scimUserId })))
    .onConflictDoNothing();
}

export async function removeGroupMembers(
  tx: Executor,
  orgId: string,
  groupId: string,
  ids: readonly string[],
) {
  if (ids.length === 0) return;
  await tx
    .delete(scimGroupMembers)
    .where(
      and(
        eq(scimGroupMembers.orgId, orgId),
        eq(scimGroupMembers.groupId, groupId),
        inArray(scimGroupMembers.scimUserId, [...ids]),
      ),
    );
}

/** The display names of the groups a SCIM user is in. */
export async function listUserGroupNames(db: Executor, orgId: string, scimUserId: string): Promise<string[]> {
  const rows = await db
    .select({ displayName: scimGroups.displayName })
    .from(scimGroupMembers)
    .innerJoin(
      scimGroups,
      and(eq(scimGroups.orgId, scimGroupMembers.orgId), eq(scimGroups.id, scimGroupMembers.groupId)),
    )
    .where(and(eq(scimGroupMembers.orgId, orgId), eq(scimGroupMembers.scimUserId, scimUserId)))
    .orderBy(asc(scimGroups.createdAt));
  return rows.map((r) => r.displayName);
}

/** The groups (id and display name) each of these SCIM users is in. */
export async function listGroupsOfUsers(db: Executor, orgId: string, scimUserIds: readonly string[]) {
  if (scimUserIds.length === 0) return [];
  return db
    .select({
      scimUserId: scimGroupMembers.scimUserId,
      groupId: scimGroups.id,
      displayName: scimGroups.displayName,
    })
    .from(scimGroupMembers)
    .innerJoin(
      scimGroups,
      and(eq(scimGroups.orgId, scimGroupMembers.orgId), eq(scimGroups.id, scimGroupMembers.groupId)),
    )
    .where(and(eq(scimGroupMembers.orgId, orgId), inArray(scimGroupMembers.scimUserId, [...scimUserIds])));
}

// ---- request log ----

/** Requests kept per org, and for how long. */
export const SCIM_LOG_MAX_ROWS = 10_000;
export const SCIM_LOG_MAX_DAYS = 30;

export async function insertScimRequest(
  db: Executor,
  entry: { orgId: string; method: string; path: string; status: number; error: string | null },
): Promise<void> {
  await db.insert(scimRequests).values(entry);
}

export async function listScimRequests(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor },
) {
  const conditions: SQL[] = [eq(scimRequests.orgId, orgId)];
  if (page.after) conditions.push(keysetBefore(scimRequests.at, scimRequests.id, page.after));
  return db
    .select({
      id: scimRequests.id,
      createdAt: scimRequests.at,
      method: scimRequests.method,
      path: scimRequests.path,
      status: scimRequests.status,
      error: scimRequests.error,
    })
    .from(scimRequests)
    .where(and(...conditions))
    .orderBy(desc(scimRequests.at), desc(scimRequests.id))
    .limit(page.limit + 1);
}

/** Deletes entries past the retention bound: older than 30 days, or past the 10,000 newest of their org. */
export async function purgeScimRequests(db: Executor): Promise<void> {
  await db
    .delete(scimRequests)
    .where(lt(scimRequests.at, sql`now() - make_interval(days => ${SCIM_LOG_MAX_DAYS})`));
  await db.execute(sql`
    DELETE FROM scim_requests r
    USING (
      SELECT org_id, created_at AS cutoff_at, id AS cutoff_id FROM (
        SELECT org_id, created_at, id, row_number() OVER (PARTITION BY org_id ORDER BY created_at DESC, id DESC) AS n
        FROM scim_requests
      ) ranked WHERE n = ${SCIM_LOG_MAX_ROWS}
    ) c
    WHERE r.org_id = c.org_id AND (r.created_at, r.id) < (c.cutoff_at, c.cutoff_id)`);
}
