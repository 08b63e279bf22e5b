/**
 * The web console's load figures: its first-load JavaScript (and CSS) gzipped, and the time until
 * the Team page of an organization with 1,000 members is interactive (its first page of member
 * rows shown and the invite button ready), in headless chromium against Gatehouse on PostgreSQL
 * on loopback. Baseline, same browser and run: a bare Fastify JSON response's load time.
 * Cold = a new browser context (nothing cached); warm = a reload in that context.
 *
 *   node --import tsx bench/console-load.ts
 *   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test  (default; DATABASE_URL wins if set)
 *   BENCH_RUNS=7                                              (default)
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { buildConsoleIfStale } from '../scripts/console-build.mjs';
import { launchChromium } from '../test/support/browser.ts';
import { call, machineLine, median, ms, signUp } from './lib.ts';
import { withBenchServers } from './load.ts';
import { ADMIN_URL } from './pg.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MEMBERS = 1_000;
const JS_TARGET_KB = 300;
const TTI_TARGET_MS = 1_000;

await buildConsoleIfStale({ quiet: true });
// What the first load fetches: the files index.html names (entry script, preloaded chunks, styles);
// pages loaded on demand are not counted.
const dist = path.resolve('dist/console');
const firstLoad = [
  ...fs.readFileSync(path.join(dist, 'index.html'), 'utf8').matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g),
].map((m) => m[1]!);
const gz = (ext: string) =>
  firstLoad
    .filter((f) => f.endsWith(ext))
    .reduce((sum, f) => sum + gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length, 0);
const jsKb = gz('.js') / 1024;
const cssKb = gz('.css') / 1024;
const lazyKb =
  fs
    .readdirSync(path.join(dist, 'assets'))
    .filter((f) => f.endsWith('.js') && !firstLoad.includes(`/assets/${f}`))
    .reduce(
      (sum, f) => sum + gzipSync(fs.readFileSync(path.join(dist, 'assets', f)), { level: 9 }).length,
      0,
    ) / 1024;

await withBenchServers('console', async ({ server, helloUrl, database }) => {
  const base = server.url;
  const cookie = await signUp(base);
  const created = await call(base, 'POST', '/api/v1/orgs', { name: 'Bench Org', plan: 'pro' }, cookie);
  const orgId = JSON.parse(created.text).id as string;

  // 999 more members in one statement each (what is measured is the page, not the invitations).
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  await client.connect();
  await client.query(
    `WITH u AS (
       INSERT INTO users (email, name, password_hash)
       SELECT 'member-' || i || '@example.test', 'Member ' || i, 'x' FROM generate_series(1, $1::int) AS i
       RETURNING id)
     INSERT INTO memberships (org_id, user_id, role_id)
     SELECT $2::uuid, u.id, (SELECT id FROM roles WHERE org_id = $2::uuid AND slug = 'developer') FROM u`,
    [MEMBERS - 1, orgId],
  );
  await client.end();

  const browser = await launchChromium();
  const [name, value] = cookie.split('=') as [string, string];
  const teamUrl = `${base}/orgs/${orgId}/settings/team`;
  const cold: number[] = [];
  const warm: number[] = [];
  const hello: number[] = [];
  const phases: Array<{ assets: number; apiStart: number; apiEnd: number }> = [];
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      const context = await browser.newContext();
      await context.addCookies([{ name, value, url: base }]);
      const page = await context.newPage();
      const interactive = async () => {
        const started = performance.now();
        await page.goto(teamUrl, { waitUntil: 'commit' });
        await page.locator('[data-testid^="member-"]').nth(49).waitFor();
        await page.getByRole('button', { name: 'Invite people' }).waitFor();
        return performance.now() - started;
      };
      const tracing = process.env.BENCH_TRACE && i === RUNS;
      if (tracing)
        await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'v8.execute'] });
      const c = await interactive();
      if (tracing) printTrace(await browser.stopTracing());
      // Where a cold load's time goes, from the page's own timings (ms since navigation start).
      // (A string: the bench runs under tsx, whose helpers a function would drag into the page.)
      const timing: { assets: number; apiStart: number; apiEnd: number; slowest: unknown } =
        await page.evaluate(`(() => {
        const resources = performance.getEntriesByType('resource');
        const api = resources.filter((r) => r.name.includes('/api/v1/'));
        return {
          assets: Math.max(0, ...resources.filter((r) => r.name.includes('/assets/')).map((r) => r.responseEnd)),
          apiStart: Math.min(...api.map((r) => r.startTime)),
          apiEnd: Math.max(0, ...api.filter((r) => ['/me', '/roles', '/members?'].some((x) => r.name.includes(x))).map((r) => r.responseEnd)),
          slowest: api.map((r) => [r.name.split('/api/v1')[1], Math.round(r.startTime), Math.round(r.responseEnd)]),
        };
      })()`);
      const w = await interactive();
      const h0 = performance.now();
      await page.goto(helloUrl, { waitUntil: 'load' });
      const h = performance.now() - h0;
      // The first round warms the server and the database: not counted.
      if (process.env.BENCH_VERBOSE) process.stdout.write(`${JSON.stringify(timing)}\n`);
      if (i > 0) {
        phases.push(timing);
        cold.push(c);
        warm.push(w);
        hello.push(h);
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }

  process.stdout.write(
    '== web console: first-load size and Team page time to interactive (1,000 members, PostgreSQL) ==\n',
  );
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(`headless chromium, ${RUNS} runs after 1 warm-up; database ${database}\n`);
  process.stdout.write(
    `first-load JavaScript gzipped: ${jsKb.toFixed(1)} KB (CSS ${cssKb.toFixed(1)} KB; other pages, loaded when visited: ${lazyKb.toFixed(1)} KB)   target: <= ${JS_TARGET_KB} KB -> ${jsKb <= JS_TARGET_KB ? 'MET' : 'MISSED'}\n`,
  );
  process.stdout.write(`baseline: bare Fastify JSON page load   median ${ms(median(hello), 1)}\n`);
  process.stdout.write(
    `Team page interactive, warm (reload)     median ${ms(median(warm), 1)}   runs ${warm.map((x) => x.toFixed(0)).join(' ')}\n`,
  );
  process.stdout.write(
    `  cold, where the time goes (medians, ms after navigation): assets loaded ${median(phases.map((p) => p.assets)).toFixed(0)}, first API request ${median(phases.map((p) => p.apiStart)).toFixed(0)}, its data in (me, roles, members) ${median(phases.map((p) => p.apiEnd)).toFixed(0)}\n`,
  );
  const coldMedian = median(cold);
  process.stdout.write(
    `Team page interactive, cold (new context) median ${ms(coldMedian, 1)}   runs ${cold.map((x) => x.toFixed(0)).join(' ')}   target: <= ${TTI_TARGET_MS} ms -> ${coldMedian <= TTI_TARGET_MS ? 'MET' : 'MISSED'}\n`,
  );
});

/**
 * BENCH_TRACE=1: what the renderer's main thread did during the last cold load, by kind of work
 * (self time: a task's time minus that of the events inside it).
 */
function printTrace(buffer: Buffer): void {
  type Event = { name: string; ph: string; ts: number; dur?: number; tid: number; pid: number };
  const events = (JSON.parse(buffer.toString()).traceEvents as Event[]).filter((e) => e.ph === 'X' && e.dur);
  const main = events.find((e) => e.name === 'ParseHTML') ?? events.find((e) => e.name === 'EvaluateScript');
  if (!main) return;
  const thread = events
    .filter((e) => e.pid === main.pid && e.tid === main.tid)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, number>();
  const stack: Event[] = [];
  for (const e of thread) {
    while (stack.length && stack.at(-1)!.ts + stack.at(-1)!.dur! <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur!);
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur!);
    stack.push(e);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14);
  const total = thread
    .filter((e) => e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask')
    .reduce((sum, e) => sum + e.dur!, 0);
  process.stdout.write(
    `main thread busy ${(total / 1000).toFixed(0)} ms during the cold load; self time by kind:\n`,
  );
  for (const [name, us] of top) process.stdout.write(`  ${name.padEnd(32)} ${(us / 1000).toFixed(1)} ms\n`);
}
