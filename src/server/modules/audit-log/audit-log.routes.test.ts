import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { entryHash } from '../../platform/audit/entry.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const events = (orgId: string, query = '') => `/api/v1/orgs/${orgId}/audit-events${query}`;

describe('GET /orgs/:orgId/audit-events', () => {
  it('records each change with its actor, target, before/after and request, chained by hash', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const owner = as(t.app, org.owner);
    expectStatus(
      await owner.patch(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`, { role: 'viewer' }),
      200,
    );
    const page = expectStatus(await owner.get(events(org.orgId)), 200).json();
    const actions = page.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['member.role_changed', 'invite.accepted', 'member.invited', 'org.created']);
    const [changed] = page.items;
    expect(changed.actor).toEqual({ type: 'user', id: org.owner.userId, email: org.owner.email });
    expect(changed.target).toEqual({
      type: 'member',
      id: dev.userId,
      email: dev.email,
      name: 'developer person',
    });
    expect([changed.before, changed.after]).toEqual([
      { role: 'developer', roleName: 'Developer' },
      { role: 'viewer', roleName: 'Viewer' },
    ]);
    expect(changed.seq).toBe(4);
    for (const e of page.items) expect(entryHash(e)).toBe(e.hash);
    for (let i = 0; i < page.items.length - 1; i++)
      expect(page.items[i].prevHash).toBe(page.items[i + 1].hash);
    expect(page.items[3].prevHash).toBe('0'.repeat(64));
    const verify = expectStatus(await owner.get(events(org.orgId, '/verify')), 200).json();
    expect(verify).toMatchObject({ ok: true, checked: 4, headSeq: 4, headHash: changed.hash });
  });

  it('names the first altered entry when a row is changed behind the trigger', async () => {
    const org = await createOrg(t.app);
    const owner = as(t.app, org.owner);
    for (const name of ['A', 'B', 'C'])
      expectStatus(await owner.patch(`/api/v1/orgs/${org.orgId}`, { name }), 200);
    await expect(
      t.db.database.db.execute(
        sql`UPDATE audit_events SET action = 'x.y' WHERE chain_id = ${org.orgId} AND seq = 2`,
      ),
    ).rejects.toThrow();
    await t.db.database.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL session_replication_role = replica`);
      await tx.execute(
        sql`UPDATE audit_events SET after = '{"name":"Z"}' WHERE chain_id = ${org.orgId} AND seq = 3`,
      );
    });
    const verify = expectStatus(await owner.get(events(org.orgId, '/verify')), 200).json();
    expect(verify).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'hash_mismatch' });
  });

  it('exports JSON Lines with signed checkpoints', async () => {
    const org = await createOrg(t.app);
    const owner = as(t.app, org.owner);
    const res = expectStatus(await owner.get(events(org.orgId, '/export?format=jsonl')), 200);
    const lines = res.body.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!).checkpoint.seq).toBe(1);
    const keys = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
    expect(keys.items[0].keyId).toBe(JSON.parse(lines[1]!).checkpoint.keyId);
    const after = expectStatus(await owner.get(events(org.orgId)), 200).json();
    expect(after.items[0].action).toBe('audit.exported');
  });
});
