import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → Data & Privacy in a real browser against a real server: the owner shortens scan
 * retention (a value out of range refused in words first), asks for an export, watches it become
 * ready and downloads the zip; the deletion section says how long deleted data is kept and leads
 * to the danger zone; an Admin sees the retention but cannot export; a member with settings:read
 * only sees the retention read-only; the page in Spanish. axe finds nothing serious on any of it.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Data & Privacy', () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const pageUrl = (orgId: string) => `${h.base}/orgs/${orgId}/settings/data-privacy`;
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000 });

  it('the owner changes the retention, exports the organization’s data and downloads the zip', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Archive Works' });
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Data & Privacy', level: 1 }).waitFor();
    await poll(() =>
      page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Data & Privacy', exact: true })
        .count(),
    ).toBe(1);

    const days = page.getByRole('textbox', { name: 'Keep scan results for (days)' });
    await poll(() => days.inputValue()).toBe('365');
    await days.fill('29');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Enter a whole number of days from 30 to 730.').waitFor();
    await days.fill('90');
    await page.getByText('About 3 months').waitFor();
    await page.getByRole('button', { name: 'Save retention' }).click();
    await poll(() => page.getByTestId('notifications').textContent()).toContain(
      'Scan retention saved: 90 days.',
    );
    expect(
      expectStatus(await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/settings/data`), 200).json(),
    ).toMatchObject({ scanRetentionDays: 90 });

    // Deleting: kept 30 days, and the way to the danger zone.
    await page.getByTestId('data-deletion').getByText('Its data is then kept for 30 days').waitFor();
    await h.expectAccessible(page, 'data & privacy page');

    await page.getByRole('button', { name: 'Export all data' }).click();
    await poll(() => page.getByTestId('notifications').textContent()).toContain(
      'The export is being prepared.',
    );
    const row = page.locator('tr[data-export-id]');
    await poll(() => row.getAttribute('data-status')).toBe('ready');
    await row.getByText('Ready').waitFor();
    await h.expectAccessible(page, 'data & privacy page, an export ready');
    await h.shoot(page, 'data-privacy-export-ready');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: /^Download the export of / }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^gatehouse-export-.*\.zip$/);
    const bytes = fs.readFileSync((await download.path())!);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    expect(bytes.length).toBeGreaterThan(500);

    await page.getByRole('link', { name: 'Go to the danger zone' }).click();
    await page.waitForURL(/\/settings\/profile#danger-zone$/);
    await page.getByRole('heading', { name: 'Danger zone' }).waitFor();
  });

  it('an Admin sees the retention but not the export; a member with settings:read only, all read-only', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Readers Inc' });
    const admin = await addMember(h.t.app, org, 'admin', {}, h.t.mail);
    const page = await h.pageAs(admin);
    await page.goto(pageUrl(org.orgId));
    await page
      .getByText('Exporting the organization’s data needs the org:export permission (the Owner has it).')
      .waitFor();
    expect(await page.getByRole('button', { name: 'Export all data' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Save retention' }).count()).toBe(1);
    await page.getByText('Only the organization’s Owner can delete it.').waitFor();
    await h.expectAccessible(page, 'data & privacy page as an Admin');

    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'reader',
        name: 'Reader',
        permissions: ['settings:read', 'members:read'],
      }),
      201,
    );
    const reader = await addMember(h.t.app, org, 'reader', {}, h.t.mail);
    const readOnly = await h.pageAs(reader);
    await readOnly.goto(pageUrl(org.orgId));
    await readOnly.getByText('You can view this setting.', { exact: false }).waitFor();
    const days = readOnly.getByRole('textbox', { name: 'Keep scan results for (days)' });
    expect(await days.getAttribute('readonly')).not.toBeNull();
    expect(await readOnly.getByRole('button', { name: 'Save retention' }).count()).toBe(0);
    await h.expectAccessible(readOnly, 'data & privacy page, read-only');
  });

  it('in Spanish', { timeout: 180_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Archivo SL' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/exports`), 202);
    await h.t.drainOutbox({ kind: 'org.export' });
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Datos y privacidad', level: 1 }).waitFor();
    await page.getByRole('textbox', { name: 'Conservar los resultados de análisis (días)' }).waitFor();
    await page.getByText('Alrededor de 1 año').waitFor();
    await page.getByRole('button', { name: 'Exportar todos los datos' }).waitFor();
    await page.locator('tr[data-status="ready"]').getByText('Lista').waitFor();
    await page.getByText('Después sus datos se conservan 30 días', { exact: false }).waitFor();
    await h.expectAccessible(page, 'data & privacy page in Spanish');
    await h.shoot(page, 'data-privacy-es');
  });
});
