import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, STRONG_PASSWORD, sessionCookie, signUp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

/**
 * Settings → Account in a real browser against a real server: profile and language, password
 * change (other sessions end), the session list and signing sessions out, and leaving
 * organizations (the last owner cannot).
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Account in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const app = () => h.t.app;
  /** Waits for the page to get there: pages load on first visit, and the machine may be busy. */
  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const accountUrl = (orgId: string) => `${h.base}/orgs/${orgId}/settings/account`;
  const me = async (cookie: string) =>
    app().inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });

  /** A second session of the same account, signed in elsewhere (with that client's user agent). */
  async function signInElsewhere(email: string, password: string, userAgent?: string): Promise<string> {
    const res = await app().inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN, ...(userAgent ? { 'user-agent': userAgent } : {}) },
      payload: { email, password },
    });
    expect(res.statusCode).toBe(200);
    return sessionCookie(res);
  }

  /** A full-page screenshot from the top, so the fixed header sits where it belongs. */
  async function shoot(page: Page, name: string): Promise<void> {
    await page.evaluate('window.scrollTo(0, 0)');
    await h.shoot(page, name);
  }

  async function openAccount(who: { cookie: string }, orgId: string): Promise<Page> {
    const page = await h.pageAs(who);
    await page.goto(accountUrl(orgId));
    await poll(() => page.getByRole('heading', { name: 'Account', level: 1 }).count()).toBe(1);
    return page;
  }

  it('changes name, language and time zone; the UI follows the language', { timeout: 90_000 }, async () => {
    const { orgId, owner } = await createOrg(app());
    const page = await openAccount(owner, orgId);
    const profile = page.getByRole('region', { name: 'Profile' });
    await poll(() => page.getByRole('region', { name: 'Active sessions' }).getByRole('row').count()).toBe(2);
    await h.expectAccessible(page, 'account page');
    await shoot(page, 'account-page');

    // A field the server refuses is named under the field, in words.
    await profile.getByLabel('Name').fill('Olivia\tOwner');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await poll(() => profile.getByText('Must not be blank or contain control characters.').count()).toBe(1);
    expect((await me(owner.cookie)).json().user.name).toBe('Olivia Owner');

    await profile.getByLabel('Name').fill('Olivia Ownerson');
    await profile.getByRole('combobox', { name: 'Preferred language' }).click();
    await page
      .getByRole('listbox', { name: 'Preferred language' })
      .getByRole('option', { name: 'Español' })
      .click();
    await profile.getByRole('combobox', { name: 'Time zone' }).click();
    await profile.getByRole('combobox', { name: 'Time zone' }).fill('Madrid');
    await page
      .getByRole('listbox', { name: 'Time zone' })
      .getByRole('option', { name: 'Europe/Madrid' })
      .click();
    await profile.getByRole('button', { name: 'Save profile' }).click();

    // The whole console switches to Spanish once the profile is saved.
    await poll(() => page.getByRole('heading', { name: 'Cuenta', level: 1 }).count()).toBe(1);
    await poll(() => page.getByRole('link', { name: 'Equipo' }).count()).toBe(1);
    const perfil = page.getByRole('region', { name: 'Perfil' });
    await poll(() => page.getByTestId('notifications').textContent()).toContain('Perfil guardado.');
    const saved = (await me(owner.cookie)).json().user;
    expect(saved).toMatchObject({ name: 'Olivia Ownerson', locale: 'es', timezone: 'Europe/Madrid' });
    await poll(() => page.getByText('Las horas se muestran en Europe/Madrid.').count()).toBe(1);
    await h.expectAccessible(page, 'account page in Spanish');
    await shoot(page, 'account-profile-es');

    // And back to English, and no time zone.
    await perfil.getByRole('combobox', { name: 'Idioma preferido' }).click();
    await page
      .getByRole('listbox', { name: 'Idioma preferido' })
      .getByRole('option', { name: 'English' })
      .click();
    await perfil.getByRole('combobox', { name: 'Zona horaria' }).click();
    await page
      .getByRole('listbox', { name: 'Zona horaria' })
      .getByRole('option', { name: 'Sin definir (el de la organización)' })
      .click();
    await perfil.getByRole('button', { name: 'Guardar perfil' }).click();
    await poll(() => page.getByRole('heading', { name: 'Account', level: 1 }).count()).toBe(1);
    expect((await me(owner.cookie)).json().user).toMatchObject({ locale: 'en', timezone: null });
  });

  it('changes the password: wrong current password and weak ones are explained, other sessions end', {
    timeout: 90_000,
  }, async () => {
    const person = await signUp(app(), { email: uniqueEmail('pat'), name: 'Pat Password' });
    const { orgId } = await createOrg(app(), { name: 'Pat Labs' }, person);
    const elsewhere = await signInElsewhere(person.email, STRONG_PASSWORD);
    const page = await openAccount(person, orgId);
    const section = page.getByRole('region', { name: 'Password' });
    const NEW_PASSWORD = 'harbor-lantern-quartz-77';
    const fill = async (current: string, next: string, confirm: string) => {
      await section.getByLabel('Current password').fill(current);
      await section.getByLabel(/^New password/).fill(next);
      await section.getByLabel('Confirm new password').fill(confirm);
      await section.getByRole('button', { name: 'Change password' }).click();
    };
    // The rules are shown before anyone types.
    await poll(() => section.getByText(/At least 12 characters/).count()).toBe(1);

    // The confirmation is checked here, before anything is sent.
    await fill(STRONG_PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}x`);
    await poll(() => section.getByText('The two new passwords do not match.').count()).toBe(1);

    // The server's rules, in words under the field.
    await fill(STRONG_PASSWORD, 'short-pass', 'short-pass');
    await poll(() => section.getByText('Use at least 12 characters.').count()).toBe(1);

    await fill('not-my-password-at-all', NEW_PASSWORD, NEW_PASSWORD);
    await poll(() => section.getByText('The password is incorrect.').count()).toBe(1);
    await h.expectAccessible(page, 'password errors');
    await shoot(page, 'account-password-wrong');
    expect((await me(elsewhere)).statusCode).toBe(200);

    await fill(STRONG_PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
    await poll(() => page.getByTestId('notifications').textContent()).toMatch(/Every other session/);
    await shoot(page, 'account-password-changed');

    // The older session is dead; this browser carries on with the new cookie it was given.
    expect((await me(elsewhere)).statusCode).toBe(401);
    expect((await me(person.cookie)).statusCode).toBe(401);
    expect((await me(await h.cookieOf(page))).statusCode).toBe(200);
    const sessions = page.getByRole('region', { name: 'Active sessions' });
    await poll(() => sessions.getByRole('row').count()).toBe(2);
    await poll(() => sessions.getByText('This session').count()).toBe(1);
    // The new password signs in; the old one no longer does.
    await signInElsewhere(person.email, NEW_PASSWORD);
    const old = await app().inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN },
      payload: { email: person.email, password: STRONG_PASSWORD },
    });
    expect(old.statusCode).toBe(401);
  });

  it('lists the sessions and signs one out, then this one', { timeout: 90_000 }, async () => {
    const person = await signUp(app(), { email: uniqueEmail('sam'), name: 'Sam Sessions' });
    const { orgId } = await createOrg(app(), { name: 'Sam Labs' }, person);
    const other = await signInElsewhere(person.email, STRONG_PASSWORD, FIREFOX_ON_WINDOWS);
    const page = await openAccount(person, orgId);
    const sessions = page.getByRole('region', { name: 'Active sessions' });
    // A header row and two sessions; this one is marked.
    await poll(() => sessions.getByRole('row').count()).toBe(3);
    await poll(() => sessions.getByText('This session').count()).toBe(1);
    await poll(() => sessions.getByText('Firefox 128 on Windows').count()).toBe(1);
    await shoot(page, 'account-sessions');

    await sessions.getByRole('button', { name: /^Sign out Firefox 128 on Windows, signed in / }).click();
    const dialog = page.getByRole('dialog');
    await poll(() => dialog.getByText(/Sign out Firefox 128 on Windows \(signed in .+\)\?/).count()).toBe(1);
    await h.expectAccessible(page, 'sign out a session dialog');
    await shoot(page, 'account-revoke-dialog');
    await dialog.getByRole('button', { name: 'Sign out' }).click();
    await poll(() => sessions.getByRole('row').count()).toBe(2);

    // The server agrees: that session is gone, this one is the only one left.
    expect((await me(other)).statusCode).toBe(401);
    const left = expectStatus(await as(app(), person).get('/api/v1/me/sessions'), 200).json().items;
    expect(left).toHaveLength(1);
    expect(left[0].current).toBe(true);

    // Signing out this very session leaves for the sign-in page.
    await sessions.getByRole('button', { name: 'Sign out this session' }).click();
    await poll(() => dialog.getByText(/the session you are using now/).count()).toBe(1);
    await dialog.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin/);
    expect((await me(person.cookie)).statusCode).toBe(401);
  });

  it('leaves an organization as a member; the last owner is refused in words', {
    timeout: 90_000,
  }, async () => {
    const acme = await createOrg(app(), { name: 'Acme Security' });
    const member = await addMember(app(), acme, 'developer', { name: 'Dev Member' }, h.t.mail);
    const solo = await createOrg(app(), { name: 'Solo Labs' }, member);

    // Leaving the organization whose settings are open.
    const page = await openAccount(member, acme.orgId);
    const orgs = page.getByRole('region', { name: 'Organizations' });
    await poll(() => orgs.getByRole('row').count()).toBe(3);
    await orgs.getByRole('button', { name: 'Leave Acme Security' }).click();
    const dialog = page.getByRole('dialog', { name: 'Leave Acme Security?' });
    await poll(() => dialog.getByText(/personal API tokens for it are revoked/).count()).toBe(1);
    await shoot(page, 'account-leave-dialog');
    await dialog.getByRole('button', { name: 'Leave', exact: true }).click();
    await page.waitForURL(new RegExp(`/orgs/${solo.orgId}/settings/team`));
    const memberships = (await me(member.cookie)).json().memberships;
    expect(memberships.map((m: { org: { id: string } }) => m.org.id)).toEqual([solo.orgId]);
    const removed = expectStatus(
      await as(app(), acme.owner).get(
        `/api/v1/orgs/${acme.orgId}/members?status=removed&q=${encodeURIComponent(member.email)}`,
      ),
      200,
    ).json().items;
    expect(removed).toHaveLength(1);

    // The sole owner of Solo Labs cannot leave it: the reason is shown, nothing changes.
    await page.goto(accountUrl(solo.orgId));
    await orgs.getByRole('button', { name: 'Leave Solo Labs' }).click();
    const soloDialog = page.getByRole('dialog', { name: 'Leave Solo Labs?' });
    await soloDialog.getByRole('button', { name: 'Leave', exact: true }).click();
    await poll(() => soloDialog.getByRole('alert').textContent()).toMatch(
      /You are the last owner of Solo Labs, so you cannot leave it/,
    );
    await h.expectAccessible(page, 'last owner refused');
    await shoot(page, 'account-leave-last-owner');
    expect(page.url()).toBe(accountUrl(solo.orgId));
    expect((await me(member.cookie)).json().memberships).toHaveLength(1);
  });
});
