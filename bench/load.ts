/**
 * Closed-loop HTTP load for the throughput benchmarks: autocannon from a worker thread (so the
 * client does not share the servers' event loop), the server main thread's busy time per request
 * (event-loop utilization), ABBA run orders and the lines the scripts print about them.
 */
import autocannon, { type Result } from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/main.ts';
import { ms, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

/** One thing to load: a URL and the headers every request carries. */
export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
}

export interface Summary {
  rps: number;
  mean: number;
  p50: number;
  p99: number;
  ok: number;
  /** Responses with status exactly 200. */
  status200: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  codes: string;
}

export function summaryLine(label: string, s: Summary): string {
  return `${label.padEnd(30)} ${s.rps.toFixed(0).padStart(6)} req/s   p50 ${ms(s.p50, 1)}   p99 ${ms(s.p99, 1)}   mean ${ms(s.mean, 2)}`;
}

/** Every response was a 200: no other status, no errors, no timeouts, and at least one response. */
export const allOk = (s: Summary) =>
  s.non2xx === 0 && s.errors === 0 && s.timeouts === 0 && s.ok > 0 && s.status200 === s.ok;

/** The counts behind `allOk`, in parentheses. */
export function okDetail(s: Summary): string {
  return `(${s.ok} x 200, non2xx ${s.non2xx}, errors ${s.errors}, timeouts ${s.timeouts}; status codes ${s.codes})`;
}

/**
 * A load generator with a fixed number of connections, `durationS` per target (two runs of half
 * that) after a `warmupS` warm-up; it keeps each title's busy time per request.
 */
export class Loader {
  /** Main-thread busy time per request during each title's runs (µs): the servers live on this thread. */
  private readonly busyUs: Record<string, number[]> = {};

  constructor(
    readonly connections: number,
    readonly durationS: number,
    readonly warmupS = 2,
  ) {}

  /** BENCH_CONNECTIONS (default 10) and BENCH_DURATION (s per target, default 10). */
  static fromEnv(): Loader {
    return new Loader(Number(process.env.BENCH_CONNECTIONS ?? 10), Number(process.env.BENCH_DURATION ?? 10));
  }

  /** The settings lines every throughput benchmark prints under its title. */
  settingsLines(database: string): string {
    return (
      `autocannon: ${this.connections} connections, ${this.durationS} s per target (2 runs of ${this.durationS / 2} s, ABBA order) after a ${this.warmupS} s warm-up each; load from 1 worker thread; database ${database}\n` +
      "latency: p50/p99 from autocannon (whole ms, truncated); mean = connections / req/s (Little's law, exact for a closed loop)\n"
    );
  }

  async load(title: string, url: string, headers: Record<string, string>, seconds: number): Promise<Result> {
    const before = performance.eventLoopUtilization();
    const result = await autocannon({
      title,
      url,
      headers,
      connections: this.connections,
      duration: seconds,
      workers: 1,
    });
    const elu = performance.eventLoopUtilization(before);
    const requests = result.requests.total;
    if (requests > 0) {
      this.busyUs[title] ??= [];
      this.busyUs[title].push((elu.active * 1000) / requests);
    }
    return result;
  }

  /** Mean busy time per request over a title's runs (µs). */
  busy(title: string): number {
    const runs = this.busyUs[title] ?? [];
    return runs.reduce((a, b) => a + b, 0) / (runs.length || 1);
  }

  /** `hello 63.8 µs, me 1104.1 µs`: the busy time per request of each title. */
  busyList(titles: readonly string[]): string {
    return titles.map((t) => `${t} ${this.busy(t).toFixed(1)} µs`).join(', ');
  }

  /** Mean latency of a closed-loop load: every connection always has one request in flight. */
  littleMean(rps: number): number {
    return rps > 0 ? (this.connections / rps) * 1000 : Number.NaN;
  }

  line(label: string, r: Result, width = 8): string {
    return `${label.padEnd(width)} ${r.requests.average.toFixed(0).padStart(6)} req/s  mean ${ms(this.littleMean(r.requests.average), 2)}  p50 ${ms(r.latency.p50)}  p99 ${ms(r.latency.p99)}  (${r.latency.totalCount} responses, non2xx ${r.non2xx})`;
  }

  /** Figures over a target's runs: req/s and latencies averaged, counts summed. */
  summarize(results: Result[]): Summary {
    const avg = (pick: (r: Result) => number) =>
      results.reduce((sum, r) => sum + pick(r), 0) / results.length;
    const sum = (pick: (r: Result) => number) => results.reduce((total, r) => total + pick(r), 0);
    const codes = new Map<string, number>();
    for (const r of results) {
      for (const [code, stat] of Object.entries(r.statusCodeStats))
        codes.set(code, (codes.get(code) ?? 0) + stat.count);
    }
    return {
      rps: avg((r) => r.requests.average),
      mean: avg((r) => this.littleMean(r.requests.average)),
      p50: avg((r) => r.latency.p50),
      p99: avg((r) => r.latency.p99),
      ok: sum((r) => r['2xx']),
      status200: codes.get('200') ?? 0,
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      codes: [...codes].map(([code, n]) => `${code}: ${n}`).join(', '),
    };
  }

  /**
   * A warm-up of every target (in the targets' order), then the runs in `order` of half the
   * duration each, printing a line per run. `order` should be ABBA-shaped (each target once on each
   * side of the middle), so linear drift in machine speed (a shared VM) hits every target alike.
   */
  async abba<T extends string>(
    targets: Record<T, LoadTarget>,
    order: readonly T[],
  ): Promise<Record<T, Summary>> {
    const names = Object.keys(targets) as T[];
    for (const name of names) {
      const { url, headers } = targets[name];
      await this.load(`warm-up ${name}`, url, headers, this.warmupS);
    }
    const runs = Object.fromEntries(names.map((name) => [name, [] as Result[]])) as Record<T, Result[]>;
    const width = Math.max(8, ...names.map((name) => name.length));
    for (const name of order) {
      const { url, headers } = targets[name];
      const result = await this.load(name, url, headers, this.durationS / 2);
      runs[name].push(result);
      process.stdout.write(`  run ${this.line(name, result, width)}\n`);
    }
    return Object.fromEntries(names.map((name) => [name, this.summarize(runs[name])])) as Record<T, Summary>;
  }
}

export interface BenchServers {
  /** Gatehouse, on a fresh PostgreSQL database of its own. */
  server: RunningServer;
  /** The baseline: a bare Fastify `GET /hello` in the same process. */
  helloUrl: string;
  /**
   * The floor for a read that touches the database: the same bare Fastify app answering
   * `GET /org/:id` with one `SELECT` of an organization row by primary key through its own `pg`
   * pool, as many connections as Gatehouse's pool, on the same database.
   */
  orgRowUrl(orgId: string): string;
  /** The database's name, for the settings line. */
  database: string;
}

/**
 * Gatehouse on a new database (on loopback) and a bare Fastify `GET /hello` next to it, both on
 * 127.0.0.1; `fn` runs against them, then both stop and the database is dropped.
 */
export async function withBenchServers(label: string, fn: (servers: BenchServers) => Promise<void>) {
  const { name, url } = await createBenchDatabase();
  const dataDir = tempDir(label);
  let server: RunningServer | undefined;
  const bare = Fastify({ logger: false });
  bare.get('/hello', async () => ({ hello: 'world' }));
  const config = loadConfig({
    DATABASE_URL: url,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const pool = new pg.Pool({ connectionString: url, max: config.databasePoolSize });
  bare.get<{ Params: { id: string } }>('/org/:id', async (request, reply) => {
    const { rows } = await pool.query(
      'SELECT id, slug, name, plan, created_at, updated_at FROM organizations WHERE id = $1',
      [request.params.id],
    );
    if (rows.length === 0) return reply.status(404).send({ error: 'not found' });
    return rows[0];
  });
  try {
    server = await startServer(config, { quiet: true });
    const bareBase = await bare.listen({ host: '127.0.0.1', port: 0 });
    await fn({
      server,
      helloUrl: `${bareBase}/hello`,
      orgRowUrl: (orgId) => `${bareBase}/org/${orgId}`,
      database: name,
    });
  } finally {
    await bare.close();
    await pool.end();
    await server?.stop();
    await dropBenchDatabase(name);
    removeDir(dataDir);
  }
}
