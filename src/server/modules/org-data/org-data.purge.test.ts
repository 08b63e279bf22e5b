import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
} from '../../../../test/support/orgs.ts';
import { runAuditRetention } from '../audit-log/index.ts';
import { ORG_EXPORT_JOB, purgeDeletedOrganizations } from './index.ts';

/**
 * Deleted organizations are purged once their grace period (ORG_PURGE_GRACE_DAYS, 30 days here)
 * is over: every row of their data goes, their audit log stays (for the operator) and records the
 * purge. The job acts "as of" a time; tests pass a later one instead of moving the clock.
 */

const DAY = 86_400_000;
const later = (days: number) => new Date(Date.now() + days * DAY);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);

/** The org's rows left in every table that holds an organization's data. */
async function dataRows(orgId: string): Promise<Record<string, number>> {
  const tables = [
    'organizations',
    'memberships',
    'roles',
    'invitations',
    'api_tokens',
    'applications',
    'scans',
    'findings',
    'scan_findings',
    'policies',
    'quota_ledger',
    'quota_counters',
    'org_exports',
    'outbox_jobs',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const column = table === 'organizations' ? 'id' : 'org_id';
    const [row] = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)} WHERE ${sql.identifier(column)} = ${orgId}`,
    );
    counts[table] = row!.n;
  }
  return counts;
}

/** An organization with data of every kind, then deleted by its owner. */
async function deletedOrg(
  name: string,
): Promise<{ orgId: string; slug: string; owner: Person; member: Person }> {
  const org = await createOrg(t.app, { name, plan: 'pro' });
  const owner = as(t.app, org.owner);
  const member = await addMember(t.app, org, 'developer', {}, t.mail);
  expectStatus(
    await owner.post(`${base(org.orgId)}/invitations`, {
      emails: [`later-${Date.now()}@example.test`],
      role: 'viewer',
    }),
    201,
  );
  await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
  const appId = expectStatus(await owner.post(`${base(org.orgId)}/applications`, { name: 'web' }), 201).json()
    .id;
  expectStatus(
    await owner.post(`${base(org.orgId)}/scans`, {
      applicationId: appId,
      modules: ['sast'],
      sarif: {
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: 'x' } },
            results: [{ ruleId: 'r1', level: 'error', message: { text: 'm' } }],
          },
        ],
      },
    }),
    201,
  );
  expectStatus(await owner.post(`${base(org.orgId)}/policies`, { name: 'p', failOn: 'high' }), 201);
  expectStatus(await owner.post(`${base(org.orgId)}/exports`), 202);
  await t.drainOutbox({ kind: ORG_EXPORT_JOB });
  expectStatus(await owner.delete(base(org.orgId), { password: org.owner.password }), 204);
  return { ...org, member };
}

describe(`purging deleted organizations after the grace period (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('keeps a deleted organization’s data through the grace period, then purges every row of it; its audit log stays and says so', async () => {
    const org = await deletedOrg('Purged Co');
    const held = await dataRows(org.orgId);
    for (const table of [
      'organizations',
      'memberships',
      'roles',
      'applications',
      'scans',
      'findings',
      'org_exports',
    ]) {
      expect(held[table], table).toBeGreaterThan(0);
    }
    const entriesBefore = await rows<{ seq: number }>(
      sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId}`,
    );
    const checkpointsBefore = await rows(
      sql`SELECT seq FROM audit_checkpoints WHERE chain_id = ${org.orgId}`,
    );
    expect(checkpointsBefore.length).toBeGreaterThan(0);

    // A day before the grace period ends: nothing goes.
    expect(await purgeDeletedOrganizations(t.app, later(29))).toBe(0);
    expect(await dataRows(org.orgId)).toEqual(held);

    // A day after: everything of it goes.
    expect(await purgeDeletedOrganizations(t.app, later(31))).toBeGreaterThanOrEqual(1);
    const left = await dataRows(org.orgId);
    expect(Object.entries(left).filter(([, n]) => n > 0)).toEqual([]);
    expect(
      await rows(
        sql`SELECT 1 FROM org_export_chunks c JOIN org_exports e ON e.id = c.export_id WHERE e.org_id = ${org.orgId}`,
      ),
    ).toEqual([]);
    // Its people keep their accounts.
    expect(
      await rows(sql`SELECT id FROM users WHERE id IN (${org.owner.userId}, ${org.member.userId})`),
    ).toHaveLength(2);

    // The audit log: every entry still there, one more recording the purge, checkpoints kept, verifiable.
    const entries = await rows<{
      seq: number;
      action: string;
      actor_type: string;
      target_type: string;
      target_id: string;
      target_name: string;
      after: unknown;
    }>(
      sql`SELECT seq, action, actor_type, target_type, target_id, target_name, after FROM audit_events WHERE chain_id = ${org.orgId} ORDER BY seq`,
    );
    expect(entries.map((e) => e.seq)).toEqual([
      ...entriesBefore.map((e) => e.seq).sort((a, b) => a - b),
      entries.length,
    ]);
    expect(entries.at(-1)).toMatchObject({
      action: 'org.purged',
      actor_type: 'system',
      target_type: 'organization',
      target_id: org.orgId,
      target_name: 'Purged Co',
      after: { purged: true, graceDays: 30 },
    });
    expect(await rows(sql`SELECT seq FROM audit_checkpoints WHERE chain_id = ${org.orgId}`)).toEqual(
      expect.arrayContaining(checkpointsBefore),
    );
    expect(await t.app.gatehouse.audit.verifySnapshot({ kind: 'org', id: org.orgId })).toMatchObject({
      ok: true,
    });

    // Again: nothing left to purge, nothing recorded.
    expect(await purgeDeletedOrganizations(t.app, later(31))).toBe(0);
    expect(await rows(sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId}`)).toHaveLength(
      entries.length,
    );
  });

  it('leaves live organizations and those deleted more recently alone', async () => {
    const live = await createOrg(t.app, { name: 'Still Here' });
    const recent = await deletedOrg('Recently Gone');
    // Deleted a day ago: 28 days on its grace period (30 days) is not over; 30 days on it is.
    await t.db.database.db.execute(
      sql`UPDATE organizations SET deleted_at = now() - interval '1 day' WHERE id = ${recent.orgId}`,
    );
    expect(await purgeDeletedOrganizations(t.app, later(28))).toBe(0);
    expect((await dataRows(recent.orgId)).organizations).toBe(1);
    expect((await dataRows(live.orgId)).organizations).toBe(1);
    expect(await purgeDeletedOrganizations(t.app, later(30))).toBeGreaterThanOrEqual(1);
    expect((await dataRows(recent.orgId)).organizations).toBe(0);
    expect(expectStatus(await as(t.app, live.owner).get(base(live.orgId)), 200).json().name).toBe(
      'Still Here',
    );
  });

  it('purges each organization once when several instances run the job at the same time', async () => {
    const org = await deletedOrg('Raced Ltd');
    const second = await createTestApp(
      { audit: { ...t.config.audit, signingKeyFile: `${t.config.dataDir}/audit-signing-key.pem` } },
      t.db,
    );
    try {
      await Promise.all([
        purgeDeletedOrganizations(t.app, later(31)),
        purgeDeletedOrganizations(second.app, later(31)),
      ]);
    } finally {
      await second.close();
    }
    const purged = await rows(
      sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'org.purged'`,
    );
    expect(purged).toHaveLength(1);
    expect((await dataRows(org.orgId)).organizations).toBe(0);
  });

  it('keeps a purged organization’s audit log as long as the installation’s own, not its old plan’s', async () => {
    const org = await deletedOrg('Long Memory');
    expect(await purgeDeletedOrganizations(t.app, later(31))).toBeGreaterThanOrEqual(1);
    const before = await rows(sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId}`);
    // The Scale plan keeps 90 days; a purged organization's log is the operator's, kept 730.
    await runAuditRetention(t.app, later(120));
    expect(await rows(sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId}`)).toHaveLength(
      before.length,
    );
  });
});
