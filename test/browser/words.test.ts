import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus, INVITATION_LINK, tokenFromMail } from '../support/orgs.ts';

/**
 * The console in words and without dead ends, in a real browser against a real server: refusals
 * said in the reader's language beside the fields they concern; people with no organization (removed,
 * waiting for approval, holding another address's invitation) told what happened and offered a way
 * on; the layout at a phone's width.
 */
describe.skipIf(!HAS_CHROMIUM)('the console in words, without dead ends', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 10_000 });
  const overflowsPage = (page: Page) =>
    page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');

  it('the invite dialog says a bad address beside the field, in English and then in Spanish (saved to the profile)', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Words Ltd' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() => page.getByTestId(`member-${org.owner.email}`).count()).toBe(1);

    await page.getByRole('button', { name: 'Invite people' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite people' });
    const emails = dialog.getByLabel('Emails');
    await emails.fill('ok@example.test, not-an-email');
    await dialog.getByRole('button', { name: 'Send invitations' }).click();
    await poll(() => dialog.getByText('“not-an-email” is not an email address.').count()).toBe(1);
    expect(await emails.getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.textContent()).not.toMatch(/must match|format|validation_failed/);
    await h.expectAccessible(page, 'invite dialog with a field error');
    await h.shoot(page, 'words-invite-error-en');
    await page.keyboard.press('Escape');
    await poll(() => dialog.count()).toBe(0);

    // The header's language switch: the console turns Spanish, and the choice is saved to the profile.
    await page.getByRole('combobox', { name: 'Language' }).selectOption('es');
    await poll(async () => (await as(h.t.app, org.owner).get('/api/v1/me')).json().user.locale).toBe('es');
    await page.getByRole('button', { name: 'Invitar personas' }).click();
    const dialogo = page.getByRole('dialog', { name: 'Invitar personas' });
    await dialogo.getByLabel('Correos').fill('no-es-correo');
    await dialogo.getByRole('button', { name: 'Enviar invitaciones' }).click();
    await poll(() => dialogo.getByText('«no-es-correo» no es una dirección de correo.').count()).toBe(1);
    await h.expectAccessible(page, 'invite dialog with a field error, in Spanish');
    await h.shoot(page, 'words-invite-error-es');

    // A good address: the dialog closes, the form is empty next time, and the change is announced.
    await dialogo.getByLabel('Correos').fill(uniqueEmail('nuevo'));
    await dialogo.getByRole('button', { name: 'Enviar invitaciones' }).click();
    await poll(() => dialogo.count()).toBe(0);
    await poll(() => page.getByRole('status').filter({ hasText: 'Invitación enviada.' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Invitar personas' }).click();
    expect(await dialogo.getByLabel('Correos').inputValue()).toBe('');
  });

  it('a member removed from their last organization lands on a page that says so, with the ways on', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Gone Corp' });
    const bob = await addMember(h.t.app, org, 'developer', { name: 'Bob Removed' }, h.t.mail);
    const page = await h.pageAs(bob);
    await page.goto(`${h.base}/`);
    await page.waitForURL(new RegExp(`/orgs/${org.orgId}/settings/team`));
    await poll(() => page.getByTestId(`member-${bob.email}`).count()).toBe(1);

    expectStatus(await as(h.t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${bob.userId}`), 204);
    await page.reload();
    await page.waitForURL(/\/start$/);
    await poll(() =>
      page.getByRole('heading', { name: 'You no longer have access to Gone Corp' }).count(),
    ).toBe(1);
    expect(await page.getByText(/removed you, or the organization was deleted/).count()).toBe(1);
    for (const name of ['Create organization', 'Switch account', 'Sign out']) {
      expect(await page.getByRole('main').getByRole('button', { name }).count(), name).toBe(1);
    }
    // The header is there too: the account menu with sign-out.
    await page.getByRole('button', { name: 'Bob Removed, account menu' }).click();
    expect(await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    await page.keyboard.press('Escape');
    await h.expectAccessible(page, 'removed member page');
    await h.shoot(page, 'words-removed');

    await page.getByRole('main').getByRole('button', { name: 'Switch account' }).click();
    await page.waitForURL(/\/signin\?next=/);
  });

  it('a join request waiting for approval, and an invitation for another address, are explained', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Wait Inc' });
    const { token } = expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
      201,
    ).json();
    const jo = await signUp(h.t.app, { email: uniqueEmail('jo'), name: 'Jo Waiting' });
    const page = await h.pageAs(jo);
    await page.goto(`${h.base}/join#token=${token}`);
    await page.getByRole('button', { name: 'Ask to join' }).click();
    await page.getByRole('link', { name: 'Go to your organizations' }).click();
    await page.waitForURL(/\/start$/);
    await poll(() => page.getByRole('heading', { name: 'Waiting for approval' }).count()).toBe(1);
    expect(await page.getByText(/You asked to join Wait Inc/).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Check again' }).count()).toBe(1);
    await h.expectAccessible(page, 'waiting for approval page');
    await h.shoot(page, 'words-waiting');

    // An invitation sent to another address than the one signed in.
    const invited = uniqueEmail('invited');
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [invited],
        role: 'viewer',
      }),
      201,
    );
    const link = tokenFromMail((await h.t.mail.latestTo(invited, 0, INVITATION_LINK)).text);
    await page.goto(`${h.base}/invitations/accept#token=${link}`);
    await poll(() => page.getByText('This invitation is for another email address').count()).toBe(1);
    expect(await page.getByText(new RegExp(`sent to ${invited.replace('.', '\\.')}`)).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Accept invitation' }).count()).toBe(0);
    await h.expectAccessible(page, 'invitation for another address');
    await h.shoot(page, 'words-invite-other-address');
    await page.getByRole('main').getByRole('button', { name: 'Switch account' }).click();
    await page.waitForURL(/\/signin\?next=%2Finvitations%2Faccept/);
  });

  it('at 390 px the settings navigation is a menu and nothing overflows; at 800 and 1280 px neither', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Narrow Screens' });
    const page = await h.pageAs(org.owner);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() => page.getByTestId(`member-${org.owner.email}`).count()).toBe(1);
    const nav = page.getByRole('navigation', { name: 'Settings' });
    expect(await nav.isVisible()).toBe(false);
    expect(await overflowsPage(page)).toBe(false);
    await h.expectAccessible(page, 'team page at 390 px');
    await h.shoot(page, 'words-team-390');

    await page.getByRole('button', { name: 'Settings menu' }).click();
    await poll(() => nav.isVisible()).toBe(true);
    await h.shoot(page, 'words-team-390-menu');
    await nav.getByRole('link', { name: 'Roles' }).click();
    await page.waitForURL(/\/settings\/roles$/);
    await poll(() => nav.isVisible()).toBe(false);
    const matrix = page.getByTestId('roles-matrix');
    await poll(() => matrix.count()).toBe(1);
    // The matrix scrolls inside its own frame; the page itself does not.
    expect(await matrix.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    expect(await overflowsPage(page)).toBe(false);
    await h.expectAccessible(page, 'roles page at 390 px');

    for (const width of [800, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      for (const path of ['team', 'roles', 'api-tokens', 'account', 'profile']) {
        await page.goto(`${h.base}/orgs/${org.orgId}/settings/${path}`);
        await poll(() => page.getByRole('heading', { level: 1 }).count()).toBe(1);
        expect(await nav.isVisible(), `${path} at ${width}`).toBe(true);
        expect(await overflowsPage(page), `${path} at ${width}`).toBe(false);
      }
    }
  });
});
