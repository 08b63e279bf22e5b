/**
 * Throughput of an authenticated `GET /api/v1/me` (session cookie) on PostgreSQL, against a bare
 * Fastify `GET /hello` in the same process as the baseline, and `GET /healthz` of Gatehouse
 * (unauthenticated) as the framework-overhead reference. autocannon drives the load from a worker
 * thread so the client does not share the servers' event loop.
 *
 * Order: warm-ups, then hello, me, healthz, healthz, me, hello (ABBA, DURATION/2 s each): every
 * target's figures are the mean of its two runs, so drift in machine speed cancels out.
 *
 *   node --import tsx bench/me-throughput.ts
 *   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test  (default)
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=10                     (defaults)
 */
import { randomBytes } from 'node:crypto';
import autocannon, { type Result } from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/main.ts';
import { machineLine, ms, removeDir, tempDir } from './lib.ts';

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TARGET_RATIO = 0.4;
const PASSWORD = 'violet-anchor-meadow-42';

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
    throw new Error(`refusing to benchmark a non-loopback host: ${host}`);
  }
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Main-thread busy time per request during each target's runs (µs): both servers live on this thread. */
const busyUs: Record<string, number[]> = {};

async function load(title: string, url: string, headers: Record<string, string>, seconds: number) {
  const before = performance.eventLoopUtilization();
  const result = await autocannon({
    title,
    url,
    headers,
    connections: CONNECTIONS,
    duration: seconds,
    workers: 1,
  });
  const elu = performance.eventLoopUtilization(before);
  const requests = result.requests.total;
  if (requests > 0) {
    busyUs[title] ??= [];
    busyUs[title].push((elu.active * 1000) / requests);
  }
  return result;
}

type Target = 'hello' | 'me' | 'healthz';

/** Mean latency of a closed-loop load: every connection always has one request in flight. */
const littleMean = (rps: number) => (rps > 0 ? (CONNECTIONS / rps) * 1000 : Number.NaN);

function line(label: string, r: Result): string {
  return `${label.padEnd(8)} ${r.requests.average.toFixed(0).padStart(6)} req/s  mean ${ms(littleMean(r.requests.average), 2)}  p50 ${ms(r.latency.p50)}  p99 ${ms(r.latency.p99)}  (${r.latency.totalCount} responses, non2xx ${r.non2xx})`;
}

interface Summary {
  rps: number;
  mean: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  codes: string;
}

/** Figures over a target's runs: req/s and latencies averaged, counts summed. */
function summarize(results: Result[]): Summary {
  const avg = (pick: (r: Result) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const sum = (pick: (r: Result) => number) => results.reduce((total, r) => total + pick(r), 0);
  const codes = new Map<string, number>();
  for (const r of results) {
    for (const [code, stat] of Object.entries(r.statusCodeStats))
      codes.set(code, (codes.get(code) ?? 0) + stat.count);
  }
  return {
    rps: avg((r) => r.requests.average),
    mean: avg((r) => littleMean(r.requests.average)),
    p50: avg((r) => r.latency.p50),
    p99: avg((r) => r.latency.p99),
    ok: sum((r) => r['2xx']),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    codes: [...codes].map(([code, n]) => `${code}: ${n}`).join(', '),
  };
}

function summaryLine(label: string, s: Summary): string {
  return `${label.padEnd(30)} ${s.rps.toFixed(0).padStart(6)} req/s   p50 ${ms(s.p50, 1)}   p99 ${ms(s.p99, 1)}   mean ${ms(s.mean, 2)}`;
}

async function signUp(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/signup`, {
    method: 'POST',
    // No Origin header: a non-browser client, which the CSRF check lets through.
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `bench-${randomBytes(5).toString('hex')}@example.test`,
      password: PASSWORD,
      name: 'Bench User',
    }),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${body}`);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
  if (!cookie) throw new Error('sign-up answered without a session cookie');
  return cookie.split(';')[0]!;
}

async function main(): Promise<void> {
  assertLoopback(ADMIN_URL);
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${name}`;
  const dataDir = tempDir('me');
  await admin((c) => c.query(`CREATE DATABASE ${name}`));

  let server: RunningServer | undefined;
  const bare = Fastify({ logger: false });
  bare.get('/hello', async () => ({ hello: 'world' }));
  try {
    const config = loadConfig({
      DATABASE_URL: dbUrl.toString(),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
    });
    server = await startServer(config, { quiet: true });
    const helloUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    const cookie = await signUp(server.url);
    const meUrl = `${server.url}/api/v1/me`;
    const healthUrl = `${server.url}/healthz`;
    const helloRoute = `${helloUrl}/hello`;

    // Sanity: the cookie works before any load is applied.
    const probe = await fetch(meUrl, { headers: { cookie } });
    if (probe.status !== 200)
      throw new Error(`GET /api/v1/me answered ${probe.status}: ${await probe.text()}`);
    await probe.arrayBuffer();

    process.stdout.write('== GET /api/v1/me throughput (session cookie, PostgreSQL) vs bare Fastify ==\n');
    process.stdout.write(`${machineLine()}\n`);
    process.stdout.write(
      `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per target (2 runs of ${DURATION_S / 2} s, ABBA order) after a ${WARMUP_S} s warm-up each; load from 1 worker thread; database ${name}\n`,
    );
    process.stdout.write(
      "latency: p50/p99 from autocannon (whole ms, truncated); mean = connections / req/s (Little's law, exact for a closed loop)\n",
    );

    await load('warm-up hello', helloRoute, {}, WARMUP_S);
    await load('warm-up me', meUrl, { cookie }, WARMUP_S);
    await load('warm-up healthz', healthUrl, {}, WARMUP_S);

    // ABBA order: linear drift in machine speed (this is a shared VM) hits every target alike.
    const targets: Record<Target, { url: string; headers: Record<string, string> }> = {
      hello: { url: helloRoute, headers: {} },
      me: { url: meUrl, headers: { cookie } },
      healthz: { url: healthUrl, headers: {} },
    };
    const order: Target[] = ['hello', 'me', 'healthz', 'healthz', 'me', 'hello'];
    const runs: Record<Target, Result[]> = { hello: [], me: [], healthz: [] };
    for (const target of order) {
      const { url, headers } = targets[target];
      const result = await load(target, url, headers, DURATION_S / 2);
      runs[target].push(result);
      process.stdout.write(`  run ${line(target, result)}\n`);
    }

    const hello = summarize(runs.hello);
    const me = summarize(runs.me);
    const health = summarize(runs.healthz);
    process.stdout.write(`${summaryLine('baseline: fastify GET /hello', hello)}\n`);
    process.stdout.write(`${summaryLine('gatehouse GET /healthz', health)}\n`);
    process.stdout.write(`${summaryLine('gatehouse GET /api/v1/me', me)}\n`);

    const meOk = me.non2xx === 0 && me.errors === 0 && me.timeouts === 0 && me.ok > 0;
    process.stdout.write(
      `check: every /me response was 200 -> ${meOk ? 'yes' : 'NO'} (${me.ok} x 200, non2xx ${me.non2xx}, errors ${me.errors}, timeouts ${me.timeouts}; status codes ${me.codes})\n`,
    );
    // Throughput on a 2-core machine is shared with the load generator; the server's own cost per
    // request (main-thread busy time, from event-loop utilization) is the steadier comparison.
    const avgUs = (t: Target) => (busyUs[t] ?? []).reduce((a, b) => a + b, 0) / (busyUs[t]?.length || 1);
    process.stdout.write(
      `server main-thread time per request: hello ${avgUs('hello').toFixed(1)} µs, healthz ${avgUs('healthz').toFixed(1)} µs, me ${avgUs('me').toFixed(1)} µs; cost ratio hello/me ${(avgUs('hello') / avgUs('me')).toFixed(2)}\n`,
    );
    const ratio = me.rps / hello.rps;
    process.stdout.write(`ratio healthz / hello: ${(health.rps / hello.rps).toFixed(2)}\n`);
    process.stdout.write(
      `ratio me / hello: ${ratio.toFixed(2)}   target: >= ${TARGET_RATIO} -> ${ratio >= TARGET_RATIO ? 'MET' : 'MISSED'}\n`,
    );
    if (!meOk) process.exitCode = 1;
  } finally {
    await bare.close();
    await server?.stop();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    removeDir(dataDir);
  }
}

await main();
