/**
 * Whether the audit export streams: one organization's log of BENCH_ENTRIES entries (default
 * 1,000,000; about 770 bytes each as JSON Lines, 560 as CSV) downloaded over loopback HTTP as
 * JSON Lines, CSV and JSON, with the server's memory watched throughout. The JSON Lines download
 * is verified as it arrives (`verifyExportLines`, with the key GET /api/v1/audit-keys publishes).
 *
 * The server runs in a child process of its own, so its memory is not mixed with the client's:
 * peak RSS is the kernel's high-water mark (VmHWM, reset through /proc/<pid>/clear_refs at the
 * start of each phase; VmRSS sampled every 50 ms where the reset is refused), also sampled per
 * quarter of the file so that growth with length would show; peak heap is the server's own
 * `process.memoryUsage().heapUsed`, sampled every 50 ms. The baseline follows a full garbage
 * collection just before each download.
 *
 * The entries are seeded straight into PostgreSQL (not measured), each one exactly what
 * `AuditLog.append` would have written (same fields, canonical hash, `prevHash` links, the
 * server key's authenticator, sequence
 * numbers after the org's own entries), in one transaction that holds the chain's head row as
 * `append` does; the secondary indexes are rebuilt from their own definitions after the load. The
 * first download therefore pays for verifying the whole chain before its first byte (the export
 * signs a checkpoint only over a chain that verifies); the next ones only for what was added since.
 * Fresh database of its own on DATABASE_URL's server (loopback only), dropped at the end.
 *
 *   node --import tsx bench/audit-export.ts     BENCH_ENTRIES=1000000
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { buildApp } from '../src/server/app.ts';
import { loadConfig } from '../src/server/config.ts';
import { parsePublicKey } from '../src/server/platform/audit/keys.ts';
import { verifyExportLines } from '../src/server/platform/audit/verify-file.ts';
import { type Database, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import { orgWithLongLog } from './audit-seed.ts';
import { call, machineLine, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const SAMPLE_MS = 50;
const FORMATS = ['jsonl', 'csv', 'json'] as const;
type Format = (typeof FORMATS)[number];
/** Set in the child process that runs the server. */
const SERVER_ROLE = 'GATEHOUSE_BENCH_EXPORT_SERVER';

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

interface Usage {
  rss: number;
  heapUsed: number;
}

type ServerMessage =
  | { type: 'ready'; base: string }
  | { type: 'baseline'; usage: Usage }
  | { type: 'mark'; usage: Usage }
  | { type: 'stopped'; warnings: string[] };

// ---------------------------------------------------------------------------------------------
// The server process

async function serve(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL!;
  const warnings: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      warnings.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({
    DATABASE_URL: url,
    DATA_DIR: process.env.BENCH_DATA_DIR!,
    LOG_LEVEL: 'warn',
    SIGNUP_MAX_PER_IP: '1000',
  });
  const database = await openDatabase({ databaseUrl: url, poolSize: 5 });
  const app = await buildApp({ config, database, quiet: true, logStream });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  // Peaks since the last baseline; the timer runs on the server's own event loop, so a long
  // synchronous stretch delays a sample (VmHWM in the parent has no such blind spot for RSS).
  const peak: Usage = { rss: 0, heapUsed: 0 };
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const send = (message: ServerMessage) => process.send!(message);

  process.on('message', async (message: { type: string }) => {
    if (message.type === 'baseline') {
      globalThis.gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      peak.rss = rss;
      peak.heapUsed = heapUsed;
      send({ type: 'baseline', usage: { rss, heapUsed } });
    } else if (message.type === 'mark') {
      // The peaks since the last baseline or mark; the next ones start from now.
      sample();
      send({ type: 'mark', usage: { ...peak } });
      const { rss, heapUsed } = process.memoryUsage();
      peak.rss = rss;
      peak.heapUsed = heapUsed;
    } else if (message.type === 'stop') {
      clearInterval(sampler);
      await app.close();
      await database.close();
      send({ type: 'stopped', warnings });
      process.disconnect();
    }
  });
  send({ type: 'ready', base });
}

// ---------------------------------------------------------------------------------------------
// The client process: seeding, downloading, measuring

/** The next message of a type from the server process. */
function reply<T extends ServerMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ServerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ServerMessage) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<ServerMessage, { type: T }>);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`the server process exited (${code}) before answering ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function ask<T extends ServerMessage['type']>(child: ChildProcess, type: T) {
  const answer = reply(child, type);
  child.send({ type });
  return answer;
}

/** Waits for the server process to exit on its own, for a few seconds, then ends it. */
async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGTERM'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A kB figure from /proc/<pid>/status (VmRSS, VmHWM), in bytes. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** How far a download has come: entries received, -1 until the response starts. */
interface Progress {
  bytes: number;
  entries: number;
}

/** Lines of a UTF-8 byte stream, counting its bytes on the way. */
async function* linesOf(body: AsyncIterable<Uint8Array>, progress: Progress) {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    progress.bytes += chunk.byteLength;
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    rest = lines.pop()!;
    yield* lines;
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

/** Counts the bytes and line feeds of a byte stream without decoding it; returns the line feeds. */
async function countLineFeeds(body: AsyncIterable<Uint8Array>, progress: Progress, header: number) {
  let lineFeeds = 0;
  for await (const chunk of body) {
    progress.bytes += chunk.byteLength;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lineFeeds++;
    progress.entries = Math.max(0, lineFeeds - header);
  }
  return lineFeeds;
}

interface PhasePeak {
  rss: number;
  heap: number;
}

interface ExportResult {
  format: Format;
  expected: number;
  entries: number;
  bytes: number;
  firstByteSeconds: number;
  seconds: number;
  baseline: Usage;
  /** From the request until the response starts (the export's command: verification, signing). */
  waiting: PhasePeak;
  streaming: PhasePeak;
  /** Highest sampled RSS in each quarter of the entries received. */
  quarters: number[];
  verified?: string;
}

/**
 * One download, with the server's memory watched: before the response starts, and while it
 * streams (per quarter of the file too, so growth with length would show).
 */
async function download(
  child: ChildProcess,
  pool: pg.Pool,
  base: string,
  orgId: string,
  cookie: string,
  format: Format,
  keys: ReadonlyMap<string, KeyObject>,
): Promise<ExportResult> {
  const pid = child.pid!;
  // The export covers the chain up to its head when the request starts (its own entry follows).
  const { rows } = await pool.query<{ head_seq: number }>(
    'SELECT head_seq FROM audit_chains WHERE chain_id = $1',
    [orgId],
  );
  const expected = rows[0]!.head_seq;
  const { usage: collected } = await ask(child, 'baseline');
  // VmHWM is exact where the kernel lets it be reset; the 50 ms samples stand in otherwise. The
  // baseline RSS is read here rather than in the server: pages a collection frees leave a little later.
  const exact = resetPeakRss(pid);
  const baseline: Usage = { rss: procStatus(pid, 'VmRSS'), heapUsed: collected.heapUsed };
  const progress: Progress = { bytes: 0, entries: -1 };
  let waitingRss = baseline.rss;
  const quarters = [0, 0, 0, 0];
  const sample = () => {
    const rss = procStatus(pid, 'VmRSS');
    if (progress.entries < 0) waitingRss = Math.max(waitingRss, rss);
    else {
      const q = Math.min(3, Math.floor((4 * progress.entries) / expected));
      quarters[q] = Math.max(quarters[q]!, rss);
    }
  };
  const peakRss = (sampled: number) => (exact ? Math.max(procStatus(pid, 'VmHWM'), sampled) : sampled);
  const sampler = setInterval(sample, SAMPLE_MS);

  const started = performance.now();
  const res = await fetch(`${base}/api/v1/orgs/${orgId}/audit-events/export?format=${format}`, {
    headers: { cookie },
  });
  const firstByteSeconds = (performance.now() - started) / 1000;
  sample();
  const waiting: PhasePeak = { rss: peakRss(waitingRss), heap: 0 };
  resetPeakRss(pid);
  waiting.heap = (await ask(child, 'mark')).usage.heapUsed;
  progress.entries = 0;
  if (res.status !== 200 || !res.body) throw new Error(`export ${format}: ${res.status} ${await res.text()}`);
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  let verified: string | undefined;
  if (format === 'jsonl') {
    let checkpoints = 0;
    const counted = (async function* () {
      for await (const line of linesOf(body, progress)) {
        if (line.startsWith('{"checkpoint":')) checkpoints++;
        else if (line !== '') progress.entries++;
        yield line;
      }
    })();
    const report = await verifyExportLines(counted, keys);
    verified = report.ok
      ? `OK (${report.checked} entries, ${checkpoints} signed checkpoint(s), signed up to entry ${report.signedSeq})`
      : `FAILED at entry ${report.firstBadSeq}: ${report.reason} (${report.detail})`;
  } else {
    // CSV: a header row, then one row per entry (no cell here holds a line break). JSON: the
    // header line, one line per entry, then `]}` on a line of its own.
    const lineFeeds = await countLineFeeds(body, progress, 1);
    progress.entries = lineFeeds - (format === 'csv' ? 1 : 2);
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sample();
  const streamingHeap = (await ask(child, 'mark')).usage.heapUsed;
  return {
    format,
    expected,
    entries: progress.entries,
    bytes: progress.bytes,
    firstByteSeconds,
    seconds,
    baseline,
    waiting,
    streaming: { rss: peakRss(Math.max(...quarters)), heap: streamingHeap },
    quarters,
    ...(verified ? { verified } : {}),
  };
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { name, url } = await createBenchDatabase();
  const dataDir = tempDir('audit-export');
  let database: Database | undefined;
  let child: ChildProcess | undefined;
  try {
    out(machineLine());
    database = await openDatabase({ databaseUrl: url, poolSize: 3 });
    await migrateDatabase(database);
    const pool = database.pool!;

    child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      env: { ...process.env, [SERVER_ROLE]: '1', BENCH_DATABASE_URL: url, BENCH_DATA_DIR: dataDir },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { base } = await reply(child, 'ready');

    const { cookie, orgId, seeded } = await orgWithLongLog(base, pool, dataDir, 'Export Org', ENTRIES);
    // Settle the table as it would be long after these writes (statistics, visibility, hint bits),
    // so no autovacuum runs into the measurement.
    const vacuumStarted = performance.now();
    await pool.query('VACUUM (ANALYZE) audit_events');
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
    const { rows: sizes } = await pool.query<{ table: string; total: string }>(
      `SELECT pg_size_pretty(pg_relation_size('audit_events')) AS table,
              pg_size_pretty(pg_total_relation_size('audit_events')) AS total`,
    );

    out(
      `PostgreSQL, server in a child process; ${ENTRIES.toLocaleString('en-US')} entries seeded ` +
        `(chain head ${seeded.headSeq}) in ${seeded.seconds.toFixed(1)} s (of which rebuilding ${seeded.indexes} indexes ` +
        `${seeded.indexSeconds.toFixed(1)} s), VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s; ` +
        `audit_events ${sizes[0]!.table} (with indexes ${sizes[0]!.total})`,
    );
    out(
      `server memory: peak RSS ${
        resetPeakRss(child.pid!)
          ? 'is the kernel high-water mark (VmHWM, reset at the start of each phase)'
          : `from /proc/<pid>/status VmRSS sampled every ${SAMPLE_MS} ms`
      }, by quarter sampled every ${SAMPLE_MS} ms; heap is heapUsed sampled every ${SAMPLE_MS} ms; ` +
        `"before" follows a full GC. The first export verifies the whole chain before its first byte ` +
        `(nothing is signed yet); the next ones only what was added since.`,
    );

    const keysRes = await call(base, 'GET', '/api/v1/audit-keys', undefined);
    const keys = new Map<string, KeyObject>();
    for (const k of (JSON.parse(keysRes.text) as { items: Array<{ keyId: string; publicKey: string }> })
      .items)
      keys.set(k.keyId, parsePublicKey(k.publicKey));

    for (const format of FORMATS) {
      const r = await download(child, pool, base, orgId, cookie, format, keys);
      const streamSeconds = r.seconds - r.firstByteSeconds;
      const growth = r.streaming.rss - r.baseline.rss;
      out(
        `${r.format.padEnd(5)} ${r.entries.toLocaleString('en-US')} entries` +
          `${r.entries === r.expected ? '' : ` (EXPECTED ${r.expected})`}, ${mb(r.bytes)} ` +
          `(${(r.bytes / r.entries).toFixed(0)} B/entry) in ${r.seconds.toFixed(1)} s = ` +
          `${r.firstByteSeconds.toFixed(1)} s to the first byte + ${streamSeconds.toFixed(1)} s streaming at ` +
          `${(r.bytes / MB / streamSeconds).toFixed(1)} MB/s, ${(r.entries / streamSeconds).toFixed(0)} entries/s ` +
          `(overall ${(r.bytes / MB / r.seconds).toFixed(1)} MB/s, ${(r.entries / r.seconds).toFixed(0)} entries/s)`,
      );
      out(
        `      server before: RSS ${mb(r.baseline.rss)}, heap ${mb(r.baseline.heapUsed)}; ` +
          `until the first byte: peak RSS ${mb(r.waiting.rss)}, heap ${mb(r.waiting.heap)}`,
      );
      out(
        `      streaming: peak RSS ${mb(r.streaming.rss)} (+${mb(growth)} = ${((100 * growth) / r.bytes).toFixed(2)}% ` +
          `of the file), heap ${mb(r.streaming.heap)}; RSS by quarter of the file ` +
          `${r.quarters.map((q) => (q / MB).toFixed(0)).join(' / ')} MB`,
      );
      if (r.verified) out(`      verification of the JSON Lines stream as it arrived: ${r.verified}`);
    }

    child.send({ type: 'stop' });
    const { warnings } = await reply(child, 'stopped');
    await stopped(child);

    if (warnings.length) out(`server warnings: ${warnings.length} (first: ${warnings[0]})`);
  } finally {
    if (child?.connected) child.send({ type: 'stop' });
    if (child) await stopped(child);
    await database?.close();
    await dropBenchDatabase(name);
    removeDir(dataDir);
  }
}

if (process.env[SERVER_ROLE] === '1') await serve();
else await main();
