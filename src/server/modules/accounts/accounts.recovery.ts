import { NO_PASSWORD } from '../../platform/auth/passwords.ts';
import { type SessionUser, USERS_CACHE } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import type { Executor } from '../../platform/db/client.ts';
import {
  AppError,
  ConflictError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { mailLanguage, queueEmail } from '../../platform/mail/queue.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
// The SSO module's repository, not its index: the index's routes import this module's index.
import { deleteUserIdentities } from '../sso/sso.repository.ts';
import {
  emailChangeLetter,
  emailChangeNoticeLetter,
  resetLetter,
  verificationLetter,
} from './accounts.mail.ts';
import { deleteAllPasskeys } from './accounts.passkeys.ts';
import {
  changeUserEmail,
  consumeAccountToken,
  endAccountTokens,
  issueAccountToken,
  markEmailVerified,
} from './accounts.recovery.repository.ts';
import {
  findUserById,
  isEmailVerified,
  lockUser,
  lockUserByEmail,
  updatePasswordHash,
} from './accounts.repository.ts';
import { forgetDevices } from './accounts.throttle.ts';
import { requireSecondFactor } from './accounts.two-factor.ts';

/**
 * The mailed-link flows of an account: proving the address, resetting a forgotten password,
 * moving to a new address. Each link carries a random token in its fragment (never sent to a
 * server, so never in logs or Referer headers); the database keeps only its hash, and a link
 * works once, until it expires or a newer one of its kind is mailed.
 */

const HOUR_MS = 3_600_000;
export const VERIFICATION_TTL_MS = 48 * HOUR_MS;
export const RESET_TTL_MS = HOUR_MS;
export const EMAIL_CHANGE_TTL_MS = 24 * HOUR_MS;

/**
 * 403 email_unverified: a sign-in credential (an authenticator app, a passkey) is added only to an
 * account whose address was proven. Otherwise anyone could sign up with someone else's address
 * before they do, add a credential, and keep it after the address's owner takes the account over
 * with a reset link, or lock them out of the reset with a second factor only the squatter holds.
 */
export class EmailUnverifiedError extends AppError {
  constructor() {
    super(
      403,
      'email_unverified',
      'Email address not verified',
      'Verify your email address (follow the link we mailed you) before adding two-factor authentication or a passkey.',
    );
  }
}

/** Refuses (403 email_unverified) unless the account's address is proven, read from the database now. */
export async function assertEmailVerified(db: Executor, userId: string): Promise<void> {
  if (!(await isEmailVerified(db, userId))) throw new EmailUnverifiedError();
}

/** Used, expired, replaced and unknown links all answer alike: a token's past is no one's business. */
export class TokenExpiredError extends AppError {
  constructor(detail = 'This link has expired or was already used. Ask for a new one.') {
    super(410, 'token_expired', 'Link expired', detail);
  }
}

export class EmailTakenError extends ConflictError {
  constructor() {
    super('Another account uses this email address.', 'email_taken');
  }
}

export const verifyEmailLink = (publicUrl: string, token: string) =>
  `${publicUrl}/verify-email#token=${token}`;
export const resetPasswordLink = (publicUrl: string, token: string) =>
  `${publicUrl}/reset-password#token=${token}`;
export const confirmEmailLink = (publicUrl: string, token: string) =>
  `${publicUrl}/confirm-email#token=${token}`;

/** A user as the audit trail names them, in the entry itself. */
const userTarget = (u: { id: string; email: string; name: string }) => ({
  type: 'user',
  id: u.id,
  email: u.email,
  name: u.name,
});

const userActor = (u: { id: string; email: string }) => ({
  type: 'user' as const,
  userId: u.id,
  email: u.email,
});

function requireUser(ctx: CommandContext): string {
  if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
  return ctx.actor.userId;
}

/**
 * Queues a new verification link to the user's address in the change's transaction; earlier
 * links die. Called by sign-up and by the resend command.
 */
export async function mailVerificationLink(
  ctx: Pick<CommandContext, 'tx' | 'enqueue' | 'services'>,
  user: { id: string; email: string; name: string },
  publicUrl: string,
): Promise<void> {
  const { token, expiresAt } = await issueAccountToken(
    ctx.tx,
    user.id,
    'email_verification',
    VERIFICATION_TTL_MS,
  );
  const link = verifyEmailLink(publicUrl, token);
  await queueEmail(ctx, user.email, (language) =>
    verificationLetter(language, { name: user.name, link, expiresAt }),
  );
}

export const resendEmailVerification = defineCommand({
  action: 'user.email_verification_sent',
  async run(ctx, input: { publicUrl: string }) {
    const user = await lockUser(ctx.tx, requireUser(ctx));
    if (!user) throw new UnauthenticatedError();
    if (user.emailVerified) {
      throw new ConflictError('Your email address is already verified.');
    }
    await mailVerificationLink(ctx, user, input.publicUrl);
    ctx.record({ target: userTarget(user), after: { email: user.email } });
  },
});

export const verifyEmail = defineCommand({
  action: 'user.email_verified',
  async run(ctx, input: { token: string }): Promise<SessionUser> {
    const used = await consumeAccountToken(ctx.tx, input.token, 'email_verification');
    if (!used) throw new TokenExpiredError();
    const newlyVerified = await markEmailVerified(ctx.tx, used.userId);
    const user = await findUserById(ctx.tx, used.userId);
    if (!user) throw new TokenExpiredError();
    const { passwordHash: _hash, disabled: _disabled, ...publicUser } = user;
    // Proven earlier (an invitation accepted meanwhile): the link is spent, nothing else changes.
    if (!newlyVerified) {
      ctx.unchanged();
      return publicUser;
    }
    await ctx.invalidate(USERS_CACHE, user.id);
    ctx.record({ target: userTarget(user), after: { email: user.email }, actor: userActor(user) });
    return publicUser;
  },
});

export const requestPasswordReset = defineCommand({
  action: 'user.password_reset_requested',
  async run(ctx, input: { email: string; publicUrl: string }): Promise<void> {
    // The same transaction whether or not the account exists (the answer is the same 202):
    // only an existing, usable account gets a link.
    const user = await lockUserByEmail(ctx.tx, input.email);
    if (!user || user.disabled) {
      ctx.unchanged();
      return;
    }
    const { token, expiresAt } = await issueAccountToken(ctx.tx, user.id, 'password_reset', RESET_TTL_MS);
    const link = resetPasswordLink(input.publicUrl, token);
    await queueEmail(ctx, user.email, (language) => resetLetter(language, { link, expiresAt }));
    ctx.record({ target: userTarget(user), after: { ip: ctx.meta.ip } });
  },
});

export const resetPassword = defineCommand({
  action: 'user.password_reset',
  async run(
    ctx,
    input: {
      token: string;
      userId: string;
      passwordHash: string;
      totp?: string | undefined;
      recoveryCode?: string | undefined;
      secrets: Secrets;
    },
  ): Promise<void> {
    const used = await consumeAccountToken(ctx.tx, input.token, 'password_reset');
    // The new password was judged and hashed for the account the link named before this began.
    if (!used || used.userId !== input.userId) throw new TokenExpiredError();
    const user = await lockUser(ctx.tx, used.userId);
    if (!user || user.disabled) throw new TokenExpiredError();
    // A link proves the mailbox, not the person: with 2FA on, a code is needed too, spent in this
    // transaction with the link (refused, neither is spent and the link can be tried again).
    const secondFactor = await requireSecondFactor(ctx.tx, input.secrets, user.id, {
      totp: input.totp,
      recoveryCode: input.recoveryCode,
    });
    await updatePasswordHash(ctx.tx, user.id, input.passwordHash, true);
    // Whoever held a session (or a trusted browser) may be the reason for the reset: all end.
    const ended = await ctx.services.sessions.revoke(ctx, user.id);
    await forgetDevices(ctx.tx, user.id);
    await endAccountTokens(ctx.tx, user.id, 'password_reset');
    // The link reached the mailbox: the address is proven too. When this is its first proof, the
    // account may have been made by someone else with an address that is not theirs, waiting for
    // its owner to take it over (account pre-hijacking): a passkey added before then was never
    // proven to be the owner's and would keep signing its maker in, so it goes.
    // An account made by an org's IdP is in the same case at its first password: the IdP's word
    // for the address was no proof of the mailbox, so the identities it linked go too (the next
    // SSO sign-in links again only from a session of this account, as for any existing account).
    const madeBySso = user.passwordHash === NO_PASSWORD;
    let passkeysRemoved = 0;
    let ssoIdentitiesUnlinked = 0;
    if ((await markEmailVerified(ctx.tx, user.id)) || madeBySso) {
      passkeysRemoved = await deleteAllPasskeys(ctx.tx, user.id);
      if (madeBySso) ssoIdentitiesUnlinked = await deleteUserIdentities(ctx.tx, user.id);
      await ctx.invalidate(USERS_CACHE, user.id);
    }
    ctx.record({
      target: userTarget(user),
      after: {
        sessionsEnded: ended,
        ...(secondFactor ? { secondFactor } : {}),
        ...(passkeysRemoved > 0 ? { passkeysRemoved } : {}),
        ...(ssoIdentitiesUnlinked > 0 ? { ssoIdentitiesUnlinked } : {}),
      },
      actor: userActor(user),
    });
  },
});

export const requestEmailChange = defineCommand({
  action: 'user.email_change_requested',
  async run(ctx, input: { newEmail: string; verifiedHash: string; publicUrl: string }): Promise<void> {
    const user = await lockUser(ctx.tx, requireUser(ctx));
    if (!user) throw new UnauthenticatedError();
    // Changed by a concurrent request since the password was checked: check again.
    if (user.passwordHash !== input.verifiedHash) {
      throw new ValidationError([{ field: '/body/password', message: 'is incorrect' }]);
    }
    if (input.newEmail === user.email) {
      throw new ValidationError([{ field: '/body/newEmail', message: 'is your current address' }]);
    }
    const holder = await lockUserByEmail(ctx.tx, input.newEmail);
    if (holder) throw new EmailTakenError();
    const { token, expiresAt } = await issueAccountToken(
      ctx.tx,
      user.id,
      'email_change',
      EMAIL_CHANGE_TTL_MS,
      input.newEmail,
    );
    const link = confirmEmailLink(input.publicUrl, token);
    // The new address has no account yet: its mail is in the language of the person asking.
    const language = mailLanguage(user.locale);
    await queueEmail(
      ctx,
      input.newEmail,
      (lang) => emailChangeLetter(lang, { name: user.name, link, expiresAt }),
      { language },
    );
    await queueEmail(ctx, user.email, (lang) => emailChangeNoticeLetter(lang, { newEmail: input.newEmail }), {
      language,
    });
    ctx.record({ target: userTarget(user), after: { newEmail: input.newEmail } });
  },
});

export const confirmEmailChange = defineCommand({
  action: 'user.email_changed',
  constraints: { users_email_key: () => new EmailTakenError() },
  async run(ctx, input: { token: string }): Promise<SessionUser> {
    const userId = requireUser(ctx);
    const used = await consumeAccountToken(ctx.tx, input.token, 'email_change');
    // Another account's link answers like a dead one: whose it is stays unsaid.
    if (!used || used.userId !== userId || !used.newEmail) throw new TokenExpiredError();
    const before = await lockUser(ctx.tx, userId);
    if (!before) throw new UnauthenticatedError();
    if (!(await changeUserEmail(ctx.tx, userId, used.newEmail))) throw new EmailTakenError();
    // Links mailed to the old address (verification, reset) must not act on the new one.
    await endAccountTokens(ctx.tx, userId);
    await ctx.invalidate(USERS_CACHE, userId);
    const after = await findUserById(ctx.tx, userId);
    const { passwordHash: _hash, disabled: _disabled, ...publicUser } = after!;
    ctx.record({
      target: userTarget(after!),
      before: { email: before.email },
      after: { email: after!.email },
    });
    return publicUser;
  },
});
