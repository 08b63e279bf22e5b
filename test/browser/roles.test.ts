import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → Organization → Roles in a real browser against a real server: the roles and their
 * permission matrix, a custom role created from Viewer and widened in the matrix, its deletion
 * with its member moved to Viewer, the read-only view of a Viewer, and a wide matrix that keeps
 * its header row and permission column in view while scrolling.
 */
describe.skipIf(!HAS_CHROMIUM)('the Roles page in a browser', () => {
  let h: ConsoleHarness;
  let t: TestApp;

  beforeAll(async () => {
    h = await openConsole();
    t = h.t;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  // Writes go through a real server on a shared machine: give each wait more than a second.
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
  type Org = Awaited<ReturnType<typeof createOrg>>;
  const rolesOf = async (org: Org) =>
    expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/roles`), 200).json()
      .items as Array<{
      slug: string;
      permissions: string[];
    }>;
  const openRoles = async (page: Page, org: Org) => {
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/roles`);
    await poll(() => page.getByRole('heading', { name: 'Roles', level: 1 }).count()).toBe(1);
    await poll(() => page.getByRole('checkbox', { name: 'Viewer: findings:read' }).count()).toBe(1);
  };

  it('owner: built-ins, a custom role from Viewer widened and saved, deleted with its member moved', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const page = await h.pageAs(org.owner);
    await openRoles(page, org);

    // The five built-in roles, with slug, badge, description and member count.
    const list = page.getByRole('region', { name: 'All roles' });
    for (const slug of ['owner', 'admin', 'cyberoper', 'developer', 'viewer']) {
      await poll(() => list.getByTestId(`role-${slug}`).count()).toBe(1);
      expect(await list.getByTestId(`role-${slug}`).textContent()).toContain('Built-in');
    }
    expect(await list.getByTestId('role-owner').textContent()).toMatch(/Full control.*1\s*36$/);
    // Built-in roles cannot be renamed or deleted, and Owner's permissions cannot change.
    expect(await list.getByRole('button', { name: /^(Edit|Delete) / }).count()).toBe(0);
    const matrix = page.getByRole('region', { name: 'Permissions by role' });
    for (const perm of ['scans:create', 'billing:manage', 'org:transfer']) {
      const cell = matrix.getByRole('checkbox', { name: `Owner: ${perm}` });
      expect(await cell.isChecked()).toBe(true);
      expect(await cell.isDisabled()).toBe(true);
    }
    // Each permission carries its catalog description, as the cell's accessible description too.
    const described = matrix.getByRole('checkbox', { name: 'Viewer: scans:create' });
    const descriptionId = await described.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${descriptionId}"]`).textContent()).toBe(
      'Start scans and upload results',
    );
    expect(await matrix.getByRole('rowheader', { name: /scans:create/ }).textContent()).toContain(
      'Start scans and upload results',
    );
    await h.expectAccessible(page, 'roles page (owner)');
    await h.shoot(page, 'roles-01-owner');

    // A custom role, starting from Viewer; the slug follows the name.
    await page.getByRole('button', { name: 'Create role' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create role' });
    await dialog.getByLabel('Name').fill('Security Lead');
    expect(await dialog.getByLabel('Slug').inputValue()).toBe('security-lead');
    await dialog.getByLabel('Description').fill('Leads the security reviews');
    await dialog.getByLabel('Start from').selectOption({ label: 'Viewer' });
    await h.expectAccessible(page, 'create role dialog');
    await h.shoot(page, 'roles-02-create');
    await dialog.getByRole('button', { name: 'Create role' }).click();
    await poll(() => dialog.count()).toBe(0);
    const leadRow = list.getByTestId('role-security-lead');
    await poll(() => leadRow.count()).toBe(1);
    expect(await leadRow.textContent()).toContain('Leads the security reviews');
    expect(await leadRow.textContent()).toContain('Custom');

    // It holds Viewer's permissions; add one in the matrix: unsaved until saved.
    const leadCell = matrix.getByRole('checkbox', { name: 'Security Lead: scans:create' });
    await poll(() => leadCell.count()).toBe(1);
    expect(await matrix.getByRole('checkbox', { name: 'Security Lead: findings:read' }).isChecked()).toBe(
      true,
    );
    expect(await leadCell.isChecked()).toBe(false);
    await leadCell.click();
    const unsaved = page.getByRole('region', { name: 'Unsaved changes' });
    await poll(() => unsaved.count()).toBe(1);
    expect(await unsaved.textContent()).toContain('+ scans:create');
    expect((await rolesOf(org)).find((r) => r.slug === 'security-lead')?.permissions).not.toContain(
      'scans:create',
    );
    await h.expectAccessible(page, 'roles page with unsaved changes');
    await h.shoot(page, 'roles-03-unsaved');
    await unsaved.getByRole('button', { name: 'Save Security Lead' }).click();
    await poll(() => unsaved.count()).toBe(0);
    await poll(async () => (await rolesOf(org)).find((r) => r.slug === 'security-lead')?.permissions).toEqual(
      [
        'findings:read',
        'scans:read',
        'scans:create',
        'scans:export',
        'applications:read',
        'policies:read',
        'members:read',
      ],
    );
    expect(await leadCell.isChecked()).toBe(true);

    // Its name and description can change; its slug cannot.
    await list.getByRole('button', { name: 'Edit Security Lead' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit role: Security Lead' });
    expect(await edit.getByLabel('Slug').getAttribute('readonly')).not.toBeNull();
    await edit.getByLabel('Description').fill('Leads security reviews and triage');
    await edit.getByRole('button', { name: 'Save' }).click();
    await poll(() => edit.count()).toBe(0);
    await poll(() => leadRow.textContent()).toContain('Leads security reviews and triage');

    // Someone gets the role (through the API); deleting it now needs a role to move them to.
    const sam = await addMember(t.app, org, 'security-lead', { name: 'Sam Lead' }, t.mail);
    await list.getByRole('button', { name: 'Delete Security Lead' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete role: Security Lead' });
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    const moveTo = confirm.getByLabel('Move its members to');
    await poll(() => moveTo.count()).toBe(1);
    // The server's refusal (409 role_in_use), in words.
    expect(await confirm.textContent()).toContain(
      'It is still held by 1 member(s), 0 pending invitation(s) and 0 automation token(s).',
    );
    const offered = await moveTo.locator('option:not([disabled])').allTextContents();
    expect(offered).toEqual(['Admin', 'Cyberoper', 'Developer', 'Viewer']);
    expect(await confirm.getByRole('button', { name: 'Move and delete' }).isDisabled()).toBe(true);
    await moveTo.selectOption({ label: 'Viewer' });
    await h.expectAccessible(page, 'delete role dialog');
    await h.shoot(page, 'roles-04-reassign');
    await confirm.getByRole('button', { name: 'Move and delete' }).click();
    await poll(() => confirm.count()).toBe(0);
    await poll(() => leadRow.count()).toBe(0);
    await poll(() => page.getByTestId('notifications').textContent()).toContain(
      'Role Security Lead deleted.',
    );
    expect((await rolesOf(org)).map((r) => r.slug)).not.toContain('security-lead');
    const member = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members/${sam.userId}`),
      200,
    ).json();
    expect(member.role).toBe('viewer');
    await poll(() => list.getByTestId('role-viewer').textContent()).toMatch(/1\s*6$/);
  });

  it('a Viewer sees the matrix read-only, with no create, edit, delete or save', {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'auditor',
        name: 'Auditor',
        permissions: ['members:read', 'audit:read'],
      }),
      201,
    );
    const vera = await addMember(t.app, org, 'viewer', { name: 'Vera Viewer' }, t.mail);
    const page = await h.pageAs(vera);
    await openRoles(page, org);
    await poll(() => page.getByRole('checkbox', { name: 'Auditor: audit:read' }).count()).toBe(1);
    const boxes = page.getByRole('checkbox');
    expect(await boxes.count()).toBe(36 * 6);
    expect(await page.locator('input[type=checkbox]:not([disabled])').count()).toBe(0);
    expect(await page.getByRole('checkbox', { name: 'Auditor: audit:read' }).isChecked()).toBe(true);
    expect(await page.getByText('Changing them needs the roles:manage permission').count()).toBe(1);
    for (const name of ['Create role', 'Edit Auditor', 'Delete Auditor', /^Save/]) {
      expect(await page.getByRole('button', { name }).count()).toBe(0);
    }
    await h.expectAccessible(page, 'roles page (viewer)');
    await h.shoot(page, 'roles-05-viewer');
  });

  it('an Admin is refused a role beyond their own permissions, with the reason shown', {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const ada = await addMember(t.app, org, 'admin', { name: 'Ada Admin' }, t.mail);
    const page = await h.pageAs(ada);
    await openRoles(page, org);
    // Cells an Admin cannot grant stay disabled; others in an editable role are not.
    const matrix = page.getByRole('region', { name: 'Permissions by role' });
    expect(await matrix.getByRole('checkbox', { name: 'Viewer: billing:read' }).isDisabled()).toBe(true);
    expect(await matrix.getByRole('checkbox', { name: 'Viewer: scans:create' }).isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Create role' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create role' });
    await dialog.getByLabel('Name').fill('Billing Reader');
    await dialog.getByLabel('Start from').selectOption({ label: 'Owner' });
    await poll(() => dialog.getByText(/You do not hold billing:read/).count()).toBe(1);
    await dialog.getByRole('button', { name: 'Create role' }).click();
    const alert = dialog.getByRole('alert');
    await poll(() => alert.count()).toBe(1);
    // In words, with the next step; never the raw code.
    expect(await alert.textContent()).toMatch(/^Your role does not allow this.*Ask an Owner or Admin/);
    expect(await alert.textContent()).not.toContain('permission_denied');
    await h.expectAccessible(page, 'create role refused');
    await h.shoot(page, 'roles-06-refused');
    expect((await rolesOf(org)).map((r) => r.slug)).not.toContain('billing-reader');
  });

  it('keeps the header row and the permission column in view in a wide matrix', {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const names = ['Auditor', 'Billing Reader', 'Incident Responder', 'Platform Engineer', 'Release Manager'];
    for (const name of names) {
      expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
          slug: name.toLowerCase().replace(' ', '-'),
          name,
          permissions: ['members:read', 'findings:read'],
        }),
        201,
      );
    }
    const page = await h.pageAs(org.owner);
    await page.setViewportSize({ width: 1280, height: 800 });
    await openRoles(page, org);
    const scroller = page.getByTestId('roles-matrix');
    await poll(() => page.getByRole('checkbox', { name: 'Release Manager: org:transfer' }).count()).toBe(1);
    // Scroll to the far corner: the last role's header and the last permission's row header stay visible.
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.scrollLeft = el.scrollWidth;
    });
    const box = (await scroller.boundingBox())!;
    const header = (await page.getByRole('columnheader', { name: 'Release Manager' }).boundingBox())!;
    const corner = (await page.getByRole('columnheader', { name: 'Permission', exact: true }).boundingBox())!;
    const lastRow = (await page.getByRole('rowheader', { name: /org:transfer/ }).boundingBox())!;
    expect(header.y).toBeGreaterThanOrEqual(box.y - 1);
    expect(header.y).toBeLessThan(box.y + 5);
    expect(corner.x).toBeGreaterThanOrEqual(box.x - 1);
    expect(corner.x).toBeLessThan(box.x + 5);
    expect(lastRow.x).toBeLessThan(box.x + 5);
    expect(lastRow.y + lastRow.height).toBeLessThanOrEqual(box.y + box.height + 1);
    await h.shoot(page, 'roles-07-wide-matrix');
  });

  it('saves a column as a change to the role as it is now: another admin’s edit meanwhile stays', {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const developer = async () => (await rolesOf(org)).find((r) => r.slug === 'developer')!.permissions;
    const before = await developer();
    const kept = before.find((p) => p !== 'members:read')!;
    const page = await h.pageAs(org.owner);
    await openRoles(page, org);
    // This page adds audit:read to Developer …
    expect(before).not.toContain('audit:read');
    await page.getByRole('checkbox', { name: 'Developer: audit:read' }).click();
    // … while another admin removes one of its permissions, after this page read the roles.
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/roles/developer`, {
        permissions: before.filter((p) => p !== kept),
      }),
      200,
    );
    const unsaved = page.getByRole('region', { name: 'Unsaved changes' });
    await unsaved.getByRole('button', { name: 'Save Developer' }).click();
    await poll(() => unsaved.count()).toBe(0);
    const after = await developer();
    expect(after).toContain('audit:read');
    // The other admin's removal was not undone by this page's older copy of the role.
    expect(after).not.toContain(kept);
  });
});
