import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { and, asc, count, eq, isNull, lt, type SQL, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../platform/auth/email.ts';
import type { Executor } from '../../platform/db/client.ts';
import { passkeys, users, webauthnChallenges } from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors/app-error.ts';

/**
 * Passkeys (WebAuthn): the relying party Gatehouse is, the challenges it hands out, the
 * credentials it keeps, and the checks of what authenticators answer. User verification is
 * required everywhere (asked for in options and demanded in verification), so a passkey sign-in is
 * two factors on its own: something held and something known or been.
 */

/**
 * 400 passkey_rejected: the authenticator's answer to a registration did not verify (its challenge
 * unknown, expired or used, another origin or RP ID, no user verification, malformed).
 */
export class PasskeyRejectedError extends AppError {
  constructor() {
    super(
      400,
      'passkey_rejected',
      'Passkey not accepted',
      'The passkey could not be verified. Start again from the beginning.',
    );
  }
}

/** How long a challenge may be answered: the browser's own timeout is the same. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Registration challenges one user may have outstanding; asking for more drops the oldest. */
const MAX_REGISTRATION_CHALLENGES = 5;
const RP_NAME = 'Gatehouse';
/** Passkeys one account may hold: enough for every device a person has, and a bound on the rows. */
export const MAX_PASSKEYS_PER_USER = 20;

export type ChallengePurpose = 'registration' | 'authentication';

export interface RelyingParty {
  /** The host name of PUBLIC_URL: credentials are bound to it (and its subdomains ask for it too). */
  rpID: string;
  /** PUBLIC_URL's origin: where the browser must have been when the authenticator answered. */
  origin: string;
}

export function relyingParty(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { rpID: url.hostname, origin: url.origin };
}

/**
 * The user handle stored in a discoverable credential: the account id's bytes. Not secret and not
 * personal (never the email), and checked against the credential's owner at sign-in.
 */
export const userHandle = (userId: string) => new TextEncoder().encode(userId);

/** A challenge as generateXOptions writes it: base64url, bounded. */
const CHALLENGE = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The challenge an authenticator's response answers, read from its clientDataJSON, or undefined
 * when that is not the JSON a browser writes. Only a key to find the stored challenge by: the
 * library verifies the rest of clientDataJSON against it.
 */
export function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    const challenge = (parsed as { challenge?: unknown } | null)?.challenge;
    // Only the form this server hands out (base64url): anything else answers no challenge of ours,
    // and a NUL byte would make the database refuse the lookup (a 500) instead of finding nothing.
    return typeof challenge === 'string' && CHALLENGE.test(challenge) ? challenge : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Challenges
// ---------------------------------------------------------------------------------------------

export async function storeChallenge(
  db: Executor,
  values: { challenge: string; purpose: ChallengePurpose; userId: string | null },
): Promise<void> {
  await db.insert(webauthnChallenges).values({
    ...values,
    expiresAt: sql`now() + make_interval(secs => ${CHALLENGE_TTL_MS / 1000})`,
  });
  if (values.purpose === 'registration' && values.userId) {
    // Bounded per user: a signed-in client asking again and again keeps only its latest few.
    await db.delete(webauthnChallenges).where(
      and(
        eq(webauthnChallenges.purpose, 'registration'),
        eq(webauthnChallenges.userId, values.userId),
        sql`${webauthnChallenges.challenge} NOT IN (
          SELECT ${webauthnChallenges.challenge} FROM ${webauthnChallenges}
          WHERE ${webauthnChallenges.purpose} = 'registration' AND ${webauthnChallenges.userId} = ${values.userId}
          ORDER BY ${webauthnChallenges.createdAt} DESC LIMIT ${MAX_REGISTRATION_CHALLENGES})`,
      ),
    );
  }
}

/**
 * Takes a challenge out of the store: it must exist, be unexpired and be for this purpose (and
 * this user, when one is given). One statement, so of two requests answering the same challenge
 * only one gets it back: a challenge is used once, whether its answer then verifies or not.
 * Returns the user the challenge was handed out for (null: anyone's discoverable credential).
 */
export async function consumeChallenge(
  db: Executor,
  challenge: string,
  purpose: ChallengePurpose,
  userId?: string,
): Promise<{ userId: string | null } | undefined> {
  const where: SQL[] = [
    eq(webauthnChallenges.challenge, challenge),
    eq(webauthnChallenges.purpose, purpose),
    sql`${webauthnChallenges.expiresAt} > now()`,
  ];
  if (userId !== undefined) where.push(eq(webauthnChallenges.userId, userId));
  const [row] = await db
    .delete(webauthnChallenges)
    .where(and(...where))
    .returning({ userId: webauthnChallenges.userId });
  return row;
}

/** Drops the challenges nobody answered in time (housekeeping). */
export async function purgeChallenges(db: Executor): Promise<void> {
  await db.delete(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, sql`now()`));
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const viewColumns = {
  id: passkeys.id,
  name: passkeys.name,
  createdAt: passkeys.createdAt,
  lastUsedAt: passkeys.lastUsedAt,
};

/** The user's passkeys, oldest first (at most a handful per person). */
export async function listPasskeys(db: Executor, userId: string): Promise<PasskeyView[]> {
  return db
    .select(viewColumns)
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}

export async function countPasskeys(db: Executor, userId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId));
  return Number(row?.n ?? 0);
}

/** The user's credential ids and transports, as WebAuthn options list them. */
async function credentialDescriptors(
  db: Executor,
  userId: string,
): Promise<Array<{ id: string; transports: AuthenticatorTransport[] }>> {
  const rows = await db
    .select({ id: passkeys.credentialId, transports: passkeys.transports })
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(asc(passkeys.createdAt));
  return rows.map((r) => ({ id: r.id, transports: r.transports as AuthenticatorTransport[] }));
}

export interface StoredCredential {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
}

/** The passkey with this credential id, if its account may sign in (neither disabled nor deleted). */
export async function findCredential(
  db: Executor,
  credentialId: string,
): Promise<StoredCredential | undefined> {
  const [row] = await db
    .select({
      id: passkeys.id,
      userId: passkeys.userId,
      credentialId: passkeys.credentialId,
      publicKey: passkeys.publicKey,
      counter: passkeys.counter,
      transports: passkeys.transports,
    })
    .from(passkeys)
    .innerJoin(users, eq(users.id, passkeys.userId))
    .where(and(eq(passkeys.credentialId, credentialId), isNull(users.disabledAt), isNull(users.deletedAt)));
  return row;
}

/** A verified registration: what the authenticator gave, and the name its owner chose. */
export interface NewPasskey {
  name: string;
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  aaguid: string;
  deviceType: string;
  backedUp: boolean;
}

export async function insertPasskey(
  db: Executor,
  values: NewPasskey & { userId: string },
): Promise<PasskeyView> {
  const [row] = await db
    .insert(passkeys)
    .values({ ...values, publicKey: Buffer.from(values.publicKey) })
    .returning(viewColumns);
  return row!;
}

/** Renames one of the user's passkeys; undefined when the user has none with this id. */
export async function renamePasskeyRow(
  db: Executor,
  userId: string,
  id: string,
  name: string,
): Promise<{ before: string; after: PasskeyView } | undefined> {
  const [before] = await db
    .select({ name: passkeys.name })
    .from(passkeys)
    .where(and(eq(passkeys.userId, userId), eq(passkeys.id, id)))
    .for('update');
  if (!before) return undefined;
  const [after] = await db
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.userId, userId), eq(passkeys.id, id)))
    .returning(viewColumns);
  return { before: before.name, after: after! };
}

/** Removes one of the user's passkeys; undefined when the user has none with this id. */
export async function deletePasskeyRow(
  db: Executor,
  userId: string,
  id: string,
): Promise<PasskeyView | undefined> {
  const [row] = await db
    .delete(passkeys)
    .where(and(eq(passkeys.userId, userId), eq(passkeys.id, id)))
    .returning(viewColumns);
  return row;
}

/** Removes every passkey of the user; returns how many there were. */
export async function deleteAllPasskeys(db: Executor, userId: string): Promise<number> {
  const rows = await db.delete(passkeys).where(eq(passkeys.userId, userId)).returning({ id: passkeys.id });
  return rows.length;
}

/**
 * Records a verified use of a passkey. The signature counter must move forward, except that an
 * authenticator keeping none (synced passkeys) reports 0 every time against a stored 0: guarded
 * in the statement, so two sign-ins racing with the same counter cannot both pass. Returns false
 * when the stored counter is already at or past the new one (a cloned authenticator, or a replay).
 */
export async function recordPasskeyUse(
  db: Executor,
  use: { passkeyId: string; userId: string; counter: number; backedUp: boolean },
): Promise<boolean> {
  const rows = await db
    .update(passkeys)
    .set({ counter: use.counter, backedUp: use.backedUp, lastUsedAt: sql`now()` })
    .where(
      and(
        eq(passkeys.id, use.passkeyId),
        eq(passkeys.userId, use.userId),
        sql`(${passkeys.counter} < ${use.counter} OR (${passkeys.counter} = 0 AND ${use.counter} = 0))`,
      ),
    )
    .returning({ id: passkeys.id });
  return rows.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Ceremonies
// ---------------------------------------------------------------------------------------------

/** Creation options for a new passkey of `user`, its challenge stored for them. */
export async function registrationOptions(
  db: Executor,
  rp: RelyingParty,
  user: { id: string; email: string; name: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: rp.rpID,
    userName: user.email,
    userDisplayName: user.name,
    userID: userHandle(user.id),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    // The same authenticator twice is refused by the browser already.
    excludeCredentials: await credentialDescriptors(db, user.id),
    authenticatorSelection: {
      residentKey: 'required',
      requireResidentKey: true,
      userVerification: 'required',
    },
  });
  await storeChallenge(db, { challenge: options.challenge, purpose: 'registration', userId: user.id });
  return options;
}

/** What a verified registration adds, or undefined when the response does not verify. */
export async function verifyRegistration(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  challenge: string,
) {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
    });
    if (!result.verified || !result.registrationInfo) return undefined;
    const info = result.registrationInfo;
    return {
      credentialId: info.credential.id,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
      transports: (response.response.transports ?? []).slice(0, 8),
      aaguid: info.aaguid,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
    };
  } catch {
    // Malformed CBOR, another origin or RP ID, no user verification: all a refusal, never a 500.
    return undefined;
  }
}

/**
 * Request options for a passkey sign-in. Without an email: any discoverable credential of this RP
 * (empty allowCredentials). With one: that account's credentials. An address with no account, or
 * an account with no passkey, gets one stand-in credential id instead, derived from the address
 * under the instance's key: the same every time and indistinguishable from a real one, so the
 * answer tells nobody whether the address has an account. Transports are left out for the same
 * reason (a stand-in would have to invent them).
 */
export async function authenticationOptions(
  db: Executor,
  rp: RelyingParty,
  who: { userId: string | undefined; email: string | undefined },
  standIn: (email: string) => Buffer,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  let allow: Array<{ id: string }> = [];
  let userId: string | null = null;
  if (who.email !== undefined) {
    const own = who.userId ? await credentialDescriptors(db, who.userId) : [];
    if (own.length > 0) {
      allow = own.map((c) => ({ id: c.id }));
      userId = who.userId!;
    } else {
      allow = [{ id: standIn(normalizeEmail(who.email)).toString('base64url') }];
    }
  }
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    allowCredentials: allow,
    userVerification: 'required',
    timeout: CHALLENGE_TTL_MS,
  });
  await storeChallenge(db, { challenge: options.challenge, purpose: 'authentication', userId });
  return options;
}

/** The new counter and backup state of a verified assertion, or undefined when it does not verify. */
export async function verifyAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: StoredCredential,
): Promise<{ counter: number; backedUp: boolean } | undefined> {
  // A discoverable credential names its account: it must be the credential's own.
  const handle = response.response.userHandle;
  if (handle !== undefined && handle !== Buffer.from(userHandle(credential.userId)).toString('base64url')) {
    return undefined;
  }
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
      credential: {
        id: credential.credentialId,
        publicKey: new Uint8Array(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports as AuthenticatorTransport[],
      },
    });
    if (!result.verified || !result.authenticationInfo.userVerified) return undefined;
    return {
      counter: result.authenticationInfo.newCounter,
      backedUp: result.authenticationInfo.credentialBackedUp,
    };
  } catch {
    // Bad signature, another origin or RP ID, no user verification, a counter gone backwards.
    return undefined;
  }
}
