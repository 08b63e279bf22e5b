import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import {
  type LoopbackReceiver,
  type ReceivedRequest,
  startLoopbackReceiver,
} from '../../../../test/support/loopback-receiver.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { emitEvent } from '../../platform/outbox/index.ts';
import { SmsError, TwilioSmsProvider } from './notifications.sms.ts';

/**
 * SMS for critical alerts (Enterprise), through the Twilio-shaped adapter, against a fake Twilio:
 * a real HTTP server on loopback that checks the path, the basic authentication and the form
 * fields as Twilio's Messages API does, and answers as it does.
 */

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-for-tests';
const FROM = '+15005550006';

let t: TestApp;
let twilio: LoopbackReceiver;
/** Messages the fake accepted: To, From, Body. */
let accepted: Array<Record<string, string>>;

function fakeTwilio(req: ReceivedRequest) {
  const auth = req.headers.authorization ?? '';
  if (auth !== `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`) {
    return { status: 401, body: JSON.stringify({ code: 20003, message: 'Authenticate' }) };
  }
  if (req.method !== 'POST' || req.path !== `/2010-04-01/Accounts/${SID}/Messages.json`) {
    return {
      status: 404,
      body: JSON.stringify({ code: 20404, message: 'The requested resource was not found' }),
    };
  }
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
    return { status: 400, body: JSON.stringify({ code: 21601, message: 'Form body expected' }) };
  }
  const form = Object.fromEntries(new URLSearchParams(req.body));
  if (!/^\+[1-9]\d{7,14}$/.test(form.To ?? '')) {
    return {
      status: 400,
      body: JSON.stringify({ code: 21211, message: "The 'To' number is not a valid phone number." }),
    };
  }
  if (form.From !== FROM || !form.Body) {
    return {
      status: 400,
      body: JSON.stringify({ code: 21603, message: "A 'From' phone number is required." }),
    };
  }
  accepted.push(form);
  return {
    status: 201,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sid: `SM${accepted.length.toString().padStart(32, '0')}`,
      status: 'queued',
      to: form.To,
    }),
  };
}

beforeAll(async () => {
  twilio = await startLoopbackReceiver();
  t = await createTestApp({
    outbound: { allowlist: ['127.0.0.1/32'], allowHttp: false },
    sms: { providerUrl: twilio.url, accountSid: SID, authToken: TOKEN, from: FROM },
  });
});
afterAll(async () => {
  await t?.close();
  await twilio?.close();
});
beforeEach(() => {
  accepted = [];
  twilio.answer(fakeTwilio);
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const db = () => t.app.gatehouse.database.db;

async function setPhone(who: Person, phone: string | null) {
  expectStatus(await as(t.app, who).patch('/api/v1/me/notifications', { phone }), 200);
}

async function assign(org: Org, findingId: string, to: Person) {
  expectStatus(
    await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/findings/${findingId}`, {
      assigneeId: to.userId,
    }),
    200,
  );
  await t.drainOutbox();
}

async function smsJobs(userId: string) {
  return queryRows<{ id: string; state: string; attempts: number; last_error: string | null }>(
    db(),
    sql`SELECT id, state, attempts, last_error FROM outbox_jobs
         WHERE kind = 'notification.sms' AND payload->>'userId' = ${userId} ORDER BY created_at`,
  );
}

describe('the Twilio adapter', () => {
  it('posts the form to the Messages API with basic authentication, and reads the message id', async () => {
    const provider = new TwilioSmsProvider(t.app.gatehouse.outbound, {
      baseUrl: `${twilio.url}/`,
      accountSid: SID,
      authToken: TOKEN,
      from: FROM,
    });
    const sent = await provider.send({ to: '+34600111222', body: 'Gatehouse: hola & adiós' });
    expect(sent.id).toMatch(/^SM0+1$/);
    expect(accepted).toEqual([{ To: '+34600111222', From: FROM, Body: 'Gatehouse: hola & adiós' }]);
    const wrong = new TwilioSmsProvider(t.app.gatehouse.outbound, {
      baseUrl: twilio.url,
      accountSid: SID,
      authToken: 'wrong',
      from: FROM,
    });
    await expect(wrong.send({ to: '+34600111222', body: 'x' })).rejects.toMatchObject({
      name: 'SmsError',
      retry: false,
      message: expect.stringContaining('401 (Authenticate)'),
    });
    twilio.answer(() => ({ status: 503, body: '', headers: { 'retry-after': '30' } }));
    const busy = await provider.send({ to: '+34600111222', body: 'x' }).catch((e: SmsError) => e);
    expect(busy).toBeInstanceOf(SmsError);
    expect((busy as SmsError).retry).toBe(true);
    expect((busy as SmsError).retryAfter!.getTime()).toBeGreaterThan(Date.now() + 20_000);
  });
});

describe('critical alerts by SMS', () => {
  let org: Org;
  let dev: Person;
  let critical: string[];
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Enterprise Org', plan: 'enterprise' });
    dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const application = await seedApplication(t.app, org.orgId, 'core');
    critical = await seedFindings(t.app, org.orgId, application, [
      { severity: 'critical', title: 'Auth bypass' },
      { severity: 'high', title: 'XSS' },
      { severity: 'critical', title: 'Second bypass' },
      { severity: 'critical', title: 'Third bypass' },
    ]);
  });

  it('texts the assignee of a critical finding who gave a number; a high one is not texted', async () => {
    await setPhone(dev, '+34 600 111 222');
    await assign(org, critical[0]!, dev);
    await assign(org, critical[1]!, dev);
    await twilio.waitFor(1);
    await t.drainOutbox();
    expect(accepted).toEqual([
      {
        To: '+34600111222',
        From: FROM,
        Body: 'Gatehouse: A critical finding was assigned to you: "Auth bypass"',
      },
    ]);
    expect((await smsJobs(dev.userId)).map((j) => j.state)).toEqual(['done']);
  });

  it('texts nobody without a number', async () => {
    await setPhone(dev, null);
    await assign(org, critical[2]!, dev);
    expect(accepted).toEqual([]);
  });

  it('gives up on a number the provider refuses, and retries when it is unavailable', async () => {
    await setPhone(dev, '+34600111222');
    twilio.answer(() => ({
      status: 400,
      body: JSON.stringify({ code: 21614, message: 'not a mobile number' }),
    }));
    await assign(org, critical[3]!, dev);
    let jobs = await smsJobs(dev.userId);
    expect(jobs.at(-1)).toMatchObject({ state: 'dead', attempts: 1 });
    expect(jobs.at(-1)!.last_error).toContain('not a mobile number');

    twilio.answer(() => ({ status: 503, body: 'down' }));
    await emitEvent(db(), {
      type: 'finding.assigned',
      orgId: org.orgId,
      data: { findingId: critical[3], assigneeId: dev.userId },
    });
    await t.drainOutbox();
    jobs = await smsJobs(dev.userId);
    expect(jobs.at(-1)).toMatchObject({ state: 'pending', attempts: 1 });
    twilio.answer(fakeTwilio);
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${jobs.at(-1)!.id}`);
    await t.drainOutbox();
    expect((await smsJobs(dev.userId)).at(-1)).toMatchObject({ state: 'done', attempts: 2 });
    expect(accepted.map((m) => m.Body)).toEqual([
      'Gatehouse: A critical finding was assigned to you: "Third bypass"',
    ]);
  });

  it('does not text, on a retry, someone removed from the organization meanwhile', async () => {
    const leaver = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, leaver).patch('/api/v1/me/notifications', { phone: '+34600999888' }), 200);
    const application = await seedApplication(t.app, org.orgId, 'leaving');
    const [finding] = await seedFindings(t.app, org.orgId, application, [
      { severity: 'critical', title: 'Secret of the org' },
    ]);
    twilio.answer(() => ({ status: 503, body: 'down' }));
    await assign(org, finding!, leaver);
    const [job] = await smsJobs(leaver.userId);
    expect(job).toMatchObject({ state: 'pending', attempts: 1 });
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${leaver.userId}`),
      204,
    );
    twilio.answer(fakeTwilio);
    await db().execute(sql`UPDATE outbox_jobs SET run_at = now() WHERE id = ${job!.id}`);
    await t.drainOutbox();
    expect((await smsJobs(leaver.userId)).at(-1)).toMatchObject({ state: 'done', attempts: 2 });
    expect(accepted).toEqual([]);
  });

  it('texts those who may manage quota when it is all used (100 %), once a month', async () => {
    await setPhone(org.owner, '+14155550100');
    for (let i = 0; i < 2; i++) {
      await emitEvent(db(), {
        type: 'quota.threshold_reached',
        orgId: org.orgId,
        data: { percent: 100, month: '2026-07' },
      });
      await t.drainOutbox();
    }
    await t.drainOutbox();
    expect(accepted).toEqual([
      {
        To: '+14155550100',
        From: FROM,
        Body: 'Gatehouse: "Enterprise Org" has used all its tokens for 2026-07',
      },
    ]);
    // 90 % is a warning, not a critical alert.
    await emitEvent(db(), {
      type: 'quota.threshold_reached',
      orgId: org.orgId,
      data: { percent: 90, month: '2026-07' },
    });
    await t.drainOutbox();
    expect(accepted).toHaveLength(1);
  });

  it('is an Enterprise feature: a member of another plan is not texted, number or not', async () => {
    const pro = await createOrg(t.app, { name: 'Pro Org', plan: 'pro' });
    const member = await addMember(t.app, pro, 'developer', {}, t.mail);
    await setPhone(member, '+34600999888');
    const application = await seedApplication(t.app, pro.orgId, 'app');
    const [finding] = await seedFindings(t.app, pro.orgId, application, [{ severity: 'critical' }]);
    await assign(pro, finding!, member);
    expect(accepted).toEqual([]);
    expect(await smsJobs(member.userId)).toEqual([]);
    // The notification itself still arrives in the inbox.
    const box = expectStatus(await as(t.app, member).get('/api/v1/me/inbox'), 200).json();
    expect(box.items.map((i: { type: string }) => i.type)).toEqual(['finding_assigned']);
  });
});
