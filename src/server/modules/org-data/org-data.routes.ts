import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  EXPORT_KEEP_DAYS,
  EXPORT_STATUSES,
  type OrgExportView,
  SCAN_RETENTION_DEFAULT_DAYS,
  SCAN_RETENTION_MAX_DAYS,
  SCAN_RETENTION_MIN_DAYS,
} from '../../../contracts/data.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { AppError, assertFound } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { DateTime, OrgParams, Page, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { findDataSettings, findOrg } from '../organizations/index.ts';
import { changeDataSettings, requestOrgExport } from './org-data.commands.ts';
import { type ExportRow, findExport, listExports, readExportChunks } from './org-data.repository.ts';

const RetentionDays = Type.Integer({
  minimum: SCAN_RETENTION_MIN_DAYS,
  maximum: SCAN_RETENTION_MAX_DAYS,
  description: `Scans older than this many days are deleted (daily), with the findings no remaining scan saw; default ${SCAN_RETENTION_DEFAULT_DAYS}`,
});

const DataSettings = Type.Object({
  scanRetentionDays: RetentionDays,
  deletedOrgGraceDays: Type.Integer({
    description:
      "How long a deleted organization's data is kept (the installation's ORG_PURGE_GRACE_DAYS) before it is purged; an operator may restore it until then",
  }),
});

export const OrgExport = Type.Object(
  {
    id: Uuid,
    status: Type.Union(
      EXPORT_STATUSES.map((s) => Type.Literal(s)),
      { description: 'pending → running → ready; failed once it was given up' },
    ),
    createdAt: DateTime,
    progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Percent written' })),
    finishedAt: Type.Optional(DateTime),
    sizeBytes: Type.Optional(Type.Integer({ description: 'The zip’s size, once ready' })),
    expiresAt: Type.Optional(
      Type.Unsafe<Date | string>({
        type: 'string',
        format: 'date-time',
        description: `When it is deleted (${EXPORT_KEEP_DAYS} days after it finished)`,
      }),
    ),
    error: Type.Optional(Type.String({ description: 'Why it failed' })),
    downloadUrl: Type.Optional(Type.String({ description: 'Where to download it, once ready' })),
    requestedBy: Type.Union([
      Type.Object({ id: Uuid, email: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
  },
  { $id: 'OrgExport' },
);

const ExportParams = Type.Object({ orgId: Uuid, id: Uuid });

/** An export as the API shows it (only what its state has). */
export function presentExport(row: ExportRow): OrgExportView & { createdAt: string } {
  return {
    id: row.id,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    progress: row.progress,
    ...(row.finishedAt ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.status === 'ready' && row.sizeBytes !== null ? { sizeBytes: row.sizeBytes } : {}),
    ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
    ...(row.status === 'failed' && row.error ? { error: row.error } : {}),
    ...(row.status === 'ready'
      ? { downloadUrl: `/api/v1/orgs/${row.orgId}/exports/${row.id}/download` }
      : {}),
    requestedBy: row.requestedBy ? { id: row.requestedBy, email: row.requestedByEmail } : null,
  };
}

/** The export exists but is not ready to download (yet, or any more). */
class ExportNotReadyError extends AppError {
  constructor(status: string) {
    super(
      409,
      'export_not_ready',
      'Conflict',
      status === 'failed'
        ? 'The export failed: ask for a new one.'
        : 'The export is still being built: its status says when it is ready.',
      { params: { status } },
    );
  }
}

/** A name safe in a Content-Disposition header: the slug's characters only. */
const fileSlug = (slug: string) => slug.replace(/[^a-z0-9-]/gi, '') || 'organization';

export function orgDataRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config } = app.gatehouse;
  const presentSettings = (scanRetentionDays: number) => ({
    scanRetentionDays,
    deletedOrgGraceDays: config.organizations.purgeGraceDays,
  });

  r.get(
    '/api/v1/orgs/:orgId/settings/data',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['data'],
        summary: 'Data settings: how long scan results are kept',
        params: OrgParams,
        response: { 200: DataSettings, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const settings = await findDataSettings(database.db, requestOrgId(request));
      assertFound(settings, 'organization');
      return presentSettings(settings.scanRetentionDays);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/settings/data',
    {
      config: { command: changeDataSettings },
      schema: {
        tags: ['data'],
        summary: 'Change how long scan results are kept',
        description:
          'From 30 to 730 days. Shortening it deletes the older scans at the next daily run (not at once), with the findings no remaining scan saw; the tokens they spent stay spent.',
        params: OrgParams,
        body: Type.Object({ scanRetentionDays: RetentionDays }, { additionalProperties: false }),
        response: { 200: DataSettings, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const settings = await commands.run(changeDataSettings, request.invocation(), request.body);
      return presentSettings(settings.scanRetentionDays);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/exports',
    {
      config: { command: requestOrgExport },
      schema: {
        tags: ['data'],
        summary: 'Export all of the organization’s data (a zip, built in the background)',
        description:
          'Answers 202 at once; the status (GET …/exports/{id}) says when the zip is ready to download. ' +
          'It holds members, roles, applications, scans, findings and policies as JSON, the audit log as ' +
          'JSON Lines with its signed checkpoints and the public keys (check it offline with `gatehouse ' +
          'audit verify`), and a manifest. No secret is in it. While an export is being built, asking ' +
          `again answers that one. Ready exports are deleted after ${EXPORT_KEEP_DAYS} days.`,
        params: OrgParams,
        response: { 202: Type.Ref('OrgExport'), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await commands.run(requestOrgExport, request.invocation(), undefined);
      return reply
        .status(202)
        .header('location', `/api/v1/orgs/${row.orgId}/exports/${row.id}`)
        .send(presentExport(row));
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/exports',
    {
      config: { permission: 'org:export' },
      schema: {
        tags: ['data'],
        summary: 'The organization’s exports, newest first (those not yet expired)',
        params: OrgParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(Type.Ref('OrgExport')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listExports(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(rows, limit, presentExport);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/exports/:id',
    {
      config: { permission: 'org:export' },
      schema: {
        tags: ['data'],
        summary: 'An export’s status',
        params: ExportParams,
        response: { 200: Type.Ref('OrgExport'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findExport(database.db, requestOrgId(request), request.params.id);
      assertFound(row, 'export');
      return presentExport(row);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/exports/:id/download',
    {
      config: { permission: 'org:export' },
      schema: {
        tags: ['data'],
        summary: 'Download a ready export (application/zip)',
        description: '409 export_not_ready while it is being built, or when it failed.',
        params: ExportParams,
        produces: ['application/zip'],
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const orgId = requestOrgId(request);
      const row = await findExport(database.db, orgId, request.params.id);
      assertFound(row, 'export');
      if (row.status !== 'ready' || !row.buildId) throw new ExportNotReadyError(row.status);
      const org = await findOrg(database.db, orgId);
      const day = (row.finishedAt ?? row.createdAt).toISOString().slice(0, 10);
      reply
        .header('content-type', 'application/zip')
        .header(
          'content-disposition',
          `attachment; filename="gatehouse-export-${fileSlug(org?.slug ?? '')}-${day}.zip"`,
        );
      if (row.sizeBytes !== null) reply.header('content-length', String(row.sizeBytes));
      if (row.sha256) reply.header('x-content-sha256', row.sha256);
      // A chunk (1 MiB) at a time: the next is read once the client has taken the last.
      return reply.send(
        Readable.from(readExportChunks(database.db, orgId, row.id, row.buildId), {
          objectMode: false,
        }) as never,
      );
    },
  );
}
