import { and, eq, sql } from 'drizzle-orm';
import type { AiProvider, AiPurpose, ConnectionTestResult } from '../../../contracts/integrations.ts';
import type { Executor } from '../../platform/db/client.ts';
import { aiConnections } from '../../platform/db/schema.ts';

export interface AiConnectionRow {
  id: string;
  purpose: AiPurpose;
  provider: AiProvider;
  baseUrl: string;
  model: string;
  deployment: string | null;
  apiVersion: string | null;
  apiKeyHint: string | null;
  lastTest: ConnectionTestResult | null;
  updatedAt: Date;
}

/** The row with its sealed API key (opened by the caller, never returned). */
export interface AiConnectionWithKey extends AiConnectionRow {
  apiKey: string;
}

const columns = {
  id: aiConnections.id,
  purpose: aiConnections.purpose,
  provider: aiConnections.provider,
  baseUrl: aiConnections.baseUrl,
  model: aiConnections.model,
  deployment: aiConnections.deployment,
  apiVersion: aiConnections.apiVersion,
  apiKeyHint: aiConnections.apiKeyHint,
  lastTest: aiConnections.lastTest,
  updatedAt: aiConnections.updatedAt,
};

const ofPurpose = (orgId: string, purpose: AiPurpose) =>
  and(eq(aiConnections.orgId, orgId), eq(aiConnections.purpose, purpose));

/**
 * Serializes the changes to one org's connection for one purpose until the transaction ends: the
 * first save of a purpose inserts a row whose id its key is sealed for, and two first saves at
 * once must not both try.
 */
export async function holdAiConnection(tx: Executor, orgId: string, purpose: AiPurpose): Promise<void> {
  await tx.execute(
    sql`SELECT pg_advisory_xact_lock(hashtextextended(${`ai_connections:${orgId}:${purpose}`}, 0))`,
  );
}

export async function findAiConnection(
  db: Executor,
  orgId: string,
  purpose: AiPurpose,
): Promise<AiConnectionRow | undefined> {
  const [row] = await db.select(columns).from(aiConnections).where(ofPurpose(orgId, purpose));
  return row as AiConnectionRow | undefined;
}

/** The row and its sealed key, for a connection test (not locked: the test takes seconds). */
export async function readAiConnectionWithKey(
  db: Executor,
  orgId: string,
  purpose: AiPurpose,
): Promise<AiConnectionWithKey | undefined> {
  const [row] = await db
    .select({ ...columns, apiKey: aiConnections.apiKey })
    .from(aiConnections)
    .where(ofPurpose(orgId, purpose));
  return row as AiConnectionWithKey | undefined;
}

/** The row and its sealed key, held for the rest of the transaction. */
export async function lockAiConnection(
  tx: Executor,
  orgId: string,
  purpose: AiPurpose,
): Promise<AiConnectionWithKey | undefined> {
  const [row] = await tx
    .select({ ...columns, apiKey: aiConnections.apiKey })
    .from(aiConnections)
    .where(ofPurpose(orgId, purpose))
    .for('update');
  return row as AiConnectionWithKey | undefined;
}

export interface AiConnectionValues {
  provider: AiProvider;
  baseUrl: string;
  model: string;
  deployment: string | null;
  apiVersion: string | null;
  /** Sealed. */
  apiKey: string;
  apiKeyHint: string | null;
}

/** Writes the purpose's connection (row `id`, new or existing); the last test no longer applies. */
export async function saveAiConnection(
  tx: Executor,
  orgId: string,
  id: string,
  purpose: AiPurpose,
  values: AiConnectionValues,
  updatedBy: string | null,
): Promise<AiConnectionRow> {
  const [row] = await tx
    .insert(aiConnections)
    .values({ id, orgId, purpose, ...values, lastTest: null, updatedBy })
    .onConflictDoUpdate({
      target: [aiConnections.orgId, aiConnections.id],
      set: { ...values, lastTest: null, updatedBy, updatedAt: sql`now()` },
      setWhere: eq(aiConnections.orgId, orgId),
    })
    .returning(columns);
  return row as AiConnectionRow;
}

export async function deleteAiConnection(tx: Executor, orgId: string, purpose: AiPurpose): Promise<boolean> {
  const rows = await tx
    .delete(aiConnections)
    .where(ofPurpose(orgId, purpose))
    .returning({ id: aiConnections.id });
  return rows.length > 0;
}

/**
 * Keeps a test's outcome on the connection it tested: only if the connection is still the one read
 * before the test (same row, not changed since), so a test that ran while someone saved other
 * settings never describes the new ones. Not an audited change.
 */
export async function recordAiConnectionTest(
  db: Executor,
  orgId: string,
  tested: { id: string; updatedAt: Date },
  result: ConnectionTestResult,
): Promise<void> {
  await db
    .update(aiConnections)
    .set({ lastTest: result })
    .where(
      and(
        eq(aiConnections.orgId, orgId),
        eq(aiConnections.id, tested.id),
        eq(aiConnections.updatedAt, tested.updatedAt),
      ),
    );
}
