import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { queryRows } from '../support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Settings → Billing in a real browser against a real server: the owner of a free org reviews an
 * upgrade to Scale (what is due today, the new recurring amount) and confirms it, and the invoice
 * exists; the payment method form refuses a card number in words and keeps a bank reference; a
 * downgrade the org exceeds is refused with what to change first, each with a link to fix it; an
 * Admin (no billing:read) has no Billing entry; the page in Spanish. axe finds nothing serious.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Billing', () => {
  let h: ConsoleHarness;
  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const pageUrl = (orgId: string) => `${h.base}/orgs/${orgId}/settings/billing`;
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000 });

  it('the owner upgrades Free to Scale after reviewing the pricing impact, and the invoice is issued', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Upgrade Works', plan: 'free' });
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();
    await poll(() =>
      page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Billing', exact: true })
        .count(),
    ).toBe(1);
    const plan = page.getByTestId('billing-plan');
    await plan.getByText('Free', { exact: true }).waitFor();
    await plan.getByText('None: the Free plan is not billed').waitFor();
    await h.expectAccessible(page, 'billing page, free plan');

    await page.getByRole('button', { name: 'Change plan' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change plan' });
    await dialog.getByRole('radio', { name: /^Scale: \$29\.00 per seat a month$/ }).check();
    await dialog.getByRole('button', { name: 'Review pricing impact' }).click();
    const review = dialog.getByTestId('billing-review');
    await review.getByText('From Free (Monthly) to Scale (Monthly)').waitFor();
    await poll(() => review.getByTestId('billing-due').textContent()).toBe('$29.00');
    await review.getByText('$29.00 a month').waitFor();
    await review.getByText('An invoice for the amount due is issued as soon as you confirm.').waitFor();
    await h.expectAccessible(page, 'change plan review');
    await h.shoot(page, 'billing-upgrade-review');
    await review.getByRole('button', { name: 'Confirm upgrade' }).click();
    await poll(() => page.getByTestId('notifications').textContent()).toMatch(
      /The plan is now Scale, billed monthly\. Invoice \d+ was issued for \$29\.00\./,
    );
    await plan.getByText('Scale', { exact: true }).waitFor();
    await page.getByTestId('billing-savings').getByText('save $58.00 a year', { exact: false }).waitFor();

    const sub = expectStatus(
      await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/billing/subscription`),
      200,
    ).json();
    expect(sub).toMatchObject({ plan: 'pro', amount: 2900, seats: 1 });
    // The invoice (its list and PDF are the Invoices page's): one, for the month from today.
    const invoices = await queryRows<{ total: number; reason: string }>(
      h.t.db.database.db,
      sql`SELECT total::int AS total, reason FROM invoices WHERE org_id = ${org.orgId}`,
    );
    expect(invoices).toEqual([{ total: 2900, reason: 'plan_change' }]);
    await h.expectAccessible(page, 'billing page, on Scale');
    await h.shoot(page, 'billing-scale');

    // The payment method: a card number is refused in words; a bank reference is kept.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('textbox', { name: 'Reference' }).fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Save payment method' }).click();
    await page.getByText('This looks like card data.', { exact: false }).first().waitFor();
    await h.expectAccessible(page, 'payment method form refusing card data');
    await page.getByRole('textbox', { name: 'Reference' }).fill('SEPA mandate MND-2291');
    await page.getByRole('textbox', { name: /Last four digits/ }).fill('4821');
    await page.getByRole('button', { name: 'Save payment method' }).click();
    await page
      .getByTestId('billing-payment-current')
      .getByText('SEPA ending in 4821, reference SEPA mandate MND-2291', { exact: false })
      .waitFor();
    await h.shoot(page, 'billing-payment-method');
  });

  it('a downgrade the organization exceeds is refused with what to change first, linked', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Too Big', plan: 'enterprise' });
    // Six seats (the owner and five invitations) and a 2-hour idle timeout: over Free's terms.
    expectStatus(
      await as(h.t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [1, 2, 3, 4, 5].map((n) => `guest${n}@example.test`),
        role: 'viewer',
      }),
      201,
    );
    expectStatus(
      await as(h.t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/security`, { sessionIdleMinutes: 120 }),
      200,
    );
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('button', { name: 'Change plan' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change plan' });
    await dialog.getByRole('radio', { name: /^Free: free$/ }).check();
    await dialog.getByRole('button', { name: 'Review pricing impact' }).click();
    const blockers = dialog.getByTestId('billing-blockers');
    await blockers
      .getByText('The organization uses more than the Free plan allows. Nothing was changed.')
      .waitFor();
    await blockers
      .getByText(
        '6 members and pending invitations; the plan allows 5. Remove members or cancel invitations.',
      )
      .waitFor();
    await blockers.getByText('The idle timeout is not 30 minutes', { exact: false }).waitFor();
    expect(
      await blockers
        .locator('[data-blocker]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-blocker'))),
    ).toEqual(['members', 'session_timeout']);
    await h.expectAccessible(page, 'downgrade refused with blockers');
    await h.shoot(page, 'billing-downgrade-blocked');
    expect(expectStatus(await as(h.t.app, org.owner).get(`/api/v1/orgs/${org.orgId}`), 200).json().plan).toBe(
      'enterprise',
    );
    await blockers.getByRole('link', { name: /^Go there: The idle timeout/ }).click();
    await page.waitForURL(/\/settings\/security$/);
  });

  it('a member without billing:read has no Billing entry; the page in Spanish', {
    timeout: 180_000,
  }, async () => {
    const org = await createOrg(h.t.app, { name: 'Facturas SL', plan: 'pro' });
    const admin = await addMember(h.t.app, org, 'admin', {}, h.t.mail);
    const adminPage = await h.pageAs(admin);
    await adminPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = adminPage.getByRole('navigation', { name: 'Settings' });
    await nav.getByRole('link', { name: 'Usage', exact: false }).first().waitFor();
    expect(await nav.getByRole('link', { name: 'Billing', exact: true }).count()).toBe(0);
    await adminPage.goto(pageUrl(org.orgId));
    await adminPage
      .getByText('Seeing the subscription needs the billing:read permission', { exact: false })
      .waitFor();

    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    const page = await h.pageAs(org.owner);
    await page.goto(pageUrl(org.orgId));
    await page.getByRole('heading', { name: 'Facturación', level: 1 }).waitFor();
    await page.getByText('Pasa a facturación anual y ahorra', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Cambiar de plan' }).waitFor();
    await h.expectAccessible(page, 'billing page in Spanish');
    await h.shoot(page, 'billing-es');
  });
});
