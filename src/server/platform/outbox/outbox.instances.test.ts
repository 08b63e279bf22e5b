import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { enqueue } from './index.ts';

/**
 * Two instances (two apps in this process, on one database: on PostgreSQL each with its own pool
 * and its own listening connection, as two servers would be) share the outbox's work: every job
 * is carried out exactly once, and never by both at the same moment.
 */

const JOBS = 1000;
const KIND = 'test.shared-work';

let one: TestApp;
let two: TestApp;
beforeAll(async () => {
  one = await createTestApp({ outbox: { pollMs: 50, concurrency: 8 } });
  two = await createTestApp({ outbox: { pollMs: 50, concurrency: 8 } }, one.db);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
});

describe(`two instances on one ${onPostgres ? 'PostgreSQL' : 'PGlite'} database`, () => {
  it(`carry out ${JOBS} jobs, each exactly once, none by both at once`, async () => {
    const runs = new Map<string, number>();
    const runningOn = new Map<string, string>();
    const byInstance = new Map<string, number>();
    let overlaps = 0;
    for (const t of [one, two]) {
      const instance = t.app.gatehouse.outbox.instance;
      t.app.gatehouse.outbox.register({
        kind: KIND,
        async run(_payload, job) {
          if (runningOn.has(job.id)) overlaps++;
          runningOn.set(job.id, instance);
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
          byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
          // Long enough for the other instance to be claiming meanwhile.
          await sleep(1 + (job.id.charCodeAt(0) % 4));
          runningOn.delete(job.id);
        },
      });
    }

    // Written while both run: batches through each instance's own database connection.
    const ids: string[] = [];
    for (let batch = 0; batch < JOBS / 50; batch++) {
      const db = (batch % 2 ? two : one).app.gatehouse.database.db;
      const written = await db.transaction(async (tx) => {
        const out: string[] = [];
        for (let i = 0; i < 50; i++) out.push((await enqueue(tx, { kind: KIND, payload: { batch, i } }))!);
        return out;
      });
      ids.push(...written);
      await sleep(10);
    }
    expect(new Set(ids).size).toBe(JOBS);

    const db = one.app.gatehouse.database.db;
    const done = async () =>
      (
        await queryRows<{ n: number }>(
          db,
          sql`SELECT count(*)::int AS n FROM outbox_jobs WHERE kind = ${KIND} AND state = 'done'`,
        )
      )[0]!.n;
    const deadline = Date.now() + 60_000;
    while ((await done()) < JOBS && Date.now() < deadline) await sleep(50);

    expect(await done()).toBe(JOBS);
    expect([...runs.keys()].sort()).toEqual([...ids].sort());
    expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
    expect(overlaps).toBe(0);
    // Both took part, and the attempts recorded agree: one each, by one instance or the other.
    expect(byInstance.get(one.app.gatehouse.outbox.instance)).toBeGreaterThan(0);
    expect(byInstance.get(two.app.gatehouse.outbox.instance)).toBeGreaterThan(0);
    const recorded = await queryRows<{ n: number; jobs: number; instances: number }>(
      db,
      sql`SELECT count(*)::int AS n, count(DISTINCT a.job_id)::int AS jobs, count(DISTINCT a.instance)::int AS instances
            FROM outbox_attempts a JOIN outbox_jobs j ON j.id = a.job_id WHERE j.kind = ${KIND}`,
    );
    expect(recorded[0]).toEqual({ n: JOBS, jobs: JOBS, instances: 2 });
  });
});
