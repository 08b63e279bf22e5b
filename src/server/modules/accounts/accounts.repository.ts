import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../platform/auth/email.ts';
import { type SessionUser, userColumns } from '../../platform/auth/sessions.ts';
import type { Executor } from '../../platform/db/client.ts';
import { sessions, users } from '../../platform/db/schema.ts';
import { keysetBefore } from '../../platform/http/paging.ts';

/**
 * Accounts are not org-scoped: every function here takes the user's own id (or their email at
 * sign-in), never a bare id from another tenant.
 */

/**
 * `disabled`: an operator disabled the account, or its owner deleted it (no sign-in, no session,
 * no personal token, no mailed link). `deleted`: its owner deleted it (kept only for what the
 * audit log says of it).
 */
type UserWithHash = SessionUser & { passwordHash: string; disabled: boolean; deleted: boolean };

const selectUserWithHash = (db: Executor) =>
  db
    .select({
      ...userColumns,
      passwordHash: users.passwordHash,
      disabled: sql<boolean>`(${users.disabledAt} IS NOT NULL OR ${users.deletedAt} IS NOT NULL)`,
      deleted: sql<boolean>`${users.deletedAt} IS NOT NULL`,
    })
    .from(users);

/** The account with this email, in any spelling that normalises to the stored one. */
export async function findUserByEmail(db: Executor, email: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db).where(eq(users.email, normalizeEmail(email)));
  return row;
}

export async function findUserById(db: Executor, userId: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db).where(eq(users.id, userId));
  return row;
}

/** The account with this email, its row locked for the rest of the transaction. */
export async function lockUserByEmail(db: Executor, email: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db)
    .where(eq(users.email, normalizeEmail(email)))
    .for('update');
  return row;
}

/** Sets or clears the operator's disabling of an account. */
export async function setUserDisabled(db: Executor, userId: string, disabled: boolean): Promise<void> {
  await db
    .update(users)
    .set({ disabledAt: disabled ? sql`now()` : null })
    .where(eq(users.id, userId));
}

/** Locks the user's row for the rest of the transaction (password change vs. concurrent change). */
export async function lockUser(db: Executor, userId: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db).where(eq(users.id, userId)).for('update');
  return row;
}

export async function insertUser(
  db: Executor,
  values: { email: string; name: string; passwordHash: string },
): Promise<SessionUser | undefined> {
  const [row] = await db
    .insert(users)
    .values({ ...values, email: normalizeEmail(values.email) })
    .onConflictDoNothing()
    .returning(userColumns);
  return row;
}

export async function updateUserProfile(
  db: Executor,
  userId: string,
  changes: { name?: string; locale?: string | null; timezone?: string | null },
): Promise<SessionUser | undefined> {
  const [row] = await db
    .update(users)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(users.id, userId))
    .returning(userColumns);
  return row;
}

export async function updatePasswordHash(
  db: Executor,
  userId: string,
  passwordHash: string,
  changed: boolean,
) {
  await db
    .update(users)
    .set(changed ? { passwordHash, passwordChangedAt: sql`now()`, updatedAt: sql`now()` } : { passwordHash })
    .where(eq(users.id, userId));
}

export interface SessionRow {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** The user's sessions, newest first, keyset-paged on (createdAt, id). */
export async function listUserSessions(
  db: Executor,
  userId: string,
  page: { limit: number; idleTimeoutMs: number; after?: { createdAt: Date; id: string } },
): Promise<SessionRow[]> {
  // Live sessions only: neither past their lifetime nor idle past the timeout.
  const conditions = [
    eq(sessions.userId, userId),
    sql`${sessions.expiresAt} > now()`,
    sql`${sessions.lastSeenAt} > now() - make_interval(secs => ${page.idleTimeoutMs / 1000})`,
  ];
  if (page.after) {
    conditions.push(keysetBefore(sessions.createdAt, sessions.id, page.after));
  }
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
      ip: sessions.ip,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(and(...conditions))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(page.limit);
}

export async function findUserSession(
  db: Executor,
  userId: string,
  sessionId: string,
): Promise<{ id: string } | undefined> {
  const [row] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), eq(sessions.id, sessionId)));
  return row;
}

export interface OperatorUserRow {
  email: string;
  name: string;
  orgs: number;
  disabled: boolean;
  createdAt: Date;
}

/** Every account of the installation, oldest first, with the organizations it is an active member of. */
export async function listAllUsers(db: Executor): Promise<OperatorUserRow[]> {
  return (
    db
      .select({
        email: users.email,
        name: users.name,
        // Written out qualified: in a one-table select the builder leaves column names bare, and a
        // bare "id" inside the subquery would name the subquery's own tables.
        orgs: sql<number>`(SELECT count(*)::int FROM memberships m INNER JOIN organizations o ON o.id = m.org_id
        WHERE m.user_id = "users"."id" AND m.status = 'active' AND o.deleted_at IS NULL)`,
        disabled: sql<boolean>`${users.disabledAt} IS NOT NULL`,
        createdAt: users.createdAt,
      })
      .from(users)
      // A deleted account's row stays (history names its id) but it is nobody's any more.
      .where(isNull(users.deletedAt))
      .orderBy(asc(users.createdAt), asc(users.id))
  );
}

/** Whether the account's address was proven (a mailed link followed, an invitation accepted). */
export async function isEmailVerified(db: Executor, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ verified: sql<boolean>`${users.emailVerifiedAt} IS NOT NULL` })
    .from(users)
    .where(eq(users.id, userId));
  return row?.verified === true;
}
