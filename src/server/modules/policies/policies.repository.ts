import { and, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { policies } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

export interface PolicyRow {
  id: string;
  name: string;
  description: string | null;
  failOn: string;
  modules: string[];
  applicationIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

const columns = {
  id: policies.id,
  name: policies.name,
  description: policies.description,
  failOn: policies.failOn,
  modules: policies.modules,
  applicationIds: policies.applicationIds,
  createdAt: policies.createdAt,
  updatedAt: policies.updatedAt,
};

export interface PolicyValues {
  name: string;
  description: string | null;
  failOn: string;
  modules: string[];
  applicationIds: string[];
}

/** Newest first, keyset-paged. */
export async function listPolicies(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor },
): Promise<PolicyRow[]> {
  const conditions = [eq(policies.orgId, orgId)];
  if (page.after) conditions.push(keysetBefore(policies.createdAt, policies.id, page.after));
  return db
    .select(columns)
    .from(policies)
    .where(and(...conditions))
    .orderBy(desc(policies.createdAt), desc(policies.id))
    .limit(page.limit);
}

export async function findPolicy(db: Executor, orgId: string, id: string): Promise<PolicyRow | undefined> {
  const [row] = await db
    .select(columns)
    .from(policies)
    .where(and(eq(policies.orgId, orgId), eq(policies.id, id)));
  return row;
}

/** The row held for the rest of the transaction (an edit or delete of it waits). */
export async function lockPolicy(db: Executor, orgId: string, id: string): Promise<PolicyRow | undefined> {
  const [row] = await db
    .select(columns)
    .from(policies)
    .where(and(eq(policies.orgId, orgId), eq(policies.id, id)))
    .for('update');
  return row;
}

export async function insertPolicy(
  db: Executor,
  orgId: string,
  createdBy: string | null,
  values: PolicyValues,
): Promise<PolicyRow> {
  const [row] = await db
    .insert(policies)
    .values({ orgId, createdBy, ...values })
    .returning(columns);
  return row!;
}

export async function updatePolicy(
  db: Executor,
  orgId: string,
  id: string,
  values: Partial<PolicyValues>,
): Promise<PolicyRow> {
  const [row] = await db
    .update(policies)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(policies.orgId, orgId), eq(policies.id, id)))
    .returning(columns);
  return row!;
}

export async function deletePolicy(db: Executor, orgId: string, id: string): Promise<void> {
  await db.delete(policies).where(and(eq(policies.orgId, orgId), eq(policies.id, id)));
}
