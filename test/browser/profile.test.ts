import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus, TINY_PNG } from '../support/orgs.ts';

/**
 * Settings → Organization → Profile in a real browser against a real server: the owner edits the
 * profile (refused slugs shown in words, nothing changed), uploads and removes the logo (loaded
 * under the console's own CSP), a member without settings:update sees it read-only, ownership
 * goes to an Admin, and the new owner deletes the organization with their password.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Organization → Profile', () => {
  let h: ConsoleHarness;
  let t: TestApp;
  let base: string;
  let files: string;

  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
    base = h.base;
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-profile-'));
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });

  const profileUrl = (orgId: string) => `${base}/orgs/${orgId}/settings/profile`;
  const readOrg = async (who: { cookie: string }, orgId: string) =>
    expectStatus(await as(t.app, who).get(`/api/v1/orgs/${orgId}`), 200).json();
  const naturalWidth = (page: Page) =>
    page
      .getByTestId('org-logo')
      .evaluate((img) => {
        const image = img as unknown as { complete: boolean; naturalWidth: number };
        return image.complete ? image.naturalWidth : 0;
      })
      .catch(() => 0);

  it('the owner edits the profile; a bad or taken slug is refused in words and changes nothing', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Profile Works' });
    const other = await createOrg(t.app, { name: 'Slug Holder' });
    const page = await h.pageAs(org.owner);
    await page.goto(profileUrl(org.orgId));
    const details = page.getByRole('region', { name: 'Details' });
    const name = details.getByRole('textbox', { name: 'Name', exact: true });
    await expect.poll(() => name.inputValue()).toBe('Profile Works');
    expect(await details.getByRole('textbox', { name: 'Plan' }).inputValue()).toBe('Scale');
    expect(await details.getByRole('textbox', { name: 'Plan' }).getAttribute('readonly')).not.toBeNull();

    // Name, description and a team address; saved, and the org switcher shows the new name.
    await name.fill('Profile Works Ltd');
    await details
      .getByRole('textbox', { name: 'Description' })
      .fill('Application security for the whole group.');
    await details.getByRole('textbox', { name: 'Contact email' }).fill('security@profile.example');
    const teamEmails = details.getByLabel('Team email addresses');
    await teamEmails.fill('appsec@profile.example');
    await teamEmails.press('Enter');
    await expectAccessible(page, 'profile page, editing');
    await details.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByTestId('notifications').textContent()).toContain('Saved.');
    const saved = await readOrg(org.owner, org.orgId);
    expect(saved).toMatchObject({
      name: 'Profile Works Ltd',
      description: 'Application security for the whole group.',
      contactEmail: 'security@profile.example',
      teamEmails: ['appsec@profile.example'],
      slug: org.slug,
    });
    // The switcher names the current org.
    await expect
      .poll(() => page.getByRole('button', { name: 'Organization: Profile Works Ltd', exact: true }).count())
      .toBe(1);
    await h.shoot(page, 'profile-owner');

    // A slug the server's pattern refuses: said in words under the field, nothing saved.
    const slug = details.getByRole('textbox', { name: 'Slug' });
    await slug.fill('Not A Slug!');
    await details.getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(() => details.getByText('Use 2 to 40 lowercase letters, digits and dashes').count())
      .toBe(1);
    expect(await slug.getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'profile page, slug refused');
    await h.shoot(page, 'profile-slug-invalid');
    expect(await readOrg(org.owner, org.orgId)).toEqual(saved);

    // Another organization's slug: 409 slug_taken, in words; nothing saved.
    await slug.fill(other.slug);
    await details.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => details.getByText('Another organization already uses this slug').count()).toBe(1);
    expect(await readOrg(org.owner, org.orgId)).toEqual(saved);

    // A good slug is saved, and /me (whose memberships carry slugs) is asked again.
    const newSlug = `profile-works-${Date.now().toString(36)}`;
    await slug.fill(newSlug);
    const meAgain = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/me');
    await details.getByRole('button', { name: 'Save changes' }).click();
    await meAgain;
    await expect.poll(() => page.getByTestId('notifications').textContent()).toContain('Saved.');
    expect((await readOrg(org.owner, org.orgId)).slug).toBe(newSlug);
    const me = expectStatus(await as(t.app, org.owner).get('/api/v1/me'), 200).json();
    expect(me.memberships.find((m: { org: { id: string } }) => m.org.id === org.orgId).org.slug).toBe(
      newSlug,
    );
  });

  it('uploads a logo that renders under the console CSP, refuses a file that is no image, removes it', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Logo Works' });
    const png = path.join(files, 'logo.png');
    fs.writeFileSync(png, TINY_PNG);
    const fake = path.join(files, 'fake.png');
    fs.writeFileSync(fake, 'this is text, not an image\n');

    const page = await h.pageAs(org.owner);
    await page.goto(profileUrl(org.orgId));
    const logo = page.getByRole('region', { name: 'Logo' });
    await expect.poll(() => logo.getByText('No logo yet.').count()).toBe(1);
    expect(await logo.getByText('A PNG or JPEG image of at most 1 MiB').count()).toBe(1);

    await logo.locator('input[type=file]').setInputFiles(png);
    await expect.poll(() => naturalWidth(page)).toBeGreaterThan(0);
    expect(await page.getByRole('img', { name: 'Logo of Logo Works' }).count()).toBe(1);
    const stored = await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/logo`);
    expect(stored.statusCode).toBe(200);
    expect(stored.rawPayload.equals(TINY_PNG)).toBe(true);
    await expectAccessible(page, 'profile page with a logo');
    await h.shoot(page, 'profile-logo');

    // The harness's pages bypass CSP (for axe); a context that keeps it must load the logo too.
    const strict = await page.context().browser()!.newContext({ locale: 'en-US' });
    try {
      const [cookieName, cookieValue] = org.owner.cookie.split('=', 2) as [string, string];
      await strict.addCookies([
        { name: cookieName, value: cookieValue, url: base, httpOnly: true, sameSite: 'Lax' },
      ]);
      const strictPage = await strict.newPage();
      const refused: string[] = [];
      strictPage.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) refused.push(msg.text());
      });
      const response = await strictPage.goto(profileUrl(org.orgId));
      expect(response?.headers()['content-security-policy']).toContain("img-src 'self'");
      await expect.poll(() => naturalWidth(strictPage)).toBeGreaterThan(0);
      expect(refused).toEqual([]);
    } finally {
      await strict.close();
    }

    // Bytes that are not an image, named .png: the server reads them and says no; the logo stays.
    await logo.locator('input[type=file]').setInputFiles(fake);
    await expect.poll(() => logo.getByText('The file is not a PNG or JPEG image').count()).toBe(1);
    expect(
      (await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/logo`)).rawPayload.equals(TINY_PNG),
    ).toBe(true);

    await logo.getByRole('button', { name: 'Remove logo' }).click();
    const confirmRemove = page.getByRole('dialog', { name: 'Remove the logo?' });
    await confirmRemove.getByRole('button', { name: 'Remove logo' }).click();
    await expect.poll(() => logo.getByText('No logo yet.').count()).toBe(1);
    expect(await page.getByTestId('org-logo').count()).toBe(0);
    expect((await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/logo`)).statusCode).toBe(404);
    expect((await readOrg(org.owner, org.orgId)).logoUrl).toBeNull();
  });

  it('a Viewer sees the profile read-only once their role may read settings, and no danger zone', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Viewer Works' });
    const viewer = await addMember(t.app, org, 'viewer', { name: 'Vera Viewer' }, t.mail);
    const page = await h.pageAs(viewer);

    // Out of the box a Viewer may not read settings: no Profile link, and the page says why.
    await page.goto(`${base}/orgs/${org.orgId}/settings/team`);
    await expect.poll(() => page.getByRole('link', { name: 'Team' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Profile' }).count()).toBe(0);
    await page.goto(profileUrl(org.orgId));
    await expect.poll(() => page.getByText('Your role does not allow this').count()).toBe(1);

    // The owner lets Viewers read settings (not change them).
    const roles = expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/roles`), 200).json();
    const viewerRole = roles.items.find((r: { slug: string }) => r.slug === 'viewer');
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/roles/viewer`, {
        permissions: [...viewerRole.permissions, 'settings:read'],
      }),
      200,
    );

    await page.goto(`${base}/orgs/${org.orgId}/settings/team`);
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.waitForURL(/\/settings\/profile$/);
    const details = page.getByRole('region', { name: 'Details' });
    const name = details.getByRole('textbox', { name: 'Name', exact: true });
    await expect.poll(() => name.inputValue()).toBe('Viewer Works');
    for (const field of ['Name', 'Slug', 'Description', 'Contact email', 'Website', 'Industry']) {
      expect(
        await details.getByRole('textbox', { name: field, exact: true }).getAttribute('readonly'),
        field,
      ).not.toBeNull();
    }
    expect(await details.getByText('Changing it needs the settings:update permission').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Upload logo|Remove logo/ }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Danger zone' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Transfer ownership|Delete organization/ }).count()).toBe(
      0,
    );
    await expectAccessible(page, 'profile page, read-only');
    await h.shoot(page, 'profile-viewer');
  });

  it('the owner hands ownership to an Admin, who deletes the organization with their password', {
    timeout: 150_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Handover Works' });
    const admin = await addMember(t.app, org, 'admin', { name: 'Ada Admin' }, t.mail);
    await addMember(t.app, org, 'developer', { name: 'Dev Eloper' }, t.mail);

    const page = await h.pageAs(org.owner);
    await page.goto(profileUrl(org.orgId));
    const danger = page.getByRole('region', { name: 'Danger zone' });
    const transfer = danger.getByRole('region', { name: 'Transfer ownership' });
    const newOwner = transfer.getByRole('combobox', { name: 'New owner' });
    await newOwner.click();
    // Only Admins can become owner: the developer is not offered.
    await expect.poll(() => page.getByRole('option', { name: `Ada Admin (${admin.email})` }).count()).toBe(1);
    expect(await page.getByRole('option', { name: /Dev Eloper/ }).count()).toBe(0);
    await page.getByRole('option', { name: `Ada Admin (${admin.email})` }).click();
    await transfer.getByRole('button', { name: 'Transfer ownership' }).click();
    const confirm = page.getByRole('dialog', { name: 'Transfer ownership' });
    await expect
      .poll(() => confirm.getByText(/Make Ada Admin .* the owner of Handover Works/).count())
      .toBe(1);
    await expectAccessible(page, 'transfer confirmation');
    await h.shoot(page, 'profile-transfer-confirm');
    await confirm.getByRole('button', { name: 'Transfer ownership' }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Ownership transferred to Ada Admin' }).count())
      .toBe(1);
    // The former owner, now an Admin, no longer holds org:transfer or org:delete.
    await expect.poll(() => page.getByRole('region', { name: 'Danger zone' }).count()).toBe(0);
    const members = expectStatus(
      await as(t.app, admin).get(`/api/v1/orgs/${org.orgId}/members?limit=200`),
      200,
    ).json().items as Array<{ userId: string; role: string }>;
    expect(members.find((m) => m.userId === admin.userId)?.role).toBe('owner');
    expect(members.find((m) => m.userId === org.owner.userId)?.role).toBe('admin');
    await h.shoot(page, 'profile-transferred');

    // The new owner deletes it: the name typed out, then the password.
    const ownerPage = await h.pageAs(admin);
    await ownerPage.goto(profileUrl(org.orgId));
    const del = ownerPage.getByRole('region', { name: 'Delete organization' });
    await del.getByRole('button', { name: 'Delete organization' }).click();
    const dialog = ownerPage.getByRole('dialog', { name: 'Delete Handover Works?' });
    const submit = dialog.getByRole('button', { name: 'Delete this organization' });
    const password = dialog.getByLabel('Your password');
    await password.fill(admin.password);
    await dialog.getByRole('textbox', { name: /Type the organization name/ }).fill('Handover');
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByRole('textbox', { name: /Type the organization name/ }).fill('Handover Works');
    expect(await submit.isDisabled()).toBe(false);

    await password.fill('not-my-password-at-all');
    await submit.click();
    await expect.poll(() => dialog.getByText('The password is incorrect.').count()).toBe(1);
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(ownerPage, 'delete dialog with a wrong password');
    await h.shoot(ownerPage, 'profile-delete-wrong-password');
    expect((await readOrg(admin, org.orgId)).name).toBe('Handover Works');

    await password.fill(admin.password);
    await submit.click();
    await ownerPage.waitForURL((url) => !url.pathname.includes(org.orgId));
    expect((await as(t.app, admin).get(`/api/v1/orgs/${org.orgId}`)).statusCode).toBe(404);
    const me = expectStatus(await as(t.app, admin).get('/api/v1/me'), 200).json();
    expect(me.memberships.some((m: { org: { id: string } }) => m.org.id === org.orgId)).toBe(false);
    await h.shoot(ownerPage, 'profile-deleted');
  });

  const expectAccessible = (page: Page, what: string) => h.expectAccessible(page, what);
});
