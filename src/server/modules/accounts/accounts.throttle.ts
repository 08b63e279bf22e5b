import { isIPv6 } from 'node:net';
import { and, count, eq, isNull, lt, type SQL, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../platform/auth/email.ts';
import { generateSecret, hashSecret } from '../../platform/auth/secrets.ts';
import type { Db, Executor } from '../../platform/db/client.ts';
import { loginAttempts, trustedDevices } from '../../platform/db/schema.ts';
import { RateLimitedError } from '../../platform/errors/app-error.ts';

export const DEVICE_COOKIE = 'gatehouse_device';
export const DEVICE_COOKIE_MAX_AGE_S = 365 * 24 * 3600;

export interface ThrottlePolicy {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  maxSignupsPerIp: number;
  /** Successful sign-ins of one account in the window (each one makes a session). */
  maxSignInsPerAccount: number;
  /** Passkey sign-in challenges one client address may ask for (each is a stored row). */
  maxPasskeyChallengesPerIp: number;
  /** Account emails (reset, verification and address-change links) asked for one account or address in the window. */
  maxMailsPerAccount: number;
  /** The same, asked for from one client address, whatever the account. */
  maxMailsPerIp: number;
}

/**
 * `signin` is a successful sign-in: counted, never cleared, so sign-ins cannot be made without
 * bound. `passkey_challenge` is a passkey sign-in challenge handed out: counted per address, never
 * cleared, so nobody can fill the challenge table from one address. `password_reset` and
 * `account_mail` (verification and address-change links) are requests that send an email: counted,
 * never cleared, so nobody can flood a mailbox or the mail server.
 */
export type AttemptKind =
  | 'login'
  | 'password_change'
  | 'signup'
  | 'signin'
  | 'passkey_challenge'
  | 'password_reset'
  | 'account_mail';

export interface Attempt {
  kind: AttemptKind;
  /** What the attempt is against: `user:<id>` for an existing account, `email:<address>` otherwise. */
  accountKey: string;
  ip: string;
  /** A device cookie this account issued: the attempt is counted on the device's own budget. */
  trustedDeviceId?: string | undefined;
}

/**
 * Online guessing and sign-up flooding defence, shared by every instance through the database.
 *
 * - Each attempt first reserves a row, then counts the rows in the window. Rows commit before
 *   they are counted, so of N concurrent attempts only the first `max` can see a count within the
 *   limit: the limit holds under concurrency, not just one at a time. Racing attempts may refuse
 *   each other (transiently, since refusals remove their rows), never over-admit.
 * - A wrong password leaves its row (a failure); success removes the rows it is entitled to clear;
 *   a refused attempt removes its own row, so hammering a locked account does not extend the lock.
 * - Sign-ins of an existing account are counted by its id, whatever spelling of the email was
 *   typed; sign-ins and password changes have separate budgets, and only sign-ins and sign-ups
 *   count against the client address.
 * - A browser that has signed in to the account before (device cookie) is counted on its own: an
 *   attacker who exhausts the account's budget does not lock the real user out.
 * - The window is measured with the database's clock, the one that stamped the rows.
 */
/** The user id a device cookie was issued to, if it is one of ours. */
export async function findDeviceOwner(
  db: Executor,
  deviceToken: string | undefined,
): Promise<{ deviceId: string; userId: string } | undefined> {
  if (!deviceToken || deviceToken.length > 128) return undefined;
  const [row] = await db
    .select({ deviceId: trustedDevices.id, userId: trustedDevices.userId })
    .from(trustedDevices)
    .where(eq(trustedDevices.tokenHash, hashSecret(deviceToken)));
  return row;
}

export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** The user id a device cookie was issued to, if it is one of ours. */
  deviceOwner(deviceToken: string | undefined): Promise<{ deviceId: string; userId: string } | undefined> {
    return findDeviceOwner(this.db, deviceToken);
  }

  private scopes(attempt: Attempt): Array<{ where: SQL; max: number; detail?: string }> {
    const { kind } = attempt;
    const ofKind = eq(loginAttempts.kind, kind);
    if (kind === 'signup') {
      return [{ where: and(ofKind, eq(loginAttempts.ip, attempt.ip))!, max: this.policy.maxSignupsPerIp }];
    }
    if (kind === 'passkey_challenge') {
      return [
        { where: and(ofKind, eq(loginAttempts.ip, attempt.ip))!, max: this.policy.maxPasskeyChallengesPerIp },
      ];
    }
    if (kind === 'password_reset' || kind === 'account_mail') {
      const detail = 'Too many emails asked for. Try again later.';
      return [
        {
          where: and(ofKind, eq(loginAttempts.accountKey, attempt.accountKey))!,
          max: this.policy.maxMailsPerAccount,
          detail,
        },
        { where: and(ofKind, eq(loginAttempts.ip, attempt.ip))!, max: this.policy.maxMailsPerIp, detail },
      ];
    }
    if (kind === 'signin') {
      return [
        {
          where: and(ofKind, eq(loginAttempts.accountKey, attempt.accountKey))!,
          max: this.policy.maxSignInsPerAccount,
          detail: 'Too many sign-ins to this account. Try again later.',
        },
      ];
    }
    if (attempt.trustedDeviceId) {
      return [
        {
          where: and(ofKind, eq(loginAttempts.deviceId, attempt.trustedDeviceId))!,
          max: this.policy.maxFailuresPerAccount,
        },
      ];
    }
    const scopes = [
      {
        where: and(ofKind, eq(loginAttempts.accountKey, attempt.accountKey), isNull(loginAttempts.deviceId))!,
        max: this.policy.maxFailuresPerAccount,
      },
    ];
    if (kind === 'login') {
      scopes.push({
        where: and(ofKind, eq(loginAttempts.ip, attempt.ip), isNull(loginAttempts.deviceId))!,
        max: this.policy.maxFailuresPerIp,
      });
    }
    return scopes;
  }

  /**
   * Reserves one attempt or refuses with 429 and the seconds until the window frees one. Returns
   * how to give the reservation back when the attempt is refused before it was judged.
   */
  async reserve(attempt: Attempt): Promise<() => Promise<void>> {
    const [reservation] = await this.db
      .insert(loginAttempts)
      .values({
        kind: attempt.kind,
        accountKey: attempt.accountKey,
        ip: attempt.ip,
        deviceId: attempt.trustedDeviceId ?? null,
      })
      .returning({ id: loginAttempts.id });
    const windowLength = sql`make_interval(secs => ${this.policy.windowMs / 1000})`;
    for (const scope of this.scopes(attempt)) {
      // A slot frees when the oldest attempt in the window leaves it: at its time plus the window.
      const [row] = await this.db
        .select({
          n: count(),
          retryAfter: sql<number>`ceil(extract(epoch from ((min(${loginAttempts.createdAt}) + ${windowLength}) - now())))::int`,
        })
        .from(loginAttempts)
        .where(and(scope.where, sql`${loginAttempts.createdAt} > (now() - ${windowLength})`));
      if ((row?.n ?? 0) > scope.max) {
        await this.db.delete(loginAttempts).where(eq(loginAttempts.id, reservation!.id));
        throw new RateLimitedError(Number(row?.retryAfter ?? 1), scope.detail);
      }
    }
    return async () => {
      await this.db.delete(loginAttempts).where(eq(loginAttempts.id, reservation!.id));
    };
  }

  /** A successful sign-in or password change clears the failures it proves were the owner's own. */
  async succeeded(attempt: Attempt): Promise<void> {
    const where = attempt.trustedDeviceId
      ? and(eq(loginAttempts.kind, attempt.kind), eq(loginAttempts.deviceId, attempt.trustedDeviceId))
      : and(
          eq(loginAttempts.kind, attempt.kind),
          eq(loginAttempts.accountKey, attempt.accountKey),
          isNull(loginAttempts.deviceId),
        );
    await this.db.delete(loginAttempts).where(where);
  }

  async purge(): Promise<void> {
    await this.db
      .delete(loginAttempts)
      .where(sql`${loginAttempts.createdAt} < now() - make_interval(secs => ${this.policy.windowMs / 1000})`);
    await this.db
      .delete(trustedDevices)
      .where(lt(trustedDevices.lastUsedAt, new Date(Date.now() - DEVICE_COOKIE_MAX_AGE_S * 1000)));
  }
}

/**
 * Marks a browser as one that has signed in to `userId` (inside the sign-in, sign-up or
 * password-change transaction). Returns a new device cookie value, or undefined when the
 * browser already holds this account's.
 */
export async function trustDevice(
  tx: Executor,
  userId: string,
  current: { deviceId: string; userId: string } | undefined,
): Promise<string | undefined> {
  if (current?.userId === userId) {
    const kept = await tx
      .update(trustedDevices)
      .set({ lastUsedAt: sql`now()` })
      .where(eq(trustedDevices.id, current.deviceId))
      .returning({ id: trustedDevices.id });
    if (kept.length > 0) return undefined;
  }
  const token = generateSecret();
  await tx.insert(trustedDevices).values({ userId, tokenHash: hashSecret(token) });
  return token;
}

/** Forgets every browser that signed in to `userId` (after a password change). */
export async function forgetDevices(tx: Executor, userId: string): Promise<void> {
  await tx.delete(trustedDevices).where(eq(trustedDevices.userId, userId));
}

/** The key attempts against an email with no account are counted under (its normal form). */
export function emailKey(email: string): string {
  return `email:${normalizeEmail(email)}`;
}

export const userKey = (userId: string) => `user:${userId}`;

/**
 * The address attempts are counted under. An IPv6 client controls at least a /64, so counting
 * single IPv6 addresses would give it billions of budgets: count the /64.
 */
export function clientKey(ip: string): string {
  if (!isIPv6(ip) || ip.toLowerCase().startsWith('::ffff:')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = ip.includes('::') ? 8 - headParts.length - tailParts.length : 0;
  const groups = [...headParts, ...Array<string>(missing).fill('0'), ...tailParts];
  return `${groups
    .slice(0, 4)
    .map((g) => g.padStart(4, '0'))
    .join(':')}::/64`;
}
