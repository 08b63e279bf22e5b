import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewDueSubscriptions } from '../../src/server/modules/billing/index.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';
import { expectPdfBytes, pdfPagePng, pdfText } from '../support/pdf.ts';

/**
 * Settings → Invoices in a real browser against a real server: the owner pages through the
 * invoices the renewal job issued (Load more), finds one by its number and by issue date (kept in
 * the address), downloads its PDF (shown rendered, page 1); an org without invoices says so; an
 * Admin (no billing:read) has no Invoices entry and the API refuses them; the page in Spanish.
 * axe finds nothing serious on any of it.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Invoices', () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await openConsole({
      config: { billing: { sellerLines: ['Gatehouse Demo Ltd', '1 Loopback Road'] } },
    });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const pageUrl = (orgId: string, query = '') => `${h.base}/orgs/${orgId}/settings/invoices${query}`;
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000 });

  /** An org on `plan` whose monthly subscription ended `months` months ago: that many invoices. */
  async function orgWithInvoices(name: string, months: number) {
    // Created on Free and moved in the database: a paid plan's start would issue an invoice of its own.
    const org = await createOrg(h.t.app, { name, plan: 'free' });
    await h.t.db.database.db.execute(sql`UPDATE organizations SET plan = 'pro' WHERE id = ${org.orgId}`);
    const end = new Date();
    end.setUTCMonth(end.getUTCMonth() - months);
    end.setUTCDate(Math.min(end.getUTCDate(), 28));
    await h.t.db.database.db.execute(sql`
      INSERT INTO subscriptions (org_id, cycle, period_start, period_end)
      VALUES (${org.orgId}, 'monthly', ${new Date(end.getTime() - 30 * 86_400_000).toISOString()}::timestamptz,
              ${end.toISOString()}::timestamptz)`);
    await renewDueSubscriptions(h.t.app);
    return org;
  }

  it('the owner pages through the invoices, searches them, filters by date and downloads a PDF', {
    timeout: 180_000,
  }, async () => {
    const org = await orgWithInvoices('Ledger Works', 27);
    const all = expectStatus(
      await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/billing/invoices?limit=200`),
      200,
    ).json().items as Array<{ displayNumber: string; total: number }>;
    expect(all.length).toBeGreaterThanOrEqual(27);

    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Invoices', level: 1 }).waitFor();
    await poll(() =>
      page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Invoices', exact: true })
        .count(),
    ).toBe(1);
    const rows = page.getByTestId('invoice-row');
    await poll(() => rows.count()).toBe(25);
    await page.getByRole('table').getByText(all[0]!.displayNumber, { exact: true }).waitFor();
    await h.expectAccessible(page, 'invoices page');
    await h.shoot(page, 'invoices');
    await page.getByRole('button', { name: 'Load more' }).click();
    await poll(() => rows.count()).toBe(all.length);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    // Search by number, as typed in any spelling; kept in the address.
    const target = all[3]!;
    const search = page.getByRole('textbox', { name: 'Search' });
    await search.fill(String(Number(target.displayNumber.slice(4))));
    await poll(() => rows.count()).toBe(1);
    await rows.getByText(target.displayNumber, { exact: true }).waitFor();
    expect(new URL(page.url()).searchParams.get('q')).toBe(String(Number(target.displayNumber.slice(4))));
    await h.shoot(page, 'invoices-search');

    // The PDF: downloaded as INV-….pdf, a PDF holding its number and total.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      rows.getByRole('link', { name: `PDF of ${target.displayNumber}` }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${target.displayNumber}.pdf`);
    const bytes = fs.readFileSync((await download.path())!);
    expectPdfBytes(bytes);
    const text = await pdfText(bytes);
    expect(text).toContain(target.displayNumber);
    expect(text).toContain(`Total due $${(target.total / 100).toFixed(2)}`);

    // A date range with no invoice in it (all were issued today), from the address.
    await page.goto(pageUrl(org.orgId, '?from=2020-01-01&to=2020-12-31'));
    await page.getByTestId('invoices-empty').getByText('No invoice matches these filters.').waitFor();
    expect(await page.getByRole('textbox', { name: 'Issued from' }).inputValue()).toBe('2020-01-01');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await poll(() => rows.count()).toBe(25);
    await h.expectAccessible(page, 'invoices page after filtering');

    // The PDF's first page, rendered, as a reader sees it.
    const png = await pdfPagePng(bytes, 1, 80);
    const viewer = await h.newPage();
    await viewer.setContent(
      `<!doctype html><html lang="en"><head><title>${target.displayNumber}</title></head><body style="margin:0;background:#ddd"><main><img alt="Invoice ${target.displayNumber}, page 1" src="data:image/png;base64,${png.toString('base64')}" style="display:block;margin:16px auto;box-shadow:0 0 8px #888"></main></body></html>`,
    );
    await viewer.getByRole('img', { name: `Invoice ${target.displayNumber}, page 1` }).waitFor();
    await h.shoot(viewer, 'invoices-pdf-page-1');
  });

  it('an org without invoices says so; an Admin has no Invoices entry and the API refuses them', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Fresh Start', plan: 'free' });
    await h.t.db.database.db.execute(sql`UPDATE organizations SET plan = 'pro' WHERE id = ${org.orgId}`);
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByText('No invoices yet.', { exact: false }).waitFor();
    await h.expectAccessible(page, 'invoices page, empty');
    await h.shoot(page, 'invoices-empty');

    const admin = await addMember(h.t.app, org, 'admin', {}, h.t.mail);
    expect(
      expectStatus(await as(h.t.app, admin).get(`/api/v1/orgs/${org.orgId}/billing/invoices`), 403).json()
        .code,
    ).toBe('permission_denied');
    const adminPage = await h.pageAs(admin);
    await adminPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = adminPage.getByRole('navigation', { name: 'Settings' });
    await nav.getByRole('link', { name: 'Team', exact: true }).waitFor();
    expect(await nav.getByRole('link', { name: 'Invoices', exact: true }).count()).toBe(0);
    await adminPage.goto(pageUrl(org.orgId));
    await adminPage
      .getByText('Seeing the invoices needs the billing:read permission', { exact: false })
      .waitFor();
    await h.expectAccessible(adminPage, 'invoices page without billing:read');
  });

  it('in Spanish', { timeout: 180_000 }, async () => {
    const org = await orgWithInvoices('Facturas SL', 2);
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Facturas', level: 1 }).waitFor();
    const count = expectStatus(
      await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/billing/invoices`),
      200,
    ).json().items.length;
    expect(count).toBeGreaterThanOrEqual(2);
    await poll(() => page.getByTestId('invoice-row').count()).toBe(count);
    await page.getByRole('columnheader', { name: 'Número' }).waitFor();
    await page.getByText('Pendiente').first().waitFor();
    await page.getByText('Renovación', { exact: false }).first().waitFor();
    await h.expectAccessible(page, 'invoices page in Spanish');
    await h.shoot(page, 'invoices-es');
  });
});
