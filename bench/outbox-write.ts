/**
 * What the outbox costs the write that enqueues: commands per second on PostgreSQL through the
 * real command runner, each inserting one row, next to the same command that also enqueues one
 * job (`ctx.enqueue`: one more statement, then after commit the runner wakes its worker and sends
 * the other instances' wake notice), with 16 concurrent clients, in the same run.
 *
 * Two shapes: the writes alone (the jobs pile up, nothing carries them out), and the writes while
 * an outbox worker of the same process carries the jobs out as they come (woken by the notices,
 * as a server is). Phases alternate ABBA so drift hits both alike; each phase runs PHASE_MS after
 * a warm-up, on a fresh database of its own (dropped at the end). A listening connection (the
 * cache bus) is open throughout, as on a server.
 *
 *   node --import tsx bench/outbox-write.ts     BENCH_PHASE_MS=4000
 */
import { sql } from 'drizzle-orm';
import { createInvalidationBus, type InvalidationBus } from '../src/server/platform/cache/cache.ts';
import {
  type CommandDefinition,
  CommandRunner,
  type CommandServices,
} from '../src/server/platform/command.ts';
import { type Database, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import { OUTBOX_WAKE_TOPIC, OutboxWorker } from '../src/server/platform/outbox/index.ts';
import { machineLine } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 4_000);
const WARMUP_MS = 750;
const KIND = 'bench.noop';

/** The write: one row; with `withJob`, one outbox job too. It records nothing in the audit log. */
const write: CommandDefinition<{ client: number; n: number; withJob: boolean }, void> = {
  action: 'bench.written',
  async run(ctx, input) {
    await ctx.tx.execute(sql`INSERT INTO bench_writes (client, n) VALUES (${input.client}, ${input.n})`);
    if (input.withJob) await ctx.enqueue({ kind: KIND, payload: { client: input.client, n: input.n } });
    ctx.unchanged();
  },
};
const META = { ip: null, userAgent: null, requestId: null };

async function phase(runner: CommandRunner, withJob: boolean, ms: number): Promise<number> {
  let done = 0;
  let stop = false;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; !stop; n++) {
        await runner.run(write, { actor: { type: 'system' }, meta: META }, { client, n, withJob });
        done++;
        if (performance.now() - started >= ms) stop = true;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** ABBA: without, with, with, without. */
async function compare(runner: CommandRunner): Promise<{ without: number[]; with: number[] }> {
  const out = { without: [] as number[], with: [] as number[] };
  for (const withJob of [false, true, true, false]) {
    await phase(runner, withJob, WARMUP_MS);
    out[withJob ? 'with' : 'without'].push(await phase(runner, withJob, PHASE_MS));
  }
  return out;
}

/** A runner with only what these commands use: no sessions, mail or audit entries. */
function runnerFor(database: Database, bus: InvalidationBus, outbox: { wake(): void }): CommandRunner {
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not in this benchmark')) });
  return new CommandRunner(
    database,
    bus,
    {
      sessions: unused as CommandServices['sessions'],
      secrets: unused as CommandServices['secrets'],
      audit: unused as CommandServices['audit'],
      outbox,
      alertPromotion: () => Promise.reject(new Error('not in this benchmark')),
    },
    { entryFor: () => ({}) as never, append: async () => [] },
    (err) => {
      throw err;
    },
  );
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function report(label: string, r: { without: number[]; with: number[] }): void {
  const a = mean(r.without);
  const b = mean(r.with);
  process.stdout.write(
    `${label.padEnd(32)} without a job ${a.toFixed(0)} commands/s (runs ${r.without.map((x) => x.toFixed(0)).join(', ')}); ` +
      `with one ${b.toFixed(0)}/s (runs ${r.with.map((x) => x.toFixed(0)).join(', ')}); ratio ${(b / a).toFixed(2)}\n`,
  );
}

async function main(): Promise<void> {
  const { name, url } = await createBenchDatabase();
  let database: Database | undefined;
  try {
    database = await openDatabase({ databaseUrl: url, poolSize: CLIENTS + 4 });
    await migrateDatabase(database);
    await database.pool!.query(
      'CREATE TABLE bench_writes (id bigserial PRIMARY KEY, client int NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT now())',
    );
    const bus = await createInvalidationBus(database, url, () => undefined);

    const alone = await compare(runnerFor(database, bus, { wake: () => undefined }));

    const errors: string[] = [];
    const worker = new OutboxWorker(database, {
      log: { warn: (_o, msg) => errors.push(msg), error: (_o, msg) => errors.push(msg) },
    });
    let carried = 0;
    worker.register({
      kind: KIND,
      async run() {
        carried++;
      },
    });
    bus.onWake(OUTBOX_WAKE_TOPIC, () => worker.wake());
    // The jobs of the first shape are not this worker's to wait for.
    await database.pool!.query(`UPDATE outbox_jobs SET state = 'done', finished_at = now() WHERE kind = $1`, [
      KIND,
    ]);
    worker.start();
    const drained = await compare(runnerFor(database, bus, worker));
    await worker.stop();
    await bus.close();

    const { rows } = await database.pool!.query<{ pending: string }>(
      `SELECT count(*) FILTER (WHERE state = 'pending') AS pending FROM outbox_jobs WHERE kind = $1`,
      [KIND],
    );
    process.stdout.write(`${machineLine()}\n`);
    process.stdout.write(
      `PostgreSQL, ${CLIENTS} concurrent clients, commands of one INSERT, ${PHASE_MS / 1000} s phases (ABBA)\n`,
    );
    report('writes alone', alone);
    report('writes while a worker drains', drained);
    process.stdout.write(
      `jobs carried out by the worker meanwhile: ${carried} (${rows[0]!.pending} still pending at the end)` +
        `${errors.length ? `; worker warnings: ${errors.length} (first: ${errors[0]})` : ''}\n`,
    );
  } finally {
    await database?.close();
    await dropBenchDatabase(name);
  }
}

await main();
