import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { quotaLedger } from '../../platform/db/schema.ts';
import { monthOf, spendTokens } from './quota.spend.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = { orgId: string; owner: Person };
const url = (org: Org, rest: string) => `/api/v1/orgs/${org.orgId}${rest}`;
const month = monthOf(new Date());

/** `YYYY-MM` of `n` months before this one. */
function monthsAgo(n: number): string {
  const now = new Date();
  return monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 1)));
}

async function spendAs(
  org: Org,
  userId: string | null,
  module: 'sast' | 'dependencies' | 'secrets' | 'api',
  tokens: number,
) {
  await t.db.database.db.transaction((tx) =>
    spendTokens(tx, { orgId: org.orgId, userId, scanId: null, charges: [{ module, tokens }] }),
  );
}

function expectProblem(
  res: { statusCode: number; body: string; json(): { code: string } },
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().code).toBe(code);
}

describe('GET /api/v1/plans', () => {
  it('is public and names every plan with its entitlements and what each module costs, as the operator set it', async () => {
    const res = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/plans' }), 200).json();
    expect(res.moduleCosts).toEqual({ dependencies: 10, sast: 15, secrets: 5, api: 20 });
    expect(res.items.map((p: { id: string }) => p.id)).toEqual(['free', 'pro', 'enterprise']);
    expect(res.items[0]).toMatchObject({ id: 'free', tokensPerMonth: 48, maxMembers: 5, budgets: false });
    expect(res.items[2]).toMatchObject({ id: 'enterprise', budgets: true, quotaBoosts: true });
    await t.db.database.db.execute(sql`UPDATE module_costs SET tokens = 12 WHERE module = 'sast'`);
    const changed = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/plans' }), 200).json();
    expect(changed.moduleCosts.sast).toBe(12);
    await t.db.database.db.execute(sql`UPDATE module_costs SET tokens = 15 WHERE module = 'sast'`);
  });
});

describe('GET /orgs/:orgId/usage', () => {
  let org: Org;
  let alice: Person;
  let bob: Person;
  let viewer: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { plan: 'enterprise', name: 'Usage Co' });
    alice = await addMember(t.app, org, 'cyberoper', { name: 'Alice' }, t.mail);
    bob = await addMember(t.app, org, 'developer', { name: 'Bob' }, t.mail);
    viewer = await addMember(t.app, org, 'viewer', { name: 'Vic' }, t.mail);
  });

  it('adds up this month by module, member and department, and the 6-month trend from earlier months’ ledger', async () => {
    const team = expectStatus(
      await as(t.app, org.owner).post(url(org, '/departments'), {
        name: 'Platform',
        monthlyBudget: 500,
        memberIds: [bob.userId],
      }),
      201,
    ).json();
    await spendAs(org, alice.userId, 'dependencies', 450);
    await spendAs(org, bob.userId, 'sast', 300);
    await spendAs(org, alice.userId, 'secrets', 75);
    await spendAs(org, null, 'api', 25);
    // Earlier months, as the ledger holds them (two and five months back; seven is outside the trend).
    await t.db.database.db.insert(quotaLedger).values([
      { orgId: org.orgId, month: monthsAgo(2), userId: alice.userId, module: 'sast', tokens: 120 },
      { orgId: org.orgId, month: monthsAgo(2), userId: bob.userId, module: 'api', tokens: 80 },
      { orgId: org.orgId, month: monthsAgo(5), userId: bob.userId, module: 'secrets', tokens: 5 },
      { orgId: org.orgId, month: monthsAgo(7), userId: bob.userId, module: 'secrets', tokens: 999 },
    ]);
    const boost = expectStatus(
      await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 1000 }),
      201,
    ).json();
    expect(new Date(boost.expiresAt).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const usage = expectStatus(await as(t.app, alice).get(url(org, '/usage')), 200).json();
    expect(usage).toMatchObject({ month, limit: 11_000, boosts: 1000, used: 850, remaining: 10_150 });
    expect(usage.byModule).toEqual([
      { module: 'dependencies', tokens: 450 },
      { module: 'sast', tokens: 300 },
      { module: 'secrets', tokens: 75 },
      { module: 'api', tokens: 25 },
    ]);
    expect(usage.byMember).toEqual([
      { userId: alice.userId, email: alice.email, tokens: 525 },
      { userId: bob.userId, email: bob.email, tokens: 300 },
      { userId: null, email: null, tokens: 25 },
    ]);
    expect(usage.byDepartment).toEqual([
      { id: team.id, name: 'Platform', parentId: null, budget: 500, tokens: 300 },
    ]);
    expect(usage.trend.map((m: { month: string }) => m.month)).toEqual([5, 4, 3, 2, 1, 0].map(monthsAgo));
    expect(usage.trend.map((m: { used: number }) => m.used)).toEqual([5, 0, 0, 200, 0, 850]);
    // Earlier months: the plan's tokens, plus boosts in force then (none: this one is new).
    expect(usage.trend.map((m: { limit: number }) => m.limit)).toEqual([
      10_000, 10_000, 10_000, 10_000, 10_000, 11_000,
    ]);

    const past = expectStatus(
      await as(t.app, alice).get(url(org, `/usage?month=${monthsAgo(2)}`)),
      200,
    ).json();
    expect(past).toMatchObject({ month: monthsAgo(2), used: 200, limit: 10_000, boosts: 0 });
    expect(past.byMember).toEqual([
      { userId: alice.userId, email: alice.email, tokens: 120 },
      { userId: bob.userId, email: bob.email, tokens: 80 },
    ]);
    expect(past.trend.at(-1)).toEqual({ month: monthsAgo(2), used: 200, limit: 10_000 });
  });

  it('names the spending members only to those who may read the member list', async () => {
    expectStatus(
      await as(t.app, org.owner).post(url(org, '/roles'), {
        slug: 'quota-reader',
        name: 'Quota reader',
        permissions: ['quota:read'],
      }),
      201,
    );
    const reader = await addMember(t.app, org, 'quota-reader', { name: 'Quinn' }, t.mail);
    const usage = expectStatus(await as(t.app, reader).get(url(org, '/usage')), 200).json();
    expect(usage.byMember.length).toBeGreaterThan(0);
    expect(usage.byMember.every((m: { email: string | null }) => m.email === null)).toBe(true);
    expect(usage.byMember.map((m: { userId: string | null }) => m.userId)).toContain(alice.userId);
  });

  it('a boost in force during a past month counts in that month’s limit', async () => {
    const other = await createOrg(t.app, { plan: 'enterprise', name: 'Past Boost' });
    const boost = expectStatus(
      await as(t.app, other.owner).post(url(other, '/quota-boosts'), { tokens: 500 }),
      201,
    ).json();
    await t.db.database.db.execute(
      sql`UPDATE quota_boosts SET created_at = now() - interval '40 days', expires_at = now() - interval '10 days' WHERE id = ${boost.id}`,
    );
    const usage = expectStatus(await as(t.app, other.owner).get(url(other, '/usage')), 200).json();
    expect(usage).toMatchObject({ limit: 10_000, boosts: 0 });
    const overlapped = usage.trend.filter((m: { limit: number }) => m.limit === 10_500).length;
    expect(overlapped).toBeGreaterThanOrEqual(1);
    const boosts = expectStatus(await as(t.app, other.owner).get(url(other, '/quota-boosts')), 200).json();
    expect(boosts.items[0]).toMatchObject({ id: boost.id, tokens: 500, active: false });
  });

  it('refuses a malformed month with 400, and answers 403 to a member without quota:read', async () => {
    for (const bad of ['2025-13', '2025-1', 'abc', '2025-00', '20250-01']) {
      expectProblem(
        await as(t.app, org.owner).get(url(org, `/usage?month=${bad}`)),
        400,
        'validation_failed',
      );
    }
    expectProblem(await as(t.app, viewer).get(url(org, '/usage')), 403, 'permission_denied');
    expectProblem(await as(t.app, bob).get(url(org, '/departments')), 403, 'permission_denied');
    expectProblem(await as(t.app, bob).get(url(org, '/quota-boosts')), 403, 'permission_denied');
    expectProblem(await as(t.app, bob).get(url(org, '/member-budgets')), 403, 'permission_denied');
  });

  it('quota:manage writes are refused to a member with quota:read only', async () => {
    const dep = expectStatus(
      await as(t.app, org.owner).post(url(org, '/departments'), { name: 'Ops' }),
      201,
    ).json();
    for (const res of [
      await as(t.app, alice).post(url(org, '/departments'), { name: 'Mine' }),
      await as(t.app, alice).patch(url(org, `/departments/${dep.id}`), { name: 'Renamed' }),
      await as(t.app, alice).delete(url(org, `/departments/${dep.id}`)),
      await as(t.app, alice).put(url(org, `/members/${bob.userId}/budget`), { monthlyTokens: 5 }),
      await as(t.app, alice).post(url(org, '/quota-boosts'), { tokens: 5 }),
    ]) {
      expectProblem(res, 403, 'permission_denied');
    }
    expectStatus(await as(t.app, alice).get(url(org, `/departments/${dep.id}`)), 200);
  });
});

describe('departments, member budgets and boosts', () => {
  let org: Org;
  let a: Person;
  let b: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { plan: 'enterprise', name: 'Tree Co' });
    a = await addMember(t.app, org, 'developer', { name: 'Ann' }, t.mail);
    b = await addMember(t.app, org, 'developer', { name: 'Ben' }, t.mail);
  });

  const create = (body: Record<string, unknown>) => as(t.app, org.owner).post(url(org, '/departments'), body);

  it('creates, lists, edits and deletes, audited with before and after', async () => {
    const made = expectStatus(
      await create({ name: ' Security ', monthlyBudget: 100, memberIds: [a.userId] }),
      201,
    ).json();
    expect(made).toMatchObject({
      name: 'Security',
      monthlyBudget: 100,
      parentId: null,
      memberIds: [a.userId],
      moved: [],
    });
    expect(made.members).toEqual([{ userId: a.userId, email: a.email, name: 'Ann' }]);
    expectProblem(await create({ name: 'security' }), 409, 'conflict');
    const edited = expectStatus(
      await as(t.app, org.owner).patch(url(org, `/departments/${made.id}`), {
        monthlyBudget: null,
        memberIds: [a.userId, b.userId],
      }),
      200,
    ).json();
    expect(edited).toMatchObject({
      monthlyBudget: null,
      memberIds: expect.arrayContaining([a.userId, b.userId]),
    });
    const list = expectStatus(await as(t.app, org.owner).get(url(org, '/departments')), 200).json();
    expect(list.items.map((d: { id: string }) => d.id)).toContain(made.id);
    expectStatus(await as(t.app, org.owner).delete(url(org, `/departments/${made.id}`)), 204);
    expectProblem(await as(t.app, org.owner).get(url(org, `/departments/${made.id}`)), 404, 'not_found');
    const log = expectStatus(await as(t.app, org.owner).get(url(org, '/audit-events?limit=20')), 200).json();
    const actions = log.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['department.created', 'department.updated', 'department.deleted']),
    );
    const updated = log.items.find((e: { action: string }) => e.action === 'department.updated');
    expect(updated.before).toMatchObject({ monthlyBudget: 100, memberIds: [a.userId] });
  });

  it('adding a member of another department moves them and says so', async () => {
    const one = expectStatus(await create({ name: 'One', memberIds: [a.userId] }), 201).json();
    const two = expectStatus(await create({ name: 'Two', memberIds: [a.userId, b.userId] }), 201).json();
    expect(two.moved).toEqual([{ userId: a.userId, fromDepartmentId: one.id }]);
    const again = expectStatus(
      await as(t.app, org.owner).get(url(org, `/departments/${one.id}`)),
      200,
    ).json();
    expect(again.memberIds).toEqual([]);
    for (const id of [two.id, one.id])
      expectStatus(await as(t.app, org.owner).delete(url(org, `/departments/${id}`)), 204);
  });

  it('refuses members who are not active members (400), a parent from elsewhere (400), a cycle (409), and deleting a parent (409)', async () => {
    const stranger = await createOrg(t.app, { plan: 'enterprise', name: 'Elsewhere' });
    const foreign = expectStatus(
      await as(t.app, stranger.owner).post(url(stranger, '/departments'), { name: 'Theirs' }),
      201,
    ).json();
    const res = await create({ name: 'Bad members', memberIds: [stranger.owner.userId] });
    expectProblem(res, 400, 'validation_failed');
    expect(res.json().errors[0]).toMatchObject({ field: '/body/memberIds', reason: 'not_a_member' });
    expectStatus(await as(t.app, org.owner).delete(url(org, `/members/${b.userId}`)), 204);
    expectProblem(await create({ name: 'Removed member', memberIds: [b.userId] }), 400, 'validation_failed');
    expectProblem(await create({ name: 'Foreign parent', parentId: foreign.id }), 400, 'validation_failed');

    const top = expectStatus(await create({ name: 'Top' }), 201).json();
    const mid = expectStatus(await create({ name: 'Mid', parentId: top.id }), 201).json();
    const low = expectStatus(await create({ name: 'Low', parentId: mid.id }), 201).json();
    expectProblem(
      await as(t.app, org.owner).patch(url(org, `/departments/${top.id}`), { parentId: low.id }),
      409,
      'conflict',
    );
    expectProblem(
      await as(t.app, org.owner).patch(url(org, `/departments/${top.id}`), { parentId: top.id }),
      409,
      'conflict',
    );
    expectProblem(await as(t.app, org.owner).delete(url(org, `/departments/${mid.id}`)), 409, 'conflict');
    // Cross-tenant ids are not found.
    expectProblem(await as(t.app, org.owner).get(url(org, `/departments/${foreign.id}`)), 404, 'not_found');
    expectProblem(
      await as(t.app, org.owner).patch(url(org, `/departments/${foreign.id}`), { name: 'x' }),
      404,
      'not_found',
    );
    expectProblem(
      await as(t.app, org.owner).delete(url(org, `/departments/${foreign.id}`)),
      404,
      'not_found',
    );
    expectProblem(
      await as(t.app, org.owner).put(url(org, `/members/${stranger.owner.userId}/budget`), {
        monthlyTokens: 1,
      }),
      404,
      'not_found',
    );
    expectProblem(
      await as(t.app, org.owner).put(url(org, `/members/${b.userId}/budget`), { monthlyTokens: 1 }),
      404,
      'not_found',
    );
    expect(
      expectStatus(await as(t.app, stranger.owner).get(url(stranger, '/departments')), 200).json().items,
    ).toHaveLength(1);
  });

  it('two concurrent re-parentings that would together close a cycle: one passes, the other is refused', async () => {
    for (let round = 0; round < (onPostgres ? 10 : 2); round++) {
      const x = expectStatus(await create({ name: `X${round}` }), 201).json();
      const y = expectStatus(await create({ name: `Y${round}` }), 201).json();
      const [one, two] = await Promise.all([
        as(t.app, org.owner).patch(url(org, `/departments/${x.id}`), { parentId: y.id }),
        as(t.app, org.owner).patch(url(org, `/departments/${y.id}`), { parentId: x.id }),
      ]);
      expect([one.statusCode, two.statusCode].sort()).toEqual([200, 409]);
      const list = expectStatus(await as(t.app, org.owner).get(url(org, '/departments')), 200).json();
      const parents = list.items
        .filter((d: { id: string }) => d.id === x.id || d.id === y.id)
        .map((d: { parentId: string | null }) => d.parentId);
      expect(parents.filter((p: string | null) => p === null)).toHaveLength(1);
    }
  });

  it('member budgets: set, listed with this month’s spending, cleared; audited as member.budget_set', async () => {
    const set = expectStatus(
      await as(t.app, org.owner).put(url(org, `/members/${a.userId}/budget`), { monthlyTokens: 40 }),
      200,
    );
    expect(set.json()).toEqual({ userId: a.userId, monthlyTokens: 40 });
    await spendAs(org, a.userId, 'sast', 15);
    const list = expectStatus(await as(t.app, org.owner).get(url(org, '/member-budgets')), 200).json();
    expect(list.items).toEqual([
      { userId: a.userId, email: a.email, name: 'Ann', monthlyTokens: 40, used: 15 },
    ]);
    expectStatus(
      await as(t.app, org.owner).put(url(org, `/members/${a.userId}/budget`), { monthlyTokens: null }),
      200,
    );
    expect(
      expectStatus(await as(t.app, org.owner).get(url(org, '/member-budgets')), 200).json().items,
    ).toEqual([]);
    const log = expectStatus(
      await as(t.app, org.owner).get(url(org, '/audit-events?action=member.budget_set')),
      200,
    ).json();
    expect(log.items.map((e: { after: unknown }) => e.after)).toEqual([
      { monthlyTokens: null },
      { monthlyTokens: 40 },
    ]);
    expectProblem(
      await as(t.app, org.owner).put(url(org, `/members/${a.userId}/budget`), { monthlyTokens: -1 }),
      400,
      'validation_failed',
    );
  });

  it('boosts: 1 to 1,000,000 tokens, listed newest first, audited as quota.boosted', async () => {
    for (const tokens of [0, 1_000_001, 1.5]) {
      expectProblem(
        await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens }),
        400,
        'validation_failed',
      );
    }
    const made = expectStatus(
      await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 250 }),
      201,
    ).json();
    const list = expectStatus(await as(t.app, org.owner).get(url(org, '/quota-boosts')), 200).json();
    expect(list.items[0]).toMatchObject({
      id: made.id,
      tokens: 250,
      active: true,
      createdBy: { id: org.owner.userId },
    });
    const log = expectStatus(
      await as(t.app, org.owner).get(url(org, '/audit-events?action=quota.boosted')),
      200,
    ).json();
    expect(log.items[0].after).toMatchObject({ tokens: 250 });
  });
});

describe('POST /orgs/:orgId/quota-boosts: the pool within the counters’ range', () => {
  it('refuses a boost that would take the pool past 2,147,483,647 tokens (usage and scans keep working)', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise', name: 'Boost Co' });
    // 2,147 boosts of a million in force (the plan's 10,000 on top): one more would not fit.
    await t.db.database.db.execute(sql`
      INSERT INTO quota_boosts (org_id, tokens, expires_at)
      SELECT ${org.orgId}::uuid, 1000000, now() + interval '20 days' FROM generate_series(1, 2147)`);
    const refused = await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 1_000_000 });
    expectProblem(refused, 400, 'validation_failed');
    expect(refused.json().errors[0]).toMatchObject({ field: '/body/tokens', reason: 'pool_too_large' });
    const usage = expectStatus(await as(t.app, org.owner).get(url(org, '/usage')), 200).json();
    expect(usage.boosts).toBe(2_147_000_000);
    expectStatus(await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 400_000 }), 201);
  });

  it('reads a past month whose boosts, one after another, sum past that range', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise', name: 'Boost Past Co' });
    // March 2026: 2,000 boosts of a million in its first ten days, 2,000 more in the next ten.
    await t.db.database.db.execute(sql`
      INSERT INTO quota_boosts (org_id, tokens, created_at, expires_at)
      SELECT ${org.orgId}::uuid, 1000000, timestamptz '2026-03-01' + (i / 2000) * interval '10 days',
             timestamptz '2026-03-10' + (i / 2000) * interval '10 days'
        FROM generate_series(0, 3999) AS i`);
    const usage = expectStatus(await as(t.app, org.owner).get(url(org, '/usage?month=2026-03')), 200).json();
    expect(usage.boosts).toBe(4_000_000_000);
  });
});

describe('plan gates', () => {
  it('Free and Scale organizations read usage but cannot budget or boost (403 plan_limit)', async () => {
    for (const plan of ['free', 'pro'] as const) {
      const org = await createOrg(t.app, { plan, name: `Gate ${plan}` });
      expectStatus(await as(t.app, org.owner).get(url(org, '/usage')), 200);
      expect(
        expectStatus(await as(t.app, org.owner).get(url(org, '/departments')), 200).json().items,
      ).toEqual([]);
      expectProblem(
        await as(t.app, org.owner).post(url(org, '/departments'), { name: 'D' }),
        403,
        'plan_limit',
      );
      expectProblem(
        await as(t.app, org.owner).put(url(org, `/members/${org.owner.userId}/budget`), { monthlyTokens: 5 }),
        403,
        'plan_limit',
      );
      expectProblem(
        await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 5 }),
        403,
        'plan_limit',
      );
    }
  });
});
