import { createHmac, timingSafeEqual } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { formatInvoiceNumber, parseInvoiceNumber } from '../../../contracts/billing.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import type { Executor } from '../../platform/db/client.ts';
import { billingProviderEvents, subscriptions } from '../../platform/db/schema.ts';
import {
  AppError,
  ConflictError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { findUnsafeText } from '../../platform/http/validation.ts';
import { PAYMENT_FAILED } from '../notifications/index.ts';
import { findOrg } from '../organizations/index.ts';
import { lockInvoice, setInvoiceOutcome } from './billing.invoices.repository.ts';

/**
 * Events from the payment provider (POST /api/v1/billing/provider-events). The provider signs the
 * raw body: header `Gatehouse-Billing-Signature: t=<unix seconds>,v1=<hex>` where the hex is
 * HMAC-SHA256 under BILLING_WEBHOOK_SECRET of `${t}.${rawBody}`; several `v1=` may be sent (one
 * per secret while a secret is replaced). Refused: no or a wrong signature, a `t` more than five
 * minutes from this server's clock. Each event id is kept (`billing_provider_events`): inserting
 * it is the claim, in the transaction that applies the event, so a replay — however concurrent —
 * answers `duplicate` and applies nothing, and an event refused (unknown invoice) is not kept.
 */

export const SIGNATURE_HEADER = 'gatehouse-billing-signature';
/** How far the signed time may be from ours, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** The largest event accepted. */
export const PROVIDER_EVENT_BODY_LIMIT = 64 * 1024;

/** The event types applied; any other is kept (so a replay is still a duplicate) and ignored. */
export const PROVIDER_EVENT_TYPES = ['payment.succeeded', 'payment.failed'] as const;

const refused = (detail: string) => new UnauthenticatedError(detail);

/** `t=…,v1=…` signed for `body` at `nowSeconds` with one of `secrets`; throws (401) otherwise. */
export function verifySignature(
  header: string | undefined,
  body: Buffer,
  secrets: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  if (!header) throw refused(`Send the ${SIGNATURE_HEADER} header.`);
  let t: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined) t = value;
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value))
      signatures.push(Buffer.from(value, 'hex'));
  }
  if (!t || !/^[0-9]{1,12}$/.test(t) || signatures.length === 0 || signatures.length > 8) {
    throw refused(`The ${SIGNATURE_HEADER} header must be t=<unix seconds>,v1=<hex HMAC-SHA256>.`);
  }
  const signed = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), body]);
  const matches = secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(signed).digest();
    // Every candidate is compared in full: no early exit tells which came close.
    return signatures.map((s) => timingSafeEqual(s, expected)).includes(true);
  });
  if (!matches) throw refused('The signature does not match this event.');
  if (Math.abs(nowSeconds - Number(t)) > SIGNATURE_TOLERANCE_SECONDS) {
    throw refused('The signature is too old (or from the future): send the event again, freshly signed.');
  }
}

/** A signature header for `body` (what the provider sends; tests and the README's example). */
export function signatureHeader(
  body: string | Buffer,
  secret: string,
  t = Math.floor(Date.now() / 1000),
): string {
  const mac = createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${t}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]))
    .digest('hex');
  return `t=${t},v1=${mac}`;
}

export interface ProviderEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
  raw: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The event in the body, or 400 for anything else. */
export function readProviderEvent(body: Buffer): ProviderEvent {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'), (key, v) => (key === '__proto__' ? undefined : v));
  } catch {
    throw new AppError(400, 'malformed_request', 'Bad Request', 'The body is not valid JSON.');
  }
  // Kept as jsonb: text PostgreSQL cannot store (NUL, lone surrogates) is refused here, not there.
  const unsafe = findUnsafeText(value);
  if (unsafe !== undefined) {
    throw new ValidationError([
      { field: `/body${unsafe === '/' ? '' : unsafe}`, message: 'holds characters that cannot be stored' },
    ]);
  }
  const errors: { field: string; message: string }[] = [];
  const obj =
    value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  if (obj !== value) throw new ValidationError([{ field: '/body', message: 'must be an object' }]);
  const id = obj.id;
  const type = obj.type;
  const data = obj.data;
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(id))
    errors.push({ field: '/body/id', message: 'must be the event id (1 to 200 visible characters)' });
  if (typeof type !== 'string' || !/^[a-z0-9_.]{1,100}$/.test(type))
    errors.push({ field: '/body/type', message: 'must be the event type' });
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data)))
    errors.push({ field: '/body/data', message: 'must be an object' });
  if (errors.length) throw new ValidationError(errors);
  return { id: id as string, type: type as string, data: (data ?? {}) as Record<string, unknown>, raw: obj };
}

/** A payment event's particulars: the org, the invoice (by id or number), the provider's reference. */
interface PaymentData {
  orgId: string;
  invoice: { id: string } | { number: number };
  reference: string | null;
  reason: string | null;
  /** What the provider says was paid (minor units) and in what currency, when it says so. */
  amount: number | null;
  currency: string | null;
}

export function readPaymentData(data: Record<string, unknown>): PaymentData {
  const errors: { field: string; message: string }[] = [];
  const orgId = data.orgId;
  if (typeof orgId !== 'string' || !UUID.test(orgId))
    errors.push({ field: '/body/data/orgId', message: 'must be the organization id' });
  let invoice: PaymentData['invoice'] | undefined;
  if (typeof data.invoiceId === 'string' && UUID.test(data.invoiceId)) invoice = { id: data.invoiceId };
  else if (typeof data.invoiceNumber === 'string' || typeof data.invoiceNumber === 'number') {
    const number = parseInvoiceNumber(String(data.invoiceNumber));
    if (number !== undefined) invoice = { number };
  }
  if (!invoice)
    errors.push({
      field: '/body/data/invoiceId',
      message: 'name the invoice: invoiceId (uuid) or invoiceNumber',
    });
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);
  if (data.amount !== undefined && !(Number.isSafeInteger(data.amount) && (data.amount as number) >= 0))
    errors.push({
      field: '/body/data/amount',
      message: 'must be the amount paid, in minor units (an integer)',
    });
  if (
    data.currency !== undefined &&
    (typeof data.currency !== 'string' || !/^[a-z]{3}$/i.test(data.currency))
  )
    errors.push({ field: '/body/data/currency', message: 'must be an ISO 4217 currency code' });
  if (errors.length) throw new ValidationError(errors);
  return {
    orgId: orgId as string,
    invoice: invoice!,
    reference: text(data.reference, 200),
    reason: text(data.reason, 500),
    amount: data.amount === undefined ? null : (data.amount as number),
    currency: typeof data.currency === 'string' ? data.currency.toLowerCase() : null,
  };
}

/** Keeps the event's id; false when it was kept already (a replay). */
export async function claimProviderEvent(
  tx: Executor,
  event: ProviderEvent,
  orgId: string | null,
): Promise<boolean> {
  const rows = await tx
    .insert(billingProviderEvents)
    .values({ eventId: event.id, type: event.type, orgId, payload: event.raw })
    .onConflictDoNothing()
    .returning({ eventId: billingProviderEvents.eventId });
  return rows.length > 0;
}

export interface ProviderEventOutcome {
  received: true;
  duplicate: boolean;
  applied: boolean;
  invoiceId?: string;
  status?: string;
}

/** Claims the event, then finds the org's invoice (locked); 404 when either is not there. */
async function claimAndLock(ctx: CommandContext, event: ProviderEvent, data: PaymentData) {
  const org = await findOrg(ctx.tx, data.orgId);
  if (!(await claimProviderEvent(ctx.tx, event, org ? data.orgId : null)))
    return { duplicate: true as const };
  if (!org) throw new NotFoundError('organization');
  const invoice = await lockInvoice(ctx.tx, data.orgId, data.invoice);
  if (!invoice) throw new NotFoundError('invoice');
  return { duplicate: false as const, org, invoice };
}

const invoiceTarget = (invoice: { id: string; number: number }) => ({
  type: 'invoice',
  id: invoice.id,
  name: formatInvoiceNumber(invoice.number),
});

async function setSubscriptionStatus(ctx: CommandContext, orgId: string, status: 'active' | 'past_due') {
  await ctx.tx
    .update(subscriptions)
    .set({ status, updatedAt: sql`now()` })
    .where(and(eq(subscriptions.orgId, orgId), sql`${subscriptions.status} <> ${status}`));
}

/** `payment.succeeded`: the invoice is paid; a subscription past due is active again. */
export const applyPaymentSucceeded = defineCommand({
  action: 'billing.payment_succeeded',
  async run(ctx, input: { event: ProviderEvent; data: PaymentData }): Promise<ProviderEventOutcome> {
    if (ctx.actor.type !== 'system') throw new UnauthenticatedError();
    const claimed = await claimAndLock(ctx, input.event, input.data);
    if (claimed.duplicate) {
      ctx.unchanged();
      return { received: true, duplicate: true, applied: false };
    }
    const { invoice } = claimed;
    if (invoice.status === 'void') throw new ConflictError('The invoice is void: it cannot be paid.');
    if (invoice.status === 'paid') {
      ctx.unchanged();
      return {
        received: true,
        duplicate: false,
        applied: false,
        invoiceId: invoice.id,
        status: invoice.status,
      };
    }
    // A payment of another amount (or currency) does not settle the invoice: nothing is applied,
    // nor the event kept, so the provider's corrected event still applies.
    const amountDiffers = input.data.amount !== null && input.data.amount !== invoice.total;
    const currencyDiffers = input.data.currency !== null && input.data.currency !== invoice.currency;
    if (amountDiffers || currencyDiffers) {
      throw new ConflictError(
        `The payment (${input.data.amount ?? invoice.total} ${input.data.currency ?? invoice.currency}) does not match the invoice total (${invoice.total} ${invoice.currency}): the invoice stays ${invoice.status}.`,
        'conflict',
        { reason: 'amount_mismatch', expected: { amount: invoice.total, currency: invoice.currency } },
      );
    }
    const paidAt = new Date();
    await setInvoiceOutcome(ctx.tx, input.data.orgId, invoice.id, {
      status: 'paid',
      paidAt,
      reference: input.data.reference,
    });
    await setSubscriptionStatus(ctx, input.data.orgId, 'active');
    ctx.record({
      orgId: input.data.orgId,
      target: invoiceTarget(invoice),
      before: { status: invoice.status },
      after: {
        status: 'paid',
        paidAt: paidAt.toISOString(),
        providerEventId: input.event.id,
        providerReference: input.data.reference,
        total: invoice.total,
        ...(input.data.amount !== null ? { amountPaid: input.data.amount } : {}),
      },
    });
    return { received: true, duplicate: false, applied: true, invoiceId: invoice.id, status: 'paid' };
  },
});

/**
 * `payment.failed`: the invoice failed, the subscription is past due, and the members who manage
 * billing are told (email and inbox, through notifications). A failure reported for an invoice
 * already paid or void changes nothing.
 */
export const applyPaymentFailed = defineCommand({
  action: 'billing.payment_failed',
  async run(ctx, input: { event: ProviderEvent; data: PaymentData }): Promise<ProviderEventOutcome> {
    if (ctx.actor.type !== 'system') throw new UnauthenticatedError();
    const claimed = await claimAndLock(ctx, input.event, input.data);
    if (claimed.duplicate) {
      ctx.unchanged();
      return { received: true, duplicate: true, applied: false };
    }
    const { invoice } = claimed;
    if (invoice.status === 'paid' || invoice.status === 'void' || invoice.status === 'failed') {
      ctx.unchanged();
      return {
        received: true,
        duplicate: false,
        applied: false,
        invoiceId: invoice.id,
        status: invoice.status,
      };
    }
    await setInvoiceOutcome(ctx.tx, input.data.orgId, invoice.id, {
      status: 'failed',
      reference: input.data.reference,
    });
    await setSubscriptionStatus(ctx, input.data.orgId, 'past_due');
    await ctx.emit({
      type: PAYMENT_FAILED,
      orgId: input.data.orgId,
      data: {
        invoiceId: invoice.id,
        number: invoice.number,
        total: invoice.total,
        currency: invoice.currency,
      },
    });
    ctx.record({
      orgId: input.data.orgId,
      target: invoiceTarget(invoice),
      before: { status: invoice.status },
      after: {
        status: 'failed',
        providerEventId: input.event.id,
        providerReference: input.data.reference,
        reason: input.data.reason,
        total: invoice.total,
      },
    });
    return { received: true, duplicate: false, applied: true, invoiceId: invoice.id, status: 'failed' };
  },
});
