import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requestOrgId } from '../../platform/access/access.ts';
import { describeActor } from '../../platform/actor.ts';
import { hashSecret } from '../../platform/auth/secrets.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Email,
  OrgParams,
  Page,
  problemResponses,
  RoleSlug,
  Uuid,
} from '../../platform/http/schemas.ts';
import {
  acceptInvitation,
  approveJoinRequest,
  cancelInvitation,
  denyJoinRequest,
  disableJoinLink,
  InviteExpiredError,
  inviteMembers,
  requestToJoin,
  resendInvitation,
  rotateJoinLink,
} from './invitations.commands.ts';
import {
  findJoinLink,
  listInvitations,
  listJoinRequests,
  previewInvitation,
} from './invitations.repository.ts';

const Token = Type.String({ minLength: 20, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
const ItemParams = Type.Object({ orgId: Uuid, id: Uuid });

const Invitation = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    role: Type.String(),
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('expired'),
      Type.Literal('accepted'),
      Type.Literal('cancelled'),
    ]),
    expiresAt: DateTime,
    createdAt: Type.Optional(DateTime),
    sentAt: Type.Optional(DateTime),
    sendCount: Type.Optional(Type.Integer()),
    invitedBy: Type.Optional(Type.Union([Uuid, Type.Null()])),
    acceptedAt: Type.Optional(Type.Union([DateTime, Type.Null()])),
  },
  { $id: 'Invitation' },
);

const OrgSummary = Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() });

const JoinRequest = Type.Object({
  id: Uuid,
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  status: Type.String(),
  createdAt: DateTime,
  decidedAt: Type.Union([DateTime, Type.Null()]),
});

const inviterName = (request: FastifyRequest) =>
  request.session?.user.name ??
  (request.actor.type === 'user' ? request.actor.email : describeActor(request.actor).replace(/^the/, 'The'));

export { Invitation };

export function invitationsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config } = app.gatehouse;

  r.post(
    '/api/v1/orgs/:orgId/invitations',
    {
      config: { command: inviteMembers },
      schema: {
        tags: ['invitations'],
        summary: 'Invite one or more people by email with a role',
        description:
          "Each gets a single-use link valid 7 days. Inviting an email with a pending invitation renews it (the old link dies). Already-members are refused (409 already_member); pending invitations count toward the plan's member limit (403 plan_limit).",
        params: OrgParams,
        body: Body({
          emails: Type.Array(Email, { minItems: 1, maxItems: 50 }),
          role: RoleSlug,
        }),
        response: { 201: Page(Type.Ref('Invitation')), ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const items = await commands.run(inviteMembers, request.invocation(), {
        emails: request.body.emails,
        role: request.body.role,
        inviterName: inviterName(request),
        publicUrl: config.publicUrl,
        limits: config.invitations,
      });
      return reply.status(201).send({ items, nextCursor: null });
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/invitations',
    {
      config: { permission: 'members:manage' },
      schema: {
        tags: ['invitations'],
        summary: 'Invitations, newest first (by default the open ones: pending and expired)',
        params: OrgParams,
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([
                Type.Literal('pending'),
                Type.Literal('expired'),
                Type.Literal('accepted'),
                Type.Literal('cancelled'),
              ]),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('Invitation')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { status, limit = 50, cursor } = request.query;
      const after = decodeCursor(cursor);
      const rows = await listInvitations(database.db, requestOrgId(request), status ? { status } : {}, {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(
        rows,
        limit,
        ({ orgId: _o, roleId: _r, roleName: _n, rolePermissions: _p, ...row }) => row,
      );
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/invitations/:id/resend',
    {
      config: { command: resendInvitation },
      schema: {
        tags: ['invitations'],
        summary: 'Send the invitation again with a new link; the old link stops working',
        params: ItemParams,
        response: { 200: Type.Ref('Invitation'), ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) =>
      commands.run(resendInvitation, request.invocation(), {
        id: request.params.id,
        inviterName: inviterName(request),
        publicUrl: config.publicUrl,
        limits: config.invitations,
      }),
  );

  r.delete(
    '/api/v1/orgs/:orgId/invitations/:id',
    {
      config: { command: cancelInvitation },
      schema: {
        tags: ['invitations'],
        summary: 'Cancel an invitation; its link stops working',
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(cancelInvitation, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/invitations/preview',
    {
      config: { public: true, command: [] },
      schema: {
        tags: ['invitations'],
        summary: 'What an invitation link is for, before signing in to accept it',
        body: Body({ token: Token }),
        response: {
          200: Type.Object({
            org: OrgSummary,
            email: Type.String(),
            role: Type.String(),
            roleName: Type.String(),
            invitedBy: Type.Union([Type.String(), Type.Null()]),
            expiresAt: DateTime,
          }),
          ...problemResponses(400, 403, 410),
        },
      },
    },
    async (request) => {
      const found = await previewInvitation(database.db, hashSecret(request.body.token));
      if (found?.status !== 'pending') throw new InviteExpiredError();
      return {
        org: found.org,
        email: found.email,
        role: found.role,
        roleName: found.roleName,
        invitedBy: found.invitedByName,
        expiresAt: found.expiresAt,
      };
    },
  );

  r.post(
    '/api/v1/invitations/accept',
    {
      config: { authenticated: true, sessionOnly: true, command: acceptInvitation },
      schema: {
        tags: ['invitations'],
        summary: 'Accept an invitation sent to your email address',
        description:
          '410 invite_expired for an expired, cancelled, replaced or unknown link (alike); 409 invite_used once accepted; 403 invite_email_mismatch when signed in as someone else; 409 org_limit for an Owner invitation while you own ORGS_MAX_OWNED_PER_USER organizations.',
        body: Body({ token: Token }),
        response: {
          200: Type.Object({ org: OrgSummary, role: Type.String() }),
          ...problemResponses(400, 401, 403, 409, 410),
        },
      },
    },
    async (request) =>
      commands.run(acceptInvitation, request.invocation(), {
        token: request.body.token,
        maxOwnedPerUser: config.organizations.maxOwnedPerUser,
      }),
  );

  r.get(
    '/api/v1/orgs/:orgId/join-link',
    {
      config: { permission: 'members:manage' },
      schema: {
        tags: ['invitations'],
        summary: 'Whether the share link is on',
        description: 'The link itself is shown only when it is created or rotated (only its hash is kept).',
        params: OrgParams,
        response: {
          200: Type.Object({ enabled: Type.Boolean(), createdAt: Type.Union([DateTime, Type.Null()]) }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const link = await findJoinLink(database.db, requestOrgId(request));
      return { enabled: link !== undefined, createdAt: link?.createdAt ?? null };
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/join-link',
    {
      config: { command: rotateJoinLink },
      schema: {
        tags: ['invitations'],
        summary: 'Create or rotate the share link (the previous link stops working)',
        description: 'Signed-in people who open it ask to join; an admin approves each request with a role.',
        params: OrgParams,
        response: {
          201: Type.Object({ url: Type.String(), token: Type.String(), createdAt: DateTime }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await commands.run(rotateJoinLink, request.invocation(), { publicUrl: config.publicUrl })),
  );

  r.delete(
    '/api/v1/orgs/:orgId/join-link',
    {
      config: { command: disableJoinLink },
      schema: {
        tags: ['invitations'],
        summary: 'Turn the share link off',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(disableJoinLink, request.invocation(), undefined);
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/join-requests',
    {
      config: { authenticated: true, sessionOnly: true, command: requestToJoin },
      schema: {
        tags: ['invitations'],
        summary: 'Ask to join an organization through its share link',
        description: 'Asking again while a request is pending returns that request.',
        body: Body({ token: Token }),
        response: {
          202: Type.Object({
            id: Uuid,
            status: Type.Literal('pending'),
            createdAt: DateTime,
            org: OrgSummary,
          }),
          ...problemResponses(400, 401, 403, 409, 410),
        },
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(await commands.run(requestToJoin, request.invocation(), { token: request.body.token })),
  );

  r.get(
    '/api/v1/orgs/:orgId/join-requests',
    {
      config: { permission: 'members:manage' },
      schema: {
        tags: ['invitations'],
        summary: 'Requests to join, newest first (pending unless ?status= says otherwise)',
        params: OrgParams,
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('denied')]),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(JoinRequest), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { status = 'pending', limit = 50, cursor } = request.query;
      const after = decodeCursor(cursor);
      const rows = await listJoinRequests(database.db, requestOrgId(request), status, {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(rows, limit, (row) => row);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/join-requests/:id/approve',
    {
      config: { command: approveJoinRequest },
      schema: {
        tags: ['invitations'],
        summary: 'Approve a request to join, with a role',
        description:
          'As Owner: refused (409 org_limit) while the requester owns ORGS_MAX_OWNED_PER_USER organizations.',
        params: ItemParams,
        body: Body({ role: RoleSlug }),
        response: {
          200: Type.Object({ userId: Uuid, role: Type.String() }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) =>
      commands.run(approveJoinRequest, request.invocation(), {
        id: request.params.id,
        role: request.body.role,
        maxOwnedPerUser: config.organizations.maxOwnedPerUser,
      }),
  );

  r.post(
    '/api/v1/orgs/:orgId/join-requests/:id/deny',
    {
      config: { command: denyJoinRequest },
      schema: {
        tags: ['invitations'],
        summary: 'Deny a request to join',
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(denyJoinRequest, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );
}
