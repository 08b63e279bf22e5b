import { and, desc, eq, gt, type SQL, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../platform/auth/email.ts';
import type { Executor } from '../../platform/db/client.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import {
  invitationSends,
  invitations,
  joinLinks,
  joinRequests,
  organizations,
  roles,
  users,
} from '../../platform/db/schema.ts';
import { keysetBefore } from '../../platform/http/paging.ts';

export type InvitationStatus = 'pending' | 'expired' | 'accepted' | 'cancelled';

export interface InvitationRow {
  id: string;
  orgId: string;
  email: string;
  roleId: string;
  role: string;
  roleName: string;
  rolePermissions: string[];
  status: InvitationStatus;
  invitedBy: string | null;
  createdAt: Date;
  sentAt: Date;
  sendCount: number;
  expiresAt: Date;
  acceptedAt: Date | null;
}

const invitationStatus = sql<InvitationStatus>`CASE
  WHEN ${invitations.status} = 'pending' AND ${invitations.expiresAt} <= now() THEN 'expired'
  ELSE ${invitations.status} END`;

const invitationColumns = {
  id: invitations.id,
  orgId: invitations.orgId,
  email: invitations.email,
  roleId: invitations.roleId,
  role: roles.slug,
  roleName: roles.name,
  rolePermissions: roles.permissions,
  status: invitationStatus,
  invitedBy: invitations.invitedBy,
  createdAt: invitations.createdAt,
  sentAt: invitations.sentAt,
  sendCount: invitations.sendCount,
  expiresAt: invitations.expiresAt,
  acceptedAt: invitations.acceptedAt,
};

const selectInvitations = (db: Executor) =>
  db
    .select(invitationColumns)
    .from(invitations)
    .innerJoin(roles, and(eq(roles.orgId, invitations.orgId), eq(roles.id, invitations.roleId)));

export async function findInvitation(
  db: Executor,
  orgId: string,
  id: string,
): Promise<InvitationRow | undefined> {
  const [row] = await selectInvitations(db).where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)));
  return row;
}

export async function lockInvitation(
  db: Executor,
  orgId: string,
  id: string,
): Promise<InvitationRow | undefined> {
  const [row] = await selectInvitations(db)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)))
    .for('update', { of: invitations });
  return row;
}

/** The live (pending, unexpired) invitation of the org to this email, locked: SSO's sign-in takes it. */
export async function lockLiveInvitationByEmail(
  db: Executor,
  orgId: string,
  email: string,
): Promise<InvitationRow | undefined> {
  const [row] = await selectInvitations(db)
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.email, normalizeEmail(email)),
        eq(invitations.status, 'pending'),
        sql`${invitations.expiresAt} > now()`,
      ),
    )
    .for('update', { of: invitations });
  return row;
}

/** The invitation a token opens, locked. Undefined for an unknown (or replaced) token. */
export async function lockInvitationByToken(
  db: Executor,
  tokenHash: Buffer,
): Promise<InvitationRow | undefined> {
  const [row] = await selectInvitations(db)
    .where(eq(invitations.tokenHash, tokenHash))
    .for('update', { of: invitations });
  return row;
}

/** The org an invitation token belongs to, without locking (the accept command then locks in order). */
export async function findInvitationOrgByToken(
  db: Executor,
  tokenHash: Buffer,
): Promise<{ id: string; orgId: string } | undefined> {
  const [row] = await db
    .select({ id: invitations.id, orgId: invitations.orgId })
    .from(invitations)
    .where(eq(invitations.tokenHash, tokenHash));
  return row;
}

/** What an invitation link shows before it is accepted. */
export async function previewInvitation(db: Executor, tokenHash: Buffer) {
  const [row] = await db
    .select({
      email: invitations.email,
      status: invitationStatus,
      expiresAt: invitations.expiresAt,
      role: roles.slug,
      roleName: roles.name,
      org: { id: organizations.id, slug: organizations.slug, name: organizations.name },
      invitedByName: users.name,
    })
    .from(invitations)
    .innerJoin(roles, and(eq(roles.orgId, invitations.orgId), eq(roles.id, invitations.roleId)))
    .innerJoin(organizations, and(eq(organizations.id, invitations.orgId), liveOrganization()))
    .leftJoin(users, eq(users.id, invitations.invitedBy))
    .where(eq(invitations.tokenHash, tokenHash));
  return row;
}

export async function findPendingByEmail(
  db: Executor,
  orgId: string,
  email: string,
): Promise<{ id: string; expiresAt: Date } | undefined> {
  const [row] = await db
    .select({ id: invitations.id, expiresAt: invitations.expiresAt })
    .from(invitations)
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.status, 'pending'),
        eq(invitations.email, normalizeEmail(email)),
      ),
    )
    .for('update');
  return row;
}

export async function insertInvitation(
  tx: Executor,
  values: {
    orgId: string;
    email: string;
    roleId: string;
    tokenHash: Buffer;
    invitedBy: string | null;
    expiresAt: Date;
  },
): Promise<{ id: string }> {
  const [row] = await tx
    .insert(invitations)
    .values({ ...values, email: normalizeEmail(values.email) })
    .returning({ id: invitations.id });
  return row!;
}

/** A pending invitation gets a new token (the old link dies), a new expiry and possibly a new role. */
export async function renewInvitation(
  tx: Executor,
  orgId: string,
  id: string,
  values: { tokenHash: Buffer; expiresAt: Date; roleId?: string; invitedBy?: string | null },
): Promise<void> {
  await tx
    .update(invitations)
    .set({ ...values, sentAt: sql`now()`, sendCount: sql`${invitations.sendCount} + 1` })
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), eq(invitations.status, 'pending')));
}

export async function markInvitation(
  tx: Executor,
  orgId: string,
  id: string,
  outcome: { status: 'accepted'; userId: string } | { status: 'cancelled' },
): Promise<void> {
  await tx
    .update(invitations)
    .set(
      outcome.status === 'accepted'
        ? { status: 'accepted', acceptedAt: sql`now()`, acceptedBy: outcome.userId }
        : { status: 'cancelled', cancelledAt: sql`now()` },
    )
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), eq(invitations.status, 'pending')));
}

/** Invitations, newest first; by default the open ones (pending and expired). */
export async function listInvitations(
  db: Executor,
  orgId: string,
  filter: { status?: InvitationStatus },
  page: { limit: number; after?: { createdAt: Date; id: string } },
): Promise<InvitationRow[]> {
  const conditions: SQL[] = [eq(invitations.orgId, orgId)];
  switch (filter.status) {
    case 'pending':
      conditions.push(eq(invitations.status, 'pending'), gt(invitations.expiresAt, sql`now()`));
      break;
    case 'expired':
      conditions.push(eq(invitations.status, 'pending'), sql`${invitations.expiresAt} <= now()`);
      break;
    case undefined:
      conditions.push(eq(invitations.status, 'pending'));
      break;
    default:
      conditions.push(eq(invitations.status, filter.status));
  }
  if (page.after) {
    conditions.push(keysetBefore(invitations.createdAt, invitations.id, page.after));
  }
  return selectInvitations(db)
    .where(and(...conditions))
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(page.limit);
}

// Share links and join requests.

export async function findJoinLink(db: Executor, orgId: string) {
  const [row] = await db
    .select({ createdAt: joinLinks.createdAt, createdBy: joinLinks.createdBy })
    .from(joinLinks)
    .where(eq(joinLinks.orgId, orgId));
  return row;
}

export async function findJoinLinkOrg(db: Executor, tokenHash: Buffer) {
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug, name: organizations.name })
    .from(joinLinks)
    .innerJoin(organizations, and(eq(organizations.id, joinLinks.orgId), liveOrganization()))
    .where(eq(joinLinks.tokenHash, tokenHash));
  return row;
}

export async function upsertJoinLink(tx: Executor, orgId: string, tokenHash: Buffer, userId: string | null) {
  const [row] = await tx
    .insert(joinLinks)
    .values({ orgId, tokenHash, createdBy: userId })
    .onConflictDoUpdate({
      target: joinLinks.orgId,
      set: { tokenHash, createdBy: userId, createdAt: sql`now()` },
    })
    .returning({ createdAt: joinLinks.createdAt });
  return row!;
}

export async function deleteJoinLink(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx
    .delete(joinLinks)
    .where(eq(joinLinks.orgId, orgId))
    .returning({ orgId: joinLinks.orgId });
  return rows.length > 0;
}

export type JoinRequestStatus = 'pending' | 'approved' | 'denied';

const joinRequestColumns = {
  id: joinRequests.id,
  userId: joinRequests.userId,
  email: users.email,
  name: users.name,
  status: joinRequests.status,
  createdAt: joinRequests.createdAt,
  decidedAt: joinRequests.decidedAt,
};

export async function insertJoinRequest(
  tx: Executor,
  orgId: string,
  userId: string,
): Promise<{ id: string; createdAt: Date; created: boolean }> {
  const [row] = await tx
    .insert(joinRequests)
    .values({ orgId, userId })
    .onConflictDoNothing()
    .returning({ id: joinRequests.id, createdAt: joinRequests.createdAt });
  if (row) return { ...row, created: true };
  const [existing] = await tx
    .select({ id: joinRequests.id, createdAt: joinRequests.createdAt })
    .from(joinRequests)
    .where(
      and(eq(joinRequests.orgId, orgId), eq(joinRequests.userId, userId), eq(joinRequests.status, 'pending')),
    );
  return { ...existing!, created: false };
}

export async function lockJoinRequest(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select(joinRequestColumns)
    .from(joinRequests)
    .innerJoin(users, eq(users.id, joinRequests.userId))
    .where(and(eq(joinRequests.orgId, orgId), eq(joinRequests.id, id)))
    .for('update', { of: joinRequests });
  return row;
}

export async function decideJoinRequest(
  tx: Executor,
  orgId: string,
  id: string,
  status: 'approved' | 'denied',
  userId: string | null,
): Promise<void> {
  await tx
    .update(joinRequests)
    .set({ status, decidedAt: sql`now()`, decidedBy: userId })
    .where(and(eq(joinRequests.orgId, orgId), eq(joinRequests.id, id), eq(joinRequests.status, 'pending')));
}

export async function listJoinRequests(
  db: Executor,
  orgId: string,
  status: JoinRequestStatus,
  page: { limit: number; after?: { createdAt: Date; id: string } },
) {
  const conditions: SQL[] = [eq(joinRequests.orgId, orgId), eq(joinRequests.status, status)];
  if (page.after) {
    conditions.push(keysetBefore(joinRequests.createdAt, joinRequests.id, page.after));
  }
  return db
    .select(joinRequestColumns)
    .from(joinRequests)
    .innerJoin(users, eq(users.id, joinRequests.userId))
    .where(and(...conditions))
    .orderBy(desc(joinRequests.createdAt), desc(joinRequests.id))
    .limit(page.limit);
}

/**
 * Whether `extra` more sends fit in the last `windowMs` of `scope` (an org's sends, or with
 * `email` the org's sends to that address, whichever invitation carried them: a cancelled one
 * too), measured with the database's clock: undefined when they fit, else the seconds until
 * enough of the counted sends have left the window. The caller holds the org's lock, so no
 * concurrent send is counted between this check and `recordSends`.
 */
export async function sendsWaitSeconds(
  tx: Executor,
  scope: { orgId: string; email?: string },
  windowMs: number,
  max: number,
  extra: number,
): Promise<number | undefined> {
  const window = sql`now() - make_interval(secs => ${windowMs / 1000})`;
  const inOrg = and(eq(invitationSends.orgId, scope.orgId), gt(invitationSends.sentAt, window));
  const where =
    scope.email === undefined
      ? inOrg
      : and(
          inOrg,
          sql`${invitationSends.invitationId} IN (SELECT ${invitations.id} FROM ${invitations} WHERE ${invitations.orgId} = ${scope.orgId} AND ${invitations.email} = ${normalizeEmail(scope.email)})`,
        );
  const [{ used } = { used: 0 }] = await tx
    .select({ used: sql<number>`count(*)::int` })
    .from(invitationSends)
    .where(where);
  const over = used + extra - max;
  if (over <= 0) return undefined;
  // More at once than the limit allows in any window: waiting a whole window is the best there is.
  if (over > used) return windowMs / 1000;
  const rows = await tx
    .select({
      wait: sql<number>`extract(epoch from ${invitationSends.sentAt} + make_interval(secs => ${windowMs / 1000}) - now())::float8`,
    })
    .from(invitationSends)
    .where(where)
    .orderBy(invitationSends.sentAt, invitationSends.id)
    .offset(over - 1)
    .limit(1);
  return Math.max(1, Number(rows[0]?.wait ?? windowMs / 1000));
}

/** Notes invitation emails as sent, and forgets this org's sends older than a day (no limit looks further back). */
export async function recordSends(
  tx: Executor,
  orgId: string,
  sends: Array<{ invitationId: string; resend: boolean }>,
): Promise<void> {
  await tx
    .delete(invitationSends)
    .where(and(eq(invitationSends.orgId, orgId), sql`${invitationSends.sentAt} < now() - interval '1 day'`));
  if (sends.length > 0) await tx.insert(invitationSends).values(sends.map((s) => ({ ...s, orgId })));
}
