import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { DateTime, OrgParams, problemResponses, SingleLine, Uuid } from '../../platform/http/schemas.ts';
import { createPolicy, editPolicy, POLICY_MODULES, removePolicy } from './policies.commands.ts';
import { SEVERITIES } from './policies.evaluate.ts';
import { findPolicy, listPolicies, type PolicyRow } from './policies.repository.ts';

const FailOn = Type.Union(
  SEVERITIES.map((s) => Type.Literal(s)),
  { description: 'A finding at this severity or above, not resolved nor a false positive, fails the policy' },
);
const Modules = Type.Array(Type.Union(POLICY_MODULES.map((m) => Type.Literal(m))), {
  maxItems: POLICY_MODULES.length * 2,
  description: 'Scan modules the policy applies to; none: every module',
});
const ApplicationIds = Type.Array(Uuid, {
  maxItems: 200,
  description: 'Applications of this organization the policy applies to; none: every application',
});
const PolicyName = SingleLine(100);
const Description = Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]);

export const Policy = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    failOn: FailOn,
    modules: Type.Array(Type.String()),
    applicationIds: Type.Array(Uuid),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Policy' },
);

const PolicyParams = Type.Object({ orgId: Uuid, id: Uuid });

const present = (p: PolicyRow) => p;

export function policiesRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/policies',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: "The organization's security policies, newest first",
        params: OrgParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('Policy')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listPolicies(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(rows, limit, present);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/policies/:id',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'One policy',
        params: PolicyParams,
        response: { 200: Type.Ref('Policy'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const policy = await findPolicy(database.db, requestOrgId(request), request.params.id);
      assertFound(policy, 'policy');
      return present(policy);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/policies',
    {
      config: { command: createPolicy },
      schema: {
        tags: ['policies'],
        summary: 'Create a policy',
        description:
          'Names are unique in the organization, whatever their case (409). Every application id must be an application of this organization (400 naming it).',
        params: OrgParams,
        body: Type.Object(
          {
            name: PolicyName,
            description: Type.Optional(Description),
            failOn: FailOn,
            modules: Type.Optional(Modules),
            applicationIds: Type.Optional(ApplicationIds),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Policy'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name, description, failOn, modules, applicationIds } = request.body;
      const policy = await commands.run(createPolicy, request.invocation(), {
        name: name.trim(),
        description: description?.trim() || null,
        failOn,
        modules: modules ?? [],
        applicationIds: applicationIds ?? [],
      });
      return reply.status(201).send(present(policy));
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/policies/:id',
    {
      config: { command: editPolicy },
      schema: {
        tags: ['policies'],
        summary: 'Change a policy',
        params: PolicyParams,
        body: Type.Object(
          {
            name: Type.Optional(PolicyName),
            description: Type.Optional(Description),
            failOn: Type.Optional(FailOn),
            modules: Type.Optional(Modules),
            applicationIds: Type.Optional(ApplicationIds),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Policy'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { name, description, ...rest } = request.body;
      return present(
        await commands.run(editPolicy, request.invocation(), {
          id: request.params.id,
          ...rest,
          ...(name !== undefined ? { name: name.trim() } : {}),
          ...(description !== undefined ? { description: description?.trim() || null } : {}),
        }),
      );
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/policies/:id',
    {
      config: { command: removePolicy },
      schema: {
        tags: ['policies'],
        summary: 'Delete a policy',
        params: PolicyParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removePolicy, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );
}
