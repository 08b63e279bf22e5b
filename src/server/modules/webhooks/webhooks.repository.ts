import { and, desc, eq, isNotNull, max, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { pgErrorCode } from '../../platform/db/errors.ts';
import { auditChains, webhookAttempts, webhookDeliveries, webhooks } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

export interface WebhookRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  failingSince: Date | null;
  disabledReason: string | null;
  disabledAt: Date | null;
  previousSecretExpiresAt: Date | null;
  auditCursor: number | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = {
  id: webhooks.id,
  url: webhooks.url,
  description: webhooks.description,
  events: webhooks.events,
  enabled: webhooks.enabled,
  failingSince: webhooks.failingSince,
  disabledReason: webhooks.disabledReason,
  disabledAt: webhooks.disabledAt,
  previousSecretExpiresAt: webhooks.previousSecretExpiresAt,
  auditCursor: webhooks.auditCursor,
  createdAt: webhooks.createdAt,
  updatedAt: webhooks.updatedAt,
};

/** What a delivery needs besides the row: the sealed secrets (opened by the caller, never returned). */
export interface WebhookSecrets {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/** Newest first, keyset-paged. */
export async function listWebhooks(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor },
): Promise<WebhookRow[]> {
  const conditions = [eq(webhooks.orgId, orgId)];
  if (page.after) conditions.push(keysetBefore(webhooks.createdAt, webhooks.id, page.after));
  return db
    .select(columns)
    .from(webhooks)
    .where(and(...conditions))
    .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
    .limit(page.limit);
}

export async function findWebhook(db: Executor, orgId: string, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db
    .select(columns)
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)));
  return row;
}

/** The row and its sealed secrets, held for the rest of the transaction. */
export async function lockWebhook(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<(WebhookRow & WebhookSecrets) | undefined> {
  const [row] = await tx
    .select({
      ...columns,
      secret: webhooks.secret,
      previousSecret: webhooks.previousSecret,
    })
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)))
    .for('update');
  return row;
}

/** The row and its sealed secrets, for one delivery attempt (not locked: the attempt is long). */
export async function readWebhookForDelivery(
  db: Executor,
  orgId: string,
  id: string,
): Promise<(WebhookRow & WebhookSecrets) | undefined> {
  const [row] = await db
    .select({ ...columns, secret: webhooks.secret, previousSecret: webhooks.previousSecret })
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)));
  return row;
}

export async function countWebhooks(tx: Executor, orgId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(webhooks)
    .where(eq(webhooks.orgId, orgId));
  return row?.n ?? 0;
}

export interface WebhookValues {
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
}

export async function insertWebhook(
  tx: Executor,
  orgId: string,
  values: WebhookValues & {
    id: string;
    secret: string;
    createdBy: string | null;
    auditCursor: number | null;
  },
): Promise<WebhookRow> {
  const [row] = await tx
    .insert(webhooks)
    .values({ orgId, ...values })
    .returning(columns);
  return row!;
}

export type WebhookChanges = Partial<
  WebhookValues & {
    secret: string;
    previousSecret: string | null;
    previousSecretExpiresAt: Date | null;
    failingSince: Date | null;
    disabledReason: 'gone' | 'failing' | null;
    disabledAt: Date | null;
    auditCursor: number | null;
  }
>;

export async function updateWebhook(
  tx: Executor,
  orgId: string,
  id: string,
  changes: WebhookChanges,
): Promise<WebhookRow> {
  const [row] = await tx
    .update(webhooks)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)))
    .returning(columns);
  return row!;
}

export async function deleteWebhook(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(webhooks).where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)));
}

/** The enabled webhooks of an org that take any of `types`, with the types each takes. */
export async function subscribedWebhooks(
  db: Executor,
  orgId: string,
  types: readonly string[],
): Promise<{ id: string; events: string[] }[]> {
  return db
    .select({ id: webhooks.id, events: webhooks.events })
    .from(webhooks)
    .where(
      and(
        eq(webhooks.orgId, orgId),
        eq(webhooks.enabled, true),
        sql`${webhooks.events} && ${`{${types.map((t) => `"${t}"`).join(',')}}`}::text[]`,
      ),
    );
}

/**
 * Writes the deliveries of events to webhooks, once each: a (webhook, event) pair already there
 * (a dispatch that ran again) is skipped. Returns the new ones.
 */
export async function insertDeliveries(
  tx: Executor,
  orgId: string,
  rows: ReadonlyArray<{ webhookId: string; eventId: string; type: string; body: string }>,
): Promise<{ id: string; webhookId: string; eventId: string }[]> {
  if (rows.length === 0) return [];
  return tx
    .insert(webhookDeliveries)
    .values(rows.map((r) => ({ orgId, ...r })))
    .onConflictDoNothing({
      target: [webhookDeliveries.orgId, webhookDeliveries.webhookId, webhookDeliveries.eventId],
    })
    .returning({
      id: webhookDeliveries.id,
      webhookId: webhookDeliveries.webhookId,
      eventId: webhookDeliveries.eventId,
    });
}

/** Queues attempts (state `pending`) of deliveries; returns their ids, in the order given. */
export async function insertPendingAttempts(
  tx: Executor,
  orgId: string,
  rows: ReadonlyArray<{ webhookId: string; deliveryId: string; attempt: number; nextAttemptAt?: Date }>,
): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await tx
    .insert(webhookAttempts)
    .values(rows.map((r) => ({ orgId, state: 'pending', ...r })))
    .returning({ id: webhookAttempts.id, deliveryId: webhookAttempts.deliveryId });
  const byDelivery = new Map(inserted.map((r) => [r.deliveryId, r.id]));
  return rows.map((r) => byDelivery.get(r.deliveryId)!);
}

export interface DeliveryRow {
  id: string;
  webhookId: string;
  eventId: string;
  type: string;
  body: string;
}

const deliveryColumns = {
  id: webhookDeliveries.id,
  webhookId: webhookDeliveries.webhookId,
  eventId: webhookDeliveries.eventId,
  type: webhookDeliveries.type,
  body: webhookDeliveries.body,
};

/** The delivery held (attempt numbers are taken under this lock) with its highest attempt number. */
export async function lockDelivery(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<(DeliveryRow & { lastAttempt: number }) | undefined> {
  const [row] = await tx
    .select(deliveryColumns)
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.orgId, orgId), eq(webhookDeliveries.id, id)))
    .for('update');
  if (!row) return undefined;
  const [last] = await tx
    .select({ n: max(webhookAttempts.attempt) })
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.orgId, orgId), eq(webhookAttempts.deliveryId, id)));
  return { ...row, lastAttempt: last?.n ?? 0 };
}

export interface AttemptOutcome {
  state: 'delivered' | 'failed';
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number | null;
  error: string | null;
  at: Date;
  nextAttemptAt: Date | null;
}

/**
 * Records an attempt, in one statement (one commit): it fills the job's queued row while that is
 * still pending (the job's first attempt), else it is a new row numbered after the delivery's
 * last (a retry). Two attempts of one delivery recorded at the same moment (a redelivery beside a
 * retry) cannot take one number: the unique index refuses the second, which takes the next.
 */
export async function recordAttempt(
  db: Executor,
  orgId: string,
  ref: { deliveryId: string; attemptId: string | null; webhookId: string },
  outcome: AttemptOutcome,
): Promise<void> {
  const values = sql`${outcome.state}, ${outcome.responseStatus}::int, ${outcome.responseBody}::text,
    ${outcome.durationMs}::int, ${outcome.error}::text, ${outcome.at.toISOString()}::timestamptz,
    ${outcome.nextAttemptAt?.toISOString() ?? null}::timestamptz`;
  for (let tries = 0; ; tries++) {
    try {
      await db.execute(sql`
        WITH filled AS (
          UPDATE ${webhookAttempts}
             SET (state, response_status, response_body, duration_ms, error, at, next_attempt_at) = (${values})
           WHERE org_id = ${orgId} AND id = ${ref.attemptId}::uuid AND state = 'pending'
          RETURNING id)
        INSERT INTO ${webhookAttempts}
               (org_id, webhook_id, delivery_id, attempt, state, response_status, response_body,
                duration_ms, error, at, next_attempt_at)
        SELECT ${orgId}::uuid, ${ref.webhookId}::uuid, d.id,
               (SELECT coalesce(max(attempt), 0) + 1 FROM ${webhookAttempts}
                 WHERE org_id = d.org_id AND delivery_id = d.id),
               ${values}
          FROM ${webhookDeliveries} d
         WHERE d.org_id = ${orgId} AND d.id = ${ref.deliveryId}::uuid AND NOT EXISTS (SELECT 1 FROM filled)`);
      return;
    } catch (err) {
      if (pgErrorCode(err) !== '23505' || tries >= 3) throw err;
    }
  }
}

/** A delivery with its webhook (and the webhook's sealed secrets), for one attempt: one read. */
export async function readForAttempt(
  db: Executor,
  orgId: string,
  deliveryId: string,
): Promise<{ delivery: DeliveryRow; webhook: WebhookRow & WebhookSecrets } | undefined> {
  const [row] = await db
    .select({
      delivery: deliveryColumns,
      webhook: { ...columns, secret: webhooks.secret, previousSecret: webhooks.previousSecret },
    })
    .from(webhookDeliveries)
    .innerJoin(
      webhooks,
      and(eq(webhooks.orgId, webhookDeliveries.orgId), eq(webhooks.id, webhookDeliveries.webhookId)),
    )
    .where(and(eq(webhookDeliveries.orgId, orgId), eq(webhookDeliveries.id, deliveryId)));
  return row;
}

export interface AttemptRow {
  id: string;
  deliveryId: string;
  eventId: string;
  type: string;
  attempt: number;
  state: string;
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number | null;
  error: string | null;
  at: Date;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

const attemptColumns = {
  id: webhookAttempts.id,
  deliveryId: webhookAttempts.deliveryId,
  eventId: webhookDeliveries.eventId,
  type: webhookDeliveries.type,
  attempt: webhookAttempts.attempt,
  state: webhookAttempts.state,
  responseStatus: webhookAttempts.responseStatus,
  responseBody: webhookAttempts.responseBody,
  durationMs: webhookAttempts.durationMs,
  error: webhookAttempts.error,
  at: webhookAttempts.at,
  nextAttemptAt: webhookAttempts.nextAttemptAt,
  createdAt: webhookAttempts.createdAt,
};

/** A webhook's delivery log, newest first, keyset-paged. */
export async function listAttempts(
  db: Executor,
  orgId: string,
  webhookId: string,
  page: { limit: number; after?: TimeCursor; eventId?: string },
): Promise<AttemptRow[]> {
  const conditions = [eq(webhookAttempts.orgId, orgId), eq(webhookAttempts.webhookId, webhookId)];
  if (page.after) conditions.push(keysetBefore(webhookAttempts.createdAt, webhookAttempts.id, page.after));
  if (page.eventId) conditions.push(eq(webhookDeliveries.eventId, page.eventId));
  return db
    .select(attemptColumns)
    .from(webhookAttempts)
    .innerJoin(
      webhookDeliveries,
      and(
        eq(webhookDeliveries.orgId, webhookAttempts.orgId),
        eq(webhookDeliveries.id, webhookAttempts.deliveryId),
      ),
    )
    .where(and(...conditions))
    .orderBy(desc(webhookAttempts.createdAt), desc(webhookAttempts.id))
    .limit(page.limit);
}

/** One attempt of one webhook of the org. */
export async function findAttempt(
  db: Executor,
  orgId: string,
  webhookId: string,
  id: string,
): Promise<AttemptRow | undefined> {
  const [row] = await db
    .select(attemptColumns)
    .from(webhookAttempts)
    .innerJoin(
      webhookDeliveries,
      and(
        eq(webhookDeliveries.orgId, webhookAttempts.orgId),
        eq(webhookDeliveries.id, webhookAttempts.deliveryId),
      ),
    )
    .where(
      and(
        eq(webhookAttempts.orgId, orgId),
        eq(webhookAttempts.webhookId, webhookId),
        eq(webhookAttempts.id, id),
      ),
    );
  return row;
}

/** The head of the org's audit chain (0 before its first entry). */
export async function auditHead(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ headSeq: auditChains.headSeq })
    .from(auditChains)
    .where(eq(auditChains.chainId, orgId));
  return row?.headSeq ?? 0;
}

/**
 * Webhooks of every org that take `audit.entry` and are behind their org's audit chain (the
 * audit stream's sweep: one indexed read, whatever the number of orgs that stream nothing).
 */
export async function webhooksBehindAudit(
  db: Executor,
  limit: number,
): Promise<{ id: string; orgId: string }[]> {
  return db
    .select({ id: webhooks.id, orgId: webhooks.orgId })
    .from(webhooks)
    .innerJoin(auditChains, eq(auditChains.chainId, webhooks.orgId))
    .where(
      and(
        eq(webhooks.enabled, true),
        isNotNull(webhooks.auditCursor),
        sql`${auditChains.headSeq} > ${webhooks.auditCursor}`,
      ),
    )
    .limit(limit);
}

/**
 * Forgets deliveries (and their attempts) older than `before`, a bounded batch at a time. The
 * batch's rows are deleted by their primary key, (org_id, id): no index leads with id alone.
 */
export async function purgeDeliveries(db: Executor, before: Date, batch = 5_000): Promise<number> {
  const result = (await db.execute(sql`
    DELETE FROM ${webhookDeliveries} WHERE (org_id, id) IN (
      SELECT org_id, id FROM ${webhookDeliveries} WHERE created_at < ${before.toISOString()}::timestamptz LIMIT ${batch})`)) as unknown as {
    rowCount?: number;
    affectedRows?: number;
  };
  return result.rowCount ?? result.affectedRows ?? 0;
}
