import { and, count, desc, eq, sql } from 'drizzle-orm';
import type {
  ConnectionTestResult,
  IntegrationConfigValue,
  IntegrationKind,
  IntegrationProvider,
  IntegrationStatus,
} from '../../../contracts/integrations.ts';
import type { Executor } from '../../platform/db/client.ts';
import { integrations } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

export type IntegrationConfig = { baseUrl: string } & Record<string, IntegrationConfigValue>;

export interface IntegrationRow {
  id: string;
  kind: IntegrationKind;
  provider: IntegrationProvider;
  name: string;
  config: IntegrationConfig;
  /** A secret is stored (its sealed text is read only with `…WithSecret`). */
  hasSecret: boolean;
  status: IntegrationStatus;
  lastTest: ConnectionTestResult | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The row with its sealed secret (opened by the caller, never returned). */
export interface IntegrationWithSecret extends IntegrationRow {
  secret: string | null;
}

const columns = {
  id: integrations.id,
  kind: integrations.kind,
  provider: integrations.provider,
  name: integrations.name,
  config: integrations.config,
  hasSecret: sql<boolean>`${integrations.secret} IS NOT NULL`,
  status: integrations.status,
  lastTest: integrations.lastTest,
  createdAt: integrations.createdAt,
  updatedAt: integrations.updatedAt,
};
const withSecret = { ...columns, secret: integrations.secret };

const one = (orgId: string, id: string) => and(eq(integrations.orgId, orgId), eq(integrations.id, id));

/** Newest first, keyset-paged; of one kind when `kind` is given. */
export async function listIntegrations(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor; kind?: IntegrationKind },
): Promise<IntegrationRow[]> {
  const conditions = [eq(integrations.orgId, orgId)];
  if (page.kind) conditions.push(eq(integrations.kind, page.kind));
  if (page.after) conditions.push(keysetBefore(integrations.createdAt, integrations.id, page.after));
  const rows = await db
    .select(columns)
    .from(integrations)
    .where(and(...conditions))
    .orderBy(desc(integrations.createdAt), desc(integrations.id))
    .limit(page.limit);
  return rows as IntegrationRow[];
}

export async function findIntegration(
  db: Executor,
  orgId: string,
  id: string,
): Promise<IntegrationRow | undefined> {
  const [row] = await db.select(columns).from(integrations).where(one(orgId, id));
  return row as IntegrationRow | undefined;
}

/** The row and its sealed secret, for a connection test (not locked: the test takes seconds). */
export async function readIntegrationWithSecret(
  db: Executor,
  orgId: string,
  id: string,
): Promise<IntegrationWithSecret | undefined> {
  const [row] = await db.select(withSecret).from(integrations).where(one(orgId, id));
  return row as IntegrationWithSecret | undefined;
}

/** The row and its sealed secret, held for the rest of the transaction. */
export async function lockIntegration(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<IntegrationWithSecret | undefined> {
  const [row] = await tx.select(withSecret).from(integrations).where(one(orgId, id)).for('update');
  return row as IntegrationWithSecret | undefined;
}

/**
 * Serializes the creations of one org's integrations until the transaction ends, so that the
 * count a creation checks against the limit is still the count when it commits.
 */
export async function holdIntegrations(tx: Executor, orgId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`integrations:${orgId}`}, 0))`);
}

export async function countIntegrations(tx: Executor, orgId: string): Promise<number> {
  const [row] = await tx.select({ n: count() }).from(integrations).where(eq(integrations.orgId, orgId));
  return row?.n ?? 0;
}

export interface IntegrationValues {
  kind: IntegrationKind;
  provider: IntegrationProvider;
  name: string;
  config: IntegrationConfig;
  /** Sealed, or null for none. */
  secret: string | null;
}

export async function insertIntegration(
  tx: Executor,
  orgId: string,
  values: IntegrationValues & { id: string; createdBy: string | null },
): Promise<IntegrationRow> {
  const [row] = await tx
    .insert(integrations)
    .values({ orgId, ...values })
    .returning(columns);
  return row as IntegrationRow;
}

/** Changes name, config or secret; a changed integration is untested again. */
export async function updateIntegration(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<Pick<IntegrationValues, 'name' | 'config' | 'secret'>>,
  untested: boolean,
): Promise<IntegrationRow> {
  const [row] = await tx
    .update(integrations)
    .set({
      ...changes,
      ...(untested ? { status: 'untested', lastTest: null } : {}),
      updatedAt: sql`now()`,
    })
    .where(one(orgId, id))
    .returning(columns);
  return row as IntegrationRow;
}

export async function deleteIntegration(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(integrations).where(one(orgId, id));
}

/**
 * Keeps a test's outcome (and the status it implies) on the integration it tested: only if the
 * integration is still the one read before the test (not changed since), so a test that ran
 * while someone changed it never describes the new settings. Not an audited change.
 */
export async function recordIntegrationTest(
  db: Executor,
  orgId: string,
  tested: { id: string; updatedAt: Date },
  result: ConnectionTestResult,
): Promise<IntegrationRow | undefined> {
  const [row] = await db
    .update(integrations)
    .set({ status: result.ok ? 'connected' : 'failing', lastTest: result })
    .where(and(one(orgId, tested.id), eq(integrations.updatedAt, tested.updatedAt)))
    .returning(columns);
  return row as IntegrationRow | undefined;
}
