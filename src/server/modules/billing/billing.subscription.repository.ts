import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { membershipRole } from '../../platform/db/joins.ts';
import {
  departments,
  memberBudgets,
  memberships,
  organizations,
  roles,
  scimTokens,
  subscriptions,
} from '../../platform/db/schema.ts';

export type SubscriptionRow = typeof subscriptions.$inferSelect;

export async function findSubscription(db: Executor, orgId: string): Promise<SubscriptionRow | undefined> {
  const [row] = await db.select().from(subscriptions).where(eq(subscriptions.orgId, orgId));
  return row;
}

/** The row under a lock until commit (a change of plan or payment method holds it). */
export async function lockSubscription(db: Executor, orgId: string): Promise<SubscriptionRow | undefined> {
  const [row] = await db.select().from(subscriptions).where(eq(subscriptions.orgId, orgId)).for('update');
  return row;
}

export type SubscriptionFields = Partial<
  Pick<
    SubscriptionRow,
    | 'cycle'
    | 'periodStart'
    | 'periodEnd'
    | 'seats'
    | 'creditBalance'
    | 'paymentProvider'
    | 'paymentReference'
    | 'paymentBrand'
    | 'paymentLast4'
    | 'paymentExpMonth'
    | 'paymentExpYear'
  >
>;

export async function upsertSubscription(
  db: Executor,
  orgId: string,
  fields: SubscriptionFields,
): Promise<SubscriptionRow> {
  const [row] = await db
    .insert(subscriptions)
    .values({ orgId, ...fields })
    .onConflictDoUpdate({ target: subscriptions.orgId, set: { ...fields, updatedAt: sql`now()` } })
    .returning();
  return row!;
}

/** Active members: the seats a paid plan bills. */
export async function countActiveMembers(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active')));
  return row?.n ?? 0;
}

/** What a plan change would have to undo first: the org's use of plan-gated features. */
export interface PlanUsage {
  /** Active members of custom (not built-in) roles. */
  customRoleMembers: number;
  liveScimTokens: number;
  ipAllowlist: number;
  customSessionTimeout: boolean;
  departmentBudgets: number;
  memberBudgets: number;
}

export async function readPlanUsage(db: Executor, orgId: string): Promise<PlanUsage> {
  const [custom, scim, org, deptBudgets, ownBudgets] = await Promise.all([
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(memberships)
      .innerJoin(roles, membershipRole)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.status, 'active'), eq(roles.builtin, false))),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(scimTokens)
      .where(and(eq(scimTokens.orgId, orgId), isNull(scimTokens.revokedAt))),
    db
      .select({
        ipAllowlist: sql<number>`coalesce(cardinality(${organizations.ipAllowlist}), 0)::int`,
        sessionIdleMinutes: organizations.sessionIdleMinutes,
      })
      .from(organizations)
      .where(eq(organizations.id, orgId)),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(departments)
      .where(and(eq(departments.orgId, orgId), isNotNull(departments.monthlyBudget))),
    db.select({ n: sql<number>`count(*)::int` }).from(memberBudgets).where(eq(memberBudgets.orgId, orgId)),
  ]);
  return {
    customRoleMembers: custom[0]?.n ?? 0,
    liveScimTokens: scim[0]?.n ?? 0,
    ipAllowlist: org[0]?.ipAllowlist ?? 0,
    // 30 minutes is every plan's; any other idle timeout is a custom one.
    customSessionTimeout: org[0]?.sessionIdleMinutes != null && org[0].sessionIdleMinutes !== 30,
    departmentBudgets: deptBudgets[0]?.n ?? 0,
    memberBudgets: ownBudgets[0]?.n ?? 0,
  };
}

/** A payment method is on file (the setup checklist's billing step). */
export async function hasPaymentMethod(db: Executor, orgId: string): Promise<boolean> {
  const [row] = await db
    .select({ provider: subscriptions.paymentProvider })
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, orgId), isNotNull(subscriptions.paymentProvider)));
  return row !== undefined;
}
