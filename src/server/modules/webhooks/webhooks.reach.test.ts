import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { type LoopbackReceiver, startLoopbackReceiver } from '../../../../test/support/loopback-receiver.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';

/**
 * A webhook hands its receiver what its events carry: managing webhooks is no way around the
 * permissions that guard that data. A member whose role has `webhooks:manage` but not
 * `audit:read` cannot point the audit stream at a server of their choosing, neither by creating a
 * webhook that takes it nor by moving an existing one, nor by adding the event to one.
 */

let t: TestApp;
let receiver: LoopbackReceiver;
beforeAll(async () => {
  receiver = await startLoopbackReceiver();
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'], allowHttp: true } });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const hooks = (org: Org, rest = '') => `/api/v1/orgs/${org.orgId}/webhooks${rest}`;

describe('the events a webhook takes are bounded by what its editor may read', () => {
  let org: Org;
  let manager: Person;
  let auditHook: string;
  beforeAll(async () => {
    org = await createOrg(t.app, { name: 'Reach Org' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'hook-keeper',
        name: 'Hook keeper',
        permissions: ['webhooks:manage', 'scans:read', 'findings:read', 'members:read'],
      }),
      201,
    );
    manager = await addMember(t.app, org, 'hook-keeper', {}, t.mail);
    auditHook = expectStatus(
      await as(t.app, org.owner).post(hooks(org), {
        url: `${receiver.url}/siem`,
        events: ['audit.entry', 'audit.checkpoint'],
        description: 'SIEM',
      }),
      201,
    ).json().id;
  });

  it('creates webhooks for the events it may read', async () => {
    expectStatus(
      await as(t.app, manager).post(hooks(org), {
        url: `${receiver.url}/ci`,
        events: ['scan.completed', 'finding.created', 'member.added'],
      }),
      201,
    );
  });

  it('is refused (403) a webhook taking the audit log, and nothing is created', async () => {
    for (const events of [
      ['audit.entry'],
      ['scan.started', 'audit.checkpoint'],
      ['quota.threshold_reached'],
      // Each application of the org, by name and repository (applications:read).
      ['scan.scheduled'],
      ['scan.completed', 'scan.scheduled'],
    ]) {
      const res = await as(t.app, manager).post(hooks(org), { url: `${receiver.url}/mine`, events });
      expect(res.statusCode, JSON.stringify(events)).toBe(403);
      expect(res.json().code).toBe('permission_denied');
    }
    const rows = await queryRows<{ n: number }>(
      t.app.gatehouse.database.db,
      sql`SELECT count(*)::int AS n FROM webhooks WHERE org_id = ${org.orgId} AND url LIKE '%/mine'`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it("is refused moving the audit stream's webhook to another URL, or adding the audit log to one", async () => {
    const moved = await as(t.app, manager).patch(hooks(org, `/${auditHook}`), {
      url: `${receiver.url}/mine`,
    });
    expect(moved.statusCode).toBe(403);
    const read = expectStatus(await as(t.app, org.owner).get(hooks(org, `/${auditHook}`)), 200).json();
    expect(read.url).toBe(`${receiver.url}/siem`);

    const own = expectStatus(
      await as(t.app, manager).post(hooks(org), { url: `${receiver.url}/own`, events: ['scan.started'] }),
      201,
    ).json();
    const widened = await as(t.app, manager).patch(hooks(org, `/${own.id}`), {
      events: ['scan.started', 'audit.entry'],
    });
    expect(widened.statusCode).toBe(403);
  });

  it('may still change what does not widen its reach: the description, turning it off', async () => {
    expectStatus(
      await as(t.app, manager).patch(hooks(org, `/${auditHook}`), {
        description: 'SIEM (prod)',
        enabled: false,
      }),
      200,
    );
  });

  it('the owner, who holds every permission, may do all of it', async () => {
    expectStatus(
      await as(t.app, org.owner).patch(hooks(org, `/${auditHook}`), {
        url: `${receiver.url}/siem2`,
        enabled: true,
      }),
      200,
    );
  });
});
