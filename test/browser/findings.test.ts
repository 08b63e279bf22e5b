import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { seedApplication, seedFindings } from '../support/findings.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Findings in a real browser against a real server: the list filtered by severity and searched,
 * the filters kept in the address (a link reproduces the view), a finding opened, its status and
 * assignee changed, a comment added and a remediation proposed; a Viewer sees the page read-only.
 */
describe.skipIf(!HAS_CHROMIUM)('the Findings pages in a browser', () => {
  let h: ConsoleHarness;
  let t: TestApp;

  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

  it('filter, search, open a finding, triage it, comment and propose a fix', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    const viewer = await addMember(t.app, org, 'viewer', { name: 'Vic Viewer' }, t.mail);
    // The findings arrive as a CI pipeline sends them: a SARIF log uploaded through the API.
    const owner = as(t.app, org.owner);
    const app = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'payments' }),
      201,
    ).json().id;
    const seen = [
      { title: 'SQL injection in login', ruleId: 'py.sqli', path: 'src/login.py', score: '9.8' },
      { title: 'Hard-coded secret', ruleId: 'secrets.aws', path: 'config/prod.env', score: '7.5' },
      { title: 'Verbose errors', ruleId: 'js.errors', path: 'web/app.js', score: '2.0' },
      { title: 'Open redirect', ruleId: 'js.redirect', path: 'web/redirect.js', score: '5.4' },
    ];
    const sarif = {
      version: '2.1.0',
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      runs: [
        {
          tool: {
            driver: {
              name: 'Semgrep OSS',
              rules: seen.map((f) => ({
                id: f.ruleId,
                shortDescription: { text: f.title },
                properties: { 'security-severity': f.score },
              })),
            },
          },
          results: seen.map((f) => ({
            ruleId: f.ruleId,
            message: { text: `${f.title} found` },
            locations: [
              { physicalLocation: { artifactLocation: { uri: f.path }, region: { startLine: 3 } } },
            ],
          })),
        },
      ],
    };
    expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/scans`, { applicationId: app, modules: ['sast'], sarif }),
      201,
    );
    const listed = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/findings`), 200).json().items as {
      id: string;
      title: string;
    }[];
    const idOf = (title: string) => listed.find((f) => f.title === title)!.id;
    const [sqli, secret, redirect] = ['SQL injection in login', 'Hard-coded secret', 'Open redirect'].map(
      idOf,
    );

    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Findings' }).click();
    await poll(() => page.getByRole('heading', { name: 'Findings', level: 1 }).count()).toBe(1);
    const table = page.getByTestId('findings-table');
    await poll(() => table.getByRole('link').count()).toBe(4);
    await h.expectAccessible(page, 'findings list');
    await h.shoot(page, 'findings-01-list');

    // Severity filter: kept in the address.
    for (const name of ['Critical', 'High']) {
      await page.getByRole('checkbox', { name }).click();
      await poll(() => page.getByRole('checkbox', { name }).isChecked()).toBe(true);
    }
    await poll(() => table.getByRole('link').count()).toBe(2);
    await poll(() => new URL(page.url()).searchParams.get('severity')).toBe('critical,high');
    // Search, on top of it.
    await page.getByLabel('Search title, rule or path').fill('SECRETS.');
    await page.getByRole('button', { name: 'Search' }).click();
    await poll(() => table.getByRole('link').allTextContents()).toEqual(['Hard-coded secret']);
    const link = page.url();
    expect(new URL(link).searchParams.get('q')).toBe('SECRETS.');

    // The link reproduces the view in another browser.
    const again = await h.pageAs(org.owner);
    await again.goto(link);
    await poll(() => again.getByTestId('findings-table').getByRole('link').allTextContents()).toEqual([
      'Hard-coded secret',
    ]);
    expect(await again.getByRole('checkbox', { name: 'Critical' }).isChecked()).toBe(true);
    expect(await again.getByLabel('Search title, rule or path').inputValue()).toBe('SECRETS.');
    await again.close();

    // Clear, filter by assignee (nobody assigned yet: all of them are unassigned).
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await poll(() => table.getByRole('link').count()).toBe(4);
    await page.getByLabel('Assignee').selectOption({ label: `Dee Dev <${dev.email}>` });
    await poll(() => page.getByText('No findings match these filters.').count()).toBe(1);
    await page.getByLabel('Assignee').selectOption({ label: 'Anyone' });

    // Open one; change its status and assignee.
    await table.getByRole('link', { name: 'SQL injection in login' }).click();
    await poll(() => page.getByRole('heading', { name: 'SQL injection in login', level: 1 }).count()).toBe(1);
    await h.expectAccessible(page, 'finding detail (owner)');
    const triage = page.getByRole('region', { name: 'Triage' });
    await triage.getByLabel('Status').selectOption({ label: 'False positive' });
    await triage.getByLabel('Assignee').selectOption({ label: `Dee Dev <${dev.email}>` });
    await triage.getByRole('button', { name: 'Save' }).click();
    await poll(() => page.getByTestId('finding-status').textContent()).toBe('False positive');
    const stored = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/findings/${sqli}`),
      200,
    ).json();
    expect(stored).toMatchObject({ status: 'false_positive', assigneeId: dev.userId });

    // A comment.
    const comments = page.getByRole('region', { name: 'Comments' });
    await comments.getByLabel('Comment', { exact: true }).fill('  Parameterised in #42  ');
    await comments.getByRole('button', { name: 'Add comment' }).click();
    await poll(() => comments.getByRole('listitem').allTextContents()).toEqual([
      expect.stringContaining('Parameterised in #42'),
    ]);
    expect(await comments.getByRole('listitem').textContent()).toContain('Olivia Owner');

    // A remediation, proposed and approved.
    const fixes = page.getByRole('region', { name: 'Remediations' });
    await fixes.getByLabel('Summary').fill('Use bound parameters');
    await fixes.getByRole('button', { name: 'Propose remediation' }).click();
    await poll(() => fixes.getByText('Proposed').count()).toBe(1);
    await fixes.getByRole('button', { name: 'Approve “Use bound parameters”' }).click();
    await poll(() => fixes.getByText('Approved').count()).toBe(1);
    await h.expectAccessible(page, 'finding detail after triage');
    await h.shoot(page, 'findings-02-detail');

    // Back in the list, the assignee filter finds it now.
    await page.getByRole('link', { name: 'All findings' }).click();
    await poll(() => table.getByRole('link').count()).toBe(4);
    await page.getByLabel('Assignee').selectOption({ label: `Dee Dev <${dev.email}>` });
    await poll(() => new URL(page.url()).searchParams.get('assigneeId')).toBe(dev.userId);
    await poll(() => table.getByRole('link').allTextContents()).toEqual(['SQL injection in login']);

    // A Developer may triage but not approve; a Viewer reads only, without false positive.
    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/findings/${secret}`);
    await poll(() => devPage.getByRole('heading', { name: 'Hard-coded secret', level: 1 }).count()).toBe(1);
    expect(await devPage.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
    expect(await devPage.getByRole('button', { name: 'Propose remediation' }).count()).toBe(1);
    await devPage.close();

    const viewerPage = await h.pageAs(viewer);
    await viewerPage.goto(`${h.base}/orgs/${org.orgId}/settings/findings/${redirect}`);
    await poll(() => viewerPage.getByRole('heading', { name: 'Open redirect', level: 1 }).count()).toBe(1);
    const viewerTriage = viewerPage.getByRole('region', { name: 'Triage' });
    expect(await viewerTriage.getByLabel('Status').isDisabled()).toBe(true);
    expect(await viewerTriage.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await viewerTriage.getByRole('option', { name: 'False positive' }).count()).toBe(0);
    expect(await viewerPage.getByLabel('Comment', { exact: true }).count()).toBe(0);
    await h.expectAccessible(viewerPage, 'finding detail (viewer)');
    await viewerPage.close();
    await page.close();
  });

  it('speaks Spanish', { timeout: 120_000 }, async () => {
    const org = await createOrg(t.app);
    expectStatus(await as(t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    const app = await seedApplication(t.app, org.orgId);
    await seedFindings(t.app, org.orgId, app, [{ severity: 'high', title: 'Secreto expuesto' }]);
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/findings`);
    await poll(() => page.getByRole('heading', { name: 'Hallazgos', level: 1 }).count()).toBe(1);
    await poll(() => page.getByTestId('findings-table').getByText('Alta').count()).toBe(1);
    expect(await page.getByRole('checkbox', { name: 'Crítica' }).count()).toBe(1);
    await h.expectAccessible(page, 'findings list (es)');
    await page.close();
  });
});
