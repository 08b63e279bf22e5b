import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, verifyEmailInDatabase } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { createOrg } from '../support/orgs.ts';
import { totpCode } from '../support/two-factor.ts';

/**
 * Account → Security in a real browser against a real server: setting up TOTP from the page (the
 * codes computed here from the secret the page shows, as an authenticator app would), the
 * recovery codes shown once, then signing out and in again with the password and a code, or a
 * recovery code; in English and in Spanish.
 */
describe.skipIf(!HAS_CHROMIUM)('Account → Security: two-factor authentication in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const me = async (cookie: string) =>
    (await h.t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).json().user;

  async function shoot(page: Page, name: string): Promise<void> {
    await page.evaluate('window.scrollTo(0, 0)');
    await h.shoot(page, name);
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: /account menu$/ }).click();
    await page
      .getByRole('banner')
      .getByRole('button', { name: /^(Sign out|Cerrar sesión)$/ })
      .click();
    await page.waitForURL(/\/signin/);
  }

  async function password(page: Page, email: string): Promise<void> {
    await page.getByLabel(/^(Email|Correo)/).fill(email);
    await page.locator('input[type=password]').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: /^(Sign in|Iniciar sesión)$/ }).click();
  }

  it('sets up TOTP, shows the recovery codes once, and signs in again with password and code', {
    timeout: 120_000,
  }, async () => {
    const { orgId, owner } = await createOrg(h.t.app, { name: 'Two Step Co' });
    await verifyEmailInDatabase(h.t.app, owner.userId);
    const page = await h.pageAs(owner);
    await page.goto(`${h.base}/orgs/${orgId}/settings/account`);
    await page
      .getByRole('navigation', { name: 'Settings' })
      .getByRole('link', { name: 'Account security' })
      .click();
    await poll(() => page.getByRole('heading', { name: 'Account security', level: 1 }).count()).toBe(1);
    const section = page.getByRole('region', { name: 'Two-factor authentication' });
    await poll(() => section.getByText('Off', { exact: true }).count()).toBe(1);
    await h.expectAccessible(page, 'security page, 2FA off');

    await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await poll(() =>
      section.getByRole('img', { name: 'QR code to scan with your authenticator app' }).count(),
    ).toBe(1);
    const secret = (await section.getByTestId('totp-secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // The QR code is drawn from the otpauth URL, as an SVG in the page (no request for an image).
    expect(await section.locator('svg[data-testid="totp-qr"] path').getAttribute('d')).toMatch(
      /^M\d+ \d+h1v1h-1z/,
    );
    const codeField = section.getByLabel(/^Authentication code/);
    expect(await codeField.getAttribute('autocomplete')).toBe('one-time-code');
    await h.expectAccessible(page, '2FA set-up');
    await shoot(page, 'security-2fa-setup');

    // A wrong code is named at the field.
    await codeField.fill('000000');
    await section.getByRole('button', { name: 'Turn on' }).click();
    await poll(() =>
      section.getByText('That code is not right. Enter the code the app shows now.').count(),
    ).toBe(1);

    await codeField.fill(totpCode(secret));
    await section.getByRole('button', { name: 'Turn on' }).click();
    const list = section.getByRole('list', { name: 'Recovery codes' });
    await poll(() => list.getByRole('listitem').count()).toBe(10);
    const codes = (await list.getByRole('listitem').allTextContents()).map((c) => c.trim());
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    await h.expectAccessible(page, 'recovery codes');
    await shoot(page, 'security-2fa-recovery-codes');
    expect((await me(owner.cookie)).twoFactorEnabled).toBe(true);

    // Download: a text file with every code.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Download (.txt)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('gatehouse-recovery-codes.txt');
    const file = fs.readFileSync((await download.path())!, 'utf8');
    for (const code of codes) expect(file).toContain(code);
    expect(file).toContain(owner.email);

    await section.getByRole('button', { name: 'I have saved them' }).click();
    await poll(() => list.count()).toBe(0);
    await poll(() => section.getByText('On', { exact: true }).count()).toBe(1);

    // Out, and in again: the password first, then the code.
    await signOut(page);
    await password(page, owner.email);
    const code = page.getByLabel(/^Authentication code/);
    await poll(() => code.count()).toBe(1);
    await poll(() => page.getByRole('heading', { name: 'Two-step verification' }).count()).toBe(1);
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    await h.expectAccessible(page, 'sign-in code step');
    await shoot(page, 'signin-2fa-code');
    await code.fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await poll(() => page.getByText(/That code is not right/).count()).toBe(1);
    await h.expectAccessible(page, 'sign-in wrong code');
    // The code the set-up used is spent; the next step's is not.
    await code.fill(totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    // Back where the sign-out left from.
    await page.waitForURL(new RegExp(`/orgs/${orgId}/settings/account/security$`));

    // Once more with a recovery code.
    await signOut(page);
    await password(page, owner.email);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel(/^Recovery code/).fill(codes[4]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(new RegExp(`/orgs/${orgId}/settings/account/security$`));
    await poll(() => page.getByRole('heading', { name: 'Account security', level: 1 }).count()).toBe(1);
    expect((await me(await h.cookieOf(page))).twoFactorEnabled).toBe(true);
  });

  it('a session signed in long ago confirms it is you (password) before setting up 2FA, then goes on', {
    timeout: 120_000,
  }, async () => {
    const { orgId, owner } = await createOrg(h.t.app, { name: 'Stale Session Co' });
    await verifyEmailInDatabase(h.t.app, owner.userId);
    const page = await h.pageAs(owner);
    // Proven 20 minutes ago, as the database records it: past the 15-minute window.
    await h.t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '20 minutes' WHERE user_id = ${owner.userId}`,
    );
    await page.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    const section = page.getByRole('region', { name: 'Two-factor authentication' });
    await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await poll(() => dialog.count()).toBe(1);
    // 2FA is off: the password alone.
    expect(await dialog.getByLabel(/^Code or recovery code/).count()).toBe(0);
    await h.expectAccessible(page, 'confirm it is you dialog');
    await shoot(page, 'security-reauth-dialog');

    await dialog.getByLabel(/^Password/).fill('not-the-password-at-all');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await poll(() => dialog.getByText('That password is not right.').count()).toBe(1);
    await dialog.getByLabel(/^Password/).fill(STRONG_PASSWORD);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // Confirmed: the dialog closes and the set-up it stood in front of carries on.
    await poll(() => dialog.count()).toBe(0);
    await poll(() =>
      section.getByRole('img', { name: 'QR code to scan with your authenticator app' }).count(),
    ).toBe(1);
  });

  it('an account whose address is unproven is told to verify it before adding a second factor', {
    timeout: 120_000,
  }, async () => {
    const { orgId, owner } = await createOrg(h.t.app, { name: 'Unproven Co' });
    const page = await h.pageAs(owner);
    await page.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    await poll(() =>
      page
        .getByText('Two-factor authentication and passkeys can be added once your email address is verified.')
        .count(),
    ).toBe(1);
    const section = page.getByRole('region', { name: 'Two-factor authentication' });
    await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await poll(() => section.getByText('Verify your email address first').count()).toBe(1);
    await h.expectAccessible(page, 'account security, address unproven');
    expect((await me(await h.cookieOf(page))).twoFactorEnabled).toBe(false);
  });

  it('speaks Spanish: the code step and the Security page', { timeout: 120_000 }, async () => {
    const { orgId, owner } = await createOrg(h.t.app, { name: 'Dos Pasos SL' });
    await verifyEmailInDatabase(h.t.app, owner.userId);
    const setUp = await h.pageAs(owner);
    await setUp.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    const section = setUp.getByRole('region', { name: 'Two-factor authentication' });
    await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await poll(() => section.getByTestId('totp-secret').count()).toBe(1);
    const secret = (await section.getByTestId('totp-secret').textContent())?.trim() ?? '';
    await section.getByLabel(/^Authentication code/).fill(totpCode(secret));
    await section.getByRole('button', { name: 'Turn on' }).click();
    await poll(() => section.getByRole('listitem').count()).toBe(10);

    const page = await h.newPage();
    await page.goto(`${h.base}/signin`);
    await page.getByRole('combobox', { name: 'Language' }).selectOption('es');
    await password(page, owner.email);
    await poll(() => page.getByRole('heading', { name: 'Verificación en dos pasos' }).count()).toBe(1);
    await poll(() => page.getByLabel(/^Código de autenticación/).count()).toBe(1);
    await poll(() => page.getByRole('button', { name: 'Usar un código de recuperación' }).count()).toBe(1);
    await page.getByLabel(/^Código de autenticación/).fill('000000');
    await page.getByRole('button', { name: 'Verificar' }).click();
    await poll(() => page.getByText(/Ese código no es correcto/).count()).toBe(1);
    await h.expectAccessible(page, 'sign-in code step in Spanish');
    await shoot(page, 'signin-2fa-code-es');
    // Kept as written: the same code, not the one of whatever step it is when it is used again.
    const signInCode = totpCode(secret, 1);
    await page.getByLabel(/^Código de autenticación/).fill(signInCode);
    await page.getByRole('button', { name: 'Verificar' }).click();
    await page.waitForURL(new RegExp(`/orgs/${orgId}/settings/team`));

    await page.getByRole('link', { name: 'Seguridad de la cuenta' }).click();
    await poll(() => page.getByRole('heading', { name: 'Seguridad de la cuenta', level: 1 }).count()).toBe(1);
    const seccion = page.getByRole('region', { name: 'Autenticación en dos pasos' });
    await poll(() => seccion.getByText('Activada', { exact: true }).count()).toBe(1);
    await h.expectAccessible(page, 'security page in Spanish');
    await shoot(page, 'security-2fa-es');

    // Turning it off: the password and a code, in a dialog.
    await seccion.getByRole('button', { name: 'Desactivar' }).click();
    const dialog = page.getByRole('dialog');
    await poll(() => dialog.getByText(/Al iniciar sesión solo se pedirá tu contraseña/).count()).toBe(1);
    await dialog.getByLabel(/^Contraseña/).fill(STRONG_PASSWORD);
    await dialog.getByLabel(/^Código o código de recuperación/).fill(signInCode);
    await h.expectAccessible(page, 'turn off dialog in Spanish');
    // That code signed in a moment ago: spent.
    await dialog.getByRole('button', { name: 'Desactivar' }).click();
    await poll(() => dialog.getByText(/Ese código no es correcto/).count()).toBe(1);
    const recovery = (await section.getByRole('listitem').allTextContents())[0]!.trim();
    await dialog.getByLabel(/^Código o código de recuperación/).fill(recovery);
    await dialog.getByRole('button', { name: 'Desactivar' }).click();
    await poll(() => seccion.getByText('Desactivada', { exact: true }).count()).toBe(1);
    expect((await me(await h.cookieOf(page))).twoFactorEnabled).toBe(false);
  });
});
