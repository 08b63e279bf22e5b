import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { ssoAssertionsSeen, ssoRequests } from '../../platform/db/schema.ts';

export type SsoProtocol = 'oidc' | 'saml';
export type SsoPurpose = 'login' | 'test';

/** A sign-in sent to an IdP and not yet answered (`sso_requests`). */
export interface SsoRequestRow {
  key: string;
  purpose: SsoPurpose;
  nonce: string | null;
  codeVerifier: string | null;
  next: string | null;
  userId: string | null;
  /** SHA-256 (hex) of the binding cookie of the browser that started it. */
  browserBinding: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** How long a sign-in sent to an IdP may take to come back. */
export const SSO_REQUEST_TTL_MS = 10 * 60 * 1000;

export async function saveSsoRequest(
  db: Executor,
  orgId: string,
  request: {
    key: string;
    protocol: SsoProtocol;
    purpose: SsoPurpose;
    nonce?: string | null;
    codeVerifier?: string | null;
    next?: string | null;
    userId?: string | null;
    browserBinding?: string | null;
  },
): Promise<void> {
  await db.insert(ssoRequests).values({
    orgId,
    key: request.key,
    protocol: request.protocol,
    purpose: request.purpose,
    nonce: request.nonce ?? null,
    codeVerifier: request.codeVerifier ?? null,
    next: request.next ?? null,
    userId: request.userId ?? null,
    browserBinding: request.browserBinding ?? null,
    expiresAt: sql`now() + make_interval(secs => ${SSO_REQUEST_TTL_MS / 1000})`,
  });
}

/**
 * Takes a live request of the protocol: deleted as it is read, so of two answers carrying the same
 * key only one gets the row (the DELETE is the lock); an expired one is never returned.
 */
export async function takeSsoRequest(
  db: Executor,
  orgId: string,
  protocol: SsoProtocol,
  key: string,
): Promise<SsoRequestRow | null> {
  const rows = await db
    .delete(ssoRequests)
    .where(
      and(
        eq(ssoRequests.orgId, orgId),
        eq(ssoRequests.key, key),
        eq(ssoRequests.protocol, protocol),
        gt(ssoRequests.expiresAt, sql`now()`),
      ),
    )
    .returning({
      key: ssoRequests.key,
      purpose: ssoRequests.purpose,
      nonce: ssoRequests.nonce,
      codeVerifier: ssoRequests.codeVerifier,
      next: ssoRequests.next,
      userId: ssoRequests.userId,
      browserBinding: ssoRequests.browserBinding,
      createdAt: ssoRequests.createdAt,
      expiresAt: ssoRequests.expiresAt,
    });
  const row = rows[0];
  return row ? { ...row, purpose: row.purpose as SsoPurpose } : null;
}

/**
 * Records a SAML assertion as taken until `expiresAt` (when it could no longer be accepted anyway).
 * False when it was already taken: the caller refuses it as a replay.
 */
export async function recordSsoAssertion(
  db: Executor,
  orgId: string,
  assertionId: string,
  expiresAt: Date,
): Promise<boolean> {
  const rows = await db
    .insert(ssoAssertionsSeen)
    .values({ orgId, assertionId, expiresAt })
    .onConflictDoNothing()
    .returning({ assertionId: ssoAssertionsSeen.assertionId });
  return rows.length === 1;
}

/** Forgets sign-ins that never came back and assertions past the time they could be replayed. */
export async function purgeSsoRequests(db: Executor): Promise<void> {
  await db.delete(ssoRequests).where(lt(ssoRequests.expiresAt, sql`now()`));
  await db.delete(ssoAssertionsSeen).where(lt(ssoAssertionsSeen.expiresAt, sql`now()`));
}
