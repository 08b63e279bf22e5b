import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { DateTime, problemResponses, SingleLine, Uuid } from '../../platform/http/schemas.ts';
import { logInWithPasskey } from './accounts.auth.ts';
import { signIn } from './accounts.commands.ts';
import { addPasskey, removePasskey, renamePasskey } from './accounts.passkeys.commands.ts';
import {
  authenticationOptions,
  challengeOf,
  consumeChallenge,
  listPasskeys,
  PasskeyRejectedError,
  registrationOptions,
  relyingParty,
  verifyRegistration,
} from './accounts.passkeys.ts';
import { assertRecentlyAuthenticated } from './accounts.reauth.ts';
import { assertEmailVerified } from './accounts.recovery.ts';
import { findUserByEmail } from './accounts.repository.ts';
import { clientKey, type LoginThrottle } from './accounts.throttle.ts';

/** WebAuthn binary fields travel as base64url (padding tolerated). */
const B64 = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' });
const CredentialId = B64(1400);
const Extensions = Type.Object({}, { additionalProperties: true });
const Attachment = Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]));

/** What `navigator.credentials.create()` gave, as @simplewebauthn/browser's startRegistration returns it. */
const RegistrationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(8192),
        attestationObject: B64(65536),
        authenticatorData: Type.Optional(B64(16384)),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(B64(4096)),
      },
      { additionalProperties: true },
    ),
    authenticatorAttachment: Attachment,
    clientExtensionResults: Extensions,
  },
  { additionalProperties: true },
);

/** What `navigator.credentials.get()` gave, as @simplewebauthn/browser's startAuthentication returns it. */
const AuthenticationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(8192),
        authenticatorData: B64(16384),
        signature: B64(2048),
        userHandle: Type.Optional(B64(128)),
      },
      { additionalProperties: true },
    ),
    authenticatorAttachment: Attachment,
    clientExtensionResults: Extensions,
  },
  { additionalProperties: true },
);

/** WebAuthn options as the browser's `PublicKeyCredential.parseXOptionsFromJSON` takes them. */
const Options = (description: string) =>
  Type.Object({ challenge: Type.String() }, { additionalProperties: true, description });

const PasskeyName = SingleLine(64);

const Passkey = Type.Object({
  id: Uuid,
  name: Type.String(),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()]),
});

const IdParams = Type.Object({ id: Uuid });

function signedInUser(request: FastifyRequest) {
  if (!request.session) throw new UnauthenticatedError();
  return request.session.user;
}

export function passkeyRoutes(app: FastifyInstance, throttle: LoginThrottle): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.gatehouse.database;
  const rp = () => relyingParty(app.gatehouse.config.publicUrl);

  r.post(
    '/api/v1/me/passkeys/options',
    {
      config: { authenticated: true, sessionOnly: true, command: [] },
      schema: {
        tags: ['account'],
        summary: 'Options for registering a new passkey (navigator.credentials.create)',
        description:
          'A discoverable credential with user verification; the challenge is good for 5 minutes and once. 403 `reauthentication_required` unless the session signed in or re-authenticated (POST /me/reauthenticate) within 15 minutes.',
        response: {
          200: Options('PublicKeyCredentialCreationOptionsJSON'),
          ...problemResponses(401, 403),
        },
      },
    },
    async (request) => {
      const user = signedInUser(request);
      await assertEmailVerified(db, user.id);
      await assertRecentlyAuthenticated(request);
      return registrationOptions(db, rp(), user);
    },
  );

  r.post(
    '/api/v1/me/passkeys',
    {
      config: { authenticated: true, sessionOnly: true, command: addPasskey },
      schema: {
        tags: ['account'],
        summary: 'Register a passkey from the authenticator’s answer to the options',
        body: Type.Object(
          { name: PasskeyName, response: RegistrationResponse },
          { additionalProperties: false },
        ),
        response: { 201: Passkey, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = signedInUser(request);
      const response = request.body.response as unknown as RegistrationResponseJSON;
      // Taken before verifying: a challenge answers once, whether the answer verifies or not.
      const challenge = challengeOf(response.response.clientDataJSON);
      if (!challenge || !(await consumeChallenge(db, challenge, 'registration', user.id))) {
        throw new PasskeyRejectedError();
      }
      const credential = await verifyRegistration(rp(), response, challenge);
      if (!credential) throw new PasskeyRejectedError();
      const passkey = await app.gatehouse.commands.run(addPasskey, request.invocation(), {
        name: request.body.name.trim(),
        ...credential,
      });
      return reply.status(201).send(passkey);
    },
  );

  r.get(
    '/api/v1/me/passkeys',
    {
      config: { authenticated: true, sessionOnly: true },
      schema: {
        tags: ['account'],
        summary: 'Your passkeys',
        response: { 200: Type.Object({ items: Type.Array(Passkey) }), ...problemResponses(401, 403) },
      },
    },
    async (request) => ({ items: await listPasskeys(db, signedInUser(request).id) }),
  );

  r.patch(
    '/api/v1/me/passkeys/:id',
    {
      config: { authenticated: true, sessionOnly: true, command: renamePasskey },
      schema: {
        tags: ['account'],
        summary: 'Rename one of your passkeys',
        params: IdParams,
        body: Type.Object({ name: PasskeyName }, { additionalProperties: false }),
        response: { 200: Passkey, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      app.gatehouse.commands.run(renamePasskey, request.invocation(), {
        id: request.params.id,
        name: request.body.name.trim(),
      }),
  );

  r.delete(
    '/api/v1/me/passkeys/:id',
    {
      config: { authenticated: true, sessionOnly: true, command: removePasskey },
      schema: {
        tags: ['account'],
        summary: 'Remove one of your passkeys',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await app.gatehouse.commands.run(removePasskey, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/auth/passkey/options',
    {
      config: { public: true, command: [] },
      schema: {
        tags: ['auth'],
        summary: 'Options for signing in with a passkey (navigator.credentials.get)',
        description:
          'Without an email, any discoverable passkey of this site; with one, that account’s passkeys. The answer for an address with no account (or no passkey) looks like any other. Limited per client address (429).',
        body: Type.Object(
          { email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Options('PublicKeyCredentialRequestOptionsJSON'),
          ...problemResponses(400, 429),
        },
      },
    },
    async (request) => {
      // Each answer stores a challenge: bounded per client address.
      const ip = clientKey(request.ip);
      await throttle.reserve({ kind: 'passkey_challenge', accountKey: `ip:${ip}`, ip });
      const email = request.body.email?.trim();
      const user = email ? await findUserByEmail(db, email) : undefined;
      const usable = user && !user.disabled && !user.deleted ? user.id : undefined;
      return authenticationOptions(db, rp(), { userId: usable, email: email || undefined }, (address) =>
        app.gatehouse.secrets.mac('passkey-stand-in', address),
      );
    },
  );

  r.post(
    '/api/v1/auth/passkey',
    {
      config: { public: true, command: signIn },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a passkey',
        description:
          'The assertion must answer a challenge from /auth/passkey/options (once, within 5 minutes), with user verification; it satisfies two-factor authentication.',
        body: Type.Object({ response: AuthenticationResponse }, { additionalProperties: false }),
        response: {
          200: Type.Object({ user: Type.Ref('User') }),
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => ({
      user: await logInWithPasskey(
        request,
        reply,
        throttle,
        request.body.response as unknown as AuthenticationResponseJSON,
      ),
    }),
  );
}
