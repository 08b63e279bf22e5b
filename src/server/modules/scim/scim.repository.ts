import { and, asc, desc, eq, inArray, isNull, lt, not, or, type SQL, sql } from 'drizzle-orm';
import type { Filter } from 'scim2-parse-filter';
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

/**
 * Holds the org's live token with this id (FOR SHARE), inside a command that holds the org: a
 * revocation committed since the request was let in is seen here, and one made now waits.
 */
export async function lockLiveScimToken(tx: Executor, orgId: string, id: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: scimTokens.id })
    .from(scimTokens)
    .where(and(eq(scimTokens.id, id), eq(scimTokens.orgId, orgId), isNull(scimTokens.revokedAt)))
    .for('share');
  return row !== undefined;
}

/** Notes the token's use, at most once a minute (no write per request). */
export async function touchScimToken(db: Executor, orgId: string, id: string): Promise<void> {
  await db
    .update(scimTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(
      and(
        eq(scimTokens.orgId, orgId),
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

/** The org's SCIM users in creation order, narrowed by a filter's SQL (scimUserFilter), a page or all. */
export async function listScimUsers(
  db: Executor,
  orgId: string,
  where?: SQL,
  page?: { offset: number; limit: number },
): Promise<ScimUserView[]> {
  const query = selectUsers(db)
    .where(and(eq(scimUsers.orgId, orgId), where))
    .orderBy(asc(scimUsers.createdAt), asc(scimUsers.id));
  return page ? query.offset(page.offset).limit(page.limit) : query;
}

export async function countScimUsers(db: Executor, orgId: string, where?: SQL): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(scimUsers)
    .where(and(eq(scimUsers.orgId, orgId), where));
  return row?.n ?? 0;
}

// ---- filters in SQL ----

/**
 * A SCIM filter as SQL. `where` narrows the rows (undefined: not at all); `exact` says it is the
 * whole filter, so that the count and the page come from SQL and nothing is left to check in
 * memory. Otherwise `where` is a superset the caller filters further (scim.resources' matcher,
 * with the same case rules).
 */
export interface SqlFilter {
  where: SQL | undefined;
  exact: boolean;
}

const UNNARROWED: SqlFilter = { where: undefined, exact: false };

/** An attribute path without the core schema's URN (`urn:…:core:2.0:User:userName` → `userName`). */
export const corePath = (path: string): string =>
  path.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(?:User|Group):/i, '');

/** The scope's own entry (never one `Object.prototype` has: `constructor`). */
const own = <T>(record: Record<string, T>, name: string): T | undefined =>
  Object.hasOwn(record, name) ? record[name] : undefined;

const STORED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Column {
  sql: SQL;
  type: 'string' | 'id' | 'boolean';
  /** RFC 7643 `caseExact`: otherwise strings compare ignoring case. */
  caseExact?: boolean;
}

/** The attributes a filter may name in SQL: columns, and multi-valued ones as EXISTS over their elements. */
interface FilterScope {
  columns: Record<string, Column>;
  lists: Record<string, { exists: (condition: SQL) => SQL; scope: FilterScope }>;
}

/** One comparison: NULL where the attribute is absent, which `where` reads as false (and `not` as false too). */
function compare(column: Column, op: string, value: unknown): SQL | undefined {
  if (op === 'pr') return sql`(${column.sql} IS NOT NULL)`;
  if (column.type === 'boolean') {
    return op === 'eq' && typeof value === 'boolean' ? sql`${column.sql} = ${value}` : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (column.type === 'id') {
    // Ids compare exactly, as stored (lower case): one that cannot be one matches nothing.
    if (op !== 'eq') return undefined;
    return STORED_UUID.test(value) ? sql`${column.sql} = ${value}::uuid` : sql`false`;
  }
  const [a, b] = column.caseExact
    ? [column.sql, sql`${value}::text`]
    : [sql`lower(${column.sql})`, sql`lower(${value}::text)`];
  // No LIKE: `%`, `_` and `\` in the value are characters, not patterns. `eq` on userName is
  // `lower(user_name) = lower($1)`, as the org's unique index has it: the lookup IdPs make on every sync.
  switch (op) {
    case 'eq':
      return sql`${a} = ${b}`;
    case 'co':
      return sql`strpos(${a}, ${b}) > 0`;
    case 'sw':
      return sql`starts_with(${a}, ${b})`;
    case 'ew':
      return sql`right(${a}, char_length(${b})) = ${b}`;
    default:
      return undefined;
  }
}

function translate(f: Filter, scope: FilterScope): SqlFilter {
  switch (f.op) {
    case 'and': {
      const parts = f.filters.map((g) => translate(g, scope));
      const where = parts.flatMap((p) => (p.where ? [p.where] : []));
      return {
        where: where.length > 0 ? sql`(${and(...where)})` : undefined,
        exact: parts.every((p) => p.exact),
      };
    }
    case 'or': {
      const parts = f.filters.map((g) => translate(g, scope));
      if (parts.some((p) => !p.where)) return UNNARROWED;
      return { where: sql`(${or(...parts.map((p) => p.where))})`, exact: parts.every((p) => p.exact) };
    }
    case 'not': {
      const inner = translate(f.filter, scope);
      // An absent attribute's NULL is false before it is negated (the tester's `not` of no match).
      return inner.exact && inner.where
        ? { where: not(sql`coalesce(${inner.where}, false)`), exact: true }
        : UNNARROWED;
    }
    case '[]': {
      const list = own(scope.lists, corePath(f.attrPath).toLowerCase());
      const inner = list ? translate(f.valFilter, list.scope) : UNNARROWED;
      return list && inner.where ? { where: list.exists(inner.where), exact: inner.exact } : UNNARROWED;
    }
    default: {
      const path = corePath(f.attrPath).toLowerCase();
      const dot = path.indexOf('.');
      const list = dot > 0 ? own(scope.lists, path.slice(0, dot)) : undefined;
      if (list) {
        const inner = translate({ ...f, attrPath: path.slice(dot + 1) }, list.scope);
        return inner.where ? { where: list.exists(inner.where), exact: inner.exact } : UNNARROWED;
      }
      const column = own(scope.columns, path);
      const where = column && compare(column, f.op, 'compValue' in f ? f.compValue : undefined);
      return where ? { where, exact: true } : UNNARROWED;
    }
  }
}

/** A sub-attribute of a JSON array element, when it is a string (as the tester compares it). */
const elementText = (element: SQL, name: string) =>
  sql`(CASE WHEN jsonb_typeof(${element}->${name}::text) = 'string' THEN ${element}->>${name}::text END)`;

const email = sql.raw('scim_email.v');

const USER_FILTER_SCOPE: FilterScope = {
  columns: {
    id: { sql: sql`${scimUsers.id}`, type: 'id' },
    username: { sql: sql`${scimUsers.userName}`, type: 'string' },
    externalid: { sql: sql`${scimUsers.externalId}`, type: 'string', caseExact: true },
    displayname: { sql: sql`${scimUsers.displayName}`, type: 'string' },
    active: { sql: sql`${scimUsers.active}`, type: 'boolean' },
  },
  lists: {
    emails: {
      exists: (condition) => sql`EXISTS (
        SELECT 1 FROM jsonb_array_elements(
          CASE WHEN jsonb_typeof(${scimUsers.emails}) = 'array' THEN ${scimUsers.emails} ELSE '[]'::jsonb END
        ) AS scim_email(v) WHERE ${condition})`,
      scope: {
        columns: {
          value: { sql: elementText(email, 'value'), type: 'string' },
          type: { sql: elementText(email, 'type'), type: 'string' },
          display: { sql: elementText(email, 'display'), type: 'string' },
          primary: {
            sql: sql`(CASE ${email}->'primary' WHEN 'true'::jsonb THEN true WHEN 'false'::jsonb THEN false END)`,
            type: 'boolean',
          },
        },
        lists: {},
      },
    },
  },
};

const GROUP_FILTER_SCOPE: FilterScope = {
  columns: {
    id: { sql: sql`${scimGroups.id}`, type: 'id' },
    displayname: { sql: sql`${scimGroups.displayName}`, type: 'string' },
    externalid: { sql: sql`${scimGroups.externalId}`, type: 'string', caseExact: true },
  },
  lists: {
    members: {
      exists: (condition) => sql`EXISTS (
        SELECT 1 FROM ${scimGroupMembers} AS scim_member
        WHERE scim_member.org_id = ${scimGroups.orgId} AND scim_member.group_id = ${scimGroups.id}
          AND ${condition})`,
      scope: { columns: { value: { sql: sql.raw('scim_member.scim_user_id'), type: 'id' } }, lists: {} },
    },
  },
};

/**
 * What of a User filter SQL answers: `eq`, `co`, `sw`, `ew` and `pr` on userName, externalId,
 * displayName and emails (also `emails[type eq "work"].value eq …`), `id eq`, `active eq`, under
 * `and`, `or` and `not`. userName, displayName and emails ignore case (RFC 7643); the rest is
 * left to the caller, over the rows this narrows to.
 */
export const scimUserFilter = (f: Filter): SqlFilter => translate(f, USER_FILTER_SCOPE);

/** The same for Groups: displayName, externalId, `id eq`, `members[value eq …]`. */
export const scimGroupFilter = (f: Filter): SqlFilter => translate(f, GROUP_FILTER_SCOPE);

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

/**
 * The org's groups in creation order: those with this displayName (case-insensitive), or those
 * a filter's SQL (scimGroupFilter) narrows to; a page or all.
 */
export async function listScimGroups(
  db: Executor,
  orgId: string,
  only: { displayName?: string; where?: SQL } = {},
  page?: { offset: number; limit: number },
): Promise<ScimGroupRow[]> {
  const conditions: SQL[] = [eq(scimGroups.orgId, orgId)];
  if (only.displayName !== undefined) {
    conditions.push(sql`lower(${scimGroups.displayName}) = lower(${only.displayName})`);
  }
  if (only.where) conditions.push(only.where);
  const query = db
    .select()
    .from(scimGroups)
    .where(and(...conditions))
    .orderBy(asc(scimGroups.createdAt), asc(scimGroups.id));
  return page ? query.offset(page.offset).limit(page.limit) : query;
}

export async function countScimGroups(db: Executor, orgId: string, where?: SQL): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(scimGroups)
    .where(and(eq(scimGroups.orgId, orgId), where));
  return row?.n ?? 0;
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
