import { formatInvoiceNumber, formatMoney } from '../../../contracts/billing.ts';
import { renderPdf } from '../../platform/pdf/pdf.ts';
import type { InvoiceRow } from './billing.invoices.repository.ts';

/** Who issues the invoices (the installation's operator) and how to pay them. */
export interface Seller {
  /** Name, address, tax id: one entry a line (BILLING_SELLER, lines separated by `|`). */
  lines: string[];
  /** Bank details for a transfer (BILLING_BANK_DETAILS); omitted from the PDF when empty. */
  bankDetails: string[];
}

const day = (d: Date) => d.toISOString().slice(0, 10);

const STATUS: Record<string, string> = {
  open: 'Open (awaiting payment)',
  paid: 'Paid',
  failed: 'Payment failed',
  void: 'Void',
};

/** The amounts an invoice states: what the console, the email and tests compare with the PDF. */
export function invoiceAmounts(row: Pick<InvoiceRow, 'lines' | 'total'>) {
  const credit = row.lines.filter((l) => l.amount < 0).reduce((sum, l) => sum + l.amount, 0);
  const charges = row.lines.filter((l) => l.amount >= 0).reduce((sum, l) => sum + l.amount, 0);
  return { charges, credit, total: row.total };
}

/**
 * The invoice as a PDF. Drawn from the row alone (the bill-to and lines snapshotted when it was
 * issued) and dated by it, so the same row gives the same document however often it is built.
 * The `invoice` provider is a bank transfer: the reference to quote is the invoice number.
 */
export function renderInvoicePdf(row: InvoiceRow, seller: Seller): Promise<Buffer> {
  const number = formatInvoiceNumber(row.number);
  const money = (amount: number) => formatMoney(amount, row.currency);
  const { charges, credit, total } = invoiceAmounts(row);
  return renderPdf(
    {
      title: `Invoice ${number}`,
      subject: `Invoice ${number} for ${row.billTo.name}`,
      subtitle: `Issued ${day(row.issuedAt)} · ${row.billTo.name}`,
      footer: `${seller.lines[0] ?? 'Gatehouse'} · ${number}`,
      createdAt: row.issuedAt,
    },
    (pdf) => {
      pdf.heading('From', 2).paragraph(seller.lines.join('\n'));
      const billTo = [row.billTo.name, ...(row.billTo.recipients.length ? row.billTo.recipients : [])];
      if (!row.billTo.recipients.length && row.billTo.contactEmail) billTo.push(row.billTo.contactEmail);
      pdf.heading('Bill to', 2).paragraph(billTo.join('\n'));
      pdf.heading('Invoice', 2).keyValues([
        ['Invoice number', number],
        ['Issue date', day(row.issuedAt)],
        ['Due date', day(row.dueAt)],
        ['Period', `${day(row.periodStart)} to ${day(row.periodEnd)}`],
        ['Plan', `${row.plan} (${row.cycle})`],
        ['Reason', row.reason === 'cycle' ? 'Renewal' : 'Plan change'],
        ['Status', `${STATUS[row.status] ?? row.status}${row.paidAt ? ` on ${day(row.paidAt)}` : ''}`],
        ['Currency', row.currency.toUpperCase()],
      ]);
      pdf.heading('Lines', 2).table(
        [
          { header: 'Description', width: 5 },
          { header: 'Quantity', width: 1.2, align: 'right' },
          { header: 'Unit price', width: 1.8, align: 'right' },
          { header: 'Amount', width: 1.8, align: 'right' },
        ],
        row.lines.map((l) => [l.description, String(l.quantity), money(l.unitAmount), money(l.amount)]),
        'No lines.',
      );
      pdf.keyValues(
        [
          ['Subtotal', money(charges)],
          ['Credit applied', money(credit)],
          ['Total due', money(total)],
        ],
        0.6,
      );
      pdf.heading('How to pay', 2);
      if (row.status === 'paid') {
        pdf.paragraph('This invoice is paid. Thank you.');
      } else {
        pdf.paragraph(
          `Pay ${money(total)} by bank transfer by ${day(row.dueAt)}, quoting the reference ${number}.`,
        );
        if (seller.bankDetails.length) pdf.keyValues([['Bank details', seller.bankDetails.join('\n')]]);
      }
    },
  );
}
