import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client.ts';
import { serializeError } from '../log/serialize-error.ts';
import { dispatchedEvents, EVENT_DISPATCH, type EventBatch, type PlatformEvent } from './outbox.ts';

/** What a handler is told about the job it carries out. */
export interface JobInfo {
  id: string;
  kind: string;
  orgId: string | null;
  /** 1 on the first attempt. */
  attempt: number;
  createdAt: Date;
}

/**
 * How a handler ends an attempt: return (done), return `{ retryAt }` (try again then, counted as
 * a failed attempt: a receiver's `Retry-After`), throw (try again after the next delay of
 * `retryDelays`, or give up once they are spent), throw `GiveUp` (give up now).
 */
export interface JobOutcome {
  retryAt: Date;
  error?: string;
}

export interface JobHandler<P = unknown> {
  kind: string;
  /** Seconds to wait before each retry; the job dies after `retryDelays.length + 1` attempts. */
  retryDelays?: readonly number[];
  /** How long one attempt may hold its lease before another instance may take the job over. */
  leaseSeconds?: number;
  /** Resolves with nothing when done, or with a `JobOutcome` to be tried again at a given time. */
  run(payload: P, job: JobInfo, db: Db): Promise<JobOutcome | undefined | unknown>;
}

/** Thrown by a handler when retrying cannot help (the endpoint is gone, the payload is invalid). */
export class GiveUp extends Error {}

/** Receives every emitted event once committed; must be idempotent (a dispatch may repeat). */
export type EventSubscriber = (event: PlatformEvent, db: Db) => Promise<void>;

/**
 * Receives the events of one dispatch together (many events emitted by one change arrive as
 * one batch, in order; a single event as a batch of one), to do its work for all of them in a
 * few statements. Idempotent like any subscriber.
 */
export interface BatchSubscriber {
  batch(events: readonly PlatformEvent[], db: Db): Promise<void>;
}

/** Default backoff: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h. */
export const DEFAULT_RETRY_DELAYS = [5, 30, 120, 600, 1800, 3600, 10_800, 21_600] as const;

export interface WorkerLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboxWorkerOptions {
  /** How often to look for due jobs when nobody woke the worker (ms). */
  pollMs?: number;
  /** Jobs carried out at once by this instance. */
  concurrency?: number;
  log: WorkerLog;
}

/**
 * Carries out the outbox's due jobs: claims a batch with `FOR UPDATE SKIP LOCKED` (instances
 * never claim the same job at once), leases each, runs its handler outside any transaction,
 * records the attempt and settles the job. A lease that runs out makes the job due again, so a
 * job whose instance died mid-attempt is carried out by another: at least once.
 */
export class OutboxWorker {
  readonly instance = `i_${randomUUID().slice(0, 8)}`;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly subscribers = new Map<string, BatchSubscriber['batch']>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pollMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly database: Database,
    private readonly options: OutboxWorkerOptions,
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 8;
    this.register<PlatformEvent | EventBatch>({
      kind: EVENT_DISPATCH,
      run: async (payload, _job, db) => {
        const events = dispatchedEvents(payload);
        for (const [name, subscriber] of this.subscribers) {
          try {
            await subscriber(events, db);
          } catch (err) {
            // The whole dispatch is tried again; subscribers are idempotent.
            throw new Error(`subscriber ${name}: ${(err as Error).message}`, { cause: err });
          }
        }
      },
    });
  }

  register<P>(handler: JobHandler<P>): void {
    if (this.handlers.has(handler.kind)) throw new Error(`outbox handler ${handler.kind} registered twice`);
    this.handlers.set(handler.kind, handler as JobHandler);
  }

  subscribe(name: string, subscriber: EventSubscriber | BatchSubscriber): void {
    if (this.subscribers.has(name)) throw new Error(`event subscriber ${name} registered twice`);
    this.subscribers.set(
      name,
      typeof subscriber === 'function'
        ? async (events, db) => {
            for (const event of events) await subscriber(event, db);
          }
        : (events, db) => subscriber.batch(events, db),
    );
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.wake();
  }

  /** Looks for due jobs now (after a commit that enqueued some) instead of at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    void this.tick().finally(() => {
      this.running = false;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.timer = setTimeout(() => this.wake(), this.pollMs);
        this.timer.unref();
      }
    });
  }

  /** Stops claiming, then waits for the attempts under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled(this.inFlight);
  }

  private async tick(): Promise<void> {
    try {
      for (;;) {
        const room = this.concurrency - this.inFlight.size;
        if (room <= 0 || this.stopped) return;
        const jobs = await this.claim(room);
        if (jobs.length === 0) return;
        for (const job of jobs) {
          const p = this.attempt(job).finally(() => {
            this.inFlight.delete(p);
            this.wake();
          });
          this.inFlight.add(p);
        }
      }
    } catch (err) {
      this.options.log.error({ err: serializeError(err) }, 'outbox: claiming jobs failed');
    }
  }

  private async claim(limit: number): Promise<ClaimedJob[]> {
    const kinds = [...this.handlers.keys()];
    const result = (await this.database.db.execute(sql`
      UPDATE outbox_jobs j
         SET attempts = j.attempts + 1,
             locked_by = ${this.instance},
             locked_until = now() + make_interval(secs => 60)
        FROM (SELECT id FROM outbox_jobs
               WHERE state = 'pending' AND run_at <= now()
                 AND (locked_until IS NULL OR locked_until < now())
                 AND kind IN (${sql.join(
                   kinds.map((k) => sql`${k}`),
                   sql`, `,
                 )})
               ORDER BY run_at
               LIMIT ${limit}
               FOR UPDATE SKIP LOCKED) due
       WHERE j.id = due.id
   RETURNING j.id, j.kind, j.org_id, j.payload, j.attempts, j.created_at`)) as unknown as {
      rows: {
        id: string;
        kind: string;
        org_id: string | null;
        payload: unknown;
        attempts: number;
        created_at: Date | string;
      }[];
    };
    return result.rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      orgId: r.org_id,
      payload: r.payload,
      attempt: r.attempts,
      createdAt: new Date(r.created_at),
    }));
  }

  private async attempt(job: ClaimedJob): Promise<void> {
    const handler = this.handlers.get(job.kind);
    if (!handler) return;
    const started = new Date();
    let outcome: JobOutcome | undefined;
    let error: unknown;
    try {
      const result = await handler.run(job.payload, job, this.database.db);
      if (isOutcome(result)) outcome = result;
    } catch (err) {
      error = err;
    }
    const delays = handler.retryDelays ?? DEFAULT_RETRY_DELAYS;
    const failed = error !== undefined || outcome !== undefined;
    const message =
      error !== undefined ? describe(error) : outcome ? (outcome.error ?? 'retry requested') : null;
    const spent = job.attempt > delays.length || error instanceof GiveUp;
    const retryAt = !failed
      ? null
      : outcome
        ? outcome.retryAt
        : new Date(Date.now() + (delays[job.attempt - 1] ?? 0) * 1000);
    const state = !failed ? 'done' : spent ? 'dead' : 'pending';
    try {
      await this.database.db.transaction(async (tx) => {
        await tx.execute(sql`
          INSERT INTO outbox_attempts (job_id, attempt, instance, started_at, ok, error)
          VALUES (${job.id}, ${job.attempt}, ${this.instance}, ${started.toISOString()}, ${!failed}, ${message})`);
        await tx.execute(sql`
          UPDATE outbox_jobs
             SET state = ${state}, locked_until = NULL, locked_by = NULL, last_error = ${message},
                 run_at = ${state === 'pending' && retryAt ? retryAt.toISOString() : sql`run_at`},
                 finished_at = ${state === 'pending' ? null : sql`now()`}
           WHERE id = ${job.id} AND locked_by = ${this.instance}`);
      });
    } catch (err) {
      // The lease runs out and the job is tried again: at least once.
      this.options.log.error({ err: serializeError(err), job: job.id }, 'outbox: settling a job failed');
    }
    if (state === 'dead')
      this.options.log.warn({ job: job.id, kind: job.kind, error: message }, 'outbox: job given up');
  }
}

interface ClaimedJob extends JobInfo {
  payload: unknown;
}

function isOutcome(value: unknown): value is JobOutcome {
  return typeof value === 'object' && value !== null && (value as JobOutcome).retryAt instanceof Date;
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 2000);
}
