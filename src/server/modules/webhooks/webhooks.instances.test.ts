import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { type Receiver, startReceiver, verifyDelivery } from '../../../../test/support/receiver.ts';
import { sarifLog } from '../../../../test/support/sarif.ts';

/**
 * Two instances (two apps on one database, each with its own pool, worker and listening
 * connection, as two servers would be) deliver 1,000 events to one receiver while both run:
 * every `webhook-id` arrives exactly once, whichever instance emitted the event or delivered it.
 */

const UPLOADS = 10;
/** Each upload: scan.started, scan.completed and 98 finding.created. */
const FINDINGS_PER_UPLOAD = 98;
const EVENTS = UPLOADS * (FINDINGS_PER_UPLOAD + 2);

let one: TestApp;
let two: TestApp;
let receiver: Receiver;
beforeAll(async () => {
  const overrides = {
    outbound: { allowlist: ['127.0.0.1/32'] },
    webhooks: { retrySchedule: [1, 1, 1] },
    outbox: { pollMs: 200, concurrency: 8 },
  };
  one = await createTestApp(overrides);
  two = await createTestApp(overrides, one.db);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await two?.close();
  await one?.close();
});

describe(`two instances on one ${onPostgres ? 'PostgreSQL' : 'PGlite'} database`, () => {
  it(`deliver ${EVENTS} events, each exactly once`, { timeout: 240_000 }, async () => {
    const org = await createOrg(one.app, { name: 'Two Instances', plan: 'enterprise' });
    const hook = expectStatus(
      await as(one.app, org.owner).post(`/api/v1/orgs/${org.orgId}/webhooks`, {
        url: receiver.url,
        events: ['scan.started', 'scan.completed', 'finding.created'],
      }),
      201,
    ).json();
    const app = expectStatus(
      await as(one.app, org.owner).post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'shared' }),
      201,
    ).json();
    // The events are committed through both instances, while both deliver.
    for (let i = 0; i < UPLOADS; i++) {
      const through = i % 2 ? two : one;
      expectStatus(
        await as(through.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scans`, {
          applicationId: app.id,
          modules: ['secrets'],
          sarif: sarifLog(FINDINGS_PER_UPLOAD, `upload-${i}`),
        }),
        201,
      );
    }
    await receiver.until((r) => new Set(r.map((x) => x.id)).size === EVENTS, 200_000);
    // Time for a second copy of anything to arrive, were one to be sent.
    await one.drainOutbox({ timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1500));

    expect(receiver.received).toHaveLength(EVENTS);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(EVENTS);
    const types = receiver.received.map((r) => verifyDelivery(r, hook.secret).type);
    expect(types.filter((t) => t === 'finding.created')).toHaveLength(UPLOADS * FINDINGS_PER_UPLOAD);
    const log = await queryRows<{ state: string; n: number }>(
      one.db.database.db,
      sql`SELECT state, count(*)::int AS n FROM webhook_attempts WHERE webhook_id = ${hook.id} GROUP BY state`,
    );
    expect(log).toEqual([{ state: 'delivered', n: EVENTS }]);
    const byInstance = await queryRows<{ instance: string; n: number }>(
      one.db.database.db,
      sql`SELECT a.instance, count(*)::int AS n FROM outbox_attempts a JOIN outbox_jobs j ON j.id = a.job_id
           WHERE j.kind = 'webhook.deliver' AND j.org_id = ${org.orgId} GROUP BY a.instance`,
    );
    expect(byInstance.reduce((sum, r) => sum + r.n, 0)).toBe(EVENTS);
    expect(
      byInstance.every((r) =>
        [one.app.gatehouse.outbox.instance, two.app.gatehouse.outbox.instance].includes(r.instance),
      ),
    ).toBe(true);
  });
});
