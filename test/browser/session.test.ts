import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, STRONG_PASSWORD, signUp, uniqueEmail } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { createOrg } from '../support/orgs.ts';

/** Who is signed in decides what the console shows and where it goes after signing in. */
describe.skipIf(!HAS_CHROMIUM)('sign-in, sign-out and the console’s memory', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await openConsole();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  async function signIn(page: import('playwright-core').Page, email: string) {
    await page.getByLabel('Email').fill(email);
    await page.locator('input[type=password]').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  it('after signing out, the next person in the tab sees nothing read as the one before', {
    timeout: 90_000,
  }, async () => {
    const a = await createOrg(h.t.app, { name: 'First Tenant' });
    // Two more sessions of A's, so that A's session list has three rows (B will have two).
    for (let i = 0; i < 2; i++) {
      await h.t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { origin: ORIGIN },
        payload: { email: a.owner.email, password: STRONG_PASSWORD },
      });
    }
    const b = await createOrg(h.t.app, { name: 'Second Tenant' });
    const page = await h.pageAs(a.owner);
    await page.goto(`${h.base}/orgs/${a.orgId}/settings/account`);
    const sessions = page.locator('[data-testid^="session-"]');
    await expect.poll(() => sessions.count()).toBe(3);

    await page.getByRole('button', { name: /account menu$/ }).click();
    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin/);
    await signIn(page, b.owner.email);
    await page.waitForURL(new RegExp(`/orgs/${b.orgId}/settings/team`));
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    // B's own sessions (the API one and this browser's), not A's three cached moments ago and
    // still "fresh" for 30 s.
    const own = await h.t.app.inject({
      method: 'GET',
      url: '/api/v1/me/sessions',
      headers: { cookie: await h.cookieOf(page) },
    });
    expect(own.json().items).toHaveLength(2);
    await expect.poll(() => sessions.count()).toBe(2);
    for (const s of own.json().items) expect(await page.getByTestId(`session-${s.id}`).count()).toBe(1);
    expect(await page.getByText('First Tenant').count()).toBe(0);
  });

  it('after signing in, goes to `next` only when it is a path of the console itself', {
    timeout: 90_000,
  }, async () => {
    const who = await signUp(h.t.app, { email: uniqueEmail('next') });
    const port = new URL(h.base).port;
    // Paths a browser would resolve to another origin (here another loopback name).
    for (const next of [`//localhost:${port}/x`, `/\t/localhost:${port}/x`, `/\\localhost:${port}/x`]) {
      const page = await h.newPage();
      await page.goto(`${h.base}/signin?next=${encodeURIComponent(next)}`);
      await signIn(page, who.email);
      await page.waitForURL(/\/orgs\/new$/);
      expect(new URL(page.url()).origin, next).toBe(h.base);
      await page.context().close();
    }
    // A path of the console is kept.
    const page = await h.newPage();
    await page.goto(`${h.base}/signin?next=${encodeURIComponent('/orgs/new?from=next')}`);
    await signIn(page, who.email);
    await page.waitForURL(/\/orgs\/new\?from=next$/);
  });

  it('switches organization from a list of links that opens on click and closes on Escape', {
    timeout: 60_000,
  }, async () => {
    const first = await createOrg(h.t.app, { name: 'Alpha Org' });
    const second = await createOrg(h.t.app, { name: 'Beta Org' }, first.owner);
    const page = await h.pageAs(first.owner);
    await page.goto(`${h.base}/orgs/${first.orgId}/settings/team`);
    const switcher = page.getByRole('button', { name: 'Organization: Alpha Org', exact: true });
    await expect.poll(() => switcher.getAttribute('aria-expanded')).toBe('false');
    await switcher.click();
    await expect.poll(() => switcher.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => page.getByRole('link', { name: 'Beta Org' }).isVisible()).toBe(true);
    await h.expectAccessible(page, 'organization switcher open');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('link', { name: 'Beta Org' }).isVisible()).toBe(false);
    await switcher.click();
    await page.getByRole('link', { name: 'Beta Org' }).click();
    await page.waitForURL(new RegExp(`/orgs/${second.orgId}/settings/team`));
    await expect
      .poll(() => page.getByRole('button', { name: 'Organization: Beta Org', exact: true }).count())
      .toBe(1);
  });
});
