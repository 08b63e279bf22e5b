import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { type Receiver, startReceiver } from '../../../../test/support/receiver.ts';

/**
 * GET /metrics: there only with METRICS_TOKEN, to that bearer only; Prometheus text with the
 * series operators alert on, labelled by route template; one registry per app.
 */

const TOKEN = 'metrics-token-0123456789abcdef';
let t: TestApp;
let other: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  t = await createTestApp({
    metricsToken: TOKEN,
    outbound: { allowlist: ['127.0.0.1/32'] },
    webhooks: { retrySchedule: [0, 0, 0], auditStreamIntervalMs: 100 },
  });
  // A second app in the same process, on the same database: its registry is its own. It leaves
  // the jobs to the first one, whose counters the tests read.
  other = await createTestApp({ metricsToken: TOKEN, outbox: { worker: false } }, t.db);
});
afterAll(async () => {
  await other?.close();
  await t?.close();
  await receiver?.close();
});

async function scrape(app = t.app): Promise<string> {
  const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of one series (name and exact label set as Prometheus prints it), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('does not exist without METRICS_TOKEN', async () => {
    const plain = await createTestApp({}, t.db);
    try {
      const res = await plain.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('takes the bearer scheme in any case', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await t.app.inject({ url: '/metrics', headers: { authorization: `${scheme} ${TOKEN}` } });
      expect(res.statusCode, scheme).toBe(200);
    }
  });

  it('answers 401 without the bearer, with another one, and to an API token scheme', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token',
      `Bearer ${TOKEN}x`,
      TOKEN,
      `Bearer  ${TOKEN}`,
      `Basic ${TOKEN}`,
    ]) {
      const res = await t.app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.body).not.toContain('gatehouse_');
    }
  });

  it('counts requests by route template and status, never by raw path', async () => {
    const org = await createOrg(t.app);
    expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    // A scanner's paths: each a different 404, all under one label.
    for (const path of ['/wp-admin/setup.php', '/.env', '/api/v1/no-such-thing/123456']) {
      expect((await t.app.inject({ method: 'POST', url: path })).statusCode).toBe(404);
    }
    const text = await scrape();
    const members = 'route="/api/v1/orgs/:orgId/members",status="200"';
    expect(value(text, `gatehouse_http_requests_total{method="GET",${members}}`)).toBe(2);
    expect(value(text, `gatehouse_http_request_duration_seconds_count{method="GET",${members}}`)).toBe(2);
    expect(
      value(text, `gatehouse_http_request_duration_seconds_bucket{le="+Inf",method="GET",${members}}`),
    ).toBe(2);
    expect(value(text, 'gatehouse_http_requests_total{method="POST",route="unmatched",status="404"}')).toBe(
      3,
    );
    expect(text).not.toContain(org.orgId);
    expect(text).not.toContain('wp-admin');
    expect(text).not.toContain('no-such-thing');
    // The scrape itself is answered under way.
    expect(value(text, 'gatehouse_http_requests_in_flight')).toBe(1);
    // Process metrics beside them.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);

    // The other app answered none of these.
    const theirs = await scrape(other.app);
    expect(value(theirs, `gatehouse_http_requests_total{method="GET",${members}}`)).toBeUndefined();
    expect(theirs).not.toContain('route="unmatched"');
  });

  it('shows the database pool on PostgreSQL only', async () => {
    const text = await scrape();
    if (onPostgres) {
      expect(value(text, 'gatehouse_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
      expect(value(text, 'gatehouse_db_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(0);
      expect(value(text, 'gatehouse_db_pool_waiting_requests')).toBe(0);
      expect(value(text, 'gatehouse_db_pool_max_connections')).toBe(20);
    } else {
      expect(text).not.toContain('gatehouse_db_pool_');
    }
  });

  it('reads the outbox depth and the age of its oldest due job when scraped', async () => {
    await t.drainOutbox();
    const before = await scrape();
    expect(value(before, 'gatehouse_outbox_jobs{state="due"}')).toBe(0);
    expect(value(before, 'gatehouse_outbox_oldest_due_age_seconds')).toBe(0);
    // Jobs of a kind no worker carries out stay due: one due for ten minutes, one due tomorrow.
    await t.db.database.db.execute(sql`
      INSERT INTO outbox_jobs (kind, payload, run_at)
      VALUES ('metrics.test', '{}'::jsonb, now() - interval '10 minutes'),
             ('metrics.test', '{}'::jsonb, now() + interval '1 day')`);
    try {
      const text = await scrape();
      expect(value(text, 'gatehouse_outbox_jobs{state="due"}')).toBe(1);
      expect(value(text, 'gatehouse_outbox_jobs{state="scheduled"}')).toBeGreaterThanOrEqual(1);
      const age = value(text, 'gatehouse_outbox_oldest_due_age_seconds')!;
      expect(age).toBeGreaterThanOrEqual(600);
      expect(age).toBeLessThan(700);
      // Instances read the same table: the other app sees the same depth.
      expect(value(await scrape(other.app), 'gatehouse_outbox_jobs{state="due"}')).toBe(1);
    } finally {
      await t.db.database.db.execute(sql`DELETE FROM outbox_jobs WHERE kind = 'metrics.test'`);
    }
  });

  it('counts audit entries appended, outbox attempts and cache lookups', async () => {
    const chain = 'gatehouse_audit_entries_appended_total{chain="org"}';
    const before = value(await scrape(), chain) ?? 0;
    const org = await createOrg(t.app);
    expectStatus(await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, { name: 'Renamed Org' }), 200);
    await t.drainOutbox();
    const text = await scrape();
    expect(value(text, chain)).toBeGreaterThanOrEqual(before + 2);
    // The sign-up's verification email, carried out by this instance's worker.
    expect(
      value(text, 'gatehouse_outbox_attempts_total{kind="email.send",outcome="done"}'),
    ).toBeGreaterThanOrEqual(1);
    // The owner's requests looked their session up: found in the cache after the first.
    expect(
      value(text, 'gatehouse_cache_lookups_total{cache="sessions",result="hit"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(text, 'gatehouse_cache_lookups_total{cache="sessions",result="miss"}'),
    ).toBeGreaterThanOrEqual(1);
    // Nothing of it in the other app's counters.
    expect(value(await scrape(other.app), chain) ?? 0).toBe(0);
  });

  it('counts webhook deliveries by outcome', async () => {
    const owner = await signUp(t.app);
    const org = await createOrg(t.app, {}, owner);
    let failNext = true;
    receiver.answer = () => {
      if (failNext) {
        failNext = false;
        return { status: 503, body: 'busy' };
      }
      return { status: 200, body: 'ok' };
    };
    const before = await scrape();
    const delivered = value(before, 'gatehouse_webhook_deliveries_total{outcome="delivered"}') ?? 0;
    const failed = value(before, 'gatehouse_webhook_deliveries_total{outcome="failed"}') ?? 0;
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url,
        events: ['audit.entry'],
      }),
      201,
    );
    // An audited change after it: the audit stream delivers its entry (refused once, then taken).
    expectStatus(await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, { name: 'Hooked Org' }), 200);
    await expect
      .poll(
        async () => value(await scrape(), 'gatehouse_webhook_deliveries_total{outcome="delivered"}') ?? 0,
        {
          timeout: 20_000,
        },
      )
      .toBeGreaterThan(delivered);
    expect(value(await scrape(), 'gatehouse_webhook_deliveries_total{outcome="failed"}')).toBe(failed + 1);
  });
});
