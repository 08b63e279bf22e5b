import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildConsoleIfStale } from '../../scripts/console-build.mjs';
import { type ConfigOverrides, createTestApp, ORIGIN, STRONG_PASSWORD, type TestApp } from './app.ts';
import { CHROMIUM, launchChromium } from './browser.ts';

/** Whether this machine can run the browser tests (Debian's chromium is installed). */
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM);

const SHOTS = path.resolve('test-results', 'console');
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface ConsoleHarness {
  t: TestApp;
  /** The server's loopback address, e.g. http://127.0.0.1:41234 */
  base: string;
  /** A page in a new browser context (no cookies). */
  newPage(): Promise<Page>;
  /** A page whose context is signed in with this session cookie (`gatehouse_session=…`). */
  pageAs(who: { cookie: string }): Promise<Page>;
  /** A full-page screenshot, test-results/console/<name>.png */
  shoot(page: Page, name: string): Promise<void>;
  /** axe-core in the page: no serious or critical violations. */
  expectAccessible(page: Page, what: string): Promise<void>;
  /** From the sign-in page: to "Create account", fill it in and submit. */
  signUpIn(page: Page, who: { name: string; email: string }): Promise<void>;
  /** The page's session cookie as a Cookie header, for checking the server's state with inject. */
  cookieOf(page: Page): Promise<string>;
  close(): Promise<void>;
}

export interface ConsoleOptions {
  /**
   * Serve the console at http://localhost:<port> with PUBLIC_URL set to it, instead of the
   * loopback address: WebAuthn refuses an IP address as RP ID, so passkey tests need a host name.
   */
  localhost?: boolean;
  /** Settings of the app behind the console (e.g. an OUTBOUND_ALLOWLIST for a loopback receiver). */
  config?: ConfigOverrides;
  /** Configuration of the server behind the console (e.g. an outbound allowlist for loopback receivers). */
  overrides?: ConfigOverrides;
}

/** A TCP port free on loopback right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The web console in a real browser (Debian's chromium, headless) against a real server on
 * loopback, with what every browser test needs. Call in beforeAll; close in afterAll.
 */
export async function openConsole(options: ConsoleOptions = {}): Promise<ConsoleHarness> {
  await buildConsoleIfStale({ quiet: true });
  let t: TestApp;
  let base: string;
  if (options.localhost) {
    // PUBLIC_URL must name the port the browser loads, so the port is chosen before the app is built.
    const port = await freePort();
    base = `http://localhost:${port}`;
    // The test helpers' requests (app.inject) still say they come from the default ORIGIN.
    t = await createTestApp({
      ...options.config,
      ...options.overrides,
      publicUrl: base,
      allowedOrigins: [ORIGIN],
    });
    await t.app.listen({ host: '127.0.0.1', port });
  } else {
    t = await createTestApp({ ...options.config, ...options.overrides });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  }
  const browser: Browser = await launchChromium();
  fs.mkdirSync(SHOTS, { recursive: true });
  const contexts: BrowserContext[] = [];

  async function newContext(): Promise<BrowserContext> {
    // bypassCSP: only so the test can inject axe-core; the page's own policy is tested apart.
    // reducedMotion: dialogs open without a fade, so axe never measures contrast mid-transition.
    const context = await browser.newContext({ locale: 'en-US', bypassCSP: true, reducedMotion: 'reduce' });
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context;
  }

  return {
    t,
    base,
    async newPage() {
      return (await newContext()).newPage();
    },
    async pageAs(who) {
      const context = await newContext();
      const [name, value] = who.cookie.split('=', 2) as [string, string];
      await context.addCookies([{ name, value, url: base, httpOnly: true, sameSite: 'Lax' }]);
      return context.newPage();
    },
    async shoot(page, name) {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    },
    async expectAccessible(page, what) {
      await page.addScriptTag({ content: AXE });
      const violations = await page.evaluate(async () => {
        // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a global script
        const page = globalThis as any;
        const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
        return result.violations.map(
          (v: { id: string; impact: string; nodes: Array<{ target: string[] }> }) => ({
            id: v.id,
            impact: v.impact,
            targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3),
          }),
        );
      });
      expect(
        violations.filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical'),
        `${what}: ${JSON.stringify(violations)}`,
      ).toEqual([]);
    },
    async signUpIn(page, who) {
      await page.getByRole('link', { name: /Create account/ }).click();
      await page.getByLabel('Name').fill(who.name);
      await page.getByLabel('Email').fill(who.email);
      await page.locator('input[type=password]').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
    },
    async cookieOf(page) {
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === 'gatehouse_session');
      return session ? `gatehouse_session=${session.value}` : '';
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await t.close();
    },
  };
}
