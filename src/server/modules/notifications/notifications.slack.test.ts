import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import { type LoopbackReceiver, startLoopbackReceiver } from '../../../../test/support/loopback-receiver.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { emitEvent } from '../../platform/outbox/index.ts';

/**
 * An organization's Slack channel, with a real receiver on loopback (allowlisted, as an
 * on-premises target would be): the URL is write-only and sealed, checked by the outbound guard
 * when saved, the test answers what the receiver said, and events become messages in Slack's
 * incoming-webhook shape, retried when the receiver fails.
 */

let t: TestApp;
let receiver: LoopbackReceiver;
beforeAll(async () => {
  receiver = await startLoopbackReceiver();
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'], allowHttp: false } });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});
beforeEach(() => {
  receiver.answer(() => ({ status: 200, body: 'ok' }));
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const slackUrl = (org: Org, rest = '') => `/api/v1/orgs/${org.orgId}/slack${rest}`;
const hook = (name: string) => `${receiver.url}/services/T0001/B0001/${name}`;
const db = () => t.app.gatehouse.database.db;

async function connect(org: Org, who: Person, body: Record<string, unknown>) {
  return expectStatus(await as(t.app, who).put(slackUrl(org), body), 200).json();
}

describe('PUT / GET / DELETE …/slack', () => {
  let org: Org;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Slack Org' });
  });

  it('connects a channel: the URL is sealed at rest and never returned, only its host', async () => {
    const secretPath = 'services/T0001/B0001/XyZsecretPart123';
    const saved = await connect(org, org.owner, {
      webhookUrl: `${receiver.url}/${secretPath}`,
      events: ['finding.created', 'scan.completed', 'scan.completed'],
      minSeverity: 'high',
    });
    expect(saved).toMatchObject({
      configured: true,
      webhookUrlSet: true,
      webhookHost: new URL(receiver.url).host,
      events: ['scan.completed', 'finding.created'],
      minSeverity: 'high',
    });
    const read = await as(t.app, org.owner).get(slackUrl(org));
    expect(read.json()).toEqual(saved);
    expect(read.body).not.toContain('XyZsecretPart123');
    const [row] = await queryRows<{ webhook_url: string }>(
      db(),
      sql`SELECT webhook_url FROM slack_configs WHERE org_id = ${org.orgId}`,
    );
    expect(row!.webhook_url).toMatch(/^gh1\./);
    expect(row!.webhook_url).not.toContain('XyZsecretPart123');
    const audit = await queryRows<{ before: unknown; after: unknown }>(
      db(),
      sql`SELECT before, after FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'slack.updated'`,
    );
    expect(JSON.stringify(audit)).not.toContain('XyZsecretPart123');
    expect(audit[0]!.after).toMatchObject({
      webhookUrlChanged: true,
      events: ['scan.completed', 'finding.created'],
    });
  });

  it('keeps the stored URL when only the events change', async () => {
    const saved = await connect(org, org.owner, { events: ['member.added'], minSeverity: 'critical' });
    expect(saved).toMatchObject({ configured: true, events: ['member.added'], minSeverity: 'critical' });
    const res = expectStatus(await as(t.app, org.owner).post(slackUrl(org, '/test'), {}), 200).json();
    expect(res.delivered).toBe(true);
    expect(receiver.requests.at(-1)!.path).toBe('/services/T0001/B0001/XyZsecretPart123');
  });

  it('refuses addresses the outbound guard forbids (400 url_not_allowed), and junk (400), changing nothing', async () => {
    const before = expectStatus(await as(t.app, org.owner).get(slackUrl(org)), 200).json();
    for (const webhookUrl of [
      'http://10.0.0.8/services/x',
      'https://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/hook',
      'http://0x7f000001.example.invalid@127.0.0.2/',
      'ftp://hooks.slack.example/x',
      'not a url',
    ]) {
      const res = await as(t.app, org.owner).put(slackUrl(org), {
        webhookUrl,
        events: [],
        minSeverity: 'high',
      });
      expect(res.statusCode, webhookUrl).toBe(400);
      expect(res.json().code, webhookUrl).toBe('url_not_allowed');
      expect(res.json().errors[0].field).toBe('/body/webhookUrl');
    }
    for (const body of [
      { events: ['scan.exploded'], minSeverity: 'high' },
      { events: [], minSeverity: 'urgent' },
      { events: [] },
      { events: [], minSeverity: 'high', token: 'x' },
      { webhookUrl: 42, events: [], minSeverity: 'high' },
    ]) {
      const res = await as(t.app, org.owner).put(slackUrl(org), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    expect(expectStatus(await as(t.app, org.owner).get(slackUrl(org)), 200).json()).toEqual(before);
  });

  it('needs a URL to connect for the first time', async () => {
    const fresh = await createOrg(t.app, { name: 'No Slack Org' });
    const res = await as(t.app, fresh.owner).put(slackUrl(fresh), { events: [], minSeverity: 'high' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ field: '/body/webhookUrl', reason: 'required' });
    expect(expectStatus(await as(t.app, fresh.owner).get(slackUrl(fresh)), 200).json().configured).toBe(
      false,
    );
    expect((await as(t.app, fresh.owner).post(slackUrl(fresh, '/test'), {})).statusCode).toBe(404);
    expect((await as(t.app, fresh.owner).delete(slackUrl(fresh))).statusCode).toBe(404);
  });

  it('needs integrations:manage (403 without, 200 with), and hides the org from outsiders (404)', async () => {
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const cyberoper = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    for (const res of [
      await as(t.app, dev).get(slackUrl(org)),
      await as(t.app, dev).put(slackUrl(org), { webhookUrl: hook('dev'), events: [], minSeverity: 'low' }),
      await as(t.app, dev).post(slackUrl(org, '/test'), {}),
      await as(t.app, dev).delete(slackUrl(org)),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({
        code: 'permission_denied',
        params: { permission: 'integrations:manage' },
      });
    }
    expect(expectStatus(await as(t.app, cyberoper).get(slackUrl(org)), 200).json().configured).toBe(true);
    const outsider = await signUp(t.app);
    await createOrg(t.app, {}, outsider);
    for (const res of [
      await as(t.app, outsider).get(slackUrl(org)),
      await as(t.app, outsider).put(slackUrl(org), { webhookUrl: hook('x'), events: [], minSeverity: 'low' }),
      await as(t.app, outsider).post(slackUrl(org, '/test'), {}),
      await as(t.app, outsider).delete(slackUrl(org)),
    ]) {
      expect(res.statusCode).toBe(404);
    }
    expect(expectStatus(await as(t.app, org.owner).get(slackUrl(org)), 200).json().events).toEqual([
      'member.added',
    ]);
  });

  it('disconnects: nothing is posted any more', async () => {
    const gone = await createOrg(t.app, { name: 'Gone Org' });
    await connect(gone, gone.owner, {
      webhookUrl: hook('gone'),
      events: ['member.added'],
      minSeverity: 'low',
    });
    expectStatus(await as(t.app, gone.owner).delete(slackUrl(gone)), 204);
    expect(expectStatus(await as(t.app, gone.owner).get(slackUrl(gone)), 200).json().configured).toBe(false);
    const before = receiver.requests.length;
    await emitEvent(db(), { type: 'member.added', orgId: gone.orgId, data: { userId: gone.owner.userId } });
    await t.drainOutbox();
    expect(receiver.requests.length).toBe(before);
  });
});

describe('POST …/slack/test', () => {
  it('answers what the receiver said: delivered, status, body and time', async () => {
    const org = await createOrg(t.app, { name: 'Test Org' });
    await connect(org, org.owner, { webhookUrl: hook('t1'), events: [], minSeverity: 'high' });
    const before = receiver.requests.length;
    const ok = expectStatus(await as(t.app, org.owner).post(slackUrl(org, '/test'), {}), 200).json();
    expect(ok).toMatchObject({ delivered: true, status: 200, body: 'ok' });
    expect(typeof ok.durationMs).toBe('number');
    const sent = receiver.requests[before]!;
    expect(sent.method).toBe('POST');
    expect(sent.headers['content-type']).toBe('application/json');
    const message = JSON.parse(sent.body);
    expect(message.text).toContain('Test message from Gatehouse for Test Org');
    expect(message.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });

    receiver.answer(() => ({ status: 404, body: 'no_service' }));
    const refused = expectStatus(await as(t.app, org.owner).post(slackUrl(org, '/test'), {}), 200).json();
    expect(refused).toMatchObject({ delivered: false, status: 404, body: 'no_service' });
  });

  it('tries a URL before it is saved, through the same guard', async () => {
    const org = await createOrg(t.app, { name: 'Try Org' });
    const res = expectStatus(
      await as(t.app, org.owner).post(slackUrl(org, '/test'), { webhookUrl: hook('try') }),
      200,
    ).json();
    expect(res.delivered).toBe(true);
    expect(receiver.requests.at(-1)!.path).toBe('/services/T0001/B0001/try');
    const refused = await as(t.app, org.owner).post(slackUrl(org, '/test'), {
      webhookUrl: 'http://192.168.1.1/hook',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('url_not_allowed');
    expect(expectStatus(await as(t.app, org.owner).get(slackUrl(org)), 200).json().configured).toBe(false);
  });

  it('says when nothing answers', async () => {
    const org = await createOrg(t.app, { name: 'Down Org' });
    const closed = await startLoopbackReceiver();
    const url = `${closed.url}/services/down`;
    await closed.close();
    await connect(org, org.owner, { webhookUrl: url, events: [], minSeverity: 'high' });
    const res = expectStatus(await as(t.app, org.owner).post(slackUrl(org, '/test'), {}), 200).json();
    expect(res).toMatchObject({ delivered: false, status: null });
    expect(res.error).toMatch(/connect/);
  });
});

describe('events posted to the channel', () => {
  it('posts the chosen events, finding events from the minimum severity up, and retries a failed delivery', async () => {
    const org = await createOrg(t.app, { name: 'Events Org' });
    await connect(org, org.owner, {
      webhookUrl: hook('events'),
      events: ['scan.completed', 'finding.created'],
      minSeverity: 'high',
    });
    const application = await seedApplication(t.app, org.orgId, 'storefront <web>');
    const [critical, low] = await seedFindings(t.app, org.orgId, application, [
      { severity: 'critical', title: 'RCE in <template> & friends <!channel> <https://evil.example|Reset>' },
      { severity: 'low', title: 'Minor thing' },
    ]);
    const scanId = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId: application,
        modules: ['sast'],
      }),
      201,
    ).json().id;
    const start = receiver.requests.length;
    await emitEvent(db(), { type: 'finding.created', orgId: org.orgId, data: { finding: { id: critical } } });
    await emitEvent(db(), { type: 'finding.created', orgId: org.orgId, data: { finding: { id: low } } });
    await emitEvent(db(), {
      type: 'finding.resolved',
      orgId: org.orgId,
      data: { finding: { id: critical } },
    });
    await emitEvent(db(), { type: 'scan.completed', orgId: org.orgId, data: { scan: { id: scanId } } });
    await t.drainOutbox();
    await receiver.waitFor(start + 2);
    await new Promise((r) => setTimeout(r, 300));
    const posts = receiver.requests.slice(start).map((r) => JSON.parse(r.body));
    expect(posts).toHaveLength(2);
    const finding = posts.find((p) => p.text.startsWith('New critical finding'));
    // Slack's mrkdwn, in the blocks and in the text shown in notifications: what people typed is
    // escaped, so a name cannot mention the channel or dress up a link.
    for (const text of [finding.text, finding.blocks[0].text.text]) {
      expect(text).toContain(
        'RCE in &lt;template&gt; &amp; friends &lt;!channel&gt; &lt;https://evil.example|Reset&gt;',
      );
      expect(text).not.toMatch(/<!channel>|<https:\/\/evil/);
    }
    expect(finding.blocks[0].text.text).toContain('*New critical finding in storefront &lt;web&gt;*');
    expect(finding.blocks[1].elements[0].text).toBe(
      `<${t.config.publicUrl}/orgs/${org.orgId}/settings/findings/${critical}|Open the finding>`,
    );
    expect(posts.find((p) => p.text.startsWith('Scan of storefront &lt;web&gt; completed'))).toBeDefined();

    // A receiver failing: the delivery is tried again, and arrives.
    receiver.answer(() => ({ status: 500, body: 'oops' }));
    const failedFrom = receiver.requests.length;
    await emitEvent(db(), { type: 'scan.completed', orgId: org.orgId, data: { scan: { id: scanId } } });
    await t.drainOutbox();
    await receiver.waitFor(failedFrom + 1);
    const [job] = await queryRows<{ id: string; attempts: number; state: string }>(
      db(),
      sql`SELECT id, attempts, state FROM outbox_jobs WHERE kind = 'notification.slack' AND org_id = ${org.orgId}
          ORDER BY created_at DESC LIMIT 1`,
    );
    expect(job).toMatchObject({ attempts: 1, state: 'pending' });
    receiver.answer(() => ({ status: 200, body: 'ok' }));
    // Its retry is due in seconds: made due now.
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${job!.id}`);
    await t.drainOutbox();
    await receiver.waitFor(failedFrom + 2);
    const [done] = await queryRows<{ attempts: number; state: string }>(
      db(),
      sql`SELECT attempts, state FROM outbox_jobs WHERE id = ${job!.id}`,
    );
    expect(done).toEqual({ attempts: 2, state: 'done' });
    expect(receiver.requests[failedFrom]!.body).toBe(receiver.requests[failedFrom + 1]!.body);
  });

  it('waits as long as Slack asks on 429, and gives up on a revoked webhook (410)', async () => {
    const org = await createOrg(t.app, { name: 'Limits Org' });
    await connect(org, org.owner, {
      webhookUrl: hook('limits'),
      events: ['member.removed'],
      minSeverity: 'high',
    });
    receiver.answer(() => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': '120' } }));
    const from = receiver.requests.length;
    await emitEvent(db(), { type: 'member.removed', orgId: org.orgId, data: { userId: org.owner.userId } });
    await t.drainOutbox();
    await receiver.waitFor(from + 1);
    const [slow] = await queryRows<{ id: string; wait: number; state: string }>(
      db(),
      sql`SELECT id, state, extract(epoch FROM run_at - now())::int AS wait FROM outbox_jobs
          WHERE kind = 'notification.slack' AND org_id = ${org.orgId}`,
    );
    expect(slow!.state).toBe('pending');
    expect(slow!.wait).toBeGreaterThan(100);
    receiver.answer(() => ({ status: 410, body: 'channel_is_archived' }));
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${slow!.id}`);
    await t.drainOutbox();
    await receiver.waitFor(from + 2);
    await new Promise((r) => setTimeout(r, 200));
    const [dead] = await queryRows<{ state: string }>(
      db(),
      sql`SELECT state FROM outbox_jobs WHERE id = ${slow!.id}`,
    );
    expect(dead!.state).toBe('dead');
  });
});
