import { eq } from 'drizzle-orm';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import {
  scopePermissions,
  type TokenKind,
  type TokenScope,
  tokenScopesOrdered,
} from '../../../contracts/tokens.ts';
import { rolePermissions } from '../../platform/access/access.ts';
import { assertCanGrant } from '../../platform/access/grants.ts';
import { lockOrgAccess, orgAccess } from '../../platform/access/guard.ts';
import { generateToken, TOKENS_CACHE, tokenPermissions } from '../../platform/auth/tokens.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { users } from '../../platform/db/schema.ts';
import {
  assertFound,
  ConflictError,
  OrgSuspendedError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { findRoleBySlug, roleForAssignment } from '../roles/index.ts';
import {
  countLiveTokens,
  findUnrevokedToken,
  insertToken,
  revokeUnrevokedTokens,
  type TokenSelection,
} from './api-tokens.repository.ts';

/**
 * Revokes live tokens inside a command, and drops them from every instance's cache at commit.
 * Returns the ids revoked.
 */
export async function revokeTokens(
  ctx: Pick<CommandContext, 'tx' | 'invalidate'>,
  which: { orgId: string } & TokenSelection,
  revokedBy: string | null,
): Promise<string[]> {
  const { orgId, ...only } = which;
  const revoked = await revokeUnrevokedTokens(ctx.tx, orgId, only, revokedBy);
  for (const row of revoked) await ctx.invalidate(TOKENS_CACHE, row.tokenHash.toString('hex'));
  return revoked.map((r) => r.id);
}

/** Live tokens one user may hold (personal), and one organization (automation). */
export const MAX_PERSONAL_TOKENS = 100;
export const MAX_AUTOMATION_TOKENS = 200;

const DAY_MS = 86_400_000;

export interface NewTokenInput {
  name: string;
  scopes: TokenScope[];
  expiresInDays: number | null;
}

export interface CreatedToken {
  id: string;
  kind: TokenKind;
  name: string;
  scopes: TokenScope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastFour: string;
  /** The token itself: in this answer and nowhere else, ever. */
  token: string;
}

class TokenLimitError extends ConflictError {
  constructor(limit: number, whose: string) {
    super(
      `${whose} already ${whose === 'You' ? 'have' : 'has'} ${limit} live tokens. Revoke one first.`,
      'token_limit',
    );
  }
}

async function issue(
  ctx: CommandContext,
  kind: TokenKind,
  fields: { orgId: string; userId: string | null; roleId: string | null; createdBy: string },
  input: NewTokenInput,
): Promise<CreatedToken> {
  const { token, tokenHash, lastFour } = generateToken(kind);
  const scopes = tokenScopesOrdered(input.scopes);
  const expiresAt = input.expiresInDays === null ? null : new Date(Date.now() + input.expiresInDays * DAY_MS);
  const row = await insertToken(ctx.tx, {
    kind,
    ...fields,
    name: input.name,
    scopes,
    tokenHash,
    lastFour,
    expiresAt,
  });
  return { id: row.id, kind, name: input.name, scopes, createdAt: row.createdAt, expiresAt, lastFour, token };
}

/** The signed-in user in person: tokens are made and revoked from a session, never by another token. */
function sessionUser(ctx: CommandContext): string {
  if (ctx.actor.type !== 'user' || ctx.actor.tokenId) throw new UnauthenticatedError();
  return ctx.actor.userId;
}

/**
 * A personal token for one organization the user belongs to. Its scopes are what it may ever do;
 * on each request the user's role there at that moment narrows them.
 */
export const createPersonalToken = defineCommand({
  action: 'token.created',
  async run(ctx, input: NewTokenInput & { orgId: string }): Promise<CreatedToken> {
    const userId = sessionUser(ctx);
    const access = await lockOrgAccess(ctx.tx, input.orgId, userId, 'shared');
    if (access.suspended) throw new OrgSuspendedError();
    // One creation at a time per user, so the limit holds under concurrent requests.
    await ctx.tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update');
    if ((await countLiveTokens(ctx.tx, { kind: 'personal', userId })) >= MAX_PERSONAL_TOKENS) {
      throw new TokenLimitError(MAX_PERSONAL_TOKENS, 'You');
    }
    const created = await issue(
      ctx,
      'personal',
      { orgId: input.orgId, userId, roleId: null, createdBy: userId },
      input,
    );
    const role = await findRoleBySlug(ctx.tx, input.orgId, access.roleSlug);
    ctx.record({
      orgId: input.orgId,
      target: { type: 'personal_token', id: created.id, name: created.name },
      after: {
        name: created.name,
        owner: userId,
        scopes: created.scopes,
        expiresAt: created.expiresAt,
        role: access.roleSlug,
        roleName: role?.name,
      },
    });
    return created;
  },
});

export const revokePersonalToken = defineCommand({
  action: 'token.revoked',
  async run(ctx, input: { id: string }) {
    const userId = sessionUser(ctx);
    const token = await findUnrevokedToken(ctx.tx, undefined, input.id, { kind: 'personal', userId });
    assertFound(token, 'token');
    await revokeTokens(ctx, { orgId: token.orgId, id: token.id }, userId);
    ctx.record({
      orgId: token.orgId,
      target: { type: 'personal_token', id: token.id, name: token.name },
      before: { name: token.name, owner: userId, scopes: token.scopes },
    });
  },
});

/**
 * An automation token: the organization's, acting with one of its roles (never Owner) narrowed by
 * its scopes. Nobody makes a token that could do what they cannot.
 */
export const createAutomationToken = defineCommand({
  action: 'token.created',
  permission: 'api_keys:manage',
  // Serialized per organization, so the live-token limit holds.
  orgLock: 'exclusive',
  async run(ctx, input: NewTokenInput & { role?: string }): Promise<CreatedToken & { role: string }> {
    const creator = sessionUser(ctx);
    const access = orgAccess(ctx);
    const slug = input.role ?? (access.roleSlug === OWNER_ROLE ? 'admin' : access.roleSlug);
    if (slug === OWNER_ROLE) {
      throw new ValidationError([
        { field: '/body/role', message: 'cannot be owner: a token cannot own an organization' },
      ]);
    }
    const role = await roleForAssignment(ctx, slug);
    assertCanGrant(
      access,
      tokenPermissions(scopePermissions(input.scopes), rolePermissions(role.slug, role.permissions)),
      { role: role.slug, scopes: [...input.scopes].sort().join(',') },
    );
    if (
      (await countLiveTokens(ctx.tx, { kind: 'automation', orgId: access.orgId })) >= MAX_AUTOMATION_TOKENS
    ) {
      throw new TokenLimitError(MAX_AUTOMATION_TOKENS, 'The organization');
    }
    const created = await issue(
      ctx,
      'automation',
      { orgId: access.orgId, userId: null, roleId: role.id, createdBy: creator },
      input,
    );
    ctx.record({
      target: { type: 'automation_token', id: created.id, name: created.name },
      after: {
        name: created.name,
        role: role.slug,
        roleName: role.name,
        scopes: created.scopes,
        expiresAt: created.expiresAt,
      },
    });
    return { ...created, role: role.slug };
  },
});

/** Revokes one of the organization's automation tokens, or a member's personal token for it. */
export const revokeOrgToken = defineCommand({
  action: 'token.revoked',
  permission: 'api_keys:manage',
  async run(ctx, input: { id: string; kind: TokenKind }) {
    const access = orgAccess(ctx);
    const token = await findUnrevokedToken(ctx.tx, access.orgId, input.id, { kind: input.kind });
    assertFound(token, 'token');
    await revokeTokens(ctx, { orgId: access.orgId, id: token.id }, access.userId);
    ctx.record({
      target: { type: `${input.kind}_token`, id: token.id, name: token.name },
      before: {
        name: token.name,
        scopes: token.scopes,
        ...(token.userId ? { owner: token.userId } : {}),
      },
    });
  },
});
