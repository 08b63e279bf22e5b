import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { normalizeEmail } from '../../platform/auth/email.ts';
import { hashPassword, PASSWORD_MAX_LENGTH } from '../../platform/auth/passwords.ts';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { Body, Email, problemResponses } from '../../platform/http/schemas.ts';
import { clearSessionCookie, confirmOwnPassword, refuseWeakPassword } from './accounts.auth.ts';
import { peekAccountToken } from './accounts.recovery.repository.ts';
import {
  confirmEmailChange,
  requestEmailChange,
  requestPasswordReset,
  resendEmailVerification,
  resetPassword,
  TokenExpiredError,
  verifyEmail,
} from './accounts.recovery.ts';
import { findUserByEmail, findUserById } from './accounts.repository.ts';
import { type Attempt, clientKey, emailKey, type LoginThrottle, userKey } from './accounts.throttle.ts';
import { InvalidSecondFactorError } from './accounts.two-factor.ts';

// 256-bit base64url tokens are 43 characters; the bound only keeps junk out of the hash.
const LinkToken = Type.String({ minLength: 20, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 });
const UserEnvelope = Type.Object({ user: Type.Ref('User') });

export const passwordResetSchema = {
  tags: ['auth'],
  summary: 'Mail a password-reset link',
  description:
    'Always 202, whether or not the address has an account (only an account gets an email). The link is valid for one hour and works once; asking again makes earlier links dead. Limited per account and per client address (429).',
  body: Body({ email: Email }),
  response: { 202: Type.Null(), ...problemResponses(400, 429) },
};

export const passwordResetConfirmSchema = {
  tags: ['auth'],
  summary: 'Set a new password with a reset link',
  description:
    'Every session of the account ends and its trusted browsers are forgotten; when the link is the first proof of the address, passkeys added before it are removed. 410 token_expired for a used, expired or unknown link. With two-factor authentication on, a code is needed too (401 second_factor_required).',
  body: Body({
    token: LinkToken,
    newPassword: Password,
    totp: Type.Optional(Type.String({ pattern: '^[0-9]{6,8}$' })),
    recoveryCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 410, 429) },
};

export const verifyEmailSchema = {
  tags: ['auth'],
  summary: 'Prove the account’s email address with the mailed link',
  body: Body({ token: LinkToken }),
  response: { 200: UserEnvelope, ...problemResponses(400, 410) },
};

export const resendVerificationSchema = {
  tags: ['account'],
  summary: 'Mail a new verification link (earlier ones die)',
  response: { 202: Type.Null(), ...problemResponses(401, 403, 409, 429) },
};

export const changeEmailSchema = {
  tags: ['account'],
  summary: 'Move your account to another email address',
  description:
    'Mails a link to the new address (valid 24 hours) and a notice to the current one; the address changes once the link is followed while signed in. 409 email_taken when another account uses it.',
  body: Body({ newEmail: Email, password: Password }),
  response: { 202: Type.Null(), ...problemResponses(400, 401, 403, 409, 429) },
};

export const confirmEmailChangeSchema = {
  tags: ['account'],
  summary: 'Confirm the new email address with the mailed link',
  body: Body({ token: LinkToken }),
  response: { 200: UserEnvelope, ...problemResponses(400, 401, 403, 409, 410) },
};

function signedInUserId(request: FastifyRequest): string {
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  return request.actor.userId;
}

export function recoveryRoutes(app: FastifyInstance, throttle: LoginThrottle): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, config, database } = app.gatehouse;

  r.post(
    '/api/v1/auth/password-reset',
    { config: { public: true, command: requestPasswordReset }, schema: passwordResetSchema },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email);
      // Counted under the account when there is one, else under the address typed: the answer
      // (202, or 429 past the limit) is the same either way.
      const user = await findUserByEmail(database.db, email);
      await throttle.reserve({
        kind: 'password_reset',
        accountKey: user ? userKey(user.id) : emailKey(email),
        ip: clientKey(request.ip),
      });
      await commands.run(requestPasswordReset, request.invocation(), { email, publicUrl: config.publicUrl });
      return reply.status(202).send(null);
    },
  );

  r.post(
    '/api/v1/auth/password-reset/confirm',
    { config: { public: true, command: resetPassword }, schema: passwordResetConfirmSchema },
    async (request, reply) => {
      const { token, newPassword, totp, recoveryCode } = request.body;
      // Judged and hashed before the transaction (argon2 takes a while), for the account the link
      // names; the command then uses the link, and refuses if another request used it meanwhile.
      const live = await peekAccountToken(database.db, token, 'password_reset');
      const user = live && (await findUserById(database.db, live.userId));
      if (!user || user.disabled) throw new TokenExpiredError();
      await refuseWeakPassword('/body/newPassword', newPassword, user);
      // With 2FA on, the code is judged too: each try counts on the account's sign-in failure
      // budget, so a link from a stolen mailbox cannot be used to guess codes.
      const codeAttempt: Attempt | undefined =
        user.twoFactorEnabled && (totp !== undefined || recoveryCode !== undefined)
          ? { kind: 'login', accountKey: userKey(user.id), ip: clientKey(request.ip) }
          : undefined;
      const release = codeAttempt ? await throttle.reserve(codeAttempt) : undefined;
      const passwordHash = await hashPassword(newPassword, userKey(user.id));
      await commands
        .run(resetPassword, request.invocation(), {
          token,
          userId: user.id,
          passwordHash,
          totp,
          recoveryCode,
          secrets: request.server.gatehouse.secrets,
        })
        .catch(async (err: unknown) => {
          // Only a wrong code is a failure; anything else (an expired link) judged nothing.
          if (release && !(err instanceof InvalidSecondFactorError)) await release();
          throw err;
        });
      if (codeAttempt) await throttle.succeeded(codeAttempt);
      // Whatever session this browser held ended with the others.
      if (request.session) clearSessionCookie(request, reply);
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/auth/verify-email',
    { config: { public: true, command: verifyEmail }, schema: verifyEmailSchema },
    async (request) => ({ user: await commands.run(verifyEmail, request.invocation(), request.body) }),
  );

  r.post(
    '/api/v1/me/email-verification',
    {
      config: { authenticated: true, sessionOnly: true, command: resendEmailVerification },
      schema: resendVerificationSchema,
    },
    async (request, reply) => {
      const userId = signedInUserId(request);
      await throttle.reserve({
        kind: 'account_mail',
        accountKey: userKey(userId),
        ip: clientKey(request.ip),
      });
      await commands.run(resendEmailVerification, request.invocation(), { publicUrl: config.publicUrl });
      return reply.status(202).send(null);
    },
  );

  r.post(
    '/api/v1/me/email',
    {
      config: { authenticated: true, sessionOnly: true, command: requestEmailChange },
      schema: changeEmailSchema,
    },
    async (request, reply) => {
      const user = await findUserById(database.db, signedInUserId(request));
      if (!user) throw new UnauthenticatedError();
      await throttle.reserve({
        kind: 'account_mail',
        accountKey: userKey(user.id),
        ip: clientKey(request.ip),
      });
      await confirmOwnPassword(request, throttle, user, request.body.password);
      await commands.run(requestEmailChange, request.invocation(), {
        newEmail: normalizeEmail(request.body.newEmail),
        verifiedHash: user.passwordHash,
        publicUrl: config.publicUrl,
      });
      return reply.status(202).send(null);
    },
  );

  r.post(
    '/api/v1/me/email/confirm',
    {
      config: { authenticated: true, sessionOnly: true, command: confirmEmailChange },
      schema: confirmEmailChangeSchema,
    },
    async (request) => ({ user: await commands.run(confirmEmailChange, request.invocation(), request.body) }),
  );
}
