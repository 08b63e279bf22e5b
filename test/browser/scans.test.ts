import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { queryRows } from '../support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

const FIXTURE = 'test/fixtures/sarif/codeql.sarif';

/**
 * Organization → Applications and Scans in a real browser against a real server: an Owner adds
 * an application on the page, uploads a SARIF file through the New scan dialog, reads the scan's
 * counts and policy result, and the list filtered by application from the address; a SARIF file
 * that is not SARIF 2.1.0 is refused with where it is wrong; a Viewer sees no create or delete
 * controls; axe finds no serious or critical violations on the three pages.
 */
describe.skipIf(!HAS_CHROMIUM)('the Applications and Scans pages in a browser', () => {
  let h: ConsoleHarness;
  let t: TestApp;

  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  // Writes go through a real server on a shared machine: give each wait more than a second.
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
  const heading = (page: Page, name: string | RegExp) =>
    poll(() => page.getByRole('heading', { name, level: 1 }).count()).toBe(1);

  it('owner: adds an application, uploads a SARIF file as a scan, reads its counts, policy and findings', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Scan Works', plan: 'pro' });
    // A policy every application answers to: the fixture's one critical finding fails it.
    await queryRows(
      t.db.database.db,
      sql`INSERT INTO policies (org_id, name, fail_on) VALUES (${org.orgId}, 'No criticals', 'critical')`,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/applications`);
    await heading(page, 'Applications');
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Scans' }).waitFor();

    // Add: a bad repository URL is said beside its field, in words; then the application is added.
    await page.getByRole('button', { name: 'Add application' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an application' });
    await dialog.getByLabel('Name').fill('web-frontend');
    await dialog.getByLabel('Repository URL').fill('ftp://example.test/repo');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await poll(() =>
      dialog.getByText('Enter an http or https address without a user name or password.').count(),
    ).toBe(1);
    await h.expectAccessible(page, 'application dialog with a field error');
    await dialog.getByLabel('Repository URL').fill('https://github.com/acme/web-frontend');
    await dialog.getByLabel('Description').fill('The customer web app');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await poll(() => dialog.count()).toBe(0);
    const row = page.getByTestId('application-web-frontend');
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('https://github.com/acme/web-frontend');
    expect(await row.textContent()).toContain('The customer web app');
    const apps = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/applications`),
      200,
    ).json().items as Array<{ id: string; name: string }>;
    const appId = apps.find((a) => a.name === 'web-frontend')!.id;

    // A second application with the same name: the dialog says so beside the name.
    await page.getByRole('button', { name: 'Add application' }).click();
    await dialog.getByLabel('Name').fill('WEB-frontend');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await poll(() => dialog.getByText('An application with this name already exists.').count()).toBe(1);
    await page.keyboard.press('Escape');
    await h.expectAccessible(page, 'applications page (owner)');
    await h.shoot(page, 'scans-01-applications');

    // To its scans, through the row's link: the list is filtered by the application in the address.
    await row.getByRole('link', { name: 'Scans of web-frontend' }).click();
    await page.waitForURL(new RegExp(`/settings/scans\\?applicationId=${appId}$`));
    await heading(page, 'Scans');
    await poll(() => page.getByText('No scans match.').count()).toBe(1);

    // New scan: the modules with their token costs (from GET /plans, when this server has it).
    await page.getByRole('button', { name: 'New scan' }).click();
    const scanDialog = page.getByRole('dialog', { name: 'New scan' });
    expect(await scanDialog.getByLabel('Application').inputValue()).toBe(appId);
    const plans = await t.app.inject({ method: 'GET', url: '/api/v1/plans' });
    if (plans.statusCode === 200) {
      const costs = plans.json().moduleCosts as Record<string, number>;
      await poll(() => scanDialog.getByLabel(`Code (SAST) — ${costs.sast} tokens`).count()).toBe(1);
      await scanDialog.getByLabel(/^Secrets — /).check();
      await poll(() => scanDialog.getByTestId('scan-total').textContent()).toBe(
        `Total: ${costs.sast! + costs.secrets!} tokens from this month’s pool`,
      );
    } else {
      await poll(() => scanDialog.getByText(/token cost of each module could not be read/).count()).toBe(1);
      await scanDialog.getByLabel('Secrets').check();
    }

    // A file that is JSON but not SARIF 2.1.0: refused, with where in the file it is wrong.
    const file = scanDialog.getByLabel('SARIF file (optional)');
    await file.setInputFiles({
      name: 'broken.sarif',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ version: '2.1.0', runs: [{ results: [] }] })),
    });
    await scanDialog.getByRole('button', { name: 'Create scan' }).click();
    await poll(() => scanDialog.getByText('The SARIF file is not valid').count()).toBe(1);
    expect(await scanDialog.getByTestId('sarif-errors').textContent()).toContain('/runs/0');
    await h.expectAccessible(page, 'new scan dialog with an invalid SARIF file');
    await h.shoot(page, 'scans-02-invalid-sarif');

    // Not JSON at all: said before anything is sent.
    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await scanDialog.getByRole('button', { name: 'Create scan' }).click();
    await poll(() =>
      scanDialog.getByText('This file is not JSON, so it cannot be a SARIF log.').count(),
    ).toBe(1);

    // The real log: the scan is created and its page opens.
    await file.setInputFiles(FIXTURE);
    await poll(() => scanDialog.getByText(/^codeql\.sarif, /).count()).toBe(1);
    await scanDialog.getByRole('button', { name: 'Create scan' }).click();
    await page.waitForURL(/\/settings\/scans\/[0-9a-f-]{36}$/);
    const scanId = page.url().split('/').pop()!;
    await heading(page, 'Scan of web-frontend');
    const counts = page.getByTestId('scan-counts');
    await poll(() => counts.textContent()).toBe('SeverityFindingsCritical1High1Medium1Low1Findings4');
    const summary = page.getByTestId('scan-summary');
    expect(await summary.textContent()).toContain('Code (SAST), Secrets');
    expect(await summary.textContent()).toContain('Failed');
    const stored = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scans/${scanId}`),
      200,
    ).json();
    expect(await summary.textContent()).toContain(`Tokens${stored.tokens}`);
    // The policy that failed, by name, with its threshold and how many findings fail it.
    const violation = page.getByTestId('violation-No criticals');
    await poll(() => violation.textContent()).toBe('No criticalsCritical or worse1 finding');
    // The scan's findings, most severe first, each a link to its own page.
    const findings = page.getByTestId('scan-findings').getByRole('link');
    await poll(() => findings.count()).toBe(4);
    const first = await findings.first().getAttribute('href');
    expect(first).toMatch(new RegExp(`^/orgs/${org.orgId}/settings/findings/[0-9a-f-]{36}$`));
    // Downloads: the SARIF log as uploaded, CSV and JSON.
    for (const format of ['SARIF', 'CSV', 'JSON']) {
      expect(await page.getByRole('link', { name: `Download ${format}` }).getAttribute('href')).toBe(
        `/api/v1/orgs/${org.orgId}/scans/${scanId}/export?format=${format.toLowerCase()}`,
      );
    }
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV' }).click();
    expect((await download).suggestedFilename()).toBe(`gatehouse-scan-${scanId}.csv`);
    await h.expectAccessible(page, 'scan detail page (owner)');
    await h.shoot(page, 'scans-03-detail');

    // The list, filtered by the application through the address alone.
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/scans?applicationId=${appId}`);
    await heading(page, 'Scans');
    const listed = page.getByTestId(`scan-${scanId}`);
    await poll(() => listed.count()).toBe(1);
    expect(await listed.textContent()).toContain('Failed');
    expect(await listed.getByRole('img').getAttribute('aria-label')).toBe(
      '1 critical, 1 high, 1 medium, 1 low',
    );
    expect(await page.getByLabel('Application').inputValue()).toBe(appId);
    await h.expectAccessible(page, 'scans page (owner)');
    await h.shoot(page, 'scans-04-list');
    // Another status: nothing matches, and the filter is in the address.
    await page.getByLabel('Status').selectOption('pending');
    await page.waitForURL(/status=pending/);
    await poll(() => page.getByText('No scans match.').count()).toBe(1);

    // Delete the scan from its page: it leaves the list.
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/scans/${scanId}`);
    await heading(page, 'Scan of web-frontend');
    await page.getByRole('button', { name: 'Delete scan' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this scan of web-frontend?' });
    expect(await confirm.textContent()).toContain('Its findings stay with the application');
    await confirm.getByRole('button', { name: 'Delete scan' }).click();
    await page.waitForURL(/\/settings\/scans$/);
    expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scans/${scanId}`), 404);

    // Delete the application: the confirmation names what goes with it.
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/applications`);
    await page.getByRole('button', { name: 'Delete web-frontend' }).click();
    const confirmApp = page.getByRole('dialog', { name: 'Delete application: web-frontend' });
    expect(await confirmApp.textContent()).toContain('Its scans and their findings');
    await confirmApp.getByRole('button', { name: 'Delete application' }).click();
    await poll(() => page.getByTestId('application-web-frontend').count()).toBe(0);
    expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/applications/${appId}`), 404);
  });

  it('viewer: reads applications, scans and a scan, with no create, edit or delete controls', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Read Only Co', plan: 'pro' });
    const app = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'api-gateway' }),
      201,
    ).json();
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId: app.id,
        modules: ['sast'],
        sarif: JSON.parse(fs.readFileSync(FIXTURE, 'utf8')),
      }),
      201,
    ).json();
    const viewer = await addMember(t.app, org, 'viewer', { name: 'Vera Viewer' }, t.mail);
    const page = await h.pageAs(viewer);

    await page.goto(`${h.base}/orgs/${org.orgId}/settings/applications`);
    await heading(page, 'Applications');
    await poll(() => page.getByTestId('application-api-gateway').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Add application' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Edit|Delete) api-gateway$/ }).count()).toBe(0);
    expect(
      await page.getByText(/Adding and editing them needs the applications:manage permission/).count(),
    ).toBe(1);
    await h.expectAccessible(page, 'applications page (viewer)');

    await page.goto(`${h.base}/orgs/${org.orgId}/settings/scans`);
    await heading(page, 'Scans');
    await poll(() => page.getByTestId(`scan-${scan.id}`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'New scan' }).count()).toBe(0);
    expect(await page.getByText('Creating scans needs the scans:create permission.').count()).toBe(1);
    await h.expectAccessible(page, 'scans page (viewer)');

    await page.getByRole('link', { name: /^Scan of api-gateway, / }).click();
    await heading(page, 'Scan of api-gateway');
    await poll(() => page.getByTestId('scan-findings').getByRole('link').count()).toBe(4);
    expect(await page.getByRole('button', { name: 'Delete scan' }).count()).toBe(0);
    // Viewers may export (scans:export is everyone's): the downloads are there.
    expect(await page.getByRole('link', { name: 'Download JSON' }).count()).toBe(1);
    await h.expectAccessible(page, 'scan detail page (viewer)');
    await h.shoot(page, 'scans-05-viewer-detail');
  });
});
