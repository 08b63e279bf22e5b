import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthOf } from '../../src/server/modules/quota/index.ts';
import { quotaLedger } from '../../src/server/platform/db/schema.ts';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Organization → Usage in a real browser: the pool gauge, the modules donut, the 6-month bar chart
 * and the per-member table drawn from ledger rows; an Enterprise owner creates a department with a
 * member, a budget and a parent; a Scale org is told budgets need Enterprise; a Developer (no
 * quota:read) has no Usage link. In English and Spanish, axe-clean.
 */
describe.skipIf(!HAS_CHROMIUM)('Organization → Usage', () => {
  let h: ConsoleHarness;
  let t: TestApp;
  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const usageUrl = (orgId: string) => `${h.base}/orgs/${orgId}/settings/usage`;
  const monthsAgo = (n: number) => {
    const now = new Date();
    return monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 1)));
  };

  it('draws the gauge, module and trend charts from the ledger; an Enterprise owner creates a department', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Charted Co', plan: 'enterprise' });
    const alice = await addMember(t.app, org, 'developer', { name: 'Alice Analyst' }, t.mail);
    await t.db.database.db.insert(quotaLedger).values([
      { orgId: org.orgId, month: monthsAgo(0), userId: alice.userId, module: 'dependencies', tokens: 450 },
      { orgId: org.orgId, month: monthsAgo(0), userId: org.owner.userId, module: 'sast', tokens: 300 },
      { orgId: org.orgId, month: monthsAgo(0), userId: alice.userId, module: 'secrets', tokens: 75 },
      { orgId: org.orgId, month: monthsAgo(1), userId: alice.userId, module: 'api', tokens: 600 },
      { orgId: org.orgId, month: monthsAgo(3), userId: alice.userId, module: 'sast', tokens: 900 },
    ]);
    const parent = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/departments`, { name: 'Engineering' }),
      201,
    ).json();

    const page = await h.pageAs(org.owner);
    await page.goto(usageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Usage', level: 1, exact: true }).waitFor();
    await page.getByText('825 of 10,000 tokens used').waitFor();
    // The charts are drawn: recharts' SVG surfaces with their bars and sectors.
    await expect
      .poll(() => page.getByTestId('usage-modules').locator('svg .recharts-pie-sector').count())
      .toBe(3);
    await expect
      .poll(() => page.getByTestId('usage-trend').locator('svg .recharts-bar-rectangle').count())
      .toBeGreaterThanOrEqual(9);
    expect(await page.getByTestId('usage-pool').locator('svg circle').count()).toBeGreaterThan(0);
    const members = page.getByRole('group', { name: 'By member' });
    await members
      .getByRole('row', { name: new RegExp(alice.email) })
      .getByText('525')
      .waitFor();
    await h.expectAccessible(page, 'usage page with charts');
    await h.shoot(page, 'usage');

    // An earlier month.
    await page.getByRole('combobox', { name: 'Month' }).selectOption(monthsAgo(1));
    await page.getByText('600 of 10,000 tokens used').waitFor();

    // A department with a member, a budget and a parent.
    await page.getByRole('button', { name: 'New department' }).click();
    const dialog = page.getByRole('dialog', { name: 'New department' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill('Backend');
    await dialog.getByRole('textbox', { name: 'Monthly budget' }).fill('400');
    await dialog.getByRole('combobox', { name: 'Parent department' }).click();
    await page.getByRole('option', { name: 'Engineering' }).click();
    await dialog.getByRole('combobox', { name: 'Members' }).click();
    await page.getByRole('option', { name: alice.email }).click();
    // The list stays open for more; Escape closes it (and not the dialog).
    await dialog.getByRole('combobox', { name: 'Members' }).press('Escape');
    await h.expectAccessible(page, 'new department dialog');
    await dialog.getByRole('button', { name: 'Create department' }).click();
    await expect.poll(() => page.getByTestId('notifications').textContent()).toContain('Department created');
    const list = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/departments`),
      200,
    ).json();
    expect(list.items).toContainEqual(
      expect.objectContaining({
        name: 'Backend',
        monthlyBudget: 400,
        parentId: parent.id,
        memberIds: [alice.userId],
      }),
    );
    await page.getByRole('button', { name: 'Edit Backend' }).waitFor();

    // Spanish: the same page in the other language.
    expectStatus(await as(t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    const es = await h.pageAs(org.owner);
    await es.goto(usageUrl(org.orgId));
    await es.getByRole('heading', { name: 'Consumo', level: 1, exact: true }).waitFor();
    await es.getByRole('heading', { name: 'Departamentos' }).waitFor();
    await h.expectAccessible(es, 'usage page in Spanish');
    expectStatus(await as(t.app, org.owner).patch('/api/v1/me', { locale: 'en' }), 200);
  });

  it('a Scale org is told budgets need Enterprise; a Developer sees no Usage link', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Scale Co', plan: 'pro' });
    const dev = await addMember(t.app, org, 'developer', { name: 'Dev' }, t.mail);
    const page = await h.pageAs(org.owner);
    await page.goto(usageUrl(org.orgId));
    await page.getByText('part of the Enterprise plan', { exact: false }).waitFor();
    expect(await page.getByRole('button', { name: 'New department' }).count()).toBe(0);
    await h.expectAccessible(page, 'usage page on Scale');

    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await devPage.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Team' }).waitFor();
    expect(
      await devPage
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Usage' })
        .count(),
    ).toBe(0);
  });
});
