import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, needsRehash, passwordProblem, verifyPassword } from '../../platform/auth/passwords.ts';
import { SESSION_COOKIE } from '../../platform/auth/sessions.ts';
import {
  InvalidCredentialsError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { changePassword, signIn, signOut, signUp } from './accounts.commands.ts';
import { findUserByEmail, findUserById } from './accounts.repository.ts';
import {
  accountKeyFor,
  DEVICE_COOKIE,
  DEVICE_COOKIE_MAX_AGE_S,
  type LoginThrottle,
} from './accounts.throttle.ts';

/**
 * Sign-up, sign-in, sign-out and password change: the credential checks and cookies around the
 * account commands. Password hashing happens before any transaction opens, so no database
 * connection waits on argon2.
 */

function cookieSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.server.gatehouse.config.publicUrl.startsWith('https:');
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
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

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieSecure(request),
    path: '/',
  });
}

export async function registerAccount(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  body: { email: string; password: string; name: string },
) {
  const email = body.email.trim();
  const name = body.name.trim();
  const problem = passwordProblem(body.password, { email, name });
  if (problem) throw new ValidationError([{ field: '/body/password', message: problem }]);
  const passwordHash = await hashPassword(body.password);
  const { user, session } = await request.server.gatehouse.commands.run(signUp, request.invocation(), {
    email,
    name,
    passwordHash,
  });
  setSessionCookie(request, reply, session.token);
  setDeviceCookie(request, reply, await throttle.trustDevice(user.id, undefined));
  return user;
}

export async function logIn(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: LoginThrottle,
  body: { email: string; password: string },
) {
  const accountKey = accountKeyFor(body.email);
  const device = await throttle.deviceOwner(request.cookies[DEVICE_COOKIE]);
  const user = await findUserByEmail(request.server.gatehouse.database.db, body.email.trim());
  const trustedDeviceId = device && user && device.userId === user.id ? device.deviceId : undefined;
  await throttle.reserve(accountKey, request.ip, trustedDeviceId);
  // Unknown email and wrong password take the same path and the same time.
  const valid = await verifyPassword(user?.passwordHash ?? null, body.password);
  if (!valid || !user) throw new InvalidCredentialsError();
  await throttle.succeeded(accountKey, trustedDeviceId);

  const newPasswordHash = needsRehash(user.passwordHash) ? await hashPassword(body.password) : undefined;
  const previous = request.session
    ? { id: request.session.session.id, userId: request.session.user.id }
    : undefined;
  const session = await request.server.gatehouse.commands.run(
    signIn,
    { ...request.invocation(), actor: { type: 'user', userId: user.id, email: user.email } },
    { user, newPasswordHash, previousSession: previous },
  );
  setSessionCookie(request, reply, session.token);
  setDeviceCookie(request, reply, await throttle.trustDevice(user.id, device));
  const { passwordHash: _omit, ...publicUser } = user;
  return publicUser;
}

export async function logOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.session) {
    await request.server.gatehouse.commands.run(signOut, request.invocation(), {
      sessionId: request.session.session.id,
    });
  }
  clearSessionCookie(request, reply);
}

export async function changeOwnPassword(
  request: FastifyRequest,
  throttle: LoginThrottle,
  body: { currentPassword: string; newPassword: string },
): Promise<void> {
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  const user = await findUserById(request.server.gatehouse.database.db, request.actor.userId);
  if (!user) throw new UnauthenticatedError();
  const problem = passwordProblem(body.newPassword, { email: user.email, name: user.name });
  if (problem) throw new ValidationError([{ field: '/body/newPassword', message: problem }]);
  if (body.newPassword === body.currentPassword) {
    throw new ValidationError([
      { field: '/body/newPassword', message: 'must differ from the current password' },
    ]);
  }
  // A stolen session must not become an unlimited password oracle: same budget rules as sign-in.
  const accountKey = `password-change:${user.id}`;
  await throttle.reserve(accountKey, request.ip, undefined);
  if (!(await verifyPassword(user.passwordHash, body.currentPassword))) {
    throw new ValidationError(
      [{ field: '/body/currentPassword', message: 'is incorrect' }],
      'The current password is incorrect.',
    );
  }
  await throttle.succeeded(accountKey, undefined);
  const passwordHash = await hashPassword(body.newPassword);
  await request.server.gatehouse.commands.run(changePassword, request.invocation(), {
    passwordHash,
    keepSessionId: request.session?.session.id,
  });
}
