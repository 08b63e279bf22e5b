import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client.ts';
import { serializeError } from '../log/serialize-error.ts';
import { purgeFinishedJobs, type Retention } from './jobs.ts';
import { dispatchedEvents, EVENT_DISPATCH, type EventBatch, type PlatformEvent } from './outbox.ts';

/** What a handler is told about the job it carries out. */
export interface JobInfo {
  id: string;
  kind: string;
  orgId: string | null;
  /** 1 on the first attempt. */
  attempt: number;
  createdAt: Date;
  /** The job's sealed `secret` (open it with `outboxSecretContext(id)`), or null. */
  secret: string | null;
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
  /**
   * How long one attempt may hold its lease before another instance may take the job over
   * (default 60 s): longer than the handler can take, since an attempt still running when its
   * lease runs out may be carried out a second time alongside. Its settling is then refused.
   */
  leaseSeconds?: number;
  /**
   * The payload and the secret are emptied once the job is done (they carried something that must
   * not stay at rest longer than needed, such as an email with a sign-in link). A dead job keeps
   * them, to be retried.
   */
  clearPayloadWhenDone?: boolean;
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
  /** How long finished jobs are kept (default: done 7 days, dead 30). */
  retention?: Retention;
  /** How often this instance purges finished jobs past their retention (ms, default one hour). */
  purgeIntervalMs?: number;
  log: WorkerLog;
  /** Told of every attempt this instance settles (metrics). */
  onAttempt?: (kind: string, outcome: 'done' | 'retry' | 'dead') => void;
}

/** The lease of a handler that names none. */
export const DEFAULT_LEASE_SECONDS = 60;

/**
 * Carries out the outbox's due jobs: claims a batch with `FOR UPDATE SKIP LOCKED` (instances
 * never claim the same job at once), leases each for its handler's `leaseSeconds`, runs its
 * handler outside any transaction, records the attempt and settles the job. A lease that runs
 * out makes the job due again, so a job whose instance died mid-attempt is carried out by
 * another: at least once. Settling names the claim it ends (instance and attempt number), so an
 * attempt whose lease was taken over cannot settle the attempt that took it.
 *
 * The worker claims when woken (after a commit that enqueued, on this instance or, through the
 * cache bus's wake notices on PostgreSQL, on any other), when an attempt ends, and every
 * `pollMs` otherwise (jobs whose `runAt` or retry time came, notices lost).
 */
export class OutboxWorker {
  readonly instance = `i_${randomUUID().slice(0, 8)}`;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly subscribers = new Map<string, BatchSubscriber['batch']>();
  private timer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private running = false;
  /** The claiming pass under way, if any: a stop waits for it, so the jobs it claims are counted. */
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** The jobs of the attempts under way, with the attempt number each claim gave them. */
  private readonly claimed = new Map<string, number>();
  private stopping: Promise<void> | undefined;
  /** Whether the last stop released jobs whose attempts were still under way. */
  released = false;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly retention: Retention;
  private readonly purgeIntervalMs: number;

  constructor(
    private readonly database: Database,
    private readonly options: OutboxWorkerOptions,
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 8;
    this.retention = options.retention ?? { doneDays: 7, deadDays: 30 };
    this.purgeIntervalMs = options.purgeIntervalMs ?? 3_600_000;
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
    const lease = handler.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    if (!Number.isInteger(lease) || lease < 1) {
      throw new Error(
        `outbox handler ${handler.kind}: leaseSeconds must be a whole number of seconds, at least 1`,
      );
    }
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

  /** Whether this instance carries jobs out (started and not stopped). */
  get started(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = undefined;
    this.released = false;
    this.wake();
    // Every instance purges, every purgeIntervalMs (the deletes are idempotent).
    const purge = () => {
      this.purge().catch((err) =>
        this.options.log.error({ err: serializeError(err) }, 'outbox: purging finished jobs failed'),
      );
    };
    this.purgeTimer = setInterval(purge, this.purgeIntervalMs);
    this.purgeTimer.unref();
  }

  /** Deletes finished jobs past their retention (see `purgeFinishedJobs`). */
  purge(): Promise<{ done: number; dead: number }> {
    return purgeFinishedJobs(this.database.db, this.retention);
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
    this.ticking = this.tick().finally(() => {
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

  /**
   * Stops claiming, then waits for the attempts under way: all of them, or with `graceMs` (a
   * shutdown) at most that long, after which the jobs still being worked on are released (their
   * lease cleared, due again) so another instance takes them at once instead of when the lease
   * would have run out. A released attempt that ends later does not settle its job. Calling it
   * again while it runs returns the same promise.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.timer = this.purgeTimer = undefined;
    this.stopping ??= this.finish(options.graceMs);
    return this.stopping;
  }

  private async finish(graceMs: number | undefined): Promise<void> {
    // A claim under way when the stop came takes its jobs all the same: they are waited for (or
    // released) with the others, never left leased to an instance that has stopped.
    const all = (async () => {
      await this.ticking;
      await Promise.allSettled(this.inFlight);
    })();
    if (graceMs === undefined) {
      await all;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const ended = await Promise.race([all.then(() => 'ended' as const), outOfTime]);
    clearTimeout(timer);
    if (ended === 'ended' || this.claimed.size === 0) return;
    await this.release([...this.claimed]);
  }

  /** Clears the leases of claims this instance still holds (they run out otherwise). */
  private async release(claims: Array<[string, number]>): Promise<void> {
    try {
      const result = (await this.database.db.execute(sql`
        UPDATE outbox_jobs j
           SET locked_until = NULL, locked_by = NULL
          FROM (SELECT * FROM jsonb_to_recordset(${JSON.stringify(claims.map(([id, attempt]) => ({ id, attempt })))}::jsonb)
                  AS c(id uuid, attempt int)) c
         WHERE j.id = c.id AND j.attempts = c.attempt AND j.locked_by = ${this.instance}
           AND j.state = 'pending'
     RETURNING j.id`)) as unknown as { rows: { id: string }[] };
      for (const { id } of result.rows) this.claimed.delete(id);
      if (result.rows.length > 0) {
        this.released = true;
        this.options.log.warn(
          { jobs: result.rows.map((r) => r.id) },
          'outbox: shutting down with attempts under way; their jobs are released for another instance',
        );
      }
    } catch (err) {
      // Their leases run out instead.
      this.options.log.error({ err: serializeError(err) }, 'outbox: releasing claimed jobs failed');
    }
  }

  private async tick(): Promise<void> {
    try {
      for (;;) {
        const room = this.concurrency - this.inFlight.size;
        if (room <= 0 || this.stopped) return;
        const jobs = await this.claim(room);
        if (jobs.length === 0) return;
        for (const job of jobs) {
          this.claimed.set(job.id, job.attempt);
          const p = this.attempt(job).finally(() => {
            if (this.claimed.get(job.id) === job.attempt) this.claimed.delete(job.id);
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
    // Each job leased for its own handler's time.
    const lease = sql`CASE j.kind ${sql.join(
      [...this.handlers.values()].map(
        (h) => sql`WHEN ${h.kind} THEN ${h.leaseSeconds ?? DEFAULT_LEASE_SECONDS}::int`,
      ),
      sql` `,
    )} ELSE ${DEFAULT_LEASE_SECONDS}::int END`;
    const result = (await this.database.db.execute(sql`
      UPDATE outbox_jobs j
         SET attempts = j.attempts + 1,
             locked_by = ${this.instance},
             locked_until = now() + make_interval(secs => ${lease})
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
   RETURNING j.id, j.kind, j.org_id, j.payload, j.secret, j.attempts, j.created_at`)) as unknown as {
      rows: {
        id: string;
        kind: string;
        org_id: string | null;
        payload: unknown;
        secret: string | null;
        attempts: number;
        created_at: Date | string;
      }[];
    };
    return result.rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      orgId: r.org_id,
      payload: r.payload,
      secret: r.secret,
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
    let settled = false;
    try {
      // One statement, so one round trip and atomic: the attempt is recorded whoever holds the
      // job now, and the job is settled only under the claim this attempt was given (after a
      // lease that ran out, another instance's claim, or this one's own next one, has moved the
      // attempt count on).
      const result = (await this.database.db.execute(sql`
        WITH settled AS (
          UPDATE outbox_jobs
             SET state = ${state}, locked_until = NULL, locked_by = NULL, last_error = ${message},
                 run_at = ${state === 'pending' && retryAt ? retryAt.toISOString() : sql`run_at`},
                 finished_at = ${state === 'pending' ? null : sql`now()`}
                 ${state === 'done' && handler.clearPayloadWhenDone ? sql`, payload = '{}'::jsonb, secret = NULL` : sql``}
           WHERE id = ${job.id} AND locked_by = ${this.instance} AND attempts = ${job.attempt}
       RETURNING id),
        recorded AS (
          INSERT INTO outbox_attempts (job_id, attempt, instance, started_at, ok, error)
          SELECT ${job.id}, ${job.attempt}, ${this.instance}, ${started.toISOString()}::timestamptz, ${!failed}, ${message}
           -- A job deleted meanwhile (its org was) has no log to write to.
           WHERE EXISTS (SELECT 1 FROM outbox_jobs WHERE id = ${job.id}))
        SELECT count(*)::int AS n FROM settled`)) as unknown as { rows: { n: number }[] };
      settled = result.rows[0]?.n === 1;
    } catch (err) {
      // The lease runs out and the job is tried again: at least once.
      this.options.log.error({ err: serializeError(err), job: job.id }, 'outbox: settling a job failed');
      return;
    }
    if (settled)
      this.options.onAttempt?.(job.kind, state === 'done' ? 'done' : state === 'dead' ? 'dead' : 'retry');
    if (!settled) {
      this.options.log.warn(
        { job: job.id, kind: job.kind, attempt: job.attempt, ok: !failed },
        'outbox: an attempt outlived its lease; the job was taken over and this attempt does not settle it',
      );
    } else if (state === 'dead') {
      this.options.log.warn({ job: job.id, kind: job.kind, error: message }, 'outbox: job given up');
    } else if (state === 'pending') {
      this.options.log.warn(
        { job: job.id, kind: job.kind, attempt: job.attempt, error: message, retryAt },
        'outbox: attempt failed; the job will be tried again',
      );
    }
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
