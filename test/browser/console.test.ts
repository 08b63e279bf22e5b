import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, type TestApp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { INVITATION_LINK, tokenFromMail } from '../support/orgs.ts';

/**
 * The web console in a real browser (Debian's chromium, headless) against a real server on
 * loopback: sign up, create an organization, invite someone (the email caught by the SMTP sink),
 * who accepts in another browser, change their role, create a personal token and see it once.
 * Screenshots of each page go to test-results/; axe-core checks each page for serious or critical
 * accessibility violations.
 */
describe.skipIf(!HAS_CHROMIUM)('the web console in a browser', () => {
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

  const newPage = () => h.newPage();
  const shoot = (page: Page, name: string) => h.shoot(page, name);
  const expectAccessible = (page: Page, what: string) => h.expectAccessible(page, what);
  const signUpIn = (page: Page, who: { name: string; email: string }) => h.signUpIn(page, who);
  const cookieOf = (page: Page) => h.cookieOf(page);

  it('sign up → organization → invite → accept elsewhere → role change → a token shown once', {
    timeout: 120_000,
  }, async () => {
    const admin = { name: 'Ada Admin', email: uniqueEmail('ada') };
    const bob = { name: 'Bob Builder', email: uniqueEmail('bob') };

    // Sign up from the sign-in page, then create the organization.
    const page = await newPage();
    await page.goto(`${base}/`);
    await page.waitForURL(/\/signin/);
    await expectAccessible(page, 'sign-in page');
    await shoot(page, '01-sign-in');
    await signUpIn(page, admin);
    await page.waitForURL(/\/orgs\/new/);
    await page.getByLabel('Organization name').fill('Acme Security');
    await shoot(page, '02-create-organization');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/orgs\/[0-9a-f-]+\/settings\/team/);
    const orgId = /\/orgs\/([0-9a-f-]+)\//.exec(page.url())![1]!;
    await expect.poll(() => page.getByTestId(`member-${admin.email}`).count()).toBe(1);

    // Invite Bob.
    await page.getByRole('button', { name: 'Invite people' }).click();
    await page.getByLabel('Emails').fill(bob.email);
    await shoot(page, '03-invite-dialog');
    await page.getByRole('button', { name: 'Send invitations' }).click();
    await expect.poll(() => page.getByRole('cell', { name: bob.email, exact: true }).count()).toBe(1);
    await expectAccessible(page, 'team page');
    await shoot(page, '04-team');

    // Bob opens the emailed link in a browser of his own, creates his account and accepts.
    const mail = await t.mail.latestTo(bob.email, 0, INVITATION_LINK);
    const link = `${base}/invitations/accept#token=${tokenFromMail(mail.text)}`;
    const bobPage = await newPage();
    await bobPage.goto(link);
    await expect.poll(() => bobPage.getByText('You are invited to Acme Security').count()).toBe(1);
    await shoot(bobPage, '05-invitation');
    await bobPage.getByRole('link', { name: 'Create account' }).click();
    await bobPage.getByLabel('Name').fill(bob.name);
    await bobPage.getByLabel('Email').fill(bob.email);
    await bobPage.locator('input[type=password]').fill(STRONG_PASSWORD);
    await bobPage.getByRole('button', { name: 'Create account' }).click();
    await bobPage.waitForURL(/\/invitations\/accept/);
    await bobPage.getByRole('button', { name: 'Accept invitation' }).click();
    await bobPage.waitForURL(new RegExp(`/orgs/${orgId}/settings/team`));

    // The admin sees him and makes him a Viewer.
    await page.reload();
    const roleSelect = page.getByRole('combobox', { name: `Role: ${bob.email}` });
    await expect.poll(() => roleSelect.count()).toBe(1);
    await roleSelect.selectOption({ label: 'Viewer' });
    // Choosing is not yet changing: the role changes on "Change".
    await page.getByRole('button', { name: `Change: ${bob.email}` }).click();
    await expect
      .poll(async () => {
        const res = await t.app.inject({
          method: 'GET',
          url: `/api/v1/orgs/${orgId}/members?q=${encodeURIComponent(bob.email)}`,
          headers: { cookie: await cookieOf(page) },
        });
        return res.json().items[0]?.role;
      })
      .toBe('viewer');

    // The audit log shows what happened, and that it verifies.
    await page.getByRole('link', { name: 'Audit Log' }).click();
    await page.waitForURL(/\/settings\/audit-log/);
    for (const action of ['org.created', 'member.invited', 'invite.accepted', 'member.role_changed']) {
      await expect.poll(() => page.locator(`td[data-action="${action}"]`).count()).toBeGreaterThan(0);
    }
    await expect.poll(() => page.getByTestId('audit-integrity').textContent()).toMatch(/Integrity verified/);
    await expectAccessible(page, 'audit log page');
    await shoot(page, '06-audit-log');

    // A personal token, revealed once.
    await page.getByRole('link', { name: 'API Tokens' }).click();
    await page.waitForURL(/\/settings\/api-tokens/);
    const personal = page.getByRole('region', { name: 'Personal tokens' });
    await personal.getByLabel('Token name').fill('laptop');
    // A token outlives the session: one signed in a while ago confirms it is you first.
    await t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '20 minutes'
           WHERE user_id = (SELECT id FROM users WHERE email = ${admin.email})`,
    );
    await personal.getByRole('button', { name: 'Create token' }).click();
    const confirm = page.getByRole('dialog', { name: 'Confirm it is you' });
    await expect.poll(() => confirm.count()).toBe(1);
    await confirm.getByLabel(/^Password/).fill(STRONG_PASSWORD);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => confirm.count()).toBe(0);
    const revealed = page.getByTestId('revealed-token');
    await expect.poll(() => revealed.textContent()).toMatch(/^gtp_[0-9A-Za-z]{38}$/);
    const token = (await revealed.textContent())!;
    await shoot(page, '07-token-revealed');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await expect.poll(() => personal.getByText(`gtp_…${token.slice(-4)}`).count()).toBe(1);
    expect(await page.content()).not.toContain(token);
    await expectAccessible(page, 'API tokens page');
    await shoot(page, '08-api-tokens');
    // The token works, as a bearer token.
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/${orgId}/members`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('speaks Spanish when asked, and keeps to it', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/signin`);
    await page.getByRole('combobox', { name: 'Language' }).selectOption({ label: 'Español' });
    await expect.poll(() => page.getByRole('heading', { name: 'Iniciar sesión' }).count()).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Iniciar sesión' }).count()).toBe(1);
    await shoot(page, '09-sign-in-es');
  });
});
