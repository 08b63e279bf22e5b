import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { QuotaThresholdReachedData } from '../../../contracts/events.ts';
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
import { emitEvent } from '../../platform/outbox/index.ts';

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

/** Stands for "no limit" in the guarded upsert (counters are 32-bit integers). */
const NO_LIMIT = 2_147_483_647;

interface Charge {
  subject: string;
  limit: number | null;
  who: QuotaSubject;
  departmentId?: string;
}

/** The raw rows of a statement (both drivers answer `{ rows }`). */
async function rowsOf<T>(tx: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await tx.execute(query)) as unknown as { rows: T[] }).rows;
}

/** The plan, the unexpired boosts and the member's own budget, in one read. */
async function spendContext(tx: Executor, orgId: string, userId: string | null, at: Date) {
  const [row] = await rowsOf<{ plan: string | null; boosts: number; budget: number | null }>(
    tx,
    sql`SELECT (SELECT plan FROM ${organizations} WHERE id = ${orgId}) AS plan,
               (SELECT coalesce(sum(tokens), 0)::int FROM ${quotaBoosts}
                 WHERE org_id = ${orgId} AND expires_at > ${at.toISOString()}::timestamptz) AS boosts,
               (SELECT monthly_tokens FROM ${memberBudgets}
                 WHERE org_id = ${orgId} AND user_id = ${userId}::uuid) AS budget`,
  );
  return { plan: row?.plan ?? 'free', boosts: row?.boosts ?? 0, memberBudget: row?.budget ?? null };
}

async function counterUsed(tx: Executor, orgId: string, month: string, subject: string): Promise<number> {
  const [row] = await tx
    .select({ used: quotaCounters.used })
    .from(quotaCounters)
    .where(
      and(eq(quotaCounters.orgId, orgId), eq(quotaCounters.month, month), eq(quotaCounters.subject, subject)),
    );
  return row?.used ?? 0;
}

/**
 * Takes a spend from the org's monthly pool and, on plans with budgets, from the member's budget
 * and their department's and its ancestors' budgets, all in the caller's transaction.
 *
 * Every counter moves in one statement: a multi-row upsert whose update is guarded
 * (`used + tokens <= limit`), with the ledger rows and the thresholds written by the same
 * statement only when every counter took the spend. Concurrent spenders queue on the counters'
 * rows, each seeing the others' committed spending, so none is ever overspent; the rows are taken
 * in one order (pool, member, departments nearest first), so spenders never deadlock. The rows stay
 * locked until the caller commits: call this last in the transaction, so that the org's spenders
 * wait for each other as briefly as possible.
 *
 * Throws QuotaExhaustedError when any of them cannot cover it; the caller's transaction must then
 * roll back (the counters that could cover it were already moved).
 */
export async function spendTokens(tx: Executor, input: SpendInput): Promise<SpendResult> {
  const at = input.at ?? new Date();
  const month = monthOf(at);
  const tokens = input.charges.reduce((sum, c) => sum + c.tokens, 0);
  const context = await spendContext(tx, input.orgId, input.userId, at);
  const { budgets, tokensPerMonth } = entitlements(context.plan);
  const limit = tokensPerMonth + context.boosts;

  const charged: Charge[] = [{ subject: 'org', limit, who: 'organization' }];
  let departmentId: string | null = null;
  if (input.userId) {
    charged.push({
      subject: `member:${input.userId}`,
      limit: budgets ? context.memberBudget : null,
      who: 'member',
    });
    const chain = await departmentChain(tx, input.orgId, input.userId);
    departmentId = chain[0]?.id ?? null;
    for (const d of chain) {
      charged.push({
        subject: `department:${d.id}`,
        limit: budgets ? d.budget : null,
        who: 'department',
        departmentId: d.id,
      });
    }
  }

  const refuse = async (charge: Charge): Promise<never> => {
    const used = await counterUsed(tx, input.orgId, month, charge.subject);
    throw new QuotaExhaustedError(charge.who, {
      limit: charge.limit ?? 0,
      used,
      tokens,
      ...(charge.departmentId ? { departmentId: charge.departmentId } : {}),
    });
  };
  // A subject's first spend of the month inserts its row unguarded: it must fit on its own.
  const tooBig = charged.find((c) => c.limit !== null && tokens > c.limit);
  if (tooBig) return refuse(tooBig);

  const values = sql.join(
    charged.map((c) => sql`(${input.orgId}::uuid, ${month}::text, ${c.subject}::text, ${tokens}::int)`),
    sql`, `,
  );
  const limits = sql.join(
    charged.map((c) => sql`WHEN ${c.subject}::text THEN ${c.limit ?? NO_LIMIT}::int`),
    sql` `,
  );
  const ledger =
    input.charges.length === 0
      ? sql`(SELECT NULL::text AS module, NULL::int AS tokens WHERE false)`
      : sql`(VALUES ${sql.join(
          input.charges.map((c) => sql`(${c.module}::text, ${c.tokens}::int)`),
          sql`, `,
        )})`;
  const [row] = await rowsOf<{
    counters: { subject: string; used: number }[] | null;
    reached: number[] | null;
  }>(
    tx,
    sql`WITH up AS (
          INSERT INTO ${quotaCounters} AS c (org_id, month, subject, used) VALUES ${values}
          ON CONFLICT ON CONSTRAINT quota_counters_pkey DO UPDATE SET used = c.used + excluded.used
           WHERE c.used + excluded.used <= CASE excluded.subject ${limits} END
          RETURNING c.subject, c.used
        ),
        ok AS (SELECT count(*) = ${charged.length} AS ok FROM up),
        led AS (
          INSERT INTO ${quotaLedger} (org_id, month, scan_id, user_id, department_id, module, tokens, created_at)
          SELECT ${input.orgId}::uuid, ${month}::text, ${input.scanId}::uuid, ${input.userId}::uuid,
                 ${departmentId}::uuid, l.module, l.tokens, ${at.toISOString()}::timestamptz
            FROM ${ledger} AS l(module, tokens)
           WHERE (SELECT ok FROM ok)
          RETURNING 1
        ),
        thr AS (
          INSERT INTO ${quotaThresholds} (org_id, month, percent, reached_at)
          SELECT ${input.orgId}::uuid, ${month}::text, p, ${at.toISOString()}::timestamptz
            FROM unnest(${`{${THRESHOLDS.join(',')}}`}::int[]) AS p
           WHERE (SELECT ok FROM ok) AND ${limit}::int > 0
             AND (SELECT used FROM up WHERE subject = 'org')::bigint * 100 >= p::bigint * ${limit}::int
          ON CONFLICT DO NOTHING
          RETURNING percent
        )
        SELECT (SELECT json_agg(json_build_object('subject', subject, 'used', used)) FROM up) AS counters,
               (SELECT json_agg(percent ORDER BY percent) FROM thr) AS reached,
               (SELECT count(*) FROM led) AS ledger`,
  );
  const moved = new Map((row?.counters ?? []).map((c) => [c.subject, c.used]));
  const refused = charged.find((c) => !moved.has(c.subject));
  if (refused) return refuse(refused);
  const used = moved.get('org')!;
  const thresholdsReached = row?.reached ?? [];
  // Each threshold's event is written with the row that records it: once per org per month.
  for (const percent of thresholdsReached) {
    const data: QuotaThresholdReachedData = { orgId: input.orgId, percent, month, used, limit };
    await emitEvent(tx, { type: 'quota.threshold_reached', orgId: input.orgId, data: { ...data }, at });
  }
  return { tokens, month, used, limit, thresholdsReached };
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
