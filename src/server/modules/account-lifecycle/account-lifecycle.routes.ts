import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { PASSWORD_MAX_LENGTH } from '../../platform/auth/passwords.ts';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { Body, problemResponses } from '../../platform/http/schemas.ts';
import { clearSessionCookie, findUserById } from '../accounts/index.ts';
import { deleteAccount, exportPersonalData } from './account-lifecycle.ts';

export const exportMeSchema = {
  tags: ['account'],
  summary: 'Download your personal data (JSON)',
  description:
    'Profile, memberships, sessions, personal-token and passkey metadata (never a hash or key) and your account’s own audit log, as a JSON attachment.',
  response: { 200: Type.String({ description: 'The JSON file' }), ...problemResponses(401, 403) },
};

export const deleteMeSchema = {
  tags: ['account'],
  summary: 'Delete your account',
  description:
    'Leaves every organization, ends every session, revokes personal tokens, removes passkeys and two-factor authentication, and frees the email address. 409 last_owner while you are the only Owner of an organization. The audit logs keep what happened.',
  body: Body({ password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 }) }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 409, 429) },
};

export function accountLifecycleRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/v1/me/export',
    { config: { authenticated: true, sessionOnly: true }, schema: exportMeSchema },
    async (request, reply) => {
      const data = await exportPersonalData(request);
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="gatehouse-personal-data-${stamp}.json"`)
        .header('cache-control', 'no-store')
        .send(JSON.stringify(data, null, 2));
    },
  );

  r.delete(
    '/api/v1/me',
    { config: { authenticated: true, sessionOnly: true, command: deleteAccount }, schema: deleteMeSchema },
    async (request, reply) => {
      if (request.actor.type !== 'user') throw new UnauthenticatedError();
      // Read before the password is confirmed: the command refuses if it changed in between.
      const user = await findUserById(request.server.gatehouse.database.db, request.actor.userId);
      if (!user) throw new UnauthenticatedError();
      await request.server.gatehouse.confirmPassword(request, request.body.password);
      await request.server.gatehouse.commands.run(deleteAccount, request.invocation(), {
        verifiedHash: user.passwordHash,
      });
      clearSessionCookie(request, reply);
      return reply.status(204).send(null);
    },
  );
}
