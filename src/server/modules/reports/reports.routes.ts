import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  COMPLIANCE_FRAMEWORKS,
  REPORT_MAX_DAYS,
  REPORT_STATUSES,
  type ReportView,
} from '../../../contracts/reports.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { AppError, assertFound } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { DateTime, OrgParams, Page, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { findOrg } from '../organizations/index.ts';
import { requestComplianceReport, requestExecutiveReport } from './reports.commands.ts';
import {
  findReport,
  listReports,
  type ReportKind,
  type ReportRow,
  readReportPdf,
} from './reports.repository.ts';

export const Report = Type.Object(
  {
    id: Uuid,
    kind: Type.Union([Type.Literal('compliance'), Type.Literal('executive')]),
    framework: Type.Optional(Type.Union(COMPLIANCE_FRAMEWORKS.map((f) => Type.Literal(f)))),
    from: DateTime,
    to: DateTime,
    status: Type.Union(
      REPORT_STATUSES.map((s) => Type.Literal(s)),
      { description: 'pending → running → ready; failed once it was given up' },
    ),
    progress: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent built' }),
    createdAt: DateTime,
    finishedAt: Type.Optional(DateTime),
    sizeBytes: Type.Optional(Type.Integer({ description: 'The PDF’s size, once ready' })),
    sha256: Type.Optional(Type.String({ description: 'The PDF’s SHA-256 (hex), once ready' })),
    error: Type.Optional(Type.String({ description: 'Why it failed' })),
    summary: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'The figures the document states (members, records, the checkpoint…), once ready',
      }),
    ),
    downloadUrl: Type.Optional(Type.String({ description: 'Where to download the PDF, once ready' })),
    requestedBy: Type.Union([
      Type.Object({ id: Uuid, email: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
  },
  { $id: 'Report' },
);

const Period = {
  from: Type.String({ format: 'date-time', description: 'Start of the period (included)' }),
  to: Type.String({
    format: 'date-time',
    description: `End of the period (excluded): after from, within ${REPORT_MAX_DAYS} days of it, no later than the end of today (UTC)`,
  }),
};

const ReportParams = Type.Object({ orgId: Uuid, id: Uuid });

const pathOf = (kind: ReportKind) => (kind === 'compliance' ? 'compliance-reports' : 'reports/executive');

/** A report as the API shows it (only what its state has). */
export function presentReport(row: ReportRow): ReportView {
  const progress =
    row.status === 'ready' ? 100 : row.status === 'running' ? Number(row.summary?.progress ?? 0) : 0;
  const base = `/api/v1/orgs/${row.orgId}/${pathOf(row.kind)}/${row.id}`;
  return {
    id: row.id,
    kind: row.kind,
    ...(row.framework ? { framework: row.framework } : {}),
    from: row.periodFrom.toISOString(),
    to: row.periodTo.toISOString(),
    status: row.status,
    progress,
    createdAt: row.createdAt.toISOString(),
    ...(row.finishedAt ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.status === 'ready' && row.sizeBytes !== null ? { sizeBytes: row.sizeBytes } : {}),
    ...(row.status === 'ready' && row.sha256 ? { sha256: row.sha256 } : {}),
    ...(row.status === 'failed' && row.error ? { error: row.error } : {}),
    ...(row.status === 'ready' && row.summary ? { summary: row.summary } : {}),
    ...(row.status === 'ready' ? { downloadUrl: `${base}/pdf` } : {}),
    requestedBy: row.requestedBy ? { id: row.requestedBy, email: row.requestedByEmail } : null,
  };
}

/** The report exists but its PDF is not there: still being built, or failed. */
class ReportNotReadyError extends AppError {
  constructor(status: string) {
    super(
      409,
      'report_not_ready',
      'Conflict',
      status === 'failed'
        ? 'The report failed: generate a new one.'
        : 'The report is still being built: its status says when it is ready.',
      { params: { status } },
    );
  }
}

/** A name safe in a Content-Disposition header: the slug's characters only. */
const fileSlug = (slug: string) => slug.replace(/[^a-z0-9-]/gi, '') || 'organization';

export function reportsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  /** The list, one, and the PDF of a kind of report: the same three routes for both kinds. */
  const readRoutes = (kind: ReportKind, permission: 'compliance:read' | 'analytics:read', tag: string) => {
    const path = `/api/v1/orgs/:orgId/${pathOf(kind)}`;
    const what = kind === 'compliance' ? 'compliance report' : 'executive summary';
    r.get(
      path,
      {
        config: { permission },
        schema: {
          tags: [tag],
          summary: `The organization’s ${what}s, newest first`,
          params: OrgParams,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(Type.Ref('Report')), ...problemResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 50;
        const after = decodeCursor(request.query.cursor);
        const rows = await listReports(database.db, requestOrgId(request), kind, {
          limit: limit + 1,
          ...(after ? { after } : {}),
        });
        return toPage(rows, limit, presentReport);
      },
    );

    r.get(
      `${path}/:id`,
      {
        config: { permission },
        schema: {
          tags: [tag],
          summary: `A ${what}’s status and, once ready, the figures it states`,
          params: ReportParams,
          response: { 200: Type.Ref('Report'), ...problemResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const row = await findReport(database.db, requestOrgId(request), kind, request.params.id);
        assertFound(row, 'report');
        return presentReport(row);
      },
    );

    r.get(
      `${path}/:id/pdf`,
      {
        config: { permission },
        schema: {
          tags: [tag],
          summary: `Download a ready ${what} (application/pdf)`,
          description: '409 report_not_ready while it is being built, or when it failed.',
          params: ReportParams,
          produces: ['application/pdf'],
          response: {
            200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }),
            ...problemResponses(400, 401, 403, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const orgId = requestOrgId(request);
        const row = await findReport(database.db, orgId, kind, request.params.id);
        assertFound(row, 'report');
        const pdf = row.status === 'ready' ? await readReportPdf(database.db, orgId, row.id) : undefined;
        if (!pdf) throw new ReportNotReadyError(row.status);
        const org = await findOrg(database.db, orgId);
        const name =
          kind === 'compliance'
            ? `gatehouse-${row.framework}-report-${fileSlug(org?.slug ?? '')}`
            : `gatehouse-executive-summary-${fileSlug(org?.slug ?? '')}`;
        const span = `${row.periodFrom.toISOString().slice(0, 10)}-to-${row.periodTo.toISOString().slice(0, 10)}`;
        reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `attachment; filename="${name}-${span}.pdf"`)
          .header('content-length', String(pdf.length));
        if (row.sha256) reply.header('x-content-sha256', row.sha256);
        return reply.send(pdf);
      },
    );
  };

  r.post(
    '/api/v1/orgs/:orgId/compliance-reports',
    {
      config: { command: requestComplianceReport },
      schema: {
        tags: ['reports'],
        summary: 'Generate a compliance report (a PDF, built in the background)',
        description:
          'Answers 202 at once; the status (GET …/compliance-reports/{id}) says when the PDF is ready. ' +
          'It holds the access-control summary (roles and permissions, members per role, 2FA and SSO ' +
          'coverage, live API tokens), the provisioning and deprovisioning records of the period, ' +
          'security events (access denied, revocations, break-glass), data handling, and an audit ' +
          'excerpt with the chain’s verification and the signed checkpoint covering the period, each ' +
          'section mapped to the framework’s controls. Compliance reports need the Scale or Enterprise ' +
          'plan, HIPAA and PCI DSS Enterprise (403 plan_limit). Asking for the same report while it is ' +
          'being built answers that one; at most 5 reports of an organization are built at once (429 rate_limited).',
        params: OrgParams,
        body: Type.Object(
          { framework: Type.Union(COMPLIANCE_FRAMEWORKS.map((f) => Type.Literal(f))), ...Period },
          { additionalProperties: false },
        ),
        response: { 202: Type.Ref('Report'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const row = await commands.run(requestComplianceReport, request.invocation(), {
        framework: request.body.framework,
        from: new Date(request.body.from),
        to: new Date(request.body.to),
      });
      return reply
        .status(202)
        .header('location', `/api/v1/orgs/${row.orgId}/compliance-reports/${row.id}`)
        .send(presentReport(row));
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/reports/executive',
    {
      config: { command: requestExecutiveReport },
      schema: {
        tags: ['reports'],
        summary: 'Generate the executive summary of a period (a one-page PDF, built in the background)',
        description:
          'Answers 202 at once; the status (GET …/reports/executive/{id}) says when the PDF is ready. ' +
          'Members by role, findings open by severity and their trend per month, mean time to resolve, ' +
          'and quota use per month. Needs a paid plan (403 plan_limit); at most 5 reports of an organization are built at once (429 rate_limited).',
        params: OrgParams,
        body: Type.Object(Period, { additionalProperties: false }),
        response: { 202: Type.Ref('Report'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const row = await commands.run(requestExecutiveReport, request.invocation(), {
        from: new Date(request.body.from),
        to: new Date(request.body.to),
      });
      return reply
        .status(202)
        .header('location', `/api/v1/orgs/${row.orgId}/reports/executive/${row.id}`)
        .send(presentReport(row));
    },
  );

  readRoutes('compliance', 'compliance:read', 'reports');
  readRoutes('executive', 'analytics:read', 'reports');
}
