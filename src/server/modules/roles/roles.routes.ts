import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { PERMISSION_DESCRIPTIONS, PERMISSIONS } from '../../../contracts/permissions.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { requestOrgId, rolePermissions } from '../../platform/access/access.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import {
  Body,
  DateTime,
  OrgParams,
  problemResponses,
  RoleSlug,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import { createRole, editRole, removeRole, roleEtag } from './roles.commands.ts';
import { findRoleBySlug, listRoles, type RoleRow } from './roles.repository.ts';

const PermissionList = Type.Object({
  items: Type.Array(
    Type.Object({
      key: Type.String({ description: '`resource:action`' }),
      resource: Type.String(),
      action: Type.String(),
      description: Type.String(),
    }),
  ),
  nextCursor: Type.Null(),
});

const catalog = {
  items: PERMISSIONS.map((key) => {
    const [resource, action] = key.split(':') as [string, string];
    return { key, resource, action, description: PERMISSION_DESCRIPTIONS[key] };
  }),
  nextCursor: null,
};

export const Role = Type.Object(
  {
    id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    permissions: Type.Array(Type.String()),
    builtin: Type.Boolean(),
    editable: Type.Boolean({ description: 'Whether its permissions can change (all but Owner)' }),
    memberCount: Type.Optional(Type.Integer({ description: 'Active members holding it' })),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Role' },
);

const RoleName = SingleLine(60);
const Description = Type.Union([Type.String({ maxLength: 500 }), Type.Null()]);
const Permissions = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: PERMISSIONS.length * 2,
  description: 'Permission keys from GET /api/v1/permissions',
});
const RoleParams = Type.Object({ orgId: Uuid, slug: Type.String({ minLength: 1, maxLength: 64 }) });

export function presentRole(role: RoleRow & { memberCount?: number }) {
  return {
    ...role,
    // An Owner holds every permission whatever is stored, so show what it actually grants.
    permissions: [...rolePermissions(role.slug, role.permissions)],
    editable: role.slug !== OWNER_ROLE,
  };
}

export function rolesRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/permissions',
    {
      config: { authenticated: true },
      schema: {
        tags: ['roles'],
        summary: 'The permission catalog',
        response: { 200: PermissionList, ...problemResponses(401) },
      },
    },
    async () => catalog,
  );

  r.get(
    '/api/v1/orgs/:orgId/roles',
    {
      config: { permission: 'members:read' },
      schema: {
        tags: ['roles'],
        summary: "The organization's roles: the five built-in ones, then custom roles by name",
        params: OrgParams,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('Role')), nextCursor: Type.Null() }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request) => ({
      items: (await listRoles(database.db, requestOrgId(request))).map(presentRole),
      nextCursor: null,
    }),
  );

  r.get(
    '/api/v1/orgs/:orgId/roles/:slug',
    {
      config: { permission: 'members:read' },
      schema: {
        tags: ['roles'],
        summary: 'One role',
        params: RoleParams,
        description:
          'Answers with an ETag: send it back as If-Match on PATCH to change the role only as you read it.',
        response: { 200: Type.Ref('Role'), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const role = await findRoleBySlug(database.db, requestOrgId(request), request.params.slug);
      assertFound(role, 'role');
      return reply.header('etag', roleEtag(role)).send(presentRole(role));
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/roles',
    {
      config: { command: createRole },
      schema: {
        tags: ['roles'],
        summary: 'Create a custom role (plans with custom roles)',
        description: 'You can only grant permissions you hold yourself.',
        params: OrgParams,
        body: Body({
          slug: RoleSlug,
          name: RoleName,
          description: Type.Optional(Description),
          permissions: Permissions,
        }),
        response: { 201: Type.Ref('Role'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { slug, name, description, permissions } = request.body;
      const role = await commands.run(createRole, request.invocation(), {
        slug,
        name: name.trim(),
        description: description ?? null,
        permissions,
      });
      return reply.status(201).send(presentRole(role));
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/roles/:slug',
    {
      config: { command: editRole },
      schema: {
        tags: ['roles'],
        summary: "Change a role's permissions (and a custom role's name or description)",
        description:
          'Owner cannot change; built-in roles keep their names. You can only add permissions you hold yourself. Members holding the role get the new set on their next request. With If-Match (the ETag of GET …/roles/{slug}), the change applies only if the role is still as read: otherwise 412 precondition_failed and nothing changes.',
        params: RoleParams,
        body: Type.Object(
          {
            name: Type.Optional(RoleName),
            description: Type.Optional(Description),
            permissions: Type.Optional(Permissions),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Role'), ...problemResponses(400, 401, 403, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const { name, ...rest } = request.body;
      const ifMatch = request.headers['if-match'];
      const role = await commands.run(editRole, request.invocation(), {
        slug: request.params.slug,
        ...rest,
        ...(name !== undefined ? { name: name.trim() } : {}),
        ...(ifMatch !== undefined ? { ifMatch } : {}),
      });
      return reply.header('etag', roleEtag(role)).send(presentRole(role));
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/roles/:slug',
    {
      config: { command: removeRole },
      schema: {
        tags: ['roles'],
        summary: 'Delete a custom role',
        description:
          'Refused (409 role_in_use) while members or pending invitations hold it, unless ?reassignTo=<slug> names the role to move them to.',
        params: RoleParams,
        querystring: Type.Object(
          { reassignTo: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(removeRole, request.invocation(), {
        slug: request.params.slug,
        ...(request.query.reassignTo !== undefined ? { reassignTo: request.query.reassignTo } : {}),
      });
      return reply.status(204).send(null);
    },
  );
}
