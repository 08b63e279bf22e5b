import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  BILLING_CYCLES,
  formatInvoiceNumber,
  INVOICE_REASONS,
  INVOICE_STATUSES,
  type InvoiceView,
} from '../../../contracts/billing.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { DateTime, OrgParams, Page, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { renderInvoicePdf, type Seller } from './billing.invoices.pdf.ts';
import { findInvoice, type InvoiceRow, listInvoices } from './billing.invoices.repository.ts';

const Money = Type.Integer({ description: 'Minor units of the currency (cents)' });

export const Invoice = Type.Object(
  {
    id: Uuid,
    number: Type.Integer({ description: 'Gapless across the installation' }),
    displayNumber: Type.String({ description: 'The number as printed, e.g. INV-000042' }),
    reason: Type.Union(INVOICE_REASONS.map((r) => Type.Literal(r))),
    plan: Type.String(),
    cycle: Type.Union(BILLING_CYCLES.map((c) => Type.Literal(c))),
    periodStart: DateTime,
    periodEnd: DateTime,
    currency: Type.String({ description: 'ISO 4217, lower case' }),
    subtotal: Money,
    total: Money,
    lines: Type.Array(
      Type.Object({
        description: Type.String(),
        quantity: Type.Number(),
        unitAmount: Money,
        amount: Money,
      }),
    ),
    status: Type.Union(INVOICE_STATUSES.map((s) => Type.Literal(s))),
    issuedAt: DateTime,
    dueAt: DateTime,
    paidAt: Type.Union([DateTime, Type.Null()]),
    pdfUrl: Type.String({ description: 'Where to download the PDF' }),
  },
  { $id: 'Invoice' },
);

const DateOrTime = Type.String({
  maxLength: 40,
  description: 'A date (YYYY-MM-DD, UTC) or an RFC 3339 time',
});

export function presentInvoice(row: InvoiceRow): InvoiceView {
  return {
    id: row.id,
    number: row.number,
    displayNumber: formatInvoiceNumber(row.number),
    reason: row.reason,
    plan: row.plan,
    cycle: row.cycle,
    periodStart: row.periodStart.toISOString(),
    periodEnd: row.periodEnd.toISOString(),
    currency: row.currency,
    subtotal: row.subtotal,
    total: row.total,
    lines: row.lines,
    status: row.status,
    issuedAt: row.issuedAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    paidAt: row.paidAt?.toISOString() ?? null,
    pdfUrl: `/api/v1/orgs/${row.orgId}/billing/invoices/${row.id}/pdf`,
  };
}

/**
 * `from`/`to` as instants: a date is its UTC midnight, and `to` as a date takes that whole day in.
 */
function readBound(value: string | undefined, field: 'from' | 'to'): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const dateOnly = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value);
  const time = new Date(dateOnly ? `${value}T00:00:00.000Z` : value);
  const valid =
    !Number.isNaN(time.getTime()) &&
    (dateOnly
      ? time.toISOString().startsWith(value)
      : /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$/i.test(value)) &&
    time.getUTCFullYear() >= 1 &&
    time.getUTCFullYear() <= 9999;
  if (!valid) {
    throw new ValidationError([
      { field: `/querystring/${field}`, message: 'must be a date (YYYY-MM-DD) or an RFC 3339 time' },
    ]);
  }
  return dateOnly && field === 'to' ? new Date(time.getTime() + 86_400_000) : time;
}

export function invoicesRoutes(app: FastifyInstance, seller: Seller): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { database } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/billing/invoices',
    {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: 'The organization’s invoices, newest first',
        description:
          '`from` and `to` bound the issue date (a date or a time; `to` as a date includes that day). ' +
          '`q` finds an invoice by its number in any spelling (`42`, `000042`, `INV-000042`), or ' +
          'the invoices of a plan (`pro`) or in a status (`open`, `paid`, `failed`, `void`).',
        params: OrgParams,
        querystring: Type.Object(
          {
            from: Type.Optional(DateOrTime),
            to: Type.Optional(DateOrTime),
            q: Type.Optional(Type.String({ maxLength: 100 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('Invoice')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const from = readBound(request.query.from, 'from');
      const to = readBound(request.query.to, 'to');
      const rows = await listInvoices(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(request.query.q ? { q: request.query.q } : {}),
        ...(after ? { after } : {}),
      });
      return toPage(
        rows.map((row) => ({ ...row, createdAt: row.issuedAt })),
        limit,
        presentInvoice,
      );
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/billing/invoices/:id/pdf',
    {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: 'An invoice as a PDF',
        params: Type.Object({ orgId: Uuid, id: Uuid }),
        response: { ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await findInvoice(database.db, requestOrgId(request), request.params.id);
      assertFound(row, 'invoice');
      const pdf = await renderInvoicePdf(row, seller);
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `attachment; filename="${formatInvoiceNumber(row.number)}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );
}
