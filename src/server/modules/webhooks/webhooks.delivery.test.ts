import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { type Receiver, startReceiver, verifyDelivery } from '../../../../test/support/receiver.ts';
import { sarifLog } from '../../../../test/support/sarif.ts';
import { EVENT_TYPES } from '../../../contracts/events.ts';

/**
 * Delivery, end to end on real loopback receivers: every catalog event reaches a receiver that
 * verifies both signatures; failed attempts are retried with the same `webhook-id` and logged;
 * Retry-After, 410 and five days of failures; rotation's overlap; the test button; redelivery;
 * the audit stream; and a scan's findings as events in a few outbox rows. Retries are immediate
 * here (WEBHOOK_RETRY_SCHEDULE 0,0,0), in real time.
 */

let t: TestApp;
let receiver: Receiver;

const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}/webhooks${rest}`;

async function hook(who: Person, orgId: string, events: readonly string[], url = receiver.url) {
  const res = await as(t.app, who).post(at(orgId), { url, events });
  return expectStatus(res, 201).json() as { id: string; secret: string };
}

async function deliveries(who: Person, orgId: string, webhookId: string, eventId?: string) {
  const res = await as(t.app, who).get(
    at(orgId, `/${webhookId}/deliveries?limit=200${eventId ? `&eventId=${eventId}` : ''}`),
  );
  return expectStatus(res, 200).json().items as Array<{
    id: string;
    eventId: string;
    type: string;
    attempt: number;
    state: string;
    responseStatus: number | null;
    responseBody: string | null;
    durationMs: number | null;
    error: string | null;
    at: string;
    nextAttemptAt: string | null;
  }>;
}

/** Waits until the webhook's log holds no pending attempt (the receiver has answered them all). */
async function settled(who: Person, orgId: string, webhookId: string) {
  await expect
    .poll(async () => (await deliveries(who, orgId, webhookId)).filter((d) => d.state === 'pending').length, {
      timeout: 20_000,
    })
    .toBe(0);
}

async function newApplication(who: Person, orgId: string) {
  const res = await as(t.app, who).post(`/api/v1/orgs/${orgId}/applications`, {
    name: `app-${randomBytes(3).toString('hex')}`,
  });
  return expectStatus(res, 201).json().id as string;
}

beforeAll(async () => {
  t = await createTestApp({
    outbound: { allowlist: ['127.0.0.1/32'] },
    webhooks: { retrySchedule: [0, 0, 0], auditStreamIntervalMs: 100 },
  });
  receiver = await startReceiver();
});
beforeEach(() => {
  receiver.answer = () => ({ status: 200, body: 'ok' });
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

describe('every event of the catalog', () => {
  it('reaches a receiver that verifies it with standardwebhooks and the sha256= header', {
    timeout: 90_000,
  }, async () => {
    // Free plan: a scan of the secrets and api modules spends 25 of the month's 48 tokens (50 %).
    const org = await createOrg(t.app, { name: 'Every Event', plan: 'free' });
    const everything = EVENT_TYPES.filter((e) => e !== 'audit.checkpoint');
    const { id, secret } = await hook(org.owner, org.orgId, [...everything, 'audit.checkpoint']);
    // Autonomous scanning: the new application is due for a scan at once (scan.scheduled).
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/settings/platform`, {
        autonomousScanning: true,
      }),
      200,
    );
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets', 'api'],
        sarif: sarifLog(3),
      }),
      201,
    ).json();
    const findings = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/findings?applicationId=${applicationId}`),
      200,
    ).json().items;
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/findings/${findings[0].id}`, {
        status: 'resolved',
      }),
      200,
    );
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`, { role: 'viewer' }),
      200,
    );
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`), 204);
    expectStatus(await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/audit-checkpoints`), 201);

    const types = () =>
      new Set(
        receiver.received.filter((r) => r.body.includes(org.orgId)).map((r) => JSON.parse(r.body).type),
      );
    await receiver.until(
      () => everything.every((e) => types().has(e)) && types().has('audit.checkpoint'),
      30_000,
    );

    const mine = receiver.received.filter((r) => r.body.includes(org.orgId));
    const bodies = mine.map((r) => verifyDelivery(r, secret));
    for (const r of mine) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['user-agent']).toMatch(/^Gatehouse-Webhooks/);
      expect(r.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) * 1000 - Date.now())).toBeLessThan(600_000);
    }
    const byType = (type: string) => bodies.filter((b) => b.type === type).map((b) => b.data);
    expect(byType('scan.completed')[0]).toMatchObject({
      orgId: org.orgId,
      scan: { id: scan.id, status: 'completed', modules: ['secrets', 'api'], tokens: 25, tools: ['Semgrep'] },
      application: { id: applicationId },
      counts: { total: 3, critical: 0, high: 1, medium: 2, low: 0 },
      newFindings: 3,
      modules: ['secrets', 'api'],
      durationMs: expect.any(Number),
      policy: { passed: true, violations: 0 },
    });
    expect(byType('scan.started')[0]).toMatchObject({
      scan: { id: scan.id, tokens: 25 },
      startedBy: { type: 'user', id: org.owner.userId },
    });
    expect(byType('finding.created')).toHaveLength(3);
    expect(byType('finding.created')[0]).toMatchObject({
      finding: { status: 'open', applicationId, ruleId: expect.stringMatching(/^rule-/) },
      scan: { id: scan.id },
    });
    expect(byType('finding.resolved')[0]).toMatchObject({
      finding: { id: findings[0].id, status: 'resolved' },
      previousStatus: 'open',
      resolvedBy: { type: 'user', id: org.owner.userId },
    });
    expect(byType('member.added')[0]).toMatchObject({
      member: { userId: dev.userId, email: dev.email, name: 'Dee Dev' },
      role: 'developer',
      via: 'invitation',
    });
    expect(byType('member.role_changed')[0]).toMatchObject({
      member: { userId: dev.userId },
      previousRole: 'developer',
      role: 'viewer',
      reason: 'changed',
      changedBy: { type: 'user', id: org.owner.userId },
    });
    expect(byType('member.removed')[0]).toMatchObject({
      member: { userId: dev.userId },
      role: 'viewer',
      reason: 'removed',
    });
    expect(byType('quota.threshold_reached')).toEqual([
      expect.objectContaining({ orgId: org.orgId, percent: 50, used: 25, limit: 48 }),
    ]);
    expect(byType('audit.checkpoint')[0]).toMatchObject({
      orgId: org.orgId,
      seq: expect.any(Number),
      signature: expect.any(String),
    });
    // Audit entries in OCSF form, in the order of the org's log, each once.
    const entries = byType('audit.entry') as Array<{
      metadata: { sequence: number; uid: string };
      class_uid: number;
    }>;
    expect(entries.length).toBeGreaterThan(3);
    const seqs = entries.map((e) => e.metadata.sequence);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(entries.every((e) => typeof e.class_uid === 'number')).toBe(true);
    // Each event once: no webhook-id twice (every answer was a 200).
    expect(new Set(mine.map((r) => r.id)).size).toBe(mine.length);
    await settled(org.owner, org.orgId, id);
  });

  it('an organization without webhooks gets no delivery rows from its events', async () => {
    const org = await createOrg(t.app, { name: 'Quiet Org' });
    const applicationId = await newApplication(org.owner, org.orgId);
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
        sarif: sarifLog(20),
      }),
      201,
    );
    await t.drainOutbox({ kind: 'event.dispatch' });
    const [row] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE org_id = ${org.orgId}`,
    );
    expect(row!.n).toBe(0);
  });

  it("a scan's 520 new findings are 520 events carried in 2 outbox rows", {
    timeout: 90_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Many Findings' });
    const { id } = await hook(org.owner, org.orgId, ['scan.completed']);
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['sast'],
        sarif: sarifLog(520),
      }),
      201,
    ).json();
    const rows = await queryRows<{ n: number; events: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n,
                 coalesce(sum(coalesce(jsonb_array_length(payload->'events'), 1)), 0)::int AS events
            FROM outbox_jobs WHERE org_id = ${org.orgId} AND kind = 'event.dispatch'
             AND payload::text LIKE ${`%${scan.id}%`}`,
    );
    // scan.started, scan.completed and 520 finding.created: 522 events in ⌈522 / 500⌉ rows.
    expect(rows[0]).toEqual({ n: 2, events: 522 });
    // Dispatched, they become deliveries only for the webhooks that take them: this one takes
    // scan.completed alone (batches of findings reaching receivers: the every-event test, and the
    // two-instance test's 1,000).
    await t.drainOutbox({ kind: 'event.dispatch', timeoutMs: 60_000 });
    await receiver.until((r) => r.some((x) => x.body.includes(scan.id)));
    await settled(org.owner, org.orgId, id);
    const log = await deliveries(org.owner, org.orgId, id);
    expect(log.map((d) => d.type)).toEqual(['scan.completed']);
  });
});

describe('retries', () => {
  it('two 500s, then a 200: the third attempt has the same webhook-id and the log shows all three', async () => {
    const org = await createOrg(t.app, { name: 'Flaky Receiver' });
    const { id, secret } = await hook(org.owner, org.orgId, ['scan.started']);
    receiver.answer = (_r, earlier) =>
      earlier < 2 ? { status: 500, body: `boom ${earlier + 1}` } : { status: 200, body: 'fine' };
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.filter((x) => x.body.includes(scan.id)).length === 3);
    const attempts = receiver.received.filter((x) => x.body.includes(scan.id));
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    for (const a of attempts) verifyDelivery(a, secret);
    await settled(org.owner, org.orgId, id);
    const log = await deliveries(org.owner, org.orgId, id, attempts[0]!.id);
    expect(
      log
        .map((d) => [d.attempt, d.state, d.responseStatus, d.responseBody])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [1, 'failed', 500, 'boom 1'],
      [2, 'failed', 500, 'boom 2'],
      [3, 'delivered', 200, 'fine'],
    ]);
    const failed = log.filter((d) => d.state === 'failed');
    expect(failed.every((d) => d.nextAttemptAt !== null && d.error === 'answered 500')).toBe(true);
    expect(log.every((d) => d.type === 'scan.started' && d.durationMs !== null)).toBe(true);
    // Answering again clears the failure run.
    expect((await as(t.app, org.owner).get(at(org.orgId, `/${id}`))).json().failingSince).toBeNull();
  });

  it('a 3xx is a failure (not followed), and attempts stop when the schedule is spent', async () => {
    const org = await createOrg(t.app, { name: 'Redirecting Receiver' });
    const { id } = await hook(org.owner, org.orgId, ['scan.started']);
    receiver.answer = () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    // The schedule has 3 retries: 4 attempts in all, then it is given up.
    await receiver.until((r) => r.filter((x) => x.body.includes(scan.id)).length === 4);
    await settled(org.owner, org.orgId, id);
    const log = await deliveries(org.owner, org.orgId, id);
    expect(log.map((d) => d.state)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(log[0]).toMatchObject({ attempt: 4, responseStatus: 302, nextAttemptAt: null });
    expect(log[0]!.error).toMatch(/redirects are not followed/);
    await t.drainOutbox({ kind: 'webhook.deliver' });
    expect(receiver.received.filter((x) => x.body.includes(scan.id))).toHaveLength(4);
    const webhook = (await as(t.app, org.owner).get(at(org.orgId, `/${id}`))).json();
    expect(webhook).toMatchObject({ enabled: true, failingSince: expect.any(String) });
  });

  it("honours the receiver's Retry-After", async () => {
    const org = await createOrg(t.app, { name: 'Busy Receiver' });
    const { id } = await hook(org.owner, org.orgId, ['scan.started']);
    receiver.answer = (_r, earlier) =>
      earlier === 0 ? { status: 503, headers: { 'retry-after': '2' }, body: 'busy' } : { status: 200 };
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.filter((x) => x.body.includes(scan.id)).length === 2);
    await settled(org.owner, org.orgId, id);
    const [second, first] = await deliveries(org.owner, org.orgId, id);
    expect(first).toMatchObject({ attempt: 1, state: 'failed', responseStatus: 503 });
    // The schedule says "at once"; the receiver asked for 2 seconds, and got them.
    expect(Date.parse(first!.nextAttemptAt!) - Date.parse(first!.at)).toBeGreaterThanOrEqual(1900);
    const arrivals = receiver.received.filter((x) => x.body.includes(scan.id)).map((x) => x.at);
    expect(arrivals[1]!).toBeGreaterThanOrEqual(Date.parse(first!.nextAttemptAt!));
    expect(second).toMatchObject({ attempt: 2, state: 'delivered' });
  });
});

describe('turning a webhook off', () => {
  it('a 410 Gone turns it off at once and tells the members who manage webhooks by email', async () => {
    const org = await createOrg(t.app, { name: 'Gone Receiver' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, admin).patch('/api/v1/me', { locale: 'es' }), 200);
    const { id } = await hook(org.owner, org.orgId, ['scan.started']);
    receiver.answer = () => ({ status: 410, body: 'gone' });
    const since = t.mail.messages.length;
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.some((x) => x.body.includes(scan.id)));
    await expect
      .poll(async () => (await as(t.app, org.owner).get(at(org.orgId, `/${id}`))).json(), { timeout: 15_000 })
      .toMatchObject({ enabled: false, disabledReason: 'gone', disabledAt: expect.any(String) });
    expect(receiver.received.filter((x) => x.body.includes(scan.id))).toHaveLength(1);
    const owners = await t.mail.latestTo(org.owner.email, since, /turned off a webhook/);
    expect(owners.text).toContain('410 Gone');
    const admins = await t.mail.latestTo(admin.email, since, /desactivó un webhook/);
    expect(admins.text).toContain('410 Gone');
    await t.drainOutbox({ kind: 'email.send' });
    expect(t.mail.messages.filter((m) => m.to.includes(dev.email) && /webhook/.test(m.subject))).toHaveLength(
      0,
    );
    const audit = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=webhook.disabled`),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({
      actor: { type: 'system' },
      target: { id },
      after: { reason: 'gone' },
    });
    // Off: later events are not sent to it; back on, they are.
    const later = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await t.drainOutbox();
    expect(receiver.received.some((x) => x.body.includes(later.id))).toBe(false);
    receiver.answer = () => ({ status: 200 });
    expect(
      expectStatus(await as(t.app, org.owner).patch(at(org.orgId, `/${id}`), { enabled: true }), 200).json(),
    ).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    const third = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.some((x) => x.body.includes(third.id)));
  });

  it('failing every attempt for 5 days turns it off, with a notice', async () => {
    const org = await createOrg(t.app, { name: 'Dead Receiver' });
    const { id } = await hook(org.owner, org.orgId, ['scan.started']);
    receiver.answer = () => ({ status: 500 });
    await t.db.database.db.execute(
      sql`UPDATE webhooks SET failing_since = now() - interval '5 days 1 minute' WHERE id = ${id}`,
    );
    const since = t.mail.messages.length;
    const applicationId = await newApplication(org.owner, org.orgId);
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    );
    await expect
      .poll(async () => (await as(t.app, org.owner).get(at(org.orgId, `/${id}`))).json(), { timeout: 15_000 })
      .toMatchObject({ enabled: false, disabledReason: 'failing' });
    const mail = await t.mail.latestTo(org.owner.email, since, /turned off a webhook/);
    expect(mail.text).toContain('5 days');
    const log = await deliveries(org.owner, org.orgId, id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ state: 'failed', responseStatus: 500, nextAttemptAt: null });
  });
});

describe('rotation', () => {
  it('during the overlap both secrets verify a delivery; after it, only the new one', async () => {
    const org = await createOrg(t.app, { name: 'Rotating Org' });
    const { id, secret: old } = await hook(org.owner, org.orgId, ['scan.started']);
    const { secret: fresh } = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${id}/rotate-secret`)),
      200,
    ).json();
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.some((x) => x.body.includes(scan.id)));
    const during = receiver.received.find((x) => x.body.includes(scan.id))!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(during.headers['x-gatehouse-signature']).split(' ')).toHaveLength(2);
    expect(verifyDelivery(during, fresh).type).toBe('scan.started');
    expect(verifyDelivery(during, old).type).toBe('scan.started');

    await t.db.database.db.execute(
      sql`UPDATE webhooks SET previous_secret_expires_at = now() - interval '1 second' WHERE id = ${id}`,
    );
    const next = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.some((x) => x.body.includes(next.id)));
    const after = receiver.received.find((x) => x.body.includes(next.id))!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyDelivery(after, fresh).type).toBe('scan.started');
    expect(() => verifyDelivery(after, old)).toThrow();
  });
});

describe('POST …/test and …/redeliver', () => {
  it('answers what the receiver said (status, first KiB of the body), logs it, and works while it is off', async () => {
    const org = await createOrg(t.app, { name: 'Tested Org' });
    const { id, secret } = await hook(org.owner, org.orgId, ['scan.completed']);
    receiver.answer = () => ({ status: 200, body: `{"ok":true,"pad":"${'x'.repeat(3000)}"}` });
    const ok = expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${id}/test`)), 200).json();
    expect(ok).toMatchObject({ delivered: true, status: 200, durationMs: expect.any(Number) });
    expect(Buffer.byteLength(ok.body)).toBe(1024);
    expect(ok.body.startsWith('{"ok":true')).toBe(true);
    const ping = receiver.received.at(-1)!;
    expect(verifyDelivery(ping, secret)).toMatchObject({
      type: 'webhook.test',
      data: { orgId: org.orgId, webhookId: id },
    });

    expectStatus(await as(t.app, org.owner).patch(at(org.orgId, `/${id}`), { enabled: false }), 200);
    receiver.answer = () => ({ status: 418, body: "I'm a teapot" });
    const teapot = expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${id}/test`)), 200).json();
    expect(teapot).toEqual({
      delivered: false,
      status: 418,
      body: "I'm a teapot",
      durationMs: expect.any(Number),
      error: 'answered 418',
    });

    const log = await deliveries(org.owner, org.orgId, id);
    expect(log.map((d) => [d.type, d.state, d.responseStatus])).toEqual([
      ['webhook.test', 'failed', 418],
      ['webhook.test', 'delivered', 200],
    ]);
    // A failed test does not count toward turning the webhook off.
    expect((await as(t.app, org.owner).get(at(org.orgId, `/${id}`))).json().failingSince).toBeNull();
  });

  it('a receiver nobody listens on: not delivered, no status, the reason', async () => {
    const org = await createOrg(t.app, { name: 'Nobody Home' });
    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    const { id } = await hook(org.owner, org.orgId, ['scan.completed'], url);
    const res = expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${id}/test`)), 200).json();
    expect(res).toMatchObject({
      delivered: false,
      status: null,
      body: null,
      error: expect.stringMatching(/^connect/),
    });
  });

  it('redelivers an event: a new attempt with the same webhook-id and body', async () => {
    const org = await createOrg(t.app, { name: 'Redelivered Org' });
    const { id, secret } = await hook(org.owner, org.orgId, ['scan.started']);
    const applicationId = await newApplication(org.owner, org.orgId);
    const scan = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId,
        modules: ['secrets'],
      }),
      201,
    ).json();
    await receiver.until((r) => r.some((x) => x.body.includes(scan.id)));
    await settled(org.owner, org.orgId, id);
    const [first] = await deliveries(org.owner, org.orgId, id);
    const res = await as(t.app, org.owner).post(at(org.orgId, `/${id}/deliveries/${first!.id}/redeliver`));
    expect(expectStatus(res, 202).json()).toMatchObject({
      eventId: first!.eventId,
      attempt: 2,
      state: 'pending',
    });
    await receiver.until((r) => r.filter((x) => x.id === first!.eventId).length === 2);
    const [one, two] = receiver.of(first!.eventId);
    expect(two!.body).toBe(one!.body);
    verifyDelivery(two!, secret);
    await settled(org.owner, org.orgId, id);
    expect((await deliveries(org.owner, org.orgId, id)).map((d) => [d.attempt, d.state])).toEqual([
      [2, 'delivered'],
      [1, 'delivered'],
    ]);
  });
});

describe('audit.entry streaming', () => {
  it('streams the entries written after the webhook took them, in order, once each', async () => {
    const org = await createOrg(t.app, { name: 'Streamed Org' });
    const { id, secret } = await hook(org.owner, org.orgId, ['audit.entry']);
    for (let i = 0; i < 5; i++) {
      expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: `streamed ${i}` }),
        201,
      );
    }
    const bodiesOf = () =>
      receiver.received
        .filter((r) => r.body.includes('"audit.entry"') && r.body.includes(org.orgId))
        .map(
          (r) =>
            verifyDelivery(r, secret).data as {
              metadata: { sequence: number };
              unmapped: Record<string, unknown>;
            },
        );
    await receiver.until(
      () => bodiesOf().filter((b) => JSON.stringify(b).includes('application.created')).length === 5,
    );
    const seqs = bodiesOf().map((b) => b.metadata.sequence);
    expect(new Set(seqs).size).toBe(seqs.length);
    // The org's log before the webhook took entries (org.created, …) is not sent; its own creation is.
    const [created] = await queryRows<{ seq: number }>(
      t.db.database.db,
      sql`SELECT seq::int FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'webhook.created'`,
    );
    expect(Math.min(...seqs)).toBe(created!.seq);
    const [head] = await queryRows<{ head: number; cursor: number }>(
      t.db.database.db,
      sql`SELECT c.head_seq::int AS head, w.audit_cursor::int AS cursor
            FROM audit_chains c JOIN webhooks w ON w.org_id = c.chain_id WHERE w.id = ${id}`,
    );
    expect(head!.cursor).toBe(head!.head);
    // The stream reads only webhooks that take entries: another org's commands wrote no cursor.
    await settled(org.owner, org.orgId, id);
  });

  it('seed findings marked resolved through the API emit finding.resolved once', async () => {
    const org = await createOrg(t.app, { name: 'Resolved Org' });
    const { id } = await hook(org.owner, org.orgId, ['finding.resolved']);
    const app = await seedApplication(t.app, org.orgId);
    const [findingId] = await seedFindings(t.app, org.orgId, app, [{ severity: 'high' }]);
    const patch = (status: string) =>
      as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/findings/${findingId}`, { status });
    expectStatus(await patch('resolved'), 200);
    expectStatus(await patch('resolved'), 200);
    expectStatus(await patch('triaged'), 200);
    await receiver.until((r) => r.some((x) => x.body.includes(findingId!)));
    await t.drainOutbox();
    expect(receiver.received.filter((x) => x.body.includes(findingId!))).toHaveLength(1);
    await settled(org.owner, org.orgId, id);
  });
});
