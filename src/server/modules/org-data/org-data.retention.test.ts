import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { seedFindings } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { applyScanRetention, SCAN_RETENTION_JOB, scheduleScanRetention } from './index.ts';

/**
 * Scan retention (Settings → Data & Privacy): the setting, and the daily job that deletes an
 * organization's scans older than it and the findings no remaining scan saw. Scans are made
 * through the API (so they spend tokens), then dated back; the job runs "as of" a time.
 */

const DAY = 86_400_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);

/** A SARIF log whose results carry the given fingerprints (the same one is the same finding). */
const sarifOf = (fingerprints: string[]) => ({
  version: '2.1.0',
  runs: [
    {
      tool: { driver: { name: 'Semgrep' } },
      results: fingerprints.map((fp, i) => ({
        ruleId: `rule-${fp}`,
        level: 'warning',
        message: { text: `Problem ${fp}` },
        locations: [
          { physicalLocation: { artifactLocation: { uri: `src/${fp}.ts` }, region: { startLine: i + 1 } } },
        ],
        partialFingerprints: { id: fp },
      })),
    },
  ],
});

async function appOf(org: { orgId: string; owner: Person }, name = 'web'): Promise<string> {
  return expectStatus(
    await as(t.app, org.owner).post(`${base(org.orgId)}/applications`, { name }),
    201,
  ).json().id;
}

/** A scan made through the API, then dated `daysAgo` days back (its findings' sightings with it). */
async function scanDaysAgo(
  org: { orgId: string; owner: Person },
  applicationId: string,
  fingerprints: string[],
  daysAgo: number,
): Promise<string> {
  const scan = expectStatus(
    await as(t.app, org.owner).post(`${base(org.orgId)}/scans`, {
      applicationId,
      modules: ['sast'],
      sarif: sarifOf(fingerprints),
    }),
    201,
  ).json();
  const at = new Date(Date.now() - daysAgo * DAY).toISOString();
  await t.db.database.db.execute(
    sql`UPDATE scans SET created_at = ${at}::timestamptz, completed_at = ${at}::timestamptz WHERE id = ${scan.id}`,
  );
  // As ingestion would have left them had the scan been made then: seen first and last by it
  // (a later scan moves last_seen_at on again, below).
  await t.db.database.db.execute(sql`UPDATE findings f SET
      first_seen_at = least(f.first_seen_at, ${at}::timestamptz),
      last_seen_at = (SELECT max(s.created_at) FROM scan_findings sf JOIN scans s ON s.id = sf.scan_id
                       WHERE sf.finding_id = f.id)
    WHERE f.id IN (SELECT finding_id FROM scan_findings WHERE scan_id = ${scan.id})`);
  return scan.id;
}

async function findingIds(orgId: string): Promise<Record<string, string>> {
  // By rule: each test result's rule is `rule-<its fingerprint>`; seeded findings have their own.
  const found = await rows<{ id: string; rule_id: string }>(
    sql`SELECT id, rule_id FROM findings WHERE org_id = ${orgId}`,
  );
  return Object.fromEntries(found.map((f) => [f.rule_id.replace(/^rule-/, ''), f.id]));
}

async function scanIds(orgId: string): Promise<string[]> {
  return (
    await rows<{ id: string }>(sql`SELECT id FROM scans WHERE org_id = ${orgId} ORDER BY created_at`)
  ).map((r) => r.id);
}

async function lastEntry(org: { orgId: string; owner: Person }) {
  return expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events?limit=1`), 200).json()
    .items[0];
}

describe('GET / PATCH /orgs/:orgId/settings/data', () => {
  it('is a year by default, says the grace period of deleted organizations, and changes within 30–730 days, audited', async () => {
    const org = await createOrg(t.app);
    const owner = as(t.app, org.owner);
    expect(expectStatus(await owner.get(`${base(org.orgId)}/settings/data`), 200).json()).toEqual({
      scanRetentionDays: 365,
      deletedOrgGraceDays: 30,
    });
    for (const bad of [29, 731, 90.5, '90', null]) {
      const res = expectStatus(
        await owner.patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: bad }),
        400,
      );
      expect(res.json()).toMatchObject({ code: 'validation_failed' });
      expect(res.json().errors[0].field).toBe('/body/scanRetentionDays');
    }
    expectStatus(
      await owner.patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: 90, other: 1 }),
      400,
    );
    expectStatus(await owner.patch(`${base(org.orgId)}/settings/data`, {}), 400);

    for (const days of [30, 730, 90]) {
      expect(
        expectStatus(
          await owner.patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: days }),
          200,
        ).json(),
      ).toEqual({ scanRetentionDays: days, deletedOrgGraceDays: 30 });
    }
    expect(await lastEntry(org)).toMatchObject({
      action: 'settings.updated',
      actor: { type: 'user', id: org.owner.userId },
      target: { type: 'organization', id: org.orgId, name: 'Acme Security' },
      before: { scanRetentionDays: 730 },
      after: { scanRetentionDays: 90 },
    });
    // The same value again changes nothing and records nothing.
    const seq = (await lastEntry(org)).seq;
    expectStatus(await owner.patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: 90 }), 200);
    expect((await lastEntry(org)).seq).toBe(seq);
  });

  it('is read with settings:read and changed with settings:update: an Admin may, a Developer may not', async () => {
    const org = await createOrg(t.app);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(
      await as(t.app, admin).patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: 60 }),
      200,
    );
    expect(expectStatus(await as(t.app, dev).get(`${base(org.orgId)}/settings/data`), 403).json().code).toBe(
      'permission_denied',
    );
    expectStatus(
      await as(t.app, dev).patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: 30 }),
      403,
    );
    // Not a member: not found (the organization's existence is not told).
    const stranger = await createOrg(t.app);
    expectStatus(await as(t.app, stranger.owner).get(`${base(org.orgId)}/settings/data`), 404);
  });
});

describe('scan retention', () => {
  it('deletes the scans older than the limit and the findings no remaining scan saw; one a recent scan saw stays; tokens stay spent', async () => {
    const org = await createOrg(t.app, { name: 'Retained Inc' });
    const appId = await appOf(org);
    const tag = `r${Date.now()}`;
    const [onlyOld, shared, onlyRecent] = [`${tag}-old`, `${tag}-shared`, `${tag}-recent`];
    // Limit 365 days: one scan a day past it, one a day inside it.
    const oldScan = await scanDaysAgo(org, appId, [onlyOld, shared], 366);
    const recentScan = await scanDaysAgo(org, appId, [shared, onlyRecent], 364);
    const ids = await findingIds(org.orgId);
    // Findings with no scan at all (their scans deleted by hand): one last seen inside the limit
    // stays, one last seen past it goes.
    const [orphanRecent, orphanOld] = await seedFindings(t.app, org.orgId, appId, [
      { title: 'Seen lately, its scan deleted', secondsAgo: 364 * 86_400 },
      { title: 'Seen long ago, its scan deleted', secondsAgo: 366 * 86_400 },
    ]);
    // A comment on the finding that goes, which goes with it.
    expectStatus(
      await as(t.app, org.owner).post(`${base(org.orgId)}/findings/${ids[onlyOld]}/comments`, {
        body: 'old news',
      }),
      201,
    );
    const usageBefore = expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/usage`), 200).json();
    const ledgerBefore = await rows(
      sql`SELECT scan_id, module, tokens FROM quota_ledger WHERE org_id = ${org.orgId} ORDER BY id`,
    );
    expect(ledgerBefore).toHaveLength(2);

    const result = await applyScanRetention(t.app, org.orgId);
    expect(result).toMatchObject({ retentionDays: 365, scans: 1, findings: 2 });

    expect(await scanIds(org.orgId)).toEqual([recentScan]);
    expect(Object.values(await findingIds(org.orgId)).sort()).toEqual(
      [ids[shared], ids[onlyRecent], orphanRecent].sort(),
    );
    expect(await rows(sql`SELECT id FROM findings WHERE id IN (${ids[onlyOld]}, ${orphanOld})`)).toEqual([]);
    expect(await rows(sql`SELECT 1 FROM scan_findings WHERE scan_id = ${oldScan}`)).toEqual([]);
    expect(await rows(sql`SELECT 1 FROM scan_sarif WHERE scan_id = ${oldScan}`)).toEqual([]);
    expect(await rows(sql`SELECT 1 FROM finding_comments WHERE finding_id = ${ids[onlyOld]}`)).toEqual([]);
    // The shared finding is still linked to the recent scan, with its history.
    const sharedNow = expectStatus(
      await as(t.app, org.owner).get(`${base(org.orgId)}/findings/${ids[shared]}`),
      200,
    ).json();
    expect(sharedNow).toMatchObject({ id: ids[shared], occurrences: 2 });
    // What was spent stays spent: the ledger and the month's usage are as they were.
    expect(
      await rows(
        sql`SELECT scan_id, module, tokens FROM quota_ledger WHERE org_id = ${org.orgId} ORDER BY id`,
      ),
    ).toEqual(ledgerBefore);
    expect(expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/usage`), 200).json()).toEqual(
      usageBefore,
    );

    expect(await lastEntry(org)).toMatchObject({
      action: 'scans.retention_applied',
      actor: { type: 'system', id: null },
      target: { type: 'organization', id: org.orgId, name: 'Retained Inc' },
      after: { retentionDays: 365, scansDeleted: 1, findingsDeleted: 2 },
    });
    // Run again: nothing left to delete, nothing recorded.
    const seq = (await lastEntry(org)).seq;
    expect(await applyScanRetention(t.app, org.orgId)).toMatchObject({ scans: 0, findings: 0 });
    expect((await lastEntry(org)).seq).toBe(seq);
    // The chain still verifies.
    expect(
      expectStatus(
        await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events/verify?full=true`),
        200,
      ).json(),
    ).toMatchObject({ ok: true });
  });

  it('follows the organization’s own limit, a day either side of it, and touches no other organization', async () => {
    const org = await createOrg(t.app);
    const other = await createOrg(t.app);
    expectStatus(
      await as(t.app, org.owner).patch(`${base(org.orgId)}/settings/data`, { scanRetentionDays: 30 }),
      200,
    );
    const appId = await appOf(org);
    const otherApp = await appOf(other);
    const tag = `b${Date.now()}`;
    const past = await scanDaysAgo(org, appId, [`${tag}-a`], 31);
    const inside = await scanDaysAgo(org, appId, [`${tag}-b`], 29);
    const othersOld = await scanDaysAgo(other, otherApp, [`${tag}-c`], 31);

    expect(await applyScanRetention(t.app, org.orgId)).toMatchObject({
      retentionDays: 30,
      scans: 1,
      findings: 1,
    });
    expect(await scanIds(org.orgId)).toEqual([inside]);
    expect(await rows(sql`SELECT id FROM scans WHERE id = ${past}`)).toEqual([]);
    // The other organization keeps a year: its 31-day-old scan stays.
    expect(await scanIds(other.orgId)).toEqual([othersOld]);

    // As of two days later, the scan that was 29 days old is 31: it goes too.
    expect(await applyScanRetention(t.app, org.orgId, new Date(Date.now() + 2 * DAY))).toMatchObject({
      scans: 1,
      findings: 1,
    });
    expect(await scanIds(org.orgId)).toEqual([]);
  });

  it(`is scheduled once per organization per day, however often and on however many instances (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, async () => {
    const org = await createOrg(t.app);
    const appId = await appOf(org);
    const old = await scanDaysAgo(org, appId, [`s${Date.now()}`], 400);
    const day = new Date();
    const second = await createTestApp({}, t.db);
    try {
      const [a, b] = await Promise.all([
        scheduleScanRetention(t.app, day),
        scheduleScanRetention(second.app, day),
      ]);
      const live = (
        await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM organizations WHERE deleted_at IS NULL`)
      )[0]!.n;
      expect(a + b).toBe(live);
      expect(await scheduleScanRetention(t.app, day)).toBe(0);
      const jobs = await rows<{ dedupe_key: string }>(
        sql`SELECT dedupe_key FROM outbox_jobs WHERE kind = ${SCAN_RETENTION_JOB} AND org_id = ${org.orgId}`,
      );
      expect(jobs).toEqual([
        { dedupe_key: `${SCAN_RETENTION_JOB}:${org.orgId}:${day.toISOString().slice(0, 10)}` },
      ]);
      await t.drainOutbox({ kind: SCAN_RETENTION_JOB });
      await second.drainOutbox({ kind: SCAN_RETENTION_JOB });
      expect(await rows(sql`SELECT id FROM scans WHERE id = ${old}`)).toEqual([]);
      const applied = await rows(
        sql`SELECT seq FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'scans.retention_applied'`,
      );
      expect(applied).toHaveLength(1);
      // The next day is another job.
      expect(await scheduleScanRetention(t.app, new Date(day.getTime() + DAY))).toBe(live);
    } finally {
      await second.close();
    }
  });
});
