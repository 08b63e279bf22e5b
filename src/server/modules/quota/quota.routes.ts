import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { mayReadMembers, requestOrgId } from '../../platform/access/access.ts';
import { NotFoundError } from '../../platform/errors/app-error.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  problemResponses,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import { Entitlements } from '../organizations/index.ts';
import {
  boostQuota,
  createDepartment,
  editDepartment,
  removeDepartment,
  setMemberBudget,
} from './quota.commands.ts';
import {
  planCatalog,
  presentDepartment,
  readBoosts,
  readDepartments,
  readMemberBudgets,
  readUsage,
} from './quota.queries.ts';
import { listDepartmentMembers } from './quota.repository.ts';
import { monthOf } from './quota.spend.ts';

const Tokens = Type.Integer({ minimum: 0 });
// Years 1970-2999 only: before 100 JavaScript's Date.UTC reads the year as 19xx (a wrong trend),
// and December 9999's end is a year PostgreSQL cannot be sent (a 500); no pool has such months.
const Month = Type.String({
  pattern: '^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$',
  description: 'A calendar month in UTC, `YYYY-MM` (years 1970 to 2999)',
});
const Budget = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

const ModuleCosts = Type.Object({
  dependencies: Tokens,
  sast: Tokens,
  secrets: Tokens,
  api: Tokens,
});

const PlanEntry = Type.Object({ id: Type.String(), ...Entitlements.properties });

const Usage = Type.Object({
  month: Type.String(),
  plan: Type.String(),
  limit: Tokens,
  boosts: Tokens,
  used: Tokens,
  remaining: Tokens,
  byModule: Type.Array(Type.Object({ module: Type.String(), tokens: Tokens })),
  byMember: Type.Array(
    Type.Object({
      userId: Nullable(Uuid),
      email: Nullable(Type.String()),
      tokens: Tokens,
    }),
    { description: 'Spending by member, most first; userId null: automation tokens' },
  ),
  byDepartment: Type.Array(
    Type.Object({
      id: Uuid,
      name: Type.String(),
      parentId: Nullable(Uuid),
      budget: Nullable(Tokens),
      tokens: Type.Integer({
        description: "The department's own members' and its sub-departments' spending",
      }),
    }),
  ),
  trend: Type.Array(Type.Object({ month: Type.String(), used: Tokens, limit: Tokens }), {
    description: 'The 6 months ending at `month`, oldest first',
  }),
});

const DepartmentMember = Type.Object({ userId: Uuid, email: Type.String(), name: Type.String() });
const Department = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    parentId: Nullable(Uuid),
    monthlyBudget: Nullable(Tokens),
    memberIds: Type.Array(Uuid),
    members: Type.Array(DepartmentMember),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Department' },
);
const Moved = Type.Array(Type.Object({ userId: Uuid, fromDepartmentId: Uuid }), {
  description: 'Members this change moved here from another department (a member belongs to one at most)',
});
const DepartmentChange = Type.Object({
  ...Department.properties,
  moved: Moved,
});

const DepartmentFields = {
  name: SingleLine(100),
  monthlyBudget: Nullable(Budget),
  memberIds: Type.Array(Uuid, {
    maxItems: 1000,
    description: 'Active members; one listed in another department moves here',
  }),
  parentId: Nullable(Uuid),
};

const DepartmentParams = Type.Object({ orgId: Uuid, id: Uuid });
const MemberParams = Type.Object({ orgId: Uuid, userId: Uuid });

const Boost = Type.Object({
  id: Uuid,
  tokens: Tokens,
  createdAt: DateTime,
  expiresAt: DateTime,
  active: Type.Boolean(),
  createdBy: Nullable(Type.Object({ id: Uuid, email: Nullable(Type.String()) })),
});

export function quotaRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;
  const db = database.db;

  r.get(
    '/api/v1/plans',
    {
      config: { public: true },
      schema: {
        tags: ['quota'],
        summary: 'The plan catalog: entitlements, and the tokens each scan module costs',
        response: { 200: Type.Object({ items: Type.Array(PlanEntry), moduleCosts: ModuleCosts }) },
      },
    },
    async () => planCatalog(db),
  );

  r.get(
    '/api/v1/orgs/:orgId/usage',
    {
      config: { permission: 'quota:read' },
      schema: {
        tags: ['quota'],
        summary:
          "The shared token pool's use in a month, by module, member and department, with a 6-month trend",
        description:
          "`limit` of the current month is the plan's tokens plus the boosts not yet expired; of another month, the plan's tokens plus every boost in force at some moment of that month.",
        params: OrgParams,
        querystring: Type.Object({ month: Type.Optional(Month) }, { additionalProperties: false }),
        response: { 200: Usage, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const usage = await readUsage(db, requestOrgId(request), request.query.month ?? monthOf(new Date()));
      // Who the members are is for those who may read the member list; the rest see their ids.
      if (mayReadMembers(request)) return usage;
      return { ...usage, byMember: usage.byMember.map((m) => ({ ...m, email: null })) };
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/departments',
    {
      config: { permission: 'quota:read' },
      schema: {
        tags: ['quota'],
        summary: "The organization's departments (teams) with their budgets and members",
        params: OrgParams,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('Department')) }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => readDepartments(db, requestOrgId(request)),
  );

  r.get(
    '/api/v1/orgs/:orgId/departments/:id',
    {
      config: { permission: 'quota:read' },
      schema: {
        tags: ['quota'],
        summary: 'One department',
        params: DepartmentParams,
        response: { 200: Type.Ref('Department'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { items } = await readDepartments(db, orgId);
      const found = items.find((d) => d.id === request.params.id.toLowerCase());
      if (!found) throw new NotFoundError('department');
      return found;
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/departments',
    {
      config: { command: createDepartment },
      schema: {
        tags: ['quota'],
        summary: 'Create a department (Enterprise)',
        description:
          'Its budget (null: none) caps what its members and its sub-departments spend together in a month. A member listed here who is in another department moves here; `moved` says who.',
        params: OrgParams,
        body: Body({
          name: DepartmentFields.name,
          monthlyBudget: Type.Optional(DepartmentFields.monthlyBudget),
          memberIds: Type.Optional(DepartmentFields.memberIds),
          parentId: Type.Optional(DepartmentFields.parentId),
        }),
        response: { 201: DepartmentChange, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const orgId = requestOrgId(request);
      const { name, monthlyBudget, memberIds, parentId } = request.body;
      const { department, moved } = await commands.run(createDepartment, request.invocation(), {
        name: name.trim(),
        monthlyBudget: monthlyBudget ?? null,
        memberIds: memberIds ?? [],
        parentId: parentId ?? null,
      });
      return reply.status(201).send(await departmentAnswer(orgId, department, moved));
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/departments/:id',
    {
      config: { command: editDepartment },
      schema: {
        tags: ['quota'],
        summary: "Change a department's name, budget, parent or members (Enterprise)",
        description:
          '`memberIds` replaces the members; one who is in another department moves here (`moved`). A parent that would put the department under itself answers 409.',
        params: DepartmentParams,
        body: Type.Partial(Type.Object(DepartmentFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: DepartmentChange, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { name, ...rest } = request.body;
      const { department, moved } = await commands.run(editDepartment, request.invocation(), {
        id: request.params.id.toLowerCase(),
        ...rest,
        ...(name !== undefined ? { name: name.trim() } : {}),
      });
      return departmentAnswer(orgId, department, moved);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/departments/:id',
    {
      config: { command: removeDepartment },
      schema: {
        tags: ['quota'],
        summary: 'Delete a department without sub-departments (Enterprise); its members are left in none',
        params: DepartmentParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(removeDepartment, request.invocation(), { id: request.params.id.toLowerCase() });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/member-budgets',
    {
      config: { permission: 'quota:read' },
      schema: {
        tags: ['quota'],
        summary: "Active members' own monthly budgets, with what each spent this month",
        params: OrgParams,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                userId: Uuid,
                email: Type.String(),
                name: Type.String(),
                monthlyTokens: Tokens,
                used: Tokens,
              }),
            ),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => readMemberBudgets(db, requestOrgId(request)),
  );

  r.put(
    '/api/v1/orgs/:orgId/members/:userId/budget',
    {
      config: { command: setMemberBudget },
      schema: {
        tags: ['quota'],
        summary: "Set or clear a member's own monthly budget (Enterprise)",
        params: MemberParams,
        body: Body({ monthlyTokens: Nullable(Budget) }),
        response: {
          200: Type.Object({ userId: Uuid, monthlyTokens: Nullable(Tokens) }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      commands.run(setMemberBudget, request.invocation(), {
        userId: request.params.userId.toLowerCase(),
        monthlyTokens: request.body.monthlyTokens,
      }),
  );

  r.get(
    '/api/v1/orgs/:orgId/quota-boosts',
    {
      config: { permission: 'quota:read' },
      schema: {
        tags: ['quota'],
        summary: "The organization's most recent quota boosts (100), newest first",
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(Boost) }), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => readBoosts(db, requestOrgId(request)),
  );

  r.post(
    '/api/v1/orgs/:orgId/quota-boosts',
    {
      config: { command: boostQuota },
      schema: {
        tags: ['quota'],
        summary: 'Add tokens to the pool for 30 days (Enterprise)',
        params: OrgParams,
        body: Body({ tokens: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }),
        response: {
          201: Type.Object({ id: Uuid, tokens: Tokens, createdAt: DateTime, expiresAt: DateTime }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const boost = await commands.run(boostQuota, request.invocation(), { tokens: request.body.tokens });
      return reply.status(201).send(boost);
    },
  );

  async function departmentAnswer(
    orgId: string,
    department: Parameters<typeof presentDepartment>[0],
    moved: { userId: string; fromDepartmentId: string }[],
  ) {
    const members = await listDepartmentMembers(db, orgId, [department.id]);
    return { ...presentDepartment(department, members), moved };
  }
}

export { Department };
