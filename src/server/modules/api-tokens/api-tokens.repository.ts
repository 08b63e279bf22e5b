import { and, asc, desc, eq, isNull, lt, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { TokenKind } from '../../../contracts/tokens.ts';
import type { Executor } from '../../platform/db/client.ts';
import { membershipRole } from '../../platform/db/joins.ts';
import { liveOrganization, liveToken } from '../../platform/db/live.ts';
import {
  apiTokens,
  apiTokenUsage,
  memberships,
  organizations,
  roles,
  users,
} from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

/** Live: not revoked and not past its expiry. */
export const isLive = liveToken;

export async function insertToken(
  tx: Executor,
  values: {
    kind: TokenKind;
    orgId: string;
    userId: string | null;
    roleId: string | null;
    name: string;
    scopes: string[];
    tokenHash: Buffer;
    lastFour: string;
    createdBy: string;
    expiresAt: Date | null;
  },
): Promise<{ id: string; createdAt: Date }> {
  const [row] = await tx
    .insert(apiTokens)
    .values(values)
    .returning({ id: apiTokens.id, createdAt: apiTokens.createdAt });
  return row!;
}

/** Live tokens of a user (personal) or of an org (automation), for the per-owner limit. */
export async function countLiveTokens(
  tx: Executor,
  owner: { kind: 'personal'; userId: string } | { kind: 'automation'; orgId: string },
): Promise<number> {
  const whose =
    owner.kind === 'personal'
      ? and(eq(apiTokens.userId, owner.userId), eq(apiTokens.kind, 'personal'))
      : and(eq(apiTokens.orgId, owner.orgId), eq(apiTokens.kind, 'automation'));
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(apiTokens)
    .where(and(whose, isLive()));
  return row?.n ?? 0;
}

/** A token that is not revoked, by id within its org (and owner, for personal tokens). */
export async function findUnrevokedToken(
  tx: Executor,
  orgId: string | undefined,
  id: string,
  which: { kind: TokenKind; userId?: string },
) {
  const conditions = [eq(apiTokens.id, id), eq(apiTokens.kind, which.kind), isNull(apiTokens.revokedAt)];
  if (orgId) conditions.push(eq(apiTokens.orgId, orgId));
  if (which.userId) conditions.push(eq(apiTokens.userId, which.userId));
  const [row] = await tx
    .select({
      id: apiTokens.id,
      orgId: apiTokens.orgId,
      userId: apiTokens.userId,
      name: apiTokens.name,
      scopes: apiTokens.scopes,
    })
    .from(apiTokens)
    .where(and(...conditions));
  return row;
}

/** Joins a personal token's owner's active membership of the token's org (none for automation tokens). */
const ownerIsMember = and(
  eq(memberships.orgId, apiTokens.orgId),
  eq(memberships.userId, apiTokens.userId),
  eq(memberships.status, 'active'),
);

const tokenColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  scopes: apiTokens.scopes,
  lastFour: apiTokens.lastFour,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  lastUsedIp: apiTokens.lastUsedIp,
};

function pageConditions(base: SQL[], after: TimeCursor | undefined): SQL[] {
  if (after) base.push(keysetBefore(apiTokens.createdAt, apiTokens.id, after));
  return base;
}

/**
 * A user's personal tokens (not revoked), newest first, each with its organization and the
 * user's current role there (null once they are no longer a member).
 */
export async function listPersonalTokens(
  db: Executor,
  userId: string,
  page: { limit: number; after?: TimeCursor; orgId?: string },
) {
  const conditions = [
    eq(apiTokens.userId, userId),
    eq(apiTokens.kind, 'personal'),
    isNull(apiTokens.revokedAt),
  ];
  if (page.orgId) conditions.push(eq(apiTokens.orgId, page.orgId));
  return db
    .select({
      ...tokenColumns,
      orgId: apiTokens.orgId,
      orgSlug: organizations.slug,
      orgName: organizations.name,
      roleSlug: roles.slug,
      rolePermissions: roles.permissions,
    })
    .from(apiTokens)
    .innerJoin(organizations, and(eq(organizations.id, apiTokens.orgId), liveOrganization()))
    .leftJoin(memberships, ownerIsMember)
    .leftJoin(roles, membershipRole)
    .where(and(...pageConditions(conditions, page.after)))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(page.limit);
}

export type PersonalTokenRow = Awaited<ReturnType<typeof listPersonalTokens>>[number];

const owners = alias(users, 'owners');

/**
 * An org's tokens of a kind (not revoked), newest first, with who created them and their role;
 * `userId`: only the tokens that person holds.
 */
export async function listOrgTokens(
  db: Executor,
  orgId: string,
  kind: TokenKind,
  page: { limit: number; after?: TimeCursor; userId?: string },
) {
  return db
    .select({
      ...tokenColumns,
      userId: apiTokens.userId,
      userEmail: owners.email,
      createdBy: apiTokens.createdBy,
      createdByEmail: users.email,
      roleSlug: roles.slug,
      rolePermissions: roles.permissions,
    })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.createdBy))
    .leftJoin(owners, eq(owners.id, apiTokens.userId))
    .leftJoin(memberships, ownerIsMember)
    .leftJoin(
      roles,
      sql`${roles.orgId} = ${apiTokens.orgId} AND ${roles.id} = coalesce(${apiTokens.roleId}, ${memberships.roleId})`,
    )
    .where(
      and(
        ...pageConditions(
          [
            eq(apiTokens.orgId, orgId),
            eq(apiTokens.kind, kind),
            isNull(apiTokens.revokedAt),
            ...(page.userId ? [eq(apiTokens.userId, page.userId)] : []),
          ],
          page.after,
        ),
      ),
    )
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(page.limit);
}

export type OrgTokenRow = Awaited<ReturnType<typeof listOrgTokens>>[number];

/** An automation token's usage log, newest first, by id cursor. */
export async function listUsage(
  db: Executor,
  orgId: string,
  tokenId: string,
  page: { limit: number; before?: number },
) {
  const conditions = [eq(apiTokenUsage.orgId, orgId), eq(apiTokenUsage.tokenId, tokenId)];
  if (page.before !== undefined) conditions.push(lt(apiTokenUsage.id, page.before));
  return db
    .select({
      id: apiTokenUsage.id,
      at: apiTokenUsage.at,
      ip: apiTokenUsage.ip,
      method: apiTokenUsage.method,
      route: apiTokenUsage.route,
      status: apiTokenUsage.status,
      count: apiTokenUsage.count,
    })
    .from(apiTokenUsage)
    .innerJoin(
      apiTokens,
      and(eq(apiTokens.orgId, apiTokenUsage.orgId), eq(apiTokens.id, apiTokenUsage.tokenId)),
    )
    .where(and(...conditions))
    .orderBy(desc(apiTokenUsage.id))
    .limit(page.limit);
}

/** Whether the org has this automation token (revoked ones keep their log). */
export async function hasOrgToken(
  db: Executor,
  orgId: string,
  id: string,
  kind: TokenKind,
): Promise<boolean> {
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.id, id), eq(apiTokens.kind, kind)));
  return row !== undefined;
}

/** Which of an org's tokens: one by id, one user's, one kind, or any combination (all when empty). */
export interface TokenSelection {
  id?: string;
  userId?: string;
  kind?: TokenKind;
}

/** Marks the selected unrevoked tokens revoked; returns them (their hashes key the cache). */
export async function revokeUnrevokedTokens(
  tx: Executor,
  orgId: string,
  which: TokenSelection,
  revokedBy: string | null,
): Promise<Array<{ id: string; tokenHash: Buffer }>> {
  const conditions = [eq(apiTokens.orgId, orgId), isNull(apiTokens.revokedAt)];
  if (which.id) conditions.push(eq(apiTokens.id, which.id));
  if (which.userId) conditions.push(eq(apiTokens.userId, which.userId));
  if (which.kind) conditions.push(eq(apiTokens.kind, which.kind));
  return tx
    .update(apiTokens)
    .set({ revokedAt: sql`now()`, revokedBy })
    .where(and(...conditions))
    .returning({ id: apiTokens.id, tokenHash: apiTokens.tokenHash });
}

/** Every personal token `userId` ever had, as metadata only (never the hash), for their data export. */
export async function listPersonalTokenHistory(db: Executor, userId: string) {
  return db
    .select({
      id: apiTokens.id,
      orgId: apiTokens.orgId,
      name: apiTokens.name,
      scopes: apiTokens.scopes,
      lastFour: apiTokens.lastFour,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      lastUsedAt: apiTokens.lastUsedAt,
      lastUsedIp: apiTokens.lastUsedIp,
      revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), eq(apiTokens.kind, 'personal')))
    .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
}

/** The organizations where `userId` still holds an unrevoked personal token. */
export async function orgsWithPersonalTokens(db: Executor, userId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ orgId: apiTokens.orgId })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), eq(apiTokens.kind, 'personal'), isNull(apiTokens.revokedAt)))
    .orderBy(asc(apiTokens.orgId));
  return rows.map((r) => r.orgId);
}

/** Whether the org has a live token of any kind (the setup checklist's "create an API token"). */
export async function orgHasLiveToken(db: Executor, orgId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.orgId, orgId), isLive()))
    .limit(1);
  return row !== undefined;
}

/** The organization's live tokens by kind (compliance reports): automation and members' personal ones. */
export async function countOrgLiveTokens(
  db: Executor,
  orgId: string,
): Promise<{ automation: number; personal: number }> {
  const [row] = await db
    .select({
      automation: sql<number>`count(*) FILTER (WHERE ${apiTokens.kind} = 'automation')::int`,
      personal: sql<number>`count(*) FILTER (WHERE ${apiTokens.kind} = 'personal')::int`,
    })
    .from(apiTokens)
    .where(and(eq(apiTokens.orgId, orgId), isLive()));
  return { automation: row?.automation ?? 0, personal: row?.personal ?? 0 };
}
