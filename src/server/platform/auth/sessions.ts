import { and, eq, isNull, lt, ne, sql } from 'drizzle-orm';
import type { InvalidatingCache } from '../cache/cache.ts';
import type { CommandScope } from '../command-scope.ts';
import type { Db } from '../db/client.ts';
import { passkeys, sessions, users } from '../db/schema.ts';
import { generateSecret, hashSecret, hashSecretHex } from './secrets.ts';

export const SESSION_COOKIE = 'gatehouse_session';
/**
 * The session cookie's name behind TLS. The `__Host-` prefix makes browsers accept it only when
 * Secure, for Path=/ and without a Domain: a sibling subdomain or a plain-http page cannot plant
 * or overwrite it (session fixation).
 */
export const SECURE_SESSION_COOKIE = '__Host-gatehouse_session';

/** The session cookie's name for an installation reached at `publicUrl`. */
export function sessionCookieName(publicUrl: string): string {
  return publicUrl.startsWith('https:') ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}
export const SESSIONS_CACHE = 'sessions';
export const USERS_CACHE = 'users';

/** Last-seen times are written at most this often per session: no database write per request. */
const MAX_TOUCH_INTERVAL_MS = 60_000;
/** Housekeeping leaves idle rows this long past the idle limit, so it never races a live cache entry. */
const PURGE_GRACE_MS = 3_600_000;

export interface SessionEntry {
  id: string;
  userId: string;
  expiresAt: number;
  /** Last activity written to the database. */
  persistedLastSeenAt: number;
  /** Last activity seen by this instance (may be newer than the database). */
  lastSeenAt: number;
  /**
   * How the session was signed in (RFC 8176 names: `pwd`, `otp`, `rc`, `hwk`). Fixed for the
   * session's life, so a cached copy is never stale.
   */
  amr: string[];
  /** The organization whose identity provider signed the session in (SSO), else null. */
  ssoOrgId: string | null;
}

/**
 * How a session is proven: the sign-in's methods, and when (now, unless a session that replaces
 * another keeps the earlier proof's time: a password change proves the password, not the factor
 * the old session was signed in with).
 */
export interface SessionProof {
  amr: readonly string[];
  authenticatedAt?: Date;
  /** Signed in through this organization's identity provider (SSO). */
  ssoOrgId?: string;
}

/** A passkey (user verification required) is a phishing-resistant multi-factor credential. */
export const PASSKEY_AMR = 'hwk';

/**
 * What an organization requiring 2FA asks of a session: TOTP on the account, or a sign-in made
 * with a passkey. A password-only session of an account that has passkeys does not qualify.
 */
export const sessionSatisfiesTwoFactor = (user: SessionUser, session: Pick<SessionEntry, 'amr'>) =>
  user.twoFactorEnabled || session.amr.includes(PASSKEY_AMR);

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  locale: string | null;
  timezone: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The email address was proven (a mailed link followed, or an invitation to it accepted). */
  emailVerified: boolean;
  /** TOTP 2FA is on (confirmed with a code). */
  twoFactorEnabled: boolean;
}

export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
  /** Live sessions one user may hold; creating one more ends the oldest. */
  maxPerUser: number;
}

/**
 * Idle limits stricter than the installation's, set by the organizations a user belongs to (the
 * access layer answers it from its caches; see AccessResolver.idleLimit). Null: none is set.
 */
export interface UserIdleLimits {
  /** The limit from cached facts alone; undefined when something is not cached. */
  idleLimitCached(userId: string): number | null | undefined;
  idleLimit(userId: string): Promise<number | null>;
}

export interface ResolvedSession {
  session: SessionEntry;
  user: SessionUser;
  tokenHash: string;
}

export const userColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  locale: users.locale,
  timezone: users.timezone,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  emailVerified: sql<boolean>`(${users.emailVerifiedAt} IS NOT NULL)`.as('email_verified'),
  twoFactorEnabled: sql<boolean>`(${users.totpEnabledAt} IS NOT NULL)`.as('two_factor_enabled'),
};

/**
 * Server-side sessions: opaque cookie token → row keyed by the token's hash. Lookups are served
 * from an invalidating cache, so a signed-in request costs no database round trip, while ending a
 * session (logout, revocation, password change) is seen by the very next request on any instance.
 */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly sessionCache: InvalidatingCache<SessionEntry>,
    private readonly userCache: InvalidatingCache<SessionUser>,
    readonly policy: SessionPolicy,
    private readonly onError: (err: unknown, msg: string) => void,
    private readonly idleLimits?: UserIdleLimits,
  ) {
    this.touchIntervalMs = Math.min(MAX_TOUCH_INTERVAL_MS, policy.idleTimeoutMs / 4);
  }

  private readonly touchIntervalMs: number;

  /**
   * Creates a session inside a command's transaction; returns the cookie token (shown once). The
   * user keeps at most `maxPerUser` sessions: the user's row is locked, so concurrent sign-ins take
   * turns, and the sessions past their limits and the oldest beyond the cap end in the same
   * transaction (dropped from every instance's cache at commit).
   */
  async create(
    ctx: CommandScope,
    userId: string,
    meta: { ip: string | null; userAgent: string | null },
    proof: SessionProof,
  ): Promise<{ token: string; id: string; expiresAt: Date; displaced: string[] }> {
    const { tx } = ctx;
    await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
    // Idle by the database's record even allowing for activity an instance has yet to write.
    const idleCutoff = new Date(Date.now() - this.policy.idleTimeoutMs - this.touchIntervalMs);
    const ended = await tx
      .delete(sessions)
      .where(
        and(
          eq(sessions.userId, userId),
          sql`(${sessions.expiresAt} <= now() OR ${sessions.lastSeenAt} < ${idleCutoff} OR ${sessions.id} IN (
            SELECT ${sessions.id} FROM ${sessions} WHERE ${sessions.userId} = ${userId}
            ORDER BY ${sessions.createdAt} DESC, ${sessions.id} DESC OFFSET ${this.policy.maxPerUser - 1}))`,
        ),
      )
      .returning({
        id: sessions.id,
        tokenHash: sessions.tokenHash,
        expiresAt: sessions.expiresAt,
        lastSeenAt: sessions.lastSeenAt,
      });
    for (const row of ended) await ctx.invalidate(SESSIONS_CACHE, row.tokenHash.toString('hex'));
    // Sessions that were still live and ended only to keep the user within the cap: the sign-in's
    // audit entry names them, so the user can see why a device was signed out.
    const now = Date.now();
    const displaced = ended
      .filter((r) => r.expiresAt.getTime() > now && r.lastSeenAt.getTime() >= idleCutoff.getTime())
      .map((r) => r.id);
    const token = generateSecret();
    const expiresAt = new Date(Date.now() + this.policy.absoluteLifetimeMs);
    const [row] = await tx
      .insert(sessions)
      .values({
        userId,
        tokenHash: hashSecret(token),
        expiresAt,
        ip: meta.ip,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
        amr: [...proof.amr],
        ssoOrgId: proof.ssoOrgId ?? null,
        ...(proof.authenticatedAt ? { authenticatedAt: proof.authenticatedAt } : {}),
      })
      .returning({ id: sessions.id });
    return { token, id: row!.id, expiresAt, displaced };
  }

  /** The live session and user for a cookie token, or undefined. */
  async resolve(token: string): Promise<ResolvedSession | undefined> {
    if (token.length < 20 || token.length > 128) return undefined;
    const tokenHash = hashSecretHex(token);
    // The common case (a cached session and user) completes without waiting on anything.
    let entry = this.sessionCache.get(tokenHash);
    const fromCache = entry !== undefined;
    const load = () => this.loadSession(tokenHash);
    entry ??= await this.sessionCache.load(tokenHash, load);
    if (!entry) return undefined;
    const now = Date.now();
    if (now >= entry.expiresAt) return this.expire(entry, tokenHash);
    const idleTimeoutMs = await this.idleTimeoutOf(entry.userId);
    if (now - Math.max(entry.lastSeenAt, entry.persistedLastSeenAt) > idleTimeoutMs) {
      // Another instance may have seen activity this one has not: ask the database before ending it.
      if (fromCache) {
        this.sessionCache.drop(tokenHash);
        entry = await this.sessionCache.load(tokenHash, load);
        if (!entry) return undefined;
      }
      if (now - entry.persistedLastSeenAt > idleTimeoutMs) return this.expire(entry, tokenHash);
    }
    const user = this.userCache.get(entry.userId) ?? (await this.user(entry.userId));
    if (!user) return undefined;
    entry.lastSeenAt = now;
    if (now - entry.persistedLastSeenAt > this.touchIntervalMs) {
      entry.persistedLastSeenAt = now;
      this.sessionCache.update(tokenHash, entry);
      this.db
        .update(sessions)
        .set({ lastSeenAt: new Date(now) })
        .where(and(eq(sessions.id, entry.id), lt(sessions.lastSeenAt, new Date(now))))
        .returning({ id: sessions.id })
        .then((rows) => {
          // Gone from the database (ended elsewhere): make sure this instance forgets it too.
          if (rows.length === 0) this.sessionCache.drop(tokenHash);
        })
        .catch((err) => this.onError(err, 'could not record session activity'));
    }
    return { session: entry, user, tokenHash };
  }

  /**
   * How long a session of the user may go unused: the installation's timeout, or the strictest
   * one among the user's organizations when that is shorter ("A session idle longer than the
   * strictest sessionIdleMinutes among its user's orgs ends"). Organizations allow no less than
   * 5 minutes, so the touch interval (at most a minute) stays well inside any limit.
   */
  private async idleTimeoutOf(userId: string): Promise<number> {
    if (!this.idleLimits) return this.policy.idleTimeoutMs;
    const cached = this.idleLimits.idleLimitCached(userId);
    const limit = cached !== undefined ? cached : await this.idleLimits.idleLimit(userId);
    return limit === null ? this.policy.idleTimeoutMs : Math.min(limit, this.policy.idleTimeoutMs);
  }

  /** A user as requests see them (cached; dropped everywhere when their profile changes). */
  async user(userId: string): Promise<SessionUser | undefined> {
    return this.userCache.get(userId) ?? (await this.userCache.load(userId, () => this.loadUser(userId)));
  }

  private async expire(entry: SessionEntry, tokenHash: string): Promise<undefined> {
    this.sessionCache.drop(tokenHash);
    await this.db.delete(sessions).where(eq(sessions.id, entry.id));
    return undefined;
  }

  private async loadSession(tokenHash: string): Promise<SessionEntry | undefined> {
    const [row] = await this.db
      .select({
        id: sessions.id,
        userId: sessions.userId,
        expiresAt: sessions.expiresAt,
        lastSeenAt: sessions.lastSeenAt,
        amr: sessions.amr,
        ssoOrgId: sessions.ssoOrgId,
      })
      .from(sessions)
      .where(eq(sessions.tokenHash, Buffer.from(tokenHash, 'hex')));
    if (!row) return undefined;
    const lastSeen = row.lastSeenAt.getTime();
    return {
      id: row.id,
      userId: row.userId,
      expiresAt: row.expiresAt.getTime(),
      persistedLastSeenAt: lastSeen,
      lastSeenAt: lastSeen,
      amr: row.amr,
      ssoOrgId: row.ssoOrgId,
    };
  }

  /**
   * The account, unless an operator disabled it or its owner deleted it: then no session or
   * personal token of it is honoured.
   */
  private async loadUser(userId: string): Promise<SessionUser | undefined> {
    const [row] = await this.db
      .select(userColumns)
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.disabledAt), isNull(users.deletedAt)));
    return row;
  }

  /**
   * Ends sessions of a user inside a command: all of them, or all but `exceptId`, or just `onlyId`.
   * Returns how many ended. Each is dropped from every instance's cache at commit.
   */
  async revoke(
    ctx: CommandScope,
    userId: string,
    which: { onlyId?: string; exceptId?: string } = {},
  ): Promise<number> {
    const conditions = [eq(sessions.userId, userId)];
    if (which.onlyId) conditions.push(eq(sessions.id, which.onlyId));
    if (which.exceptId) conditions.push(ne(sessions.id, which.exceptId));
    const ended = await ctx.tx
      .delete(sessions)
      .where(and(...conditions))
      .returning({ tokenHash: sessions.tokenHash });
    for (const row of ended) await ctx.invalidate(SESSIONS_CACHE, row.tokenHash.toString('hex'));
    return ended.length;
  }

  /**
   * The sessions an org's identity provider signed in no longer count as signed in through it (the
   * org disconnected or replaced that IdP): they stay signed in, as any other session of theirs,
   * and an org enforcing SSO asks them to sign in through whatever IdP it has now. Returns how
   * many. Each is dropped from every instance's cache at commit.
   */
  async forgetSsoOrg(ctx: CommandScope, orgId: string): Promise<number> {
    const changed = await ctx.tx
      .update(sessions)
      .set({ ssoOrgId: null })
      .where(eq(sessions.ssoOrgId, orgId))
      .returning({ tokenHash: sessions.tokenHash });
    for (const row of changed) await ctx.invalidate(SESSIONS_CACHE, row.tokenHash.toString('hex'));
    return changed.length;
  }

  /**
   * Whether the session proved itself (signed in or re-authenticated) within `withinMs`. Read
   * from the database, never the cache: a re-authentication on another instance counts at once,
   * and the comparison uses the database's clock on both sides.
   */
  async provenWithin(sessionId: string, withinMs: number): Promise<boolean> {
    const [row] = await this.db
      .select({
        recent: sql<boolean>`${sessions.authenticatedAt} > now() - make_interval(secs => ${withinMs / 1000})`,
      })
      .from(sessions)
      .where(eq(sessions.id, sessionId));
    return row?.recent === true;
  }

  /** Stamps a fresh proof on one session (re-authentication), inside a command. */
  async markProven(ctx: CommandScope, sessionId: string): Promise<boolean> {
    const rows = await ctx.tx
      .update(sessions)
      .set({ authenticatedAt: sql`now()` })
      .where(eq(sessions.id, sessionId))
      .returning({ id: sessions.id });
    return rows.length === 1;
  }

  /** The proof a session carries: its methods and when it was given (for a session that replaces it). */
  async proofOf(ctx: CommandScope, sessionId: string): Promise<SessionProof | undefined> {
    const [row] = await ctx.tx
      .select({ amr: sessions.amr, authenticatedAt: sessions.authenticatedAt })
      .from(sessions)
      .where(eq(sessions.id, sessionId));
    return row;
  }

  /** Whether the user has at least one passkey (what a personal token's owner needs for require-2FA). */
  async hasPasskey(userId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: passkeys.id })
      .from(passkeys)
      .where(eq(passkeys.userId, userId))
      .limit(1);
    return row !== undefined;
  }

  /** Deletes sessions past their absolute or idle limits (housekeeping; lookups already refuse them). */
  async purgeExpired(): Promise<number> {
    const idleCutoff = new Date(Date.now() - this.policy.idleTimeoutMs - PURGE_GRACE_MS);
    const ended = await this.db
      .delete(sessions)
      .where(sql`${sessions.expiresAt} <= now() OR ${sessions.lastSeenAt} < ${idleCutoff}`)
      .returning({ id: sessions.id });
    return ended.length;
  }
}
