import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PERMISSIONS } from '../../../contracts/permissions.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertSsoSatisfied } from '../../platform/auth/authenticate.ts';
import { assertRecentlyAuthenticated } from '../../platform/auth/recent.ts';
import { NotFoundError, UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import { PageQuery } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  Page,
  problemResponses,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import {
  createAutomationToken,
  createPersonalToken,
  revokeOrgToken,
  revokePersonalToken,
} from './api-tokens.commands.ts';
import { createdView, listMyTokens, listOrgTokensPage, listUsagePage } from './api-tokens.queries.ts';
import { hasOrgToken } from './api-tokens.repository.ts';

const Scope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]);
const Scopes = Type.Array(Scope, {
  minItems: 1,
  maxItems: 3,
  description:
    'read: every *:read permission plus scans:export and audit:export; write: read plus work on findings, scans, applications, policies and integrations; admin: everything but org:delete and org:transfer. The role narrows it further.',
});
const Permissions = Type.Array(Type.String({ enum: [...PERMISSIONS] }), {
  description: 'What the token can do now: its scopes narrowed by the role it acts with',
});
const Name = SingleLine(100);
const Status = Type.Union([Type.Literal('active'), Type.Literal('expired')]);
const Hint = Type.String({
  description: 'The prefix and last four characters; the token itself is never shown again',
});

const PersonalToken = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    orgId: Uuid,
    org: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
    scopes: Type.Array(Scope),
    role: Nullable(
      Type.String({ description: 'Your role in the organization (null: you are no longer a member)' }),
    ),
    permissions: Permissions,
    status: Status,
    hint: Hint,
    createdAt: DateTime,
    expiresAt: Nullable(DateTime),
    lastUsedAt: Nullable(DateTime),
  },
  { $id: 'PersonalToken' },
);

const OrgToken = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    owner: Type.Optional(Type.Object({ id: Uuid, email: Nullable(Type.String()) })),
    role: Nullable(Type.String()),
    scopes: Type.Array(Scope),
    permissions: Permissions,
    status: Status,
    hint: Hint,
    createdAt: DateTime,
    createdBy: Nullable(Type.Object({ id: Uuid, email: Nullable(Type.String()) })),
    expiresAt: Nullable(DateTime),
    lastUsedAt: Nullable(DateTime),
    lastUsedIp: Nullable(Type.String()),
  },
  { $id: 'OrgToken' },
);

const CreatedToken = Type.Object({
  id: Uuid,
  name: Type.String(),
  orgId: Type.Optional(Uuid),
  role: Type.Optional(Type.String()),
  scopes: Type.Array(Scope),
  status: Status,
  hint: Hint,
  createdAt: DateTime,
  expiresAt: Nullable(DateTime),
  lastUsedAt: Type.Null(),
  token: Type.String({ description: 'The token. Shown in this answer only: store it now.' }),
});

const UsageEntry = Type.Object({
  at: DateTime,
  ip: Nullable(Type.String()),
  method: Type.String(),
  route: Type.String({ description: 'The path requested (without its query string)' }),
  status: Type.Integer(),
  count: Type.Integer({
    minimum: 1,
    description: 'Requests alike in all but time within the same second share an entry; `at` is the last',
  }),
});

const Lifetime = (days: readonly number[], fallback: number) =>
  Type.Optional(
    Type.Union([...days.map((d) => Type.Literal(d)), Type.Null()], {
      description: `Days until it expires; null never expires. Default ${fallback}.`,
    }),
  );

const ItemParams = Type.Object({ orgId: Uuid, id: Uuid });
const ListQuery = Type.Object(PageQuery, { additionalProperties: false });
const PersonalListQuery = Type.Object(
  {
    ...PageQuery,
    userId: Type.Optional(Type.String({ format: 'uuid', description: "Only this member's tokens" })),
  },
  { additionalProperties: false },
);

const signedInUser = (request: FastifyRequest) => {
  if (request.actor.type !== 'user') throw new UnauthenticatedError();
  return request.actor.userId;
};

export function apiTokensRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, tokens } = app.gatehouse;

  r.get(
    '/api/v1/me/tokens',
    {
      config: { authenticated: true },
      schema: {
        tags: ['tokens'],
        summary: 'Your personal API tokens, newest first (revoked ones are gone)',
        querystring: Type.Object(
          { orgId: Type.Optional(Uuid), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('PersonalToken')), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      // A personal token reaches one organization: it sees no token of another.
      const tokenOrg = request.apiToken?.orgId;
      const { orgId } = request.query;
      if (tokenOrg && orgId !== undefined && orgId.toLowerCase() !== tokenOrg)
        return { items: [], nextCursor: null };
      return listMyTokens(database.db, signedInUser(request), {
        ...request.query,
        ...(tokenOrg ? { orgId: tokenOrg } : {}),
      });
    },
  );

  r.post(
    '/api/v1/me/tokens',
    {
      config: { authenticated: true, sessionOnly: true, command: createPersonalToken },
      schema: {
        tags: ['tokens'],
        summary: 'Create a personal API token for one of your organizations',
        description:
          'The answer carries the token once; only its hash is kept. On every request the token can do what its scopes allow and your role in the organization allows at that moment.',
        body: Body({
          name: Name,
          orgId: Uuid,
          scopes: Scopes,
          expiresInDays: Lifetime([30, 90], 30),
        }),
        response: { 201: CreatedToken, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      // A lasting credential: minting one asks for a recently proven session, like adding a passkey.
      await assertRecentlyAuthenticated(request);
      const { name, orgId, scopes, expiresInDays } = request.body;
      // A token is not held by enforced SSO: minting one asks what the org's routes ask of the
      // session, or a password session would carry itself past enforcement in a token.
      const access = await app.gatehouse.access.resolve(orgId.toLowerCase(), request.session!.user.id);
      if (access) assertSsoSatisfied(access, request.session!.session.ssoOrgId);
      const created = await commands.run(createPersonalToken, request.invocation(), {
        name: name.trim(),
        orgId: orgId.toLowerCase(),
        scopes,
        expiresInDays: expiresInDays === undefined ? 30 : expiresInDays,
      });
      return reply.status(201).send({ ...createdView(created), orgId: orgId.toLowerCase() });
    },
  );

  r.delete(
    '/api/v1/me/tokens/:id',
    {
      config: { authenticated: true, sessionOnly: true, command: revokePersonalToken },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke one of your personal tokens; its next request is refused',
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(revokePersonalToken, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/automation-tokens',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['tokens'],
        summary: "The organization's automation tokens, newest first",
        params: OrgParams,
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('OrgToken')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => listOrgTokensPage(database.db, requestOrgId(request), 'automation', request.query),
  );

  r.post(
    '/api/v1/orgs/:orgId/automation-tokens',
    {
      config: { command: createAutomationToken, sessionOnly: true },
      schema: {
        tags: ['tokens'],
        summary: 'Create an automation token acting with a role of the organization',
        description:
          'The role (default: yours, or admin for an Owner; never owner) and the scopes (default: all) together bound what the token can do, and neither may exceed what you can do. The answer carries the token once.',
        params: OrgParams,
        body: Body({
          name: Name,
          role: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Role slug' })),
          scopes: Type.Optional(Scopes),
          expiresInDays: Lifetime([30, 90, 365], 90),
          orgId: Type.Optional(Uuid),
        }),
        response: { 201: CreatedToken, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await assertRecentlyAuthenticated(request);
      const orgId = requestOrgId(request);
      const { name, role, scopes, expiresInDays } = request.body;
      if (request.body.orgId !== undefined && request.body.orgId.toLowerCase() !== orgId) {
        throw new ValidationError([
          { field: '/body/orgId', message: 'must be the organization in the path' },
        ]);
      }
      const created = await commands.run(createAutomationToken, request.invocation(), {
        name: name.trim(),
        scopes: scopes ?? ['admin'],
        expiresInDays: expiresInDays === undefined ? 90 : expiresInDays,
        ...(role !== undefined ? { role } : {}),
      });
      return reply.status(201).send({ ...createdView(created), role: created.role });
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/automation-tokens/:id',
    {
      config: { command: revokeOrgToken },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an automation token; its next request is refused',
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(revokeOrgToken, request.invocation(), { id: request.params.id, kind: 'automation' });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/automation-tokens/:id/usage',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['tokens'],
        summary: "An automation token's requests, newest first (the latest 1,000 are kept)",
        params: ItemParams,
        querystring: ListQuery,
        response: { 200: Page(UsageEntry), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      if (!(await hasOrgToken(database.db, orgId, request.params.id, 'automation'))) {
        throw new NotFoundError('token');
      }
      // What this instance has noted but not yet written is part of the answer.
      await tokens.flushUsage();
      return listUsagePage(database.db, orgId, request.params.id, request.query);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/personal-tokens',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['tokens'],
        summary: "Members' personal tokens for this organization, newest first",
        params: OrgParams,
        querystring: PersonalListQuery,
        response: { 200: Page(Type.Ref('OrgToken')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { userId, ...page } = request.query;
      return listOrgTokensPage(database.db, requestOrgId(request), 'personal', page, userId);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/personal-tokens/:id',
    {
      config: { command: revokeOrgToken },
      schema: {
        tags: ['tokens'],
        summary: "Revoke a member's personal token for this organization",
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(revokeOrgToken, request.invocation(), { id: request.params.id, kind: 'personal' });
      return reply.status(204).send(null);
    },
  );
}

export { OrgToken, PersonalToken };
