import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { mayReadMembers, requestOrgId } from '../../platform/access/access.ts';
import { assertFound, NotFoundError, ValidationError } from '../../platform/errors/app-error.ts';
import { PageQuery } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  Page,
  problemResponses,
  Uuid,
} from '../../platform/http/schemas.ts';
import { SCAN_MODULES, type ScanModule } from '../quota/index.ts';
import {
  installScanBodyParser,
  SARIF_MEDIA_TYPE,
  SCAN_BODY_LIMIT,
  SCAN_DECODED_LIMIT,
  sarifIsWholeBody,
} from './scans.body.ts';
import { createScan, deleteScan, type NewScanInput } from './scans.commands.ts';
import { SCAN_EXPORT_TYPES, scanFindingsExport } from './scans.export.ts';
import { listScanFindingsPage, listScansPage, readScan } from './scans.queries.ts';
import { readScanSarif } from './scans.repository.ts';
import { extractFindings, validateSarif } from './scans.sarif.ts';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

const Module = Type.Union(
  [Type.Literal('dependencies'), Type.Literal('sast'), Type.Literal('secrets'), Type.Literal('api')],
  { description: 'A scan module: dependencies, sast, secrets or api' },
);
const Severity = Type.Union([
  Type.Literal('critical'),
  Type.Literal('high'),
  Type.Literal('medium'),
  Type.Literal('low'),
]);
const Counts = Type.Object({
  total: Type.Integer(),
  critical: Type.Integer(),
  high: Type.Integer(),
  medium: Type.Integer(),
  low: Type.Integer(),
});
const PolicyOutcome = Type.Object({
  passed: Type.Boolean(),
  violations: Type.Array(
    Type.Object({
      policyId: Uuid,
      name: Type.String(),
      failOn: Severity,
      findingIds: Type.Array(Uuid, { description: 'The first 100 findings that fail the policy' }),
      findingCount: Type.Integer({ description: 'How many findings of the scan fail the policy' }),
    }),
  ),
});

const ScanCreated = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  status: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
  modules: Type.Array(Module),
  tokens: Type.Integer({ description: 'Tokens this scan took from the month’s pool' }),
  findings: Counts,
  policy: PolicyOutcome,
  createdAt: DateTime,
});

const Scan = Type.Object(
  {
    id: Uuid,
    applicationId: Uuid,
    application: Type.Object({ id: Uuid, name: Type.String() }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('completed'), Type.Literal('failed')]),
    modules: Type.Array(Type.String()),
    tokens: Type.Integer(),
    tools: Type.Array(Type.String(), { description: 'The SARIF tools that reported its results' }),
    createdBy: Nullable(Type.Object({ id: Uuid, email: Nullable(Type.String()) })),
    viaToken: Type.Boolean({ description: 'Created through an API token' }),
    findings: Counts,
    policy: PolicyOutcome,
    hasSarif: Type.Boolean({ description: 'Its SARIF log is stored (export?format=sarif)' }),
    findingsPath: Type.String({ description: 'Where its findings are listed (needs findings:read)' }),
    createdAt: DateTime,
    completedAt: Nullable(DateTime),
  },
  { $id: 'Scan' },
);

const ScanFinding = Type.Object(
  {
    id: Uuid,
    applicationId: Uuid,
    ruleId: Type.String(),
    title: Type.String(),
    message: Nullable(Type.String()),
    severity: Severity,
    status: Type.String(),
    assigneeId: Nullable(Uuid),
    location: Nullable(
      Type.Object({
        path: Type.String(),
        startLine: Type.Optional(Type.Integer()),
        endLine: Type.Optional(Type.Integer()),
        startColumn: Type.Optional(Type.Integer()),
      }),
    ),
    tool: Nullable(Type.String()),
    fingerprint: Type.String(),
    firstSeenAt: DateTime,
    lastSeenAt: DateTime,
    occurrences: Type.Integer(),
  },
  { $id: 'ScanFinding' },
);

const ItemParams = Type.Object({ orgId: Uuid, id: Uuid });
const SCANS_PATH = '/api/v1/orgs/:orgId/scans';

/** `?modules=sast&modules=secrets` or `?modules=sast,secrets`, each a module, in catalog order. */
function readModules(values: readonly string[], field: string): ScanModule[] {
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const unknown = names.filter((n) => !(SCAN_MODULES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new ValidationError([
      {
        field,
        message: `must list modules among ${SCAN_MODULES.join(', ')}`,
        reason: 'enum',
        params: { allowedValues: [...SCAN_MODULES] },
      },
    ]);
  }
  return SCAN_MODULES.filter((m) => names.includes(m));
}

export function scansRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  installScanBodyParser(app, (request) =>
    request.routeOptions.url === SCANS_PATH && request.method === 'POST'
      ? SCAN_DECODED_LIMIT
      : (request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? SCAN_BODY_LIMIT),
  );

  r.post(
    SCANS_PATH,
    {
      bodyLimit: SCAN_BODY_LIMIT,
      config: { command: createScan },
      schema: {
        tags: ['scans'],
        summary: 'Create a scan of an application, with its SARIF results or to be completed later',
        description:
          'JSON `{applicationId, modules, sarif?}`, or the SARIF 2.1.0 log itself as the body ' +
          `(\`Content-Type: ${SARIF_MEDIA_TYPE}\`) with \`?applicationId=&modules=\`; either may be ` +
          'gzip-encoded (`Content-Encoding: gzip`). At most 10 MiB on the wire and 64 MiB decompressed; ' +
          'at most 20 runs, 25,000 results per run and 1,000 locations per result. The modules’ tokens ' +
          'are taken from the month’s pool (and budgets) with the scan, or nothing is created (409 quota_exhausted).',
        params: OrgParams,
        querystring: Type.Object(
          {
            applicationId: Type.Optional(Uuid),
            modules: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 8 })),
          },
          { additionalProperties: false },
        ),
        body: Body({
          applicationId: Type.Optional(Uuid),
          modules: Type.Optional(Type.Array(Module, { minItems: 1, maxItems: 4 })),
          sarif: Type.Optional(Type.Unknown({ description: 'The SARIF 2.1.0 log, as a JSON object' })),
        }),
        response: { 201: ScanCreated, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const whole = sarifIsWholeBody(request);
      const body = request.body ?? {};
      const at = (name: string) => (whole ? `/querystring/${name}` : `/body/${name}`);
      const applicationId = (body.applicationId ?? request.query.applicationId)?.toLowerCase();
      const moduleNames = body.modules ?? request.query.modules;
      const missing = [
        ...(applicationId === undefined
          ? [{ field: at('applicationId'), message: 'is required', reason: 'required' }]
          : []),
        ...(moduleNames === undefined
          ? [{ field: at('modules'), message: 'is required', reason: 'required' }]
          : []),
      ];
      if (missing.length > 0) throw new ValidationError(missing);
      const modules = readModules(moduleNames!, at('modules'));
      let results: NewScanInput['results'];
      if (body.sarif !== undefined) {
        validateSarif(body.sarif, whole ? '/body' : '/body/sarif');
        const { findings, tools } = extractFindings(body.sarif);
        const text = Buffer.from(JSON.stringify(body.sarif));
        results = { findings, tools, gzip: await gzip(text), bytes: text.length };
      }
      const created = await commands.run(createScan, request.invocation(), {
        applicationId: applicationId!,
        modules,
        ...(results ? { results } : {}),
      });
      return reply.status(201).send(created);
    },
  );

  r.get(
    SCANS_PATH,
    {
      config: { permission: 'scans:read' },
      schema: {
        tags: ['scans'],
        summary: "The organization's scans, newest first",
        params: OrgParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            applicationId: Type.Optional(Uuid),
            status: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('completed'), Type.Literal('failed')]),
            ),
            createdBy: Type.Optional(Uuid),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('Scan')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { applicationId, createdBy, ...rest } = request.query;
      return listScansPage(
        database.db,
        requestOrgId(request),
        {
          ...rest,
          ...(applicationId ? { applicationId: applicationId.toLowerCase() } : {}),
          ...(createdBy ? { createdBy: createdBy.toLowerCase() } : {}),
        },
        mayReadMembers(request),
      );
    },
  );

  r.get(
    `${SCANS_PATH}/:id`,
    {
      config: { permission: 'scans:read' },
      schema: {
        tags: ['scans'],
        summary: 'One scan: its counts by severity and its policy result',
        params: ItemParams,
        response: { 200: Type.Ref('Scan'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const scan = await readScan(
        database.db,
        requestOrgId(request),
        request.params.id,
        mayReadMembers(request),
      );
      assertFound(scan, 'scan');
      return scan;
    },
  );

  r.get(
    `${SCANS_PATH}/:id/findings`,
    {
      config: { permission: 'findings:read' },
      schema: {
        tags: ['scans'],
        summary: 'The findings a scan saw, most severe first',
        params: ItemParams,
        querystring: Type.Object(
          { ...PageQuery, severity: Type.Optional(Severity) },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('ScanFinding')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      assertFound(await readScan(database.db, orgId, request.params.id), 'scan');
      return listScanFindingsPage(database.db, orgId, request.params.id, request.query);
    },
  );

  r.delete(
    `${SCANS_PATH}/:id`,
    {
      config: { command: deleteScan },
      schema: {
        tags: ['scans'],
        summary: 'Delete a scan (its findings stay, and so do the tokens it spent)',
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(deleteScan, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.get(
    `${SCANS_PATH}/:id/export`,
    {
      config: { permission: 'scans:export' },
      schema: {
        tags: ['scans'],
        summary: "Download a scan's SARIF log as uploaded, or its findings as CSV or JSON",
        params: ItemParams,
        querystring: Type.Object(
          {
            format: Type.Optional(
              Type.Union([Type.Literal('sarif'), Type.Literal('csv'), Type.Literal('json')], {
                default: 'json',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        produces: Object.values(SCAN_EXPORT_TYPES),
        response: { 200: Type.String({ description: 'The file' }), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const orgId = requestOrgId(request);
      const { id } = request.params;
      const format = request.query.format ?? 'json';
      const scan = await readScan(database.db, orgId, id, mayReadMembers(request));
      assertFound(scan, 'scan');
      const filename = `gatehouse-scan-${scan.id}.${format === 'sarif' ? 'sarif' : format}`;
      reply
        .header('content-type', SCAN_EXPORT_TYPES[format])
        .header('content-disposition', `attachment; filename="${filename}"`);
      if (format === 'sarif') {
        const stored = await readScanSarif(database.db, orgId, id);
        if (!stored) throw new NotFoundError('SARIF log of this scan');
        return reply.send((await gunzip(stored.gzip)) as never);
      }
      const body = Readable.from(scanFindingsExport(database.db, orgId, id, format, scan), {
        objectMode: false,
        highWaterMark: 64 * 1024,
      });
      return reply.send(body as never);
    },
  );
}

export { Scan, ScanFinding };
