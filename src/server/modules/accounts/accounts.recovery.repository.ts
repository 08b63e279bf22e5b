import { and, eq, isNull, sql } from 'drizzle-orm';
import { generateSecret, hashSecret } from '../../platform/auth/secrets.ts';
import type { Executor } from '../../platform/db/client.ts';
import { accountTokens, users } from '../../platform/db/schema.ts';

/** What a mailed link proves when followed (account_tokens.purpose). */
export type AccountTokenPurpose = 'email_verification' | 'password_reset' | 'email_change';

/**
 * Makes a new link token for `purpose` and ends every earlier live one of the same purpose: only
 * the latest link mailed works. Returns the token (for the mail only; the table keeps its hash).
 * Earlier rows are ended, not deleted, so the link they carried answers as expired.
 */
export async function issueAccountToken(
  tx: Executor,
  userId: string,
  purpose: AccountTokenPurpose,
  ttlMs: number,
  newEmail: string | null = null,
): Promise<{ token: string; expiresAt: Date }> {
  await endAccountTokens(tx, userId, purpose);
  const token = generateSecret();
  const expiresAt = new Date(Date.now() + ttlMs);
  await tx
    .insert(accountTokens)
    .values({ userId, purpose, tokenHash: hashSecret(token), newEmail, expiresAt });
  return { token, expiresAt };
}

/** Ends the user's live tokens of `purpose` (all purposes when omitted). */
export async function endAccountTokens(
  tx: Executor,
  userId: string,
  purpose?: AccountTokenPurpose,
): Promise<void> {
  await tx
    .update(accountTokens)
    .set({ expiresAt: sql`least(${accountTokens.expiresAt}, now())` })
    .where(
      and(
        eq(accountTokens.userId, userId),
        isNull(accountTokens.usedAt),
        sql`${accountTokens.expiresAt} > now()`,
        purpose ? eq(accountTokens.purpose, purpose) : undefined,
      ),
    );
}

/** The unused, unexpired token of `purpose` with this value. */
const liveToken = (token: string, purpose: AccountTokenPurpose) =>
  and(
    eq(accountTokens.tokenHash, hashSecret(token)),
    eq(accountTokens.purpose, purpose),
    isNull(accountTokens.usedAt),
    sql`${accountTokens.expiresAt} > now()`,
  );

/**
 * Uses a token once: the guarded UPDATE marks it used only while it is unused and unexpired, so
 * of two requests racing with one link exactly one gets its row (the other waits for the row
 * lock, then finds `used_at` set). Undefined for a used, expired, replaced or unknown token, and
 * for a deleted account's.
 */
export async function consumeAccountToken(
  tx: Executor,
  token: string,
  purpose: AccountTokenPurpose,
): Promise<{ userId: string; newEmail: string | null } | undefined> {
  const [row] = await tx
    .update(accountTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        liveToken(token, purpose),
        sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${accountTokens.userId} AND ${users.deletedAt} IS NULL)`,
      ),
    )
    .returning({ userId: accountTokens.userId, newEmail: accountTokens.newEmail });
  return row;
}

/** The account a live token belongs to, without using it (to judge a new password before hashing). */
export async function peekAccountToken(
  db: Executor,
  token: string,
  purpose: AccountTokenPurpose,
): Promise<{ userId: string } | undefined> {
  const [row] = await db
    .select({ userId: accountTokens.userId })
    .from(accountTokens)
    .where(liveToken(token, purpose));
  return row;
}

/** Marks the address proven (first time only: the original proof time is kept). */
export async function markEmailVerified(tx: Executor, userId: string): Promise<boolean> {
  const rows = await tx
    .update(users)
    .set({ emailVerifiedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(users.id, userId), isNull(users.emailVerifiedAt)))
    .returning({ id: users.id });
  return rows.length > 0;
}

/**
 * Moves the account to a new, proven address. Undefined when another account holds it: the
 * unique index decides, so two accounts racing for one address cannot both get it.
 */
export async function changeUserEmail(
  tx: Executor,
  userId: string,
  email: string,
): Promise<{ id: string } | undefined> {
  const [row] = await tx
    .update(users)
    .set({ email, emailVerifiedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(
        eq(users.id, userId),
        sql`NOT EXISTS (SELECT 1 FROM ${users} other WHERE other.email = ${email} AND other.id <> ${userId})`,
      ),
    )
    .returning({ id: users.id });
  return row;
}
