import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { auditEvents } from '../../platform/db/schema.ts';

/** Findings under concurrent requests on PostgreSQL. */
describe.skipIf(!onPostgres)('findings under concurrent requests (PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const actions = async (orgId: string, prefix: string) =>
    (
      await t.db.database.db
        .select({ action: auditEvents.action, targetId: auditEvents.targetId })
        .from(auditEvents)
        .where(eq(auditEvents.chainId, orgId))
        .orderBy(asc(auditEvents.seq))
    ).filter((e) => e.action.startsWith(prefix));

  it('of parallel approvals of one remediation exactly one succeeds; the rest answer 409', async () => {
    const org = await createOrg(t.app);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const app = await seedApplication(t.app, org.orgId);
    const [findingId] = await seedFindings(t.app, org.orgId, app, [{}]);
    for (let round = 0; round < 5; round++) {
      const { id } = expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/findings/${findingId}/remediations`, {
          summary: `fix ${round}`,
        }),
        201,
      ).json();
      const url = `/api/v1/orgs/${org.orgId}/remediations/${id}/approve`;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => as(t.app, i % 2 ? admin : org.owner).post(url)),
      );
      const codes = answers.map((a) => a.statusCode).sort();
      expect(codes).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
      const approved = (await actions(org.orgId, 'remediation.approved')).filter((e) => e.targetId === id);
      expect(approved).toHaveLength(1);
    }
  });

  it('parallel edits of one finding are applied one after another: each audited change starts where the last ended', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    const statuses = ['triaged', 'mitigated', 'resolved', 'open', 'triaged', 'resolved'] as const;
    const answers = await Promise.all(
      statuses.map((status) =>
        as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/findings/${id}`, { status }),
      ),
    );
    for (const a of answers) expect(a.statusCode, a.body).toBe(200);
    const log = await t.db.database.db
      .select({ before: auditEvents.before, after: auditEvents.after })
      .from(auditEvents)
      .where(eq(auditEvents.chainId, org.orgId))
      .orderBy(asc(auditEvents.seq));
    const changes = log.filter((e) => e.after && 'status' in (e.after as object)) as Array<{
      before: { status: string };
      after: { status: string };
    }>;
    let current = 'open';
    for (const change of changes) {
      expect(change.before.status).toBe(current);
      current = change.after.status;
    }
    const final = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/findings/${id}`),
      200,
    ).json();
    expect(final.status).toBe(current);
    expect(final.resolvedAt === null).toBe(current !== 'resolved');
  });
});
