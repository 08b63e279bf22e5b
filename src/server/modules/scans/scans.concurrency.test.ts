import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';

/**
 * Many scans at once against one month's pool: the guarded spend admits exactly what the pool
 * (or the member's budget) covers and nothing more. 100 concurrent requests on PostgreSQL; PGlite
 * serves one connection, so it runs the same race with fewer.
 */
describe('scans admitted under concurrency', () => {
  let t: TestApp;
  const concurrency = onPostgres ? 100 : 20;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const outcome = async (orgId: string) => {
    const rows = await queryRows<{ used: number; scans: number; ledger: number }>(
      t.db.database.db,
      sql`SELECT (SELECT sum(used)::int FROM quota_counters WHERE org_id = ${orgId} AND (subject = 'org' OR subject LIKE 'org:%')) AS used,
                 (SELECT count(*)::int FROM scans WHERE org_id = ${orgId}) AS scans,
                 (SELECT coalesce(sum(tokens), 0)::int FROM quota_ledger WHERE org_id = ${orgId}) AS ledger`,
    );
    return rows[0]!;
  };

  it(`a free org's 48 tokens, ${concurrency} scans of 10: exactly 4 admitted, 40 used`, async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const app = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'svc' }),
      201,
    ).json();
    const answers = await Promise.all(
      Array.from({ length: concurrency }, () =>
        as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
          applicationId: app.id,
          modules: ['dependencies'],
        }),
      ),
    );
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 409)).toHaveLength(concurrency - 4);
    for (const a of answers) if (a.statusCode === 409) expect(a.json().code).toBe('quota_exhausted');
    expect(await outcome(org.orgId)).toEqual({ used: 40, scans: 4, ledger: 40 });
  }, 180_000);

  it(`a member's budget smaller than the pool: ${concurrency} scans of 10 against 35 → 3 admitted`, async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const member = await addMember(t.app, org, 'developer', {}, t.mail);
    await t.db.database.db.execute(sql`UPDATE organizations SET plan = 'enterprise' WHERE id = ${org.orgId}`);
    await t.db.database.db.execute(
      sql`INSERT INTO member_budgets (org_id, user_id, monthly_tokens) VALUES (${org.orgId}, ${member.userId}, 35)`,
    );
    const app = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'svc' }),
      201,
    ).json();
    const answers = await Promise.all(
      Array.from({ length: concurrency }, () =>
        as(t.app, member).post(`/api/v1/orgs/${org.orgId}/scans`, {
          applicationId: app.id,
          modules: ['dependencies'],
        }),
      ),
    );
    const refused = answers.filter((a) => a.statusCode === 409);
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(3);
    expect(refused).toHaveLength(concurrency - 3);
    for (const a of refused)
      expect(a.json()).toMatchObject({ code: 'quota_exhausted', params: { subject: 'member' } });
    expect(await outcome(org.orgId)).toEqual({ used: 30, scans: 3, ledger: 30 });
  }, 180_000);
});
