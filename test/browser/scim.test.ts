import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * Settings → SCIM provisioning in a real browser, with real SCIM requests to the server on
 * loopback: an Owner reads the base URL, creates a token (confirming it is them, the session being
 * old), reads it once, and the identity provider's requests made with it show as the token's last
 * use and in the request log (a refusal with its reason, paged with Load more); the token revoked,
 * its next request is refused. A Free org is told SCIM is not on its plan; a Developer is not
 * offered the page. In Spanish too; axe-checked throughout. The console is served at PUBLIC_URL
 * (http://localhost:<port>), so the base URL shown is the one requests are sent to.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → SCIM provisioning in a browser', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole({ localhost: true });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const scimPage = (orgId: string) => `${h.base}/orgs/${orgId}/settings/scim`;
  const notified = (page: Page, text: string) =>
    poll(() => page.getByTestId('notifications').textContent()).toContain(text);

  /** The identity provider: a SCIM request with `token` as its bearer, over HTTP to the server. */
  const scim = (baseUrl: string, token: string) => async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // A SCIM resource or list, or a SCIM error document (`detail`).
    return { status: res.status, body: (await res.json()) as { detail?: string; totalResults?: number } };
  };

  /** The log's length as the API has it (entries are written once each answer has gone). */
  const logLength = async (org: { orgId: string; owner: { cookie: string } }) =>
    expectStatus(await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scim-log?limit=200`), 200).json()
      .items.length;

  it('shows the base URL, a token once, its last use and the request log; a revoked token is refused', {
    timeout: 240_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Provisioned Co', plan: 'pro' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = page.getByRole('navigation', { name: 'Settings' });
    await poll(() => nav.getByRole('link', { name: 'SCIM provisioning' }).count()).toBe(1);
    // Listed right after single sign-on.
    const labels = await nav.getByRole('link').allTextContents();
    expect(labels[labels.indexOf('Single sign-on') + 1]).toBe('SCIM provisioning');
    await nav.getByRole('link', { name: 'SCIM provisioning' }).click();
    await poll(() => page.getByRole('heading', { name: 'SCIM provisioning', level: 1 }).count()).toBe(1);

    // The base URL, as the server knows it, with a Copy button; nothing yet.
    const baseUrl = `${h.base}/scim/v2`;
    await poll(() => page.getByTestId('scim-base-url').textContent()).toBe(baseUrl);
    const connect = page.getByRole('region', { name: 'Connect your identity provider' });
    expect(await connect.getByRole('button', { name: 'Copy SCIM base URL' }).count()).toBe(1);
    expect(await connect.textContent()).toContain('Authorization: Bearer scim_…');
    expect(await connect.textContent()).toContain('Microsoft Entra ID:');
    const tokens = page.getByRole('region', { name: 'SCIM tokens' });
    const log = page.getByRole('region', { name: 'Request log' });
    await poll(() => tokens.getByText('No SCIM tokens yet.').count()).toBe(1);
    await poll(() => log.getByText('No requests from your identity provider yet.').count()).toBe(1);
    await h.expectAccessible(page, 'scim page, nothing yet');
    await h.shoot(page, 'scim-empty');

    // A token outlives the session: one signed in a while ago confirms it is the owner first.
    await h.t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '20 minutes' WHERE user_id = ${org.owner.userId}`,
    );
    await tokens.getByRole('button', { name: 'New token' }).click();
    const create = page.getByRole('dialog', { name: 'New SCIM token' });
    await create.getByRole('textbox', { name: /^Token name/ }).fill('Okta production');
    await h.expectAccessible(page, 'new scim token dialog');
    await create.getByRole('button', { name: 'Create token' }).click();
    const confirm = page.getByRole('dialog', { name: 'Confirm it is you' });
    await poll(() => confirm.count()).toBe(1);
    await confirm.getByLabel(/^Password/).fill(STRONG_PASSWORD);
    await confirm.getByRole('button', { name: 'Confirm' }).click();

    // The token, once, with the warning.
    const reveal = page.getByRole('dialog', { name: 'Copy the SCIM token now' });
    await poll(() => reveal.count()).toBe(1);
    const token = (await reveal.getByTestId('scim-token').textContent())!.trim();
    expect(token).toMatch(/^scim_[A-Za-z0-9_-]{43}$/);
    expect(await reveal.getByRole('note').textContent()).toContain('It will not be shown again');
    expect(await reveal.getByRole('button', { name: 'Copy' }).count()).toBe(1);
    await h.expectAccessible(page, 'scim token shown once');
    await h.shoot(page, 'scim-token');
    await reveal.getByRole('button', { name: 'I have stored it' }).click();
    await poll(() => reveal.count()).toBe(0);
    const row = tokens.getByRole('row').filter({ hasText: 'Okta production' });
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(`scim_…${token.slice(-4)}`);
    expect(await row.textContent()).toContain('Never');
    expect(await page.content()).not.toContain(token);

    // The identity provider at work, with that token, at the URL the page shows.
    const idp = scim(baseUrl, token);
    const empty = await idp('GET', '/Users');
    expect(empty).toMatchObject({ status: 200, body: { totalResults: 0 } });
    const email = uniqueEmail('ada');
    const created = await idp('POST', '/Users', {
      schemas: [USER],
      userName: email,
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ primary: true, value: email, type: 'work' }],
      active: true,
    });
    expect(created.status).toBe(201);
    const bad = await idp('POST', '/Users', { schemas: [USER], active: true });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toBeTruthy();
    await poll(() => logLength(org)).toBe(3);

    await log.getByRole('button', { name: 'Refresh' }).click();
    await poll(async () => (await row.textContent()) ?? '').not.toContain('Never');
    const entries = log.getByTestId('scim-log-entry');
    await poll(() => entries.count()).toBe(3);
    // Newest first: the refusal with its reason, then the user created, then the lookup.
    const texts = await entries.allTextContents();
    expect(texts[0]).toContain('POST');
    expect(texts[0]).toContain('/scim/v2/Users');
    expect(texts[0]).toContain('400');
    expect(texts[0]).toContain(bad.body.detail!);
    expect(texts[1]).toMatch(/POST.*\/scim\/v2\/Users.*201/);
    expect(texts[2]).toMatch(/GET.*\/scim\/v2\/Users.*200/);
    expect(await log.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    await h.expectAccessible(page, 'scim page, a token in use and its log');
    await h.shoot(page, 'scim-log');

    // More than a page of requests: the newest 50, then the rest with Load more.
    for (let i = 0; i < 5; i++) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => idp('GET', '/ServiceProviderConfig')));
      expect(batch.every((r) => r.status === 200)).toBe(true);
    }
    await poll(() => logLength(org)).toBe(53);
    await log.getByRole('button', { name: 'Refresh' }).click();
    await poll(() => entries.count()).toBe(50);
    expect(await entries.first().textContent()).toContain('/scim/v2/ServiceProviderConfig');
    await log.getByRole('button', { name: 'Load more' }).click();
    await poll(() => entries.count()).toBe(53);
    expect(await entries.last().textContent()).toMatch(/GET.*\/scim\/v2\/Users.*200/);
    await poll(() => log.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    // Revoked after a confirmation: the identity provider's next request is refused.
    await row.getByRole('button', { name: 'Revoke: Okta production' }).click();
    const revoke = page.getByRole('dialog', { name: 'Revoke “Okta production”?' });
    expect(await revoke.textContent()).toContain('its next request is refused');
    await h.expectAccessible(page, 'revoke scim token dialog');
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await notified(page, 'Token “Okta production” revoked.');
    await poll(() => tokens.getByText('No SCIM tokens yet.').count()).toBe(1);
    expect((await idp('GET', '/Users')).status).toBe(401);
  });

  it('tells a Free organization that its plan has no SCIM (the server refuses a token: 403 plan_limit)', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Free Forever', plan: 'free' });
    const page = await h.pageAs(org.owner);
    await page.goto(scimPage(org.orgId));
    const plan = page.getByTestId('scim-plan');
    await poll(() => plan.textContent()).toContain('SCIM provisioning is not part of the Free plan');
    expect(await plan.textContent()).toContain('SCIM provisioning needs the Scale plan or a higher one');
    expect(await page.getByRole('button', { name: 'New token' }).count()).toBe(0);
    expect(await page.getByTestId('scim-base-url').count()).toBe(0);
    // Nothing to create, revoke or read: no tokens, no log.
    expect(await page.getByRole('region', { name: 'SCIM tokens' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Request log' }).count()).toBe(0);
    await h.expectAccessible(page, 'scim page on the Free plan');
    await h.shoot(page, 'scim-free');
    const refused = await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scim-tokens`, {
      name: 'IdP',
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('plan_limit');
  });

  it('is not offered to a Developer, who is told why', { timeout: 120_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Dev Shop', plan: 'pro' });
    const dev = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const page = await h.pageAs(dev);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = page.getByRole('navigation', { name: 'Settings' });
    await poll(() => nav.getByRole('link', { name: 'Team' }).count()).toBe(1);
    expect(await nav.getByRole('link', { name: 'SCIM provisioning' }).count()).toBe(0);
    await page.goto(scimPage(org.orgId));
    await poll(() =>
      page.getByText('Your role does not let you manage SCIM provisioning (sso:manage).').count(),
    ).toBe(1);
    expect(await page.getByRole('region', { name: 'SCIM tokens' }).count()).toBe(0);
    await h.expectAccessible(page, 'scim page without the permission');
  });

  it('speaks Spanish', { timeout: 120_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Aprovisionados SL', plan: 'enterprise' });
    const owner = as(h.t.app, org.owner);
    expectStatus(await owner.patch('/api/v1/me', { locale: 'es' }), 200);
    const { token } = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/scim-tokens`, { name: 'Entra' }),
      201,
    ).json();
    expect((await scim(`${h.base}/scim/v2`, token)('GET', '/Groups/nope')).status).toBe(404);
    await poll(() => logLength(org)).toBe(1);
    const page = await h.pageAs(org.owner);
    await page.goto(scimPage(org.orgId));
    await poll(() => page.getByRole('heading', { name: 'Aprovisionamiento SCIM', level: 1 }).count()).toBe(1);
    const connect = page.getByRole('region', { name: 'Conecta tu proveedor de identidad' });
    await poll(() => connect.getByText('URL base de SCIM').count()).toBe(1);
    const row = page
      .getByRole('region', { name: 'Tokens SCIM' })
      .getByRole('row')
      .filter({ hasText: 'Entra' });
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).not.toContain('Nunca');
    const entry = page.getByRole('region', { name: 'Registro de peticiones' }).getByTestId('scim-log-entry');
    await poll(() => entry.textContent()).toMatch(/GET.*\/scim\/v2\/Groups\/nope.*404/);
    await page.getByRole('button', { name: 'Nuevo token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Nuevo token SCIM' });
    await poll(() =>
      dialog.getByText('Qué proveedor de identidad o aplicación lo usa', { exact: false }).count(),
    ).toBe(1);
    await h.expectAccessible(page, 'scim page in Spanish');
    await h.shoot(page, 'scim-es');
  });
});
