import { asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import {
  accountTokens,
  passkeys,
  recoveryCodes,
  users,
  webauthnChallenges,
} from '../../platform/db/schema.ts';

/** The user's passkeys as metadata (never the public key or credential id), for their data export. */
export async function listPasskeyMetadata(db: Executor, userId: string) {
  return db
    .select({
      id: passkeys.id,
      name: passkeys.name,
      deviceType: passkeys.deviceType,
      backedUp: passkeys.backedUp,
      transports: passkeys.transports,
      createdAt: passkeys.createdAt,
      lastUsedAt: passkeys.lastUsedAt,
    })
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}

/** When the user joined, last changed the password and proved the address, for their data export. */
export async function findAccountDates(db: Executor, userId: string) {
  const [row] = await db
    .select({ passwordChangedAt: users.passwordChangedAt, emailVerifiedAt: users.emailVerifiedAt })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

/**
 * Erases a deleted account's credentials and personal data. The row stays, anonymised, with
 * `deleted_at` set: audit entries and foreign keys name its id. Its address becomes one no one can
 * type (`.invalid` is reserved), so the real one is free to sign up again. Returns how many
 * passkeys were removed.
 */
export async function eraseAccount(tx: Executor, userId: string): Promise<{ passkeysRemoved: number }> {
  const removed = await tx.delete(passkeys).where(eq(passkeys.userId, userId)).returning({ id: passkeys.id });
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await tx.delete(webauthnChallenges).where(eq(webauthnChallenges.userId, userId));
  await tx.delete(accountTokens).where(eq(accountTokens.userId, userId));
  await tx
    .update(users)
    .set({
      email: `deleted-${userId}@deleted.invalid`,
      name: 'Deleted user',
      // No argon2 hash: nothing verifies against it.
      passwordHash: '!',
      locale: null,
      timezone: null,
      emailVerifiedAt: null,
      totpSecret: null,
      totpPendingSecret: null,
      totpEnabledAt: null,
      totpLastStep: 0,
      deletedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(users.id, userId));
  return { passkeysRemoved: removed.length };
}
