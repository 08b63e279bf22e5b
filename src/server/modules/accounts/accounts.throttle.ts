import { and, count, eq, gt, isNull, lt, min, sql } from 'drizzle-orm';
import { generateSecret, hashSecret } from '../../platform/auth/secrets.ts';
import type { Db } from '../../platform/db/client.ts';
import { loginAttempts, trustedDevices } from '../../platform/db/schema.ts';
import { RateLimitedError } from '../../platform/errors/app-error.ts';

export const DEVICE_COOKIE = 'gatehouse_device';
export const DEVICE_COOKIE_MAX_AGE_S = 365 * 24 * 3600;

export interface ThrottlePolicy {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
}

/**
 * Online password-guessing defence, shared by every instance through the database.
 *
 * - Each attempt first reserves a row, then counts the rows in the window. Rows commit before
 *   they are counted, so of N concurrent guesses only the first `max` can see a count within the
 *   limit: the limit holds under concurrency, not just one at a time.
 * - A wrong password leaves its row (a failure); success removes the rows it is entitled to clear;
 *   a refused attempt removes its own row, so hammering a locked account does not extend the lock.
 * - A browser that has signed in to the account before (device cookie) is counted on its own: an
 *   attacker who exhausts the account's budget does not lock the real user out.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** The user id a device cookie was issued to, if it is one of ours. */
  async deviceOwner(
    deviceToken: string | undefined,
  ): Promise<{ deviceId: string; userId: string } | undefined> {
    if (!deviceToken || deviceToken.length > 128) return undefined;
    const [row] = await this.db
      .select({ deviceId: trustedDevices.id, userId: trustedDevices.userId })
      .from(trustedDevices)
      .where(eq(trustedDevices.tokenHash, hashSecret(deviceToken)));
    return row;
  }

  /**
   * Reserves one attempt or refuses with 429. Returns the reservation, to be settled with
   * `succeeded` (clears failures) or left in place as a failure.
   */
  async reserve(
    accountKey: string,
    ip: string,
    trustedDeviceId: string | undefined,
  ): Promise<{ id: number }> {
    const windowStart = new Date(Date.now() - this.policy.windowMs);
    const [reservation] = await this.db
      .insert(loginAttempts)
      .values({ accountKey, ip, deviceId: trustedDeviceId ?? null })
      .returning({ id: loginAttempts.id });
    const id = reservation!.id;

    const scopes = trustedDeviceId
      ? [{ where: eq(loginAttempts.deviceId, trustedDeviceId), max: this.policy.maxFailuresPerAccount }]
      : [
          {
            where: and(eq(loginAttempts.accountKey, accountKey), isNull(loginAttempts.deviceId)),
            max: this.policy.maxFailuresPerAccount,
          },
          {
            where: and(eq(loginAttempts.ip, ip), isNull(loginAttempts.deviceId)),
            max: this.policy.maxFailuresPerIp,
          },
        ];
    for (const scope of scopes) {
      // Counts every committed attempt, ours included: the k-th to commit sees at least k. Racing
      // attempts may refuse each other (transiently, since refusals remove their rows), never over-admit.
      const [row] = await this.db
        .select({ n: count(), oldest: min(loginAttempts.createdAt) })
        .from(loginAttempts)
        .where(and(scope.where, gt(loginAttempts.createdAt, windowStart)));
      if ((row?.n ?? 0) > scope.max) {
        await this.db.delete(loginAttempts).where(eq(loginAttempts.id, id));
        const oldest = row?.oldest ? new Date(row.oldest).getTime() : Date.now();
        throw new RateLimitedError((oldest + this.policy.windowMs - Date.now()) / 1000);
      }
    }
    return { id };
  }

  /** A successful sign-in clears the failures it proves were the owner's own. */
  async succeeded(accountKey: string, trustedDeviceId: string | undefined): Promise<void> {
    const where = trustedDeviceId
      ? eq(loginAttempts.deviceId, trustedDeviceId)
      : and(eq(loginAttempts.accountKey, accountKey), isNull(loginAttempts.deviceId));
    await this.db.delete(loginAttempts).where(where);
  }

  /** Issues (or keeps) the device cookie for a browser that just signed in as `userId`. */
  async trustDevice(
    userId: string,
    current: { deviceId: string; userId: string } | undefined,
  ): Promise<string | undefined> {
    if (current?.userId === userId) {
      await this.db
        .update(trustedDevices)
        .set({ lastUsedAt: sql`now()` })
        .where(eq(trustedDevices.id, current.deviceId));
      return undefined;
    }
    const token = generateSecret();
    await this.db.insert(trustedDevices).values({ userId, tokenHash: hashSecret(token) });
    return token;
  }

  async purge(): Promise<void> {
    await this.db
      .delete(loginAttempts)
      .where(lt(loginAttempts.createdAt, new Date(Date.now() - this.policy.windowMs)));
    await this.db
      .delete(trustedDevices)
      .where(lt(trustedDevices.lastUsedAt, new Date(Date.now() - DEVICE_COOKIE_MAX_AGE_S * 1000)));
  }
}

/** The key attempts are counted under: the email as typed, case- and space-insensitive. */
export function accountKeyFor(email: string): string {
  return email.trim().toLowerCase();
}
