import { formatInvoiceNumber, formatMoney } from '../../../contracts/billing.ts';
import type { Executor } from '../../platform/db/client.ts';
import { type Mailer, quoted } from '../../platform/mail/mailer.ts';
import {
  EMAIL_LEASE_SECONDS,
  type MailLanguage,
  recipientLanguage,
  sendFromJob,
} from '../../platform/mail/queue.ts';
import { GiveUp, type JobHandler } from '../../platform/outbox/index.ts';
import { findLocalization } from '../organizations/index.ts';
import { renderInvoicePdf, type Seller } from './billing.invoices.pdf.ts';
import {
  findInvoice,
  INVOICE_EMAIL_JOB,
  type InvoiceEmailJob,
  type InvoiceRow,
} from './billing.invoices.repository.ts';

const day = (d: Date) => d.toISOString().slice(0, 10);

/** The invoice email's words (the PDF itself is in English, as the ledger is). */
function invoiceLetter(row: InvoiceRow, language: MailLanguage, publicUrl: string) {
  const number = formatInvoiceNumber(row.number);
  const total = formatMoney(row.total, row.currency, language === 'es' ? 'es-ES' : 'en-US');
  const link = `${publicUrl}/orgs/${row.orgId}/settings/invoices`;
  const paid = row.status === 'paid';
  if (language === 'es') {
    return {
      subject: `Factura ${number} de ${quoted(row.billTo.name)}: ${total}`,
      text: [
        `Adjuntamos la factura ${number} (${total}) del periodo ${day(row.periodStart)} a ${day(row.periodEnd)}.`,
        paid
          ? 'No hay nada que pagar: la factura ya está saldada.'
          : `Págala por transferencia bancaria antes del ${day(row.dueAt)} indicando la referencia ${number}.`,
        `Todas tus facturas: ${link}`,
      ].join('\n\n'),
    };
  }
  return {
    subject: `Invoice ${number} for ${quoted(row.billTo.name)}: ${total}`,
    text: [
      `Attached is invoice ${number} (${total}) for the period ${day(row.periodStart)} to ${day(row.periodEnd)}.`,
      paid
        ? 'Nothing is due: the invoice is already settled.'
        : `Pay it by bank transfer by ${day(row.dueAt)}, quoting the reference ${number}.`,
      `All your invoices: ${link}`,
    ].join('\n\n'),
  };
}

async function orgLanguage(db: Executor, orgId: string): Promise<MailLanguage> {
  const language = (await findLocalization(db, orgId))?.language;
  return language === 'es' ? 'es' : 'en';
}

/**
 * Mails an issued invoice to one recipient, its PDF attached. The PDF is built now from the row
 * (never stored in the job); an invoice gone with its organization is given up.
 */
export function invoiceEmailHandler(
  mailer: Mailer,
  seller: Seller,
  publicUrl: string,
): JobHandler<InvoiceEmailJob> {
  return {
    kind: INVOICE_EMAIL_JOB,
    leaseSeconds: EMAIL_LEASE_SECONDS,
    async run(job, _info, db) {
      const row = await findInvoice(db, job.orgId, job.invoiceId);
      if (!row) throw new GiveUp('the invoice no longer exists');
      const language = await recipientLanguage(db, job.to, await orgLanguage(db, job.orgId));
      const letter = invoiceLetter(row, language, publicUrl);
      const pdf = await renderInvoicePdf(row, seller);
      await sendFromJob(mailer, {
        to: job.to,
        subject: letter.subject.replace(/\p{Cc}+/gu, ' '),
        text: letter.text,
        attachments: [
          {
            filename: `${formatInvoiceNumber(row.number)}.pdf`,
            contentType: 'application/pdf',
            content: pdf,
          },
        ],
      });
    },
  };
}
