import { and, desc, eq, sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/server/platform/db/schema.ts';
import { signUp, uniqueEmail, verifyEmailInDatabase } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { as, createOrg, expectStatus } from '../support/orgs.ts';
import { clearOfStepEnd, enableTwoFactor, totpCode } from '../support/two-factor.ts';

/**
 * Passkeys in a real browser, with Chromium's virtual authenticator (CDP WebAuthn domain, user
 * verification on): a passkey is added on Settings → Account → Security, the user signs out and
 * signs back in with "Sign in with a passkey", then renames and removes it. The console is served
 * at http://localhost:<port> (PUBLIC_URL too): WebAuthn refuses an IP address as RP ID.
 */
describe.skipIf(!HAS_CHROMIUM)('Passkeys in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole({ localhost: true });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });

  /** A platform authenticator with user verification on, for the page (Chromium's CDP WebAuthn). */
  async function virtualAuthenticator(page: Page) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    return { cdp, authenticatorId };
  }

  it('adds a passkey, signs out, signs in with it, renames and removes it', {
    timeout: 120_000,
  }, async () => {
    const person = await signUp(h.t.app, { email: uniqueEmail('pat'), name: 'Pat Passkey' });
    await verifyEmailInDatabase(h.t.app, person.userId);
    const { orgId } = await createOrg(h.t.app, { name: 'Passkey Labs' }, person);
    const page = await h.pageAs(person);
    const { cdp, authenticatorId } = await virtualAuthenticator(page);

    await page.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    await poll(() => page.getByRole('heading', { name: 'Account security', level: 1 }).count()).toBe(1);
    const section = page.getByRole('region', { name: 'Passkeys' });
    await poll(() => section.getByText('You have no passkeys yet.').count()).toBe(1);
    await h.expectAccessible(page, 'security page, no passkeys');

    await section.getByLabel('Passkey name').fill('This laptop');
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await poll(() => section.getByRole('cell', { name: 'This laptop', exact: true }).count()).toBe(1);
    await poll(() => page.getByTestId('notifications').textContent()).toContain(
      'Passkey “This laptop” added.',
    );
    const listed = expectStatus(await as(h.t.app, person).get('/api/v1/me/passkeys'), 200).json().items;
    expect(listed).toEqual([expect.objectContaining({ name: 'This laptop', lastUsedAt: null })]);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    await h.expectAccessible(page, 'security page with a passkey');
    await h.shoot(page, 'account-security-passkeys');

    // Signed out, in the same browser (the authenticator stays with the page).
    await page.getByRole('button', { name: /account menu$/ }).click();
    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
    await poll(() => page.getByRole('button', { name: 'Sign in with a passkey' }).count()).toBe(1);
    expect(await h.cookieOf(page)).toBe('');
    await h.expectAccessible(page, 'sign-in page with the passkey button');
    await h.shoot(page, 'sign-in-passkey');

    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(/\/settings\/(team|account\/security)/);
    const cookie = await h.cookieOf(page);
    expect(cookie).not.toBe('');
    const me = expectStatus(await as(h.t.app, { cookie }).get('/api/v1/me'), 200).json();
    expect(me.user).toMatchObject({ id: person.userId, passkeyCount: 1 });
    const [entry] = await h.t.db.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'user.signed_in'), eq(auditEvents.actorId, person.userId)))
      .orderBy(desc(auditEvents.occurredAt))
      .limit(1);
    expect(entry?.after).toMatchObject({ method: 'passkey', passkeyId: listed[0].id });

    // Rename and remove, back on the Security page.
    await page.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    const again = page.getByRole('region', { name: 'Passkeys' });
    await poll(() => again.getByRole('cell', { name: 'This laptop', exact: true }).count()).toBe(1);
    await again.getByRole('button', { name: 'Rename passkey “This laptop”' }).click();
    const renameDialog = page.getByRole('dialog', { name: 'Rename passkey' });
    await renameDialog.getByLabel('Passkey name').fill('Work laptop');
    await renameDialog.getByRole('button', { name: 'Rename' }).click();
    await poll(() => again.getByRole('cell', { name: 'Work laptop', exact: true }).count()).toBe(1);

    await again.getByRole('button', { name: 'Remove passkey “Work laptop”' }).click();
    const removeDialog = page.getByRole('dialog', { name: 'Remove passkey “Work laptop”?' });
    await h.expectAccessible(page, 'remove passkey confirmation');
    await removeDialog.getByRole('button', { name: 'Remove' }).click();
    await poll(() => again.getByText('You have no passkeys yet.').count()).toBe(1);
    expect(expectStatus(await as(h.t.app, { cookie }).get('/api/v1/me/passkeys'), 200).json().items).toEqual(
      [],
    );
  });

  it('a session signed in long ago confirms it is you (password and code) before adding a passkey', {
    timeout: 120_000,
  }, async () => {
    const person = await signUp(h.t.app, { email: uniqueEmail('stale'), name: 'Stale Sam' });
    const { orgId } = await createOrg(h.t.app, { name: 'Stale Keys' }, person);
    const { secret } = await enableTwoFactor(h.t.app, person);
    const page = await h.pageAs(person);
    await virtualAuthenticator(page);
    await h.t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '20 minutes' WHERE user_id = ${person.userId}`,
    );
    await page.goto(`${h.base}/orgs/${orgId}/settings/account/security`);
    const section = page.getByRole('region', { name: 'Passkeys' });
    await poll(() => section.getByText('You have no passkeys yet.').count()).toBe(1);
    await section.getByLabel('Passkey name').fill('Confirmed key');
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await poll(() => dialog.count()).toBe(1);
    await h.expectAccessible(page, 'confirm it is you, with a code');
    await dialog.getByLabel(/^Password/).fill(person.password);
    await dialog.getByLabel(/^Code or recovery code/).fill('000000');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await poll(() => dialog.getByText(/^That code is not right/).count()).toBe(1);
    await clearOfStepEnd();
    await dialog.getByLabel(/^Code or recovery code/).fill(totpCode(secret));
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await poll(() => dialog.count()).toBe(0);
    // The refused addition is made again once confirmed.
    await poll(() => section.getByRole('cell', { name: 'Confirmed key', exact: true }).count()).toBe(1);
  });

  it('explains a passkey sign-in the person cancels, in Spanish too', { timeout: 60_000 }, async () => {
    const page = await h.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    // An authenticator that holds no passkey of this site: the browser finds none and gives up.
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${h.base}/signin`);
    await page.getByLabel('Email').fill(uniqueEmail('nobody'));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await poll(() => page.getByRole('alert').textContent()).toContain('No passkey was used');
    await page.getByRole('combobox', { name: /Language|Idioma/ }).selectOption('es');
    await poll(() =>
      page.getByRole('button', { name: 'Iniciar sesión con una llave de acceso' }).count(),
    ).toBe(1);
    await h.expectAccessible(page, 'sign-in page in Spanish after a cancelled passkey');
  });
});
