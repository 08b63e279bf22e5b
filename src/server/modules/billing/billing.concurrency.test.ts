import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { paidOrgWithoutInvoice } from '../../../../test/support/billing.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { createOrg } from '../../../../test/support/orgs.ts';
import { SIGNATURE_HEADER, signatureHeader } from './billing.provider-events.ts';
import { issueInvoice, renewDueSubscriptions } from './index.ts';

/**
 * What must hold with several transactions and instances at once (run on PostgreSQL with
 * DATABASE_URL; on PGlite the same tests run, serialized): invoice numbers without gaps or
 * repeats, one renewal per org and period, one application per provider event.
 */

const SECRET = 'whsec_concurrency';
const DAY = 86_400_000;

let t: TestApp;
let second: TestApp;
beforeAll(async () => {
  const billing = { webhookSecrets: [SECRET] };
  t = await createTestApp({ billing });
  // A second instance of the same installation (same database).
  second = await createTestApp({ billing }, t.db);
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

const db = () => t.db.database.db;

class RolledBack extends Error {}

describe(`concurrency${onPostgres ? ' (PostgreSQL)' : ' (PGlite)'}`, () => {
  it('numbers invoices without gaps or repeats when 40 are issued at once and some roll back', async () => {
    const orgs = await Promise.all([0, 1, 2, 3].map((i) => paidOrgWithoutInvoice(t, 'pro', `Numbered ${i}`)));
    const [{ max: before }] = (await queryRows<{ max: string | null }>(
      db(),
      sql`SELECT max(number) AS max FROM invoices`,
    )) as [{ max: string | null }];
    const attempts = Array.from({ length: 40 }, (_, i) => i);
    const results = await Promise.allSettled(
      attempts.map((i) =>
        (i % 2 ? t : second).db.database.db.transaction(async (tx) => {
          const issued = await issueInvoice(tx, orgs[i % orgs.length]!.orgId, {
            reason: 'plan_change',
            plan: 'pro',
            cycle: 'monthly',
            periodStart: new Date(Date.UTC(2026, 0, 1)),
            periodEnd: new Date(Date.UTC(2026, 1, 1)),
            currency: 'usd',
            lines: [{ description: `Change ${i}`, quantity: 1, unitAmount: 1000 + i, amount: 1000 + i }],
          });
          // Every fifth is given up after it took its number: the number goes back.
          if (i % 5 === 0) throw new RolledBack(String(issued.number));
          return issued.number;
        }),
      ),
    );
    const committed = results.filter((r) => r.status === 'fulfilled').length;
    expect(committed).toBe(32);
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .every((r) => (r as PromiseRejectedResult).reason instanceof RolledBack),
    ).toBe(true);
    const numbers = (
      await queryRows<{ number: string }>(
        db(),
        sql`SELECT number FROM invoices WHERE reason = 'plan_change' ORDER BY number`,
      )
    ).map((r) => Number(r.number));
    const start = Number(before ?? 0) + 1;
    expect(numbers).toEqual(Array.from({ length: 32 }, (_, i) => start + i));
    const [{ last }] = (await queryRows<{ last: string }>(
      db(),
      sql`SELECT last_number AS last FROM invoice_sequence`,
    )) as [{ last: string }];
    expect(Number(last)).toBe(start + 31);
  });

  it('renews each due subscription once and invoices each period once, however many runners on two instances', async () => {
    const orgs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => paidOrgWithoutInvoice(t, i % 2 ? 'pro' : 'enterprise', `Due ${i}`)),
    );
    for (const org of orgs) {
      // Two periods due: ended 40 and 10 days ago (monthly).
      const end = new Date(Date.now() - 40 * DAY);
      await db().execute(sql`
        INSERT INTO subscriptions (org_id, cycle, period_start, period_end)
        VALUES (${org.orgId}, 'monthly', ${new Date(end.getTime() - 30 * DAY).toISOString()}::timestamptz,
                ${end.toISOString()}::timestamptz)`);
    }
    const runs = await Promise.all([
      renewDueSubscriptions(t.app),
      renewDueSubscriptions(second.app),
      renewDueSubscriptions(t.app),
      renewDueSubscriptions(second.app),
    ]);
    const ids = orgs.map((o) => o.orgId);
    const rows = await queryRows<{ org_id: string; n: number; starts: number }>(
      db(),
      sql`SELECT org_id, count(*)::int AS n, count(DISTINCT period_start)::int AS starts FROM invoices
           WHERE reason = 'cycle' AND org_id IN (${sql.join(
             ids.map((id) => sql`${id}::uuid`),
             sql`, `,
           )}) GROUP BY org_id`,
    );
    expect(rows).toHaveLength(8);
    for (const row of rows) expect(row).toMatchObject({ n: 2, starts: 2 });
    expect(runs.flat()).toHaveLength(16);
    const audited = await queryRows<{ n: number }>(
      db(),
      sql`SELECT count(*)::int AS n FROM audit_events WHERE action = 'subscription.renewed'
           AND target_id IN (${sql.join(
             ids.map((id) => sql`${id}`),
             sql`, `,
           )})`,
    );
    expect(audited[0]!.n).toBe(16);
    const numbers = (
      await queryRows<{ number: string }>(db(), sql`SELECT number FROM invoices ORDER BY number`)
    ).map((r) => Number(r.number));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => numbers[0]! + i));
  });

  it('applies a provider event once when it is delivered many times at once, to both instances', async () => {
    const org = await createOrg(t.app, { plan: 'pro', name: 'Replayed' });
    const invoice = await db().transaction((tx) =>
      issueInvoice(tx, org.orgId, {
        reason: 'plan_change',
        plan: 'pro',
        cycle: 'monthly',
        periodStart: new Date(Date.UTC(2026, 2, 1)),
        periodEnd: new Date(Date.UTC(2026, 3, 1)),
        currency: 'usd',
        lines: [{ description: 'Pro', quantity: 1, unitAmount: 2900, amount: 2900 }],
      }),
    );
    const body = JSON.stringify({
      id: `evt_race_${Date.now()}`,
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceId: invoice.id, reference: 'pay_race' },
    });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? t : second).app.inject({
          method: 'POST',
          url: '/api/v1/billing/provider-events',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(body, SECRET) },
          payload: body,
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(12).fill(200));
    const outcomes = answers.map((a) => a.json() as { duplicate: boolean; applied: boolean });
    expect(outcomes.filter((o) => o.applied)).toHaveLength(1);
    expect(outcomes.filter((o) => o.duplicate)).toHaveLength(11);
    const audited = await queryRows<{ n: number }>(
      db(),
      sql`SELECT count(*)::int AS n FROM audit_events WHERE action = 'billing.payment_succeeded' AND target_id = ${invoice.id}`,
    );
    expect(audited[0]!.n).toBe(1);
  });
});
