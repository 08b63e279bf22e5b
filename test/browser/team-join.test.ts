import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, signUp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * The Team page's share link and requests to join, and the Audit Log page's filters, in a real
 * browser against a real server on loopback.
 */
describe.skipIf(!HAS_CHROMIUM)('share link, requests to join and audit filters in the console', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('a share link is shown once; its opener asks to join; the admin approves with a role', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Join Corp' });
    const admin = await h.pageAs(org.owner);
    await admin.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    // The page's first reads were preloaded by its HTML (initiator: link), and the app used those
    // answers: one request each, no second fetch.
    await expect.poll(() => admin.getByTestId(`member-${org.owner.email}`).count()).toBe(1);
    const fetches = (suffix: string) =>
      admin.evaluate(
        `performance.getEntriesByType('resource').filter((r) => r.name.endsWith(${JSON.stringify(suffix)})).map((r) => r.initiatorType).join()`,
      );
    for (const suffix of ['/api/v1/me', '/roles', '/members?limit=50'])
      expect(await fetches(suffix), suffix).toBe('link');
    const linkSection = admin.getByRole('region', { name: 'Share link' });
    await expect.poll(() => linkSection.getByTestId('join-link-state').textContent()).toBe('Off.');
    await linkSection.getByRole('button', { name: 'Create share link' }).click();
    const shown = linkSection.getByTestId('join-link-url');
    await expect.poll(() => shown.textContent()).toMatch(/\/join#token=/);
    const url = (await shown.textContent())!;
    await expect.poll(() => linkSection.getByTestId('join-link-state').textContent()).toMatch(/^On since/);
    await h.shoot(admin, 'team-share-link');

    // Someone without an account opens it (on this server), creates one and asks to join.
    const dana = { name: 'Dana Doe', email: uniqueEmail('dana') };
    const visitor = await h.newPage();
    await visitor.goto(`${h.base}/join${url.slice(url.indexOf('#'))}`);
    await visitor.getByRole('link', { name: 'Create account' }).click();
    await visitor.getByLabel('Name').fill(dana.name);
    await visitor.getByLabel('Email').fill(dana.email);
    await visitor.locator('input[type=password]').fill(STRONG_PASSWORD);
    await visitor.getByRole('button', { name: 'Create account' }).click();
    await visitor.waitForURL(/\/join$/);
    await h.expectAccessible(visitor, 'join page');
    await visitor.getByRole('button', { name: 'Ask to join' }).click();
    await expect
      .poll(() => visitor.getByRole('status').textContent())
      .toMatch(/Join Corp is waiting for an admin/);
    await h.shoot(visitor, 'join-requested');

    // The admin sees the request, picks Developer and approves.
    await admin.reload();
    const requests = admin.getByRole('region', { name: 'Requests to join' });
    const row = requests.getByTestId(`join-request-${dana.email}`);
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.getByRole('combobox').inputValue()).toBe('viewer');
    await row.getByRole('combobox').selectOption({ label: 'Developer' });
    await h.expectAccessible(admin, 'team page with requests');
    await h.shoot(admin, 'team-join-request');
    await row.getByRole('button', { name: `Approve: ${dana.email}` }).click();
    await expect.poll(() => row.count()).toBe(0);
    await expect.poll(() => admin.getByTestId(`member-${dana.email}`).count()).toBe(1);
    const members = expectStatus(
      await as(h.t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/members?q=${encodeURIComponent(dana.email)}`,
      ),
      200,
    );
    expect(members.json().items[0].role).toBe('developer');

    // Rotating hides the old link: it no longer works.
    await linkSection.getByRole('button', { name: 'Rotate link' }).click();
    // Rotating breaks the link for whoever has it: the console asks first.
    const rotateDialog = admin.getByRole('dialog', { name: 'Rotate the share link?' });
    await h.expectAccessible(admin, 'rotate share link confirmation');
    await rotateDialog.getByRole('button', { name: 'Rotate link' }).click();
    await expect.poll(async () => (await shown.textContent()) !== url).toBe(true);
    const stranger = await signUp(h.t.app);
    const other = await as(h.t.app, stranger).post('/api/v1/join-requests', {
      token: new URLSearchParams(url.slice(url.indexOf('#') + 1)).get('token'),
    });
    expect(other.statusCode).toBe(410);
    await linkSection.getByRole('button', { name: 'Turn off' }).click();
    await admin
      .getByRole('dialog', { name: 'Turn off the share link?' })
      .getByRole('button', { name: 'Turn off' })
      .click();
    await expect.poll(() => linkSection.getByTestId('join-link-state').textContent()).toBe('Off.');
  });

  it('the audit log filters by action, actor, target and time, and refuses a malformed action', {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Filter Corp' });
    const owner = as(h.t.app, org.owner);
    expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [uniqueEmail('x')],
        role: 'viewer',
      }),
      201,
    );
    expectStatus(await owner.post(`/api/v1/orgs/${org.orgId}/join-link`), 201);
    const role = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'auditors',
        name: 'Auditors',
        permissions: ['audit:read'],
      }),
      201,
    ).json();
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/audit-log`);
    // An entry's action cell shows its label in words and keeps the action itself as data.
    const cell = (action: string) => page.locator(`td[data-action="${action}"]`);
    await expect.poll(() => cell('join_link.rotated').count()).toBe(1);
    await expect.poll(() => cell('member.invited').count()).toBe(1);

    // By action (a wildcard), kept in the address.
    await page.getByLabel('Action', { exact: true }).fill('member.*');
    await expect.poll(() => cell('join_link.rotated').count()).toBe(0);
    await expect.poll(() => cell('member.invited').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('action')).toBe('member.*');
    // A half-typed action is explained, not sent (the list stays as it was, no error).
    await page.getByLabel('Action', { exact: true }).fill('member.');
    await expect.poll(() => page.getByText(/An action such as member.invited/).count()).toBe(1);
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => cell('join_link.rotated').count()).toBe(1);

    // By time: a range that ends before the org existed shows nothing.
    await page.getByLabel('Until').fill('2020-01-01T00:00');
    await expect.poll(() => page.getByText('Nothing here yet.').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear filters' }).click();

    // By target: clicking an entry's target; by actor: clicking the actor.
    await expect.poll(() => cell('role.created').count()).toBe(1);
    await cell('role.created').locator('xpath=..').getByTitle('Show only entries about this target').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('targetId')).toBe(role.id);
    await expect.poll(() => cell('org.created').count()).toBe(0);
    await expect.poll(() => cell('role.created').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByTitle('Show only this actor’s entries').first().click();
    await expect.poll(() => new URL(page.url()).searchParams.get('actorId')).toBe(org.owner.userId);
    await expect.poll(() => cell('member.invited').count()).toBe(1);

    // An entry opens in full (hashes included).
    await page.getByRole('button', { name: 'Show entry 1' }).click();
    await page.getByRole('button', { name: 'Show the stored entry (JSON)' }).click();
    await expect.poll(() => page.getByTestId('audit-entry').textContent()).toMatch(/"prevHash"/);
    await h.expectAccessible(page, 'audit log with an entry open');
    await h.shoot(page, 'audit-entry');
  });
});
