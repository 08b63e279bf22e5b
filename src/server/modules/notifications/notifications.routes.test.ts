import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { emitEvent } from '../../platform/outbox/index.ts';
import { NOTIFICATION_RETENTION_DAYS, purgeOldNotifications } from './index.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}${rest}`;
const PREFS = '/api/v1/me/notifications';
const INBOX = '/api/v1/me/inbox';

async function inbox(who: Person, query = '') {
  return expectStatus(await as(t.app, who).get(`${INBOX}${query}`), 200).json() as {
    items: Array<{
      id: string;
      type: string;
      orgId: string;
      title: string;
      body: string;
      link: string | null;
      readAt: string | null;
    }>;
    nextCursor: string | null;
    unread: number;
  };
}

/** A pending scan of a new application, started by `who` through the API. */
async function scanBy(org: Org, who: Person, appName = `app-${randomUUID().slice(0, 6)}`): Promise<string> {
  const applicationId = await seedApplication(t.app, org.orgId, appName);
  return expectStatus(
    await as(t.app, who).post(at(org.orgId, '/scans'), { applicationId, modules: ['secrets'] }),
    201,
  ).json().id;
}

/** As the scans module does once a scan is done (emitted here: what is tested is who is told). */
async function scanCompleted(org: Org, scanId: string) {
  const event = await emitEvent(t.app.gatehouse.database.db, {
    type: 'scan.completed',
    orgId: org.orgId,
    data: { scan: { id: scanId } },
  });
  await t.drainOutbox();
  return event;
}

describe('GET / PATCH /me/notifications', () => {
  it('starts from the defaults: immediate email, every type on in the inbox, no quiet hours', async () => {
    const me = await signUp(t.app);
    const prefs = expectStatus(await as(t.app, me).get(PREFS), 200).json();
    expect(prefs).toEqual({
      emailDigest: 'immediate',
      quietHours: null,
      timeZone: 'UTC',
      phone: null,
      types: {
        finding_assigned: { email: true, inApp: true },
        scan_completed: { email: true, inApp: true },
        role_changed: { email: false, inApp: true },
        promoted_to_admin: { email: true, inApp: true },
        quota_warning: { email: true, inApp: true },
        member_joined: { email: true, inApp: true },
        payment_failed: { email: true, inApp: true },
      },
    });
  });

  it('changes only what is sent, sets the profile’s time zone, and records the change in the account’s log', async () => {
    const me = await signUp(t.app);
    const res = expectStatus(
      await as(t.app, me).patch(PREFS, {
        emailDigest: 'daily',
        quietHours: { start: '22:00', end: '07:30' },
        timeZone: 'Europe/Madrid',
        types: { scan_completed: { email: false }, member_joined: { inApp: false } },
        phone: '+34 600 11 22 33',
      }),
      200,
    ).json();
    expect(res).toMatchObject({
      emailDigest: 'daily',
      quietHours: { start: '22:00', end: '07:30' },
      timeZone: 'Europe/Madrid',
      phone: '+34600112233',
    });
    expect(res.types.scan_completed).toEqual({ email: false, inApp: true });
    expect(res.types.member_joined).toEqual({ email: true, inApp: false });
    expect(res.types.finding_assigned).toEqual({ email: true, inApp: true });
    expect(expectStatus(await as(t.app, me).get(PREFS), 200).json()).toEqual(res);
    expect(expectStatus(await as(t.app, me).get('/api/v1/me'), 200).json().user.timezone).toBe(
      'Europe/Madrid',
    );

    const second = expectStatus(
      await as(t.app, me).patch(PREFS, { quietHours: null, phone: null }),
      200,
    ).json();
    expect(second).toMatchObject({ emailDigest: 'daily', quietHours: null, phone: null });
    expect(second.types.scan_completed).toEqual({ email: false, inApp: true });

    const entries = await queryRows<{ action: string; after: { phoneSet: boolean } }>(
      t.app.gatehouse.database.db,
      sql`SELECT action, after FROM audit_events WHERE chain_id = ${me.userId} AND action = 'user.notifications_updated' ORDER BY seq`,
    );
    expect(entries.map((e) => e.after.phoneSet)).toEqual([true, false]);
    // The same preferences again change nothing, and record nothing.
    expectStatus(await as(t.app, me).patch(PREFS, { emailDigest: 'daily' }), 200);
    const after = await queryRows<{ n: number }>(
      t.app.gatehouse.database.db,
      sql`SELECT count(*)::int AS n FROM audit_events WHERE chain_id = ${me.userId} AND action = 'user.notifications_updated'`,
    );
    expect(after[0]!.n).toBe(2);
  });

  it.each([
    [{}, '/body'],
    [{ emailDigest: 'hourly' }, '/body/emailDigest'],
    [{ quietHours: { start: '25:00', end: '07:00' } }, '/body/quietHours/start'],
    [{ quietHours: { start: '7:00', end: '08:00' } }, '/body/quietHours/start'],
    [{ quietHours: { start: '08:00', end: '08:00' } }, '/body/quietHours/end'],
    [{ quietHours: { start: '08:00' } }, '/body/quietHours'],
    [{ timeZone: 'Mars/Olympus_Mons' }, '/body/timeZone'],
    [{ types: { made_up: { email: false } } }, '/body/types'],
    [{ types: { scan_completed: { email: 'no' } } }, '/body/types/scan_completed/email'],
    [{ types: { scan_completed: {} } }, '/body/types/scan_completed'],
    [{ phone: '600112233' }, '/body/phone'],
    [{ phone: '+1 call me' }, '/body/phone'],
    [{ unknownField: true }, '/body'],
  ])('refuses %j with a 400 naming the field, changing nothing', async (body, field) => {
    const me = await signUp(t.app);
    const before = expectStatus(await as(t.app, me).get(PREFS), 200).json();
    const res = await as(t.app, me).patch(PREFS, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(
      res
        .json()
        .errors.map((e: { field: string }) => e.field)
        .join(' '),
    ).toContain(field);
    expect(expectStatus(await as(t.app, me).get(PREFS), 200).json()).toEqual(before);
  });

  it('answers 401 without a session', async () => {
    expect((await t.app.inject({ method: 'GET', url: PREFS })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: INBOX })).statusCode).toBe(401);
  });
});

describe('the inbox', () => {
  let org: Org;
  let dev: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Inbox Org' });
    dev = await addMember(t.app, org, 'developer', { name: 'Dana Dev' }, t.mail);
  });

  it('tells a scan’s creator that it completed, in the inbox and by email, once however often the event comes', async () => {
    const scanId = await scanBy(org, dev, 'billing-api');
    const since = t.mail.messages.length;
    const event = await scanCompleted(org, scanId);
    // The same event handed over again (a dispatch may run twice): nobody is told twice.
    await t.app.gatehouse.database.db.execute(sql`
      INSERT INTO outbox_jobs (kind, payload, org_id)
      VALUES ('event.dispatch', ${JSON.stringify(event)}::jsonb, ${org.orgId})`);
    await t.drainOutbox();
    const box = await inbox(dev);
    const mine = box.items.filter((i) => i.type === 'scan_completed' && i.link?.endsWith(scanId));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      orgId: org.orgId,
      title: 'Scan of “billing-api” completed',
      link: `/orgs/${org.orgId}/settings/scans/${scanId}`,
      readAt: null,
    });
    expect(mine[0]!.body).toContain('0 findings');
    const mail = await t.mail.latestTo(dev.email, since, /Scan of "billing-api" completed/);
    expect(mail.text).toContain(`/orgs/${org.orgId}/settings/scans/${scanId}`);
    expect(mail.text).toContain('/settings/account/notifications');
    await t.drainOutbox();
    expect(
      t.mail.messages.slice(since).filter((m) => m.to.includes(dev.email) && /billing-api/.test(m.subject)),
    ).toHaveLength(1);
    // The owner, who did not start the scan, is not told.
    expect((await inbox(org.owner)).items.some((i) => i.link?.endsWith(scanId))).toBe(false);
  });

  it('counts, filters and pages unread notifications, and marks one or all read', async () => {
    const member = await addMember(t.app, org, 'developer', {}, t.mail);
    for (let i = 0; i < 3; i++) await scanCompleted(org, await scanBy(org, member, `svc-${i}`));
    let box = await inbox(member);
    expect(box.unread).toBe(3);
    const page1 = await inbox(member, '?limit=2');
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0]!.title).toContain('svc-2');
    const page2 = await inbox(member, `?limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`);
    expect(page2.items.map((i) => i.title)).toEqual(['Scan of “svc-0” completed']);
    expect(page2.nextCursor).toBeNull();

    const read = expectStatus(
      await as(t.app, member).post(`${INBOX}/${page1.items[0]!.id}/read`),
      200,
    ).json();
    expect(read.readAt).not.toBeNull();
    const res = await as(t.app, member).get(`${INBOX}?unread=true`);
    expect(res.headers['x-unread-count']).toBe('2');
    expect(res.json().items.map((i: { id: string }) => i.id)).not.toContain(page1.items[0]!.id);

    expect(expectStatus(await as(t.app, member).post(`${INBOX}/read-all`), 200).json()).toEqual({
      marked: 2,
    });
    box = await inbox(member);
    expect(box.unread).toBe(0);
    expect(box.items.every((i) => i.readAt !== null)).toBe(true);
    expect((await inbox(member, '?unread=true')).items).toEqual([]);
  });

  it('treats another person’s notification as unknown (404), and refuses junk ids and cursors (400)', async () => {
    await scanCompleted(org, await scanBy(org, dev));
    const theirs = (await inbox(dev)).items[0]!;
    const other = await signUp(t.app);
    const res = await as(t.app, other).post(`${INBOX}/${theirs.id}/read`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    expect((await inbox(dev)).items[0]!.readAt).toBeNull();
    expect((await as(t.app, other).post(`${INBOX}/${randomUUID()}/read`)).statusCode).toBe(404);
    expect((await as(t.app, other).post(`${INBOX}/not-a-uuid/read`)).statusCode).toBe(400);
    expect((await as(t.app, other).get(`${INBOX}?cursor=forged`)).statusCode).toBe(400);
    expect((await as(t.app, other).get(`${INBOX}?limit=0`)).statusCode).toBe(400);
    expect((await as(t.app, other).get(`${INBOX}?unread=perhaps`)).statusCode).toBe(400);
  });

  it('tells only members still in the organization, and hides a former member’s notifications of it', async () => {
    const leaver = await addMember(t.app, org, 'developer', {}, t.mail);
    const first = await scanBy(org, leaver);
    await scanCompleted(org, first);
    expect((await inbox(leaver)).items).toHaveLength(1);
    const second = await scanBy(org, leaver);
    expectStatus(await as(t.app, org.owner).delete(at(org.orgId, `/members/${leaver.userId}`)), 204);
    await scanCompleted(org, second);
    const rows = await queryRows<{ n: number }>(
      t.app.gatehouse.database.db,
      sql`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${leaver.userId}`,
    );
    expect(rows[0]!.n).toBe(1);
    expect(await inbox(leaver)).toMatchObject({ items: [], unread: 0 });
  });

  it('forgets notifications after half a year, unless a digest still waits for them', async () => {
    const keeper = await addMember(t.app, org, 'developer', {}, t.mail);
    await scanCompleted(org, await scanBy(org, keeper, 'old-one'));
    await scanCompleted(org, await scanBy(org, keeper, 'recent-one'));
    const db = t.app.gatehouse.database.db;
    await db.execute(sql`
      UPDATE notifications SET created_at = now() - interval '200 days'
       WHERE user_id = ${keeper.userId} AND params->>'applicationName' = 'old-one'`);
    // Another person's old notification still waiting for their digest is kept.
    const other = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, other).patch(PREFS, { emailDigest: 'weekly' }), 200);
    await scanCompleted(org, await scanBy(org, other, 'waiting'));
    await db.execute(
      sql`UPDATE notifications SET created_at = now() - interval '200 days' WHERE user_id = ${other.userId}`,
    );
    expect(await purgeOldNotifications(db, NOTIFICATION_RETENTION_DAYS)).toBe(1);
    expect((await inbox(keeper)).items.map((i) => i.title)).toEqual(['Scan of “recent-one” completed']);
    expect((await inbox(other)).items).toHaveLength(1);
  });

  it('follows each person’s switches: a type off in the inbox is not there, off by email is not mailed', async () => {
    const quiet = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(
      await as(t.app, quiet).patch(PREFS, { types: { scan_completed: { inApp: false, email: false } } }),
      200,
    );
    const since = t.mail.messages.length;
    await scanCompleted(org, await scanBy(org, quiet, 'silent-app'));
    expect((await inbox(quiet)).items).toEqual([]);
    await t.drainOutbox();
    expect(t.mail.messages.slice(since).some((m) => m.to.includes(quiet.email))).toBe(false);
  });

  it('writes to a Spanish speaker in Spanish, in the inbox and by email', async () => {
    const ana = await addMember(t.app, org, 'developer', { name: 'Ana' }, t.mail);
    expectStatus(await as(t.app, ana).patch('/api/v1/me', { locale: 'es-ES' }), 200);
    const since = t.mail.messages.length;
    await scanCompleted(org, await scanBy(org, ana, 'pagos'));
    expect((await inbox(ana)).items[0]!.title).toBe('Terminó el análisis de “pagos”');
    const mail = await t.mail.latestTo(ana.email, since, /análisis/);
    expect(mail.subject).toBe('Terminó el análisis de "pagos"');
    expect(mail.text).toContain('Recibes este correo por tus preferencias de notificaciones');
  });
});

describe('notifications from the commands', () => {
  it('tells the assignee of a finding, by SMS-free channels, unless they assigned it to themselves', async () => {
    const org = await createOrg(t.app, { name: 'Assign Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const application = await seedApplication(t.app, org.orgId, 'checkout');
    const [finding, own] = await seedFindings(t.app, org.orgId, application, [
      { severity: 'critical', title: 'SQL injection in cart' },
      { severity: 'low', title: 'Missing header' },
    ]);
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/findings/${finding}`), { assigneeId: dev.userId }),
      200,
    );
    expectStatus(
      await as(t.app, dev).patch(at(org.orgId, `/findings/${own}`), { assigneeId: dev.userId }),
      200,
    );
    await t.drainOutbox();
    const items = (await inbox(dev)).items.filter((i) => i.type === 'finding_assigned');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      title: 'A critical finding was assigned to you: “SQL injection in cart”',
      link: `/orgs/${org.orgId}/settings/findings/${finding}`,
    });
    expect(items[0]!.body).toContain(`${org.owner.email} assigned you`);
    const mail = await t.mail.latestTo(dev.email, since, /finding was assigned/);
    expect(mail.subject).toContain('"SQL injection in cart"');
  });

  it('tells every owner when someone is made an Admin (the promotion alert), in the inbox and by email', async () => {
    const org = await createOrg(t.app, { name: 'Promo Org' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/members/${dev.userId}`), { role: 'admin' }),
      200,
    );
    const alert = await t.mail.latestTo(org.owner.email, since, /is now "Admin" of/);
    expect(alert.subject).toBe(`${dev.email} is now "Admin" of "Promo Org"`);
    expect(alert.text).toContain(`by ${org.owner.email}`);
    await t.drainOutbox();
    const items = (await inbox(org.owner)).items.filter((i) => i.type === 'promoted_to_admin');
    expect(items).toHaveLength(1);
    expect(items[0]!.title).toBe(`${dev.email} is now “Admin” of “Promo Org”`);
    // The promoted member gets no promotion alert: it is for the owners.
    expect((await inbox(dev)).items.some((i) => i.type === 'promoted_to_admin')).toBe(false);
  });

  it('tells a member whose role changed, and the admins when someone joins (events of the members module)', async () => {
    const org = await createOrg(t.app, { name: 'Events Org' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const db = t.app.gatehouse.database.db;
    // Joining emits `member.added` (the members module): each join is told once, to the admins
    // already there, never to the one who joined.
    await emitEvent(db, {
      type: 'member.role_changed',
      orgId: org.orgId,
      data: { userId: viewer.userId, before: { role: 'viewer' }, after: { role: 'viewer' } },
    });
    await t.drainOutbox();
    const joined = async (who: Person) =>
      (await inbox(who)).items.filter((i) => i.type === 'member_joined').map((i) => i.title);
    expect(await joined(org.owner)).toEqual([
      `${viewer.email} joined “Events Org”`,
      `${admin.email} joined “Events Org”`,
    ]);
    expect(await joined(admin)).toEqual([`${viewer.email} joined “Events Org”`]);
    expect((await inbox(viewer)).items.map((i) => i.type)).toEqual(['role_changed']);
    expect((await inbox(viewer)).items[0]!.title).toBe('Your role in “Events Org” is now “Viewer”');
  });
});
