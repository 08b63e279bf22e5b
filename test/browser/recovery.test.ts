import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { createOrg, tokenFromMail } from '../support/orgs.ts';

const NEW_PASSWORD = 'copper-lantern-harbor-77';

/**
 * The mailed-link pages in a real browser against a real server and SMTP sink: forgot password →
 * the link from the mail → a new password → sign in with it; verifying the address from the
 * sign-up mail; the Account page's unverified banner, data download and deletion.
 */
describe.skipIf(!HAS_CHROMIUM)('password reset and email verification in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const me = (cookie: string) => h.t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });

  it('forgot password → mailed link → new password → sign in', { timeout: 90_000 }, async () => {
    const person = await signUp(h.t.app, { name: 'Forgetful Fran' });
    const page = await h.newPage();
    await page.goto(`${h.base}/signin`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await poll(() => page.getByRole('heading', { name: 'Reset your password', level: 1 }).count()).toBe(1);
    await h.expectAccessible(page, 'forgot password page');
    const since = h.t.mail.messages.length;
    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await poll(() => page.getByText(`If ${person.email} has an account`).count()).toBe(1);
    await h.shoot(page, 'forgot-password-sent');

    const mail = await h.t.mail.latestTo(person.email, since, /reset-password#token=/);
    await page.goto(`${h.base}/reset-password#token=${tokenFromMail(mail.text)}`);
    await poll(() => page.getByRole('heading', { name: 'Choose a new password', level: 1 }).count()).toBe(1);
    // The token left the address bar's fragment only for this tab's storage: no server saw it.
    await page.getByLabel(/^New password/).fill('password123');
    await page.getByLabel('Confirm new password').fill('password123');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await poll(() => page.getByText(/commonly used|too common|at least/i).count()).toBeGreaterThan(0);
    await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await h.expectAccessible(page, 'reset password page');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/signin');
    await poll(() => page.getByText(/Password changed/).count()).toBeGreaterThan(0);
    expect((await me(person.cookie)).statusCode).toBe(401);

    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('textbox', { name: 'Password' }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await poll(() => new URL(page.url()).pathname).not.toBe('/signin');
    expect((await me(await h.cookieOf(page))).json().user.email).toBe(person.email);
  });

  it('a used link says so and offers a new one', { timeout: 60_000 }, async () => {
    const page = await h.newPage();
    await page.goto(`${h.base}/reset-password#token=${'A'.repeat(43)}`);
    await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await poll(() => page.getByText('This link has expired').count()).toBe(1);
    await poll(() => page.getByRole('link', { name: 'Ask for a new link' }).count()).toBe(1);
    await h.expectAccessible(page, 'expired reset link');
  });

  it('verifies the address from the sign-up mail', { timeout: 60_000 }, async () => {
    const since = h.t.mail.messages.length;
    const person = await signUp(h.t.app, { email: uniqueEmail('verify') });
    const mail = await h.t.mail.latestTo(person.email, since, /verify-email#token=/);
    const page = await h.newPage();
    await page.goto(`${h.base}/verify-email#token=${tokenFromMail(mail.text)}`);
    await poll(() => page.getByRole('heading', { name: 'Verify your email address', level: 1 }).count()).toBe(
      1,
    );
    await h.expectAccessible(page, 'verify email page');
    await page.getByRole('button', { name: 'Verify email address' }).click();
    await poll(() => page.getByText(`${person.email} is verified`).count()).toBe(1);
    expect((await me(person.cookie)).json().user.emailVerified).toBe(true);
  });

  it('Account page: unverified banner with resend, data download, deletion refused for the only Owner', {
    timeout: 90_000,
  }, async () => {
    const { orgId, owner } = await createOrg(h.t.app);
    const page = await h.pageAs(owner);
    await page.goto(`${h.base}/orgs/${orgId}/settings/account`);
    const banner = page.getByTestId('unverified-banner');
    await poll(() => banner.count()).toBe(1);
    const since = h.t.mail.messages.length;
    await banner.getByRole('button', { name: 'Resend the link' }).click();
    await h.t.mail.latestTo(owner.email, since, /verify-email#token=/);
    await poll(() => page.getByText('A new link is on its way').count()).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: 'Download my data' }).getAttribute('href')).toBe(
      '/api/v1/me/export',
    );
    await h.expectAccessible(page, 'account page with new sections');
    await h.shoot(page, 'account-recovery-sections');

    await page.getByRole('button', { name: 'Delete my account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete your account?' });
    await dialog.getByLabel('Current password').fill(owner.password);
    await dialog.getByRole('button', { name: 'Delete my account' }).click();
    await poll(() => dialog.getByText('An organization needs an Owner').count()).toBe(1);
    await h.expectAccessible(page, 'delete account refused');
    expect((await me(owner.cookie)).statusCode).toBe(200);
  });
});
