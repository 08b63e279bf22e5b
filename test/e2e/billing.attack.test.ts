import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signatureHeader } from '../../src/server/modules/billing/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { queryRows } from '../support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Attacks on billing: who may see what of it, card data in the payment method, and what the
 * payment provider's events can be made to do. Each case is one that got through once.
 */
const SECRET = 'whsec_billing_attack';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    billing: { webhookSecrets: [SECRET], sellerLines: ['Gatehouse Test Ltd'], bankDetails: ['IBAN XX00'] },
  });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}/billing`;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);

function sendEvent(body: object) {
  const raw = JSON.stringify(body);
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/billing/provider-events',
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(raw, SECRET) },
    payload: raw,
  });
}

describe('billing: permissions', () => {
  it('a member who may read billing but not manage it does not see the payment method in the subscription', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).put(`${base(org.orgId)}/payment-method`, {
        provider: 'invoice',
        reference: 'Mandate ACME-7',
        brand: 'SEPA',
        last4: '4321',
      }),
      200,
    );
    const admin = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/roles/admin`),
      200,
    ).json();
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/roles/admin`, {
        permissions: [...admin.permissions, 'billing:read'],
      }),
      200,
    );
    const reader = await addMember(t.app, org, 'admin', {}, t.mail);
    // The payment method's own route needs billing:manage…
    expectStatus(await as(t.app, reader).get(`${base(org.orgId)}/payment-method`), 403);
    // …and the subscription, which billing:read opens, does not carry it either.
    const sub = expectStatus(await as(t.app, reader).get(`${base(org.orgId)}/subscription`), 200).json();
    expect(sub.plan).toBe('pro');
    expect(sub.paymentMethod).toBeNull();
    expect(JSON.stringify(sub)).not.toContain('ACME-7');
    // The Owner (billing:manage) still sees it there.
    const own = expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/subscription`), 200).json();
    expect(own.paymentMethod).toMatchObject({ reference: 'Mandate ACME-7', last4: '4321' });
  });
});

describe('billing: card data', () => {
  const spellings = [
    '４１１１ １１１１ １１１１ １１１１', // fullwidth digits
    '٤١١١١١١١١١١١١١١١', // Arabic-Indic digits
    '4111.1111.1111.1111',
    '4111_1111_1111_1111',
    '4111  1111  1111  1111',
    '4111 / 1111 / 1111 / 1111',
  ];

  it.each(spellings)(
    'a card number written as %j is refused, never stored, logged or audited',
    async (card) => {
      const org = await createOrg(t.app, { plan: 'pro' });
      const logsBefore = t.logs.length;
      for (const body of [
        { provider: 'invoice', reference: card, brand: 'Visa' },
        { provider: 'invoice', reference: 'Card', brand: card.slice(0, 40) },
      ]) {
        const res = await as(t.app, org.owner).put(`${base(org.orgId)}/payment-method`, body);
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().errors.map((e: { reason: string }) => e.reason)).toContain('card_data');
        expect(res.body).not.toContain(card);
      }
      const sub = expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/subscription`), 200).json();
      expect(sub.paymentMethod).toBeNull();
      const stored = await rows<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM subscriptions WHERE org_id = ${org.orgId} AND payment_provider IS NOT NULL`,
      );
      expect(stored[0]!.n).toBe(0);
      const audit = await rows<{ action: string }>(
        sql`SELECT action FROM audit_events WHERE chain_id = ${org.orgId} AND action = 'payment_method.updated'`,
      );
      expect(audit).toEqual([]);
      expect(t.logs.slice(logsBefore).join('')).not.toContain(card.slice(0, 9));
    },
  );
});

describe('billing: provider events', () => {
  async function openInvoice() {
    const org = await createOrg(t.app, { plan: 'free' });
    const up = expectStatus(
      await as(t.app, org.owner).patch(`${base(org.orgId)}/subscription`, {
        plan: 'pro',
        cycle: 'monthly',
        confirm: true,
      }),
      200,
    ).json();
    expect(up.invoice.total).toBeGreaterThan(0);
    return { org, invoice: up.invoice as { id: string; number: number; total: number } };
  }
  const statusOf = async (id: string) =>
    (await rows<{ status: string }>(sql`SELECT status FROM invoices WHERE id = ${id}`))[0]!.status;

  it('a payment of another amount does not settle the invoice; the right one does', async () => {
    const { org, invoice } = await openInvoice();
    const short = await sendEvent({
      id: `evt_short_${invoice.id}`,
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceId: invoice.id, amount: 1, currency: 'usd' },
    });
    expect(short.statusCode, short.body).toBe(409);
    expect(short.json().params).toMatchObject({ reason: 'amount_mismatch' });
    expect(await statusOf(invoice.id)).toBe('open');
    const otherCurrency = await sendEvent({
      id: `evt_eur_${invoice.id}`,
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceId: invoice.id, amount: invoice.total, currency: 'eur' },
    });
    expect(otherCurrency.statusCode, otherCurrency.body).toBe(409);
    expect(await statusOf(invoice.id)).toBe('open');
    const junk = await sendEvent({
      id: `evt_junk_${invoice.id}`,
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceId: invoice.id, amount: '12.5' },
    });
    expect(junk.statusCode, junk.body).toBe(400);
    const right = await sendEvent({
      id: `evt_right_${invoice.id}`,
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceId: invoice.id, amount: invoice.total, currency: 'USD' },
    });
    expect(right.statusCode, right.body).toBe(200);
    expect(await statusOf(invoice.id)).toBe('paid');
  });
});

describe('billing: credit from plan changes', () => {
  const change = async (who: { cookie: string }, orgId: string, plan: string, cycle: string) =>
    expectStatus(
      await as(t.app, who).patch(`${base(orgId)}/subscription`, { plan, cycle, confirm: true }),
      200,
    ).json();
  const unpaidTotal = async (orgId: string) =>
    (
      await rows<{ n: number }>(
        sql`SELECT coalesce(sum(total), 0)::int AS n FROM invoices WHERE org_id = ${orgId} AND status IN ('open', 'failed')`,
      )
    )[0]!.n;
  const credit = async (orgId: string) =>
    (
      await rows<{ c: number }>(
        sql`SELECT credit_balance::int AS c FROM subscriptions WHERE org_id = ${orgId}`,
      )
    )[0]!.c;

  it('upgrading and downgrading again with the invoice unpaid earns no credit, however often', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    for (let round = 0; round < 3; round++) {
      const up = await change(org.owner, org.orgId, 'enterprise', 'annual');
      expect(up.invoice.total).toBeGreaterThan(0);
      const down = await change(org.owner, org.orgId, 'free', 'monthly');
      expect(down.creditBalance).toBe(0);
      expect(await credit(org.orgId)).toBe(0);
      // Nothing is owed either: the unpaid invoice for time never used is void.
      expect(await unpaidTotal(org.orgId)).toBe(0);
    }
  });

  it('the preview of a downgrade states the credit the change will leave, unpaid invoices paid first', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    await change(org.owner, org.orgId, 'enterprise', 'annual');
    const preview = expectStatus(
      await as(t.app, org.owner).patch(`${base(org.orgId)}/subscription`, { plan: 'pro', cycle: 'monthly' }),
      200,
    ).json();
    const done = await change(org.owner, org.orgId, 'pro', 'monthly');
    expect(done.creditBalance).toBe(0);
    expect(preview.creditBalance).toBe(done.creditBalance);
  });

  it('a downgrade part-way through an unpaid period leaves owed only the time used', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const up = await change(org.owner, org.orgId, 'enterprise', 'annual');
    // 73 of the year's 365 days have gone by.
    await t.db.database.db.execute(sql`
      UPDATE subscriptions SET period_start = period_start - interval '73 days',
        period_end = period_end - interval '73 days' WHERE org_id = ${org.orgId}`);
    const down = await change(org.owner, org.orgId, 'free', 'monthly');
    const unused = -down.lines[0].amount;
    expect(unused).toBeGreaterThan(0);
    expect(unused).toBeLessThan(up.invoice.total);
    expect(down.creditBalance).toBe(0);
    expect(await credit(org.orgId)).toBe(0);
    expect(await unpaidTotal(org.orgId)).toBe(up.invoice.total - unused);
    const invoices = await rows<{
      id: string;
      status: string;
      total: number;
      subtotal: number;
      lines: { amount: number }[];
    }>(
      sql`SELECT id, status, total::int, subtotal::int, lines FROM invoices WHERE org_id = ${org.orgId} ORDER BY number`,
    );
    expect(invoices.map((i) => i.status)).toEqual(['void', 'open']);
    for (const i of invoices) expect(i.lines.reduce((sum, l) => sum + l.amount, 0)).toBe(i.total);
  });

  it('a period that was paid for is credited in full when left', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const up = await change(org.owner, org.orgId, 'enterprise', 'annual');
    expectStatus(
      await sendEvent({
        id: `evt_paid_${up.invoice.id}`,
        type: 'payment.succeeded',
        data: { orgId: org.orgId, invoiceId: up.invoice.id },
      }),
      200,
    );
    const down = await change(org.owner, org.orgId, 'free', 'monthly');
    expect(down.creditBalance).toBe(up.invoice.total);
    expect(await credit(org.orgId)).toBe(up.invoice.total);
  });
});

describe('billing: provider events, fuzzed with a valid signature', () => {
  // The route fuzzer (fuzz.routes.test.ts) runs without BILLING_WEBHOOK_SECRET, so it only ever
  // reaches the 404: here every body is signed, and reaches the parsing and the commands.
  it('no signed body, however odd, gets a 5xx', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const invoice = (
      await rows<{ id: string; number: number }>(
        sql`SELECT id, number::int FROM invoices WHERE org_id = ${org.orgId}`,
      )
    )[0]!;
    const scalar = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(org.orgId, invoice.id, String(invoice.number), 'INV-000001', '0', '-1', '1e400'),
    );
    const data = fc.record(
      {
        orgId: fc.oneof(scalar, fc.constant(org.orgId)),
        invoiceId: fc.oneof(scalar, fc.constant(invoice.id)),
        invoiceNumber: fc.oneof(scalar, fc.constant(invoice.number), fc.constant(1e20)),
        amount: fc.oneof(scalar, fc.constant(-5), fc.constant(Number.MAX_SAFE_INTEGER + 2)),
        currency: scalar,
        reference: scalar,
        reason: fc.oneof(scalar, fc.jsonValue({ maxDepth: 3 })),
      },
      { requiredKeys: [] },
    );
    const event = fc.record(
      {
        id: fc.oneof(fc.uuid(), scalar),
        type: fc.oneof(fc.constantFrom('payment.succeeded', 'payment.failed', 'refund.created'), scalar),
        data: fc.oneof(data, fc.jsonValue({ maxDepth: 4 })),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      { weight: 5, arbitrary: event.map((e) => JSON.stringify(e)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/billing/provider-events',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(raw, SECRET) },
          payload: raw,
        });
        expect(res.statusCode, `${raw} → ${res.body}`).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json().status).toBe(res.statusCode);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  }, 120_000);
});

describe('draining', () => {
  it('a probe with a query string still answers while the instance drains; other requests get 503 at once', async () => {
    const drainT = await createTestApp();
    try {
      const org = await createOrg(drainT.app, { plan: 'pro' });
      drainT.app.gatehouse.drain.start();
      const health = await drainT.app.inject({ method: 'GET', url: '/healthz?t=123' });
      expect(health.statusCode, health.body).toBe(200);
      const ready = await drainT.app.inject({ method: 'GET', url: '/readyz?t=123' });
      expect(ready.json()).toMatchObject({ status: 'draining' });
      const billing = await as(drainT.app, org.owner).get(`${base(org.orgId)}/subscription`);
      expect(billing.statusCode).toBe(503);
      expect(billing.headers.connection).toBe('close');
    } finally {
      await drainT.close();
    }
  }, 120_000);
});
