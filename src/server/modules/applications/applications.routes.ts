import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  Page,
  problemResponses,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import { createApplication, deleteApplication, updateApplication } from './applications.commands.ts';
import { type ApplicationRow, findApplication, listApplications } from './applications.repository.ts';

const Application = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    repositoryUrl: Nullable(Type.String()),
    description: Nullable(Type.String()),
    createdBy: Nullable(Uuid),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Application' },
);

const Name = SingleLine(100);
const RepositoryUrl = Type.String({
  minLength: 8,
  maxLength: 2048,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  description: 'An http(s) URL of the repository; stored only, never fetched',
});
const Description = Type.String({ maxLength: 2000 });

/** An http(s) URL with a host, as written (nothing fetches it; the console shows it as a link). */
function checkedUrl(value: string | null | undefined, field: string): string | null | undefined {
  if (value === null || value === undefined) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError([{ field, message: 'must be an http or https URL', reason: 'format' }]);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.hostname === '' ||
    url.username ||
    url.password
  ) {
    throw new ValidationError([
      { field, message: 'must be an http or https URL without credentials', reason: 'format' },
    ]);
  }
  return value;
}

/** As the API shows it (also in the organization's data export). */
export const presentApplication = (a: ApplicationRow) => ({
  id: a.id,
  name: a.name,
  repositoryUrl: a.repositoryUrl,
  description: a.description,
  createdBy: a.createdBy,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

const ItemParams = Type.Object({ orgId: Uuid, id: Uuid });

export function applicationsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;

  r.get(
    '/api/v1/orgs/:orgId/applications',
    {
      config: { permission: 'applications:read' },
      schema: {
        tags: ['applications'],
        summary: "The organization's applications, newest first",
        params: OrgParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            name: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'Exact name, any case' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Type.Ref('Application')), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listApplications(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(after ? { after } : {}),
        ...(request.query.name !== undefined ? { name: request.query.name.trim() } : {}),
      });
      return toPage(rows, limit, presentApplication);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/applications',
    {
      config: { command: createApplication },
      schema: {
        tags: ['applications'],
        summary: 'Add an application (a repository or service) to scan',
        params: OrgParams,
        body: Body({
          name: Name,
          repositoryUrl: Type.Optional(Nullable(RepositoryUrl)),
          description: Type.Optional(Nullable(Description)),
        }),
        response: { 201: Type.Ref('Application'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name, repositoryUrl, description } = request.body;
      const row = await commands.run(createApplication, request.invocation(), {
        name: name.trim(),
        repositoryUrl: checkedUrl(repositoryUrl, '/body/repositoryUrl') ?? null,
        description: description?.trim() || null,
      });
      return reply.status(201).send(presentApplication(row));
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/applications/:id',
    {
      config: { permission: 'applications:read' },
      schema: {
        tags: ['applications'],
        summary: 'One application',
        params: ItemParams,
        response: { 200: Type.Ref('Application'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findApplication(database.db, requestOrgId(request), request.params.id);
      assertFound(row, 'application');
      return presentApplication(row);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/applications/:id',
    {
      config: { command: updateApplication },
      schema: {
        tags: ['applications'],
        summary: "Change an application's name, repository URL or description",
        params: ItemParams,
        body: Body({
          name: Type.Optional(Name),
          repositoryUrl: Type.Optional(Nullable(RepositoryUrl)),
          description: Type.Optional(Nullable(Description)),
        }),
        response: { 200: Type.Ref('Application'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { name, repositoryUrl, description } = request.body;
      const row = await commands.run(updateApplication, request.invocation(), {
        id: request.params.id,
        ...(name !== undefined ? { name: name.trim() } : {}),
        ...(repositoryUrl !== undefined
          ? { repositoryUrl: checkedUrl(repositoryUrl, '/body/repositoryUrl')! }
          : {}),
        ...(description !== undefined ? { description: description?.trim() || null } : {}),
      });
      return presentApplication(row);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/applications/:id',
    {
      config: { command: deleteApplication },
      schema: {
        tags: ['applications'],
        summary: 'Delete an application with its scans and findings',
        params: ItemParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(deleteApplication, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );
}

export { Application };
