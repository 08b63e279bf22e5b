/**
 * Online verification of an organization's audit log (GET …/audit-events/verify?full=true, the
 * whole chain): entries per second, and what it does to the server's other requests (the latency
 * of GET /healthz, polled by a client in another process while a verification runs).
 *
 * Figures, each with its same-run baseline:
 *   (a) AuditLog.verify over the whole chain: entries read on the main thread in batches, hashed
 *       on the hash pool's worker threads (one per core)
 *   (b) baseline, the previous path: the same entries read as schema rows, hashed and
 *       authenticated on the main thread (entryHash(entryFromRow(row)) and the entry's HMAC per
 *       row, what verification did before the pool)
 *   (c) baseline: SHA-256 of each entry's canonical line, lines in memory, one core (crypto.hash)
 *   (c') canonical JSON + SHA-256 per entry (entryHash of rows in memory), one core
 *   GET /healthz p50/p99 from a client process polling every POLL_MS: idle, during (a), during (b)
 *
 * The entries are seeded straight into PostgreSQL (bench/audit-seed.ts), written as the server's
 * own key would have. Fresh database of its own on DATABASE_URL's server (loopback only), dropped
 * at the end. The machine may be shared: each measurement runs ROUNDS times and all are printed.
 *
 *   node --import tsx bench/audit-verify-online.ts     BENCH_ENTRIES=100000 BENCH_ROUNDS=3
 */
import { type ChildProcess, fork } from 'node:child_process';
import { hash as digest } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { asc, eq } from 'drizzle-orm';
import { buildApp } from '../src/server/app.ts';
import { loadConfig } from '../src/server/config.ts';
import { canonicalBody, entryHash } from '../src/server/platform/audit/entry.ts';
import { entryMacValid } from '../src/server/platform/audit/keys.ts';
import { entryFromRow } from '../src/server/platform/audit/log.ts';
import { type Database, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import { auditEvents } from '../src/server/platform/db/schema.ts';
import { orgWithLongLog } from './audit-seed.ts';
import { call, machineLine, removeDir, sleep, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POLL_MS = 5;
const CLIENT_ROLE = 'GATEHOUSE_BENCH_HEALTHZ_CLIENT';

// ---------------------------------------------------------------------------------------------
// The /healthz client process: polls until told to report, then reports the latencies since the
// last report.

async function client(): Promise<void> {
  const base = process.env.BENCH_BASE!;
  let latencies: number[] = [];
  let running = true;
  process.on('message', (message: { type: string }) => {
    if (message.type === 'report') {
      process.send!({ type: 'latencies', latencies });
      latencies = [];
    } else if (message.type === 'stop') running = false;
  });
  process.send!({ type: 'ready' });
  while (running) {
    const started = performance.now();
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
    } catch {
      break; // the server stopped
    }
    latencies.push(performance.now() - started);
    await sleep(POLL_MS);
  }
  process.disconnect();
}

// ---------------------------------------------------------------------------------------------

const out = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function latencies(child: ChildProcess): Promise<number[]> {
  return new Promise((resolve) => {
    const on = (message: { type: string; latencies?: number[] }) => {
      if (message.type !== 'latencies') return;
      child.off('message', on);
      resolve(message.latencies!);
    };
    child.on('message', on);
    child.send({ type: 'report' });
  });
}

/** The previous verification's reading and hashing: schema rows, hashed on the main thread. */
async function mainThreadHashing(
  app: App,
  database: Database,
  orgId: string,
  headSeq: number,
): Promise<number> {
  const key = app.gatehouse.audit.signingKey;
  let checked = 0;
  let previous: string | undefined;
  const range = { fromSeq: 1, toSeq: headSeq };
  for await (const rows of app.gatehouse.audit.readEntries(database.db, orgId, range, 5_000)) {
    for (const row of rows) {
      const computed = entryHash(entryFromRow('org', row));
      // Past the last checkpoint (there is none here) each entry's authenticator is checked too.
      const authentic = row.macKeyId === key.keyId && entryMacValid(key, row.hash, row.mac);
      if (!authentic || computed !== row.hash || (previous !== undefined && row.prevHash !== previous)) {
        throw new Error(`entry ${row.seq} does not verify`);
      }
      previous = row.hash;
      checked++;
    }
  }
  return checked;
}

type App = Awaited<ReturnType<typeof buildApp>>;

async function main(): Promise<void> {
  const { name, url } = await createBenchDatabase();
  const dataDir = tempDir('audit-verify-online');
  let database: Database | undefined;
  let healthz: ChildProcess | undefined;
  let app: App | undefined;
  try {
    database = await openDatabase({ databaseUrl: url, poolSize: 5 });
    await migrateDatabase(database);
    const config = loadConfig({
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SIGNUP_MAX_PER_IP: '1000',
    });
    app = await buildApp({ config, database, quiet: true });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const pool = database.pool!;
    const { cookie, orgId, seeded } = await orgWithLongLog(base, pool, dataDir, 'Verify Org', ENTRIES);
    await pool.query('VACUUM (ANALYZE) audit_events');
    const headSeq = seeded.headSeq;

    out('== Online audit verification: worker threads vs the main thread ==');
    out(machineLine());
    out(
      `${fmt(headSeq)} entries in one org's chain (PostgreSQL on loopback, seeded in ${seeded.seconds.toFixed(1)} s); ` +
        `${app.gatehouse.audit.hashThreads} hashing threads; ${ROUNDS} rounds each after a warm-up; load average ${os.loadavg()[0]!.toFixed(2)}`,
    );

    // In-memory baselines, one core: the canonical lines and the rows as the schema reads them.
    const rows = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.chainId, orgId))
      .orderBy(asc(auditEvents.seq));
    const lines = rows.map((row) => Buffer.from(canonicalBody(entryFromRow('org', row))));
    const rate = (count: number, run: () => unknown) => {
      const started = performance.now();
      run();
      return count / ((performance.now() - started) / 1000);
    };
    let sink = 0;
    const rawSha: number[] = [];
    const canonicalSha: number[] = [];
    for (let r = 0; r <= ROUNDS; r++) {
      const a = rate(lines.length, () => {
        for (const line of lines) sink += digest('sha256', line).length;
      });
      const b = rate(rows.length, () => {
        for (const row of rows) sink += entryHash(entryFromRow('org', row)).length;
      });
      if (r > 0) {
        rawSha.push(a);
        canonicalSha.push(b);
      }
    }
    if (sink === 0) throw new Error('nothing hashed');

    healthz = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [CLIENT_ROLE]: '1', BENCH_BASE: base },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve) => healthz!.once('message', () => resolve()));
    const { audit } = app.gatehouse;
    const chain = { kind: 'org' as const, id: orgId };

    const pooled: number[] = [];
    const mainThread: number[] = [];
    const idle: number[][] = [];
    const duringPool: number[][] = [];
    const duringMain: number[][] = [];
    for (let r = 0; r <= ROUNDS; r++) {
      await sleep(1_000);
      const quiet = await latencies(healthz);
      let started = performance.now();
      const report = await audit.verify(database.db, chain);
      const poolSeconds = (performance.now() - started) / 1000;
      const withPool = await latencies(healthz);
      if (!report.ok || report.checked !== headSeq)
        throw new Error(`not verified: ${JSON.stringify(report)}`);
      started = performance.now();
      const checked = await mainThreadHashing(app, database, orgId, headSeq);
      const mainSeconds = (performance.now() - started) / 1000;
      const withMain = await latencies(healthz);
      if (checked !== headSeq) throw new Error(`the main-thread path checked ${checked}`);
      if (r === 0) continue;
      pooled.push(headSeq / poolSeconds);
      mainThread.push(headSeq / mainSeconds);
      idle.push(quiet);
      duringPool.push(withPool);
      duringMain.push(withMain);
    }
    // Through the API once: the route's own answer.
    const viaApi = await call(
      base,
      'GET',
      `/api/v1/orgs/${orgId}/audit-events/verify?full=true`,
      undefined,
      cookie,
    );
    if (viaApi.status !== 200 || !JSON.parse(viaApi.text).ok)
      throw new Error(`verify: ${viaApi.status} ${viaApi.text}`);

    const spread = (values: number[]) =>
      `best ${fmt(Math.max(...values))}, rounds ${values.map(fmt).join(', ')}`;
    const best = (values: number[]) => Math.max(...values);
    out(`(a) verify, worker threads            ${spread(pooled)} entries/s`);
    out(`(b) baseline: main-thread hashing     ${spread(mainThread)} entries/s`);
    out(`(c) baseline: sha256 per canonical line, in memory, one core   ${spread(rawSha)} lines/s`);
    out(`(c') canonical JSON + sha256 per entry, in memory, one core    ${spread(canonicalSha)} entries/s`);
    out(
      `ratios (best of each): (a)/(c) ${(best(pooled) / best(rawSha)).toFixed(2)}, (a)/(c') ${(best(pooled) / best(canonicalSha)).toFixed(2)}, ` +
        `(a)/(b) ${(best(pooled) / best(mainThread)).toFixed(2)}, (b)/(c) ${(best(mainThread) / best(rawSha)).toFixed(2)}`,
    );
    const stats = (label: string, windows: number[][]) => {
      const per = windows.map(
        (w) => `p50 ${percentile(w, 50).toFixed(1)} / p99 ${percentile(w, 99).toFixed(1)} ms (n=${w.length})`,
      );
      out(`GET /healthz ${label.padEnd(34)} ${per.join('; ')}`);
    };
    stats('idle', idle);
    stats('during (a), worker threads', duringPool);
    stats('during (b), main-thread hashing', duringMain);
  } finally {
    healthz?.send({ type: 'stop' });
    await app?.close();
    await database?.close();
    await dropBenchDatabase(name).catch(() => undefined);
    removeDir(dataDir);
  }
}

if (process.env[CLIENT_ROLE] === '1') await client();
else await main();
