import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import type { CommandDefinition } from '../command.ts';
import { enqueue, GiveUp, type OutboxJob, OutboxWorker } from './index.ts';

/**
 * The outbox's worker with handlers of the test's own: retries on schedule, a handler's own
 * retry time, giving up, idempotent enqueueing, nothing for a rolled-back transaction, leases,
 * settling only one's own claim, retention, and waking another instance at commit.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const db = () => t.app.gatehouse.database.db;
const outbox = () => t.app.gatehouse.outbox;
/** A kind no other test uses. */
const kindFor = (label: string) => `test.${label}.${randomUUID().slice(0, 8)}`;

/** Enqueues in a transaction of its own, outside any command. */
const put = (job: OutboxJob) => db().transaction((tx) => enqueue(tx, job));

interface JobState {
  state: string;
  attempts: number;
  last_error: string | null;
  locked_by: string | null;
  payload: unknown;
}
async function job(id: string): Promise<JobState> {
  const [row] = await queryRows<JobState>(
    db(),
    sql`SELECT state, attempts, last_error, locked_by, payload FROM outbox_jobs WHERE id = ${id}`,
  );
  if (!row) throw new Error(`no job ${id}`);
  return row;
}
async function attempts(id: string) {
  return queryRows<{ attempt: number; instance: string; ok: boolean; error: string | null }>(
    db(),
    sql`SELECT attempt, instance, ok, error FROM outbox_attempts WHERE job_id = ${id} ORDER BY attempt, id`,
  );
}

/** Waits (waking this app's worker: no commit of a command did) until `check` holds. */
async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    outbox().wake();
    await sleep(25);
  }
}
const settled = async (id: string) => (await job(id)).state !== 'pending';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    warn: (_obj: object, msg: string) => lines.push(msg),
    error: (_obj: object, msg: string) => lines.push(msg),
  };
}

describe('retries', () => {
  it('a handler failing twice then succeeding: three attempts recorded, waiting out each delay, the job done', async () => {
    const kind = kindFor('flaky');
    const runs: number[] = [];
    outbox().register({
      kind,
      retryDelays: [1, 1],
      async run() {
        runs.push(Date.now());
        if (runs.length < 3) throw new Error(`down ${runs.length}`);
      },
    });
    const id = (await put({ kind, payload: { n: 1 } }))!;
    await until(() => settled(id));

    expect(await job(id)).toMatchObject({ state: 'done', attempts: 3, last_error: null, locked_by: null });
    expect(await attempts(id)).toEqual([
      { attempt: 1, instance: outbox().instance, ok: false, error: 'down 1' },
      { attempt: 2, instance: outbox().instance, ok: false, error: 'down 2' },
      { attempt: 3, instance: outbox().instance, ok: true, error: null },
    ]);
    // Each retry came no sooner than its delay (1 s) after the attempt before it began.
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(990);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(990);
    expect(runs).toHaveLength(3);
  });

  it('a handler that answers { retryAt } is tried again then, not sooner, the attempt counted as failed', async () => {
    const kind = kindFor('busy');
    const runs: number[] = [];
    let retryAt = 0;
    outbox().register({
      kind,
      retryDelays: [0],
      async run() {
        runs.push(Date.now());
        if (runs.length > 1) return undefined;
        retryAt = Date.now() + 1500;
        return { retryAt: new Date(retryAt), error: 'receiver busy (Retry-After)' };
      },
    });
    const id = (await put({ kind, payload: {} }))!;
    await until(() => settled(id));

    expect(await job(id)).toMatchObject({ state: 'done', attempts: 2 });
    expect((await attempts(id)).map((a) => [a.ok, a.error])).toEqual([
      [false, 'receiver busy (Retry-After)'],
      [true, null],
    ]);
    expect(runs[1]!).toBeGreaterThanOrEqual(retryAt - 5);
  });

  it('GiveUp makes the job dead at once, whatever delays remain', async () => {
    const kind = kindFor('gone');
    let runs = 0;
    outbox().register({
      kind,
      retryDelays: [0, 0, 0, 0],
      async run() {
        runs++;
        throw new GiveUp('the endpoint is gone (410)');
      },
    });
    const id = (await put({ kind, payload: {} }))!;
    await until(() => settled(id));
    await sleep(300);

    expect(await job(id)).toMatchObject({
      state: 'dead',
      attempts: 1,
      last_error: 'the endpoint is gone (410)',
    });
    expect(runs).toBe(1);
    expect(t.logs.some((line) => line.includes('outbox: job given up') && line.includes(id))).toBe(true);
  });

  it('once its delays are spent, a failing job is dead after delays + 1 attempts', async () => {
    const kind = kindFor('always-down');
    outbox().register({
      kind,
      retryDelays: [0.2],
      async run() {
        throw new Error('still down');
      },
    });
    const id = (await put({ kind, payload: {} }))!;
    await until(() => settled(id));

    expect(await job(id)).toMatchObject({ state: 'dead', attempts: 2, last_error: 'still down' });
    expect((await attempts(id)).map((a) => a.ok)).toEqual([false, false]);
  });
});

describe('enqueueing', () => {
  it('is idempotent by dedupeKey: a second job with the key is not written, even once the first is done', async () => {
    const kind = kindFor('dedupe');
    const seen: unknown[] = [];
    outbox().register({
      kind,
      async run(payload) {
        seen.push(payload);
      },
    });
    const key = `dedupe:${randomUUID()}`;
    const first = await put({ kind, payload: { copy: 1 }, dedupeKey: key });
    const second = await put({ kind, payload: { copy: 2 }, dedupeKey: key });
    expect(first).toEqual(expect.any(String));
    expect(second).toBeNull();
    await t.drainOutbox({ kind });
    const third = await put({ kind, payload: { copy: 3 }, dedupeKey: key });
    expect(third).toBeNull();
    await t.drainOutbox({ kind });

    expect(seen).toEqual([{ copy: 1 }]);
    const rows = await queryRows(db(), sql`SELECT id FROM outbox_jobs WHERE dedupe_key = ${key}`);
    expect(rows).toHaveLength(1);
  });

  it('a job enqueued in a transaction that rolls back never exists, and never runs', async () => {
    const kind = kindFor('rolled-back');
    const seen: unknown[] = [];
    outbox().register({
      kind,
      async run(payload) {
        seen.push(payload);
      },
    });
    let written: string | null = null;
    await expect(
      db().transaction(async (tx) => {
        written = await enqueue(tx, { kind, payload: { which: 'rolled back' } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(written).toEqual(expect.any(String));
    // A job committed after it is carried out: the worker ran, and saw only that one.
    await put({ kind, payload: { which: 'committed' } });
    await t.drainOutbox({ kind });

    expect(seen).toEqual([{ which: 'committed' }]);
    expect(await queryRows(db(), sql`SELECT id FROM outbox_jobs WHERE id = ${written}`)).toEqual([]);
  });

  it('a job with a runAt waits for it', async () => {
    const kind = kindFor('later');
    const runs: number[] = [];
    outbox().register({
      kind,
      async run() {
        runs.push(Date.now());
      },
    });
    const runAt = new Date(Date.now() + 1200);
    const id = (await put({ kind, payload: {}, runAt }))!;
    await until(() => settled(id));
    expect(runs).toHaveLength(1);
    expect(runs[0]!).toBeGreaterThanOrEqual(runAt.getTime() - 5);
  });
});

describe('leases', () => {
  it("a job is leased for its handler's leaseSeconds, held by this instance while it runs", async () => {
    const kind = kindFor('leased');
    const started = deferred();
    const release = deferred();
    outbox().register({
      kind,
      leaseSeconds: 7,
      async run() {
        started.resolve();
        await release.promise;
      },
    });
    const id = (await put({ kind, payload: {} }))!;
    outbox().wake();
    await started.promise;
    const [lease] = await queryRows<{ locked_by: string; left: number }>(
      db(),
      sql`SELECT locked_by, EXTRACT(EPOCH FROM locked_until - now())::float8 AS left FROM outbox_jobs WHERE id = ${id}`,
    );
    release.resolve();
    expect(lease?.locked_by).toBe(outbox().instance);
    expect(lease?.left).toBeGreaterThan(5);
    expect(lease?.left).toBeLessThanOrEqual(7);
    await until(() => settled(id));
    expect((await job(id)).state).toBe('done');
  });

  it('an attempt that outlives its lease is taken over by another instance, and cannot settle the job after it', async () => {
    const kind = kindFor('taken-over');
    const log = recordingLog();
    const started = deferred();
    const release = deferred();
    // Instance A: one job at a time, so only B can claim the job once A's lease runs out.
    const a = new OutboxWorker(t.app.gatehouse.database, { pollMs: 50, concurrency: 1, log });
    a.register({
      kind,
      leaseSeconds: 1,
      async run() {
        started.resolve();
        await release.promise;
        throw new Error('A failed, late');
      },
    });
    const b = new OutboxWorker(t.app.gatehouse.database, { pollMs: 50, log: recordingLog() });
    b.register({ kind, leaseSeconds: 1, async run() {} });
    try {
      a.start();
      const id = (await put({ kind, payload: {} }))!;
      await started.promise;
      b.start();
      await until(() => settled(id));
      release.resolve();
      await a.stop();

      // B's success stands: A's late failure changed nothing but its own attempt's record.
      expect(await job(id)).toMatchObject({ state: 'done', attempts: 2, last_error: null, locked_by: null });
      expect(await attempts(id)).toEqual([
        { attempt: 1, instance: a.instance, ok: false, error: 'A failed, late' },
        { attempt: 2, instance: b.instance, ok: true, error: null },
      ]);
      expect(log.lines).toContain(
        'outbox: an attempt outlived its lease; the job was taken over and this attempt does not settle it',
      );
    } finally {
      release.resolve();
      await a.stop();
      await b.stop();
    }
  });
});

describe('stopping', () => {
  it('a stop while a claim is under way waits for the jobs it took, and releases them once out of time', async () => {
    const kind = kindFor('claimed-at-stop');
    const started = deferred();
    const release = deferred();
    const w = new OutboxWorker(t.app.gatehouse.database, {
      pollMs: 60_000,
      concurrency: 1,
      log: recordingLog(),
    });
    w.register({
      kind,
      async run() {
        started.resolve();
        await release.promise;
      },
    });
    const id = (await put({ kind, payload: {} }))!;
    try {
      // start() claims at once; the stop comes while that claim's statement is under way.
      w.start();
      await w.stop({ graceMs: 100 });
      // That claim took the job and its attempt began; still running when the grace ended, the job
      // was handed back rather than left leased to a stopped instance until its lease ran out.
      await started.promise;
      expect(await job(id)).toMatchObject({ state: 'pending', attempts: 1, locked_by: null });
    } finally {
      release.resolve();
      await w.stop();
    }
  });
});

describe('retention', () => {
  it('purges done jobs and their attempts after the retention, dead ones only after theirs', async () => {
    const kind = kindFor('old');
    const ids = {
      doneRecent: randomUUID(),
      doneOld: randomUUID(),
      deadOld: randomUUID(),
      deadOlder: randomUUID(),
      pendingOld: randomUUID(),
    };
    const row = (id: string, state: string, daysAgo: number) =>
      sql`(${id}, ${kind}, '{}'::jsonb, ${state}, now() - make_interval(days => ${daysAgo}),
           ${state === 'pending' ? null : sql`now() - make_interval(days => ${daysAgo})`})`;
    await db().execute(sql`
      INSERT INTO outbox_jobs (id, kind, payload, state, created_at, finished_at) VALUES
        ${row(ids.doneRecent, 'done', 6)}, ${row(ids.doneOld, 'done', 8)}, ${row(ids.deadOld, 'dead', 8)},
        ${row(ids.deadOlder, 'dead', 31)}, ${row(ids.pendingOld, 'pending', 40)}`);
    // The pending one is not due (so no worker of this test runs it): only its age matters here.
    await db().execute(
      sql`UPDATE outbox_jobs SET run_at = now() + interval '1 day' WHERE id = ${ids.pendingOld}`,
    );
    for (const id of Object.values(ids)) {
      await db().execute(sql`
        INSERT INTO outbox_attempts (job_id, attempt, instance, started_at, ok)
        VALUES (${id}, 1, 'i_test', now() - interval '40 days', false)`);
    }
    expect(t.config.outbox).toMatchObject({ retentionDays: 7, deadRetentionDays: 30 });

    const purged = await outbox().purge();

    expect(purged).toEqual({ done: 1, dead: 1 });
    const left = await queryRows<{ id: string }>(db(), sql`SELECT id FROM outbox_jobs WHERE kind = ${kind}`);
    expect(left.map((r) => r.id).sort()).toEqual([ids.doneRecent, ids.deadOld, ids.pendingOld].sort());
    const attemptsLeft = await queryRows<{ job_id: string }>(
      db(),
      sql`SELECT job_id FROM outbox_attempts WHERE instance = 'i_test'`,
    );
    expect(attemptsLeft.map((r) => r.job_id).sort()).toEqual(
      [ids.doneRecent, ids.deadOld, ids.pendingOld].sort(),
    );
    await db().execute(sql`DELETE FROM outbox_jobs WHERE kind = ${kind}`);
  });
});

describe.runIf(onPostgres)('waking other instances (PostgreSQL)', () => {
  let quiet: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    // One instance commits and carries nothing out; the other polls once a minute: within a test
    // it claims only when told.
    quiet = await createTestApp({ outbox: { worker: false } }, t.db);
    two = await createTestApp({ outbox: { pollMs: 60_000 } }, t.db);
  });
  afterAll(async () => {
    await two?.close();
    await quiet?.close();
  });

  it('jobs a command commits on one instance are claimed by another at once, not at its next poll', async () => {
    const kind = kindFor('elsewhere');
    const runs: string[] = [];
    two.app.gatehouse.outbox.register({
      kind,
      async run(payload) {
        runs.push((payload as { which: string }).which);
      },
    });
    // A command of the test's own: it enqueues, and records nothing.
    const enqueueOne: CommandDefinition<{ which: string }, string | null> = {
      action: 'test.enqueued',
      async run(ctx, input) {
        ctx.unchanged();
        return ctx.enqueue({ kind, payload: input });
      },
    };
    const meta = { ip: null, userAgent: null, requestId: null };
    const run = (which: string) =>
      quiet.app.gatehouse.commands.run(enqueueOne, { actor: { type: 'system' }, meta }, { which });
    const doneSoon = async (ids: string[]) => {
      for (let i = 0; i < 200; i++) {
        const states = await Promise.all(ids.map(async (id) => (await job(id)).state));
        if (states.every((s) => s === 'done')) return true;
        await sleep(25);
      }
      return false;
    };

    // The first may be claimed by the instance's first look (at start); after it, it only waits.
    expect(await doneSoon([(await run('first'))!])).toBe(true);
    await sleep(200);
    const second = (await run('second'))!;
    expect(await doneSoon([second])).toBe(true);
    expect((await attempts(second))[0]?.instance).toBe(two.app.gatehouse.outbox.instance);

    // A burst: the notices are coalesced, and the last commit's is never lost.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => run(`burst ${i}`)));
    expect(await doneSoon(burst.map((id) => id!))).toBe(true);
    expect(runs.slice(0, 2)).toEqual(['first', 'second']);
    expect(runs.slice(2).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `burst ${i}`).sort());
  });
});

describe('a job deleted while it runs', () => {
  it('(its org was deleted) ends quietly: nothing recorded for it, no settling error', async () => {
    const log = recordingLog();
    const kind = kindFor('orphan');
    const started = deferred();
    const release = deferred();
    const w = new OutboxWorker(t.app.gatehouse.database, { pollMs: 50, concurrency: 1, log });
    w.register({
      kind,
      async run() {
        started.resolve();
        await release.promise;
      },
    });
    try {
      w.start();
      const id = (await put({ kind, payload: {} }))!;
      await started.promise;
      // What deleting the job's organization does to it (the foreign key's cascade).
      await db().execute(sql`DELETE FROM outbox_jobs WHERE id = ${id}`);
      release.resolve();
      await w.stop();
      expect(log.lines.filter((l) => l.includes('settling a job failed'))).toEqual([]);
      expect(await attempts(id)).toEqual([]);
    } finally {
      release.resolve();
      await w.stop();
    }
  });
});
