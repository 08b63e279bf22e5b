import { and, desc, eq, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../platform/auth/email.ts';
import { type SessionUser, userColumns } from '../../platform/auth/sessions.ts';
import type { Executor } from '../../platform/db/client.ts';
import { sessions, users } from '../../platform/db/schema.ts';
import { keysetBefore } from '../../platform/http/paging.ts';

/**
 * Accounts are not org-scoped: every function here takes the user's own id (or their email at
 * sign-in), never a bare id from another tenant.
 */

type UserWithHash = SessionUser & { passwordHash: string };

const selectUserWithHash = (db: Executor) =>
  db.select({ ...userColumns, passwordHash: users.passwordHash }).from(users);

/** The account with this email, in any spelling that normalises to the stored one. */
export async function findUserByEmail(db: Executor, email: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db).where(eq(users.email, normalizeEmail(email)));
  return row;
}

export async function findUserById(db: Executor, userId: string): Promise<UserWithHash | undefined> {
  const [row] = await selectUserWithHash(db).where(eq(users.id, userId));
  return row;
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
