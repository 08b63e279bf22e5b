import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { entitlements } from '../../../contracts/plans.ts';
import { SCAN_MODULES, type ScanModule } from '../../../contracts/scans.ts';
import type { Executor } from '../../platform/db/client.ts';
import {
  departmentMembers,
  departments,
  memberBudgets,
  moduleCosts,
  organizations,
  quotaBoosts,
  quotaCounters,
  quotaLedger,
  quotaThresholds,
} from '../../platform/db/schema.ts';
import { AppError } from '../../platform/errors/app-error.ts';

export { SCAN_MODULES, type ScanModule };

/** The pool thresholds recorded once per org per month (`quota.threshold_reached`). */
export const THRESHOLDS = [50, 75, 90, 100] as const;

/** Which budget could not cover a spend. */
export type QuotaSubject = 'organization' | 'member' | 'department';

export class QuotaExhaustedError extends AppError {
  constructor(
    subject: QuotaSubject,
    detail: { limit: number; used: number; tokens: number; departmentId?: string },
  ) {
    const whose =
      subject === 'organization'
        ? "the organization's monthly pool"
        : subject === 'member'
          ? "the member's monthly budget"
          : "a department's monthly budget";
    super(
      409,
      'quota_exhausted',
      'Quota exhausted',
      `This costs ${detail.tokens} tokens; ${whose} has ${Math.max(0, detail.limit - detail.used)} of ${detail.limit} left this month.`,
      { params: { subject, ...detail } },
    );
  }
}

/** The calendar month (UTC) a moment falls in, as `YYYY-MM`. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** Tokens per module as the operator set them. */
export async function readModuleCosts(tx: Executor): Promise<Record<ScanModule, number>> {
  const rows = await tx.select({ module: moduleCosts.module, tokens: moduleCosts.tokens }).from(moduleCosts);
  const costs = Object.fromEntries(SCAN_MODULES.map((m) => [m, 0])) as Record<ScanModule, number>;
  for (const row of rows) costs[row.module as ScanModule] = row.tokens;
  return costs;
}

/** The month's pool of an org at `at`: its plan's tokens plus every boost not yet expired. */
export async function poolLimit(
  tx: Executor,
  orgId: string,
  plan: string,
  at: Date,
): Promise<{ limit: number; boosts: number }> {
  const [row] = await tx
    .select({ boosts: sql<number>`coalesce(sum(${quotaBoosts.tokens}), 0)::int` })
    .from(quotaBoosts)
    .where(and(eq(quotaBoosts.orgId, orgId), gt(quotaBoosts.expiresAt, at)));
  const boosts = row?.boosts ?? 0;
  return { limit: entitlements(plan).tokensPerMonth + boosts, boosts };
}

/** A member's department and its ancestors, nearest first. */
async function departmentChain(tx: Executor, orgId: string, userId: string) {
  const result = (await tx.execute(sql`
    WITH RECURSIVE chain(id, parent_id, monthly_budget, depth) AS (
      SELECT d.id, d.parent_id, d.monthly_budget, 0
        FROM ${departmentMembers} dm JOIN ${departments} d ON d.org_id = dm.org_id AND d.id = dm.department_id
       WHERE dm.org_id = ${orgId} AND dm.user_id = ${userId}
      UNION ALL
      SELECT d.id, d.parent_id, d.monthly_budget, c.depth + 1
        FROM chain c JOIN ${departments} d ON d.org_id = ${orgId} AND d.id = c.parent_id
       WHERE c.depth < 32
    )
    SELECT id, monthly_budget FROM chain ORDER BY depth`)) as unknown as {
    rows: { id: string; monthly_budget: number | null }[];
  };
  // Both drivers (pg and PGlite) answer raw queries with `{ rows }`.
  return result.rows.map((r) => ({ id: r.id, budget: r.monthly_budget }));
}

/**
 * Adds `tokens` to one counter if it stays within `limit` (null: no limit), by one guarded UPDATE:
 * concurrent spenders queue on the row and each sees the others' committed spending.
 * Returns the new total, or null when the limit would be passed.
 */
async function addToCounter(
  tx: Executor,
  key: { orgId: string; month: string; subject: string },
  tokens: number,
  limit: number | null,
): Promise<{ used: number } | { refused: number }> {
  await tx
    .insert(quotaCounters)
    .values({ ...key, used: 0 })
    .onConflictDoNothing();
  const where = and(
    eq(quotaCounters.orgId, key.orgId),
    eq(quotaCounters.month, key.month),
    eq(quotaCounters.subject, key.subject),
  );
  const [row] = await tx
    .update(quotaCounters)
    .set({ used: sql`${quotaCounters.used} + ${tokens}` })
    .where(limit === null ? where : and(where, sql`${quotaCounters.used} + ${tokens} <= ${limit}`))
    .returning({ used: quotaCounters.used });
  if (row) return { used: row.used };
  const [current] = await tx.select({ used: quotaCounters.used }).from(quotaCounters).where(where);
  return { refused: current?.used ?? 0 };
}

export interface SpendInput {
  orgId: string;
  /** Whose budget (and department) is charged besides the pool; null for an automation token. */
  userId: string | null;
  scanId: string | null;
  /** Tokens per module; modules costing 0 are still written to the ledger. */
  charges: { module: ScanModule; tokens: number }[];
  at?: Date;
}

export interface SpendResult {
  tokens: number;
  month: string;
  /** The pool after this spend. */
  used: number;
  limit: number;
  /** Thresholds this spend crossed first in the month (each reported once per org per month). */
  thresholdsReached: number[];
}

/**
 * Takes a spend from the org's monthly pool and, on plans with budgets, from the member's budget
 * and their department's and its ancestors' budgets, all in the caller's transaction: each by a
 * guarded UPDATE, so no concurrency overspends any of them. The pool's row is always taken first,
 * so spenders of one org queue there and never deadlock on the rows after it. Throws
 * QuotaExhaustedError (and the caller's transaction rolls back whatever was taken) when any of
 * them cannot cover it.
 */
export async function spendTokens(tx: Executor, input: SpendInput): Promise<SpendResult> {
  const at = input.at ?? new Date();
  const month = monthOf(at);
  const tokens = input.charges.reduce((sum, c) => sum + c.tokens, 0);
  const [org] = await tx
    .select({ plan: organizations.plan })
    .from(organizations)
    .where(eq(organizations.id, input.orgId));
  const plan = org?.plan ?? 'free';
  const { limit } = await poolLimit(tx, input.orgId, plan, at);

  const pool = await addToCounter(tx, { orgId: input.orgId, month, subject: 'org' }, tokens, limit);
  if ('refused' in pool) throw new QuotaExhaustedError('organization', { limit, used: pool.refused, tokens });

  let departmentId: string | null = null;
  if (input.userId) {
    const budgets = entitlements(plan).budgets;
    const [own] = budgets
      ? await tx
          .select({ monthlyTokens: memberBudgets.monthlyTokens })
          .from(memberBudgets)
          .where(and(eq(memberBudgets.orgId, input.orgId), eq(memberBudgets.userId, input.userId)))
      : [];
    const memberLimit = own?.monthlyTokens ?? null;
    const member = await addToCounter(
      tx,
      { orgId: input.orgId, month, subject: `member:${input.userId}` },
      tokens,
      memberLimit,
    );
    if ('refused' in member) {
      throw new QuotaExhaustedError('member', { limit: memberLimit ?? 0, used: member.refused, tokens });
    }
    const chain = await departmentChain(tx, input.orgId, input.userId);
    departmentId = chain[0]?.id ?? null;
    for (const department of chain) {
      const departmentLimit = budgets ? department.budget : null;
      const spent = await addToCounter(
        tx,
        { orgId: input.orgId, month, subject: `department:${department.id}` },
        tokens,
        departmentLimit,
      );
      if ('refused' in spent) {
        throw new QuotaExhaustedError('department', {
          limit: departmentLimit ?? 0,
          used: spent.refused,
          tokens,
          departmentId: department.id,
        });
      }
    }
  }

  if (input.charges.length > 0) {
    await tx.insert(quotaLedger).values(
      input.charges.map((c) => ({
        orgId: input.orgId,
        month,
        scanId: input.scanId,
        userId: input.userId,
        departmentId,
        module: c.module,
        tokens: c.tokens,
        createdAt: at,
      })),
    );
  }

  const crossed = limit > 0 ? THRESHOLDS.filter((p) => pool.used * 100 >= p * limit) : [];
  const thresholdsReached =
    crossed.length === 0
      ? []
      : (
          await tx
            .insert(quotaThresholds)
            .values(crossed.map((percent) => ({ orgId: input.orgId, month, percent, reachedAt: at })))
            .onConflictDoNothing()
            .returning({ percent: quotaThresholds.percent })
        )
          .map((r) => r.percent)
          .sort((a, b) => a - b);

  return { tokens, month, used: pool.used, limit, thresholdsReached };
}

/** Counters of several subjects in one month (usage views). */
export async function readCounters(tx: Executor, orgId: string, month: string, subjects: string[]) {
  if (subjects.length === 0) return new Map<string, number>();
  const rows = await tx
    .select({ subject: quotaCounters.subject, used: quotaCounters.used })
    .from(quotaCounters)
    .where(
      and(
        eq(quotaCounters.orgId, orgId),
        eq(quotaCounters.month, month),
        inArray(quotaCounters.subject, subjects),
      ),
    );
  return new Map(rows.map((r) => [r.subject, r.used]));
}
