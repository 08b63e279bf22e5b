import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { expectPdfBytes, pdfPages, pdfText } from '../../../../test/support/pdf.ts';
import { REPORT_JOB } from './index.ts';
import { buildReport, reportHandler } from './reports.jobs.ts';

/**
 * Compliance reports and executive summaries: asked for with compliance:read / analytics:read on
 * the plans that have them, built in the background by an outbox job into a PDF whose text holds
 * the figures the database has, and nothing of another organization.
 */

let t: TestApp;
type Org = { orgId: string; slug: string; owner: Person };
let alpha: Org;
let bravo: Org;
let free: Org;
let enterprise: Org;
let developer: Person;
let cyberoper: Person;
let before: Person;
let inside: Person;
let after: Person;
let period: { from: string; to: string };

const base = (org: { orgId: string }) => `/api/v1/orgs/${org.orgId}`;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);
const tick = () => new Promise((resolve) => setTimeout(resolve, 25));
const DAY = 86_400_000;
/** A response's JSON, as the tests read it. */
type Json = ReturnType<typeof JSON.parse>;

const sarif = {
  version: '2.1.0',
  runs: [
    {
      tool: { driver: { name: 'Semgrep' } },
      results: [1, 2, 3].map((i) => ({
        ruleId: `rule-${i}`,
        level: i === 1 ? 'error' : 'warning',
        message: { text: `problem ${i}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/file-${i}.ts` } } }],
      })),
    },
  ],
};

/** Asks for a report, runs the job, and answers its status and PDF. */
async function generate(
  org: Org,
  path: 'compliance-reports' | 'reports/executive',
  body: Record<string, unknown>,
  who: Person = org.owner,
): Promise<{ status: Json; pdf: Buffer; text: string }> {
  const asked = expectStatus(await as(t.app, who).post(`${base(org)}/${path}`, body), 202);
  return ready(org, path, asked.json().id, who);
}

/** Runs the jobs, waits for report `id`, and answers its status and PDF. */
async function ready(
  org: Org,
  path: 'compliance-reports' | 'reports/executive',
  id: string,
  who: Person = org.owner,
): Promise<{ status: Json; pdf: Buffer; text: string }> {
  await t.drainOutbox({ kind: REPORT_JOB });
  let status = expectStatus(await as(t.app, who).get(`${base(org)}/${path}/${id}`), 200).json();
  for (let i = 0; i < 200 && status.status !== 'ready' && status.status !== 'failed'; i++) {
    await tick();
    status = expectStatus(await as(t.app, who).get(`${base(org)}/${path}/${id}`), 200).json();
  }
  expect(status.status).toBe('ready');
  const download = expectStatus(await as(t.app, who).get(status.downloadUrl), 200);
  const pdf = download.rawPayload;
  expectPdfBytes(pdf);
  return { status, pdf, text: await pdfText(pdf) };
}

beforeAll(async () => {
  t = await createTestApp();
  alpha = await createOrg(t.app, { name: 'Alpha Widgets', plan: 'pro' });
  bravo = await createOrg(t.app, { name: 'Bravo Secret Corp', plan: 'pro' });
  free = await createOrg(t.app, { name: 'Free Tier Co', plan: 'free' });
  enterprise = await createOrg(t.app, { name: 'Enterprise Inc', plan: 'enterprise' });
  developer = await addMember(t.app, alpha, 'developer', { name: 'Dev Eloper' }, t.mail);
  cyberoper = await addMember(t.app, alpha, 'cyberoper', { name: 'Cy Beroper' }, t.mail);
  before = await addMember(t.app, alpha, 'viewer', { name: 'Before Range' }, t.mail);
  await tick();
  const from = new Date();
  await tick();
  inside = await addMember(t.app, alpha, 'viewer', { name: 'Inside Range' }, t.mail);
  expectStatus(
    await as(t.app, alpha.owner).patch(`${base(alpha)}/members/${before.userId}`, { role: 'developer' }),
    200,
  );
  const token = expectStatus(
    await as(t.app, alpha.owner).post(`${base(alpha)}/automation-tokens`, {
      name: 'CI pipeline',
      scopes: ['read'],
      expiresInDays: 30,
    }),
    201,
  ).json();
  expectStatus(await as(t.app, alpha.owner).delete(`${base(alpha)}/automation-tokens/${token.id}`), 204);
  await tick();
  const to = new Date();
  await tick();
  after = await addMember(t.app, alpha, 'viewer', { name: 'After Range' }, t.mail);
  period = { from: from.toISOString(), to: to.toISOString() };
  await addMember(t.app, bravo, 'admin', { name: 'Bravo Admin' }, t.mail);
  const appId = expectStatus(
    await as(t.app, alpha.owner).post(`${base(alpha)}/applications`, { name: 'alpha-web' }),
    201,
  ).json().id;
  expectStatus(
    await as(t.app, alpha.owner).post(`${base(alpha)}/scans`, {
      applicationId: appId,
      modules: ['sast'],
      sarif,
    }),
    201,
  );
  // Sign the heads of every chain: a checkpoint now covers the period's end.
  await t.app.gatehouse.audit.checkpointAll();
});
afterAll(async () => {
  await t?.close();
});

describe(`POST /orgs/:orgId/compliance-reports (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let report: { status: Json; pdf: Buffer; text: string };

  it('answers 202 at once, builds the PDF in the background, and records compliance_report.generated', async () => {
    const asked = expectStatus(
      await as(t.app, alpha.owner).post(`${base(alpha)}/compliance-reports`, {
        framework: 'soc2',
        ...period,
      }),
      202,
    );
    expect(asked.json()).toMatchObject({
      kind: 'compliance',
      framework: 'soc2',
      status: 'pending',
      progress: 0,
    });
    expect(asked.headers.location).toBe(`${base(alpha)}/compliance-reports/${asked.json().id}`);
    // The same report asked again while it is being built: that one, recorded once.
    const again = expectStatus(
      await as(t.app, alpha.owner).post(`${base(alpha)}/compliance-reports`, {
        framework: 'soc2',
        ...period,
      }),
      202,
    );
    expect(again.json().id).toBe(asked.json().id);
    const early = await as(t.app, alpha.owner).get(
      `${base(alpha)}/compliance-reports/${asked.json().id}/pdf`,
    );
    if (early.statusCode !== 200) expect(early.json().code).toBe('report_not_ready');
    report = await ready(alpha, 'compliance-reports', asked.json().id);
    expect(report.status.id).toBe(asked.json().id);
    expect(report.status).toMatchObject({
      status: 'ready',
      progress: 100,
      requestedBy: { id: alpha.owner.userId },
    });
    const recorded = await rows<{ after: Record<string, unknown> }>(
      sql`SELECT after FROM audit_events WHERE chain_id = ${alpha.orgId} AND action = 'compliance_report.generated'`,
    );
    expect(recorded).toEqual([{ after: { kind: 'compliance', framework: 'soc2', ...period } }]);
  });

  it('is downloaded as an attachment, with its size and SHA-256', async () => {
    const res = expectStatus(await as(t.app, alpha.owner).get(report.status.downloadUrl), 200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toMatch(
      new RegExp(
        `^attachment; filename="gatehouse-soc2-report-${alpha.slug}-\\d{4}-\\d{2}-\\d{2}-to-\\d{4}-\\d{2}-\\d{2}\\.pdf"$`,
      ),
    );
    expect(res.rawPayload.length).toBe(report.status.sizeBytes);
    expect(res.headers['x-content-sha256']).toBe(report.status.sha256);
  });

  it('states the member count, 2FA coverage and roles the database holds', async () => {
    const [count] = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM memberships WHERE org_id = ${alpha.orgId} AND status = 'active'`,
    );
    expect(count!.n).toBe(6);
    expect(report.status.summary).toMatchObject({ members: 6, membersWithTwoFactor: 0 });
    expect(report.text).toContain('Active members 6');
    expect(report.text).toContain('0 of 6 members (0%)');
    expect(report.text).toContain('SOC 2 Type II compliance report');
    expect(report.text).toContain('Alpha Widgets');
    expect(report.text).toMatch(/Controls: CC6\.1/);
    expect(report.text).toMatch(/Controls: CC6\.2/);
    expect(report.text).toContain('CC7.2');
    expect(report.text).toContain(`Generated by ${alpha.owner.email}`);
  });

  it('lists the provisioning records of the period and none outside it', async () => {
    expect(report.text).toContain(inside.email);
    expect(report.text).toContain(`Joined (invitation accepted): ${inside.email} (role viewer)`);
    // The role change of a member who joined before the period is a record of the period.
    expect(report.text).toContain(`Role changed: ${before.email} (viewer -> developer)`);
    expect(report.text).not.toContain(after.email);
    expect(report.text).not.toContain(developer.email);
    expect(report.status.summary.provisioningRecords).toBe(2);
  });

  it('holds the chain’s verification and the hash of the signed checkpoint covering the period', async () => {
    const { lastSeq } = report.status.summary;
    const [cp] = await rows<{ seq: number; hash: string; key_id: string }>(
      sql`SELECT seq, hash, key_id FROM audit_checkpoints WHERE chain_id = ${alpha.orgId} AND seq >= ${lastSeq} ORDER BY seq LIMIT 1`,
    );
    expect(cp).toBeDefined();
    expect(report.status.summary.checkpoint).toMatchObject({
      seq: cp!.seq,
      hash: cp!.hash,
      keyId: cp!.key_id,
    });
    expect(report.text).toContain(cp!.hash);
    expect(report.text).toContain(`Entry ${cp!.seq}, signed`);
    expect(report.text).toMatch(/Chain verification Verified/);
    expect(report.status.summary.chainVerified).toBe(true);
  });

  it('counts and lists the security events of the period', async () => {
    const [revoked] = await rows<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM audit_events
       WHERE chain_id = ${alpha.orgId} AND action = 'token.revoked'
         AND seq BETWEEN ${report.status.summary.firstSeq} AND ${report.status.summary.lastSeq}`);
    expect(revoked!.n).toBe(1);
    expect(report.status.summary.securityEvents).toMatchObject({
      'token.revoked': 1,
      'member.break_glass': 0,
    });
    expect(report.text).toContain('API tokens revoked 1');
    expect(report.text).toContain('API token revoked: CI pipeline');
  });

  it('holds nothing of another organization', async () => {
    const bravoMembers = await rows<{ user_id: string; email: string }>(
      sql`SELECT m.user_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ${bravo.orgId}`,
    );
    for (const s of [bravo.orgId, bravo.slug, 'Bravo', ...bravoMembers.flatMap((m) => [m.user_id, m.email])])
      expect(report.text).not.toContain(s);
  });

  it('says so when no checkpoint covers the period yet', async () => {
    const r = await generate(alpha, 'compliance-reports', {
      framework: 'gdpr',
      from: period.from,
      to: new Date(Date.now() + 60_000).toISOString(),
    });
    // Entries were written since the last checkpoint (the report's own request, at least).
    expect(r.status.summary.checkpoint).toBeNull();
    expect(r.text).toContain('None yet');
    expect(r.text).toContain('Art. 30');
  });

  it('lists newest first with cursor paging', async () => {
    const first = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports?limit=1`),
      200,
    ).json();
    expect(first.items).toHaveLength(1);
    expect(first.items[0].framework).toBe('gdpr');
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = expectStatus(
      await as(t.app, alpha.owner).get(
        `${base(alpha)}/compliance-reports?limit=1&cursor=${first.nextCursor}`,
      ),
      200,
    ).json();
    expect(second.items[0].framework).toBe('soc2');
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a period that is not one (400 naming the field) and a framework it does not know', async () => {
    const owner = as(t.app, alpha.owner);
    const now = Date.now();
    const cases: [Record<string, unknown>, string][] = [
      [{ framework: 'soc2', from: period.to, to: period.from }, '/body/to'],
      [
        {
          framework: 'soc2',
          from: new Date(now - 800 * DAY).toISOString(),
          to: new Date(now - DAY).toISOString(),
        },
        '/body/to',
      ],
      [
        {
          framework: 'soc2',
          from: new Date(now - DAY).toISOString(),
          to: new Date(now + 3 * DAY).toISOString(),
        },
        '/body/to',
      ],
      [
        {
          framework: 'soc2',
          from: new Date(now + DAY).toISOString(),
          to: new Date(now + 2 * DAY).toISOString(),
        },
        '/body/from',
      ],
      [{ framework: 'sox', ...period }, '/body/framework'],
      [{ framework: 'soc2', from: 'yesterday', to: period.to }, '/body/from'],
    ];
    for (const [body, field] of cases) {
      const res = expectStatus(await owner.post(`${base(alpha)}/compliance-reports`, body), 400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('answers 404 for another organization’s report and 400 for an id that is not one', async () => {
    const { id } = report.status;
    const res = await as(t.app, bravo.owner).get(`${base(bravo)}/compliance-reports/${id}`);
    expect(res.statusCode).toBe(404);
    expect((await as(t.app, bravo.owner).get(`${base(bravo)}/compliance-reports/${id}/pdf`)).statusCode).toBe(
      404,
    );
    // Not a member of Alpha: Alpha is not found.
    expect((await as(t.app, bravo.owner).get(`${base(alpha)}/compliance-reports/${id}`)).statusCode).toBe(
      404,
    );
    // An executive summary's id is not a compliance report's.
    expect((await as(t.app, alpha.owner).get(`${base(alpha)}/reports/executive/${id}`)).statusCode).toBe(404);
    expect(
      (await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/not-a-uuid`)).statusCode,
    ).toBe(400);
  });
});

describe('plan gates', () => {
  const body = (framework: string) => ({ framework, ...period });

  it('refuses compliance reports and the executive summary on the free plan, naming the plan that has them', async () => {
    const res = expectStatus(
      await as(t.app, free.owner).post(`${base(free)}/compliance-reports`, body('soc2')),
      403,
    );
    expect(res.json()).toMatchObject({ code: 'plan_limit', params: { requiredPlan: 'pro', plan: 'free' } });
    expect(res.json().detail).toMatch(/needs the Scale plan/);
    const exec = expectStatus(
      await as(t.app, free.owner).post(`${base(free)}/reports/executive`, period),
      403,
    );
    expect(exec.json()).toMatchObject({ code: 'plan_limit', params: { requiredPlan: 'pro' } });
  });

  it('gives SOC 2 on Scale but refuses HIPAA and PCI DSS there, naming Enterprise', async () => {
    for (const framework of ['hipaa', 'pci_dss']) {
      const res = expectStatus(
        await as(t.app, alpha.owner).post(`${base(alpha)}/compliance-reports`, body(framework)),
        403,
      );
      expect(res.json()).toMatchObject({
        code: 'plan_limit',
        params: { requiredPlan: 'enterprise', plan: 'pro' },
      });
      expect(res.json().detail).toMatch(/needs the Enterprise plan/);
    }
  });

  it('gives HIPAA on Enterprise, mapped to the Security Rule', async () => {
    const r = await generate(enterprise, 'compliance-reports', {
      framework: 'hipaa',
      from: new Date(Date.now() - 30 * DAY).toISOString(),
      to: new Date().toISOString(),
    });
    expect(r.text).toContain('HIPAA Security Rule compliance report');
    expect(r.text).toContain('164.312(b) Audit controls');
    expect(r.text).toContain('Active members 1');
  });
});

describe('permissions', () => {
  it('each compliance route needs compliance:read, each executive route analytics:read', async () => {
    const ready = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports`),
      200,
    ).json().items[0];
    const exec = await generate(alpha, 'reports/executive', period);
    const routes: [string, string, unknown?][] = [
      ['POST', `${base(alpha)}/compliance-reports`, { framework: 'iso27001', ...period }],
      ['GET', `${base(alpha)}/compliance-reports`],
      ['GET', `${base(alpha)}/compliance-reports/${ready.id}`],
      ['GET', `${base(alpha)}/compliance-reports/${ready.id}/pdf`],
      ['POST', `${base(alpha)}/reports/executive`, { from: period.from, to: new Date().toISOString() }],
      ['GET', `${base(alpha)}/reports/executive`],
      ['GET', `${base(alpha)}/reports/executive/${exec.status.id}`],
      ['GET', `${base(alpha)}/reports/executive/${exec.status.id}/pdf`],
    ];
    for (const [method, url, payload] of routes) {
      const denied =
        method === 'POST'
          ? await as(t.app, developer).post(url, payload)
          : await as(t.app, developer).get(url);
      expect(denied.statusCode, `${method} ${url} as a developer`).toBe(403);
      expect(denied.json().code).toBe('permission_denied');
      const allowed =
        method === 'POST'
          ? await as(t.app, cyberoper).post(url, payload)
          : await as(t.app, cyberoper).get(url);
      expect(allowed.statusCode, `${method} ${url} as a cyberoper`).toBe(method === 'POST' ? 202 : 200);
    }
    expect((await t.app.inject({ method: 'GET', url: `${base(alpha)}/compliance-reports` })).statusCode).toBe(
      401,
    );
  });
});

describe('POST /orgs/:orgId/reports/executive', () => {
  it('is one page with the members by role, findings by severity, trend, time to resolve and quota use', async () => {
    const r = await generate(alpha, 'reports/executive', {
      from: new Date(Date.now() - 40 * DAY).toISOString(),
      to: new Date().toISOString(),
    });
    expect(await pdfPages(r.pdf)).toHaveLength(1);
    const [open] = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM findings WHERE org_id = ${alpha.orgId} AND status IN ('open', 'triaged')`,
    );
    const [used] = await rows<{ used: number }>(
      sql`SELECT coalesce(sum(tokens), 0)::int AS used FROM quota_ledger WHERE org_id = ${alpha.orgId}`,
    );
    expect(open!.n).toBe(3);
    expect(r.status.summary).toMatchObject({ members: 6, resolvedInPeriod: 0, meanHoursToResolve: null });
    expect(r.text).toContain('Executive summary');
    expect(r.text).toContain('Active members 6');
    expect(r.text).toMatch(/Open now 3: critical \d, high \d, medium \d, low \d/);
    const month = new Date().toISOString().slice(0, 7);
    expect(r.text).toMatch(new RegExp(`${month} 3 0 ${used!.used} 1000`));
    expect(r.text).toContain('No finding was resolved in the period');
    const recorded = await rows(
      sql`SELECT 1 FROM audit_events WHERE chain_id = ${alpha.orgId} AND action = 'report.generated'`,
    );
    expect(recorded.length).toBeGreaterThan(0);
  });
});

describe('the build job', () => {
  /** A report of Alpha's as a request writes it, without its job. */
  async function reportRow(framework: string, set?: string): Promise<{ id: string }> {
    const [row] = await rows<{ id: string }>(sql`
      INSERT INTO reports (org_id, kind, framework, period_from, period_to, requested_by)
      VALUES (${alpha.orgId}, 'compliance', ${framework}, ${period.from}, ${period.to}, ${alpha.owner.userId})
      RETURNING id`);
    if (set) await t.db.database.db.execute(sql`UPDATE reports SET ${sql.raw(set)} WHERE id = ${row!.id}`);
    return row!;
  }

  it('builds again from the start after a crash mid-build', async () => {
    // A worker took it and died: the report is left running, at some progress. (Written here,
    // without its job, so that no worker of this app takes it meanwhile.)
    const asked = await reportRow('iso27001', `status = 'running', summary = '{"progress": 40}'::jsonb`);
    const status = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/${asked.id}`),
      200,
    ).json();
    expect(status).toMatchObject({ status: 'running', progress: 40 });
    const { database, audit } = t.app.gatehouse;
    expect(await buildReport({ database, audit }, alpha.orgId, asked.id)).toBe(true);
    const done = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/${asked.id}`),
      200,
    ).json();
    expect(done).toMatchObject({ status: 'ready', progress: 100 });
    expect(
      await pdfText(expectStatus(await as(t.app, alpha.owner).get(done.downloadUrl), 200).rawPayload),
    ).toContain('A.5.15 Access control');
  });

  it('waits after a failed attempt and, once the attempts are spent, fails with the reason in words', async () => {
    const asked = await reportRow('gdpr');
    const { database, audit } = t.app.gatehouse;
    const broken = Object.create(audit, {
      verify: { value: () => Promise.reject(new Error('disk on fire')) },
    });
    const handler = reportHandler({ database, audit: broken }, () => {});
    await expect(
      handler.run({ reportId: asked.id }, { attempt: 1, orgId: alpha.orgId } as never, database.db),
    ).rejects.toThrow('disk on fire');
    const waiting = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/${asked.id}`),
      200,
    ).json();
    expect(waiting.status).toBe('pending');
    await expect(
      handler.run({ reportId: asked.id }, { attempt: 4, orgId: alpha.orgId } as never, database.db),
    ).rejects.toThrow();
    const failed = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/${asked.id}`),
      200,
    ).json();
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.error).toMatch(/could not be built/);
    const pdf = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/compliance-reports/${asked.id}/pdf`),
      409,
    );
    expect(pdf.json().code).toBe('report_not_ready');
  });
});
