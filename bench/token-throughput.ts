/**
 * Throughput and p99 latency of an authenticated org-scoped read, `GET /api/v1/orgs/:orgId` (the
 * org profile, permission settings:read), on PostgreSQL, reached three ways: with the session
 * cookie, with `Authorization: Bearer` and a personal token (`gtp_`, scope read), and with a bearer
 * automation token (`gta_`, scope read, acting with the Admin role: the built-in Viewer role lacks
 * settings:read and would get a 403). Automation-token requests also go to the token's usage log,
 * written in batches: that is part of what is measured. Two baselines in the same process: a bare
 * Fastify `GET /hello`, and the floor for a read that must touch the database, the same bare app
 * reading the org's row by primary key with one `SELECT` through a `pg` pool of Gatehouse's pool
 * size (`pgrow`). autocannon drives the load from a worker thread so the client does not share the
 * servers' event loop.
 *
 * Order: warm-ups, then hello, pgrow, cookie, personal, automation, automation, personal, cookie,
 * pgrow, hello (ABBA, DURATION/2 s each): every target's figures are the mean of its two runs, so
 * drift in machine speed cancels out.
 *
 *   node --import tsx bench/token-throughput.ts
 *   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test  (default; DATABASE_URL wins if set)
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=10                     (defaults)
 *   BENCH_TARGETS=pgrow,cookie                                 (a subset, in the same ABBA order)
 */
import { call, machineLine, signUp } from './lib.ts';
import { allOk, Loader, type LoadTarget, okDetail, summaryLine, withBenchServers } from './load.ts';

type Target = 'hello' | 'pgrow' | 'cookie' | 'personal' | 'automation';
const BEARERS = ['personal', 'automation'] as const;

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');

/** A JSON POST with the session cookie that must answer 201; its parsed body. */
async function create<T>(base: string, path: string, body: unknown, cookie: string): Promise<T> {
  const res = await call(base, 'POST', path, body, cookie);
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as T;
}

await withBenchServers('tokens', async ({ server, helloUrl, orgRowUrl, database }) => {
  const loader = Loader.fromEnv();
  const base = server.url;
  const cookie = await signUp(base);
  const org = await create<{ id: string }>(base, '/api/v1/orgs', { name: 'Bench Org', plan: 'pro' }, cookie);
  const personal = await create<{ token: string }>(
    base,
    '/api/v1/me/tokens',
    { name: 'bench personal', orgId: org.id, scopes: ['read'], expiresInDays: 30 },
    cookie,
  );
  const automation = await create<{ token: string }>(
    base,
    `/api/v1/orgs/${org.id}/automation-tokens`,
    { name: 'bench automation', role: 'admin', scopes: ['read'] },
    cookie,
  );
  const orgUrl = `${base}/api/v1/orgs/${org.id}`;
  const allTargets: Record<Target, LoadTarget> = {
    hello: { url: helloUrl, headers: {} },
    pgrow: { url: orgRowUrl(org.id), headers: {} },
    cookie: { url: orgUrl, headers: { cookie } },
    personal: { url: orgUrl, headers: { authorization: `Bearer ${personal.token}` } },
    automation: { url: orgUrl, headers: { authorization: `Bearer ${automation.token}` } },
  };
  const chosen = new Set(
    (process.env.BENCH_TARGETS ?? Object.keys(allTargets).join(',')).split(',').map((t) => t.trim()),
  );
  const targets = Object.fromEntries(
    Object.entries(allTargets).filter(([name]) => chosen.has(name)),
  ) as Record<Target, LoadTarget>;

  // Sanity: every credential reads the org before any load is applied.
  for (const [name, { url, headers }] of Object.entries(targets)) {
    const probe = await fetch(url, { headers });
    if (probe.status !== 200)
      throw new Error(`${name}: GET ${url} answered ${probe.status}: ${await probe.text()}`);
    await probe.arrayBuffer();
  }

  process.stdout.write(
    '== GET /api/v1/orgs/:orgId throughput (cookie vs personal vs automation bearer token, PostgreSQL) vs bare Fastify ==\n',
  );
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(loader.settingsLines(database));

  const half: Target[] = ['hello', 'pgrow', 'cookie', 'personal', 'automation'];
  const names = half.filter((name) => name in targets);
  const s = await loader.abba(targets, [...names, ...[...names].reverse()]);

  const labels: Record<Target, string> = {
    hello: 'baseline: fastify GET /hello',
    pgrow: 'baseline: fastify + pg SELECT',
    cookie: 'org GET, session cookie',
    personal: 'org GET, bearer personal',
    automation: 'org GET, bearer automation',
  };
  for (const name of names) process.stdout.write(`${summaryLine(labels[name], s[name])}\n`);

  const ok = names.every((name) => allOk(s[name]));
  process.stdout.write(`check: every response of every target was 200 -> ${ok ? 'yes' : 'NO'}\n`);
  for (const name of names) process.stdout.write(`  ${name.padEnd(10)} ${okDetail(s[name])}\n`);

  // Throughput on a 2-core machine is shared with the load generator; the server's own cost per
  // request (main-thread busy time, from event-loop utilization) is the steadier comparison.
  process.stdout.write(`server main-thread time per request: ${loader.busyList(names)}\n`);
  const rps = (name: Target) => s[name]?.rps ?? 0;
  for (const bearer of BEARERS) {
    if (!s[bearer]) continue;
    const x = s[bearer];
    process.stdout.write(
      `ratio ${bearer} / cookie: req/s ${ratio(x.rps, rps('cookie'))}, p99 ${ratio(x.p99, s.cookie?.p99 ?? 0)}, busy ${ratio(loader.busy(bearer), loader.busy('cookie'))}   ` +
        `${bearer} / pgrow: req/s ${ratio(x.rps, rps('pgrow'))}\n`,
    );
  }
  process.stdout.write(`ratio cookie / hello: req/s ${ratio(rps('cookie'), rps('hello'))}\n`);
  process.stdout.write(
    `ratio cookie / pgrow: req/s ${ratio(rps('cookie'), rps('pgrow'))}, busy ${ratio(loader.busy('cookie'), loader.busy('pgrow'))}  (target: req/s >= 0.70)\n`,
  );
  if (!ok) process.exitCode = 1;
});
