import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTwoFactorInDatabase, type TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → Security in a real browser against a real server: the owner requires 2FA and edits
 * the IP allowlist (warned while it leaves out their own address, which the page shows); on other
 * plans the Enterprise parts are marked and read-only; a member without settings:update sees the
 * policy read-only; a member held by require-2FA is told why and led to Account → Security.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Security', () => {
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

  const securityUrl = (orgId: string) => `${base}/orgs/${orgId}/settings/security`;
  const readPolicy = async (who: { cookie: string }, orgId: string) =>
    expectStatus(await as(t.app, who).get(`/api/v1/orgs/${orgId}/security`), 200).json();
  const expectAccessible = (page: Page, what: string) => h.expectAccessible(page, what);
  const enableTwoFactor = (userId: string) => setTwoFactorInDatabase(t, userId);

  it('the owner requires 2FA and sets an allowlist, warned while it leaves them out', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Fortress Works', plan: 'enterprise' });
    await enableTwoFactor(org.owner.userId);
    const page = await h.pageAs(org.owner);
    await page.goto(securityUrl(org.orgId));
    await page.getByRole('heading', { name: 'Security', level: 1, exact: true }).waitFor();
    await expect
      .poll(() =>
        page
          .getByRole('navigation', { name: 'Settings' })
          .getByRole('link', { name: 'Security', exact: true })
          .count(),
      )
      .toBe(1);
    await page.getByText('Your address, as the server sees it: 127.0.0.1').waitFor();

    await page.getByRole('switch', { name: /Require two-factor authentication/ }).check({ force: true });
    const allowlist = page.getByRole('textbox', { name: 'Allowed addresses and blocks' });
    await allowlist.fill('127.0.0.2\n10.0.0.0/8');
    await page
      .getByRole('alert')
      .filter({ hasText: 'does not include your own address (127.0.0.1)' })
      .waitFor();
    await expectAccessible(page, 'security page, a list that leaves the owner out');
    await h.shoot(page, 'security-excludes-you');

    await page.getByRole('button', { name: 'Add my address' }).click();
    await expect.poll(() => allowlist.inputValue()).toBe('127.0.0.2\n10.0.0.0/8\n127.0.0.1');
    await expect.poll(() => page.getByText('does not include your own address').count()).toBe(0);
    await page.getByRole('textbox', { name: /Minutes of inactivity/ }).fill('15');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect
      .poll(() => page.getByTestId('notifications').textContent())
      .toContain('Security policy saved.');
    expect(await readPolicy(org.owner, org.orgId)).toMatchObject({
      require2fa: true,
      sessionIdleMinutes: 15,
      ipAllowlist: ['127.0.0.2/32', '10.0.0.0/8', '127.0.0.1/32'],
    });
    // A bad entry is named in words, under the list.
    await allowlist.fill('127.0.0.1\n10.1.2.3/8');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('“10.1.2.3/8” has bits set past its prefix').waitFor();
    await expectAccessible(page, 'security page, a refused entry');
  });

  it('on other plans the Enterprise parts are marked and read-only; without settings:update all is', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Scale Works', plan: 'pro' });
    const page = await h.pageAs(org.owner);
    await page.goto(securityUrl(org.orgId));
    const allowlist = page.getByRole('textbox', { name: 'Allowed addresses and blocks' });
    await allowlist.waitFor();
    expect(await allowlist.getAttribute('readonly')).not.toBeNull();
    expect(
      await page.getByText('Part of the Enterprise plan. This organization is on the Scale plan.').count(),
    ).toBe(2);
    // Requiring 2FA is every plan's; the owner has none yet, so the page says what to do first.
    await page
      .getByRole('switch', { name: /Require two-factor authentication or a passkey/ })
      .check({ force: true });
    await page.getByRole('link', { name: 'Set up two-factor authentication' }).waitFor();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page
      .getByText(
        'You use neither two-factor authentication nor a passkey sign-in yourself, so requiring it would lock you out',
      )
      .waitFor();
    await expectAccessible(page, 'security page on the Scale plan');

    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'auditor',
        name: 'Auditor',
        permissions: ['settings:read', 'members:read'],
      }),
      201,
    );
    const auditor = await addMember(t.app, org, 'auditor', {}, t.mail);
    const readOnly = await h.pageAs(auditor);
    await readOnly.goto(securityUrl(org.orgId));
    await readOnly.getByText('You can view this policy.', { exact: false }).waitFor();
    expect(await readOnly.getByRole('button', { name: 'Save policy' }).count()).toBe(0);
    expect(await readOnly.getByRole('switch', { name: /Require two-factor/ }).isDisabled()).toBe(true);
    await expectAccessible(readOnly, 'security page, read-only');
  });

  it('a member held by require-2FA is told why and led to Account → Security', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Second Factor Works' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    await enableTwoFactor(org.owner.userId);
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/security`, { require2fa: true }),
      200,
    );
    const page = await h.pageAs(dev);
    await page.goto(`${base}/orgs/${org.orgId}/settings/team`);
    await page
      .getByRole('alert')
      .filter({ hasText: 'Two-factor authentication or a passkey is required' })
      .first()
      .waitFor();
    const link = page.getByRole('link', { name: 'Go to Account security' }).first();
    expect(await link.getAttribute('href')).toBe(`/orgs/${org.orgId}/settings/account/security`);
    // The developer has no settings:read: no Security page in their navigation.
    expect(
      await page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Security', exact: true })
        .count(),
    ).toBe(0);
    await expectAccessible(page, 'team page, held by require-2FA');
    await h.shoot(page, 'security-held-by-2fa');
  });
});
