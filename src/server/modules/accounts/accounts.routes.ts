import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { canonicalLocale, isTimeZone } from '../../../contracts/locales.ts';
import { PASSWORD_MAX_LENGTH } from '../../platform/auth/passwords.ts';
import { ValidationError } from '../../platform/errors/app-error.ts';
import { PageQuery } from '../../platform/http/paging.ts';
import { Body, DateTime, Email, problemResponses, SingleLine, Uuid } from '../../platform/http/schemas.ts';
import { changeOwnPassword, logIn, logOut, registerAccount } from './accounts.auth.ts';
import {
  changePassword,
  revokeSession,
  signIn,
  signOut,
  signUp,
  updateProfile,
} from './accounts.commands.ts';
import { getMe, listMySessions } from './accounts.queries.ts';
import { reauthenticate, reauthenticateSession } from './accounts.reauth.ts';
import type { LoginThrottle } from './accounts.throttle.ts';

export const User = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    locale: Type.Union([Type.String(), Type.Null()], {
      description: 'Preferred UI language; null follows the organization',
    }),
    timezone: Type.Union([Type.String(), Type.Null()], {
      description: 'IANA time zone; null follows the organization',
    }),
    createdAt: DateTime,
    updatedAt: DateTime,
    emailVerified: Type.Boolean({
      description: 'The address was proven: a mailed link was followed, or an invitation to it accepted',
    }),
    twoFactorEnabled: Type.Boolean({ description: 'TOTP two-factor authentication is on' }),
    passkeyCount: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Passkeys the user has registered (in GET /me)' }),
    ),
  },
  { $id: 'User' },
);

const Name = SingleLine(100);
// Length is checked in characters by the password policy; this bound only caps the work.
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 });

const UserEnvelope = Type.Object({ user: Type.Ref('User') });

export const signupSchema = {
  tags: ['auth'],
  summary: 'Create an account and sign in',
  body: Body({ email: Email, password: Password, name: Name }),
  response: { 201: UserEnvelope, ...problemResponses(400, 403, 409, 415, 429) },
};

export const loginSchema = {
  tags: ['auth'],
  summary: 'Sign in with email and password',
  description:
    'Failed attempts are limited per account and per address (429 with Retry-After). A browser that signed in to the account before is counted separately, so guessing cannot lock its owner out. Successful sign-ins are limited per account too (LOGIN_MAX_PER_ACCOUNT), and a new session beyond SESSION_MAX_PER_USER ends the oldest. With two-factor authentication on, the right password without `totp` or `recoveryCode` answers 401 `second_factor_required`, and a wrong, used or stale code 401 `invalid_second_factor` (counted as a failed attempt); each code is accepted once.',
  body: Body({
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Password,
    totp: Type.Optional(
      Type.String({ pattern: '^[0-9]{6,8}$', description: 'Second factor, when enrolled' }),
    ),
    recoveryCode: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'A recovery code in place of `totp` (each works once)',
      }),
    ),
  }),
  response: { 200: UserEnvelope, ...problemResponses(400, 401, 403, 429) },
};

export const logoutSchema = {
  tags: ['auth'],
  summary: 'End this session',
  response: { 204: Type.Null(), ...problemResponses(403) },
};

export const meSchema = {
  tags: ['account'],
  summary: 'The signed-in user and their organizations',
  response: {
    200: Type.Object({
      user: Type.Ref('User'),
      memberships: Type.Array(
        Type.Object({
          org: Type.Object({
            id: Uuid,
            slug: Type.String(),
            name: Type.String(),
            suspended: Type.Boolean({
              description:
                'Suspended by the operators of the installation: its routes answer 403 org_suspended',
            }),
            localization: Type.Object(
              {
                language: Type.String(),
                timezone: Type.Union([Type.String(), Type.Null()]),
                dateFormat: Type.String(),
              },
              {
                description:
                  "The organization's language, time zone and date format (Settings → Language): the console follows them in the org unless the user chose their own",
              },
            ),
          }),
          role: Type.String({ description: "The role's slug" }),
          permissions: Type.Array(Type.String(), {
            description:
              'What the role grants in this organization, in catalog order (a token making the request may be narrower)',
          }),
        }),
      ),
      session: Type.Optional(
        Type.Object(
          {
            amr: Type.Array(Type.String(), {
              description:
                'How this session was signed in (RFC 8176): `pwd` plus `otp` or `rc`, or `hwk` for a passkey. A passkey sign-in meets an organization’s require-2FA.',
            }),
          },
          { description: 'This session (absent for a personal token)' },
        ),
      ),
    }),
    ...problemResponses(401),
  },
};

export const updateMeSchema = {
  tags: ['account'],
  summary: 'Change your name, language or time zone',
  body: Type.Object(
    {
      name: Type.Optional(Name),
      locale: Type.Optional(Type.Union([Type.String({ minLength: 2, maxLength: 35 }), Type.Null()])),
      timezone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  response: { 200: UserEnvelope, ...problemResponses(400, 401, 403) },
};

export const changePasswordSchema = {
  tags: ['account'],
  summary: 'Change your password; every session ends and this one continues on a new cookie',
  body: Body({ currentPassword: Password, newPassword: Password }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 429) },
};

const SessionItem = Type.Object({
  id: Uuid,
  createdAt: DateTime,
  lastSeenAt: DateTime,
  expiresAt: DateTime,
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

export const reauthenticateSchema = {
  tags: ['account'],
  summary: 'Confirm it is you again: this session may add credentials for the next 15 minutes',
  description:
    'Adding a passkey or starting two-factor set-up answers 403 `reauthentication_required` unless the session signed in or re-authenticated within 15 minutes. `code` is a current TOTP code or a recovery code, needed when 2FA is on (401 `second_factor_required` without it, `invalid_second_factor` when wrong); a wrong password is 401 `invalid_credentials`. Attempts share the account’s password re-entry budget (429). Only this session is stamped.',
  body: Body({
    password: Password,
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 429) },
};

export const listSessionsSchema = {
  tags: ['account'],
  summary: 'Your active sessions',
  querystring: Type.Object(PageQuery, { additionalProperties: false }),
  response: {
    200: Type.Object({
      items: Type.Array(SessionItem),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
    }),
    ...problemResponses(400, 401),
  },
};

export const revokeSessionSchema = {
  tags: ['account'],
  summary: 'End one of your sessions',
  params: Type.Object({ id: Uuid }),
  response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
};

function checkedProfile(body: { name?: string; locale?: string | null; timezone?: string | null }) {
  const out: { name?: string; locale?: string | null; timezone?: string | null } = {};
  if (body.name !== undefined) out.name = body.name.trim();
  if (body.locale !== undefined) {
    const locale = body.locale === null ? null : canonicalLocale(body.locale);
    if (locale === undefined) {
      throw new ValidationError([
        { field: '/body/locale', message: 'must be a supported language (en, es)' },
      ]);
    }
    out.locale = locale;
  }
  if (body.timezone !== undefined) {
    if (body.timezone !== null && !isTimeZone(body.timezone)) {
      throw new ValidationError([
        { field: '/body/timezone', message: 'must be an IANA time zone such as Europe/Madrid' },
      ]);
    }
    out.timezone = body.timezone;
  }
  return out;
}

export function accountsRoutes(app: FastifyInstance, throttle: LoginThrottle): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/api/v1/auth/signup',
    { config: { public: true, command: signUp }, schema: signupSchema },
    async (request, reply) => {
      const user = await registerAccount(request, reply, throttle, request.body);
      return reply.status(201).send({ user });
    },
  );

  r.post(
    '/api/v1/auth/login',
    { config: { public: true, command: signIn }, schema: loginSchema },
    async (request, reply) => {
      return { user: await logIn(request, reply, throttle, request.body) };
    },
  );

  r.post(
    '/api/v1/auth/logout',
    { config: { public: true, command: signOut }, schema: logoutSchema },
    async (request, reply) => {
      await logOut(request, reply);
      return reply.status(204).send(null);
    },
  );

  r.get('/api/v1/me', { config: { authenticated: true }, schema: meSchema }, async (request) =>
    getMe(request),
  );

  r.patch(
    '/api/v1/me',
    { config: { authenticated: true, sessionOnly: true, command: updateProfile }, schema: updateMeSchema },
    async (request) => {
      const user = await app.gatehouse.commands.run(
        updateProfile,
        request.invocation(),
        checkedProfile(request.body),
      );
      return { user };
    },
  );

  r.post(
    '/api/v1/me/reauthenticate',
    {
      config: { authenticated: true, sessionOnly: true, command: reauthenticateSession },
      schema: reauthenticateSchema,
    },
    async (request, reply) => {
      await reauthenticate(request, throttle, request.body);
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/me/password',
    {
      config: { authenticated: true, sessionOnly: true, command: changePassword },
      schema: changePasswordSchema,
    },
    async (request, reply) => {
      await changeOwnPassword(request, reply, throttle, request.body);
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/me/sessions',
    { config: { authenticated: true, sessionOnly: true }, schema: listSessionsSchema },
    async (request) => listMySessions(request, request.query),
  );

  r.delete(
    '/api/v1/me/sessions/:id',
    {
      config: { authenticated: true, sessionOnly: true, command: revokeSession },
      schema: revokeSessionSchema,
    },
    async (request, reply) => {
      await app.gatehouse.commands.run(revokeSession, request.invocation(), { sessionId: request.params.id });
      return reply.status(204).send(null);
    },
  );
}
