import { entitlements, PLAN_CATALOG, PLANS } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import {
  boostsOverlapping,
  type DepartmentRow,
  ledgerByMonth,
  listBoosts,
  listDepartmentMembers,
  listDepartments,
  listMemberBudgets,
  orgPlan,
  usageByMember,
  usageByModule,
} from './quota.repository.ts';
import { monthOf, poolLimit, readCounters, readModuleCosts, SCAN_MODULES } from './quota.spend.ts';

/** The plan catalog with what each scan module costs (public). */
export async function planCatalog(db: Executor) {
  const moduleCosts = await readModuleCosts(db);
  return {
    items: PLANS.map((id) => ({ id, ...PLAN_CATALOG[id] })),
    moduleCosts,
  };
}

/** `YYYY-MM` → its first instant and the next month's (UTC). */
function monthBounds(month: string): { from: Date; to: Date } {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return { from: new Date(Date.UTC(year, mon - 1, 1)), to: new Date(Date.UTC(year, mon, 1)) };
}

/** The `count` months ending at `month`, oldest first. */
export function monthsEndingAt(month: string, count: number): string[] {
  const { from } = monthBounds(month);
  return Array.from({ length: count }, (_, i) =>
    monthOf(new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() - (count - 1 - i), 1))),
  );
}

/**
 * A month's pool. The current month's is what spending is checked against now: the plan's tokens
 * plus the boosts not yet expired. Another month's is the plan's tokens (the plan as it is now: no
 * history of plans is kept) plus every boost in force at some moment of that month, the most the
 * pool could have held then.
 */
async function monthLimit(db: Executor, orgId: string, plan: string, month: string, now: Date) {
  if (month === monthOf(now)) return poolLimit(db, orgId, plan, now);
  const { from, to } = monthBounds(month);
  const boosts = await boostsOverlapping(db, orgId, from, to);
  return { limit: entitlements(plan).tokensPerMonth + boosts, boosts };
}

/** What the org spent in `month`, against what it had, broken down, with the 6 months up to it. */
export async function readUsage(db: Executor, orgId: string, month: string) {
  const now = new Date();
  const plan = await orgPlan(db, orgId);
  const months = monthsEndingAt(month, 6);
  const [byModuleRows, byMember, departments, spentByMonth] = await Promise.all([
    usageByModule(db, orgId, month),
    usageByMember(db, orgId, month),
    listDepartments(db, orgId),
    ledgerByMonth(db, orgId, months),
  ]);
  const limits: { limit: number; boosts: number }[] = [];
  for (const m of months) limits.push(await monthLimit(db, orgId, plan, m, now));
  const { limit, boosts } = limits.at(-1)!;
  const counters = await readCounters(
    db,
    orgId,
    month,
    departments.map((d) => `department:${d.id}`),
  );
  const spent = new Map(byModuleRows.map((r) => [r.module, r.tokens]));
  const used = spentByMonth.get(month) ?? 0;
  return {
    month,
    plan,
    limit,
    boosts,
    used,
    remaining: Math.max(0, limit - used),
    byModule: SCAN_MODULES.map((module) => ({ module, tokens: spent.get(module) ?? 0 })),
    byMember: byMember.map((r) => ({ userId: r.userId, email: r.email, tokens: r.tokens })),
    byDepartment: departments.map((d) => ({
      id: d.id,
      name: d.name,
      parentId: d.parentId,
      budget: d.monthlyBudget,
      tokens: counters.get(`department:${d.id}`) ?? 0,
    })),
    trend: months.map((m, i) => ({ month: m, used: spentByMonth.get(m) ?? 0, limit: limits[i]!.limit })),
  };
}

export async function readDepartments(db: Executor, orgId: string) {
  const [departments, members] = await Promise.all([
    listDepartments(db, orgId),
    listDepartmentMembers(db, orgId),
  ]);
  return { items: departments.map((d) => presentDepartment(d, members)) };
}

export function presentDepartment(
  d: DepartmentRow,
  members: { departmentId: string; userId: string; email: string; name: string }[],
) {
  const own = members.filter((m) => m.departmentId === d.id);
  return {
    id: d.id,
    name: d.name,
    parentId: d.parentId,
    monthlyBudget: d.monthlyBudget,
    memberIds: own.map((m) => m.userId),
    members: own.map((m) => ({ userId: m.userId, email: m.email, name: m.name })),
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export async function readMemberBudgets(db: Executor, orgId: string) {
  return { items: await listMemberBudgets(db, orgId, monthOf(new Date())) };
}

/** The most recent boosts, newest first (a boost a month at most is the norm: a page is plenty). */
export async function readBoosts(db: Executor, orgId: string) {
  const now = Date.now();
  const rows = await listBoosts(db, orgId, 100);
  return {
    items: rows.map((b) => ({
      id: b.id,
      tokens: b.tokens,
      createdAt: b.createdAt,
      expiresAt: b.expiresAt,
      active: b.expiresAt.getTime() > now,
      createdBy: b.createdById ? { id: b.createdById, email: b.createdByEmail } : null,
    })),
  };
}
