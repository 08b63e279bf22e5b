import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
} from '../../../../test/support/orgs.ts';
import { type Receiver, startReceiver } from '../../../../test/support/receiver.ts';
import { ORGS_CACHE } from '../../platform/access/access.ts';
import { auditEvents } from '../../platform/db/schema.ts';
import { instantOf } from '../../platform/zoned-time.ts';
import { runScanSchedule } from '../applications/index.ts';
import { claimScheduleSlot, listScheduledOrgs } from './organizations.repository.ts';
import { scheduleSlots } from './organizations.schedule.ts';

let t: TestApp;
let receiver: Receiver;
beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const platform = (org: Org) => `/api/v1/orgs/${org.orgId}/settings/platform`;
const localization = (org: Org) => `/api/v1/orgs/${org.orgId}/settings/localization`;

const settingsAudit = (org: Org) =>
  t.db.database.db
    .select({ before: auditEvents.before, after: auditEvents.after })
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, org.orgId), eq(auditEvents.action, 'settings.updated')))
    .orderBy(asc(auditEvents.seq));

describe('GET / PATCH /orgs/:orgId/settings/platform', () => {
  it('starts with no schedule and saves each change, audited with what changed', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const start = expectStatus(await as(t.app, org.owner).get(platform(org)), 200).json();
    expect(start).toEqual({
      scanSchedule: 'none',
      scanScheduleDay: 1,
      scanScheduleHour: 2,
      nextScheduledScanAt: null,
      autonomousScanning: false,
      fixVerification: false,
      deepAiEnrichment: false,
      remediationLanguage: 'en',
    });
    const saved = expectStatus(
      await as(t.app, org.owner).patch(platform(org), {
        scanSchedule: 'weekly',
        scanScheduleDay: 3,
        scanScheduleHour: 14,
        fixVerification: true,
        remediationLanguage: 'es',
      }),
      200,
    ).json();
    expect(saved).toMatchObject({ scanSchedule: 'weekly', scanScheduleDay: 3, fixVerification: true });
    // The next Wednesday at 14:00 UTC, within a week from now.
    const next = new Date(saved.nextScheduledScanAt);
    expect(next.getUTCDay()).toBe(3);
    expect(next.getUTCHours()).toBe(14);
    expect(next.getTime() - Date.now()).toBeGreaterThan(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    expect(expectStatus(await as(t.app, org.owner).get(platform(org)), 200).json()).toEqual(saved);
    const entries = await settingsAudit(org);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.before).toEqual({
      section: 'platform',
      scanSchedule: 'none',
      scanScheduleDay: 1,
      scanScheduleHour: 2,
      fixVerification: false,
      remediationLanguage: 'en',
    });
    expect(entries[0]!.after).toMatchObject({
      section: 'platform',
      scanSchedule: 'weekly',
      fixVerification: true,
    });
    // The same values again change nothing and record nothing.
    expectStatus(await as(t.app, org.owner).patch(platform(org), { scanScheduleDay: 3 }), 200);
    expect(await settingsAudit(org)).toHaveLength(1);
  });

  it('gates fix verification (Scale) and deep AI enrichment (Enterprise) by plan; turning off is free', async () => {
    const free = await createOrg(t.app, { plan: 'free' });
    const refused = expectStatus(
      await as(t.app, free.owner).patch(platform(free), { fixVerification: true }),
      403,
    );
    expect(refused.json()).toMatchObject({
      code: 'plan_limit',
      params: { feature: 'fixVerification', requiredPlan: 'pro' },
    });
    const pro = await createOrg(t.app, { plan: 'pro' });
    const deep = expectStatus(
      await as(t.app, pro.owner).patch(platform(pro), { deepAiEnrichment: true }),
      403,
    );
    expect(deep.json()).toMatchObject({
      code: 'plan_limit',
      params: { feature: 'deepAiEnrichment', requiredPlan: 'enterprise' },
    });
    // Nothing was saved by the refusals.
    expect(expectStatus(await as(t.app, pro.owner).get(platform(pro)), 200).json().deepAiEnrichment).toBe(
      false,
    );
    const enterprise = await createOrg(t.app, { plan: 'enterprise' });
    expectStatus(
      await as(t.app, enterprise.owner).patch(platform(enterprise), {
        deepAiEnrichment: true,
        fixVerification: true,
      }),
      200,
    );
    // An org that left Enterprise may still turn it off.
    await t.db.database.db.execute(
      sql`UPDATE organizations SET plan = 'free' WHERE id = ${enterprise.orgId}`,
    );
    t.app.gatehouse.bus.dropLocal(ORGS_CACHE, enterprise.orgId);
    expectStatus(
      await as(t.app, enterprise.owner).patch(platform(enterprise), { deepAiEnrichment: false }),
      200,
    );
  });

  it('refuses junk with a 400 naming the field, and changes nothing', async () => {
    const org = await createOrg(t.app);
    for (const body of [
      {},
      { scanSchedule: 'daily' },
      { scanScheduleDay: 0 },
      { scanScheduleDay: 29 },
      { scanScheduleHour: 24 },
      { scanScheduleHour: 1.5 },
      { remediationLanguage: 'klingon' },
      { autonomousScanning: 'yes' },
      { nextScheduledScanAt: '2027-01-01T00:00:00Z' },
      { scanSchedule: 'weekly', scanScheduleDay: 9 },
    ]) {
      const res = await as(t.app, org.owner).patch(platform(org), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect(expectStatus(await as(t.app, org.owner).get(platform(org)), 200).json().scanSchedule).toBe('none');
    expect(await settingsAudit(org)).toHaveLength(0);
  });

  it('needs settings:read to read and settings:update to change; strangers learn nothing', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, dev).get(platform(org)), 403);
    expectStatus(await as(t.app, dev).patch(platform(org), { autonomousScanning: true }), 403);
    expectStatus(await as(t.app, dev).patch(localization(org), { language: 'es' }), 403);
    const other = await createOrg(t.app);
    expectStatus(await as(t.app, other.owner).get(platform(org)), 404);
    expectStatus(await as(t.app, other.owner).patch(localization(org), { language: 'es' }), 404);
    expect(await settingsAudit(org)).toHaveLength(0);
  });
});

describe('GET / PATCH /orgs/:orgId/settings/localization', () => {
  it("saves the org's language, zone and format, which every member reads in GET /me", async () => {
    const org = await createOrg(t.app);
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    expect(expectStatus(await as(t.app, org.owner).get(localization(org)), 200).json()).toEqual({
      language: 'en',
      timezone: null,
      dateFormat: 'locale',
    });
    const saved = expectStatus(
      await as(t.app, org.owner).patch(localization(org), {
        language: 'es',
        timezone: 'America/Bogota',
        dateFormat: 'dmy',
      }),
      200,
    ).json();
    expect(saved).toEqual({ language: 'es', timezone: 'America/Bogota', dateFormat: 'dmy' });
    const me = expectStatus(await as(t.app, viewer).get('/api/v1/me'), 200).json();
    const membership = me.memberships.find((m: { org: { id: string } }) => m.org.id === org.orgId);
    expect(membership.org.localization).toEqual(saved);
    // Back to each member's own zone.
    expectStatus(await as(t.app, org.owner).patch(localization(org), { timezone: null }), 200);
    const entries = await settingsAudit(org);
    expect(entries.map((e) => e.after)).toEqual([
      { section: 'localization', language: 'es', timezone: 'America/Bogota', dateFormat: 'dmy' },
      { section: 'localization', timezone: null },
    ]);
  });

  it('emails about the org follow its language for people without one of their own', async () => {
    const org = await createOrg(t.app);
    expectStatus(await as(t.app, org.owner).patch(localization(org), { language: 'es' }), 200);
    const to = `nuevo-${Date.now()}@example.test`;
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [to],
        role: 'viewer',
      }),
      201,
    );
    await t.drainOutbox();
    const mail = await t.mail.latestTo(to);
    expect(mail.subject).toBe('Te invitaron a una organización en Gatehouse');
  });

  it('refuses a zone that does not exist and other junk', async () => {
    const org = await createOrg(t.app);
    for (const body of [
      { timezone: 'Mars/Olympus' },
      { timezone: '' },
      { timezone: '+05:30' },
      { language: 'fr' },
      { dateFormat: 'yyyy' },
      { language: 'es', extra: 1 },
    ]) {
      const res = await as(t.app, org.owner).patch(localization(org), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(expectStatus(await as(t.app, org.owner).get(localization(org)), 200).json().language).toBe('en');
  });
});

describe('scheduled scans', () => {
  it('places slots on the wall clock of the zone, daylight saving included', () => {
    // Madrid is UTC+1 in winter, UTC+2 in summer.
    expect(instantOf({ year: 2027, month: 1, day: 15 }, 540, 'Europe/Madrid').toISOString()).toBe(
      '2027-01-15T08:00:00.000Z',
    );
    expect(instantOf({ year: 2027, month: 7, day: 15 }, 540, 'Europe/Madrid').toISOString()).toBe(
      '2027-07-15T07:00:00.000Z',
    );
    // 02:00 on the spring-forward night does not exist there: it falls at 03:00 local (01:00 UTC).
    expect(instantOf({ year: 2027, month: 3, day: 28 }, 120, 'Europe/Madrid').toISOString()).toBe(
      '2027-03-28T01:00:00.000Z',
    );
    const weekly = {
      scanSchedule: 'weekly' as const,
      scanScheduleDay: 1,
      scanScheduleHour: 6,
      timezone: 'Asia/Tokyo',
    };
    // Wednesday 2027-01-13 12:00 UTC: the last Monday 06:00 Tokyo is 2027-01-10T21:00Z.
    const slots = scheduleSlots(weekly, new Date('2027-01-13T12:00:00Z'));
    expect(slots.last.toISOString()).toBe('2027-01-10T21:00:00.000Z');
    expect(slots.next.toISOString()).toBe('2027-01-17T21:00:00.000Z');
    // Exactly at a slot, that slot is the last.
    expect(scheduleSlots(weekly, new Date('2027-01-10T21:00:00Z')).last.toISOString()).toBe(
      '2027-01-10T21:00:00.000Z',
    );
    const monthly = {
      scanSchedule: 'monthly' as const,
      scanScheduleDay: 28,
      scanScheduleHour: 0,
      timezone: null,
    };
    const m = scheduleSlots(monthly, new Date('2027-03-01T00:00:00Z'));
    expect(m.last.toISOString()).toBe('2027-02-28T00:00:00.000Z');
    expect(m.next.toISOString()).toBe('2027-03-28T00:00:00.000Z');
  });

  async function scheduledOrg(apps: number): Promise<{ org: Org; owner: Person }> {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
      url: receiver.url,
      events: ['scan.scheduled'],
    });
    expectStatus(res, 201);
    for (let i = 0; i < apps; i++) {
      expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: `service-${i}` }),
        201,
      );
    }
    expectStatus(
      await as(t.app, org.owner).patch(platform(org), {
        scanSchedule: 'monthly',
        scanScheduleDay: 1,
        scanScheduleHour: 3,
        remediationLanguage: 'es',
      }),
      200,
    );
    return { org, owner: org.owner };
  }

  const scheduledFor = (org: Org) =>
    receiver.received
      .map((r) => JSON.parse(r.body))
      .filter((b) => b.type === 'scan.scheduled' && b.data.orgId === org.orgId);

  it('emits scan.scheduled for each application once per slot, to a real receiver, however often it runs', async () => {
    const { org } = await scheduledOrg(3);
    // Setting the schedule counts from now: the slot already passed this month is not due.
    await runScanSchedule(t.app);
    await t.drainOutbox();
    expect(scheduledFor(org)).toHaveLength(0);
    // Two months on (the run acts "as of" then: no clock is faked), one slot is due — once.
    const later = new Date(Date.now() + 62 * 86_400_000);
    await runScanSchedule(t.app, later);
    await runScanSchedule(t.app, later);
    await t.drainOutbox();
    await receiver.until(() => scheduledFor(org).length >= 3);
    const events = scheduledFor(org);
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.data.application.name))).toEqual(
      new Set(['service-0', 'service-1', 'service-2']),
    );
    for (const e of events) {
      expect(e.data).toMatchObject({
        reason: 'schedule',
        schedule: { frequency: 'monthly' },
        options: { remediationLanguage: 'es', fixVerification: false },
      });
      expect(new Date(e.data.schedule.slot).getUTCDate()).toBe(1);
    }
  });

  it.runIf(onPostgres)('several instances running the schedule at once emit each slot once', async () => {
    const { org } = await scheduledOrg(2);
    const later = new Date(Date.now() + 62 * 86_400_000);
    const runs = await Promise.all(Array.from({ length: 6 }, () => runScanSchedule(t.app, later)));
    expect(runs.filter((n) => n > 0).length).toBeGreaterThanOrEqual(1);
    await t.drainOutbox();
    await receiver.until(() => scheduledFor(org).length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(scheduledFor(org)).toHaveLength(2);
  });

  it('asks scanners for fix verification and deep AI enrichment only while the plan has them', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url,
        events: ['scan.scheduled'],
      }),
      201,
    );
    expectStatus(
      await as(t.app, org.owner).patch(platform(org), {
        scanSchedule: 'weekly',
        scanScheduleDay: 1,
        autonomousScanning: true,
        fixVerification: true,
        deepAiEnrichment: true,
      }),
      200,
    );
    // The operator moves the org to Free: its saved switches stay, as the page shows them.
    await t.db.database.db.execute(sql`UPDATE organizations SET plan = 'free' WHERE id = ${org.orgId}`);
    t.app.gatehouse.bus.dropLocal(ORGS_CACHE, org.orgId);
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'billing-api' }),
      201,
    );
    await runScanSchedule(t.app, new Date(Date.now() + 15 * 86_400_000));
    await t.drainOutbox();
    await receiver.until(() => scheduledFor(org).length >= 2);
    const events = scheduledFor(org);
    expect(events.map((e) => e.data.reason).sort()).toEqual(['application_created', 'schedule']);
    for (const e of events) {
      expect(e.data.options).toEqual({
        fixVerification: false,
        deepAiEnrichment: false,
        remediationLanguage: 'en',
      });
    }
  });

  it('takes no slot for an organization suspended after the scheduler listed it', async () => {
    const { org } = await scheduledOrg(1);
    const later = new Date(Date.now() + 62 * 86_400_000);
    const listed = (await listScheduledOrgs(t.db.database.db)).find((o) => o.id === org.orgId)!;
    expect(listed).toBeDefined();
    // An operator suspends it between the scheduler's list and its claim.
    await t.db.database.db.execute(
      sql`UPDATE organizations SET suspended_at = now() WHERE id = ${org.orgId}`,
    );
    const slot = scheduleSlots(listed, later).last;
    expect(await claimScheduleSlot(t.db.database.db, org.orgId, slot)).toBe(false);
  });

  it('a schedule turned off emits nothing', async () => {
    const { org } = await scheduledOrg(1);
    expectStatus(await as(t.app, org.owner).patch(platform(org), { scanSchedule: 'none' }), 200);
    await runScanSchedule(t.app, new Date(Date.now() + 62 * 86_400_000));
    await t.drainOutbox();
    expect(scheduledFor(org)).toHaveLength(0);
  });
});

describe('tokens on the settings routes', () => {
  it('a read token changes nothing, a write token no settings (settings:update is the admin scope’s)', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const personalRead = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
    const personalWrite = await createPersonalToken(t.app, org.owner, org.orgId, ['write']);
    const automationRead = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/automation-tokens`, {
        name: 'read-only pipeline',
        role: 'admin',
        scopes: ['read'],
      }),
      201,
    ).json().token as string;
    const base = `/api/v1/orgs/${org.orgId}`;
    const ai = {
      provider: 'openai_compatible',
      baseUrl: `${receiver.url}/v1`,
      apiKey: 'sk-token-test-0123456789abcdef',
      model: 'gpt-4o-mini',
    };
    const integration = {
      kind: 'scm',
      provider: 'generic',
      name: 'Token-made',
      config: { baseUrl: receiver.url },
    };
    const settingsWrites = [
      { method: 'PATCH', url: platform(org), payload: { deepAiEnrichment: true, autonomousScanning: true } },
      { method: 'PATCH', url: localization(org), payload: { language: 'es' } },
      { method: 'PUT', url: `${base}/setup`, payload: { dismissed: true } },
      { method: 'PUT', url: `${base}/ai-connections/remediator`, payload: ai },
      { method: 'POST', url: `${base}/ai-connections/remediator/test`, payload: ai },
      { method: 'DELETE', url: `${base}/ai-connections/remediator` },
    ] as const;
    const integrationWrite = { method: 'POST', url: `${base}/integrations`, payload: integration } as const;
    const send = (token: string, req: { method: string; url: string; payload?: object }) =>
      t.app.inject({
        method: req.method as 'POST',
        url: req.url,
        headers: { authorization: `Bearer ${token}` },
        ...(req.payload ? { payload: req.payload } : {}),
      });
    for (const token of [personalRead.token, automationRead]) {
      for (const req of [...settingsWrites, integrationWrite]) {
        const res = await send(token, req);
        expect(res.statusCode, `${req.method} ${req.url}: ${res.body}`).toBe(403);
      }
    }
    for (const req of settingsWrites) {
      const res = await send(personalWrite.token, req);
      expect(res.statusCode, `${req.method} ${req.url}: ${res.body}`).toBe(403);
      expect(res.json().params).toEqual({ permission: 'settings:update' });
    }
    // integrations:manage is the write scope's.
    expectStatus(await send(personalWrite.token, integrationWrite), 201);
    expect(expectStatus(await as(t.app, org.owner).get(platform(org)), 200).json()).toMatchObject({
      deepAiEnrichment: false,
      autonomousScanning: false,
    });
    expect(expectStatus(await as(t.app, org.owner).get(localization(org)), 200).json().language).toBe('en');
    expect(
      expectStatus(await as(t.app, org.owner).get(`${base}/ai-connections/remediator`), 200).json()
        .configured,
    ).toBe(false);
    expect(expectStatus(await as(t.app, org.owner).get(`${base}/setup`), 200).json().dismissed).toBe(false);
    expect(await settingsAudit(org)).toHaveLength(0);
  });
});

describe('GET / PUT /orgs/:orgId/setup', () => {
  const setup = (org: Org) => `/api/v1/orgs/${org.orgId}/setup`;
  const done = async (org: Org) =>
    Object.fromEntries(
      (
        expectStatus(await as(t.app, org.owner).get(setup(org)), 200).json().steps as Array<{
          key: string;
          done: boolean;
        }>
      ).map((s) => [s.key, s.done]),
    );

  it('ticks each step from what exists, and an admin may hide it for everyone', async () => {
    const org = await createOrg(t.app);
    expect(await done(org)).toEqual({
      logo: false,
      description: false,
      members: false,
      api_token: false,
      integration: false,
      notifications: false,
      billing: false,
    });
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, { description: 'Payments' }),
      200,
    );
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: ['someone@example.test'],
        role: 'viewer',
      }),
      201,
    );
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url,
        events: ['scan.completed'],
      }),
      201,
    );
    expect(await done(org)).toMatchObject({
      description: true,
      members: true,
      integration: true,
      logo: false,
    });
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    expectStatus(await as(t.app, viewer).get(setup(org)), 403);
    expectStatus(await as(t.app, viewer).put(setup(org), { dismissed: true }), 403);
    const hidden = expectStatus(await as(t.app, org.owner).put(setup(org), { dismissed: true }), 200).json();
    expect(hidden.dismissed).toBe(true);
    expectStatus(await as(t.app, org.owner).put(setup(org), { dismissed: 'yes' }), 400);
    expect(expectStatus(await as(t.app, org.owner).get(setup(org)), 200).json().dismissed).toBe(true);
    const entries = await settingsAudit(org);
    expect(entries.at(-1)!.after).toEqual({ section: 'setup', checklistDismissed: true });
  });
});
