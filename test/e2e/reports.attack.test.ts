import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTS_UNDER_WAY_MAX } from '../../src/server/modules/reports/reports.commands.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { onPostgres, queryRows } from '../support/database.ts';
import { as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Attacks on compliance reports and executive summaries: periods no report can cover, and one
 * member asking for reports faster than they can be built. The outbox worker is off here, so that
 * what is asked for stays under way until a test says otherwise.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ outbox: { worker: false } });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const DAY = 86_400_000;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);
/** A distinct period for each `i`: each ask is a new report, not the one under way. */
const NOW = Date.now();
const period = (i: number) => ({
  from: new Date(NOW - (i + 2) * DAY).toISOString(),
  to: new Date(NOW - DAY).toISOString(),
});

describe('reports: periods', () => {
  it('a period starting before 2000 is refused, not stored as another one', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    for (const from of ['0001-01-01T00:00:00Z', '0099-12-31T00:00:00Z', '1999-12-31T23:59:59Z']) {
      const to = new Date(Date.parse(from) + 30 * DAY).toISOString();
      const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/compliance-reports`, {
        framework: 'soc2',
        from,
        to,
      });
      expect(res.statusCode, `${from}: ${res.body}`).toBe(400);
      expect(res.json().errors[0]).toMatchObject({ field: '/body/from', reason: 'too_early' });
    }
    expect(await rows(sql`SELECT id FROM reports WHERE org_id = ${org.orgId}`)).toEqual([]);
  });
});

describe('reports: how many at once', () => {
  it(`an org has at most ${REPORTS_UNDER_WAY_MAX} reports under way; more answer 429 until one is done`, async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const other = await createOrg(t.app, { plan: 'pro' });
    const ask = (i: number, o = org) =>
      i % 2 === 0
        ? as(t.app, o.owner).post(`/api/v1/orgs/${o.orgId}/reports/executive`, period(i))
        : as(t.app, o.owner).post(`/api/v1/orgs/${o.orgId}/compliance-reports`, {
            framework: 'soc2',
            ...period(i),
          });
    const ids: string[] = [];
    for (let i = 0; i < REPORTS_UNDER_WAY_MAX; i++) ids.push(expectStatus(await ask(i), 202).json().id);
    for (let i = REPORTS_UNDER_WAY_MAX; i < REPORTS_UNDER_WAY_MAX + 3; i++) {
      const res = await ask(i);
      expect(res.statusCode, res.body).toBe(429);
      expect(res.json().code).toBe('rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Asking again for one under way still answers that one.
    expect(expectStatus(await ask(0), 202).json().id).toBe(ids[0]);
    // Another org is not held up by this one.
    expectStatus(await ask(0, other), 202);
    const jobs = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM outbox_jobs WHERE org_id = ${org.orgId} AND kind = 'report.build'`,
    );
    expect(jobs[0]!.n).toBe(REPORTS_UNDER_WAY_MAX);
    // One is done: there is room for one more.
    await t.db.database.db.execute(sql`UPDATE reports SET status = 'failed' WHERE id = ${ids[0]}`);
    expectStatus(await ask(100), 202);
    expect((await ask(101)).statusCode).toBe(429);
  });
});

describe.skipIf(!onPostgres)('reports asked for all at once (PostgreSQL)', () => {
  it(`${REPORTS_UNDER_WAY_MAX * 3} asks at once leave ${REPORTS_UNDER_WAY_MAX} reports under way`, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const answers = await Promise.all(
      Array.from({ length: REPORTS_UNDER_WAY_MAX * 3 }, (_, i) =>
        as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/reports/executive`, period(i)),
      ),
    );
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes.filter((c) => c === 202)).toHaveLength(REPORTS_UNDER_WAY_MAX);
    expect(
      codes.filter((c) => c !== 202 && c !== 429),
      codes.join(),
    ).toEqual([]);
    const stored = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM reports WHERE org_id = ${org.orgId}`,
    );
    expect(stored[0]!.n).toBe(REPORTS_UNDER_WAY_MAX);
  });
});
