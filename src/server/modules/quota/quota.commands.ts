import { entitlements } from '../../../contracts/plans.ts';
import type { FieldError } from '../../../contracts/problems.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  ConflictError,
  NotFoundError,
  PlanLimitError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { lockMember } from '../members/index.ts';
import {
  activeMemberIds,
  ancestorsOf,
  boostsOverlapping,
  type DepartmentRow,
  deleteDepartment,
  departmentsOf,
  findDepartment,
  findMemberBudget,
  hasChildren,
  heightBelow,
  insertBoost,
  insertDepartment,
  listDepartmentMembers,
  lockOrgBoosts,
  lockOrgDepartments,
  MAX_DEPARTMENT_DEPTH,
  putMemberBudget,
  setDepartmentMembers,
  updateDepartment,
} from './quota.repository.ts';

/**
 * The most a pool may hold: its counters (and every sum read from them) are 32-bit integers.
 * Boosts beyond it are refused rather than break every spend and usage read of the org.
 */
const MAX_POOL_TOKENS = 2_147_483_647;

/** How long a boost adds to the pool. */
export const BOOST_DAYS = 30;
const DAY_MS = 86_400_000;

const nameTaken = () => new ConflictError('Another department of this organization has that name.');

function requireEnterprise(ctx: CommandContext, what: 'budgets' | 'quotaBoosts') {
  const access = orgAccess(ctx);
  if (!entitlements(access.plan)[what]) {
    throw new PlanLimitError(
      what === 'budgets'
        ? 'Department and member budgets are part of the Enterprise plan.'
        : 'Quota boosts are part of the Enterprise plan.',
    );
  }
  return access;
}

const departmentTarget = (d: Pick<DepartmentRow, 'id' | 'name'>) => ({
  type: 'department',
  id: d.id,
  name: d.name,
});

function snapshot(d: DepartmentRow, memberIds: string[]) {
  return { name: d.name, parentId: d.parentId, monthlyBudget: d.monthlyBudget, memberIds };
}

export interface DepartmentInput {
  name: string;
  monthlyBudget: number | null;
  memberIds: string[];
  parentId: string | null;
}

/** Every listed user must be an active member (400 naming those who are not). */
async function checkMembers(ctx: CommandContext, orgId: string, memberIds: string[]) {
  const unique = [...new Set(memberIds.map((id) => id.toLowerCase()))];
  const active = await activeMemberIds(ctx.tx, orgId, unique);
  const errors: FieldError[] = unique
    .filter((id) => !active.has(id))
    .map((id) => ({
      field: '/body/memberIds',
      message: `${id} is not an active member of this organization.`,
      reason: 'not_a_member',
      params: { userId: id },
    }));
  if (errors.length > 0) throw new ValidationError(errors);
  return unique;
}

/**
 * A parent must be a department of the same org, and (for an existing department) must not be the
 * department itself or one of its descendants; the tree stays at most MAX_DEPARTMENT_DEPTH deep.
 * Called under lockOrgDepartments, so no concurrent change makes the answer stale before commit.
 */
async function checkParent(ctx: CommandContext, orgId: string, parentId: string, selfId: string | null) {
  const parent = await findDepartment(ctx.tx, orgId, parentId);
  if (!parent) {
    throw new ValidationError([
      {
        field: '/body/parentId',
        message: 'There is no such department in this organization.',
        reason: 'not_found',
      },
    ]);
  }
  const chain = await ancestorsOf(ctx.tx, orgId, parent.id);
  if (selfId !== null && chain.includes(selfId)) {
    throw new ConflictError(
      'A department cannot sit under itself or under one of its own sub-departments.',
      'conflict',
      { reason: 'department_cycle' },
    );
  }
  const below = selfId === null ? 0 : await heightBelow(ctx.tx, orgId, selfId);
  if (chain.length + 1 + below > MAX_DEPARTMENT_DEPTH) {
    throw new ValidationError([
      {
        field: '/body/parentId',
        message: `Departments nest at most ${MAX_DEPARTMENT_DEPTH} levels deep.`,
        reason: 'too_deep',
        params: { limit: MAX_DEPARTMENT_DEPTH },
      },
    ]);
  }
}

/**
 * Members moved here from another department, so the answer and the audit entry say so: adding
 * someone who is in another department moves them (a member belongs to at most one).
 */
async function movedMembers(ctx: CommandContext, orgId: string, departmentId: string | null, ids: string[]) {
  const current = await departmentsOf(ctx.tx, orgId, ids);
  return ids
    .filter((id) => current.has(id) && current.get(id) !== departmentId)
    .map((userId) => ({ userId, fromDepartmentId: current.get(userId)! }));
}

export const createDepartment = defineCommand({
  action: 'department.created',
  permission: 'quota:manage',
  constraints: { departments_org_name_key: nameTaken },
  async run(ctx, input: DepartmentInput) {
    const { orgId } = requireEnterprise(ctx, 'budgets');
    await lockOrgDepartments(ctx.tx, orgId);
    const memberIds = await checkMembers(ctx, orgId, input.memberIds);
    if (input.parentId !== null) await checkParent(ctx, orgId, input.parentId.toLowerCase(), null);
    const moved = await movedMembers(ctx, orgId, null, memberIds);
    const department = await insertDepartment(ctx.tx, orgId, {
      name: input.name,
      monthlyBudget: input.monthlyBudget,
      parentId: input.parentId?.toLowerCase() ?? null,
    });
    await setDepartmentMembers(ctx.tx, orgId, department.id, memberIds);
    ctx.record({
      target: departmentTarget(department),
      after: { ...snapshot(department, memberIds), ...(moved.length > 0 ? { moved } : {}) },
    });
    return { department, moved };
  },
});

export const editDepartment = defineCommand({
  action: 'department.updated',
  permission: 'quota:manage',
  constraints: { departments_org_name_key: nameTaken },
  async run(ctx, input: { id: string } & Partial<DepartmentInput>) {
    const { orgId } = requireEnterprise(ctx, 'budgets');
    await lockOrgDepartments(ctx.tx, orgId);
    const current = await findDepartment(ctx.tx, orgId, input.id);
    if (!current) throw new NotFoundError('department');
    const currentMembers = (await listDepartmentMembers(ctx.tx, orgId, [current.id])).map((m) => m.userId);
    const memberIds =
      input.memberIds !== undefined ? await checkMembers(ctx, orgId, input.memberIds) : currentMembers;
    const parentId =
      input.parentId === undefined ? current.parentId : (input.parentId?.toLowerCase() ?? null);
    if (parentId !== null && parentId !== current.parentId)
      await checkParent(ctx, orgId, parentId, current.id);
    const fields = {
      ...(input.name !== undefined && input.name !== current.name ? { name: input.name } : {}),
      ...(input.monthlyBudget !== undefined && input.monthlyBudget !== current.monthlyBudget
        ? { monthlyBudget: input.monthlyBudget }
        : {}),
      ...(parentId !== current.parentId ? { parentId } : {}),
    };
    const sameMembers =
      memberIds.length === currentMembers.length && memberIds.every((id) => currentMembers.includes(id));
    if (Object.keys(fields).length === 0 && sameMembers) {
      ctx.unchanged();
      return { department: current, moved: [] };
    }
    const moved = await movedMembers(ctx, orgId, current.id, memberIds);
    const department =
      Object.keys(fields).length > 0 ? await updateDepartment(ctx.tx, orgId, current.id, fields) : current;
    if (!sameMembers) await setDepartmentMembers(ctx.tx, orgId, current.id, memberIds);
    ctx.record({
      target: departmentTarget(department),
      before: snapshot(current, currentMembers),
      after: { ...snapshot(department, memberIds), ...(moved.length > 0 ? { moved } : {}) },
    });
    return { department, moved };
  },
});

export const removeDepartment = defineCommand({
  action: 'department.deleted',
  permission: 'quota:manage',
  async run(ctx, input: { id: string }) {
    const { orgId } = requireEnterprise(ctx, 'budgets');
    await lockOrgDepartments(ctx.tx, orgId);
    const current = await findDepartment(ctx.tx, orgId, input.id);
    if (!current) throw new NotFoundError('department');
    if (await hasChildren(ctx.tx, orgId, current.id)) {
      throw new ConflictError('This department has sub-departments: move or delete them first.', 'conflict', {
        reason: 'department_has_children',
      });
    }
    const members = (await listDepartmentMembers(ctx.tx, orgId, [current.id])).map((m) => m.userId);
    // Its members are left without a department (the foreign key cascades); spending stays in the ledger.
    await deleteDepartment(ctx.tx, orgId, current.id);
    ctx.record({ target: departmentTarget(current), before: snapshot(current, members) });
  },
});

export const setMemberBudget = defineCommand({
  action: 'member.budget_set',
  permission: 'quota:manage',
  async run(ctx, input: { userId: string; monthlyTokens: number | null }) {
    const { orgId } = requireEnterprise(ctx, 'budgets');
    const member = await lockMember(ctx.tx, orgId, input.userId);
    if (member?.status !== 'active') throw new NotFoundError('member');
    const before = await findMemberBudget(ctx.tx, orgId, member.userId);
    if (before === input.monthlyTokens) {
      ctx.unchanged();
      return { userId: member.userId, monthlyTokens: before };
    }
    await putMemberBudget(ctx.tx, orgId, member.userId, input.monthlyTokens);
    ctx.record({
      target: { type: 'member', id: member.userId, email: member.email, name: member.name },
      before: { monthlyTokens: before },
      after: { monthlyTokens: input.monthlyTokens },
    });
    return { userId: member.userId, monthlyTokens: input.monthlyTokens };
  },
});

export const boostQuota = defineCommand({
  action: 'quota.boosted',
  permission: 'quota:manage',
  async run(ctx, input: { tokens: number }) {
    const access = requireEnterprise(ctx, 'quotaBoosts');
    await lockOrgBoosts(ctx.tx, access.orgId);
    const now = new Date();
    const pool =
      entitlements(access.plan).tokensPerMonth + (await boostsOverlapping(ctx.tx, access.orgId, now));
    if (pool + input.tokens > MAX_POOL_TOKENS) {
      throw new ValidationError([
        {
          field: '/body/tokens',
          message: `The pool would hold more than ${MAX_POOL_TOKENS} tokens; it holds ${pool} now.`,
          reason: 'pool_too_large',
          params: { limit: MAX_POOL_TOKENS, pool },
        },
      ]);
    }
    const expiresAt = new Date(now.getTime() + BOOST_DAYS * DAY_MS);
    const boost = await insertBoost(ctx.tx, access.orgId, {
      tokens: input.tokens,
      createdBy: access.userId,
      expiresAt,
    });
    ctx.record({
      target: { type: 'quota_boost', id: boost.id },
      after: { tokens: boost.tokens, expiresAt: boost.expiresAt.toISOString() },
    });
    return boost;
  },
});
