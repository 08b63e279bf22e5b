import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import {
  as,
  createOrg,
  expectStatus,
  INVITATION_LINK,
  type Person,
  tokenFromMail,
} from '../../../../test/support/orgs.ts';

/**
 * "An organization always has at least one owner", under concurrent requests on PostgreSQL: two
 * owners demoting or removing each other (or both leaving) at the same moment must never leave
 * the organization without one.
 */
describe.skipIf(!onPostgres)('the last owner under concurrent requests (PostgreSQL)', () => {
  let t: TestApp;
  let alice: Person;
  let bob: Person;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await signUp(t.app, { email: uniqueEmail('alice'), name: 'Alice' });
    bob = await signUp(t.app, { email: uniqueEmail('bob'), name: 'Bob' });
  });
  afterAll(async () => {
    await t?.close();
  });

  /**
   * A new org owned by Alice and Bob. The first round goes through the invitation flow; later
   * rounds add Bob with one INSERT (setting up is not what is under test, and it keeps 200
   * rounds quick).
   */
  async function twoOwnerOrg(round = 1): Promise<string> {
    const { orgId } = await createOrg(t.app, { plan: 'pro' }, alice);
    if (round === 0) {
      const since = t.mail.messages.length;
      expectStatus(
        await as(t.app, alice).post(`/api/v1/orgs/${orgId}/invitations`, {
          emails: [bob.email],
          role: 'owner',
        }),
        201,
      );
      const token = tokenFromMail((await t.mail.latestTo(bob.email, since, INVITATION_LINK)).text);
      expectStatus(await as(t.app, bob).post('/api/v1/invitations/accept', { token }), 200);
    } else {
      await t.db.database.pool!.query(
        `INSERT INTO memberships (org_id, user_id, role_id)
         SELECT $1, $2, id FROM roles WHERE org_id = $1 AND slug = 'owner'`,
        [orgId, bob.userId],
      );
      // A write behind the commands' back: drop Bob's cached memberships as a command would.
      t.app.gatehouse.bus.dropLocal('memberships', bob.userId);
    }
    expect(await countOwners(orgId)).toBe(2);
    return orgId;
  }

  async function countOwners(orgId: string): Promise<number> {
    const res = await t.db.database.pool!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM memberships m JOIN roles r ON r.id = m.role_id
       WHERE m.org_id = $1 AND m.status = 'active' AND r.slug = 'owner'`,
      [orgId],
    );
    return res.rows[0]!.n;
  }

  type Move = (orgId: string, actor: Person, other: Person) => Promise<LightMyRequestResponse>;
  const demote: Move = (orgId, actor, other) =>
    as(t.app, actor).patch(`/api/v1/orgs/${orgId}/members/${other.userId}`, { role: 'admin' });
  const remove: Move = (orgId, actor, other) =>
    as(t.app, actor).delete(`/api/v1/orgs/${orgId}/members/${other.userId}`);
  const leave: Move = (orgId, actor) => as(t.app, actor).delete(`/api/v1/me/memberships/${orgId}`);
  const selfDemote: Move = (orgId, actor) =>
    as(t.app, actor).patch(`/api/v1/orgs/${orgId}/members/${actor.userId}`, { role: 'admin' });
  const moves: [string, Move][] = [
    ['demote', demote],
    ['remove', remove],
    ['leave', leave],
    ['self-demote', selfDemote],
  ];

  it('200 rounds of two owners demoting, removing or leaving at once: never zero owners', async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 200; round++) {
      const orgId = await twoOwnerOrg(round);
      const [nameA, moveA] = moves[round % moves.length]!;
      const [nameB, moveB] = moves[Math.floor(round / moves.length) % moves.length]!;
      const [a, b] = await Promise.all([moveA(orgId, alice, bob), moveB(orgId, bob, alice)]);
      for (const res of [a, b]) {
        // Each request either succeeds or is refused with a problem document; never a 5xx.
        expect([200, 204, 403, 404, 409], res.body).toContain(res.statusCode);
        const key = `${res.statusCode}${res.statusCode >= 400 ? ` ${res.json().code}` : ''}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      const owners = await countOwners(orgId);
      expect(
        owners,
        `round ${round}: ${nameA} vs ${nameB} → ${a.statusCode}/${b.statusCode}`,
      ).toBeGreaterThanOrEqual(1);
    }
    // The race was real: refusals happened (409 last_owner, or 403/404 once the other won).
    expect(
      [...outcomes.keys()].some((k) => k.startsWith('409') || k.startsWith('403') || k.startsWith('404')),
    ).toBe(true);
  }, 180_000);

  it('the database itself refuses the second of two concurrent transactions that each demote one owner', async () => {
    const url = t.db.url!;
    const c1 = new pg.Client({ connectionString: url });
    const c2 = new pg.Client({ connectionString: url });
    await Promise.all([c1.connect(), c2.connect()]);
    try {
      let refused = 0;
      for (let round = 0; round < 20; round++) {
        const orgId = await twoOwnerOrg();
        const demoteSql = `UPDATE memberships SET role_id = (SELECT id FROM roles WHERE org_id = $1 AND slug = 'admin')
                           WHERE org_id = $1 AND user_id = $2`;
        await c1.query('BEGIN');
        await c2.query('BEGIN');
        // Both updates succeed (different rows); the check runs at commit, under the org's lock.
        await c1.query(demoteSql, [orgId, alice.userId]);
        await c2.query(demoteSql, [orgId, bob.userId]);
        const results = await Promise.allSettled([c1.query('COMMIT'), c2.query('COMMIT')]);
        const failures = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        expect(failures).toHaveLength(1);
        expect((failures[0]!.reason as { constraint?: string }).constraint).toBe('memberships_last_owner');
        refused += failures.length;
        expect(await countOwners(orgId)).toBe(1);
      }
      expect(refused).toBe(20);
    } finally {
      await Promise.all([c1.end(), c2.end()]);
    }
  });
});
