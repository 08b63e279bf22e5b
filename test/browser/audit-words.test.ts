import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, createPersonalToken, expectStatus } from '../support/orgs.ts';

/**
 * The audit log in words and the member page, in a real browser against a real server: a role
 * change reads "Developer → Admin" with the member's email (in Spanish with the built-in roles'
 * Spanish names and a Spanish date in the user's zone), an entry's detail with its change and
 * raw JSON, export refused in words on the Free plan, and a member's page with their tokens and
 * timeline, and what a Viewer is told instead.
 */
describe.skipIf(!HAS_CHROMIUM)('audit entries in words and the member page', () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
  type Org = Awaited<ReturnType<typeof createOrg>>;

  /** An org where Dana (Developer, one personal token) is promoted to Admin by the owner. */
  async function promoted(plan: 'free' | 'pro' = 'pro') {
    const org = await createOrg(h.t.app, { plan });
    const dana = await addMember(h.t.app, org, 'developer', { name: 'Dana Dev' }, h.t.mail);
    await createPersonalToken(h.t.app, dana, org.orgId, ['read'], { name: 'dana laptop' });
    expectStatus(
      await as(h.t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${dana.userId}`, {
        role: 'admin',
      }),
      200,
    );
    const entries = expectStatus(
      await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=member.role_changed`),
      200,
    ).json().items as Array<{ seq: number; occurredAt: string }>;
    return { org, dana, change: entries[0]! };
  }

  const openLog = async (page: Page, org: Org) => {
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/audit-log`);
    const row = page.locator('tr', { has: page.locator('td[data-action="member.role_changed"]') });
    await poll(() => row.count()).toBe(1);
    return row;
  };

  it('a role change reads "Developer → Admin" with the member’s email; its detail in words, raw JSON a click away', {
    timeout: 120_000,
  }, async () => {
    const { org, dana, change } = await promoted();
    const page = await h.pageAs(org.owner);
    const row = await openLog(page, org);
    const text = await row.textContent();
    expect(text).toContain('Developer → Admin');
    expect(text).toContain(`Dana Dev <${dana.email}>`);
    expect(text).toContain('Role changed');
    expect(text).toContain(org.owner.email);
    // The invitation names the invitee; export is offered (Scale plan, an owner).
    const invited = page.locator('tr', { has: page.locator('td[data-action="member.invited"]') });
    await poll(() => invited.textContent()).toContain(dana.email);
    expect(await invited.textContent()).toContain('Organization: Acme Security');
    expect(await page.getByRole('link', { name: 'Export CSV' }).count()).toBe(1);
    // OCSF for SIEMs beside the others.
    expect(await page.getByRole('link', { name: 'Export OCSF' }).getAttribute('href')).toContain(
      'format=ocsf',
    );
    await h.expectAccessible(page, 'audit log in words');
    await h.shoot(page, 'audit-words-01-log');

    await page.getByRole('button', { name: `Show entry ${change.seq}` }).click();
    const dialog = page.getByRole('dialog');
    const changes = dialog.getByTestId('audit-entry-changes');
    await poll(() => changes.count()).toBe(1);
    const roleRow = changes.getByRole('row', { name: /^Role/ });
    expect(await roleRow.locator('td').allTextContents()).toEqual(['Developer', 'Admin']);
    expect(await dialog.getByTestId('audit-entry-words').textContent()).toContain(dana.email);
    expect(await dialog.getByTestId('audit-entry').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Show the stored entry (JSON)' }).click();
    await poll(() => dialog.getByTestId('audit-entry').textContent()).toMatch(/"prevHash"/);
    await h.expectAccessible(page, 'audit entry in words');
    await h.shoot(page, 'audit-words-02-entry');
  });

  it('an entry that carries names shows them (a custom role by its stored name)', {
    timeout: 60_000,
  }, async () => {
    const org = await createOrg(h.t.app);
    const sam = await addMember(h.t.app, org, 'viewer', { name: 'Sam Viewer' }, h.t.mail);
    // An entry as the server writes it with names (target name and email, roleName beside role).
    await h.t.app.gatehouse.audit.appendNow([
      {
        chain: { kind: 'org', id: org.orgId },
        actor: { type: 'user', id: org.owner.userId, email: org.owner.email },
        action: 'member.role_changed',
        target: { type: 'member', id: sam.userId, name: 'Sam Viewer', email: sam.email } as {
          type: string;
          id: string;
        },
        before: { role: 'viewer', roleName: 'Viewer' },
        after: { role: 'sec-lead', roleName: 'Security Lead' },
        meta: { ip: null, userAgent: null, requestId: null },
      },
    ]);
    const page = await h.pageAs(org.owner);
    const row = await openLog(page, org);
    expect(await row.textContent()).toContain('Viewer → Security Lead');
    // The member's name and email: the entry's own, else the members list's.
    expect(await row.textContent()).toContain(`Sam Viewer <${sam.email}>`);
  });

  it('in Spanish: built-in role names translated and dates in Spanish, in the user’s time zone', {
    timeout: 120_000,
  }, async () => {
    const { org, dana, change } = await promoted();
    const zone = 'America/Mexico_City';
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es', timezone: zone }), 200);
    const page = await h.pageAs(org.owner);
    const row = await openLog(page, org);
    await poll(() => row.textContent()).toContain('Desarrollador → Administrador');
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('Rol cambiado');
    expect(text).toContain(dana.email);
    // The time as Spanish writes it in that zone (e.g. "4 dic 2026, 14:05"), not the browser's.
    const expected = await page.evaluate(
      ([iso, timeZone]) =>
        new Intl.DateTimeFormat('es', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(
          new Date(iso!),
        ),
      [change.occurredAt, zone],
    );
    expect(expected).toMatch(
      /^\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\.? \d{4}, \d{1,2}:\d{2}$/,
    );
    expect(await row.locator('td').nth(1).textContent()).toBe(expected);
    await h.expectAccessible(page, 'audit log in Spanish');
    await h.shoot(page, 'audit-words-03-spanish');

    // The Roles page: built-in names, descriptions and permission descriptions in Spanish.
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/roles`);
    const viewerCell = page.getByRole('checkbox', { name: 'Lector: scans:create' });
    await poll(() => viewerCell.count()).toBe(1);
    const described = await viewerCell.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${described}"]`).textContent()).toBe(
      'Iniciar escaneos y subir resultados',
    );
    expect(await page.getByTestId('role-owner').textContent()).toContain('Control total');
    await h.expectAccessible(page, 'roles in Spanish');
  });

  it('export on the Free plan is disabled, with the reason', { timeout: 60_000 }, async () => {
    const org = await createOrg(h.t.app, { plan: 'free' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/audit-log`);
    const button = page.getByRole('button', { name: 'Export CSV' });
    await poll(() => button.count()).toBe(1);
    expect(await button.isDisabled()).toBe(true);
    expect(await page.getByRole('link', { name: /^Export/ }).count()).toBe(0);
    expect(await page.getByTestId('audit-export-reason').textContent()).toBe(
      'The Free plan does not include audit log export; a paid plan does.',
    );
    await h.expectAccessible(page, 'audit log, export not in the plan');
  });

  it('the member page: details, personal tokens and timeline; a Viewer is told what each part needs', {
    timeout: 120_000,
  }, async () => {
    const { org, dana } = await promoted();
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await page.getByRole('link', { name: 'Dana Dev' }).click();
    await page.waitForURL(new RegExp(`/settings/team/${dana.userId}$`));
    await poll(() => page.getByRole('heading', { name: 'Dana Dev', level: 1 }).count()).toBe(1);
    const facts = page.getByTestId('member-facts');
    expect(await facts.textContent()).toContain(dana.email);
    expect(await facts.textContent()).toContain('Admin');
    const tokens = page.getByTestId('member-tokens');
    await poll(() => tokens.getByRole('cell', { name: 'dana laptop' }).count()).toBe(1);
    const timeline = page.getByTestId('member-timeline');
    // As target (the role change, the invitation accepted) and as actor (their token).
    const roleChange = timeline.locator('tr', { has: page.locator('td[data-action="member.role_changed"]') });
    await poll(() => roleChange.count()).toBe(1);
    expect(await roleChange.textContent()).toContain('Developer → Admin');
    await poll(() => timeline.locator('td[data-action="token.created"]').count()).toBe(1);
    await h.expectAccessible(page, 'member page');
    await h.shoot(page, 'audit-words-04-member');

    // A Viewer may see members, but neither the audit log nor others' tokens.
    const viewer = await addMember(h.t.app, org, 'viewer', { name: 'Vic Viewer' }, h.t.mail);
    const seen = await h.pageAs(viewer);
    await seen.goto(`${h.base}/orgs/${org.orgId}/settings/team/${dana.userId}`);
    await poll(() => seen.getByRole('heading', { name: 'Dana Dev', level: 1 }).count()).toBe(1);
    expect(await seen.getByTestId('member-tokens').textContent()).toContain('api_keys:manage');
    expect(await seen.getByTestId('member-timeline').textContent()).toContain('audit:read');
    expect(await seen.getByRole('table').count()).toBe(1);
    await h.expectAccessible(seen, 'member page (viewer)');
  });
});
