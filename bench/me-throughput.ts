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
 *   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test  (default; DATABASE_URL wins if set)
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=10                     (defaults)
 */
import { machineLine, signUp } from './lib.ts';
import { allOk, Loader, type LoadTarget, okDetail, summaryLine, withBenchServers } from './load.ts';

const TARGET_RATIO = 0.4;

type Target = 'hello' | 'me' | 'healthz';

await withBenchServers('me', async ({ server, helloUrl, database }) => {
  const loader = Loader.fromEnv();
  const cookie = await signUp(server.url);
  const meUrl = `${server.url}/api/v1/me`;

  // Sanity: the cookie works before any load is applied.
  const probe = await fetch(meUrl, { headers: { cookie } });
  if (probe.status !== 200) throw new Error(`GET /api/v1/me answered ${probe.status}: ${await probe.text()}`);
  await probe.arrayBuffer();

  process.stdout.write('== GET /api/v1/me throughput (session cookie, PostgreSQL) vs bare Fastify ==\n');
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(loader.settingsLines(database));

  const targets: Record<Target, LoadTarget> = {
    hello: { url: helloUrl, headers: {} },
    me: { url: meUrl, headers: { cookie } },
    healthz: { url: `${server.url}/healthz`, headers: {} },
  };
  const order: Target[] = ['hello', 'me', 'healthz', 'healthz', 'me', 'hello'];
  const { hello, me, healthz: health } = await loader.abba(targets, order);

  process.stdout.write(`${summaryLine('baseline: fastify GET /hello', hello)}\n`);
  process.stdout.write(`${summaryLine('gatehouse GET /healthz', health)}\n`);
  process.stdout.write(`${summaryLine('gatehouse GET /api/v1/me', me)}\n`);

  const meOk = allOk(me);
  process.stdout.write(`check: every /me response was 200 -> ${meOk ? 'yes' : 'NO'} ${okDetail(me)}\n`);
  // Throughput on a 2-core machine is shared with the load generator; the server's own cost per
  // request (main-thread busy time, from event-loop utilization) is the steadier comparison.
  process.stdout.write(
    `server main-thread time per request: ${loader.busyList(['hello', 'healthz', 'me'])}; cost ratio hello/me ${(loader.busy('hello') / loader.busy('me')).toFixed(2)}\n`,
  );
  const ratio = me.rps / hello.rps;
  process.stdout.write(`ratio healthz / hello: ${(health.rps / hello.rps).toFixed(2)}\n`);
  process.stdout.write(
    `ratio me / hello: ${ratio.toFixed(2)}   target: >= ${TARGET_RATIO} -> ${ratio >= TARGET_RATIO ? 'MET' : 'MISSED'}\n`,
  );
  if (!meOk) process.exitCode = 1;
});
