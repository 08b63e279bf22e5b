import type { FastifyRequest } from 'fastify';
import type { AuditEntry } from '../../platform/audit/entry.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { defineCommand } from '../../platform/command.ts';
import { UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import {
  eraseAccount,
  findAccountDates,
  forgetDevices,
  listPasskeyMetadata,
  listUserSessions,
  lockUser,
} from '../accounts/index.ts';
import { listPersonalTokenHistory, orgsWithPersonalTokens, revokeTokens } from '../api-tokens/index.ts';
import { listAuditEntries } from '../audit-log/index.ts';
import {
  departOrganization,
  keepsAnOwner,
  listActiveOrgIds,
  listUserMembershipHistory,
} from '../members/index.ts';

/**
 * The end of an account's life, and what it may take along first: the personal data download
 * (GDPR art. 15 and 20) and deletion (art. 17). Deletion keeps what happened: the audit entries
 * stay, naming the account by id (and by the email and name it had, as each entry recorded them).
 */

/**
 * Deletes the signed-in account. Refused (409 last_owner) while it is the only Owner of an
 * organization: each organization is held exclusively while it is left, and the database's
 * last-owner trigger stands behind the check, so another owner leaving at the same moment cannot
 * leave an organization ownerless. Each organization's log records `member.left` in the same
 * transaction as `user.deleted` in the account's own log.
 */
export const deleteAccount = defineCommand({
  action: 'user.deleted',
  alsoRecords: ['member.left'],
  constraints: keepsAnOwner,
  async run(ctx, input: { verifiedHash: string }): Promise<void> {
    if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
    const userId = ctx.actor.userId;
    const user = await lockUser(ctx.tx, userId);
    if (!user || user.disabled) throw new UnauthenticatedError();
    // Changed by a concurrent request since the password was checked: check again.
    if (user.passwordHash !== input.verifiedHash) {
      throw new ValidationError([{ field: '/body/password', message: 'is incorrect' }]);
    }
    const orgsLeft: string[] = [];
    for (const orgId of await listActiveOrgIds(ctx.tx, userId)) {
      // A suspended organization is left too: nothing else in it changes, but a person's wish to
      // be gone is theirs, not the organization's.
      const record = await departOrganization(ctx, orgId, userId, true, 'account_deleted');
      ctx.record(record);
      orgsLeft.push(orgId);
    }
    // Tokens of organizations left earlier are already revoked; these are any left over.
    for (const orgId of await orgsWithPersonalTokens(ctx.tx, userId)) {
      await revokeTokens(ctx, { orgId, userId, kind: 'personal' }, userId);
    }
    const sessionsEnded = await ctx.services.sessions.revoke(ctx, userId);
    await forgetDevices(ctx.tx, userId);
    const { passkeysRemoved } = await eraseAccount(ctx.tx, userId);
    await ctx.invalidate(USERS_CACHE, userId);
    ctx.record({
      target: { type: 'user', id: userId, email: user.email, name: user.name },
      before: { email: user.email, name: user.name, twoFactorEnabled: user.twoFactorEnabled },
      after: { deleted: true, orgsLeft, sessionsEnded, passkeysRemoved },
    });
  },
});

const EXPORT_PAGE = 1000;

/** Every entry of the user's own account log, oldest first. */
async function accountLog(request: FastifyRequest, userId: string): Promise<AuditEntry[]> {
  const { database, audit } = request.server.gatehouse;
  const out: AuditEntry[] = [];
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await listAuditEntries(
      database.db,
      audit,
      { kind: 'user', id: userId },
      {},
      { limit: EXPORT_PAGE, ...(beforeSeq !== undefined ? { beforeSeq } : {}) },
    );
    out.push(...page);
    if (page.length < EXPORT_PAGE) break;
    beforeSeq = page.at(-1)!.seq;
  }
  return out.reverse();
}

/**
 * What Gatehouse keeps about the signed-in user, as one JSON document: profile, memberships,
 * sessions, personal tokens and passkeys (metadata only: never a hash, key or secret), and their
 * account's own log. Organizations' logs belong to the organizations (their export is `org:export`).
 */
export async function exportPersonalData(request: FastifyRequest) {
  if (!request.session) throw new UnauthenticatedError();
  const { user } = request.session;
  const { database, config } = request.server.gatehouse;
  const db = database.db;
  const dates = await findAccountDates(db, user.id);
  return {
    exportedAt: new Date().toISOString(),
    profile: {
      ...user,
      passwordChangedAt: dates?.passwordChangedAt,
      emailVerifiedAt: dates?.emailVerifiedAt,
    },
    memberships: await listUserMembershipHistory(db, user.id),
    sessions: await listUserSessions(db, user.id, {
      limit: 1000,
      idleTimeoutMs: config.session.idleTimeoutMs,
    }),
    personalTokens: await listPersonalTokenHistory(db, user.id),
    passkeys: await listPasskeyMetadata(db, user.id),
    auditEvents: await accountLog(request, user.id),
  };
}
