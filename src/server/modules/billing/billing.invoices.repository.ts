import { eq, sql } from 'drizzle-orm';
import type { BillingCycle, InvoiceLine } from '../../../contracts/billing.ts';
import type { Executor } from '../../platform/db/client.ts';
import { invoiceSequence, invoices, organizations } from '../../platform/db/schema.ts';

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
 * Issues an invoice in the caller's transaction: numbers it, snapshots who it is billed to (the
 * org's name and invoice recipients now) and inserts it. The total is the sum of the lines, never
 * below zero (a credit larger than the charges is the caller's to carry over).
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
      billTo: { name: org.name, recipients: org.recipients, contactEmail: org.contact },
      status: total === 0 ? 'paid' : 'open',
      issuedAt,
      dueAt: draft.dueAt ?? new Date(issuedAt.getTime() + 14 * 86_400_000),
      paidAt: total === 0 ? issuedAt : null,
    })
    .returning({ id: invoices.id });
  return { id: row!.id, number, total };
}
