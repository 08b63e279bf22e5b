import { PASSKEY_AMR, type SessionUser, USERS_CACHE } from '../../platform/auth/sessions.ts';
import { defineCommand } from '../../platform/command.ts';
import {
  ConflictError,
  InvalidCredentialsError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
import { mailSecurityNotice } from './accounts.notices.ts';
import { recordPasskeyUse } from './accounts.passkeys.ts';
import { mailVerificationLink } from './accounts.recovery.ts';
import {
  findUserSession,
  insertUser,
  lockUser,
  updatePasswordHash,
  updateUserProfile,
} from './accounts.repository.ts';
import { forgetDevices, trustDevice } from './accounts.throttle.ts';
import { requireSecondFactor, type SecondFactor, type SecondFactorMethod } from './accounts.two-factor.ts';

type Device = { deviceId: string; userId: string } | undefined;

/** What the audit trail keeps of a user: never the password hash. */
const userSnapshot = (u: SessionUser) => ({
  email: u.email,
  name: u.name,
  locale: u.locale,
  timezone: u.timezone,
});

/** A user as the audit trail names them, in the entry itself. */
const userTarget = (u: { id: string; email: string; name: string }) => ({
  type: 'user',
  id: u.id,
  email: u.email,
  name: u.name,
});

/** The signed-in user acting on their own account, or 401. */
export function requireUser(actor: { type: string; userId?: string }): string {
  if (actor.type !== 'user' || !actor.userId) throw new UnauthenticatedError();
  return actor.userId;
}

export const signUp = defineCommand({
  action: 'user.created',
  async run(ctx, input: { email: string; name: string; passwordHash: string; publicUrl: string }) {
    const { publicUrl, ...values } = input;
    const user = await insertUser(ctx.tx, values);
    // The unique index on the (normalised) email decides, so two racing sign-ups cannot both win.
    if (!user) throw new ConflictError('An account with this email already exists.', 'email_taken');
    const session = await ctx.services.sessions.create(ctx, user.id, ctx.meta, { amr: ['pwd'] });
    const deviceToken = await trustDevice(ctx.tx, user.id, undefined);
    await mailVerificationLink(ctx, user, publicUrl);
    ctx.record({
      target: userTarget(user),
      after: userSnapshot(user),
      actor: { type: 'user', userId: user.id, email: user.email },
    });
    return { user, session, deviceToken };
  },
});

/**
 * What a sign-in was proven with, checked before the transaction (argon2 and signature checks
 * take a while) and confirmed in it:
 * - `password`: the hash the password was verified against, and a stronger one to store if due;
 * - `passkey`: a verified assertion with user verification (two factors on its own: no second
 *   factor is asked), its new signature counter and backup state.
 */
export type SignInProof =
  | { method: 'password'; verifiedHash: string; newPasswordHash: string | undefined }
  | { method: 'passkey'; passkeyId: string; counter: number; backedUp: boolean };

/** RFC 8176 names of how a sign-in was proven, as the session keeps them. */
function signInMethods(proof: SignInProof, secondFactor: SecondFactorMethod | null): string[] {
  if (proof.method === 'passkey') return [PASSKEY_AMR, 'user'];
  if (secondFactor === 'totp') return ['pwd', 'otp'];
  if (secondFactor === 'recovery_code') return ['pwd', 'rc'];
  return ['pwd'];
}

export const signIn = defineCommand({
  action: 'user.signed_in',
  async run(
    ctx,
    input: {
      userId: string;
      proof: SignInProof;
      previousSession: { id: string; userId: string } | undefined;
      device: Device;
      /**
       * With a password: a TOTP code or recovery code, spent here when the account has 2FA on. A
       * passkey (user verification required) is two factors on its own and needs none.
       */
      secondFactor?: SecondFactor;
      secrets: Secrets;
    },
  ) {
    const { proof } = input;
    const user = await lockUser(ctx.tx, input.userId);
    // Disabled or deleted meanwhile (the disabling holds this row too): refused like any other
    // sign-in to it.
    if (!user || user.disabled || user.deleted) throw new InvalidCredentialsError();
    // If the password changed since it was checked, this sign-in used the old one and must fail:
    // otherwise a session made with the old password could be created just after the change
    // ended all others.
    if (proof.method === 'password' && user.passwordHash !== proof.verifiedHash) {
      throw new InvalidCredentialsError();
    }
    // The passkey's counter moves forward here, with the session: a cloned authenticator or a
    // racing copy of the same assertion is refused, and a refused sign-in leaves it unchanged.
    if (
      proof.method === 'passkey' &&
      !(await recordPasskeyUse(ctx.tx, {
        passkeyId: proof.passkeyId,
        userId: user.id,
        counter: proof.counter,
        backedUp: proof.backedUp,
      }))
    ) {
      throw new InvalidCredentialsError();
    }
    // Spent in this transaction, under the user's row lock: of sign-ins racing with one code,
    // exactly one makes a session; the others roll back with nothing spent.
    const secondFactor =
      proof.method === 'password'
        ? await requireSecondFactor(ctx.tx, input.secrets, user.id, input.secondFactor ?? {})
        : null;
    // A session presented at sign-in is replaced, never reused (no session fixation).
    if (input.previousSession) {
      await ctx.services.sessions.revoke(ctx, input.previousSession.userId, {
        onlyId: input.previousSession.id,
      });
    }
    if (proof.method === 'password' && proof.newPasswordHash) {
      await updatePasswordHash(ctx.tx, user.id, proof.newPasswordHash, false);
    }
    const session = await ctx.services.sessions.create(ctx, user.id, ctx.meta, {
      amr: signInMethods(proof, secondFactor),
    });
    const deviceToken = await trustDevice(ctx.tx, user.id, input.device);
    // One entry, in the user's own log: a sign-in costs one audit write however many orgs the
    // user belongs to (orgs see their members' activity as lastActiveAt).
    ctx.record({
      target: { type: 'session', id: session.id },
      after: {
        userId: user.id,
        method: proof.method,
        ...(proof.method === 'passkey' ? { passkeyId: proof.passkeyId } : {}),
        ip: ctx.meta.ip,
        userAgent: ctx.meta.userAgent,
        ...(secondFactor ? { secondFactor } : {}),
        ...(session.displaced.length > 0 ? { sessionsEnded: session.displaced } : {}),
      },
      actor: { type: 'user', userId: user.id, email: user.email },
    });
    const { passwordHash: _hash, disabled: _disabled, deleted: _deleted, ...publicUser } = user;
    return { user: publicUser, session, deviceToken };
  },
});

export const signOut = defineCommand({
  action: 'session.ended',
  async run(ctx, input: { sessionId: string }) {
    const userId = requireUser(ctx.actor);
    await ctx.services.sessions.revoke(ctx, userId, { onlyId: input.sessionId });
    ctx.record({ target: { type: 'session', id: input.sessionId } });
  },
});

export const revokeSession = defineCommand({
  action: 'session.revoked',
  async run(ctx, input: { sessionId: string }) {
    const userId = requireUser(ctx.actor);
    // Only the caller's own sessions are visible: another user's id answers as unknown.
    if (!(await findUserSession(ctx.tx, userId, input.sessionId))) throw new NotFoundError('session');
    await ctx.services.sessions.revoke(ctx, userId, { onlyId: input.sessionId });
    ctx.record({ target: { type: 'session', id: input.sessionId } });
  },
});

export const updateProfile = defineCommand({
  action: 'user.updated',
  async run(ctx, input: { name?: string; locale?: string | null; timezone?: string | null }) {
    const userId = requireUser(ctx.actor);
    const before = await lockUser(ctx.tx, userId);
    if (!before) throw new UnauthenticatedError();
    const { passwordHash: _, ...current } = before;
    if (Object.entries(input).every(([key, value]) => current[key as keyof typeof input] === value)) {
      ctx.unchanged();
      return current;
    }
    const after = await updateUserProfile(ctx.tx, userId, input);
    await ctx.invalidate(USERS_CACHE, userId);
    ctx.record({
      target: userTarget(after!),
      before: userSnapshot(before),
      after: userSnapshot(after!),
    });
    return after!;
  },
});

export const changePassword = defineCommand({
  action: 'user.password_changed',
  async run(ctx, input: { verifiedHash: string; passwordHash: string }) {
    const userId = requireUser(ctx.actor);
    const user = await lockUser(ctx.tx, userId);
    if (!user) throw new UnauthenticatedError();
    // Changed by a concurrent request since the current password was checked: check again.
    if (user.passwordHash !== input.verifiedHash) {
      throw new ValidationError([{ field: '/body/currentPassword', message: 'is incorrect' }]);
    }
    await updatePasswordHash(ctx.tx, userId, input.passwordHash, true);
    // The new session continues this one: it keeps how and when this one was proven (the
    // password re-entered here is no second factor, so it does not make the session recent).
    const previous =
      ctx.actor.type === 'user' && ctx.actor.sessionId
        ? await ctx.services.sessions.proofOf(ctx, ctx.actor.sessionId)
        : undefined;
    // Every session ends, this one included: the caller continues on a fresh token, so a copy of
    // the old cookie is worth nothing. Browsers trusted for sign-in are forgotten too.
    const ended = await ctx.services.sessions.revoke(ctx, userId);
    const session = await ctx.services.sessions.create(ctx, userId, ctx.meta, previous ?? { amr: ['pwd'] });
    await forgetDevices(ctx.tx, userId);
    const deviceToken = await trustDevice(ctx.tx, userId, undefined);
    await mailSecurityNotice(ctx, user, 'password_changed');
    ctx.record({ target: userTarget(user), after: { sessionsEnded: ended } });
    return { session, deviceToken };
  },
});
