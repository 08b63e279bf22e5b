import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { type LoopbackReceiver, startLoopbackReceiver } from '../../../../test/support/loopback-receiver.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { emitEvent } from '../../platform/outbox/index.ts';

/**
 * Quota alerts: the organization chooses thresholds and channels; each chosen threshold alerts
 * once per channel per month however often it is reported, email and in-app to the members who
 * may manage quota, Slack to the connected channel (a real receiver on loopback).
 */

let t: TestApp;
let slack: LoopbackReceiver;
beforeAll(async () => {
  slack = await startLoopbackReceiver();
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'], allowHttp: false } });
});
afterAll(async () => {
  await t?.close();
  await slack?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const url = (org: Org) => `/api/v1/orgs/${org.orgId}/quota-alerts`;

async function thresholdReached(org: Org, percent: number, month: string): Promise<void> {
  await emitEvent(t.app.gatehouse.database.db, {
    type: 'quota.threshold_reached',
    orgId: org.orgId,
    data: { percent, month, used: percent, limit: 100 },
  });
  await t.drainOutbox();
}

async function quotaInbox(who: Person) {
  const box = expectStatus(await as(t.app, who).get('/api/v1/me/inbox'), 200).json();
  return box.items.filter((i: { type: string }) => i.type === 'quota_warning') as Array<{
    title: string;
    link: string;
  }>;
}

const quotaMails = (email: string, since: number) =>
  t.mail.messages.slice(since).filter((m) => m.to.includes(email) && /tokens for/.test(m.subject));

describe('GET / PATCH …/quota-alerts', () => {
  let org: Org;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Quota Settings Org' });
  });

  it('starts at every threshold, by email and in the app', async () => {
    expect(expectStatus(await as(t.app, org.owner).get(url(org)), 200).json()).toEqual({
      thresholds: [50, 75, 90, 100],
      channels: ['email', 'in_app'],
    });
  });

  it('saves the chosen thresholds and channels, in order and once each, and audits the change', async () => {
    const res = expectStatus(
      await as(t.app, org.owner).patch(url(org), { thresholds: [90, 75, 90], channels: ['slack', 'email'] }),
      200,
    );
    expect(res.json()).toEqual({ thresholds: [75, 90], channels: ['email', 'slack'] });
    expect(expectStatus(await as(t.app, org.owner).get(url(org)), 200).json()).toEqual(res.json());
    const entries = await queryRows<{ action: string; after: unknown }>(
      t.app.gatehouse.database.db,
      sql`SELECT action, after FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'quota_alerts.updated'`,
    );
    expect(entries).toEqual([
      { action: 'quota_alerts.updated', after: { thresholds: [75, 90], channels: ['email', 'slack'] } },
    ]);
    // The same again changes nothing and records nothing.
    expectStatus(await as(t.app, org.owner).patch(url(org), { channels: ['email', 'slack'] }), 200);
    const again = await queryRows<{ n: number }>(
      t.app.gatehouse.database.db,
      sql`SELECT count(*)::int AS n FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'quota_alerts.updated'`,
    );
    expect(again[0]!.n).toBe(1);
  });

  it.each([
    [{}],
    [{ thresholds: [60] }],
    [{ thresholds: ['50'] }],
    [{ channels: ['sms'] }],
    [{ channels: 'email' }],
    [{ thresholds: [50], extra: true }],
  ])('refuses %j with a 400, changing nothing', async (body) => {
    const before = expectStatus(await as(t.app, org.owner).get(url(org)), 200).json();
    const res = await as(t.app, org.owner).patch(url(org), body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(expectStatus(await as(t.app, org.owner).get(url(org)), 200).json()).toEqual(before);
  });

  it('needs quota:manage (403 to a member without it) and hides the org from outsiders (404)', async () => {
    const cyberoper = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    for (const res of [
      await as(t.app, cyberoper).get(url(org)),
      await as(t.app, cyberoper).patch(url(org), { thresholds: [50] }),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'permission_denied', params: { permission: 'quota:manage' } });
    }
    const outsider = await signUp(t.app);
    const theirs = await createOrg(t.app, {}, outsider);
    for (const res of [
      await as(t.app, outsider).get(url(org)),
      await as(t.app, outsider).patch(url(org), { thresholds: [50] }),
      // Their own org's id in the path, another org's settings are never reached.
      await as(t.app, org.owner).patch(url(theirs), { thresholds: [50] }),
    ]) {
      expect(res.statusCode).toBe(404);
    }
    expect(expectStatus(await as(t.app, outsider).get(url(theirs)), 200).json().thresholds).toEqual([
      50, 75, 90, 100,
    ]);
  });
});

describe('a quota threshold crossed', () => {
  it('alerts once per chosen channel per threshold per month, to the members who may manage quota', async () => {
    const org = await createOrg(t.app, { name: 'Crossing Org' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(
      await as(t.app, org.owner).put(`/api/v1/orgs/${org.orgId}/slack`, {
        webhookUrl: `${slack.url}/services/T000/B000/quota`,
        events: [],
        minSeverity: 'high',
      }),
      200,
    );
    expectStatus(
      await as(t.app, org.owner).patch(url(org), {
        thresholds: [50, 90],
        channels: ['email', 'slack', 'in_app'],
      }),
      200,
    );
    const since = t.mail.messages.length;
    const posted = slack.requests.length;

    await thresholdReached(org, 50, '2026-05');
    // Reported again in the same month (a repeated event, or crossed again after a boost): no second alert.
    await thresholdReached(org, 50, '2026-05');
    await thresholdReached(org, 50, '2026-05');
    await slack.waitFor(posted + 1);

    for (const who of [org.owner, admin]) {
      const items = await quotaInbox(who);
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        title: '“Crossing Org” has used 50% of its tokens for 2026-05',
        link: `/orgs/${org.orgId}/settings/usage`,
      });
      await t.mail.latestTo(who.email, since, /has used 50% of its tokens/);
      expect(quotaMails(who.email, since)).toHaveLength(1);
    }
    // Without quota:manage, nothing.
    expect(await quotaInbox(dev)).toEqual([]);
    expect(quotaMails(dev.email, since)).toEqual([]);
    const slackPosts = slack.requests.slice(posted);
    expect(slackPosts).toHaveLength(1);
    expect(slackPosts[0]!.path).toBe('/services/T000/B000/quota');
    expect(JSON.parse(slackPosts[0]!.body)).toMatchObject({
      text: expect.stringContaining('Crossing Org has used 50% of its tokens for 2026-05'),
      blocks: [{ type: 'section' }, { type: 'context' }],
    });

    // Still once after the outbox has forgotten its finished jobs (their dedupe keys with them).
    await t.app.gatehouse.database.db.execute(
      sql`DELETE FROM outbox_jobs WHERE org_id = ${org.orgId} AND state = 'done'`,
    );
    await thresholdReached(org, 50, '2026-05');
    expect(await quotaInbox(admin)).toHaveLength(1);
    expect(quotaMails(admin.email, since)).toHaveLength(1);
    expect(slack.requests.slice(posted)).toHaveLength(1);

    // A threshold the organization did not choose alerts nobody.
    await thresholdReached(org, 75, '2026-05');
    expect(await quotaInbox(org.owner)).toHaveLength(1);

    // The next month, the same threshold alerts again, once.
    await thresholdReached(org, 50, '2026-06');
    await thresholdReached(org, 50, '2026-06');
    await slack.waitFor(posted + 2);
    expect((await quotaInbox(org.owner)).map((i) => i.title)).toEqual([
      '“Crossing Org” has used 50% of its tokens for 2026-06',
      '“Crossing Org” has used 50% of its tokens for 2026-05',
    ]);
    await t.mail.latestTo(admin.email, since, /2026-06/);
    expect(quotaMails(admin.email, since)).toHaveLength(2);
    expect(slack.requests.slice(posted)).toHaveLength(2);

    // One job per channel per threshold per month, keyed so (May's were purged above).
    const keys = await queryRows<{ dedupe_key: string }>(
      t.app.gatehouse.database.db,
      sql`SELECT dedupe_key FROM outbox_jobs WHERE kind = 'notification.quota_alert' AND org_id = ${org.orgId} ORDER BY dedupe_key`,
    );
    expect(keys.map((k) => k.dedupe_key)).toEqual([
      `quota:${org.orgId}:2026-06:50:email`,
      `quota:${org.orgId}:2026-06:50:in_app`,
      `quota:${org.orgId}:2026-06:50:slack`,
    ]);
  });

  it('uses only the chosen channels, and a person’s own switch still mutes their copy', async () => {
    const org = await createOrg(t.app, { name: 'Inbox Only Org' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    expectStatus(await as(t.app, org.owner).patch(url(org), { channels: ['in_app'] }), 200);
    expectStatus(
      await as(t.app, admin).patch('/api/v1/me/notifications', {
        types: { quota_warning: { inApp: false } },
      }),
      200,
    );
    const since = t.mail.messages.length;
    await thresholdReached(org, 100, '2026-05');
    expect((await quotaInbox(org.owner)).map((i) => i.title)).toEqual([
      '“Inbox Only Org” has used all its tokens for 2026-05',
    ]);
    expect(await quotaInbox(admin)).toEqual([]);
    expect(quotaMails(org.owner.email, since)).toEqual([]);
  });
});
