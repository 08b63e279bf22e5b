import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { emitEvent } from '../../platform/outbox/index.ts';
import { digestPeriod, localParts } from './notifications.schedule.ts';

/**
 * Email as people's preferences shape it, against the real SMTP sink: quiet hours hold an
 * immediate email until they end (in real time), and a digest gathers a period's notifications
 * into one message.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const PREFS = '/api/v1/me/notifications';
const db = () => t.app.gatehouse.database.db;

async function scanCompleted(org: Org, who: Person, appName: string): Promise<string> {
  const applicationId = await seedApplication(t.app, org.orgId, appName);
  const scanId = expectStatus(
    await as(t.app, who).post(`/api/v1/orgs/${org.orgId}/scans`, { applicationId, modules: ['secrets'] }),
    201,
  ).json().id;
  await emitEvent(db(), { type: 'scan.completed', orgId: org.orgId, data: { scan: { id: scanId } } });
  await t.drainOutbox();
  return scanId;
}

interface JobRow {
  id: string;
  run_at: Date | string;
  payload: Record<string, unknown>;
  state: string;
  dedupe_key: string | null;
}

const jobsOf = (kind: string, userId: string) =>
  queryRows<JobRow>(
    db(),
    sql`SELECT id, run_at, payload, state, dedupe_key FROM outbox_jobs
         WHERE kind = ${kind} AND payload->>'userId' = ${userId} ORDER BY created_at`,
  );

const mailsTo = (email: string, since: number, pattern?: RegExp) =>
  t.mail.messages.slice(since).filter((m) => m.to.includes(email) && (!pattern || pattern.test(m.subject)));

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('quiet hours', () => {
  it('hold an immediate email until they end in the person’s time zone, then it is sent', {
    timeout: 120_000,
  }, async () => {
    const org = await createOrg(t.app, { name: 'Quiet Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    // Kathmandu is UTC+05:45: the wall clock there, not the server's, decides.
    const zone = 'Asia/Kathmandu';
    // Quiet hours end at the next minute of that clock: wait for a minute with room to check
    // "not sent yet" before it ends.
    while (60 - new Date().getUTCSeconds() < 6) await sleep(500);
    const now = localParts(new Date(), zone);
    const minute = now.hour * 60 + now.minute;
    const quietHours = { start: hhmm(minute + 1440 - 5), end: hhmm(minute + 1) };
    expectStatus(await as(t.app, dev).patch(PREFS, { timeZone: zone, quietHours }), 200);

    const since = t.mail.messages.length;
    await scanCompleted(org, dev, 'night-build');
    // The inbox is not held: only email waits.
    const box = expectStatus(await as(t.app, dev).get('/api/v1/me/inbox'), 200).json();
    expect(box.items[0].title).toBe('Scan of “night-build” completed');
    const [job] = await jobsOf('notification.email', dev.userId);
    expect(job).toBeDefined();
    const runAt = new Date(job!.run_at);
    expect(localParts(runAt, zone)).toMatchObject({
      hour: Math.floor(((minute + 1) % 1440) / 60),
      minute: (minute + 1) % 60,
      second: 0,
    });
    expect(runAt.getTime()).toBeGreaterThan(Date.now());

    // During the quiet hours: nothing, however long the worker looks.
    await t.drainOutbox();
    await sleep(1500);
    expect(mailsTo(dev.email, since)).toEqual([]);
    expect((await jobsOf('notification.email', dev.userId))[0]!.state).toBe('pending');

    // Once they end, it goes.
    await sleep(Math.max(0, runAt.getTime() - Date.now()) + 200);
    await t.drainOutbox();
    const mail = await t.mail.latestTo(dev.email, since, /night-build/);
    expect(mail.subject).toBe('Scan of "night-build" completed');
    expect(mailsTo(dev.email, since)).toHaveLength(1);
  });

  it('let an email outside them go at once', async () => {
    const org = await createOrg(t.app, { name: 'Day Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const now = localParts(new Date(), 'UTC');
    const minute = now.hour * 60 + now.minute;
    // Two hours from now until four hours from now: the present is outside.
    expectStatus(
      await as(t.app, dev).patch(PREFS, {
        quietHours: { start: hhmm(minute + 120), end: hhmm(minute + 240) },
      }),
      200,
    );
    const since = t.mail.messages.length;
    await scanCompleted(org, dev, 'daytime');
    expect((await t.mail.latestTo(dev.email, since, /daytime/)).subject).toBe('Scan of "daytime" completed');
  });
  it('send nothing held for a person who has left the organization by the time they end', async () => {
    const org = await createOrg(t.app, { name: 'Held Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const now = localParts(new Date(), 'UTC');
    const minute = now.hour * 60 + now.minute;
    // Quiet from ten minutes ago until three hours from now: the email waits.
    expectStatus(
      await as(t.app, dev).patch(PREFS, {
        quietHours: { start: hhmm(minute + 1440 - 10), end: hhmm(minute + 180) },
      }),
      200,
    );
    const since = t.mail.messages.length;
    await scanCompleted(org, dev, 'held-secret-app');
    const [job] = await jobsOf('notification.email', dev.userId);
    expect(job!.state).toBe('pending');
    // Removed from the organization while the email waits; then the quiet hours end.
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`), 204);
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${job!.id}`);
    await t.drainOutbox();
    await sleep(300);
    expect(mailsTo(dev.email, since, /held-secret-app/)).toEqual([]);
    const [after] = await jobsOf('notification.email', dev.userId);
    expect(after!.state).toBe('done');
  });
});

describe('digests', () => {
  it('gather a day’s notifications into one message, sent when the day ends in the person’s zone', async () => {
    const org = await createOrg(t.app, { name: 'Digest Org' });
    const other = await createOrg(t.app, { name: 'Second Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const zone = 'America/New_York';
    expectStatus(await as(t.app, dev).patch(PREFS, { emailDigest: 'daily', timeZone: zone }), 200);
    // A member of a second organization too: one digest covers both.
    const invited = t.mail.messages.length;
    expectStatus(
      await as(t.app, other.owner).post(`/api/v1/orgs/${other.orgId}/invitations`, {
        emails: [dev.email],
        role: 'developer',
      }),
      201,
    );
    const invite = await t.mail.latestTo(dev.email, invited, /\/invitations\/accept#token=/);
    const token = /#token=([A-Za-z0-9_-]+)/.exec(invite.text)![1];
    expectStatus(await as(t.app, dev).post('/api/v1/invitations/accept', { token }), 200);

    const since = t.mail.messages.length;
    const day = digestPeriod(new Date(), 'daily', zone);
    await scanCompleted(org, dev, 'alpha');
    await scanCompleted(org, dev, 'beta');
    await scanCompleted(other, dev, 'gamma');
    // Nothing is mailed one by one; the inbox has them at once.
    await t.drainOutbox();
    expect(mailsTo(dev.email, since)).toEqual([]);
    expect(expectStatus(await as(t.app, dev).get('/api/v1/me/inbox'), 200).json().unread).toBe(3);

    // One digest job for the person and the day, due at the next midnight in New York.
    const jobs = await jobsOf('notification.digest', dev.userId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.payload).toEqual({
      userId: dev.userId,
      frequency: 'daily',
      period: day.key,
      periodEnd: day.end.toISOString(),
    });
    expect(new Date(jobs[0]!.run_at).toISOString()).toBe(day.end.toISOString());
    expect(localParts(day.end, zone)).toMatchObject({ hour: 0, minute: 0 });

    // The day is over (made due now rather than waiting for midnight).
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${jobs[0]!.id}`);
    await t.drainOutbox();
    const digest = await t.mail.latestTo(dev.email, since, /digest/);
    expect(digest.subject).toBe('Your daily Gatehouse digest: 3 notifications');
    for (const name of ['alpha', 'beta', 'gamma'])
      expect(digest.text).toContain(`Scan of "${name}" completed`);
    expect(digest.text).toContain(`/orgs/${other.orgId}/settings/scans/`);
    expect(mailsTo(dev.email, since)).toHaveLength(1);

    // Run again (a repeated attempt): the notifications are gathered already, nothing is sent.
    await db().execute(
      sql`UPDATE outbox_jobs SET state = 'pending', run_at = now() WHERE id = ${jobs[0]!.id}`,
    );
    await t.drainOutbox();
    await sleep(300);
    expect(mailsTo(dev.email, since)).toHaveLength(1);

    // The next notification waits for the next digest.
    await scanCompleted(org, dev, 'delta');
    const later = await jobsOf('notification.digest', dev.userId);
    expect(later.filter((j) => j.state === 'pending')).toHaveLength(1);
  });

  it('a digest can be run for a period directly: it takes what waits, and a weekly one says so', async () => {
    const org = await createOrg(t.app, { name: 'Weekly Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, dev).patch('/api/v1/me', { locale: 'es' }), 200);
    expectStatus(await as(t.app, dev).patch(PREFS, { emailDigest: 'weekly' }), 200);
    const since = t.mail.messages.length;
    await scanCompleted(org, dev, 'uno');
    const [job] = await jobsOf('notification.digest', dev.userId);
    expect(job!.payload.period).toMatch(/^\d{4}-W\d{2}$/);
    // The job for this week, written as the scheduler writes it, but due now.
    await db().execute(sql`DELETE FROM outbox_jobs WHERE id = ${job!.id}`);
    await db().execute(sql`
      INSERT INTO outbox_jobs (kind, payload) VALUES ('notification.digest', ${JSON.stringify({
        ...job!.payload,
        periodEnd: new Date(Date.now() + 1000).toISOString(),
      })}::jsonb)`);
    await t.drainOutbox();
    const digest = await t.mail.latestTo(dev.email, since, /resumen/);
    expect(digest.subject).toBe('Tu resumen semanal de Gatehouse: 1 notificación');
    expect(digest.text).toContain('Terminó el análisis de "uno"');
  });

  it('a notification made after its period’s digest went (a time zone moved west) still reaches a digest', async () => {
    const org = await createOrg(t.app, { name: 'Late Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, dev).patch(PREFS, { emailDigest: 'daily' }), 200);
    const since = t.mail.messages.length;
    await scanCompleted(org, dev, 'first-of-day');
    const [first] = await jobsOf('notification.digest', dev.userId);
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${first!.id}`);
    await t.drainOutbox();
    expect((await t.mail.latestTo(dev.email, since, /digest/)).text).toContain('first-of-day');
    // The same day's digest has gone; the next notification of that day waits for a later one.
    await scanCompleted(org, dev, 'after-the-digest');
    const later = (await jobsOf('notification.digest', dev.userId)).filter((j) => j.state === 'pending');
    expect(later).toHaveLength(1);
    expect(later[0]!.payload.period).toBe(first!.payload.period);
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${later[0]!.id}`);
    await t.drainOutbox();
    const second = await t.mail.latestTo(dev.email, since, /after-the-digest/);
    expect(second.text).toContain('after-the-digest');
    expect(mailsTo(dev.email, since, /digest/)).toHaveLength(2);
  });

  it('with email off, nothing is mailed and the inbox still has everything', async () => {
    const org = await createOrg(t.app, { name: 'Off Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, dev).patch(PREFS, { emailDigest: 'off' }), 200);
    const since = t.mail.messages.length;
    await scanCompleted(org, dev, `app-${randomUUID().slice(0, 4)}`);
    await t.drainOutbox();
    expect(mailsTo(dev.email, since)).toEqual([]);
    expect(await jobsOf('notification.email', dev.userId)).toEqual([]);
    expect(await jobsOf('notification.digest', dev.userId)).toEqual([]);
    expect(expectStatus(await as(t.app, dev).get('/api/v1/me/inbox'), 200).json().unread).toBe(1);
  });
});
