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
const assets = path.resolve('dist/console/assets');
const gz = (ext: string) =>
  fs
    .readdirSync(assets)
    .filter((f) => f.endsWith(ext))
    .reduce((sum, f) => sum + gzipSync(fs.readFileSync(path.join(assets, f)), { level: 9 }).length, 0);
const jsKb = gz('.js') / 1024;
const cssKb = gz('.css') / 1024;

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
      const c = await interactive();
      const w = await interactive();
      const h0 = performance.now();
      await page.goto(helloUrl, { waitUntil: 'load' });
      const h = performance.now() - h0;
      // The first round warms the server and the database: not counted.
      if (i > 0) {
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
    `first-load JavaScript gzipped: ${jsKb.toFixed(1)} KB (CSS ${cssKb.toFixed(1)} KB)   target: <= ${JS_TARGET_KB} KB -> ${jsKb <= JS_TARGET_KB ? 'MET' : 'MISSED'}\n`,
  );
  process.stdout.write(`baseline: bare Fastify JSON page load   median ${ms(median(hello), 1)}\n`);
  process.stdout.write(
    `Team page interactive, warm (reload)     median ${ms(median(warm), 1)}   runs ${warm.map((x) => x.toFixed(0)).join(' ')}\n`,
  );
  const coldMedian = median(cold);
  process.stdout.write(
    `Team page interactive, cold (new context) median ${ms(coldMedian, 1)}   runs ${cold.map((x) => x.toFixed(0)).join(' ')}   target: <= ${TTI_TARGET_MS} ms -> ${coldMedian <= TTI_TARGET_MS ? 'MET' : 'MISSED'}\n`,
  );
});
