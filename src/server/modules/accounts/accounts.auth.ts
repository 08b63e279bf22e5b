import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, needsRehash, passwordProblem, verifyPassword } from '../../platform/auth/passwords.ts';
import { sessionCookieName } from '../../platform/auth/sessions.ts';
import {
  InvalidCredentialsError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { changePassword, type SignInProof, signIn, signOut, signUp } from './accounts.commands.ts';
import {
  challengeOf,
  consumeChallenge,
  findCredential,
  relyingParty,
  verifyAssertion,
} from './accounts.passkeys.ts';
import { findUserByEmail, findUserById } from './accounts.repository.ts';
import {
  type Attempt,
  clientKey,
  DEVICE_COOKIE,
  DEVICE_COOKIE_MAX_AGE_S,
  emailKey,
  findDeviceOwner,
  type LoginThrottle,
  userKey,
} from './accounts.throttle.ts';
import {
  InvalidSecondFactorError,
  type SecondFactor,
  SecondFactorRequiredError,
} from './accounts.two-factor.ts';

/**
 * Sign-up, sign-in, sign-out and password change: the credential checks and cookies around the
 * account commands. Password hashing happens before any transaction opens, so no database
 * connection waits on argon2.
 */

function cookieSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.server.gatehouse.config.publicUrl.startsWith('https:');
}

/** `__Host-gatehouse_session` behind TLS (Secure, Path=/, no Domain), `gatehouse_session` on http. */
const sessionCookie = (request: FastifyRequest) =>
  sessionCookieName(request.server.gatehouse.config.publicUrl);

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(sessionCookie(request), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieSecure(request),
    path: '/',
    maxAge: Math.floor(request.server.gatehouse.config.session.absoluteLifetimeMs / 1000),
  });
}

/** Marks this browser as one that has signed in to the account (see LoginThrottle). */
function setDeviceCookie(request: FastifyRequest, reply: FastifyReply, token: string | undefined): void {
  if (!token) return;
  reply.setCookie(DEVICE_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: cookieSecure(request),
    path: '/api/v1/auth',
    maxAge: DEVICE_COOKIE_MAX_AGE_S,
  });
}

/**
 * The cookies of a sign-in made by another module (SSO): the session, and this browser marked as
 * the account's. `previousSession` and `device` are what the sign-in's command is handed.
 */
export async function signInCookies(request: FastifyRequest) {
  return {
    previousSession: request.session
      ? { id: request.session.session.id, userId: request.session.user.id }
      : undefined,
    device: await findDeviceOwner(request.server.gatehouse.database.db, request.cookies[DEVICE_COOKIE]),
    set(reply: FastifyReply, sessionToken: string, deviceToken: string | undefined) {
      setSessionCookie(request, reply, sessionToken);
      setDeviceCookie(request, reply, deviceToken);
    },
  };
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(sessionCookie(request), {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieSecure(request),
    path: '/',
  });
}

/** 400 validation_failed naming the field and why (`common_password`, …) when a new password is weak. */
export async function refuseWeakPassword(
  field: string,
  password: string,
  owner: { email: string; name: string },
): Promise<void> {
  const problem = await passwordProblem(password, owner);
  if (problem) throw new ValidationError([{ field, ...problem }]);
}

export async function registerAccount(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  body: { email: string; password: string; name: string },
) {
  const email = body.email.trim();
  const name = body.name.trim();
  // Counted per address before the password is judged (tens of milliseconds of the event loop)
  // or hashed: account creation cannot be used to flood the server, fill the database, or probe
  // which emails have accounts at speed. A refused password counts as an attempt.
  const accountKey = emailKey(email);
  await throttle.reserve({ kind: 'signup', accountKey, ip: clientKey(request.ip) });
  await refuseWeakPassword('/body/password', body.password, { email, name });
  const passwordHash = await hashPassword(body.password, accountKey);
  const { user, session, deviceToken } = await request.server.gatehouse.commands.run(
    signUp,
    request.invocation(),
    {
      email,
      name,
      passwordHash,
      publicUrl: request.server.gatehouse.config.publicUrl,
    },
  );
  setSessionCookie(request, reply, session.token);
  setDeviceCookie(request, reply, deviceToken);
  return user;
}

export async function logIn(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  body: { email: string; password: string; totp?: string; recoveryCode?: string },
) {
  const email = body.email.trim();
  const device = await throttle.deviceOwner(request.cookies[DEVICE_COOKIE]);
  const user = await findUserByEmail(request.server.gatehouse.database.db, email);
  const attempt: Attempt = {
    kind: 'login',
    // An existing account is counted by its id, however its email was spelled.
    accountKey: user ? userKey(user.id) : emailKey(email),
    ip: clientKey(request.ip),
    trustedDeviceId: device && user && device.userId === user.id ? device.deviceId : undefined,
  };
  const release = await throttle.reserve(attempt);
  // Unknown email and wrong password take the same path and the same time. Refused for want of
  // hashing capacity (429), the attempt was not judged: it does not count as a failure.
  const unjudged = async (err: unknown): Promise<never> => {
    if (err instanceof RateLimitedError) await release();
    throw err;
  };
  const valid = await verifyPassword(user?.passwordHash ?? null, body.password, attempt.accountKey).catch(
    unjudged,
  );
  // A disabled account is refused exactly like a wrong password, the attempt counted as a failure:
  // a different answer, or a different count, would tell whoever is guessing that the guess was right.
  if (!valid || !user || user.disabled || user.deleted) throw new InvalidCredentialsError();
  const secondFactor = { totp: body.totp, recoveryCode: body.recoveryCode };
  const factorGiven = body.totp !== undefined || body.recoveryCode !== undefined;
  // Asked for only once the password is right; asking is no failure (the client asks the person
  // and sends both again). A wrong code is one: its attempt stays counted.
  if (user.twoFactorEnabled && !factorGiven) {
    await release();
    throw new SecondFactorRequiredError();
  }
  // Each sign-in makes a session: even with the right password they are counted, so nobody can
  // make sessions (and their audit entries) without bound. Checked only once the password is
  // right, so the limit tells nothing to someone who does not know it. A right password refused
  // here is no failure: it spends neither the account's nor the address's failure budget.
  const releaseSignIn = await throttle
    .reserve({ kind: 'signin', accountKey: attempt.accountKey, ip: attempt.ip })
    .catch(unjudged);

  const newPasswordHash = needsRehash(user.passwordHash)
    ? await hashPassword(body.password, attempt.accountKey)
    : undefined;
  const signedIn = await startSession(
    request,
    reply,
    user,
    device,
    { method: 'password', verifiedHash: user.passwordHash, newPasswordHash },
    secondFactor,
  ).catch(async (err: unknown) => {
    // No session was made. 2FA turned on meanwhile: asked for as above, nothing counted.
    if (err instanceof SecondFactorRequiredError || err instanceof InvalidSecondFactorError) {
      await releaseSignIn();
    }
    if (err instanceof SecondFactorRequiredError) await release();
    throw err;
  });
  // Only a sign-in that happened proves the failures before it were the owner's own.
  await throttle.succeeded(attempt);
  return signedIn;
}

/**
 * The end of every sign-in, once its proof was checked: the signIn command (which confirms the
 * proof under the user's lock), the session cookie, and this browser marked as the account's.
 * A session the request came with is replaced.
 */
async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  user: { id: string; email: string },
  device: { deviceId: string; userId: string } | undefined,
  proof: SignInProof,
  /** With a password: the TOTP or recovery code given, spent in the sign-in's transaction. */
  secondFactor?: SecondFactor,
) {
  const previous = request.session
    ? { id: request.session.session.id, userId: request.session.user.id }
    : undefined;
  const result = await request.server.gatehouse.commands.run(
    signIn,
    { ...request.invocation(), actor: { type: 'user', userId: user.id, email: user.email } },
    {
      userId: user.id,
      proof,
      previousSession: previous,
      device,
      ...(secondFactor ? { secondFactor } : {}),
      secrets: request.server.gatehouse.secrets,
    },
  );
  setSessionCookie(request, reply, result.session.token);
  setDeviceCookie(request, reply, result.deviceToken);
  return result.user;
}

/**
 * Sign-in with a passkey: the challenge the assertion answers is taken from the store first (so
 * an assertion is good once, verified or not), then the credential it names is looked up and the
 * assertion verified against its public key and counter, user verification required. Every
 * refusal is the same 401 as a wrong password: unknown challenge, unknown or foreign credential,
 * bad signature, disabled account.
 */
export async function logInWithPasskey(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  response: AuthenticationResponseJSON,
) {
  const { db } = request.server.gatehouse.database;
  const rp = relyingParty(request.server.gatehouse.config.publicUrl);
  const challenge = challengeOf(response.response.clientDataJSON);
  const issued = challenge ? await consumeChallenge(db, challenge, 'authentication') : undefined;
  if (!challenge || !issued) throw new InvalidCredentialsError();
  const credential = await findCredential(db, response.id);
  // A challenge handed out for one account's credentials answers for no other account's.
  if (!credential || (issued.userId !== null && issued.userId !== credential.userId)) {
    throw new InvalidCredentialsError();
  }
  const verified = await verifyAssertion(rp, response, challenge, credential);
  if (!verified) throw new InvalidCredentialsError();
  const user = await findUserById(db, credential.userId);
  if (!user || user.disabled || user.deleted) throw new InvalidCredentialsError();
  // Sign-ins make sessions: counted per account like password sign-ins.
  const accountKey = userKey(user.id);
  await throttle.reserve({ kind: 'signin', accountKey, ip: clientKey(request.ip) });
  const device = await throttle.deviceOwner(request.cookies[DEVICE_COOKIE]);
  return startSession(request, reply, user, device?.userId === user.id ? device : undefined, {
    method: 'passkey',
    passkeyId: credential.id,
    ...verified,
  });
}

export async function logOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.session) {
    await request.server.gatehouse.commands.run(signOut, request.invocation(), {
      sessionId: request.session.session.id,
    });
  }
  clearSessionCookie(request, reply);
}

/**
 * Re-entry of the signed-in user's password before a sensitive step (password change, deleting an
 * organization). A stolen session must not become an unlimited password oracle: re-entries share
 * a budget of their own, per account (not per address, so other people's failed sign-ins cannot
 * block it).
 */
export async function confirmOwnPassword(
  request: FastifyRequest,
  throttle: LoginThrottle,
  user: { id: string; passwordHash: string },
  password: string,
  field = '/body/password',
): Promise<void> {
  const attempt = await reserveReentry(request, throttle, user);
  await verifyReentry(attempt, user, password, field);
  await throttle.succeeded(attempt);
}

/**
 * confirmOwnPassword for a step that also proves something the caller could guess (a 2FA code):
 * the re-entry is given back only once `step` succeeded too, so a wrong code after the right
 * password spends the budget as a wrong password does.
 */
export async function withOwnPassword<T>(
  request: FastifyRequest,
  throttle: LoginThrottle,
  user: { id: string; passwordHash: string },
  password: string,
  step: () => Promise<T>,
): Promise<T> {
  const attempt = await reserveReentry(request, throttle, user);
  await verifyReentry(attempt, user, password, '/body/password');
  const result = await step();
  await throttle.succeeded(attempt);
  return result;
}

/** Takes one re-entry from the account's budget (429 past it). */
async function reserveReentry(
  request: FastifyRequest,
  throttle: LoginThrottle,
  user: { id: string },
): Promise<Attempt> {
  const attempt: Attempt = {
    kind: 'password_change',
    accountKey: userKey(user.id),
    ip: clientKey(request.ip),
  };
  await throttle.reserve(attempt);
  return attempt;
}

async function verifyReentry(
  attempt: Attempt,
  user: { passwordHash: string },
  password: string,
  field: string,
): Promise<void> {
  if (!(await verifyPassword(user.passwordHash, password, attempt.accountKey))) {
    throw new ValidationError([{ field, message: 'is incorrect' }], 'The password is incorrect.');
  }
}

/** The signed-in user's password re-entered correctly, or a 400 / 429. */
export async function confirmSignedInPassword(
  request: FastifyRequest,
  throttle: LoginThrottle,
  password: string,
): Promise<void> {
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  const user = await findUserById(request.server.gatehouse.database.db, request.actor.userId);
  if (!user) throw new UnauthenticatedError();
  await confirmOwnPassword(request, throttle, user, password);
}

export async function changeOwnPassword(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  body: { currentPassword: string; newPassword: string },
): Promise<void> {
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  const user = await findUserById(request.server.gatehouse.database.db, request.actor.userId);
  if (!user) throw new UnauthenticatedError();
  // One attempt of the account's re-entry budget covers the whole change and is given back only
  // once the change is made: judging the new password costs tens of milliseconds of the event
  // loop, so refused new passwords count like wrong current ones (429 past the budget).
  const attempt = await reserveReentry(request, throttle, user);
  await refuseWeakPassword('/body/newPassword', body.newPassword, user);
  if (body.newPassword === body.currentPassword) {
    throw new ValidationError([
      { field: '/body/newPassword', message: 'must differ from the current password' },
    ]);
  }
  await verifyReentry(attempt, user, body.currentPassword, '/body/currentPassword');
  const passwordHash = await hashPassword(body.newPassword, userKey(user.id));
  const { session, deviceToken } = await request.server.gatehouse.commands.run(
    changePassword,
    request.invocation(),
    {
      verifiedHash: user.passwordHash,
      passwordHash,
    },
  );
  await throttle.succeeded(attempt);
  setSessionCookie(request, reply, session.token);
  setDeviceCookie(request, reply, deviceToken);
}
