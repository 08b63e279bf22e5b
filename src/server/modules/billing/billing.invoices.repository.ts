import { and, asc, desc, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import {
  type BillingCycle,
  type InvoiceLine,
  type InvoiceReason,
  type InvoiceStatus,
  parseInvoiceNumber,
} from '../../../contracts/billing.ts';
import type { Executor } from '../../platform/db/client.ts';
import { invoiceSequence, invoices, organizations } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';
import { enqueue } from '../../platform/outbox/index.ts';
import { listOwnerEmails } from '../members/index.ts';

/** What an invoice is issued from: a renewal's or a plan change's lines for a period. */
export interface InvoiceDraft {
  reason: 'cycle' | 'plan_change';
  plan: string;
  cycle: BillingCycle;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  lines: InvoiceLine[];
  /** When payment is due; defaults to 14 days after issue. */
  dueAt?: Date;
}

/** Who an invoice is billed to, as it was when issued. */
export interface BillTo {
  name: string;
  recipients: string[];
  contactEmail: string | null;
}

/** The job that mails an issued invoice, as a PDF, to one of its recipients. */
export const INVOICE_EMAIL_JOB = 'billing.invoice_email';

export interface InvoiceEmailJob {
  orgId: string;
  invoiceId: string;
  to: string;
}

/**
 * Takes the next invoice number. Must run in the transaction that inserts the invoice: the
 * counter row stays locked until it commits, so numbers are handed out one at a time across
 * instances, and a rollback gives the number back (no gaps).
 */
async function nextInvoiceNumber(tx: Executor): Promise<number> {
  const [row] = await tx
    .update(invoiceSequence)
    .set({ lastNumber: sql`${invoiceSequence.lastNumber} + 1` })
    .where(eq(invoiceSequence.id, 1))
    .returning({ number: invoiceSequence.lastNumber });
  if (!row) throw new Error('invoice_sequence has no row: the migration seeds it');
  return row.number;
}

/**
 * Where an invoice is mailed: the org's invoice recipients; without any, its contact email;
 * without one, its Owners.
 */
async function invoiceAddressees(tx: Executor, orgId: string, billTo: BillTo): Promise<string[]> {
  if (billTo.recipients.length > 0) return [...new Set(billTo.recipients)];
  if (billTo.contactEmail) return [billTo.contactEmail];
  return listOwnerEmails(tx, orgId);
}

/**
 * Issues an invoice in the caller's transaction: numbers it, snapshots who it is billed to (the
 * org's name and invoice recipients now), inserts it and queues its email (the PDF, to each
 * recipient; built when the job runs, from the row). The total is the sum of the lines, never
 * below zero (a credit larger than the charges is the caller's to carry over).
 *
 * The counter row is taken last, just before the insert: the lock that serializes issuers across
 * the installation is held for as short a time as the transaction allows.
 */
export async function issueInvoice(
  tx: Executor,
  orgId: string,
  draft: InvoiceDraft,
): Promise<{ id: string; number: number; total: number }> {
  const [org] = await tx
    .select({
      name: organizations.name,
      recipients: organizations.invoiceRecipients,
      contact: organizations.contactEmail,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  if (!org) throw new Error(`no organization ${orgId}`);
  const billTo: BillTo = { name: org.name, recipients: org.recipients, contactEmail: org.contact };
  const addressees = await invoiceAddressees(tx, orgId, billTo);
  const subtotal = draft.lines.reduce((sum, line) => sum + line.amount, 0);
  const total = Math.max(0, subtotal);
  const number = await nextInvoiceNumber(tx);
  const issuedAt = new Date();
  const [row] = await tx
    .insert(invoices)
    .values({
      orgId,
      number,
      reason: draft.reason,
      plan: draft.plan,
      cycle: draft.cycle,
      periodStart: draft.periodStart,
      periodEnd: draft.periodEnd,
      currency: draft.currency,
      subtotal,
      total,
      lines: draft.lines,
      billTo,
      status: total === 0 ? 'paid' : 'open',
      issuedAt,
      dueAt: draft.dueAt ?? new Date(issuedAt.getTime() + 14 * 86_400_000),
      paidAt: total === 0 ? issuedAt : null,
    })
    .returning({ id: invoices.id });
  const id = row!.id;
  for (const to of addressees) {
    await enqueue<InvoiceEmailJob>(tx, {
      kind: INVOICE_EMAIL_JOB,
      payload: { orgId, invoiceId: id, to },
      orgId,
      dedupeKey: `${INVOICE_EMAIL_JOB}:${id}:${to.toLowerCase()}`,
    });
  }
  return { id, number, total };
}

export interface InvoiceRow {
  id: string;
  orgId: string;
  number: number;
  reason: InvoiceReason;
  plan: string;
  cycle: BillingCycle;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  subtotal: number;
  total: number;
  lines: InvoiceLine[];
  billTo: BillTo;
  status: InvoiceStatus;
  issuedAt: Date;
  dueAt: Date;
  paidAt: Date | null;
  providerReference: string | null;
}

const columns = {
  id: invoices.id,
  orgId: invoices.orgId,
  number: invoices.number,
  reason: invoices.reason,
  plan: invoices.plan,
  cycle: invoices.cycle,
  periodStart: invoices.periodStart,
  periodEnd: invoices.periodEnd,
  currency: invoices.currency,
  subtotal: invoices.subtotal,
  total: invoices.total,
  lines: invoices.lines,
  billTo: invoices.billTo,
  status: invoices.status,
  issuedAt: invoices.issuedAt,
  dueAt: invoices.dueAt,
  paidAt: invoices.paidAt,
  providerReference: invoices.providerReference,
};

export interface InvoiceFilter {
  /** Issued at or after. */
  from?: Date;
  /** Issued before. */
  to?: Date;
  /** The number in any spelling, or a plan or status (whole word, any case). */
  q?: string;
  limit: number;
  after?: TimeCursor;
}

/** The org's invoices, newest issued first (a page of `limit`, after the cursor). */
export async function listInvoices(
  db: Executor,
  orgId: string,
  filter: InvoiceFilter,
): Promise<InvoiceRow[]> {
  const where: SQL[] = [eq(invoices.orgId, orgId)];
  if (filter.from) where.push(gte(invoices.issuedAt, filter.from));
  if (filter.to) where.push(lt(invoices.issuedAt, filter.to));
  const q = filter.q?.trim();
  if (q) {
    const number = parseInvoiceNumber(q);
    const word = q.toLowerCase();
    const alternatives: SQL[] = [sql`lower(${invoices.plan}) = ${word}`, sql`${invoices.status} = ${word}`];
    if (number !== undefined) alternatives.push(eq(invoices.number, number));
    where.push(sql`(${sql.join(alternatives, sql` OR `)})`);
  }
  if (filter.after) where.push(keysetBefore(invoices.issuedAt, invoices.id, filter.after));
  const rows = await db
    .select(columns)
    .from(invoices)
    .where(and(...where))
    .orderBy(desc(invoices.issuedAt), desc(invoices.id))
    .limit(filter.limit);
  return rows as InvoiceRow[];
}

/** One invoice of the org; undefined for another org's (or none). */
export async function findInvoice(db: Executor, orgId: string, id: string): Promise<InvoiceRow | undefined> {
  const [row] = await db
    .select(columns)
    .from(invoices)
    .where(and(eq(invoices.orgId, orgId), eq(invoices.id, id)));
  return row as InvoiceRow | undefined;
}

/** The org's invoice by id or number, its row locked for the rest of the transaction. */
export async function lockInvoice(
  tx: Executor,
  orgId: string,
  ref: { id: string } | { number: number },
): Promise<InvoiceRow | undefined> {
  const [row] = await tx
    .select(columns)
    .from(invoices)
    .where(
      and(eq(invoices.orgId, orgId), 'id' in ref ? eq(invoices.id, ref.id) : eq(invoices.number, ref.number)),
    )
    .for('update');
  return row as InvoiceRow | undefined;
}

/** Settles an invoice: paid (with when) or failed, and the provider's reference for it. */
export async function setInvoiceOutcome(
  tx: Executor,
  orgId: string,
  id: string,
  outcome:
    | { status: 'paid'; paidAt: Date; reference: string | null }
    | { status: 'failed'; reference: string | null },
): Promise<void> {
  await tx
    .update(invoices)
    .set({
      status: outcome.status,
      ...(outcome.status === 'paid' ? { paidAt: outcome.paidAt } : {}),
      providerReference: outcome.reference,
    })
    .where(and(eq(invoices.orgId, orgId), eq(invoices.id, id)));
}

/** The org's invoices not paid (open or failed), oldest first, locked for the rest of the transaction. */
export async function lockUnpaidInvoices(tx: Executor, orgId: string): Promise<InvoiceRow[]> {
  const rows = await tx
    .select(columns)
    .from(invoices)
    .where(and(eq(invoices.orgId, orgId), inArray(invoices.status, ['open', 'failed'])))
    .orderBy(asc(invoices.issuedAt), asc(invoices.number))
    .for('update');
  return rows as InvoiceRow[];
}

/** An unpaid invoice will not be paid: settled otherwise (by credit on account). */
export async function voidInvoice(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx
    .update(invoices)
    .set({ status: 'void' })
    .where(and(eq(invoices.orgId, orgId), eq(invoices.id, id), inArray(invoices.status, ['open', 'failed'])));
}

/** What the org owes on invoices not paid (open or failed). */
export async function sumUnpaidInvoices(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`coalesce(sum(${invoices.total}), 0)::bigint` })
    .from(invoices)
    .where(and(eq(invoices.orgId, orgId), inArray(invoices.status, ['open', 'failed'])));
  return Number(row?.n ?? 0);
}
