import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';
import { pdfPagePng, pdfText } from '../support/pdf.ts';

/**
 * Settings → Reports in a real browser against a real server: the owner of a Scale organization
 * sees HIPAA and PCI DSS marked Enterprise and disabled, generates a SOC 2 report, watches it
 * become ready, downloads the PDF (its text holds the organization's member count) and looks at
 * its first page rendered; the executive summary likewise; a free organization is told which plan
 * reports need; a Developer has no Reports entry; the page in Spanish. axe finds nothing serious.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Reports', () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const pageUrl = (orgId: string) => `${h.base}/orgs/${orgId}/settings/reports`;
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000 });

  /** Shows a PDF's first page, rendered by pdftoppm, in the browser and screenshots it. */
  async function showFirstPage(bytes: Buffer, name: string): Promise<void> {
    const png = await pdfPagePng(bytes, 1, 80);
    const view = await h.newPage();
    await view.setContent(
      `<!doctype html><html lang="en"><title>${name}</title><body style="margin:0;background:#ddd">` +
        `<main><img alt="Page 1 of the report" style="display:block;margin:8px auto;box-shadow:0 0 6px #888" src="data:image/png;base64,${png.toString('base64')}"></main></body></html>`,
    );
    await view.getByRole('img', { name: 'Page 1 of the report' }).waitFor();
    const width = await view
      .locator('img')
      .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    expect(width).toBeGreaterThan(500);
    await h.shoot(view, name);
    await view.close();
  }

  it('the owner generates a SOC 2 report and the executive summary, and downloads both as PDF', {
    timeout: 240_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Ledger Labs', plan: 'pro' });
    await addMember(h.t.app, org, 'developer', { name: 'Dee Veloper' }, h.t.mail);
    await addMember(h.t.app, org, 'viewer', { name: 'Vi Ewer' }, h.t.mail);
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    await poll(() =>
      page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Reports', exact: true })
        .count(),
    ).toBe(1);
    const compliance = page.getByTestId('reports-compliance');
    const framework = compliance.getByRole('combobox', { name: 'Framework' });
    await framework.waitFor();
    expect(await framework.locator('option[value="hipaa"]').textContent()).toBe('HIPAA (Enterprise)');
    expect(await framework.locator('option[value="hipaa"]').isDisabled()).toBe(true);
    expect(await framework.locator('option[value="pci_dss"]').isDisabled()).toBe(true);
    expect(await framework.locator('option[value="gdpr"]').isDisabled()).toBe(false);
    await compliance.getByText('HIPAA and PCI DSS need the Enterprise plan.').waitFor();
    await h.expectAccessible(page, 'reports page');
    await h.shoot(page, 'reports');

    await compliance.getByRole('button', { name: 'Generate compliance report' }).click();
    await poll(() => page.getByTestId('notifications').textContent()).toContain(
      'The report is being generated.',
    );
    const row = compliance.locator('tr[data-report-id]');
    await poll(() => row.getAttribute('data-status')).toBe('ready');
    await row.getByText('Ready').waitFor();
    await row.getByText('SOC 2 Type II').waitFor();
    await h.expectAccessible(page, 'reports page, a compliance report ready');
    await h.shoot(page, 'reports-compliance-ready');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: /^Download PDF of the report for / }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^gatehouse-soc2-report-.*\.pdf$/);
    const pdf = fs.readFileSync((await download.path())!);
    const text = await pdfText(pdf);
    expect(text).toContain('SOC 2 Type II compliance report');
    expect(text).toContain('Active members 3');
    expect(text).toContain('Controls: CC6.1');
    await showFirstPage(pdf, 'reports-compliance-pdf-page-1');

    const executive = page.getByTestId('reports-executive');
    await executive.getByRole('button', { name: 'Generate executive summary' }).click();
    const execRow = executive.locator('tr[data-report-id]');
    await poll(() => execRow.getAttribute('data-status')).toBe('ready');
    const [execDownload] = await Promise.all([
      page.waitForEvent('download'),
      execRow.getByRole('link', { name: /^Download PDF of the report for / }).click(),
    ]);
    expect(execDownload.suggestedFilename()).toMatch(/^gatehouse-executive-summary-.*\.pdf$/);
    const execPdf = fs.readFileSync((await execDownload.path())!);
    expect(await pdfText(execPdf)).toContain('Active members 3');
    await showFirstPage(execPdf, 'reports-executive-pdf-page-1');
  });

  it('a free organization is told the plan reports need; a Developer has no Reports entry', {
    timeout: 180_000,
  }, async () => {
    const free = await createOrg(h.t.app, { name: 'Free Folk', plan: 'free' });
    const page = await h.pageAs(free.owner);
    await page.goto(pageUrl(free.orgId));
    await page.getByText('Compliance reports and the executive summary need the Scale plan').waitFor();
    expect(await page.getByRole('button', { name: 'Generate compliance report' }).isDisabled()).toBe(true);
    await h.expectAccessible(page, 'reports page on the free plan');
    await h.shoot(page, 'reports-free-plan');

    const org = await createOrg(h.t.app, { name: 'Dev Shop', plan: 'pro' });
    const developer = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const devPage = await h.pageAs(developer);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = devPage.getByRole('navigation', { name: 'Settings' });
    await nav.getByRole('link', { name: 'Team', exact: true }).waitFor();
    expect(await nav.getByRole('link', { name: 'Reports', exact: true }).count()).toBe(0);
    await devPage.goto(pageUrl(org.orgId));
    await devPage.getByText('Compliance reports need the compliance:read permission.').waitFor();
    await devPage.getByText('The executive summary needs the analytics:read permission.').waitFor();
    expect(await devPage.getByRole('button', { name: 'Generate compliance report' }).count()).toBe(0);
  });

  it('in Spanish', { timeout: 180_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Informes SL', plan: 'enterprise' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/compliance-reports`, {
        framework: 'hipaa',
        from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
        to: new Date().toISOString(),
      }),
      202,
    );
    await h.t.drainOutbox({ kind: 'report.build' });
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Informes', level: 1 }).waitFor();
    const framework = page.getByTestId('reports-compliance').getByRole('combobox', { name: 'Marco' });
    expect(await framework.locator('option[value="hipaa"]').isDisabled()).toBe(false);
    await page.locator('tr[data-status="ready"]').getByText('Listo').waitFor();
    await page.getByRole('button', { name: 'Generar resumen ejecutivo' }).waitFor();
    await h.expectAccessible(page, 'reports page in Spanish');
    await h.shoot(page, 'reports-es');
  });
});
