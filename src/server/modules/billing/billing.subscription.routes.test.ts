import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = { orgId: string; owner: Person };
const url = (org: Org, rest = '/billing/subscription') => `/api/v1/orgs/${org.orgId}${rest}`;
const DAY = 86_400_000;

function today(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}
const dayOffset = (days: number) => new Date(today().getTime() + days * DAY);

/** Puts the org's paid period where the test wants it: started `ago` days back, ending in `left`. */
async function setPeriod(org: Org, ago: number, left: number, seats: number, cycle = 'monthly', credit = 0) {
  await t.db.database.db.execute(sql`
    INSERT INTO subscriptions (org_id, cycle, period_start, period_end, seats, credit_balance)
    VALUES (${org.orgId}, ${cycle}, ${dayOffset(-ago).toISOString()}, ${dayOffset(left).toISOString()}, ${seats}, ${credit})
    ON CONFLICT (org_id) DO UPDATE SET cycle = EXCLUDED.cycle, period_start = EXCLUDED.period_start,
      period_end = EXCLUDED.period_end, seats = EXCLUDED.seats, credit_balance = EXCLUDED.credit_balance`);
}

async function invoicesOf(org: Org) {
  return queryRows<{ number: number; total: number; reason: string; plan: string; lines: unknown }>(
    t.db.database.db,
    sql`SELECT number::int AS number, total::int AS total, reason, plan, lines FROM invoices WHERE org_id = ${org.orgId} ORDER BY number`,
  );
}

async function subscriptionRow(org: Org) {
  const [row] = await queryRows<{
    cycle: string;
    seats: number;
    credit_balance: number;
    period_end: Date | null;
  }>(
    t.db.database.db,
    sql`SELECT cycle, seats, credit_balance::int AS credit_balance, period_end FROM subscriptions WHERE org_id = ${org.orgId}`,
  );
  return row;
}

async function planOf(org: Org): Promise<string> {
  return expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}`), 200).json().plan;
}

function expectProblem(
  res: { statusCode: number; body: string; json(): { code: string } },
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().code).toBe(code);
}

describe('GET /orgs/:orgId/billing/subscription', () => {
  it('shows a free org with nothing to bill: amount 0, no next billing date', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const sub = expectStatus(await as(t.app, org.owner).get(url(org)), 200).json();
    expect(sub).toMatchObject({
      plan: 'free',
      cycle: 'monthly',
      nextBillingDate: null,
      seats: 1,
      amount: 0,
      currency: 'usd',
      annualSavings: 0,
      status: 'active',
      creditBalance: 0,
      paymentMethod: null,
      planSelection: 'open',
    });
  });

  it('shows a paid org created on Pro: a period from today, its seats, what a renewal costs and what annual saves', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const sub = expectStatus(await as(t.app, org.owner).get(url(org)), 200).json();
    expect(sub).toMatchObject({ plan: 'pro', cycle: 'monthly', seats: 1, amount: 2900, annualSavings: 5800 });
    expect(sub.periodStart).toBe(today().toISOString());
    // A month on, the same day or the last of a shorter month.
    const d = today();
    const lastOfNext = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 2, 0)).getUTCDate();
    const next = new Date(
      Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, Math.min(d.getUTCDate(), lastOfNext)),
    );
    expect(sub.nextBillingDate).toBe(next.toISOString());
    // Created on a paid plan: the first month was invoiced at creation.
    const invoices = await invoicesOf(org);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ total: 2900, reason: 'plan_change', plan: 'pro' });
  });

  it('is for billing:read only (the Admin role lacks it by default: 403); another org’s id is 404', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    expectProblem(await as(t.app, admin).get(url(org)), 403, 'permission_denied');
    const other = await createOrg(t.app, { plan: 'pro' });
    expectProblem(await as(t.app, other.owner).get(url(org)), 404, 'not_found');
    expectProblem(
      await as(t.app, other.owner).patch(url(org), { plan: 'enterprise', cycle: 'monthly' }),
      404,
      'not_found',
    );
    expectProblem(await as(t.app, other.owner).get(url(org, '/billing/payment-method')), 404, 'not_found');
  });
});

describe('PATCH /orgs/:orgId/billing/subscription', () => {
  let org: Org;
  let member: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { plan: 'pro', name: 'Proration Co' });
    member = await addMember(t.app, org, 'developer', {}, t.mail);
  });

  it('previews an upgrade prorated to the day and changes nothing', async () => {
    // A 30-day period, 10 days gone: 20 days (today included) are unused, for 2 billed seats.
    await setPeriod(org, 10, 20, 2);
    const invoicesBefore = (await invoicesOf(org)).length;
    const preview = expectStatus(
      await as(t.app, org.owner).patch(url(org), { plan: 'enterprise', cycle: 'monthly' }),
      200,
    ).json();
    // Computed here by hand: Pro is $29 a seat a month, Enterprise $79.
    const credit = Math.round((2900 * 2 * 20) / 30); // 3867
    const charge = Math.round((7900 * 2 * 20) / 30); // 10533
    expect(credit).toBe(3867);
    expect(charge).toBe(10533);
    expect(preview).toMatchObject({
      confirmed: false,
      changed: true,
      seats: 2,
      net: charge - credit,
      amountDue: 6666,
      creditApplied: 0,
      creditBalance: 0,
      recurringAmount: 15800,
      effectiveDate: today().toISOString(),
      nextBillingDate: dayOffset(20).toISOString(),
    });
    expect(preview.lines.map((l: { amount: number }) => l.amount)).toEqual([-3867, 10533]);
    expect(await planOf(org)).toBe('pro');
    expect(await invoicesOf(org)).toHaveLength(invoicesBefore);
    const log = expectStatus(
      await as(t.app, org.owner).get(url(org, '/audit-events?action=subscription.changed')),
      200,
    ).json();
    expect(log.items).toHaveLength(0);
  });

  it('previews a change of cycle: credit for the unused days, a new annual period charged whole from today', async () => {
    await setPeriod(org, 10, 20, 2);
    const preview = expectStatus(
      await as(t.app, org.owner).patch(url(org), { plan: 'pro', cycle: 'annual' }),
      200,
    ).json();
    const annual = 2900 * 10 * 2; // ten months for twelve, 2 seats
    expect(preview).toMatchObject({ amountDue: annual - 3867, recurringAmount: annual });
    const end = today();
    end.setUTCFullYear(end.getUTCFullYear() + 1);
    if (end.getUTCDate() !== today().getUTCDate()) end.setUTCDate(0); // 29 February + 1 year
    expect(preview.nextBillingDate).toBe(end.toISOString());
  });

  it('is refused to a member without billing:manage (403) and refuses junk (400) with nothing changed', async () => {
    expectProblem(
      await as(t.app, member).patch(url(org), { plan: 'enterprise', cycle: 'monthly' }),
      403,
      'permission_denied',
    );
    expectProblem(await as(t.app, member).get(url(org)), 403, 'permission_denied');
    for (const body of [
      { plan: 'platinum', cycle: 'monthly' },
      { plan: 'pro', cycle: 'weekly' },
      { plan: 'pro' },
      { plan: 'pro', cycle: 'monthly', confirm: 'yes' },
      { plan: 'pro', cycle: 'monthly', extra: 1 },
    ]) {
      expectProblem(await as(t.app, org.owner).patch(url(org), body), 400, 'validation_failed');
    }
    expect(await planOf(org)).toBe('pro');
  });

  it('confirms the upgrade: plan, period and invoice in one change, recorded with before and after', async () => {
    await setPeriod(org, 10, 20, 2);
    const before = (await invoicesOf(org)).length;
    const done = expectStatus(
      await as(t.app, org.owner).patch(url(org), { plan: 'enterprise', cycle: 'monthly', confirm: true }),
      200,
    ).json();
    expect(done).toMatchObject({ confirmed: true, changed: true, amountDue: 6666 });
    expect(done.invoice).toMatchObject({ total: 6666 });
    expect(await planOf(org)).toBe('enterprise');
    const invoices = await invoicesOf(org);
    expect(invoices).toHaveLength(before + 1);
    expect(invoices.at(-1)).toMatchObject({ total: 6666, reason: 'plan_change', plan: 'enterprise' });
    // The entitlements follow at once (the cached org was dropped): Enterprise has budgets.
    expectStatus(await as(t.app, org.owner).post(url(org, '/quota-boosts'), { tokens: 10 }), 201);
    const log = expectStatus(
      await as(t.app, org.owner).get(url(org, '/audit-events?action=subscription.changed')),
      200,
    ).json();
    expect(log.items).toHaveLength(1);
    expect(log.items[0].before).toMatchObject({ plan: 'pro', cycle: 'monthly' });
    expect(log.items[0].after).toMatchObject({
      plan: 'enterprise',
      amountDue: 6666,
      invoiceNumber: done.invoice.number,
    });
    // The same change again is nothing to do.
    const again = expectStatus(
      await as(t.app, org.owner).patch(url(org), { plan: 'enterprise', cycle: 'monthly', confirm: true }),
      200,
    ).json();
    expect(again).toMatchObject({ changed: false, amountDue: 0, invoice: null });
    expect(await invoicesOf(org)).toHaveLength(before + 1);
  });

  it('a downgrade to free credits the unused days; the credit is taken off the next upgrade', async () => {
    const o = await createOrg(t.app, { plan: 'pro' });
    await setPeriod(o, 10, 20, 1);
    // The period was paid for (unpaid, its invoice would take the credit first).
    await t.db.database.db.execute(sql`UPDATE invoices SET status = 'paid' WHERE org_id = ${o.orgId}`);
    const down = expectStatus(
      await as(t.app, o.owner).patch(url(o), { plan: 'free', cycle: 'monthly', confirm: true }),
      200,
    ).json();
    const credit = Math.round((2900 * 20) / 30); // 1933
    expect(down).toMatchObject({ amountDue: 0, creditBalance: credit, nextBillingDate: null, invoice: null });
    expect(await subscriptionRow(o)).toMatchObject({ credit_balance: credit, period_end: null });
    const sub = expectStatus(await as(t.app, o.owner).get(url(o)), 200).json();
    expect(sub).toMatchObject({ plan: 'free', amount: 0, nextBillingDate: null, creditBalance: credit });
    const up = expectStatus(
      await as(t.app, o.owner).patch(url(o), { plan: 'pro', cycle: 'monthly', confirm: true }),
      200,
    ).json();
    expect(up).toMatchObject({
      net: 2900,
      creditApplied: credit,
      amountDue: 2900 - credit,
      creditBalance: 0,
    });
    expect((await invoicesOf(o)).at(-1)).toMatchObject({ total: 2900 - credit });
  });

  it('refuses a downgrade the org exceeds with 409 plan_limit listing what to change first, nothing changed', async () => {
    const o = await createOrg(t.app, { plan: 'enterprise' });
    for (let i = 0; i < 5; i++) await addMember(t.app, o, 'viewer', {}, t.mail);
    expectStatus(
      await as(t.app, o.owner).post(url(o, '/roles'), {
        slug: 'auditor',
        name: 'Auditor',
        permissions: ['audit:read'],
      }),
      201,
    );
    const auditor = await addMember(t.app, o, 'auditor', {}, t.mail);
    expect(auditor.userId).toBeTruthy();
    expectStatus(await as(t.app, o.owner).post(url(o, '/scim-tokens'), { name: 'Okta' }), 201);
    await t.db.database.db.execute(
      sql`UPDATE organizations SET ip_allowlist = '{0.0.0.0/0}', session_idle_minutes = 120 WHERE id = ${o.orgId}`,
    );
    const invoices = (await invoicesOf(o)).length;
    for (const confirm of [false, true]) {
      const res = await as(t.app, o.owner).patch(url(o), { plan: 'free', cycle: 'monthly', confirm });
      expectProblem(res, 409, 'plan_limit');
      const kinds = res.json().params.blockers.map((b: { kind: string }) => b.kind);
      expect(kinds).toEqual(['members', 'custom_roles', 'scim_tokens', 'ip_allowlist', 'session_timeout']);
      expect(res.json().params.blockers[0]).toMatchObject({ count: 7, limit: 5 });
      expect(res.json().detail).toMatch(/remove members or cancel invitations/);
    }
    // Pro has custom roles and SCIM, but no allowlist or custom idle timeout.
    const pro = await as(t.app, o.owner).patch(url(o), { plan: 'pro', cycle: 'monthly' });
    expectProblem(pro, 409, 'plan_limit');
    expect(pro.json().params.blockers.map((b: { kind: string }) => b.kind)).toEqual([
      'ip_allowlist',
      'session_timeout',
    ]);
    expect(await planOf(o)).toBe('enterprise');
    expect(await invoicesOf(o)).toHaveLength(invoices);
  });

  it(`the same upgrade sent many times at once is charged once (${onPostgres ? 'PostgreSQL' : 'embedded'})`, async () => {
    const o = await createOrg(t.app, { plan: 'pro' });
    await setPeriod(o, 5, 25, 1);
    const before = (await invoicesOf(o)).length;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        as(t.app, o.owner).patch(url(o), { plan: 'enterprise', cycle: 'monthly', confirm: true }),
      ),
    );
    for (const r of results) expect(r.statusCode, r.body).toBe(200);
    expect(results.filter((r) => r.json().changed)).toHaveLength(1);
    expect(await invoicesOf(o)).toHaveLength(before + 1);
    const log = expectStatus(
      await as(t.app, o.owner).get(url(o, '/audit-events?action=subscription.changed')),
      200,
    ).json();
    expect(log.items).toHaveLength(1);
  });
});

describe('GET/PUT /orgs/:orgId/billing/payment-method', () => {
  let org: Org;
  let member: Person;
  beforeAll(async () => {
    org = await createOrg(t.app, { plan: 'pro' });
    member = await addMember(t.app, org, 'admin', {}, t.mail);
  });
  const method = { provider: 'invoice', reference: 'SEPA mandate MND-2291', brand: 'SEPA', last4: '4821' };

  it('keeps a bank-transfer reference, shows it on the subscription, and records brand and last four only', async () => {
    expect(
      expectStatus(await as(t.app, org.owner).get(url(org, '/billing/payment-method')), 200).json(),
    ).toEqual({
      paymentMethod: null,
    });
    const saved = expectStatus(
      await as(t.app, org.owner).put(url(org, '/billing/payment-method'), method),
      200,
    ).json();
    expect(saved.paymentMethod).toMatchObject({ ...method, expMonth: null, expYear: null });
    // The setup checklist's billing step ticks itself.
    const setup = expectStatus(await as(t.app, org.owner).get(url(org, '/setup')), 200).json();
    expect(setup.steps).toContainEqual({ key: 'billing', done: true });
    expect(expectStatus(await as(t.app, org.owner).get(url(org)), 200).json().paymentMethod).toMatchObject(
      method,
    );
    const log = expectStatus(
      await as(t.app, org.owner).get(url(org, '/audit-events?action=payment_method.updated')),
      200,
    ).json();
    expect(log.items).toHaveLength(1);
    expect(log.items[0].after).toEqual({ provider: 'invoice', brand: 'SEPA', last4: '4821' });
    expect(JSON.stringify(log.items[0])).not.toContain('MND-2291');
  });

  it('is for billing:manage only', async () => {
    expectProblem(await as(t.app, member).get(url(org, '/billing/payment-method')), 403, 'permission_denied');
    expectProblem(
      await as(t.app, member).put(url(org, '/billing/payment-method'), method),
      403,
      'permission_denied',
    );
  });

  it('refuses card data, naming the field, and saves nothing', async () => {
    for (const [body, field] of [
      [{ ...method, reference: '4242 4242 4242 4242' }, '/body/reference'],
      [{ ...method, brand: '4242424242424242' }, '/body/brand'],
      [{ ...method, cvc: '123' }, '/body/cvc'],
      [{ ...method, card: { number: '4000-0566-5566-5556' } }, '/body/card/number'],
    ] as const) {
      const res = await as(t.app, org.owner).put(url(org, '/billing/payment-method'), body);
      expectProblem(res, 400, 'validation_failed');
      expect(res.json().errors).toEqual([expect.objectContaining({ field, reason: 'card_data' })]);
      expect(res.body).not.toContain('4242');
    }
    for (const junk of [
      { ...method, provider: 'stripe' },
      { ...method, last4: '12' },
      { provider: 'invoice' },
    ]) {
      expectProblem(
        await as(t.app, org.owner).put(url(org, '/billing/payment-method'), junk),
        400,
        'validation_failed',
      );
    }
    const kept = expectStatus(
      await as(t.app, org.owner).get(url(org, '/billing/payment-method')),
      200,
    ).json();
    expect(kept.paymentMethod.reference).toBe(method.reference);
    expect(t.logs.join('')).not.toContain('4242 4242');
  });
});

describe('PLAN_SELECTION=operator', () => {
  let op: TestApp;
  beforeAll(async () => {
    op = await createTestApp({ billing: { planSelection: 'operator' } }, t.db);
  });
  afterAll(async () => {
    await op?.close();
  });

  it('refuses a plan change (403 plan_selection_operator) but lets the cycle change; creation is free only', async () => {
    expectProblem(
      await as(op.app, (await createOrg(t.app, { plan: 'free' })).owner).post('/api/v1/orgs', {
        name: 'Paid',
        plan: 'pro',
      }),
      403,
      'plan_selection_operator',
    );
    const org = await createOrg(op.app, { plan: 'free' });
    const sub = expectStatus(await as(op.app, org.owner).get(url(org)), 200).json();
    expect(sub.planSelection).toBe('operator');
    const res = await as(op.app, org.owner).patch(url(org), { plan: 'pro', cycle: 'monthly' });
    expectProblem(res, 403, 'plan_selection_operator');
    expect(res.json().detail).toMatch(/gatehouse operator orgs set-plan/);
    const cycle = expectStatus(
      await as(op.app, org.owner).patch(url(org), { plan: 'free', cycle: 'annual', confirm: true }),
      200,
    ).json();
    expect(cycle).toMatchObject({ changed: true, amountDue: 0 });
    expect(expectStatus(await as(op.app, org.owner).get(url(org)), 200).json().cycle).toBe('annual');
  });
});
