import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus, TINY_PNG } from '../support/orgs.ts';

/**
 * Settings → Platform, Settings → Language and the setup checklist in a real browser: the owner
 * sets a weekly schedule and autonomous scanning (the Enterprise switch is marked and held off);
 * the org's language turned to Spanish is what a member without a language of their own reads,
 * dates in the org's order; the checklist ticks itself and an admin hides it.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Platform, Language and the setup checklist', () => {
  let h: ConsoleHarness;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
    base = h.base;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const settingsUrl = (orgId: string, page: string) => `${base}/orgs/${orgId}/settings/${page}`;

  it('the owner schedules weekly scans and turns on autonomous scanning', { timeout: 120_000 }, async () => {
    const org = await createOrg(t.app, { name: 'Platform Works', plan: 'pro' });
    const page = await h.pageAs(org.owner);
    await page.goto(settingsUrl(org.orgId, 'platform'));
    await page.getByRole('heading', { name: 'Platform configuration', level: 1 }).waitFor();
    // Deep AI enrichment is Enterprise's: marked, and its switch held off.
    await page.getByText('Part of the Enterprise plan. This organization is on the Scale plan.').waitFor();
    expect(await page.getByRole('switch', { name: /High-confidence AI analysis/ }).isDisabled()).toBe(true);

    await page.getByRole('main').getByRole('combobox', { name: 'Frequency' }).click();
    await page.getByRole('option', { name: 'Weekly' }).click();
    await page.getByRole('main').getByRole('combobox', { name: 'Day of the week' }).click();
    await page.getByRole('option', { name: 'Wednesday' }).click();
    await page.getByRole('main').getByRole('combobox', { name: 'Time', exact: true }).click();
    await page.getByRole('option', { name: '14:00' }).click();
    await page.getByRole('switch', { name: 'Autonomous scanning' }).check({ force: true });
    await page.getByRole('switch', { name: /Verify fixes with tests/ }).check({ force: true });
    await h.expectAccessible(page, 'platform page, edited');
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await expect
      .poll(() => page.getByTestId('notifications').textContent())
      .toContain('Platform configuration saved');
    await page.getByTestId('platform-next-scan').waitFor();
    const saved = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/settings/platform`),
      200,
    ).json();
    expect(saved).toMatchObject({
      scanSchedule: 'weekly',
      scanScheduleDay: 3,
      scanScheduleHour: 14,
      autonomousScanning: true,
      fixVerification: true,
      deepAiEnrichment: false,
    });
    expect(new Date(saved.nextScheduledScanAt).getUTCDay()).toBe(3);
    await h.shoot(page, 'platform-weekly');

    // A Developer has no settings:read: the page is not in their navigation.
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const devPage = await h.pageAs(dev);
    await devPage.goto(settingsUrl(org.orgId, 'team'));
    await devPage.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
    expect(
      await devPage
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Platform', exact: true })
        .count(),
    ).toBe(0);
  });

  it('the org turned to Spanish is what a member without a language of their own reads', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Idioma Works', plan: 'pro' });
    const viewer = await addMember(t.app, org, 'viewer', { name: 'Vera Viewer' }, t.mail);
    expect(expectStatus(await as(t.app, viewer).get('/api/v1/me'), 200).json().user.locale).toBeNull();

    const page = await h.pageAs(org.owner);
    await page.goto(settingsUrl(org.orgId, 'language'));
    await page.getByRole('heading', { name: 'Language and region', level: 1 }).waitFor();
    await page.getByRole('main').getByRole('combobox', { name: 'Language', exact: true }).click();
    await page.getByRole('listbox', { name: 'Language' }).getByRole('option', { name: 'Español' }).click();
    await page.getByRole('main').getByRole('combobox', { name: 'Date format' }).click();
    await page.getByRole('option', { name: /^Year-month-day/ }).click();
    await h.expectAccessible(page, 'language page, edited');
    await page.getByRole('button', { name: 'Save language settings' }).click();
    // The owner has no language of their own either: the console follows at once.
    await page.getByRole('heading', { name: 'Idioma y región', level: 1 }).waitFor();
    expect(
      expectStatus(
        await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/settings/localization`),
        200,
      ).json(),
    ).toEqual({ language: 'es', timezone: null, dateFormat: 'iso' });

    const viewerPage = await h.pageAs(viewer);
    await viewerPage.goto(settingsUrl(org.orgId, 'team'));
    await viewerPage.getByRole('heading', { name: 'Miembros', level: 1 }).waitFor();
    // Dates in the org's order: the joined column reads YYYY-MM-DD.
    const row = viewerPage.getByTestId(`member-${viewer.email}`);
    await expect.poll(async () => /\d{4}-\d{2}-\d{2}/.test((await row.textContent()) ?? '')).toBe(true);
    await h.expectAccessible(viewerPage, 'team page in the org language (Spanish)');
    await h.shoot(viewerPage, 'team-in-org-language');

    // A member who chose English keeps it.
    expectStatus(await as(t.app, viewer).patch('/api/v1/me', { locale: 'en' }), 200);
    const chosen = await h.pageAs(viewer);
    await chosen.goto(settingsUrl(org.orgId, 'team'));
    await chosen.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
  });

  it('the setup checklist ticks itself and an admin hides it', { timeout: 120_000 }, async () => {
    const org = await createOrg(t.app, { name: 'Checklist Works', plan: 'pro' });
    const page = await h.pageAs(org.owner);
    await page.goto(settingsUrl(org.orgId, 'team'));
    const checklist = page.getByTestId('setup-checklist');
    await checklist.getByRole('heading', { name: 'Set up your organization' }).waitFor();
    await checklist.getByText('0 of 7 steps done').waitFor();
    await h.expectAccessible(page, 'team page with the setup checklist');

    // Done elsewhere (the API): the list ticks them when read again.
    expectStatus(
      await t.app.inject({
        method: 'PUT',
        url: `/api/v1/orgs/${org.orgId}/logo`,
        headers: { cookie: org.owner.cookie, origin: 'http://localhost:3000', 'content-type': 'image/png' },
        payload: TINY_PNG,
      }),
      204,
    );
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, { description: 'Payments' }),
      200,
    );
    await page.reload();
    await checklist.getByText('2 of 7 steps done').waitFor();
    expect(await checklist.locator('[data-step="logo"]').getAttribute('data-done')).toBe('true');
    // A step left is a link to where it is done.
    await checklist.getByRole('link', { name: 'Create an API token' }).click();
    await page.waitForURL(/\/settings\/api-tokens$/);
    await page.goto(settingsUrl(org.orgId, 'team'));
    await checklist.getByRole('button', { name: 'Hide checklist' }).click();
    await expect.poll(() => checklist.count()).toBe(0);
    expect(
      expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/setup`), 200).json().dismissed,
    ).toBe(true);
  });
});
