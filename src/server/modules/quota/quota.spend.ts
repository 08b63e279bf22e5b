import { randomInt } from 'node:crypto';
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
  /**
   * The pool's use after this spend: exact when a threshold was reached; otherwise as this
   * transaction saw it (other spenders' uncommitted spending not counted).
   */
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

/** The pool's slots: concurrent spenders of one org spread over this many rows. */
export const POOL_SLOTS = 16;
const MASTER = 'org';

/**
 * Takes a spend from the org's monthly pool and, on plans with budgets, from the member's budget
 * and their department's and its ancestors' budgets, all in the caller's transaction.
 *
 * The pool is a master row and POOL_SLOTS slot rows (schema.ts, quota_counters). The common case
 * takes the spend from one slot, chosen at random, by one guarded update (`used + n <=
 * allotted`), so an org's concurrent spenders rarely wait for each other; the member's and
 * departments' counters move in the same statement, also guarded, and the ledger rows are
 * written only when every counter took the spend. When the slot cannot cover it (spent, never
 * allotted, or allotted under a larger limit than today's), the slow path takes the master row's
 * lock and every slot's, counts the pool's use exactly, spends on the master row if the pool
 * covers it, records the thresholds crossed, and allots the room left below the next threshold
 * (or the limit) to the slots again. So the pool is never overspent, and a threshold is crossed
 * only on the slow path, where the count is exact: each is recorded once, by the spend that
 * reached it. Rows are locked in one order (slot, then master, then every slot by subject;
 * member and departments last), so spenders never deadlock. Locks stay until the caller
 * commits: call this last in the transaction.
 *
 * Throws QuotaExhaustedError when any of them cannot cover it; the caller's transaction must then
 * roll back.
 */
export async function spendTokens(tx: Executor, input: SpendInput): Promise<SpendResult> {
  const at = input.at ?? new Date();
  const month = monthOf(at);
  const tokens = input.charges.reduce((sum, c) => sum + c.tokens, 0);
  const context = await spendContext(tx, input.orgId, input.userId, at);
  const { budgets, tokensPerMonth } = entitlements(context.plan);
  const limit = tokensPerMonth + context.boosts;

  const charged: Charge[] = [];
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

  const refuse = async (charge: Charge, used?: number): Promise<never> => {
    throw new QuotaExhaustedError(charge.who, {
      limit: charge.limit ?? 0,
      used: used ?? (await counterUsed(tx, input.orgId, month, charge.subject)),
      tokens,
      ...(charge.departmentId ? { departmentId: charge.departmentId } : {}),
    });
  };
  const pool: Charge = { subject: MASTER, limit, who: 'organization' };
  if (tokens > limit) return refuse(pool, await poolUsed(tx, input.orgId, month));
  // A subject's first spend of the month inserts its row unguarded: it must fit on its own.
  const tooBig = charged.find((c) => c.limit !== null && tokens > c.limit);
  if (tooBig) return refuse(tooBig);

  const statement = { tx, input, charged, month, at, tokens, limit, departmentId };
  const slot = `${MASTER}:${randomInt(POOL_SLOTS)}`;
  // An UPDATE that waited for the slot and then found it short still holds its lock; rolled back
  // to here, it lets go of it before waiting for the master row, which the slow path of another
  // spender may hold while it waits for this very slot.
  await tx.execute(sql`SAVEPOINT quota_slot`);
  const fast = await charge(statement, { subject: slot, guarded: true });
  if (fast.pool !== null) {
    const refused = charged.find((c) => !fast.moved.has(c.subject));
    if (refused) return refuse(refused);
    return { tokens, month, used: fast.total, limit, thresholdsReached: [] };
  }
  await tx.execute(sql`ROLLBACK TO SAVEPOINT quota_slot`);
  return spendOnMaster(statement, refuse);
}

interface Statement {
  tx: Executor;
  input: SpendInput;
  /** The member's and departments' counters (the pool's row is given apart). */
  charged: Charge[];
  month: string;
  at: Date;
  tokens: number;
  limit: number;
  departmentId: string | null;
}

/**
 * One statement: the pool row (a slot, guarded by its allotment and by the limit its allotment
 * was made under; or the master, already checked under its lock), then the member's and
 * departments' counters only if the pool row moved, then the ledger only if all moved.
 */
async function charge(
  s: Statement,
  pool: { subject: string; guarded: boolean },
): Promise<{ pool: number | null; total: number; moved: Map<string, number> }> {
  const { input, month, tokens } = s;
  const guard = pool.guarded
    ? sql`AND c.used + ${tokens}::int <= c.allotted
          AND coalesce((SELECT m.allot_limit FROM ${quotaCounters} m
                         WHERE m.org_id = ${input.orgId}::uuid AND m.month = ${month}::text
                           AND m.subject = ${MASTER}), ${NO_LIMIT}::int) <= ${s.limit}::int`
    : sql``;
  const others =
    s.charged.length === 0
      ? sql`SELECT NULL::text AS subject, NULL::int AS used WHERE false`
      : sql`INSERT INTO ${quotaCounters} AS c (org_id, month, subject, used)
            SELECT v.org_id, v.month, v.subject, v.used
              FROM (VALUES ${sql.join(
                s.charged.map(
                  (c) => sql`(${input.orgId}::uuid, ${month}::text, ${c.subject}::text, ${tokens}::int)`,
                ),
                sql`, `,
              )}) AS v(org_id, month, subject, used)
             WHERE EXISTS (SELECT 1 FROM pool)
            ON CONFLICT ON CONSTRAINT quota_counters_pkey DO UPDATE SET used = c.used + excluded.used
             WHERE c.used + excluded.used <= CASE excluded.subject ${sql.join(
               s.charged.map((c) => sql`WHEN ${c.subject}::text THEN ${c.limit ?? NO_LIMIT}::int`),
               sql` `,
             )} END
            RETURNING c.subject, c.used`;
  const ledger =
    input.charges.length === 0
      ? sql`(SELECT NULL::text AS module, NULL::int AS tokens WHERE false)`
      : sql`(VALUES ${sql.join(
          input.charges.map((c) => sql`(${c.module}::text, ${c.tokens}::int)`),
          sql`, `,
        )})`;
  const [row] = await rowsOf<{
    pool: number | null;
    total: number;
    counters: { subject: string; used: number }[] | null;
  }>(
    s.tx,
    sql`WITH pool AS (
          UPDATE ${quotaCounters} c SET used = c.used + ${tokens}::int
           WHERE c.org_id = ${input.orgId}::uuid AND c.month = ${month}::text AND c.subject = ${pool.subject}::text
                 ${guard}
          RETURNING c.used
        ),
        up AS (${others}),
        ok AS (SELECT EXISTS (SELECT 1 FROM pool) AND (SELECT count(*) FROM up) = ${s.charged.length} AS ok),
        led AS (
          INSERT INTO ${quotaLedger} (org_id, month, scan_id, user_id, department_id, module, tokens, created_at)
          SELECT ${input.orgId}::uuid, ${month}::text, ${input.scanId}::uuid, ${input.userId}::uuid,
                 ${s.departmentId}::uuid, l.module, l.tokens, ${s.at.toISOString()}::timestamptz
            FROM ${ledger} AS l(module, tokens)
           WHERE (SELECT ok FROM ok)
          RETURNING 1
        )
        SELECT (SELECT used FROM pool) AS pool,
               -- The pool's use as this statement's snapshot saw it (before this spend).
               (SELECT coalesce(sum(used), 0)::int FROM ${quotaCounters}
                 WHERE org_id = ${input.orgId}::uuid AND month = ${month}::text
                   AND (subject = ${MASTER} OR subject LIKE ${`${MASTER}:%`})) AS total,
               (SELECT json_agg(json_build_object('subject', subject, 'used', used)) FROM up) AS counters,
               (SELECT count(*) FROM led) AS ledger`,
  );
  return {
    pool: row?.pool ?? null,
    total: (row?.total ?? 0) + tokens,
    moved: new Map((row?.counters ?? []).map((c) => [c.subject, c.used])),
  };
}

/**
 * The slow path: under the master row's lock and every slot's, the pool's exact use; the spend
 * on the master row when the pool covers it; the thresholds it crossed; the slots allotted again.
 */
async function spendOnMaster(
  s: Statement,
  refuse: (charge: Charge, used?: number) => Promise<never>,
): Promise<SpendResult> {
  const { tx, input, month, tokens, limit } = s;
  await tx.execute(sql`
    INSERT INTO ${quotaCounters} (org_id, month, subject, used)
    VALUES (${input.orgId}::uuid, ${month}::text, ${MASTER}, 0)
    ON CONFLICT ON CONSTRAINT quota_counters_pkey DO NOTHING`);
  const [master] = await rowsOf<{ used: number }>(
    tx,
    sql`SELECT used FROM ${quotaCounters}
         WHERE org_id = ${input.orgId}::uuid AND month = ${month}::text AND subject = ${MASTER}
         FOR UPDATE`,
  );
  // Waits for the slots' spenders in flight: once they commit, every count below is exact.
  const slots = await rowsOf<{ subject: string; used: number }>(
    tx,
    sql`SELECT subject, used FROM ${quotaCounters}
         WHERE org_id = ${input.orgId}::uuid AND month = ${month}::text AND subject LIKE ${`${MASTER}:%`}
         ORDER BY subject
         FOR UPDATE`,
  );
  const before = (master?.used ?? 0) + slots.reduce((sum, r) => sum + r.used, 0);
  if (before + tokens > limit) return refuse({ subject: MASTER, limit, who: 'organization' }, before);
  const spent = await charge(s, { subject: MASTER, guarded: false });
  const refused = s.charged.find((c) => !spent.moved.has(c.subject));
  if (refused) return refuse(refused);
  const after = before + tokens;

  const [row] = await rowsOf<{ reached: number[] | null }>(
    tx,
    sql`WITH thr AS (
          INSERT INTO ${quotaThresholds} (org_id, month, percent, reached_at)
          SELECT ${input.orgId}::uuid, ${month}::text, p, ${s.at.toISOString()}::timestamptz
            FROM unnest(${`{${THRESHOLDS.join(',')}}`}::int[]) AS p
           WHERE ${limit}::int > 0 AND ${after}::bigint * 100 >= p::bigint * ${limit}::int
          ON CONFLICT DO NOTHING
          RETURNING percent
        )
        SELECT json_agg(percent ORDER BY percent) AS reached FROM thr`,
  );

  const thresholdsReached = row?.reached ?? [];
  // Each threshold's event is written with the row that records it: once per org per month.
  for (const percent of thresholdsReached) {
    const data: QuotaThresholdReachedData = { orgId: input.orgId, percent, month, used: after, limit };
    await emitEvent(tx, { type: 'quota.threshold_reached', orgId: input.orgId, data: { ...data }, at: s.at });
  }

  // Allot the room below the next threshold (or the limit) to the slots, in equal parts; a slot
  // keeps what it has spent. Nothing is allotted across a threshold: crossing it takes this path.
  const next = THRESHOLDS.map((p) => Math.ceil((p * limit) / 100)).find((b) => b > after);
  const room = (next === undefined ? limit : next - 1) - after;
  const share = Math.max(0, Math.floor(room / POOL_SLOTS));
  if (share === 0 && slots.length === 0) {
    return { tokens, month, used: after, limit, thresholdsReached };
  }
  // Every slot's allotment is set again, so what the slots had left goes back into the room.
  const used = new Map(slots.map((r) => [r.subject, r.used]));
  const allotments = Array.from({ length: POOL_SLOTS }, (_, i) => {
    const subject = `${MASTER}:${i}`;
    const spentBySlot = used.get(subject) ?? 0;
    return sql`(${input.orgId}::uuid, ${month}::text, ${subject}::text, ${spentBySlot}::int, ${spentBySlot + share}::int)`;
  });
  await tx.execute(sql`
    INSERT INTO ${quotaCounters} AS c (org_id, month, subject, used, allotted)
    VALUES ${sql.join(allotments, sql`, `)}
    ON CONFLICT ON CONSTRAINT quota_counters_pkey DO UPDATE SET allotted = excluded.allotted`);
  await tx.execute(sql`
    UPDATE ${quotaCounters} SET allot_limit = ${limit}::int
     WHERE org_id = ${input.orgId}::uuid AND month = ${month}::text AND subject = ${MASTER}`);
  return { tokens, month, used: after, limit, thresholdsReached };
}

/** The pool's use in a month: the master row and every slot. */
export async function poolUsed(tx: Executor, orgId: string, month: string): Promise<number> {
  const [row] = await rowsOf<{ used: number }>(
    tx,
    sql`SELECT coalesce(sum(used), 0)::int AS used FROM ${quotaCounters}
         WHERE org_id = ${orgId}::uuid AND month = ${month}::text
           AND (subject = ${MASTER} OR subject LIKE ${`${MASTER}:%`})`,
  );
  return row?.used ?? 0;
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
