import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { GENESIS_HASH } from '../../platform/audit/entry.ts';

/**
 * One org's log under many writers at once, on PostgreSQL: admins changing roles and the
 * profile while members sign in (each sign-in is one entry in the user's own log, none in the
 * orgs' logs). Whatever the interleaving, each chain stays one
 * line — sequence numbers 1..N with no gap or repeat, every entry linked to the one before —
 * and holds exactly one entry per change that succeeded.
 */
describe.skipIf(!onPostgres)('the audit chain under concurrent writers (PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Many sign-ins from one address at once: not what the login throttle is about here.
    t = await createTestApp({ loginThrottle: { maxFailuresPerIp: 100_000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function people(count: number, label: string): Promise<Person[]> {
    const out: Person[] = [];
    for (let i = 0; i < count; i++)
      out.push(await signUp(t.app, { email: uniqueEmail(`${label}${i}`), name: `${label} ${i}` }));
    return out;
  }

  /** Adds people with the role in one INSERT (setting up is not what is under test). */
  async function join(orgId: string, who: Person[], role: string): Promise<void> {
    await t.db.database.pool!.query(
      `INSERT INTO memberships (org_id, user_id, role_id)
       SELECT $1, u, r.id FROM roles r, unnest($2::uuid[]) AS u WHERE r.org_id = $1 AND r.slug = $3`,
      [orgId, who.map((p) => p.userId), role],
    );
    // A write behind the commands' back: drop their cached memberships as a command would.
    for (const p of who) t.app.gatehouse.bus.dropLocal('memberships', p.userId);
  }

  const signIn = (who: Person) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN },
      payload: { email: who.email, password: who.password },
    });

  /** The chain as stored: gapless from 1, each entry linked to the one before, head recorded. */
  async function expectOneLine(chainId: string): Promise<number> {
    const { rows } = await t.db.database.pool!.query<{ seq: number; prev_hash: string; hash: string }>(
      'SELECT seq, prev_hash, hash FROM audit_events WHERE chain_id = $1 ORDER BY seq',
      [chainId],
    );
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    rows.forEach((row, i) => {
      expect(row.prev_hash, `entry ${row.seq}`).toBe(i === 0 ? GENESIS_HASH : rows[i - 1]!.hash);
    });
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
    const head = await t.db.database.pool!.query<{ head_seq: number; head_hash: string }>(
      'SELECT head_seq, head_hash FROM audit_chains WHERE chain_id = $1',
      [chainId],
    );
    expect(head.rows[0]).toEqual({ head_seq: rows.length, head_hash: rows[rows.length - 1]!.hash });
    return rows.length;
  }

  async function headSeq(chainId: string): Promise<number> {
    const { rows } = await t.db.database.pool!.query<{ head_seq: number }>(
      'SELECT head_seq FROM audit_chains WHERE chain_id = $1',
      [chainId],
    );
    return rows[0]?.head_seq ?? 0;
  }

  async function actionCounts(chainId: string, sinceSeq: number): Promise<Record<string, number>> {
    const { rows } = await t.db.database.pool!.query<{ action: string; n: number }>(
      'SELECT action, count(*)::int AS n FROM audit_events WHERE chain_id = $1 AND seq > $2 GROUP BY action',
      [chainId, sinceSeq],
    );
    return Object.fromEntries(rows.map((r) => [r.action, r.n]));
  }

  async function expectVerified(owner: Person, orgId: string, headSeq: number): Promise<void> {
    const report = expectStatus(
      await as(t.app, owner).get(`/api/v1/orgs/${orgId}/audit-events/verify`),
      200,
    ).json();
    expect(report).toMatchObject({ ok: true, checked: headSeq, firstSeq: 1, headSeq });
  }

  /** Every request answered 200; tallies them by what they did. */
  function tally(results: Array<[kind: string, LightMyRequestResponse]>, into: Record<string, number>): void {
    for (const [kind, res] of results) {
      expect(res.statusCode, `${kind}: ${res.body}`).toBe(200);
      into[kind] = (into[kind] ?? 0) + 1;
    }
  }

  it('16 admins and 8 signing-in members on one org: one gapless chain, one entry per change', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admins = await people(16, 'admin');
    const members = await people(8, 'member');
    await join(org.orgId, admins, 'admin');
    await join(org.orgId, members, 'developer');
    const start = await headSeq(org.orgId);

    const done: Record<string, number> = {};
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const requests: Array<Promise<[string, LightMyRequestResponse]>> = [];
      admins.forEach((admin, i) => {
        const client = as(t.app, admin);
        if (i % 2 === 0) {
          requests.push(
            client
              .patch(`/api/v1/orgs/${org.orgId}`, { description: `round ${round}, admin ${i}` })
              .then((res) => ['org.updated', res]),
          );
        } else {
          // Each round every member changes role once, to the one they did not hold: a change to
          // the role already held would record nothing.
          const member = members[((i - 1) / 2 + round) % members.length]!;
          requests.push(
            client
              .patch(`/api/v1/orgs/${org.orgId}/members/${member.userId}`, {
                role: round % 2 === 0 ? 'viewer' : 'developer',
              })
              .then((res) => ['member.role_changed', res]),
          );
        }
      });
      for (const member of members) requests.push(signIn(member).then((res) => ['user.signed_in', res]));
      tally(await Promise.all(requests), done);
    }

    expect(done).toEqual({
      'org.updated': 8 * rounds,
      'member.role_changed': 8 * rounds,
      'user.signed_in': 8 * rounds,
    });
    const length = await expectOneLine(org.orgId);
    expect(length).toBe(start + 16 * rounds);
    expect(await actionCounts(org.orgId, start)).toEqual({
      'org.updated': 8 * rounds,
      'member.role_changed': 8 * rounds,
    });
    await expectVerified(org.owner, org.orgId, length);
  }, 120_000);

  it('writers on two orgs and members of both signing in: no deadlock, two gapless chains', async () => {
    const owner = await signUp(t.app, { email: uniqueEmail('owner'), name: 'Owner' });
    const a = await createOrg(t.app, { plan: 'pro', name: 'Org A' }, owner);
    const b = await createOrg(t.app, { plan: 'pro', name: 'Org B' }, owner);
    // Admins of both orgs, writing to either; members of both, signing in.
    const admins = await people(16, 'admin');
    const both = await people(4, 'both');
    for (const orgId of [a.orgId, b.orgId]) {
      await join(orgId, admins, 'admin');
      await join(orgId, both, 'developer');
    }
    const start = { a: await headSeq(a.orgId), b: await headSeq(b.orgId) };
    const userStart = await Promise.all(both.map((p) => headSeq(p.userId)));

    const touched = { a: 0, b: 0 };
    const signIns = new Map<string, number>();
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const requests: Array<Promise<[string, LightMyRequestResponse]>> = [];
      admins.forEach((admin, i) => {
        // A quarter of the admins sign in this round (their own logs only); the rest change a profile.
        if ((i + round) % 4 === 0) {
          requests.push(signIn(admin).then((res) => ['sign-in', res]));
          return;
        }
        const target = (i + round) % 2 === 0 ? a : b;
        if (target === a) touched.a++;
        else touched.b++;
        requests.push(
          as(t.app, admin)
            .patch(`/api/v1/orgs/${target.orgId}`, { description: `round ${round}, admin ${i}` })
            .then((res) => ['profile', res]),
        );
      });
      for (const member of both) {
        requests.push(signIn(member).then((res) => ['sign-in', res]));
        signIns.set(member.userId, (signIns.get(member.userId) ?? 0) + 1);
      }
      tally(await Promise.all(requests), {});
    }

    const lengthA = await expectOneLine(a.orgId);
    const lengthB = await expectOneLine(b.orgId);
    expect(lengthA).toBe(start.a + touched.a);
    expect(lengthB).toBe(start.b + touched.b);
    await expectVerified(owner, a.orgId, lengthA);
    await expectVerified(owner, b.orgId, lengthB);
    // Each member's own account log took its sign-ins too, in the same transactions.
    for (const [i, member] of both.entries()) {
      const length = await expectOneLine(member.userId);
      expect(length).toBe(userStart[i]! + signIns.get(member.userId)!);
    }
  }, 120_000);
});
