import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/server/platform/outbox/index.ts';
import type { TestApp } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { seedApplication } from '../support/findings.ts';
import { type LoopbackReceiver, startLoopbackReceiver } from '../support/loopback-receiver.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../support/orgs.ts';

/**
 * Notifications in a real browser against a real server: the bell in the header shows the
 * unread count and the newest notifications, marks one read and then all; a notification opens
 * what it is about; Account → Notifications saves personal preferences (in English and Spanish);
 * Settings → Notifications connects Slack (a real receiver on loopback) with a test answering what
 * it said, and chooses quota alerts, shown only to those who may; axe-clean throughout.
 */
describe.skipIf(!HAS_CHROMIUM)('notifications in the console', () => {
  let h: ConsoleHarness;
  let t: TestApp;
  let slack: LoopbackReceiver;
  beforeAll(async () => {
    slack = await startLoopbackReceiver();
    h = await openConsole({ config: { outbound: { allowlist: ['127.0.0.1/32'], allowHttp: false } } });
    t = h.t;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await slack?.close();
  });

  const settings = (orgId: string, rest: string) => `${h.base}/orgs/${orgId}/settings/${rest}`;

  /** A completed scan `who` started: a `scan_completed` notification for them. */
  async function scanCompleted(org: { orgId: string }, who: Person, appName: string): Promise<string> {
    const applicationId = await seedApplication(t.app, org.orgId, appName);
    const scanId = expectStatus(
      await as(t.app, who).post(`/api/v1/orgs/${org.orgId}/scans`, { applicationId, modules: ['secrets'] }),
      201,
    ).json().id;
    await emitEvent(t.app.gatehouse.database.db, {
      type: 'scan.completed',
      orgId: org.orgId,
      data: { scan: { id: scanId } },
    });
    await t.drainOutbox();
    return scanId;
  }

  const inbox = async (who: Person) =>
    expectStatus(await as(t.app, who).get('/api/v1/me/inbox'), 200).json() as {
      unread: number;
      items: Array<{ title: string; readAt: string | null }>;
    };

  it('the bell shows an unread notification, marks it read, then all read', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Bell Works' });
    await scanCompleted(org, org.owner, 'payments-api');
    const page = await h.pageAs(org.owner);
    await page.goto(settings(org.orgId, 'team'));
    const bell = page.getByRole('button', { name: 'Notifications: 1 unread' });
    await bell.waitFor();
    await expect.poll(() => page.getByTestId('unread-count').textContent()).toBe('1');
    await bell.click();
    await page.getByText('Scan of “payments-api” completed').waitFor();
    await h.expectAccessible(page, 'the bell open with an unread notification');
    await h.shoot(page, 'notifications-bell');

    await page.getByRole('button', { name: 'Mark read: Scan of “payments-api” completed' }).click();
    await page.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    expect(await page.getByTestId('unread-count').count()).toBe(0);
    expect((await inbox(org.owner)).items[0]!.readAt).not.toBeNull();

    // Two more arrive; the bell counts them at its next reading (here: a reload), then all are read.
    await scanCompleted(org, org.owner, 'web-shop');
    await scanCompleted(org, org.owner, 'mobile-app');
    await page.reload();
    await page.getByRole('button', { name: 'Notifications: 2 unread' }).click();
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByRole('status').filter({ hasText: 'All notifications marked read.' }).waitFor();
    await page.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    expect((await inbox(org.owner)).unread).toBe(0);
  });

  it('a notification opens what it is about, and the inbox page lists them all', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Inbox Works' });
    const scanId = await scanCompleted(org, org.owner, 'ledger');
    const page = await h.pageAs(org.owner);
    await page.goto(settings(org.orgId, 'team'));
    await page.getByRole('button', { name: 'Notifications: 1 unread' }).click();
    await page.getByRole('button', { name: 'Scan of “ledger” completed', exact: true }).click();
    await page.waitForURL(`**/orgs/${org.orgId}/settings/scans/${scanId}`);
    await expect.poll(async () => (await inbox(org.owner)).unread).toBe(0);

    await scanCompleted(org, org.owner, 'billing');
    await page.goto(settings(org.orgId, 'inbox'));
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await page.getByText('Scan of “billing” completed').waitFor();
    await page.getByText('Scan of “ledger” completed').waitFor();
    await page.getByText('Unread only', { exact: true }).click();
    await expect.poll(() => page.getByText('Scan of “ledger” completed').count()).toBe(0);
    await page.getByText('Scan of “billing” completed').waitFor();
    await h.expectAccessible(page, 'the inbox page');
  });

  it('Account → Notifications saves personal preferences, in English and in Spanish', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Prefs Works' });
    const dev = await addMember(t.app, org, 'developer', { name: 'Dana Dev' }, t.mail);
    const page = await h.pageAs(dev);
    await page.goto(settings(org.orgId, 'account/notifications'));
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await page.getByRole('radio', { name: 'In a daily digest' }).check();
    await page.getByRole('switch', { name: 'Hold emails during quiet hours' }).check({ force: true });
    await page.getByLabel('From', { exact: true }).fill('21:30');
    await page.getByLabel('Until', { exact: true }).fill('06:45');
    await page.getByRole('checkbox', { name: 'Email for A scan you started completed' }).uncheck();
    await page.getByLabel('Mobile number').fill('+34 600 111 222');
    await h.expectAccessible(page, 'account notifications, edited');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByRole('status').filter({ hasText: 'Notification preferences saved.' }).waitFor();
    const saved = expectStatus(await as(t.app, dev).get('/api/v1/me/notifications'), 200).json();
    expect(saved).toMatchObject({
      emailDigest: 'daily',
      quietHours: { start: '21:30', end: '06:45' },
      phone: '+34600111222',
    });
    expect(saved.types.scan_completed).toEqual({ email: false, inApp: true });

    // A number the server refuses is said beside its field.
    await page.getByLabel('Mobile number').fill('600 111');
    await page.getByRole('button', { name: 'Save preferences' }).click();
    await page.getByText('Write the number in international form').waitFor();

    expectStatus(await as(t.app, dev).patch('/api/v1/me', { locale: 'es' }), 200);
    await page.goto(settings(org.orgId, 'account/notifications'));
    await page.getByRole('heading', { name: 'Notificaciones', level: 1 }).waitFor();
    await page.getByRole('radio', { name: 'En un resumen diario' }).waitFor();
    expect(await page.getByRole('radio', { name: 'En un resumen diario' }).isChecked()).toBe(true);
    await h.expectAccessible(page, 'account notifications in Spanish');
  });

  it('Settings → Notifications connects Slack with a test, and sets quota alerts; only for those who may', {
    timeout: 150_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Slack Works' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const page = await h.pageAs(org.owner);
    await page.goto(settings(org.orgId, 'notifications'));
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await page.getByText('Not connected.').waitFor();
    const secret = randomBytes(6).toString('hex');
    await page.getByLabel('Incoming webhook URL').fill(`${slack.url}/services/T1/B1/${secret}`);
    await page.getByRole('checkbox', { name: 'A scan completed' }).check();
    await page.getByRole('button', { name: 'Send a test message' }).click();
    await page.getByText(/Slack accepted the test message \(status 200/).waitFor();
    expect(slack.requests.at(-1)!.path).toBe(`/services/T1/B1/${secret}`);
    await page.getByRole('button', { name: 'Save Slack settings' }).click();
    await page.getByText(`Posting to a channel at ${new URL(slack.url).host}.`).waitFor();
    // Write-only: the URL is not shown again, anywhere on the page.
    expect(await page.content()).not.toContain(secret);

    slack.answer(() => ({ status: 404, body: 'no_service' }));
    await page.getByRole('button', { name: 'Send a test message' }).click();
    await page
      .getByText('Slack did not accept the test message: status 404. Its answer: no_service')
      .waitFor();
    slack.answer(() => ({ status: 200, body: 'ok' }));

    const quota = page.getByTestId('quota-alerts');
    await quota.getByRole('checkbox', { name: '50 %' }).uncheck();
    await quota.getByRole('checkbox', { name: 'Slack' }).check();
    await quota.getByRole('button', { name: 'Save quota alerts' }).click();
    await page.getByRole('status').filter({ hasText: 'Quota alerts saved.' }).waitFor();
    expect(
      expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/quota-alerts`), 200).json(),
    ).toEqual({
      thresholds: [75, 90, 100],
      channels: ['email', 'slack', 'in_app'],
    });
    await h.expectAccessible(page, 'settings notifications, Slack connected');
    await h.shoot(page, 'notifications-settings');

    // A developer may change neither: the page is not in their navigation.
    const devPage = await h.pageAs(dev);
    await devPage.goto(settings(org.orgId, 'account'));
    const nav = devPage.getByRole('navigation', { name: 'Settings' });
    await nav.getByRole('link', { name: 'Account notifications' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Notifications', exact: true }).count()).toBe(0);
  });
});
