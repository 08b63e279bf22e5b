import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { outboxJobs } from '../db/schema.ts';

/** Work to carry out once the transaction that writes it commits. */
export interface OutboxJob<P = unknown> {
  /** The registered handler that carries it out. */
  kind: string;
  /** JSON the handler receives (never a secret in clear: seal it, or let the handler look it up). */
  payload: P;
  /** The org the job dies with, when it should (a webhook delivery); omit for mail to a person. */
  orgId?: string | null;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Idempotency: a job whose key is already in the outbox is not written again. */
  dedupeKey?: string;
}

/**
 * Writes a job in the caller's transaction: it exists exactly when the change that caused it
 * committed. Returns the job's id, or null when a job with the same `dedupeKey` already exists.
 */
export async function enqueue<P>(tx: Executor, job: OutboxJob<P>): Promise<string | null> {
  const rows = await tx
    .insert(outboxJobs)
    .values({
      kind: job.kind,
      payload: job.payload as object,
      orgId: job.orgId ?? null,
      ...(job.runAt ? { runAt: job.runAt } : {}),
      dedupeKey: job.dedupeKey ?? null,
    })
    .onConflictDoNothing({ target: outboxJobs.dedupeKey })
    .returning({ id: outboxJobs.id });
  return rows[0]?.id ?? null;
}

/**
 * Event types the platform emits (the webhook catalog of the contract). A subscriber (webhooks,
 * notifications, Slack) turns each into its own deliveries.
 */
export const EVENT_TYPES = [
  'scan.started',
  'scan.completed',
  'finding.created',
  'finding.resolved',
  'member.added',
  'member.removed',
  'member.role_changed',
  'quota.threshold_reached',
  'audit.entry',
  'audit.checkpoint',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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
