import { and, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { outboxJobs } from '../db/schema.ts';

/**
 * The outbox's rows as operators see them: listing (dead jobs first of all), bringing a dead job
 * back, and the housekeeping that keeps the table small. The worker owns claiming and settling.
 */

export const JOB_STATES = ['pending', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobRow {
  id: string;
  kind: string;
  orgId: string | null;
  state: JobState;
  attempts: number;
  runAt: Date;
  lastError: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

const columns = {
  id: outboxJobs.id,
  kind: outboxJobs.kind,
  orgId: outboxJobs.orgId,
  state: outboxJobs.state,
  attempts: outboxJobs.attempts,
  runAt: outboxJobs.runAt,
  lastError: outboxJobs.lastError,
  createdAt: outboxJobs.createdAt,
  finishedAt: outboxJobs.finishedAt,
};

/** Jobs in `state` (all states by default), of `kind` when given, the most recent first. */
export async function listJobs(
  db: Executor,
  filter: { state?: JobState; kind?: string; limit: number },
): Promise<JobRow[]> {
  const where: SQL[] = [];
  if (filter.state) where.push(eq(outboxJobs.state, filter.state));
  if (filter.kind) where.push(eq(outboxJobs.kind, filter.kind));
  const rows = await db
    .select(columns)
    .from(outboxJobs)
    .where(and(...where))
    .orderBy(desc(sql`coalesce(${outboxJobs.finishedAt}, ${outboxJobs.createdAt})`), desc(outboxJobs.id))
    .limit(filter.limit);
  return rows as JobRow[];
}

/** The job, its row locked for the rest of the transaction. */
export async function lockJob(tx: Executor, id: string): Promise<JobRow | undefined> {
  const [row] = await tx.select(columns).from(outboxJobs).where(eq(outboxJobs.id, id)).for('update');
  return row as JobRow | undefined;
}

/**
 * A dead job is due again now (run from a command: the runner wakes the workers after commit). Its attempt count goes on from where it stopped, so it gets one
 * more attempt (a further failure leaves it dead again, for an operator to look at once more).
 */
export async function reviveJob(tx: Executor, id: string): Promise<void> {
  await tx
    .update(outboxJobs)
    .set({ state: 'pending', runAt: sql`now()`, finishedAt: null, lockedBy: null, lockedUntil: null })
    .where(and(eq(outboxJobs.id, id), eq(outboxJobs.state, 'dead')));
}

export interface Retention {
  /** Done jobs (and their attempts) are deleted this many days after they finished. */
  doneDays: number;
  /** Dead jobs are kept longer, for an operator to look at and retry. */
  deadDays: number;
}

/**
 * Deletes done and dead jobs past their retention, with their attempts (by the foreign key's
 * cascade), in batches so that no one statement holds many rows locked. Returns how many went.
 */
export async function purgeFinishedJobs(
  db: Executor,
  retention: Retention,
  batchSize = 1000,
): Promise<{ done: number; dead: number }> {
  const purged = { done: 0, dead: 0 };
  for (const [state, days] of [
    ['done', retention.doneDays],
    ['dead', retention.deadDays],
  ] as const) {
    for (;;) {
      const result = (await db.execute(sql`
        DELETE FROM outbox_jobs
         WHERE id IN (SELECT id FROM outbox_jobs
                       WHERE state = ${state} AND finished_at < now() - make_interval(days => ${days})
                       LIMIT ${batchSize})
     RETURNING id`)) as unknown as { rows: unknown[] };
      purged[state] += result.rows.length;
      if (result.rows.length < batchSize) break;
    }
  }
  return purged;
}
