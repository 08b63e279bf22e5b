import { and, asc, desc, eq, gt, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import {
  departmentMembers,
  departments,
  memberBudgets,
  memberships,
  moduleCosts,
  organizations,
  quotaBoosts,
  quotaCounters,
  quotaLedger,
  users,
} from '../../platform/db/schema.ts';
import type { ScanModule } from './quota.spend.ts';

/** The deepest a department tree may be: spendTokens charges a member's whole chain. */
export const MAX_DEPARTMENT_DEPTH = 8;

export interface DepartmentRow {
  id: string;
  name: string;
  parentId: string | null;
  monthlyBudget: number | null;
  createdAt: Date;
  updatedAt: Date;
}

const departmentColumns = {
  id: departments.id,
  name: departments.name,
  parentId: departments.parentId,
  monthlyBudget: departments.monthlyBudget,
  createdAt: departments.createdAt,
  updatedAt: departments.updatedAt,
};

/** The raw rows of a query (both drivers answer `{ rows }`). */
async function rowsOf<T>(tx: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await tx.execute(query)) as unknown as { rows: T[] }).rows;
}

/**
 * Serializes every change to one organization's departments (their tree and who belongs where)
 * until the transaction ends: two re-parentings that would each be fine alone but together close
 * a cycle can then never both pass their check.
 */
export async function lockOrgDepartments(tx: Executor, orgId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`departments:${orgId}`}, 0))`);
}

export async function listDepartments(tx: Executor, orgId: string): Promise<DepartmentRow[]> {
  return tx
    .select(departmentColumns)
    .from(departments)
    .where(eq(departments.orgId, orgId))
    .orderBy(asc(sql`lower(${departments.name})`), asc(departments.id));
}

export async function findDepartment(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<DepartmentRow | undefined> {
  const [row] = await tx
    .select(departmentColumns)
    .from(departments)
    .where(and(eq(departments.orgId, orgId), eq(departments.id, id)));
  return row;
}

/** Active members of departments (a removed member's row stays until they return or are purged). */
export async function listDepartmentMembers(tx: Executor, orgId: string, departmentIds?: string[]) {
  if (departmentIds && departmentIds.length === 0) return [];
  return tx
    .select({
      departmentId: departmentMembers.departmentId,
      userId: departmentMembers.userId,
      email: users.email,
      name: users.name,
    })
    .from(departmentMembers)
    .innerJoin(
      memberships,
      and(eq(memberships.orgId, departmentMembers.orgId), eq(memberships.userId, departmentMembers.userId)),
    )
    .innerJoin(users, eq(users.id, departmentMembers.userId))
    .where(
      and(
        eq(departmentMembers.orgId, orgId),
        eq(memberships.status, 'active'),
        departmentIds ? inArray(departmentMembers.departmentId, departmentIds) : undefined,
      ),
    )
    .orderBy(asc(users.email));
}

/** Of `userIds`, those who are active members of the org. */
export async function activeMemberIds(tx: Executor, orgId: string, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await tx
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(
      and(
        eq(memberships.orgId, orgId),
        inArray(memberships.userId, userIds),
        eq(memberships.status, 'active'),
      ),
    );
  return new Set(rows.map((r) => r.userId));
}

/** Where each of `userIds` belongs now (any membership status). */
export async function departmentsOf(tx: Executor, orgId: string, userIds: string[]) {
  if (userIds.length === 0) return new Map<string, string>();
  const rows = await tx
    .select({ userId: departmentMembers.userId, departmentId: departmentMembers.departmentId })
    .from(departmentMembers)
    .where(and(eq(departmentMembers.orgId, orgId), inArray(departmentMembers.userId, userIds)));
  return new Map(rows.map((r) => [r.userId, r.departmentId]));
}

/** `id` and its ancestors, nearest first (bounded: a tree is at most MAX_DEPARTMENT_DEPTH deep). */
export async function ancestorsOf(tx: Executor, orgId: string, id: string): Promise<string[]> {
  const rows = await rowsOf<{ id: string }>(
    tx,
    sql`WITH RECURSIVE up(id, parent_id, depth) AS (
          SELECT id, parent_id, 0 FROM ${departments} WHERE org_id = ${orgId} AND id = ${id}
          UNION ALL
          SELECT d.id, d.parent_id, u.depth + 1 FROM up u
            JOIN ${departments} d ON d.org_id = ${orgId} AND d.id = u.parent_id
           WHERE u.depth < ${MAX_DEPARTMENT_DEPTH * 4}
        )
        SELECT id FROM up ORDER BY depth`,
  );
  return rows.map((r) => r.id);
}

/** Levels below `id` (0: no children). */
export async function heightBelow(tx: Executor, orgId: string, id: string): Promise<number> {
  const [row] = await rowsOf<{ height: number }>(
    tx,
    sql`WITH RECURSIVE down(id, depth) AS (
          SELECT id, 0 FROM ${departments} WHERE org_id = ${orgId} AND id = ${id}
          UNION ALL
          SELECT d.id, w.depth + 1 FROM down w
            JOIN ${departments} d ON d.org_id = ${orgId} AND d.parent_id = w.id
           WHERE w.depth < ${MAX_DEPARTMENT_DEPTH * 4}
        )
        SELECT max(depth)::int AS height FROM down`,
  );
  return row?.height ?? 0;
}

export async function hasChildren(tx: Executor, orgId: string, id: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: departments.id })
    .from(departments)
    .where(and(eq(departments.orgId, orgId), eq(departments.parentId, id)))
    .limit(1);
  return row !== undefined;
}

export async function insertDepartment(
  tx: Executor,
  orgId: string,
  fields: { name: string; parentId: string | null; monthlyBudget: number | null },
): Promise<DepartmentRow> {
  const [row] = await tx
    .insert(departments)
    .values({ orgId, ...fields })
    .returning(departmentColumns);
  return row!;
}

export async function updateDepartment(
  tx: Executor,
  orgId: string,
  id: string,
  fields: Partial<{ name: string; parentId: string | null; monthlyBudget: number | null }>,
): Promise<DepartmentRow> {
  const [row] = await tx
    .update(departments)
    .set({ ...fields, updatedAt: sql`now()` })
    .where(and(eq(departments.orgId, orgId), eq(departments.id, id)))
    .returning(departmentColumns);
  return row!;
}

export async function deleteDepartment(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(departments).where(and(eq(departments.orgId, orgId), eq(departments.id, id)));
}

/** Makes `userIds` exactly the department's members; each leaves whatever department they were in. */
export async function setDepartmentMembers(
  tx: Executor,
  orgId: string,
  departmentId: string,
  userIds: string[],
): Promise<void> {
  await tx
    .delete(departmentMembers)
    .where(and(eq(departmentMembers.orgId, orgId), eq(departmentMembers.departmentId, departmentId)));
  if (userIds.length === 0) return;
  await tx
    .insert(departmentMembers)
    .values(userIds.map((userId) => ({ orgId, userId, departmentId })))
    .onConflictDoUpdate({
      target: [departmentMembers.orgId, departmentMembers.userId],
      set: { departmentId },
    });
}

export async function findMemberBudget(tx: Executor, orgId: string, userId: string) {
  const [row] = await tx
    .select({ monthlyTokens: memberBudgets.monthlyTokens })
    .from(memberBudgets)
    .where(and(eq(memberBudgets.orgId, orgId), eq(memberBudgets.userId, userId)))
    .for('update');
  return row?.monthlyTokens ?? null;
}

export async function putMemberBudget(
  tx: Executor,
  orgId: string,
  userId: string,
  monthlyTokens: number | null,
): Promise<void> {
  if (monthlyTokens === null) {
    await tx
      .delete(memberBudgets)
      .where(and(eq(memberBudgets.orgId, orgId), eq(memberBudgets.userId, userId)));
    return;
  }
  await tx
    .insert(memberBudgets)
    .values({ orgId, userId, monthlyTokens })
    .onConflictDoUpdate({
      target: [memberBudgets.orgId, memberBudgets.userId],
      set: { monthlyTokens, updatedAt: sql`now()` },
    });
}

/** Active members' budgets with what each spent in `month`. */
export async function listMemberBudgets(tx: Executor, orgId: string, month: string) {
  return tx
    .select({
      userId: memberBudgets.userId,
      email: users.email,
      name: users.name,
      monthlyTokens: memberBudgets.monthlyTokens,
      used: sql<number>`coalesce(${quotaCounters.used}, 0)::int`,
    })
    .from(memberBudgets)
    .innerJoin(
      memberships,
      and(eq(memberships.orgId, memberBudgets.orgId), eq(memberships.userId, memberBudgets.userId)),
    )
    .innerJoin(users, eq(users.id, memberBudgets.userId))
    .leftJoin(
      quotaCounters,
      and(
        eq(quotaCounters.orgId, memberBudgets.orgId),
        eq(quotaCounters.month, month),
        eq(quotaCounters.subject, sql`'member:' || ${memberBudgets.userId}::text`),
      ),
    )
    .where(and(eq(memberBudgets.orgId, orgId), eq(memberships.status, 'active')))
    .orderBy(asc(users.email));
}

/**
 * Serializes an organization's boosts until the transaction ends, so that two boosts granted at
 * once are each checked against the other (see boostsOverlapping).
 */
export async function lockOrgBoosts(tx: Executor, orgId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`quota_boosts:${orgId}`}, 0))`);
}

export async function insertBoost(
  tx: Executor,
  orgId: string,
  fields: { tokens: number; createdBy: string | null; expiresAt: Date },
) {
  const [row] = await tx
    .insert(quotaBoosts)
    .values({ orgId, ...fields })
    .returning({
      id: quotaBoosts.id,
      tokens: quotaBoosts.tokens,
      createdAt: quotaBoosts.createdAt,
      expiresAt: quotaBoosts.expiresAt,
    });
  return row!;
}

/** The org's boosts, newest first (the most recent `limit`). */
export async function listBoosts(tx: Executor, orgId: string, limit: number) {
  return tx
    .select({
      id: quotaBoosts.id,
      tokens: quotaBoosts.tokens,
      createdAt: quotaBoosts.createdAt,
      expiresAt: quotaBoosts.expiresAt,
      createdById: quotaBoosts.createdBy,
      createdByEmail: users.email,
    })
    .from(quotaBoosts)
    .leftJoin(users, eq(users.id, quotaBoosts.createdBy))
    .where(eq(quotaBoosts.orgId, orgId))
    .orderBy(desc(quotaBoosts.createdAt), desc(quotaBoosts.id))
    .limit(limit);
}

/**
 * Tokens of the boosts in force at any moment of [from, to), or from `from` on (without `to`):
 * summed as float8 (exact that far), since boosts that never overlapped may sum past the int
 * range the pool in force is kept under, and a boost is checked against that range with it.
 */
export async function boostsOverlapping(tx: Executor, orgId: string, from: Date, to?: Date): Promise<number> {
  const [row] = await tx
    .select({ tokens: sql<number>`coalesce(sum(${quotaBoosts.tokens}), 0)::float8` })
    .from(quotaBoosts)
    .where(
      and(
        eq(quotaBoosts.orgId, orgId),
        to ? lt(quotaBoosts.createdAt, to) : undefined,
        gt(quotaBoosts.expiresAt, from),
      ),
    );
  return row?.tokens ?? 0;
}

/** Boosts granted in [from, to): what a renewal bills for the period that ended. */
export async function listBoostsGranted(
  tx: Executor,
  orgId: string,
  from: Date,
  to: Date,
): Promise<{ id: string; tokens: number; createdAt: Date }[]> {
  return tx
    .select({ id: quotaBoosts.id, tokens: quotaBoosts.tokens, createdAt: quotaBoosts.createdAt })
    .from(quotaBoosts)
    .where(and(eq(quotaBoosts.orgId, orgId), gte(quotaBoosts.createdAt, from), lt(quotaBoosts.createdAt, to)))
    .orderBy(asc(quotaBoosts.createdAt), asc(quotaBoosts.id));
}

export async function orgPlan(tx: Executor, orgId: string): Promise<string> {
  const [row] = await tx
    .select({ plan: organizations.plan })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return row?.plan ?? 'free';
}

export async function usageByModule(tx: Executor, orgId: string, month: string) {
  return tx
    .select({ module: quotaLedger.module, tokens: sql<number>`sum(${quotaLedger.tokens})::int` })
    .from(quotaLedger)
    .where(and(eq(quotaLedger.orgId, orgId), eq(quotaLedger.month, month)))
    .groupBy(quotaLedger.module);
}

/** Spending by member in `month`, most first; an automation token's spending has no user. */
export async function usageByMember(tx: Executor, orgId: string, month: string) {
  return tx
    .select({
      userId: quotaLedger.userId,
      email: users.email,
      tokens: sql<number>`sum(${quotaLedger.tokens})::int`,
    })
    .from(quotaLedger)
    .leftJoin(users, eq(users.id, quotaLedger.userId))
    .where(and(eq(quotaLedger.orgId, orgId), eq(quotaLedger.month, month)))
    .groupBy(quotaLedger.userId, users.email)
    .orderBy(desc(sql`sum(${quotaLedger.tokens})`), asc(users.email));
}

/** What the ledger holds per month, for the months listed. */
export async function ledgerByMonth(tx: Executor, orgId: string, months: string[]) {
  const rows = await tx
    .select({ month: quotaLedger.month, used: sql<number>`sum(${quotaLedger.tokens})::int` })
    .from(quotaLedger)
    .where(and(eq(quotaLedger.orgId, orgId), inArray(quotaLedger.month, months)))
    .groupBy(quotaLedger.month);
  return new Map(rows.map((r) => [r.month, r.used]));
}

export async function setModuleCost(tx: Executor, module: ScanModule, tokens: number) {
  const [before] = await tx
    .select({ tokens: moduleCosts.tokens })
    .from(moduleCosts)
    .where(eq(moduleCosts.module, module))
    .for('update');
  if (before?.tokens === tokens) return { before: tokens, changed: false };
  await tx
    .insert(moduleCosts)
    .values({ module, tokens })
    .onConflictDoUpdate({ target: moduleCosts.module, set: { tokens, updatedAt: sql`now()` } });
  return { before: before?.tokens ?? null, changed: true };
}
