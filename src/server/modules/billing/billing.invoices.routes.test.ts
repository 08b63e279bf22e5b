import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { paidOrgWithoutInvoice } from '../../../../test/support/billing.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { attachmentsOf } from '../../../../test/support/mail.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { expectPdfBytes, pdfText } from '../../../../test/support/pdf.ts';
import { BOOST_PRICE_PER_1000_TOKENS, seatPrice } from '../../../contracts/billing.ts';
import { SIGNATURE_HEADER, signatureHeader } from './billing.provider-events.ts';
import { renewDueSubscriptions } from './index.ts';

/**
 * Invoices (issued by the renewal job, listed, downloaded as PDF, mailed to the org's invoice
 * recipients) and the payment provider's signed events that settle them.
 */

const SECRET = 'whsec_test_billing';
const DAY = 86_400_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    billing: {
      webhookSecrets: [SECRET],
      sellerLines: ['Gatehouse Test Ltd', '1 Loopback Road'],
      bankDetails: ['IBAN XX00 TEST'],
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}/billing`;
const db = () => t.db.database.db;

/** A paid subscription whose period ended `endedDaysAgo` days ago (monthly unless said). */
async function subscribe(
  orgId: string,
  options: { endedDaysAgo?: number; credit?: number; cycle?: 'monthly' | 'annual'; end?: Date } = {},
): Promise<{ start: Date; end: Date }> {
  const end = options.end ?? new Date(Date.now() - (options.endedDaysAgo ?? 1) * DAY);
  const start = new Date(end.getTime() - 30 * DAY);
  await db().execute(sql`
    INSERT INTO subscriptions (org_id, cycle, period_start, period_end, seats, credit_balance)
    VALUES (${orgId}, ${options.cycle ?? 'monthly'}, ${start.toISOString()}::timestamptz,
            ${end.toISOString()}::timestamptz, 1, ${options.credit ?? 0})
    ON CONFLICT (org_id) DO UPDATE SET period_start = excluded.period_start, period_end = excluded.period_end,
      credit_balance = excluded.credit_balance, cycle = excluded.cycle, status = 'active'`);
  return { start, end };
}

async function invoicesOf(who: Person, orgId: string, query = '') {
  return expectStatus(await as(t.app, who).get(`${base(orgId)}/invoices${query}`), 200).json() as {
    items: Array<{
      id: string;
      number: number;
      displayNumber: string;
      total: number;
      status: string;
      lines: unknown[];
      pdfUrl: string;
      periodStart: string;
    }>;
    nextCursor: string | null;
  };
}

function sendEvent(body: string | object, options: { secret?: string; t?: number; header?: string } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/billing/provider-events',
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: options.header ?? signatureHeader(raw, options.secret ?? SECRET, options.t),
    },
    payload: raw,
  });
}

let eventSeq = 0;
const eventId = () => `evt_${Date.now()}_${++eventSeq}`;

describe('the renewal job', () => {
  it('renews a due subscription once: a cycle invoice for the seats, the boosts of the period, the credit taken off', async () => {
    const org = await paidOrgWithoutInvoice(t, 'enterprise', 'Renewal Co');
    await addMember(t.app, org, 'developer', {}, t.mail);
    const { end } = await subscribe(org.orgId, { endedDaysAgo: 2, credit: 1000 });
    // Two boosts granted in the period that ended, one before it (billed earlier, not again).
    await db().execute(sql`INSERT INTO quota_boosts (org_id, tokens, created_at, expires_at) VALUES
      (${org.orgId}, 2500, ${new Date(end.getTime() - 5 * DAY).toISOString()}::timestamptz, now() + interval '30 days'),
      (${org.orgId}, 1000, ${new Date(end.getTime() - 10 * DAY).toISOString()}::timestamptz, now() + interval '30 days'),
      (${org.orgId}, 9000, ${new Date(end.getTime() - 40 * DAY).toISOString()}::timestamptz, now() + interval '30 days')`);

    const first = await renewDueSubscriptions(t.app);
    const mine = first.filter((r) => r.periodStart.getTime() === end.getTime());
    expect(mine).toHaveLength(1);
    expect(await renewDueSubscriptions(t.app)).toHaveLength(0);

    const list = await invoicesOf(org.owner, org.orgId);
    expect(list.items).toHaveLength(1);
    const invoice = list.items[0]!;
    const seats = 2;
    const charges =
      seats * seatPrice('enterprise', 'monthly') +
      3 * BOOST_PRICE_PER_1000_TOKENS +
      1 * BOOST_PRICE_PER_1000_TOKENS;
    expect(invoice.lines).toEqual([
      expect.objectContaining({ quantity: seats, unitAmount: seatPrice('enterprise', 'monthly') }),
      expect.objectContaining({ amount: 1 * BOOST_PRICE_PER_1000_TOKENS }),
      expect.objectContaining({ amount: 3 * BOOST_PRICE_PER_1000_TOKENS }),
      expect.objectContaining({ amount: -1000 }),
    ]);
    expect(invoice.total).toBe(charges - 1000);
    expect(invoice.periodStart).toBe(end.toISOString());

    const [sub] = await queryRows<{ period_start: string; seats: number; credit_balance: string }>(
      db(),
      sql`SELECT period_start, seats, credit_balance FROM subscriptions WHERE org_id = ${org.orgId}`,
    );
    expect(new Date(sub!.period_start).getTime()).toBe(end.getTime());
    expect(sub!.seats).toBe(2);
    expect(Number(sub!.credit_balance)).toBe(0);

    const audit = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=subscription.renewed`),
      200,
    ).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0].actor.type).toBe('system');
  });

  it('invoices each period missed while no instance ran, once each', async () => {
    const org = await paidOrgWithoutInvoice(t, 'pro', 'Missed Co');
    await subscribe(org.orgId, { end: new Date(Date.UTC(2026, 7, 15)) });
    await renewDueSubscriptions(t.app, new Date(Date.UTC(2026, 10, 20)));
    const list = await invoicesOf(org.owner, org.orgId);
    expect(list.items.map((i) => i.periodStart).sort()).toEqual([
      '2026-08-15T00:00:00.000Z',
      '2026-09-15T00:00:00.000Z',
      '2026-10-15T00:00:00.000Z',
      '2026-11-15T00:00:00.000Z',
    ]);
    // Numbers increase with the periods, without gaps between them.
    const numbers = list.items.map((i) => i.number).sort((a, b) => a - b);
    expect(numbers.at(-1)! - numbers[0]!).toBe(3);
  });

  it('leaves a free plan alone', async () => {
    const org = await createOrg(t.app, { plan: 'free', name: 'Free Co' });
    await subscribe(org.orgId, { endedDaysAgo: 3 });
    await renewDueSubscriptions(t.app);
    expect((await invoicesOf(org.owner, org.orgId)).items).toHaveLength(0);
  });
});

describe('GET …/billing/invoices and the PDF', () => {
  let org: Awaited<ReturnType<typeof createOrg>>;
  beforeAll(async () => {
    org = await paidOrgWithoutInvoice(t, 'pro', 'Ledger Co');
    await subscribe(org.orgId, { end: new Date(Date.UTC(2026, 5, 1)) });
    await renewDueSubscriptions(t.app, new Date(Date.UTC(2026, 7, 2)));
  });

  it('lists newest first with cursor paging, filters by issue date and finds a number in any spelling', async () => {
    const all = await invoicesOf(org.owner, org.orgId);
    expect(all.items).toHaveLength(3);
    const page1 = await invoicesOf(org.owner, org.orgId, '?limit=2');
    expect(page1.items).toHaveLength(2);
    const page2 = await invoicesOf(org.owner, org.orgId, `?limit=2&cursor=${page1.nextCursor}`);
    expect([...page1.items, ...page2.items].map((i) => i.id)).toEqual(all.items.map((i) => i.id));
    expect(page2.nextCursor).toBeNull();

    const target = all.items[1]!;
    for (const q of [
      String(target.number),
      target.displayNumber,
      target.displayNumber.toLowerCase(),
      `#${target.number}`,
    ]) {
      expect(
        (await invoicesOf(org.owner, org.orgId, `?q=${encodeURIComponent(q)}`)).items.map((i) => i.id),
      ).toEqual([target.id]);
    }
    expect((await invoicesOf(org.owner, org.orgId, '?q=pro')).items).toHaveLength(3);
    expect((await invoicesOf(org.owner, org.orgId, '?q=paid')).items).toHaveLength(0);
    expect((await invoicesOf(org.owner, org.orgId, '?q=nothing-like-it')).items).toHaveLength(0);

    // Issued dates: move one back a year, then bound the range.
    await db().execute(sql`UPDATE invoices SET issued_at = '2025-03-10T12:00:00Z' WHERE id = ${target.id}`);
    expect(
      (await invoicesOf(org.owner, org.orgId, '?from=2025-03-10&to=2025-03-10')).items.map((i) => i.id),
    ).toEqual([target.id]);
    expect((await invoicesOf(org.owner, org.orgId, '?from=2025-03-11')).items).toHaveLength(2);
    expect((await invoicesOf(org.owner, org.orgId, '?to=2025-03-09')).items).toHaveLength(0);
    expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/invoices?from=yesterday`), 400);
    expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/invoices?cursor=forged`), 400);
  });

  it('serves the PDF: its text holds the number, the lines and the totals of the row, the same bytes each time', async () => {
    const invoice = (await invoicesOf(org.owner, org.orgId)).items[0]!;
    const res = expectStatus(await as(t.app, org.owner).get(invoice.pdfUrl), 200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${invoice.displayNumber}.pdf"`);
    expectPdfBytes(res.rawPayload);
    const text = await pdfText(res.rawPayload);
    const [row] = await queryRows<{ total: string; subtotal: string }>(
      db(),
      sql`SELECT total, subtotal FROM invoices WHERE id = ${invoice.id}`,
    );
    const money = (cents: number) =>
      `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
    expect(text).toContain(invoice.displayNumber);
    expect(text).toContain('Gatehouse Test Ltd');
    expect(text).toContain('Ledger Co');
    expect(text).toContain(`Total due ${money(Number(row!.total))}`);
    expect(text).toContain(`Subtotal ${money(Number(row!.subtotal))}`);
    expect(text).toContain(`quoting the reference ${invoice.displayNumber}`);
    expect(text).toContain('IBAN XX00 TEST');
    const again = expectStatus(await as(t.app, org.owner).get(invoice.pdfUrl), 200);
    expect(Buffer.compare(again.rawPayload, res.rawPayload)).toBe(0);
  });

  it('answers only members who hold billing:read; another org’s invoice is not found; a malformed id is a 400', async () => {
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const invoice = (await invoicesOf(org.owner, org.orgId)).items[0]!;
    expect(expectStatus(await as(t.app, admin).get(`${base(org.orgId)}/invoices`), 403).json().code).toBe(
      'permission_denied',
    );
    expectStatus(await as(t.app, admin).get(invoice.pdfUrl), 403);
    // A custom role given billing:read sees them.
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'accountant',
        name: 'Accountant',
        permissions: ['billing:read'],
      }),
      201,
    );
    const accountant = await addMember(t.app, org, 'accountant', {}, t.mail);
    expect((await invoicesOf(accountant, org.orgId)).items.length).toBeGreaterThan(0);
    expectStatus(await as(t.app, accountant).get(invoice.pdfUrl), 200);

    const other = await paidOrgWithoutInvoice(t, 'pro', 'Other Co');
    expectStatus(await as(t.app, other.owner).get(`${base(other.orgId)}/invoices/${invoice.id}/pdf`), 404);
    expectStatus(await as(t.app, other.owner).get(invoice.pdfUrl), 404);
    expectStatus(await as(t.app, org.owner).get(`${base(org.orgId)}/invoices/not-a-uuid/pdf`), 400);
    expectStatus(
      await as(t.app, org.owner).get(`${base(org.orgId)}/invoices/00000000-0000-4000-8000-000000000000/pdf`),
      404,
    );
  });
});

describe('invoice emails', () => {
  it('mails each issued invoice as a PDF to the org’s invoice recipients', async () => {
    const org = await paidOrgWithoutInvoice(t, 'pro', 'Mail Co');
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, {
        invoiceRecipients: ['ap@mail-co.example', 'cfo@mail-co.example'],
      }),
      200,
    );
    await subscribe(org.orgId, { endedDaysAgo: 1 });
    const since = t.mail.messages.length;
    const [renewal] = (await renewDueSubscriptions(t.app)).filter((r) => r.total > 0);
    expect(renewal).toBeDefined();
    await t.drainOutbox();
    const invoice = (await invoicesOf(org.owner, org.orgId)).items[0]!;
    for (const to of ['ap@mail-co.example', 'cfo@mail-co.example']) {
      const mail = await t.mail.latestTo(to, since, /Invoice INV-/);
      expect(mail.subject).toContain(invoice.displayNumber);
      const [pdf] = attachmentsOf(mail.raw);
      expect(pdf?.contentType).toBe('application/pdf');
      expect(pdf?.filename).toBe(`${invoice.displayNumber}.pdf`);
      expectPdfBytes(pdf!.content);
      const text = await pdfText(pdf!.content);
      expect(text).toContain(invoice.displayNumber);
      expect(text).toContain(
        `Total due $${(invoice.total / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`,
      );
    }
    // The owner, not a recipient, got none.
    expect(
      t.mail.messages
        .slice(since)
        .some((m) => m.to.includes(org.owner.email.toLowerCase()) && /Invoice INV-/.test(m.subject)),
    ).toBe(false);
  });

  it('falls back to the Owners when the org names no recipient and no contact', async () => {
    const org = await paidOrgWithoutInvoice(t, 'pro', 'Owner Mail Co');
    await subscribe(org.orgId, { endedDaysAgo: 1 });
    const since = t.mail.messages.length;
    await renewDueSubscriptions(t.app);
    await t.drainOutbox();
    const mail = await t.mail.latestTo(org.owner.email, since, /Invoice INV-/);
    expect(attachmentsOf(mail.raw)).toHaveLength(1);
  });
});

describe('POST /api/v1/billing/provider-events', () => {
  let org: Awaited<ReturnType<typeof createOrg>>;
  let billingAdmin: Person;
  let invoice: { id: string; number: number; displayNumber: string };
  beforeAll(async () => {
    org = await paidOrgWithoutInvoice(t, 'pro', 'Payer Co');
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'billing-admin',
        name: 'Billing admin',
        permissions: ['billing:read', 'billing:manage'],
      }),
      201,
    );
    billingAdmin = await addMember(t.app, org, 'billing-admin', {}, t.mail);
    await subscribe(org.orgId, { endedDaysAgo: 1 });
    await renewDueSubscriptions(t.app);
    invoice = (await invoicesOf(org.owner, org.orgId)).items[0]!;
  });

  const succeeded = (id = eventId(), data: Record<string, unknown> = {}) => ({
    id,
    type: 'payment.succeeded',
    data: { orgId: org.orgId, invoiceId: invoice.id, reference: 'pay_123', ...data },
  });
  const statusOf = async (id: string) =>
    (await queryRows<{ status: string }>(db(), sql`SELECT status FROM invoices WHERE id = ${id}`))[0]?.status;
  const kept = async (id: string) =>
    (
      await queryRows<{ n: number }>(
        db(),
        sql`SELECT count(*)::int AS n FROM billing_provider_events WHERE event_id = ${id}`,
      )
    )[0]!.n;

  it('refuses a wrong signature, a missing one, an old or future timestamp, and junk', async () => {
    const body = succeeded();
    expect((await sendEvent(body, { secret: 'whsec_wrong' })).statusCode).toBe(401);
    expect((await sendEvent(body, { header: '' })).statusCode).toBe(401);
    expect((await sendEvent(body, { header: 't=abc,v1=zz' })).statusCode).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    // Well past the 300 s window either way (the server's clock reads a little later than this one).
    expect((await sendEvent(body, { t: now - 330 })).statusCode).toBe(401);
    expect((await sendEvent(body, { t: now + 330 })).statusCode).toBe(401);
    // Signed for another body.
    const other = JSON.stringify(succeeded());
    expect((await sendEvent(body, { header: signatureHeader(other, SECRET) })).statusCode).toBe(401);
    expect(await kept(body.id)).toBe(0);
    expect(await statusOf(invoice.id)).toBe('open');

    expect((await sendEvent('{"id": "evt_x", "type":')).json().code).toBe('malformed_request');
    expect((await sendEvent('[1,2]')).statusCode).toBe(400);
    // Text jsonb cannot hold: refused as a request, not a server error.
    expect((await sendEvent('{"id":"evt_nul","type":"x.y","data":{"a":"\\u0000"}}')).statusCode).toBe(400);
    expect((await sendEvent('{"id":"evt_sur","type":"x.y","data":{"a":"\\ud800"}}')).statusCode).toBe(400);
    expect(
      (await sendEvent({ id: 'evt_y', type: 'payment.succeeded', data: { orgId: 'nope' } })).json().code,
    ).toBe('validation_failed');
    expect((await sendEvent('x'.repeat(70 * 1024))).statusCode).toBe(413);
    const text = await t.app.inject({
      method: 'POST',
      url: '/api/v1/billing/provider-events',
      headers: { 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(text.statusCode).toBeGreaterThanOrEqual(400);
    expect(text.statusCode).toBeLessThan(500);
  });

  it('accepts a signature by any of several secrets (rotation), and several v1 values', async () => {
    const config = t.app.gatehouse.config.billing;
    const before = config.webhookSecrets;
    config.webhookSecrets = ['whsec_new', SECRET];
    try {
      const body = JSON.stringify({ id: eventId(), type: 'customer.updated', data: {} });
      const oldSig = signatureHeader(body, SECRET);
      const newSig = signatureHeader(body, 'whsec_new');
      const header = `${oldSig},v1=${'0'.repeat(64)},${newSig.split(',')[1]}`;
      expect((await sendEvent(body, { header })).statusCode).toBe(200);
      expect(
        (await sendEvent(JSON.stringify({ id: eventId(), type: 'x.y', data: {} }), { secret: 'whsec_new' }))
          .statusCode,
      ).toBe(200);
    } finally {
      config.webhookSecrets = before;
    }
  });

  it('answers 404 while no secret is set', async () => {
    const config = t.app.gatehouse.config.billing;
    const before = config.webhookSecrets;
    config.webhookSecrets = [];
    try {
      expect((await sendEvent(succeeded())).statusCode).toBe(404);
    } finally {
      config.webhookSecrets = before;
    }
  });

  it('refuses an invoice of another org, or none, and applies nothing', async () => {
    const other = await paidOrgWithoutInvoice(t, 'pro', 'Not The Payer');
    const wrongOrg = {
      id: eventId(),
      type: 'payment.succeeded',
      data: { orgId: other.orgId, invoiceId: invoice.id },
    };
    expect((await sendEvent(wrongOrg)).statusCode).toBe(404);
    expect(await kept(wrongOrg.id)).toBe(0);
    const noSuch = {
      id: eventId(),
      type: 'payment.succeeded',
      data: { orgId: org.orgId, invoiceNumber: 99_999_999 },
    };
    expect((await sendEvent(noSuch)).statusCode).toBe(404);
    expect(await statusOf(invoice.id)).toBe('open');
  });

  it('a failed payment marks the invoice failed, the subscription past due, and tells billing admins by email and inbox', async () => {
    const since = t.mail.messages.length;
    const body = {
      id: eventId(),
      type: 'payment.failed',
      data: { orgId: org.orgId, invoiceNumber: invoice.displayNumber, reason: 'insufficient funds' },
    };
    const res = expectStatus(await sendEvent(body), 200).json();
    expect(res).toMatchObject({ duplicate: false, applied: true, status: 'failed' });
    expect(await statusOf(invoice.id)).toBe('failed');
    const [sub] = await queryRows<{ status: string }>(
      db(),
      sql`SELECT status FROM subscriptions WHERE org_id = ${org.orgId}`,
    );
    expect(sub!.status).toBe('past_due');
    await t.drainOutbox();
    for (const who of [billingAdmin, org.owner]) {
      const mail = await t.mail.latestTo(who.email, since, /Payment of invoice/);
      expect(mail.subject).toContain(invoice.displayNumber);
      const inbox = expectStatus(await as(t.app, who).get('/api/v1/me/inbox'), 200).json();
      expect(inbox.items.some((i: { type: string }) => i.type === 'payment_failed')).toBe(true);
    }
    const audit = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=billing.payment_failed`),
      200,
    ).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0].actor.type).toBe('system');
  });

  it('a payment succeeds once: the invoice paid, the subscription active, a replay answers duplicate and applies nothing', async () => {
    const body = succeeded();
    const first = expectStatus(await sendEvent(body), 200).json();
    expect(first).toMatchObject({ duplicate: false, applied: true, status: 'paid' });
    const [row] = await queryRows<{ status: string; paid_at: string | null; provider_reference: string }>(
      db(),
      sql`SELECT status, paid_at, provider_reference FROM invoices WHERE id = ${invoice.id}`,
    );
    expect(row).toMatchObject({ status: 'paid', provider_reference: 'pay_123' });
    expect(row!.paid_at).not.toBeNull();
    const [sub] = await queryRows<{ status: string }>(
      db(),
      sql`SELECT status FROM subscriptions WHERE org_id = ${org.orgId}`,
    );
    expect(sub!.status).toBe('active');

    // Replayed (freshly signed): nothing applied, nothing audited again.
    await db().execute(sql`UPDATE invoices SET status = 'open', paid_at = NULL WHERE id = ${invoice.id}`);
    const again = expectStatus(await sendEvent(body), 200).json();
    expect(again).toMatchObject({ duplicate: true, applied: false });
    expect(await statusOf(invoice.id)).toBe('open');
    await db().execute(sql`UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = ${invoice.id}`);
    const audit = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=billing.payment_succeeded`,
      ),
      200,
    ).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0].target).toMatchObject({ type: 'invoice', id: invoice.id });
  });

  it('keeps an unknown type and ignores it (a replay of it is a duplicate)', async () => {
    const body = { id: eventId(), type: 'customer.created', data: { anything: true } };
    expect(expectStatus(await sendEvent(body), 200).json()).toMatchObject({
      duplicate: false,
      applied: false,
    });
    expect(expectStatus(await sendEvent(body), 200).json()).toMatchObject({
      duplicate: true,
      applied: false,
    });
  });
});
