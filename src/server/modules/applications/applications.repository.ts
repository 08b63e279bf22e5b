import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { applications } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

const columns = {
  id: applications.id,
  name: applications.name,
  repositoryUrl: applications.repositoryUrl,
  description: applications.description,
  createdBy: applications.createdBy,
  createdAt: applications.createdAt,
  updatedAt: applications.updatedAt,
};

export type ApplicationRow = {
  id: string;
  name: string;
  repositoryUrl: string | null;
  description: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
};

export async function insertApplication(
  tx: Executor,
  orgId: string,
  values: {
    name: string;
    repositoryUrl: string | null;
    description: string | null;
    createdBy: string | null;
  },
): Promise<ApplicationRow> {
  const [row] = await tx
    .insert(applications)
    .values({ orgId, ...values })
    .returning(columns);
  return row!;
}

/** One application of the org; `lock` holds it (FOR UPDATE) for an edit or a deletion. */
export async function findApplication(
  tx: Executor,
  orgId: string,
  id: string,
  lock = false,
): Promise<ApplicationRow | undefined> {
  const query = tx
    .select(columns)
    .from(applications)
    .where(and(eq(applications.orgId, orgId), eq(applications.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  return row;
}

/** An application by its name, compared case-insensitively as the unique index does. */
export async function findApplicationByName(
  tx: Executor,
  orgId: string,
  name: string,
): Promise<ApplicationRow | undefined> {
  const [row] = await tx
    .select(columns)
    .from(applications)
    .where(and(eq(applications.orgId, orgId), sql`lower(${applications.name}) = lower(${name})`));
  return row;
}

export async function listApplications(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor; name?: string },
): Promise<ApplicationRow[]> {
  const conditions = [eq(applications.orgId, orgId)];
  if (page.name !== undefined) conditions.push(sql`lower(${applications.name}) = lower(${page.name})`);
  if (page.after) conditions.push(keysetBefore(applications.createdAt, applications.id, page.after));
  return db
    .select(columns)
    .from(applications)
    .where(and(...conditions))
    .orderBy(desc(applications.createdAt), desc(applications.id))
    .limit(page.limit);
}

export async function updateApplication(
  tx: Executor,
  orgId: string,
  id: string,
  values: { name?: string; repositoryUrl?: string | null; description?: string | null },
): Promise<ApplicationRow> {
  const [row] = await tx
    .update(applications)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(applications.orgId, orgId), eq(applications.id, id)))
    .returning(columns);
  return row!;
}

/** Deletes the application; its scans and findings go with it (foreign keys cascade). */
export async function deleteApplication(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(applications).where(and(eq(applications.orgId, orgId), eq(applications.id, id)));
}

/**
 * Which of `ids` are applications of the org, each held (KEY SHARE) until the transaction ends:
 * an application deleted meanwhile waits for the policy naming it to commit, or is not found here.
 * Another org's id is simply not among them.
 */
export async function lockOrgApplications(
  db: Executor,
  orgId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: applications.id })
    .from(applications)
    .where(and(eq(applications.orgId, orgId), inArray(applications.id, [...ids])))
    .for('key share');
  return new Set(rows.map((r) => r.id));
}

/** Every application of the org, oldest first (what a scheduled scan covers). */
export async function listAllApplications(
  db: Executor,
  orgId: string,
): Promise<Array<{ id: string; name: string; repositoryUrl: string | null }>> {
  return db
    .select({ id: applications.id, name: applications.name, repositoryUrl: applications.repositoryUrl })
    .from(applications)
    .where(eq(applications.orgId, orgId))
    .orderBy(applications.createdAt, applications.id);
}
