import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { mayReadMembers, requestOrgId } from '../../platform/access/access.ts';
import { assertFound, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import { Body, DateTime, Nullable, Page, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import {
  approveRemediation,
  changeFinding,
  commentOnFinding,
  findingEtag,
  proposeRemediation,
} from './findings.commands.ts';
import { findingDetail, presentComment, presentFinding, presentRemediation } from './findings.queries.ts';
import {
  FINDING_SEVERITIES,
  FINDING_STATUSES,
  type FindingSeverity,
  type FindingStatus,
  findFinding,
  listComments,
  listFindings,
  listRemediations,
} from './findings.repository.ts';
import { SearchTrigramSample } from './findings.search-terms.ts';

const Severity = Type.Union(
  [Type.Literal('critical'), Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')],
  { description: 'critical, high, medium or low' },
);
const Status = Type.Union(
  [
    Type.Literal('open'),
    Type.Literal('triaged'),
    Type.Literal('false_positive'),
    Type.Literal('mitigated'),
    Type.Literal('resolved'),
  ],
  { description: 'open, triaged, false_positive, mitigated or resolved' },
);

/** `?x=a&x=b` and `?x=a,b` alike (and both at once): each item one value or a comma list of them. */
const ValueList = (values: readonly string[], what: string) =>
  Type.Array(Type.String({ maxLength: 200, pattern: `^(${values.join('|')})(,(${values.join('|')}))*$` }), {
    maxItems: 10,
    description: `One or more ${what} (${values.join(', ')}): repeat the parameter or separate them with commas; any of them matches`,
  });

const splitValues = <T extends string>(items: readonly string[] | undefined): T[] | undefined =>
  items === undefined ? undefined : ([...new Set(items.flatMap((i) => i.split(',')))] as T[]);

const Location = Nullable(
  Type.Object({
    path: Type.Optional(Type.String()),
    startLine: Type.Optional(Type.Integer()),
    endLine: Type.Optional(Type.Integer()),
    startColumn: Type.Optional(Type.Integer()),
  }),
);

/** What a finding is, in the list and in its detail. */
const findingFields = {
  id: Uuid,
  applicationId: Uuid,
  ruleId: Type.String(),
  title: Type.String(),
  severity: Severity,
  status: Status,
  assigneeId: Nullable(Uuid),
  location: Location,
  fingerprint: Type.String(),
  firstSeenAt: DateTime,
  lastSeenAt: DateTime,
  occurrences: Type.Integer(),
};

export const Finding = Type.Object(findingFields, { $id: 'Finding' });

const Person = Nullable(Type.Object({ id: Uuid, name: Type.String() }));

export const Remediation = Type.Object(
  {
    id: Uuid,
    findingId: Uuid,
    summary: Type.String(),
    patch: Nullable(Type.String()),
    status: Type.Union([Type.Literal('proposed'), Type.Literal('approved')]),
    createdBy: Person,
    createdAt: DateTime,
    approvedBy: Nullable(Uuid),
    approvedAt: Nullable(DateTime),
  },
  { $id: 'Remediation' },
);

const FindingDetail = Type.Object({
  ...findingFields,
  message: Nullable(Type.String()),
  tool: Nullable(Type.String()),
  resolvedAt: Nullable(DateTime),
  updatedAt: DateTime,
  application: Type.Object({ id: Uuid, name: Type.String() }),
  assignee: Nullable(
    Type.Object({
      id: Uuid,
      name: Type.String(),
      email: Nullable(Type.String({ description: 'Shown to callers with members:read, else null' })),
    }),
  ),
  scans: Type.Array(
    Type.Object({ id: Uuid, status: Type.String(), modules: Type.Array(Type.String()), createdAt: DateTime }),
    { description: 'The most recent scans that saw it (up to 10), newest first' },
  ),
  commentsCount: Type.Integer(),
  remediations: Type.Array(Type.Ref('Remediation')),
});

const Comment = Type.Object({
  id: Uuid,
  body: Type.String(),
  author: Person,
  createdAt: DateTime,
});

const FindingParams = Type.Object({ orgId: Uuid, id: Uuid });

/** Text people write: trimmed, and something must be left. */
const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '\\S', description });

function trimmed(value: string, field: string): string {
  const text = value.trim();
  if (text === '') throw new ValidationError([{ field, message: 'must not be blank', reason: 'minLength' }]);
  return text;
}

export function findingsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;
  const searchSample = new SearchTrigramSample(database.db, (error) =>
    app.log.warn({ err: error }, 'findings search: sampling trigram frequencies failed'),
  );

  r.get(
    '/api/v1/orgs/:orgId/findings',
    {
      config: { permission: 'findings:read' },
      schema: {
        tags: ['findings'],
        summary: 'Findings, most recently seen first; filter and search',
        params: Type.Object({ orgId: Uuid }),
        querystring: Type.Object(
          {
            severity: Type.Optional(ValueList(FINDING_SEVERITIES, 'severities')),
            status: Type.Optional(ValueList(FINDING_STATUSES, 'statuses')),
            assigneeId: Type.Optional(
              Type.Union([Uuid, Type.Literal('none')], {
                description: "A member's id, or `none` for unassigned findings",
              }),
            ),
            applicationId: Type.Optional(Uuid),
            q: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description: 'Part of the title, rule id or file path, any case',
              }),
            ),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('Finding')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { severity, status, assigneeId, applicationId, q, limit = 50, cursor } = request.query;
      const after = decodeCursor(cursor);
      const query = q?.trim();
      const rows = await listFindings(
        database.db,
        requestOrgId(request),
        {
          ...(severity ? { severities: splitValues<FindingSeverity>(severity)! } : {}),
          ...(status ? { statuses: splitValues<FindingStatus>(status)! } : {}),
          ...(assigneeId !== undefined ? { assigneeId: assigneeId === 'none' ? null : assigneeId } : {}),
          ...(applicationId ? { applicationId } : {}),
          ...(query ? { q: query } : {}),
        },
        { limit: limit + 1, ...(after ? { after } : {}) },
        searchSample,
      );
      return toPage(
        rows.map((f) => ({ ...f, createdAt: f.lastSeenAt })),
        limit,
        presentFinding,
      );
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/findings/:id',
    {
      config: { permission: 'findings:read' },
      schema: {
        tags: ['findings'],
        summary: 'One finding, with its application, assignee, recent scans and remediations',
        description:
          'Answers with an ETag: send it back as If-Match on PATCH to change the finding only as you read it.',
        params: FindingParams,
        response: { 200: FindingDetail, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const detail = await findingDetail(
        database.db,
        requestOrgId(request),
        request.params.id,
        mayReadMembers(request),
      );
      return reply.header('etag', findingEtag(detail)).send(detail);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/findings/:id',
    {
      config: { command: changeFinding },
      schema: {
        tags: ['findings'],
        summary: "Change a finding's status or assignee",
        description:
          'Marking it false_positive also needs findings:mark_false_positive. The assignee must be a member of the organization (400 with reason not_a_member otherwise); null unassigns. With If-Match (the ETag of GET …/findings/{id}), the change applies only if the finding is still as read: otherwise 412 precondition_failed and nothing changes.',
        params: FindingParams,
        body: Type.Object(
          { status: Type.Optional(Status), assigneeId: Type.Optional(Nullable(Uuid)) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: FindingDetail, ...problemResponses(400, 401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const { status, assigneeId } = request.body;
      const ifMatch = request.headers['if-match'];
      const orgId = requestOrgId(request);
      await commands.run(changeFinding, request.invocation(), {
        id: request.params.id,
        ...(status !== undefined ? { status } : {}),
        ...(assigneeId !== undefined ? { assigneeId: assigneeId?.toLowerCase() ?? null } : {}),
        ...(ifMatch !== undefined ? { ifMatch } : {}),
      });
      const detail = await findingDetail(database.db, orgId, request.params.id, mayReadMembers(request));
      return reply.header('etag', findingEtag(detail)).send(detail);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/findings/:id/comments',
    {
      config: { permission: 'findings:read' },
      schema: {
        tags: ['findings'],
        summary: "A finding's comments, oldest first",
        params: FindingParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(Comment), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { limit = 50, cursor } = request.query;
      const after = decodeCursor(cursor);
      assertFound(await findFinding(database.db, orgId, request.params.id), 'finding');
      const rows = await listComments(database.db, orgId, request.params.id, {
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      return toPage(rows, limit, presentComment);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/findings/:id/comments',
    {
      config: { command: commentOnFinding },
      schema: {
        tags: ['findings'],
        summary: 'Comment on a finding',
        params: FindingParams,
        body: Body({ body: Text(10_000, 'The comment (trimmed; 1 to 10,000 characters)') }),
        response: { 201: Comment, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const body = trimmed(request.body.body, '/body/body');
      const comment = await commands.run(commentOnFinding, request.invocation(), {
        findingId: request.params.id,
        body,
      });
      return reply.status(201).send(presentComment(comment));
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/findings/:id/remediations',
    {
      config: { permission: 'findings:read' },
      schema: {
        tags: ['findings'],
        summary: 'Remediations proposed for a finding, oldest first',
        params: FindingParams,
        response: { 200: Page(Type.Ref('Remediation')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      assertFound(await findFinding(database.db, orgId, request.params.id), 'finding');
      const rows = await listRemediations(database.db, orgId, request.params.id);
      return { items: rows.map(presentRemediation), nextCursor: null };
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/findings/:id/remediations',
    {
      config: { command: proposeRemediation },
      schema: {
        tags: ['findings'],
        summary: 'Propose a remediation for a finding',
        params: FindingParams,
        body: Body({
          summary: Text(2000, 'What the fix does (trimmed)'),
          patch: Type.Optional(
            Nullable(
              Type.String({ maxLength: 200_000, description: 'The change itself, e.g. a unified diff' }),
            ),
          ),
        }),
        response: { 201: Type.Ref('Remediation'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const remediation = await commands.run(proposeRemediation, request.invocation(), {
        findingId: request.params.id,
        summary: trimmed(request.body.summary, '/body/summary'),
        patch: request.body.patch ?? null,
      });
      return reply.status(201).send(presentRemediation(remediation));
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/remediations/:id/approve',
    {
      config: { command: approveRemediation },
      schema: {
        tags: ['findings'],
        summary: 'Approve a proposed remediation',
        description: 'Only a proposed remediation can be approved: approving it again answers 409 conflict.',
        params: FindingParams,
        response: { 200: Type.Ref('Remediation'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      presentRemediation(
        await commands.run(approveRemediation, request.invocation(), { id: request.params.id }),
      ),
  );
}
