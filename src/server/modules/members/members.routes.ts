import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { requestOrgId, rolePermissions } from '../../platform/access/access.ts';
import { assertFound, UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { Body, DateTime, OrgParams, problemResponses, RoleSlug, Uuid } from '../../platform/http/schemas.ts';
import { findRoleBySlug } from '../roles/index.ts';
import { changeMemberRole, leaveOrganization, removeMember, transferOwnership } from './members.commands.ts';
import { findMember, listMembers, type MemberRow } from './members.repository.ts';

export const Member = Type.Object(
  {
    userId: Uuid,
    email: Type.String(),
    name: Type.String(),
    role: Type.String({ description: "The role's slug" }),
    status: Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('removed')], {
      description: 'inactive: no activity for 30 days; removed: kept for history, may be invited again',
    }),
    joinedAt: DateTime,
    lastActiveAt: Type.Union([DateTime, Type.Null()]),
  },
  { $id: 'Member' },
);

const MemberDetail = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  status: Type.String(),
  joinedAt: DateTime,
  lastActiveAt: Type.Union([DateTime, Type.Null()]),
  removedAt: Type.Union([DateTime, Type.Null()]),
  permissions: Type.Array(Type.String(), { description: 'What the role grants' }),
});

const MemberParams = Type.Object({ orgId: Uuid, userId: Uuid });

/** As the API shows it (also in the organization's data export). */
export const presentMember = (m: MemberRow) => ({
  userId: m.userId,
  email: m.email,
  name: m.name,
  role: m.role,
  status: m.status,
  joinedAt: m.joinedAt,
  lastActiveAt: m.lastActiveAt,
});

export function membersRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/members',
    {
      config: { permission: 'members:read' },
      schema: {
        tags: ['members'],
        summary: 'Members, newest first; filter by role and status, search names and emails',
        description:
          'Without `status`, current members (active and inactive). Pending invitations and join requests have their own lists.',
        params: OrgParams,
        querystring: Type.Object(
          {
            role: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Role slug' })),
            status: Type.Optional(
              Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('removed')]),
            ),
            q: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'Part of a name or email, any case' }),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('Member')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { role, status, q, limit = 50, cursor } = request.query;
      const after = decodeCursor(cursor);
      let roleId: string | undefined;
      if (role !== undefined) {
        const found = await findRoleBySlug(database.db, orgId, role);
        if (!found) {
          throw new ValidationError([
            { field: '/querystring/role', message: 'is not a role of this organization' },
          ]);
        }
        roleId = found.id;
      }
      const query = q?.trim();
      const rows = await listMembers(
        database.db,
        orgId,
        {
          ...(status ? { status } : {}),
          ...(roleId ? { roleId } : {}),
          ...(query ? { q: query } : {}),
        },
        { limit: limit + 1, ...(after ? { after } : {}) },
      );
      return toPage(
        rows.map((m) => ({ ...m, createdAt: m.joinedAt, id: m.userId })),
        limit,
        presentMember,
      );
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/members/:userId',
    {
      config: { permission: 'members:read' },
      schema: {
        tags: ['members'],
        summary: 'One member (current or removed)',
        params: MemberParams,
        response: { 200: MemberDetail, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const member = await findMember(database.db, requestOrgId(request), request.params.userId);
      assertFound(member, 'member');
      return {
        ...presentMember(member),
        removedAt: member.removedAt,
        permissions: [...rolePermissions(member.role, member.rolePermissions)],
      };
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/members/:userId',
    {
      config: { command: changeMemberRole },
      schema: {
        tags: ['members'],
        summary: "Change a member's role; effective on their next request",
        description:
          'You can only give a role whose permissions you hold, and only change members whose role you could give. The last owner cannot be demoted (409 last_owner); nobody is made an owner while they own ORGS_MAX_OWNED_PER_USER organizations (409 org_limit).',
        params: MemberParams,
        body: Body({ role: RoleSlug }),
        response: { 200: Type.Ref('Member'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const member = await commands.run(changeMemberRole, request.invocation(), {
        userId: request.params.userId,
        role: request.body.role,
        maxOwnedPerUser: config.organizations.maxOwnedPerUser,
      });
      return presentMember(member);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/members/:userId',
    {
      config: { command: removeMember },
      schema: {
        tags: ['members'],
        summary: 'Remove a member; their access to the organization ends at once',
        description:
          'The member stays in the list as removed and may be invited again. 409 last_owner for the last owner.',
        params: MemberParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(removeMember, request.invocation(), { userId: request.params.userId });
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/ownership-transfer',
    {
      config: { command: transferOwnership, sessionOnly: true },
      schema: {
        tags: ['organizations'],
        summary: 'Make an Admin the owner; you become an Admin',
        description:
          'Refused (409 org_limit) while the Admin owns ORGS_MAX_OWNED_PER_USER organizations already.',
        params: OrgParams,
        body: Body({ userId: Uuid }),
        response: {
          200: Type.Object({ ownerId: Uuid, previousOwnerId: Uuid }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) =>
      commands.run(transferOwnership, request.invocation(), {
        userId: request.body.userId,
        maxOwnedPerUser: config.organizations.maxOwnedPerUser,
      }),
  );

  r.delete(
    '/api/v1/me/memberships/:orgId',
    {
      config: { authenticated: true, sessionOnly: true, command: leaveOrganization },
      schema: {
        tags: ['account'],
        summary: 'Leave an organization',
        description:
          'The last owner cannot leave (409 last_owner): transfer ownership or delete the organization.',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      if (request.actor.type !== 'user') throw new UnauthenticatedError();
      await commands.run(leaveOrganization, request.invocation(), {
        orgId: request.params.orgId.toLowerCase(),
      });
      return reply.status(204).send(null);
    },
  );
}
