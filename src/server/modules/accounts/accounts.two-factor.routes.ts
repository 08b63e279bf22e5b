import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PASSWORD_MAX_LENGTH } from '../../platform/auth/passwords.ts';
import { ConflictError, UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { Body, problemResponses } from '../../platform/http/schemas.ts';
import { confirmOwnPassword, withOwnPassword } from './accounts.auth.ts';
import { assertRecentlyAuthenticated } from './accounts.reauth.ts';
import { assertEmailVerified } from './accounts.recovery.ts';
import { findUserById } from './accounts.repository.ts';
import type { LoginThrottle } from './accounts.throttle.ts';
import {
  confirmTwoFactor,
  disableTwoFactor,
  RECOVERY_CODE_COUNT,
  regenerateRecoveryCodes,
  startTotpEnrolment,
  type TwoFactorPolicy,
} from './accounts.two-factor.ts';

const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 });
const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The current 6-digit code' });
const RecoveryCodes = Type.Object({
  recoveryCodes: Type.Array(Type.String(), {
    minItems: RECOVERY_CODE_COUNT,
    maxItems: RECOVERY_CODE_COUNT,
    description: 'Shown this once: each signs in once in place of a code. Store them somewhere safe.',
  }),
});

const startSchema = {
  tags: ['account'],
  summary: 'Start setting up TOTP two-factor authentication',
  description:
    'Hands out a new secret (base32) and its otpauth:// URL for an authenticator app. Nothing changes until a code from it is confirmed; starting again replaces the secret. 409 when 2FA is already on; 403 `reauthentication_required` unless the session signed in or re-authenticated (POST /me/reauthenticate) within 15 minutes.',
  response: {
    200: Type.Object({ secret: Type.String(), otpauthUrl: Type.String() }),
    ...problemResponses(401, 403, 409),
  },
};

const confirmSchema = {
  tags: ['account'],
  summary: 'Confirm the set-up with a code: 2FA is on, and ten recovery codes are shown once',
  body: Body({ code: TotpCode }),
  response: { 200: RecoveryCodes, ...problemResponses(400, 401, 403, 409) },
};

const disableSchema = {
  tags: ['account'],
  summary: 'Turn two-factor authentication off',
  description:
    '`code` is a current code or a recovery code. 409 `two_factor_required` while an organization you belong to requires 2FA.',
  body: Body({ password: Password, code: Type.String({ minLength: 1, maxLength: 64 }) }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 409, 429) },
};

const regenerateSchema = {
  tags: ['account'],
  summary: 'Replace your recovery codes; the old ones stop working',
  body: Body({ password: Password }),
  response: { 200: RecoveryCodes, ...problemResponses(400, 401, 403, 409, 429) },
};

/** The signed-in user's row (with the password hash, for re-entry). */
async function signedInUser(request: FastifyRequest) {
  const actor = request.actor;
  const user =
    actor.type === 'user'
      ? await findUserById(request.server.gatehouse.database.db, actor.userId)
      : undefined;
  if (!user) throw new UnauthenticatedError();
  return user;
}

/** A secret or recovery codes are in the answer: no cache along the way may keep it. */
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

/** TOTP set-up, confirmation, turning off, and recovery codes: the signed-in user's own, by session only. */
export function twoFactorRoutes(
  app: FastifyInstance,
  throttle: LoginThrottle,
  requiredBy: TwoFactorPolicy,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { secrets } = app.gatehouse;
  const own = { authenticated: true, sessionOnly: true } as const;

  r.post(
    '/api/v1/me/2fa/totp',
    { config: { ...own, command: [] }, schema: startSchema },
    async (request, reply) => {
      const user = await signedInUser(request);
      await assertEmailVerified(app.gatehouse.database.db, user.id);
      await assertRecentlyAuthenticated(request);
      const enrolment = await startTotpEnrolment(app.gatehouse.database.db, secrets, user);
      if (!enrolment) throw new ConflictError('Two-factor authentication is already on.');
      noStore(reply);
      return enrolment;
    },
  );

  r.post(
    '/api/v1/me/2fa/totp/confirm',
    { config: { ...own, command: confirmTwoFactor }, schema: confirmSchema },
    async (request, reply) => {
      const result = await app.gatehouse.commands.run(confirmTwoFactor, request.invocation(), {
        code: request.body.code,
        secrets,
      });
      noStore(reply);
      return result;
    },
  );

  r.delete(
    '/api/v1/me/2fa/totp',
    { config: { ...own, command: disableTwoFactor }, schema: disableSchema },
    async (request, reply) => {
      const user = await signedInUser(request);
      // A wrong code after the right password spends the re-entry budget like a wrong password.
      await withOwnPassword(request, throttle, user, request.body.password, () =>
        app.gatehouse.commands.run(disableTwoFactor, request.invocation(), {
          code: request.body.code.trim(),
          secrets,
          requiredBy,
        }),
      );
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/me/2fa/recovery-codes',
    { config: { ...own, command: regenerateRecoveryCodes }, schema: regenerateSchema },
    async (request, reply) => {
      const user = await signedInUser(request);
      await confirmOwnPassword(request, throttle, user, request.body.password);
      const result = await app.gatehouse.commands.run(regenerateRecoveryCodes, request.invocation(), {});
      noStore(reply);
      return result;
    },
  );
}
