import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { quotaCounters, quotaLedger, quotaThresholds } from '../../platform/db/schema.ts';
import { monthOf, poolUsed, QuotaExhaustedError, type SpendResult, spendTokens } from './quota.spend.ts';

/**
 * The guarded spend, each call in a real transaction of its own, many at once: on PostgreSQL they
 * run side by side on separate connections (the embedded database runs them one after another, and
 * must give the same answers). No budget is ever overspent and each threshold is recorded once.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const month = monthOf(new Date());

/** One spend in its own transaction: its result, or the refusal. */
async function spend(
  orgId: string,
  userId: string | null,
  tokens: number,
): Promise<SpendResult | QuotaExhaustedError> {
  try {
    return await t.db.database.db.transaction((tx) =>
      spendTokens(tx, { orgId, userId, scanId: null, charges: [{ module: 'sast', tokens }] }),
    );
  } catch (err) {
    if (err instanceof QuotaExhaustedError) return err;
    throw err;
  }
}

async function spendMany(orgId: string, userId: string | null, tokens: number, times: number) {
  const results = await Promise.all(Array.from({ length: times }, () => spend(orgId, userId, tokens)));
  const ok = results.filter((r): r is SpendResult => !(r instanceof QuotaExhaustedError));
  const refused = results.filter((r): r is QuotaExhaustedError => r instanceof QuotaExhaustedError);
  return { ok, refused };
}

/** A counter's use; `org` is the whole pool (its master row and slots). */
async function counter(orgId: string, subject: string, m = month): Promise<number> {
  if (subject === 'org') return poolUsed(t.db.database.db, orgId, m);
  const [row] = await t.db.database.db
    .select({ used: quotaCounters.used })
    .from(quotaCounters)
    .where(
      and(eq(quotaCounters.orgId, orgId), eq(quotaCounters.month, m), eq(quotaCounters.subject, subject)),
    );
  return row?.used ?? 0;
}

async function ledgerTotal(orgId: string): Promise<number> {
  const [row] = await t.db.database.db
    .select({ total: sql<number>`coalesce(sum(${quotaLedger.tokens}), 0)::int` })
    .from(quotaLedger)
    .where(eq(quotaLedger.orgId, orgId));
  return row!.total;
}

async function thresholds(orgId: string): Promise<number[]> {
  const rows = await t.db.database.db
    .select({ percent: quotaThresholds.percent })
    .from(quotaThresholds)
    .where(and(eq(quotaThresholds.orgId, orgId), eq(quotaThresholds.month, month)))
    .orderBy(quotaThresholds.percent);
  return rows.map((r) => r.percent);
}

const url = (org: { orgId: string }, rest: string) => `/api/v1/orgs/${org.orgId}${rest}`;

describe('spendTokens under concurrency', { timeout: 180_000 }, () => {
  it(`100 parallel spends of 10 against the Free pool of 48: exactly 4 pass, the pool reads 40 (${onPostgres ? 'PostgreSQL' : 'embedded'})`, async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const { ok, refused } = await spendMany(org.orgId, org.owner.userId, 10, 100);
    expect(ok).toHaveLength(4);
    expect(refused).toHaveLength(96);
    expect(refused[0]!.code).toBe('quota_exhausted');
    expect(refused[0]!.params).toMatchObject({ subject: 'organization', limit: 48 });
    expect(await counter(org.orgId, 'org')).toBe(40);
    expect(await counter(org.orgId, `member:${org.owner.userId}`)).toBe(40);
    // Refused spends left nothing behind.
    expect(await ledgerTotal(org.orgId)).toBe(40);
    // 40 of 48 is 83 %: 50 and 75 were crossed, each reported by exactly one spend.
    expect(ok.flatMap((r) => r.thresholdsReached).sort((a, b) => a - b)).toEqual([50, 75]);
    expect(await thresholds(org.orgId)).toEqual([50, 75]);
  });

  it('each of 50, 75, 90 and 100 % is recorded once per org and month, however many spends cross it at once', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const { ok } = await spendMany(org.orgId, null, 12, 40);
    expect(ok).toHaveLength(4);
    expect(await counter(org.orgId, 'org')).toBe(48);
    expect(ok.flatMap((r) => r.thresholdsReached).sort((a, b) => a - b)).toEqual([50, 75, 90, 100]);
    expect(await thresholds(org.orgId)).toEqual([50, 75, 90, 100]);
    // A later month starts afresh.
    const next = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 15));
    const later = await t.db.database.db.transaction((tx) =>
      spendTokens(tx, {
        orgId: org.orgId,
        userId: null,
        scanId: null,
        charges: [{ module: 'api', tokens: 30 }],
        at: next,
      }),
    );
    expect(later).toMatchObject({ used: 30, month: monthOf(next), thresholdsReached: [50] });
  });

  it("spreads one org's spenders over the pool's slots, never past the pool; each threshold is recorded by the spend that reaches it", async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const { ok, refused } = await spendMany(org.orgId, null, 50, 220);
    expect(ok).toHaveLength(200);
    expect(refused).toHaveLength(20);
    expect(await counter(org.orgId, 'org')).toBe(10_000);
    expect(await ledgerTotal(org.orgId)).toBe(10_000);
    const slots = (await t.db.database.db.execute(
      sql`SELECT count(*)::int AS n FROM quota_counters WHERE org_id = ${org.orgId} AND subject LIKE 'org:%' AND used > 0`,
    )) as unknown as { rows: { n: number }[] };
    expect(slots.rows[0]!.n).toBeGreaterThan(1);
    const crossings = ok.flatMap((r) => r.thresholdsReached.map((p) => ({ p, used: r.used })));
    expect(crossings.map((c) => c.p).sort((a, b) => a - b)).toEqual([50, 75, 90, 100]);
    for (const { p, used } of crossings) {
      // The exact use after the spend that recorded it: at or past the threshold, and it was
      // below it before that spend of 50.
      expect(used * 100).toBeGreaterThanOrEqual(p * 10_000);
      expect((used - 50) * 100).toBeLessThan(p * 10_000);
    }
    expect(await thresholds(org.orgId)).toEqual([50, 75, 90, 100]);
  });

  it("slots allotted under a boost stop spending once it expires: the pool's new limit holds exactly", async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const boost = expectStatus(
      await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 10_000 }),
      201,
    ).json();
    expect((await spendMany(org.orgId, null, 50, 20)).ok).toHaveLength(20);
    await t.db.database.db.execute(
      sql`UPDATE quota_boosts SET created_at = now() - interval '31 days', expires_at = now() - interval '1 day' WHERE id = ${boost.id}`,
    );
    const { ok } = await spendMany(org.orgId, null, 50, 200);
    expect(ok).toHaveLength(180);
    expect(ok.every((r) => r.limit === 10_000)).toBe(true);
    expect(await counter(org.orgId, 'org')).toBe(10_000);
    expect(await ledgerTotal(org.orgId)).toBe(10_000);
    expect(await thresholds(org.orgId)).toEqual([50, 75, 90, 100]);
  });

  describe('Enterprise budgets', () => {
    let org: { orgId: string; owner: Person };
    let alice: Person;
    let bob: Person;
    let carol: Person;
    beforeAll(async () => {
      org = await createOrg(t.app, { plan: 'enterprise', name: 'Budgets Inc' });
      alice = await addMember(t.app, org, 'developer', { name: 'Alice' }, t.mail);
      bob = await addMember(t.app, org, 'developer', { name: 'Bob' }, t.mail);
      carol = await addMember(t.app, org, 'developer', { name: 'Carol' }, t.mail);
    });

    it("a member's budget smaller than the pool limits that member, and only them", async () => {
      expectStatus(
        await as(t.app, org.owner).put(url(org, `/members/${alice.userId}/budget`), { monthlyTokens: 30 }),
        200,
      );
      const { ok, refused } = await spendMany(org.orgId, alice.userId, 10, 20);
      expect(ok).toHaveLength(3);
      expect(refused[0]!.params).toMatchObject({ subject: 'member', limit: 30, used: 30 });
      expect(await counter(org.orgId, `member:${alice.userId}`)).toBe(30);
      // The pool took only what the member's budget let through.
      expect(await counter(org.orgId, 'org')).toBe(30);
      // Another member is not limited by it.
      expect((await spendMany(org.orgId, carol.userId, 10, 5)).ok).toHaveLength(5);
      // Cleared: the member spends from the pool again.
      expectStatus(
        await as(t.app, org.owner).put(url(org, `/members/${alice.userId}/budget`), { monthlyTokens: null }),
        200,
      );
      expect((await spendMany(org.orgId, alice.userId, 10, 2)).ok).toHaveLength(2);
    });

    it("a department's budget limits its members together, and a parent's budget limits its children's members", async () => {
      const parent = expectStatus(
        await as(t.app, org.owner).post(url(org, '/departments'), { name: 'Engineering', monthlyBudget: 70 }),
        201,
      ).json();
      const child = expectStatus(
        await as(t.app, org.owner).post(url(org, '/departments'), {
          name: 'Backend',
          monthlyBudget: 50,
          memberIds: [bob.userId, carol.userId],
          parentId: parent.id,
        }),
        201,
      ).json();
      const bobBefore = await counter(org.orgId, `member:${bob.userId}`);
      const carolBefore = await counter(org.orgId, `member:${carol.userId}`);
      const [b, c] = await Promise.all([
        spendMany(org.orgId, bob.userId, 10, 10),
        spendMany(org.orgId, carol.userId, 10, 10),
      ]);
      expect(b.ok.length + c.ok.length).toBe(5);
      expect([...b.refused, ...c.refused][0]!.params).toMatchObject({
        subject: 'department',
        departmentId: child.id,
      });
      expect(await counter(org.orgId, `department:${child.id}`)).toBe(50);
      expect(await counter(org.orgId, `department:${parent.id}`)).toBe(50);
      expect(
        (await counter(org.orgId, `member:${bob.userId}`)) -
          bobBefore +
          (await counter(org.orgId, `member:${carol.userId}`)) -
          carolBefore,
      ).toBe(50);

      // The child's budget raised past the parent's: the parent's 70 now binds (20 left).
      expectStatus(
        await as(t.app, org.owner).patch(url(org, `/departments/${child.id}`), { monthlyBudget: 1000 }),
        200,
      );
      const more = await spendMany(org.orgId, bob.userId, 10, 10);
      expect(more.ok).toHaveLength(2);
      expect(more.refused[0]!.params).toMatchObject({
        subject: 'department',
        departmentId: parent.id,
        limit: 70,
      });
      expect(await counter(org.orgId, `department:${parent.id}`)).toBe(70);
      expect(await counter(org.orgId, `department:${child.id}`)).toBe(70);
    });

    it('a boost raises the pool at once; once expired (set in the database) it no longer counts', async () => {
      const fresh = await createOrg(t.app, { plan: 'enterprise', name: 'Boosted Inc' });
      expect(await spend(fresh.orgId, null, 10_000)).not.toBeInstanceOf(QuotaExhaustedError);
      expect(await spend(fresh.orgId, null, 1)).toBeInstanceOf(QuotaExhaustedError);
      const boost = expectStatus(
        await as(t.app, fresh.owner).post(url(fresh, '/quota-boosts'), { tokens: 40 }),
        201,
      ).json();
      const { ok } = await spendMany(fresh.orgId, null, 10, 10);
      expect(ok).toHaveLength(4);
      expect(ok.map((r) => r.limit)).toEqual([10_040, 10_040, 10_040, 10_040]);
      // Pretend the 30 days have passed; the pool is back to the plan's 10 000, already spent.
      await t.db.database.db.execute(
        sql`UPDATE quota_boosts SET created_at = now() - interval '31 days', expires_at = now() - interval '1 day' WHERE id = ${boost.id}`,
      );
      const after = await spend(fresh.orgId, null, 1);
      expect(after).toBeInstanceOf(QuotaExhaustedError);
      expect((after as QuotaExhaustedError).params).toMatchObject({ subject: 'organization', limit: 10_000 });
    });
  });
});
