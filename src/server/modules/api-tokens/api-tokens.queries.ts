import type { Permission } from '../../../contracts/permissions.ts';
import {
  AUTOMATION_TOKEN_PREFIX,
  PERSONAL_TOKEN_PREFIX,
  scopePermissions,
  type TokenKind,
  type TokenScope,
} from '../../../contracts/tokens.ts';
import { rolePermissions } from '../../platform/access/access.ts';
import { tokenPermissions } from '../../platform/auth/tokens.ts';
import type { Executor } from '../../platform/db/client.ts';
import { decodeCursor, decodeSeqCursor, encodeSeqCursor, toPage } from '../../platform/http/paging.ts';
import type { CreatedToken } from './api-tokens.commands.ts';
import { listOrgTokens, listPersonalTokens, listUsage } from './api-tokens.repository.ts';

/** How a token is shown in lists: its prefix and last four characters, never more. */
export const tokenHint = (kind: TokenKind, lastFour: string) =>
  `${kind === 'personal' ? PERSONAL_TOKEN_PREFIX : AUTOMATION_TOKEN_PREFIX}…${lastFour}`;

const statusOf = (expiresAt: Date | null) =>
  expiresAt !== null && expiresAt.getTime() <= Date.now() ? ('expired' as const) : ('active' as const);

/** What a token can do right now: its scopes narrowed by the role it acts with (none without one). */
function currentPermissions(
  scopes: string[],
  role: { slug: string | null; permissions: string[] | null },
): Permission[] {
  if (!role.slug || !role.permissions) return [];
  return [
    ...tokenPermissions(
      scopePermissions(scopes as TokenScope[]),
      rolePermissions(role.slug, role.permissions),
    ),
  ];
}

interface Page {
  limit?: number;
  cursor?: string;
}

export async function listMyTokens(db: Executor, userId: string, query: Page & { orgId?: string }) {
  const limit = query.limit ?? 50;
  const after = decodeCursor(query.cursor);
  const rows = await listPersonalTokens(db, userId, {
    limit: limit + 1,
    ...(after ? { after } : {}),
    ...(query.orgId ? { orgId: query.orgId } : {}),
  });
  return toPage(rows, limit, (r) => ({
    id: r.id,
    name: r.name,
    org: { id: r.orgId, slug: r.orgSlug, name: r.orgName },
    orgId: r.orgId,
    scopes: r.scopes as TokenScope[],
    role: r.roleSlug,
    permissions: currentPermissions(r.scopes, { slug: r.roleSlug, permissions: r.rolePermissions }),
    status: statusOf(r.expiresAt),
    hint: tokenHint('personal', r.lastFour),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    lastUsedAt: r.lastUsedAt,
  }));
}

/** An org's tokens of a kind, a page at a time; `userId`: only that person's (personal tokens). */
export async function listOrgTokensPage(
  db: Executor,
  orgId: string,
  kind: TokenKind,
  query: Page,
  userId?: string,
) {
  const limit = query.limit ?? 50;
  const after = decodeCursor(query.cursor);
  const rows = await listOrgTokens(db, orgId, kind, {
    limit: limit + 1,
    ...(after ? { after } : {}),
    ...(userId ? { userId } : {}),
  });
  return toPage(rows, limit, (r) => ({
    id: r.id,
    name: r.name,
    ...(kind === 'personal' ? { owner: { id: r.userId!, email: r.userEmail } } : {}),
    role: r.roleSlug,
    scopes: r.scopes as TokenScope[],
    permissions: currentPermissions(r.scopes, { slug: r.roleSlug, permissions: r.rolePermissions }),
    status: statusOf(r.expiresAt),
    hint: tokenHint(kind, r.lastFour),
    createdAt: r.createdAt,
    createdBy: r.createdBy ? { id: r.createdBy, email: r.createdByEmail } : null,
    expiresAt: r.expiresAt,
    lastUsedAt: r.lastUsedAt,
    lastUsedIp: r.lastUsedIp,
  }));
}

/** The answer to a creation: the token once, and what a list will show of it from now on. */
export function createdView(created: CreatedToken) {
  return {
    id: created.id,
    name: created.name,
    scopes: created.scopes,
    status: 'active' as const,
    hint: tokenHint(created.kind, created.lastFour),
    createdAt: created.createdAt,
    expiresAt: created.expiresAt,
    lastUsedAt: null,
    token: created.token,
  };
}

export async function listUsagePage(db: Executor, orgId: string, tokenId: string, query: Page) {
  const limit = query.limit ?? 50;
  const before = decodeSeqCursor(query.cursor);
  const rows = await listUsage(db, orgId, tokenId, {
    limit: limit + 1,
    ...(before !== undefined ? { before } : {}),
  });
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return {
    items: items.map(({ id: _id, ...entry }) => entry),
    nextCursor: more ? encodeSeqCursor(items[items.length - 1]!.id) : null,
  };
}
