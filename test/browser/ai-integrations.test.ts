import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { type FakeProviders, startFakeProviders } from '../support/fake-providers.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → AI connections and Settings → Integrations in a real browser, against real APIs on
 * loopback (allowlisted, as an operator allows an on-premises gateway): save a connection with its
 * key, test it (ok, the latency), break the key and read the provider's 401 reason; add an
 * integration, test it, disconnect it; a reader of the settings sees them read-only, a Developer is
 * not offered the integrations; in Spanish too. Axe-checked throughout. No key ever reaches the page.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → AI connections and Integrations in a browser', () => {
  let h: ConsoleHarness;
  let fake: FakeProviders;

  beforeAll(async () => {
    h = await openConsole({ overrides: { outbound: { allowlist: ['127.0.0.1/32'] } } });
    fake = await startFakeProviders();
  }, 120_000);
  afterAll(async () => {
    await fake?.close();
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const nav = (page: Page) => page.getByRole('navigation', { name: 'Settings' });

  it('saves an AI connection, tests it, and shows the provider refusing a broken key', {
    timeout: 240_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Console AI Co' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await nav(page).getByRole('link', { name: 'AI connections' }).click();
    await poll(() => page.getByRole('heading', { name: 'AI connections', level: 1 }).count()).toBe(1);
    const card = page.getByRole('region', { name: 'Remediator' });
    await poll(() => card.getByText('Not connected.').count()).toBe(1);
    expect(await page.getByRole('region', { name: 'Validator' }).count()).toBe(1);
    await h.expectAccessible(page, 'AI connections, none');

    await card.getByRole('combobox', { name: 'Provider' }).click();
    await page
      .getByRole('listbox', { name: 'Provider' })
      .getByRole('option', { name: 'OpenAI-compatible' })
      .click();
    await card.getByLabel(/^Base URL/).fill(fake.openaiBase);
    await card.getByLabel(/^Model/).fill('gpt-4o-mini');
    await card.getByLabel(/^API key/).fill(fake.keys.openai);
    await card.getByRole('button', { name: 'Save the Remediator connection' }).click();
    await poll(() => card.getByTestId('ai-remediator-state').textContent()).toBe(
      'Connected: OpenAI-compatible, model gpt-4o-mini.',
    );
    await poll(() =>
      card.getByText(`A key ending in ${fake.keys.openai.slice(-4)} is stored`, { exact: false }).count(),
    ).toBe(1);
    expect(await card.getByLabel(/^API key/).inputValue()).toBe('');
    expect(await card.getByText('Not tested since it was saved.').count()).toBe(1);

    // The test: connected, with the status and the time it took; kept as the last test.
    await card.getByRole('button', { name: 'Test connection (Remediator)' }).click();
    const outcome = card.getByTestId('connection-test');
    await poll(() => outcome.textContent()).toMatch(/Connected in \d+ ms\./);
    expect(await outcome.textContent()).toContain('HTTP status: 200');
    expect(await outcome.textContent()).toMatch(/Time: \d+ ms/);
    await h.expectAccessible(page, 'AI connection tested');
    await h.shoot(page, 'ai-connection-ok');

    // Break the key: a new one the provider refuses; its 401 and its words (the key masked).
    const wrong = 'sk-proj-brokenKey000000000000000000000';
    await card.getByLabel(/^API key/).fill(wrong);
    await card.getByRole('button', { name: 'Save the Remediator connection' }).click();
    await poll(() => card.getByText('A key ending in 0000 is stored', { exact: false }).count()).toBe(1);
    await card.getByRole('button', { name: 'Test connection (Remediator)' }).click();
    await poll(() => outcome.textContent()).toContain('The key or token was refused (401)');
    expect(await card.getByTestId('connection-test-message').textContent()).toBe(
      'Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
    await h.expectAccessible(page, 'AI connection refused');
    await h.shoot(page, 'ai-connection-401');
    const html = await page.content();
    for (const key of [fake.keys.openai, wrong]) expect(html).not.toContain(key);

    // Settings tried before saving (another model, the stored key) are not kept.
    await card.getByLabel(/^Model/).fill('gpt-9');
    await card.getByRole('button', { name: 'Test connection (Remediator)' }).click();
    await poll(() => outcome.textContent()).toContain('The key or token was refused (401)');

    // Removal, after a confirmation.
    await card.getByLabel(/^Model/).fill('gpt-4o-mini');
    await card.getByRole('button', { name: 'Remove the Remediator connection' }).click();
    await page
      .getByRole('dialog', { name: 'Remove the Remediator connection?' })
      .getByRole('button', { name: 'Remove' })
      .click();
    await poll(() => card.getByText('Not connected.').count()).toBe(1);

    // Azure OpenAI asks for its deployment and API version.
    const validator = page.getByRole('region', { name: 'Validator' });
    await validator.getByRole('combobox', { name: 'Provider' }).click();
    await page
      .getByRole('listbox', { name: 'Provider' })
      .getByRole('option', { name: 'Azure OpenAI' })
      .click();
    await validator.getByLabel(/^Base URL/).fill(fake.url);
    await validator.getByLabel(/^Model/).fill('gpt-4o-mini');
    await validator.getByLabel(/^Deployment/).fill('validate');
    await validator.getByLabel(/^API version/).fill('2024-10-21');
    await validator.getByLabel(/^API key/).fill(fake.keys.azure);
    await validator.getByRole('button', { name: 'Test connection (Validator)' }).click();
    await poll(() => validator.getByTestId('connection-test').textContent()).toMatch(/Connected in \d+ ms\./);
    await validator.getByRole('button', { name: 'Save the Validator connection' }).click();
    await poll(() => validator.getByTestId('ai-validator-state').textContent()).toBe(
      'Connected: Azure OpenAI, model gpt-4o-mini.',
    );
    await h.expectAccessible(page, 'Azure connection');

    // A member who may read the settings and not change them sees the connection, read-only.
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'settings-reader',
        name: 'Settings reader',
        permissions: ['settings:read', 'members:read'],
      }),
      201,
    );
    const reader = await addMember(h.t.app, org, 'settings-reader', {}, h.t.mail);
    const readerPage = await h.pageAs(reader);
    await readerPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await nav(readerPage).getByRole('link', { name: 'AI connections' }).click();
    await poll(() =>
      readerPage
        .getByText('Your role lets you see these connections, not change them', { exact: false })
        .count(),
    ).toBe(1);
    const readOnly = readerPage.getByRole('region', { name: 'Validator' });
    await poll(() => readOnly.getByTestId('ai-validator-state').textContent()).toBe(
      'Connected: Azure OpenAI, model gpt-4o-mini.',
    );
    expect(
      await readerPage.getByRole('button', { name: /Save the|Test connection|Remove the/ }).count(),
    ).toBe(0);
    expect(await readOnly.getByLabel(/^API key/).count()).toBe(0);
    await h.expectAccessible(readerPage, 'AI connections read-only');
  });

  it('adds an integration, tests it, and disconnects it; a Developer is not offered the page', {
    timeout: 240_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Console Integrations Co' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await nav(page).getByRole('link', { name: 'Integrations' }).click();
    await poll(() => page.getByRole('heading', { name: 'Integrations', level: 1 }).count()).toBe(1);
    await poll(() => page.getByText('No integrations yet.').count()).toBe(1);
    await h.expectAccessible(page, 'integrations, none');

    await page.getByRole('button', { name: 'Add integration' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an integration' });
    // GitHub, with its API's address filled in; the test points it at the loopback one.
    expect(await dialog.getByLabel(/^API base URL/).inputValue()).toBe('https://api.github.com');
    await dialog.getByLabel(/^Name/).fill('Main GitHub');
    await dialog.getByLabel(/^API base URL/).fill(fake.url);
    await dialog.getByLabel(/^Secret/).fill(fake.keys.github);
    await h.expectAccessible(page, 'add integration dialog');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await poll(() => dialog.count()).toBe(0);
    const row = page.getByRole('row').filter({ hasText: 'Main GitHub' });
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('Untested');
    expect(await row.textContent()).toContain('Never tested');

    await page.getByRole('button', { name: 'Test Main GitHub' }).click();
    const tested = page.getByRole('dialog', { name: 'Test of Main GitHub' });
    await poll(() => tested.getByTestId('connection-test').textContent()).toMatch(/Connected in \d+ ms\./);
    await h.expectAccessible(page, 'integration tested');
    await tested.getByRole('button', { name: 'Close' }).last().click();
    await poll(() => row.textContent()).toContain('Connected');
    await h.shoot(page, 'integrations-connected');

    // A wrong secret: failing, with why in words.
    await page.getByRole('button', { name: 'Edit Main GitHub' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Main GitHub' });
    expect(await edit.getByText('A secret is stored; it is never shown.', { exact: false }).count()).toBe(1);
    await edit.getByLabel(/^Secret/).fill('ghp_revoked000000000000000000000000000');
    await edit.getByRole('button', { name: 'Save' }).click();
    await poll(() => row.textContent()).toContain('Untested');
    await page.getByRole('button', { name: 'Test Main GitHub' }).click();
    await poll(() => tested.getByTestId('connection-test').textContent()).toContain(
      'The key or token was refused (401)',
    );
    expect(await tested.getByTestId('connection-test-message').textContent()).toBe('Bad credentials');
    await tested.getByRole('button', { name: 'Close' }).last().click();
    await poll(() => row.textContent()).toContain('Failing');
    expect(await row.textContent()).toContain('The key or token was refused (401)');
    expect(await page.content()).not.toContain(fake.keys.github);

    // A Developer is not offered the page, and is told why if they go there.
    const dev = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() => nav(devPage).getByRole('link', { name: 'Team' }).count()).toBe(1);
    expect(await nav(devPage).getByRole('link', { name: 'Integrations' }).count()).toBe(0);
    expect(await nav(devPage).getByRole('link', { name: 'AI connections' }).count()).toBe(0);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/integrations`);
    await poll(() =>
      devPage.getByText('Your role does not let you see the integrations', { exact: false }).count(),
    ).toBe(1);
    expect(await devPage.getByRole('button', { name: 'Add integration' }).count()).toBe(0);
    await h.expectAccessible(devPage, 'integrations without the permission');

    // Disconnect, after a confirmation.
    await page.getByRole('button', { name: 'Disconnect Main GitHub' }).click();
    await page
      .getByRole('dialog', { name: 'Disconnect Main GitHub?' })
      .getByRole('button', { name: 'Disconnect' })
      .click();
    await poll(() => page.getByText('No integrations yet.').count()).toBe(1);
  });

  it('speaks Spanish', { timeout: 120_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'IA y Conexiones SL' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/integrations`, {
        kind: 'ticketing',
        provider: 'generic',
        name: 'Incidencias',
        config: { baseUrl: `${fake.url}/generic` },
        secret: fake.keys.generic,
      }),
      201,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/ai-connections`);
    await poll(() => page.getByRole('heading', { name: 'Conexiones de IA', level: 1 }).count()).toBe(1);
    await poll(() => page.getByRole('region', { name: 'Corrector' }).getByText('Sin conectar.').count()).toBe(
      1,
    );
    expect(await page.getByRole('button', { name: 'Probar la conexión de Corrector' }).count()).toBe(1);
    await h.expectAccessible(page, 'AI connections in Spanish');
    await page
      .getByRole('navigation', { name: 'Configuración' })
      .getByRole('link', { name: 'Integraciones' })
      .click();
    const row = page.getByRole('row').filter({ hasText: 'Incidencias' });
    await poll(() => row.textContent()).toContain('Sin probar');
    expect(await row.textContent()).toContain('Gestión de incidencias');
    expect(await row.textContent()).toContain('Otro (genérico)');
    await page.getByRole('button', { name: 'Probar Incidencias' }).click();
    await poll(() =>
      page
        .getByRole('dialog', { name: 'Prueba de Incidencias' })
        .getByTestId('connection-test')
        .textContent(),
    ).toMatch(/Conectado en \d+ ms\./);
    await h.expectAccessible(page, 'integrations in Spanish');
  });
});
