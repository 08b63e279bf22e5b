import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { EventType } from '../../../contracts/events.ts';
import type { Executor } from '../db/client.ts';
import { outboxJobs } from '../db/schema.ts';
import { registerSealedColumn } from '../secrets/rotate.ts';

/** Work to carry out once the transaction that writes it commits. */
export interface OutboxJob<P = unknown> {
  /** The registered handler that carries it out. */
  kind: string;
  /** JSON the handler receives (never a secret in clear: see `secret`, or let the handler look it up). */
  payload: P;
  /** The org the job dies with, when it should (a webhook delivery); omit for mail to a person. */
  orgId?: string | null;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Idempotency: a job whose key is already in the outbox is not written again. */
  dedupeKey?: string;
  /**
   * A value sealed by the caller with platform/secrets under `outboxSecretContext(id)` (so the job
   * names its `id` too): what the handler needs that must not be at rest in clear. The handler
   * receives it as `job.secret`; `gatehouse secrets rotate` re-seals it.
   */
  secret?: string;
  /** The job's id, when something must name it before it is written (`secret`); random otherwise. */
  id?: string;
}

/** The context a job's `secret` is sealed under: it opens for this job's row only. */
export const outboxSecretContext = (jobId: string) => `outbox_jobs.secret:${jobId}`;

// `gatehouse secrets rotate` re-seals the jobs' secrets (pending and dead ones still hold theirs).
registerSealedColumn({
  table: 'outbox_jobs',
  idColumn: 'id',
  sealedColumn: 'secret',
  context: (row) => outboxSecretContext(String(row.id)),
});

/**
 * The topic of the notice that wakes the other instances' workers (on the cache bus). The command
 * runner sends it after a commit that enqueued (and wakes its own instance's worker): a job
 * enqueued in a transaction of one's own is found by the workers' next poll, unless the caller
 * sends it too once committed (`bus.wake(OUTBOX_WAKE_TOPIC)`, `outbox.wake()`).
 */
export const OUTBOX_WAKE_TOPIC = 'outbox';

/**
 * Writes a job in the caller's transaction: it exists exactly when the change that caused it
 * committed. Returns the job's id, or null when a job with the same `dedupeKey` already exists.
 */
export async function enqueue<P>(tx: Executor, job: OutboxJob<P>): Promise<string | null> {
  const insert = tx.insert(outboxJobs).values({
    id: job.id ?? randomUUID(),
    kind: job.kind,
    payload: (job.payload ?? null) as object,
    secret: job.secret ?? null,
    orgId: job.orgId ?? null,
    ...(job.runAt ? { runAt: job.runAt } : {}),
    dedupeKey: job.dedupeKey ?? null,
  });
  // ON CONFLICT only with a key: without one nothing can conflict, and a plain insert is cheaper.
  const rows = await (job.dedupeKey === undefined
    ? insert
    : insert.onConflictDoNothing({
        target: outboxJobs.dedupeKey,
        where: sql`${outboxJobs.dedupeKey} IS NOT NULL`,
      })
  ).returning({ id: outboxJobs.id });
  return rows[0]?.id ?? null;
}

/**
 * Event types the platform emits (the webhook catalog of the contract, src/contracts/events.ts).
 * A subscriber (webhooks, notifications, Slack) turns each into its own deliveries.
 */
export { EVENT_TYPES, type EventType } from '../../../contracts/events.ts';

/** Something that happened in an org, as subscribers receive it. */
export interface PlatformEvent<D = Record<string, unknown>> {
  /** Unique per event; webhooks send it as `webhook-id` on every attempt. */
  id: string;
  /** A catalog type, or an internal one (`finding.assigned`) that only in-process subscribers see. */
  type: EventType | (string & {});
  orgId: string;
  /** ISO 8601, when it happened. */
  timestamp: string;
  data: D;
}

export const EVENT_DISPATCH = 'event.dispatch';

/**
 * Emits an event in the caller's transaction: one `event.dispatch` job, which the worker hands
 * to every subscriber after commit (each fans it out into its own jobs, idempotently by
 * `dedupeKey`, since a dispatch may run more than once). The write that emits stays one insert
 * however many subscribers there are.
 */
export async function emitEvent<D extends Record<string, unknown>>(
  tx: Executor,
  event: { type: PlatformEvent['type']; orgId: string; data: D; at?: Date },
): Promise<PlatformEvent<D>> {
  const full: PlatformEvent<D> = {
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    type: event.type,
    orgId: event.orgId,
    timestamp: (event.at ?? new Date()).toISOString(),
    data: event.data,
  };
  await enqueue(tx, { kind: EVENT_DISPATCH, payload: full, orgId: event.orgId });
  return full;
}

/** Events per `event.dispatch` job when many are emitted at once (see `emitEvents`). */
export const EVENTS_PER_DISPATCH = 500;

/**
 * Emits many events of one change in the caller's transaction (a scan's new findings, by the
 * ten thousand): each is an event of its own, with its own id, but they travel in few
 * `event.dispatch` jobs of up to EVENTS_PER_DISPATCH each, so the write that emits them adds a
 * handful of rows however many there are. Subscribers receive them one by one, in order (or in
 * batches, when they subscribe to batches).
 */
export async function emitEvents<D extends Record<string, unknown>>(
  tx: Executor,
  events: ReadonlyArray<{ type: PlatformEvent['type']; orgId: string; data: D; at?: Date }>,
): Promise<PlatformEvent<D>[]> {
  const full = events.map(
    (event): PlatformEvent<D> => ({
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      type: event.type,
      orgId: event.orgId,
      timestamp: (event.at ?? new Date()).toISOString(),
      data: event.data,
    }),
  );
  for (let start = 0; start < full.length; start += EVENTS_PER_DISPATCH) {
    const chunk = full.slice(start, start + EVENTS_PER_DISPATCH);
    const orgs = new Set(chunk.map((e) => e.orgId));
    await enqueue(tx, {
      kind: EVENT_DISPATCH,
      payload: { events: chunk } satisfies EventBatch,
      // The jobs die with the org when every event of the chunk is the org's.
      orgId: orgs.size === 1 ? chunk[0]!.orgId : null,
    });
  }
  return full;
}

/** The payload of an `event.dispatch` job that carries several events. */
export interface EventBatch {
  events: PlatformEvent[];
}

/** The events an `event.dispatch` payload carries: one (`emitEvent`) or several (`emitEvents`). */
export function dispatchedEvents(payload: PlatformEvent | EventBatch): PlatformEvent[] {
  return 'events' in payload && Array.isArray(payload.events) ? payload.events : [payload as PlatformEvent];
}

/**
 * Whether the job enqueued under `dedupeKey` is still to be carried out (pending), as opposed to
 * done, dead or never written: a caller whose enqueue was deduplicated learns whether the
 * existing job will still see what it just wrote.
 */
export async function isJobPending(tx: Executor, dedupeKey: string): Promise<boolean> {
  const [row] = await tx
    .select({ state: outboxJobs.state })
    .from(outboxJobs)
    .where(eq(outboxJobs.dedupeKey, dedupeKey));
  return row?.state === 'pending';
}
