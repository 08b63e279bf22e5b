import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';
import { type Receiver, startReceiver, verifyDelivery } from '../support/receiver.ts';

/**
 * Settings → Webhooks in a real browser, against a receiver on loopback: create a webhook with
 * the events picker, see its secret once (it verifies what the receiver gets), send a test and
 * read the receiver's answer, read the delivery in the log and redeliver it; rotate the secret;
 * a Developer is not offered the page; in Spanish too. Axe-checked throughout.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Webhooks in a browser', () => {
  let h: ConsoleHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    h = await openConsole({ overrides: { outbound: { allowlist: ['127.0.0.1/32'] } } });
    receiver = await startReceiver();
    receiver.answer = () => ({ status: 200, body: 'hello from the receiver' });
  }, 120_000);
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });

  it('creates a webhook, shows its secret once, tests it and reads the delivery', {
    timeout: 240_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Hook Console Co' });
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Webhooks' }).click();
    await poll(() => page.getByRole('heading', { name: 'Webhooks', level: 1 }).count()).toBe(1);
    await poll(() => page.getByText('No webhooks yet.').count()).toBe(1);
    await h.expectAccessible(page, 'webhooks, none');

    await page.getByRole('button', { name: 'New webhook' }).click();
    const dialog = page.getByRole('dialog', { name: 'New webhook' });
    await dialog.getByLabel(/^Endpoint URL/).fill(receiver.url);
    await dialog.getByLabel(/^Description/).fill('Ticketing bridge');
    await dialog.getByLabel('Finding created (finding.created)').check();
    await h.expectAccessible(page, 'new webhook dialog');
    await dialog.getByRole('button', { name: 'Save webhook' }).click();

    // The secret, once.
    const reveal = page.getByRole('dialog', { name: 'Copy the signing secret now' });
    await poll(() => reveal.count()).toBe(1);
    const secret = (await reveal.getByTestId('webhook-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await h.expectAccessible(page, 'secret shown once');
    await h.shoot(page, 'webhook-secret');
    await reveal.getByRole('button', { name: 'I have stored it' }).click();
    await poll(() => reveal.count()).toBe(0);
    const row = page.getByRole('row').filter({ hasText: 'Ticketing bridge' });
    await poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('Scan completed, Finding created');
    expect(await page.content()).not.toContain(secret);

    // A test delivery: the receiver's status and body, shown.
    await page.getByRole('button', { name: `Send test to ${receiver.url}` }).click();
    const tested = page.getByRole('dialog', { name: 'Test delivery' });
    await poll(() => tested.getByTestId('webhook-test-outcome').textContent()).toContain(
      'Delivered: the endpoint answered 200.',
    );
    expect(await tested.getByTestId('webhook-test-body').textContent()).toBe('hello from the receiver');
    await h.expectAccessible(page, 'test result');
    // What the receiver got verifies with the secret the page showed.
    const ping = receiver.received.at(-1)!;
    expect(verifyDelivery(ping, secret)).toMatchObject({ type: 'webhook.test', data: { orgId: org.orgId } });
    await tested.getByRole('button', { name: 'Close' }).last().click();

    // The delivery log: the test, delivered, with its answer; redelivered.
    await page.getByRole('button', { name: `Deliveries of ${receiver.url}` }).click();
    const log = page.getByRole('dialog', { name: `Deliveries to ${receiver.url}` });
    const first = log.getByRole('row').filter({ hasText: ping.id });
    await poll(() => first.count()).toBe(1);
    expect(await first.textContent()).toMatch(/Test.*1.*Delivered.*200/);
    await first.getByRole('button', { name: 'Body' }).click();
    await poll(() => log.getByText('hello from the receiver').count()).toBe(1);
    await h.expectAccessible(page, 'delivery log');
    await h.shoot(page, 'webhook-deliveries');
    await first.getByRole('button', { name: /^Redeliver/ }).click();
    await poll(() => receiver.of(ping.id).length).toBe(2);
    await poll(() => log.getByRole('row').filter({ hasText: ping.id }).count()).toBe(2);
    await poll(
      async () => (await log.getByRole('row').filter({ hasText: ping.id }).first().textContent()) ?? '',
    ).toMatch(/2.*Delivered/);
    await log.getByRole('button', { name: 'Close' }).first().click();

    // Rotation: a new secret, shown once; the list says the old one still signs.
    await page.getByRole('button', { name: `Rotate secret of ${receiver.url}` }).click();
    await page
      .getByRole('dialog', { name: 'Rotate the signing secret?' })
      .getByRole('button', { name: 'Rotate secret' })
      .click();
    await poll(() => reveal.count()).toBe(1);
    const rotated = (await reveal.getByTestId('webhook-secret').textContent())!.trim();
    expect(rotated).not.toBe(secret);
    await reveal.getByRole('button', { name: 'I have stored it' }).click();
    await poll(() => row.textContent()).toContain('The previous secret also signs until');

    // A Developer is not offered the page, and is told why if they go there.
    const dev = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() =>
      devPage.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Team' }).count(),
    ).toBe(1);
    expect(
      await devPage
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Webhooks' })
        .count(),
    ).toBe(0);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/webhooks`);
    await poll(() =>
      devPage.getByText('Your role does not let you manage webhooks.', { exact: false }).count(),
    ).toBe(1);
    expect(await devPage.getByRole('button', { name: 'New webhook' }).count()).toBe(0);
    await h.expectAccessible(devPage, 'webhooks without the permission');

    // Delete, after a confirmation.
    await page.getByRole('button', { name: `Delete webhook ${receiver.url}` }).click();
    await page
      .getByRole('dialog', { name: 'Delete this webhook?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await poll(() => page.getByText('No webhooks yet.').count()).toBe(1);
  });

  it('speaks Spanish', { timeout: 120_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Ganchos SL' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url,
        events: ['member.added'],
        enabled: false,
      }),
      201,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/webhooks`);
    await poll(() => page.getByRole('heading', { name: 'Webhooks', level: 1 }).count()).toBe(1);
    const row = page.getByRole('row').filter({ hasText: receiver.url });
    await poll(() => row.textContent()).toContain('Miembro añadido');
    expect(await row.textContent()).toContain('Desactivado');
    await page.getByRole('button', { name: 'Nuevo webhook' }).click();
    await poll(() =>
      page.getByRole('dialog', { name: 'Nuevo webhook' }).getByText('URL del endpoint').count(),
    ).toBe(1);
    await h.expectAccessible(page, 'webhooks in Spanish');
  });
});
