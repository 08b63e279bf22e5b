import type { FastifyRequest } from 'fastify';
import { verifyPassword } from '../../platform/auth/passwords.ts';
import { PASSKEY_AMR } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { InvalidCredentialsError, UnauthenticatedError } from '../../platform/errors/app-error.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
import { countPasskeys } from './accounts.passkeys.ts';
import { findUserById, lockUser } from './accounts.repository.ts';
import { clientKey, type LoginThrottle, userKey } from './accounts.throttle.ts';
import { requireSecondFactor, type SecondFactor, SecondFactorRequiredError } from './accounts.two-factor.ts';

/**
 * Re-authentication ("sudo mode"): adding a sign-in credential asks for a session that proved
 * itself recently, so a stolen cookie alone cannot plant a passkey or an authenticator of its
 * thief's. The session proves itself again with the password, plus a code when 2FA is on.
 */

export { assertRecentlyAuthenticated, REAUTH_WINDOW_MS } from '../../platform/auth/recent.ts';

/** Stamps a fresh proof on the caller's session, the password and any second factor confirmed here. */
export const reauthenticateSession = defineCommand({
  action: 'user.reauthenticated',
  async run(ctx, input: { verifiedHash: string; factor: SecondFactor; secrets: Secrets }) {
    if (ctx.actor.type !== 'user' || !ctx.actor.sessionId) throw new UnauthenticatedError();
    const user = await lockUser(ctx.tx, ctx.actor.userId);
    if (!user || user.disabled || user.deleted) throw new UnauthenticatedError();
    // Changed since it was checked: the password given is no longer the account's.
    if (user.passwordHash !== input.verifiedHash) throw new InvalidCredentialsError();
    // Spent under the user's lock, like a sign-in's: a code proves one re-authentication.
    const secondFactor = await requireSecondFactor(ctx.tx, input.secrets, user.id, input.factor);
    if (!(await ctx.services.sessions.markProven(ctx, ctx.actor.sessionId))) {
      throw new UnauthenticatedError();
    }
    ctx.record({
      target: { type: 'session', id: ctx.actor.sessionId },
      after: { method: 'password', ...(secondFactor ? { secondFactor } : {}), ip: ctx.meta.ip },
    });
  },
});

/**
 * POST /me/reauthenticate. One attempt of the account's password re-entry budget (the same one a
 * password change spends), given back once the session is stamped or when only the code was
 * missing. The password is always hashed, right or wrong, before anything else is judged: the
 * answer's timing says nothing about the code.
 */
export async function reauthenticate(
  request: FastifyRequest,
  throttle: LoginThrottle,
  body: { password: string; code?: string | undefined },
): Promise<void> {
  if (!request.session) throw new UnauthenticatedError();
  const { db } = request.server.gatehouse.database;
  const user = await findUserById(db, request.session.user.id);
  if (!user) throw new UnauthenticatedError();
  const attempt = {
    kind: 'password_change' as const,
    accountKey: userKey(user.id),
    ip: clientKey(request.ip),
  };
  const release = await throttle.reserve(attempt);
  if (!(await verifyPassword(user.passwordHash, body.password, attempt.accountKey))) {
    throw new InvalidCredentialsError();
  }
  const code = body.code?.trim();
  // Six digits are a TOTP code; anything else is tried as a recovery code.
  const factor: SecondFactor =
    code === undefined || code === ''
      ? {}
      : /^[0-9]{6}$/.test(code)
        ? { totp: code }
        : { recoveryCode: code };
  try {
    await request.server.gatehouse.commands.run(reauthenticateSession, request.invocation(), {
      verifiedHash: user.passwordHash,
      factor,
      secrets: request.server.gatehouse.secrets,
    });
  } catch (err) {
    // Asking for the code is no failure: the client asks the person and sends both again.
    if (err instanceof SecondFactorRequiredError) await release();
    throw err;
  }
  await throttle.succeeded(attempt);
}

/**
 * Whether the caller's own proof meets an organization's require-2FA, by the rule the door
 * applies (see sessionSatisfiesTwoFactor): TOTP on the account; else a session signed in with a
 * passkey; else, for a personal token, a passkey on the account. The caller holds the user's lock.
 */
export async function actorMeetsTwoFactor(
  ctx: Pick<CommandContext, 'tx' | 'actor' | 'services' | 'invalidate'>,
  user: { id: string; twoFactorEnabled: boolean },
): Promise<boolean> {
  if (user.twoFactorEnabled) return true;
  if (ctx.actor.type !== 'user') return false;
  if (ctx.actor.sessionId) {
    const proof = await ctx.services.sessions.proofOf(ctx, ctx.actor.sessionId);
    return proof?.amr.includes(PASSKEY_AMR) ?? false;
  }
  return (await countPasskeys(ctx.tx, user.id)) > 0;
}
