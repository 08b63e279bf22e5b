import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { seedApplication } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { evaluatePolicies, type Severity } from './policies.evaluate.ts';

/**
 * Policies through the API on a real database: CRUD with its audit entries, names unique per org
 * whatever their case (also when two requests race), application ids only of the same org,
 * paging, another org's policy as 404, the permissions; and evaluatePolicies' rules.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const url = (org: { orgId: string }, id = '') => `/api/v1/orgs/${org.orgId}/policies${id ? `/${id}` : ''}`;

async function auditOf(org: { orgId: string }, action: string) {
  return queryRows<{ target_id: string; before: unknown; after: unknown }>(
    t.db.database.db,
    sql`SELECT target_id, before, after FROM audit_events
        WHERE chain_id = ${org.orgId} AND action = ${action} ORDER BY seq`,
  );
}

describe('policies CRUD', () => {
  let org: Org;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Policy Makers' });
  });

  it('creates, reads, edits and deletes a policy, each change audited', async () => {
    const app = await seedApplication(t.app, org.orgId, 'Storefront');
    const created = expectStatus(
      await as(t.app, org.owner).post(url(org), {
        name: '  No criticals  ',
        description: 'Block releases with critical findings',
        failOn: 'critical',
        modules: ['sast', 'dependencies', 'sast'],
        applicationIds: [app],
      }),
      201,
    ).json();
    expect(created).toMatchObject({
      name: 'No criticals',
      failOn: 'critical',
      // Catalog order, once each.
      modules: ['dependencies', 'sast'],
      applicationIds: [app],
    });
    expect(expectStatus(await as(t.app, org.owner).get(url(org, created.id)), 200).json()).toEqual(created);

    const edited = expectStatus(
      await as(t.app, org.owner).patch(url(org, created.id), { failOn: 'high', applicationIds: [] }),
      200,
    ).json();
    expect(edited).toMatchObject({ failOn: 'high', applicationIds: [], name: 'No criticals' });
    // Nothing changes: nothing recorded.
    expectStatus(await as(t.app, org.owner).patch(url(org, created.id), { failOn: 'high' }), 200);

    expectStatus(await as(t.app, org.owner).delete(url(org, created.id)), 204);
    expectStatus(await as(t.app, org.owner).get(url(org, created.id)), 404);
    expectStatus(await as(t.app, org.owner).delete(url(org, created.id)), 404);

    expect(await auditOf(org, 'policy.created')).toEqual([
      expect.objectContaining({
        target_id: created.id,
        after: expect.objectContaining({ failOn: 'critical' }),
      }),
    ]);
    const updates = await auditOf(org, 'policy.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      before: expect.objectContaining({ failOn: 'critical', applicationIds: [app] }),
      after: expect.objectContaining({ failOn: 'high', applicationIds: [] }),
    });
    expect(await auditOf(org, 'policy.deleted')).toEqual([
      expect.objectContaining({ target_id: created.id }),
    ]);
  });

  it('refuses a second policy with the same name in any case (409), on create and rename', async () => {
    expectStatus(await as(t.app, org.owner).post(url(org), { name: 'Secrets gate', failOn: 'low' }), 201);
    const dup = expectStatus(
      await as(t.app, org.owner).post(url(org), { name: 'SECRETS GATE', failOn: 'high' }),
      409,
    );
    expect(dup.json()).toMatchObject({ code: 'conflict', params: { field: 'name' } });
    const other = expectStatus(
      await as(t.app, org.owner).post(url(org), { name: 'Other gate', failOn: 'high' }),
      201,
    ).json();
    expectStatus(await as(t.app, org.owner).patch(url(org, other.id), { name: 'secrets Gate' }), 409);
    // Another org may use the name.
    const elsewhere = await createOrg(t.app, { name: 'Elsewhere' });
    expectStatus(
      await as(t.app, elsewhere.owner).post(url(elsewhere), { name: 'Secrets gate', failOn: 'low' }),
      201,
    );
  });

  it.runIf(onPostgres)('of two concurrent creations with one name, exactly one wins', async () => {
    const results = await Promise.all(
      ['Race gate', 'RACE GATE', 'race gate'].map((name) =>
        as(t.app, org.owner).post(url(org), { name, failOn: 'medium' }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
  });

  it('takes only applications of the same org: unknown and cross-tenant ids are a 400 naming the field', async () => {
    const mine = await seedApplication(t.app, org.orgId, 'Mine');
    const theirs = await seedApplication(t.app, (await createOrg(t.app, { name: 'Theirs' })).orgId, 'Theirs');
    const refused = expectStatus(
      await as(t.app, org.owner).post(url(org), {
        name: 'Scoped',
        failOn: 'high',
        applicationIds: [mine, theirs],
      }),
      400,
    );
    expect(refused.json().errors).toEqual([
      expect.objectContaining({
        field: '/body/applicationIds/1',
        message: 'is not an application of this organization',
      }),
    ]);
    const created = expectStatus(
      await as(t.app, org.owner).post(url(org), { name: 'Scoped', failOn: 'high', applicationIds: [mine] }),
      201,
    ).json();
    const patch = expectStatus(
      await as(t.app, org.owner).patch(url(org, created.id), { applicationIds: [theirs] }),
      400,
    );
    expect(patch.json().errors[0].field).toBe('/body/applicationIds/0');
    expect(
      expectStatus(await as(t.app, org.owner).get(url(org, created.id)), 200).json().applicationIds,
    ).toEqual([mine]);

    // Its application deleted, the policy keeps the id (it applies to no other application), and
    // the list read back is accepted as it is; a new unknown id still is not.
    const other = await seedApplication(t.app, org.orgId, 'Other');
    expectStatus(
      await as(t.app, org.owner).patch(url(org, created.id), { applicationIds: [mine, other] }),
      200,
    );
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/applications/${mine}`), 204);
    const kept = expectStatus(await as(t.app, org.owner).get(url(org, created.id)), 200).json();
    expect(kept.applicationIds).toEqual([mine, other]);
    expectStatus(
      await as(t.app, org.owner).patch(url(org, created.id), {
        applicationIds: kept.applicationIds,
        failOn: 'low',
      }),
      200,
    );
    expectStatus(
      await as(t.app, org.owner).patch(url(org, created.id), { applicationIds: [other, theirs] }),
      400,
    );
  });

  it('refuses junk: unknown severity or module, malformed ids, empty patch', async () => {
    for (const body of [
      { name: 'x', failOn: 'severe' },
      { name: 'x', failOn: 'low', modules: ['dast'] },
      { name: 'x', failOn: 'low', applicationIds: ['not-a-uuid'] },
      { name: '', failOn: 'low' },
      { failOn: 'low' },
    ]) {
      expectStatus(await as(t.app, org.owner).post(url(org), body), 400);
    }
    const p = expectStatus(
      await as(t.app, org.owner).post(url(org), { name: 'Junk', failOn: 'low' }),
      201,
    ).json();
    expectStatus(await as(t.app, org.owner).patch(url(org, p.id), {}), 400);
    expectStatus(await as(t.app, org.owner).get(url(org, 'nope')), 400);
    expectStatus(await as(t.app, org.owner).get(`${url(org)}?cursor=forged`), 400);
  });

  it('pages newest first with a cursor', async () => {
    const paged = await createOrg(t.app, { name: 'Paged' });
    for (const name of ['P1', 'P2', 'P3', 'P4', 'P5']) {
      expectStatus(await as(t.app, paged.owner).post(url(paged), { name, failOn: 'low' }), 201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { name: string }[]; nextCursor: string | null } = expectStatus(
        await as(t.app, paged.owner).get(`${url(paged)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        200,
      ).json();
      seen.push(...page.items.map((i) => i.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['P5', 'P4', 'P3', 'P2', 'P1']);
  });

  it('another org’s policy is 404 on every route', async () => {
    const other = await createOrg(t.app, { name: 'Other Tenant' });
    const theirs = expectStatus(
      await as(t.app, other.owner).post(url(other), { name: 'Theirs', failOn: 'low' }),
      201,
    ).json();
    expectStatus(await as(t.app, org.owner).get(url(org, theirs.id)), 404);
    expectStatus(await as(t.app, org.owner).patch(url(org, theirs.id), { name: 'Mine now' }), 404);
    expectStatus(await as(t.app, org.owner).delete(url(org, theirs.id)), 404);
    // Nor through the other org's path without membership.
    expectStatus(await as(t.app, org.owner).get(url(other, theirs.id)), 404);
    expect(expectStatus(await as(t.app, other.owner).get(url(other, theirs.id)), 200).json().name).toBe(
      'Theirs',
    );
  });

  it('a Developer reads policies but cannot manage them; a Cyberoper can', async () => {
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const cyber = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    expectStatus(await as(t.app, dev).get(url(org)), 200);
    const denied = expectStatus(
      await as(t.app, dev).post(url(org), { name: 'Dev made', failOn: 'low' }),
      403,
    );
    expect(denied.json().code).toBe('permission_denied');
    const made = expectStatus(
      await as(t.app, cyber).post(url(org), { name: 'Cyber made', failOn: 'low' }),
      201,
    ).json();
    expectStatus(await as(t.app, dev).get(url(org, made.id)), 200);
    expect(
      expectStatus(await as(t.app, dev).patch(url(org, made.id), { failOn: 'high' }), 403).json().code,
    ).toBe('permission_denied');
    expectStatus(await as(t.app, dev).delete(url(org, made.id)), 403);
    expectStatus(await as(t.app, cyber).delete(url(org, made.id)), 204);
  });
});

describe('evaluatePolicies', () => {
  const finding = (id: string, severity: Severity, status = 'open') => ({ id, severity, status });

  async function policy(org: Org, body: object): Promise<string> {
    return expectStatus(await as(t.app, org.owner).post(url(org), body), 201).json().id;
  }

  it('applies policies by module and application, fails at or above the threshold, ignores settled findings', async () => {
    const org = await createOrg(t.app, { name: 'Evaluated' });
    const web = await seedApplication(t.app, org.orgId, 'Web');
    const api = await seedApplication(t.app, org.orgId, 'Api');
    const highAnywhere = await policy(org, { name: 'High anywhere', failOn: 'high' });
    const secretsLow = await policy(org, { name: 'Secrets low', failOn: 'low', modules: ['secrets'] });
    const webMedium = await policy(org, { name: 'Web medium', failOn: 'medium', applicationIds: [web] });
    const run = (scan: { applicationId: string; modules: string[] }, seen: ReturnType<typeof finding>[]) =>
      evaluatePolicies(t.db.database.db, org.orgId, scan, seen);

    // Nothing found: every policy passes.
    expect(await run({ applicationId: api, modules: ['sast'] }, [])).toEqual({
      passed: true,
      violations: [],
    });

    // A medium finding on Api with sast: only "High anywhere" applies, and medium is below it.
    expect((await run({ applicationId: api, modules: ['sast'] }, [finding('f1', 'medium')])).passed).toBe(
      true,
    );

    // The same on Web: "Web medium" applies and fails.
    const onWeb = await run({ applicationId: web, modules: ['sast'] }, [finding('f1', 'medium')]);
    expect(onWeb.passed).toBe(false);
    expect(onWeb.violations).toEqual([
      { policyId: webMedium, name: 'Web medium', failOn: 'medium', findingIds: ['f1'] },
    ]);

    // A low finding with the secrets module: "Secrets low" fails; critical fails "High anywhere" too.
    const secrets = await run({ applicationId: api, modules: ['secrets', 'sast'] }, [
      finding('low1', 'low'),
      finding('crit1', 'critical'),
    ]);
    expect(secrets.violations.map((v) => [v.policyId, v.findingIds])).toEqual([
      [highAnywhere, ['crit1']],
      [secretsLow, ['low1', 'crit1']],
    ]);

    // Resolved and false positives fail nothing; other statuses still do.
    const settled = await run({ applicationId: web, modules: ['dependencies'] }, [
      finding('a', 'critical', 'resolved'),
      finding('b', 'critical', 'false_positive'),
      finding('c', 'high', 'mitigated'),
    ]);
    expect(settled.violations.map((v) => [v.name, v.findingIds])).toEqual([
      ['High anywhere', ['c']],
      ['Web medium', ['c']],
    ]);

    // Another org's policies never apply.
    const other = await createOrg(t.app, { name: 'No Policies' });
    expect(
      await evaluatePolicies(t.db.database.db, other.orgId, { applicationId: api, modules: ['sast'] }, [
        finding('x', 'critical'),
      ]),
    ).toEqual({ passed: true, violations: [] });
  });
});
