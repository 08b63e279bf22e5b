import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { entitlements } from '../../../contracts/plans.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertRecentlyAuthenticated } from '../../platform/auth/recent.ts';
import { hashSecret } from '../../platform/auth/secrets.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../platform/errors/error-handler.ts';
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
import { scimBaseUrl } from '../sso/index.ts';
import {
  createScimGroup,
  createScimToken,
  deprovisionScimUser,
  provisionScimUser,
  removeScimGroup,
  replaceScimGroup,
  replaceScimUser,
  revokeScimTokenCommand,
  SCIM_TOKEN_PREFIX,
} from './scim.commands.ts';
import {
  countScimGroups,
  countScimUsers,
  findScimBearer,
  findScimGroup,
  findScimUser,
  insertScimRequest,
  listGroupMembers,
  listGroupsOfUsers,
  listScimGroups,
  listScimRequests,
  listScimTokens,
  listScimUsers,
  type ScimGroupRow,
  type ScimUserView,
  scimGroupFilter,
  scimUserFilter,
  touchScimToken,
} from './scim.repository.ts';
import {
  ENTERPRISE_SCHEMA,
  filterNames,
  GROUP_SCHEMA,
  groupResource,
  listResponse,
  matches,
  project,
  readFilter,
  readGroup,
  readPaging,
  readPatch,
  readUser,
  returns,
  ScimError,
  scimErrorBody,
  USER_SCHEMA,
  userResource,
} from './scim.resources.ts';
import { resourceTypes, schemaDefinitions, serviceProviderConfig } from './scim.schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once a SCIM token of a live org authenticated the request: its requests are logged. */
    scimOrgId: string | undefined;
    /** The refusal's detail, for the request log. */
    scimError: string | undefined;
  }
}

const SCIM_CONTENT_TYPE = 'application/scim+json';
/** Resources one list answer carries at most (`count` is capped to it). */
const MAX_RESULTS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ScimTokenView = Type.Object({
  id: Uuid,
  name: Type.String(),
  hint: Type.String({
    description: 'The prefix and last four characters; the token itself is never shown again',
  }),
  createdAt: DateTime,
  createdBy: Nullable(Uuid),
  lastUsedAt: Nullable(DateTime),
});

const CreatedScimToken = Type.Object({
  id: Uuid,
  name: Type.String(),
  hint: Type.String(),
  createdAt: DateTime,
  lastUsedAt: Type.Null(),
  token: Type.String({ description: 'The token. Shown in this answer only: store it now.' }),
});

const ScimLogEntry = Type.Object({
  at: DateTime,
  method: Type.String(),
  path: Type.String({ description: 'The path requested, without its query string' }),
  status: Type.Integer(),
  error: Type.Optional(Type.String()),
});

const hint = (lastFour: string) => `${SCIM_TOKEN_PREFIX}…${lastFour}`;

/**
 * The SCIM error document for whatever was thrown; the detail is kept for the request log. The
 * database unavailable (a restart, a failover) is a 503 with Retry-After, as on the rest of the API:
 * an IdP tries the change again instead of counting it failed.
 */
export function sendScimError(
  error: FastifyError | AppError | ScimError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  let status: number;
  let scimType: string | undefined;
  let detail: string;
  if (error instanceof ScimError) {
    status = error.status;
    scimType = error.scimType;
    detail = error.message;
  } else if (error instanceof AppError) {
    status = error.status;
    detail = error.message;
    if (error.code === 'conflict') scimType = 'uniqueness';
    // Text no identity system stores (NUL, control characters, lone surrogates), refused before
    // the handler: in the filter, or in a value.
    if (error.code === 'validation_failed') {
      scimType = error.errors?.some((e) => e.field.startsWith('/querystring/filter'))
        ? 'invalidFilter'
        : 'invalidValue';
    }
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  } else {
    const fe = error as FastifyError;
    const code = fe.statusCode;
    if (typeof code === 'number' && code >= 400 && code < 500) {
      status = code;
      detail =
        code === 413
          ? 'The body is too large.'
          : code === 415
            ? 'Send application/scim+json.'
            : 'The body is not valid JSON.';
      if (code === 400) scimType = 'invalidSyntax';
    } else if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', DATABASE_RETRY_AFTER);
      status = 503;
      detail = 'The database is unavailable for a moment. Try again shortly.';
    } else {
      request.log.error({ err: error }, 'unhandled error in a SCIM request');
      status = 500;
      detail = 'Something went wrong on our side.';
    }
  }
  request.scimError = detail.slice(0, 500);
  return reply
    .status(status)
    .type(SCIM_CONTENT_TYPE)
    .send(scimErrorBody(status, detail, scimType));
}

export function scimRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config } = app.gatehouse;
  const db = database.db;
  const base = scimBaseUrl(config.publicUrl);

  app.decorateRequest('scimOrgId', undefined);
  app.decorateRequest('scimError', undefined);

  // ---- the org's tokens and request log (members with sso:manage) ----

  r.get(
    '/api/v1/orgs/:orgId/scim-tokens',
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ['scim'],
        summary: "The organization's SCIM tokens (not revoked), newest first, with their last use",
        params: OrgParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(ScimTokenView), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listScimTokens(db, requestOrgId(request), { limit, ...(after ? { after } : {}) });
      return toPage(rows, limit, ({ lastFour, ...row }) => ({ ...row, hint: hint(lastFour) }));
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/scim-tokens',
    {
      config: { command: createScimToken, sessionOnly: true },
      schema: {
        tags: ['scim'],
        summary: 'Create a SCIM token for the identity provider (plans with SCIM)',
        description: 'The answer carries the token once; only its hash is kept.',
        params: OrgParams,
        body: Body({ name: SingleLine(100) }),
        response: { 201: CreatedScimToken, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await assertRecentlyAuthenticated(request);
      const created = await commands.run(createScimToken, request.invocation(), {
        name: request.body.name.trim(),
      });
      return reply.status(201).send({
        id: created.id,
        name: created.name,
        hint: hint(created.lastFour),
        createdAt: created.createdAt,
        lastUsedAt: null,
        token: created.token,
      });
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/scim-tokens/:id',
    {
      config: { command: revokeScimTokenCommand },
      schema: {
        tags: ['scim'],
        summary: 'Revoke a SCIM token; its next request is refused',
        params: Type.Object({ orgId: Uuid, id: Uuid }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(revokeScimTokenCommand, request.invocation(), {
        id: request.params.id.toLowerCase(),
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/scim-log',
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ['scim'],
        summary: "The identity provider's SCIM requests, newest first (30 days, 10,000 at most)",
        params: OrgParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(ScimLogEntry), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listScimRequests(db, requestOrgId(request), { limit, ...(after ? { after } : {}) });
      return toPage(rows, limit, (row) => ({
        at: row.createdAt,
        method: row.method,
        path: row.path,
        status: row.status,
        ...(row.error !== null ? { error: row.error } : {}),
      }));
    },
  );

  // ---- /scim/v2: the identity provider, with the org's SCIM token ----
  // In a context of their own: their own body parsing, error documents and request log.
  app.register(async (app) => {
    scimProtocolRoutes(app, base);
  });
}

/**
 * SCIM bodies: JSON sent as `application/scim+json` (or `application/json`); an empty body is no
 * body (IdPs send a content type with DELETE); `__proto__` keys are dropped; malformed JSON is a
 * SCIM `invalidSyntax`.
 */
function parseScimJson(
  _request: FastifyRequest,
  body: string,
  done: (err: Error | null, body?: unknown) => void,
) {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(
      null,
      JSON.parse(body, (key, value) => (key === '__proto__' ? undefined : value)),
    );
  } catch {
    done(new ScimError(400, 'The body is not valid JSON.', 'invalidSyntax'));
  }
}

function scimProtocolRoutes(app: FastifyInstance, base: string): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database } = app.gatehouse;
  const db = database.db;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', SCIM_CONTENT_TYPE], { parseAs: 'string' }, parseScimJson);

  /** The SCIM token of the request, or a 401 in SCIM's words. */
  async function authenticateScim(request: FastifyRequest) {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)\s*$/i.exec(header) : null;
    const secret = match?.[1];
    const token = secret?.startsWith(SCIM_TOKEN_PREFIX)
      ? await findScimBearer(db, hashSecret(secret))
      : undefined;
    if (!token) {
      throw new ScimError(401, 'Send a valid SCIM token as a bearer token.');
    }
    request.actor = { type: 'scim', tokenId: token.id, orgId: token.orgId, name: token.name };
    request.scimOrgId = token.orgId;
    if (token.suspended) throw new ScimError(403, 'This organization is suspended.');
    if (!entitlements(token.plan).scim)
      throw new ScimError(403, 'SCIM provisioning is not part of this plan.');
    await touchScimToken(db, token.orgId, token.id);
  }

  const scimRoute = {
    config: { public: true as const },
    errorHandler: sendScimError,
    onRequest: authenticateScim,
  };
  /** The OpenAPI words of each method of `/scim/v2/*` (SCIM bodies follow RFC 7643, not these schemas). */
  const scimDoc = (summary: string) => ({
    schema: {
      tags: ['scim'],
      summary,
      description:
        'SCIM 2.0 (RFC 7644) for the organization of the SCIM token sent as `Authorization: Bearer scim_…`. Resource names are matched case-insensitively; bodies and answers are `application/scim+json`; errors are SCIM error documents.',
    },
  });

  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply.status(status).type(SCIM_CONTENT_TYPE).send(body);

  async function userGroups(orgId: string, rows: readonly ScimUserView[]) {
    const byUser = new Map<string, Array<{ value: string; display: string }>>();
    // In slices: a filter on groups may read every user of a large org (one statement binds 65,535 values at most).
    for (let from = 0; from < rows.length; from += 10_000) {
      const ids = rows.slice(from, from + 10_000).map((r) => r.id);
      for (const g of await listGroupsOfUsers(db, orgId, ids)) {
        const list = byUser.get(g.scimUserId) ?? [];
        list.push({ value: g.groupId, display: g.displayName });
        byUser.set(g.scimUserId, list);
      }
    }
    return byUser;
  }

  async function groupMembers(orgId: string, groups: readonly ScimGroupRow[]) {
    const byGroup = new Map<string, Array<{ value: string; display: string }>>();
    for (let from = 0; from < groups.length; from += 10_000) {
      const ids = groups.slice(from, from + 10_000).map((g) => g.id);
      for (const m of await listGroupMembers(db, orgId, ids)) {
        const list = byGroup.get(m.groupId) ?? [];
        list.push({ value: m.scimUserId, display: m.userName });
        byGroup.set(m.groupId, list);
      }
    }
    return byGroup;
  }

  /** A resource id as stored (lower case), or the 404 of an id that cannot be one. */
  function existing(id: string, kind: 'user' | 'group'): string {
    if (!UUID.test(id)) throw new ScimError(404, `No such ${kind}.`);
    return id.toLowerCase();
  }

  async function loadUser(orgId: string, id: string) {
    const row = UUID.test(id) ? await findScimUser(db, orgId, id.toLowerCase()) : undefined;
    if (!row) throw new ScimError(404, 'No such user.');
    const groups = await userGroups(orgId, [row]);
    return userResource(row, base, groups.get(row.id) ?? []);
  }

  async function loadGroup(orgId: string, id: string) {
    const row = UUID.test(id) ? await findScimGroup(db, orgId, id.toLowerCase()) : undefined;
    if (!row) throw new ScimError(404, 'No such group.');
    const members = await groupMembers(orgId, [row]);
    return groupResource(row, base, members.get(row.id) ?? []);
  }

  type Query = Record<string, string | undefined>;

  /**
   * A list of Users: the count and the page in SQL when SQL answers the whole filter (none, and
   * what IdPs send: `userName eq`, `emails[type eq "work"].value eq`, `co`, `sw`…), so that an
   * import or a lookup in a large org reads one page. A filter on what SQL does not model
   * (`name.givenName`, `title`…) is checked here, over the rows SQL narrows to.
   */
  async function listUsers(orgId: string, query: Query) {
    const filter = query.filter ? readFilter('User', query.filter) : undefined;
    const { startIndex, count } = readPaging(query, MAX_RESULTS);
    const narrowed = filter ? scimUserFilter(filter) : { where: undefined, exact: true };
    const withGroups = returns('groups', query.attributes, query.excludedAttributes);
    let total: number;
    let rows: ScimUserView[];
    if (narrowed.exact) {
      [total, rows] = await Promise.all([
        countScimUsers(db, orgId, narrowed.where),
        listScimUsers(db, orgId, narrowed.where, { offset: startIndex - 1, limit: count }),
      ]);
    } else {
      const candidates = await listScimUsers(db, orgId, narrowed.where);
      const groups = filterNames(filter!, 'groups') ? await userGroups(orgId, candidates) : new Map();
      const match = matches(filter!);
      const matched = candidates.filter((row) => match(userResource(row, base, groups.get(row.id) ?? [])));
      total = matched.length;
      rows = matched.slice(startIndex - 1, startIndex - 1 + count);
    }
    const groups = withGroups ? await userGroups(orgId, rows) : new Map();
    return listResponse(
      rows.map((row) =>
        project(
          userResource(row, base, groups.get(row.id) ?? []),
          query.attributes,
          query.excludedAttributes,
        ),
      ),
      total,
      startIndex,
    );
  }

  /** A list of Groups, as listUsers; members are read for the page only, and only when returned. */
  async function listGroups(orgId: string, query: Query) {
    const filter = query.filter ? readFilter('Group', query.filter) : undefined;
    const { startIndex, count } = readPaging(query, MAX_RESULTS);
    const narrowed = filter ? scimGroupFilter(filter) : { where: undefined, exact: true };
    const withMembers = returns('members', query.attributes, query.excludedAttributes);
    let total: number;
    let rows: ScimGroupRow[];
    if (narrowed.exact) {
      [total, rows] = await Promise.all([
        countScimGroups(db, orgId, narrowed.where),
        listScimGroups(db, orgId, { where: narrowed.where }, { offset: startIndex - 1, limit: count }),
      ]);
    } else {
      const candidates = await listScimGroups(db, orgId, { where: narrowed.where });
      const members = filterNames(filter!, 'members') ? await groupMembers(orgId, candidates) : new Map();
      const match = matches(filter!);
      const matched = candidates.filter((row) => match(groupResource(row, base, members.get(row.id) ?? [])));
      total = matched.length;
      rows = matched.slice(startIndex - 1, startIndex - 1 + count);
    }
    const members = withMembers ? await groupMembers(orgId, rows) : new Map();
    return listResponse(
      rows.map((row) =>
        project(
          groupResource(row, base, members.get(row.id) ?? []),
          query.attributes,
          query.excludedAttributes,
        ),
      ),
      total,
      startIndex,
    );
  }

  /** `/scim/v2/<resource>[/<id>]`, the resource matched case-insensitively (as IdP test suites send it). */
  function target(request: FastifyRequest): { resource: string; id: string | undefined } {
    const rest = (request.params as { '*': string })['*'] ?? '';
    const parts = rest.split('/').filter(Boolean);
    if (parts.length > 2) throw new ScimError(404, 'No such resource.');
    let id: string | undefined;
    try {
      id = parts[1] ? decodeURIComponent(parts[1]) : undefined;
    } catch {
      throw new ScimError(404, 'No such resource.');
    }
    return { resource: (parts[0] ?? '').toLowerCase(), id };
  }

  const orgOf = (request: FastifyRequest) => request.scimOrgId!;
  /** The query's parameters, each once: one given twice (`?attributes=a&attributes=b`) is refused. */
  const queryOf = (request: FastifyRequest): Query => {
    const query: Query = {};
    for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
      if (Array.isArray(value)) {
        throw new ScimError(400, `${name.slice(0, 100)} is given more than once.`, 'invalidValue');
      }
      query[name] = value as string | undefined;
    }
    return query;
  };

  r.get(
    '/scim/v2/*',
    {
      ...scimRoute,
      ...scimDoc(
        'SCIM: ServiceProviderConfig, ResourceTypes, Schemas; list or read Users and Groups (filter, startIndex, count, attributes, excludedAttributes)',
      ),
    },
    async (request, reply) => {
      const { resource, id } = target(request);
      const orgId = orgOf(request);
      const query = queryOf(request);
      switch (resource) {
        case 'serviceproviderconfig':
          if (id) break;
          return send(reply, 200, serviceProviderConfig(base, MAX_RESULTS));
        case 'resourcetypes': {
          const types = resourceTypes(base);
          if (!id) return send(reply, 200, listResponse(types, types.length, 1));
          const one = types.find((t) => t.id.toLowerCase() === id.toLowerCase());
          if (one) return send(reply, 200, one);
          break;
        }
        case 'schemas': {
          const schemas = schemaDefinitions(base);
          if (!id) return send(reply, 200, listResponse(schemas, schemas.length, 1));
          const one = schemas.find((s) => s.id.toLowerCase() === id.toLowerCase());
          if (one) return send(reply, 200, one);
          break;
        }
        case 'users':
          if (!id) return send(reply, 200, await listUsers(orgId, query));
          return send(
            reply,
            200,
            project(await loadUser(orgId, id), query.attributes, query.excludedAttributes),
          );
        case 'groups':
          if (!id) return send(reply, 200, await listGroups(orgId, query));
          return send(
            reply,
            200,
            project(await loadGroup(orgId, id), query.attributes, query.excludedAttributes),
          );
      }
      throw new ScimError(404, 'No such resource.');
    },
  );

  r.post(
    '/scim/v2/*',
    {
      ...scimRoute,
      ...scimDoc('SCIM: create a User (POST /Users) or a Group (POST /Groups)'),
      config: { ...scimRoute.config, command: [provisionScimUser, createScimGroup] },
    },
    async (request, reply) => {
      const { resource, id } = target(request);
      const orgId = orgOf(request);
      if (id === undefined && resource === 'users') {
        const created = await commands.run(provisionScimUser, request.invocation(), {
          values: readUser(request.body),
        });
        const user = await loadUser(orgId, created);
        return send(reply.header('location', user.meta.location), 201, user);
      }
      if (id === undefined && resource === 'groups') {
        const created = await commands.run(createScimGroup, request.invocation(), {
          values: readGroup(request.body),
        });
        const group = await loadGroup(orgId, created);
        return send(reply.header('location', group.meta.location), 201, group);
      }
      throw new ScimError(404, 'No such resource.');
    },
  );

  r.put(
    '/scim/v2/*',
    {
      ...scimRoute,
      ...scimDoc('SCIM: replace a User or a Group (PUT /Users/{id}, /Groups/{id})'),
      config: { ...scimRoute.config, command: [replaceScimUser, replaceScimGroup] },
    },
    async (request, reply) => {
      const { resource, id } = target(request);
      const orgId = orgOf(request);
      if (id !== undefined && resource === 'users') {
        const current = await loadUser(orgId, id);
        await commands.run(replaceScimUser, request.invocation(), {
          id: current.id,
          values: readUser(request.body),
        });
        return send(reply, 200, await loadUser(orgId, current.id));
      }
      if (id !== undefined && resource === 'groups') {
        const current = await loadGroup(orgId, id);
        await commands.run(replaceScimGroup, request.invocation(), {
          id: current.id,
          values: readGroup(request.body),
        });
        return send(reply, 200, await loadGroup(orgId, current.id));
      }
      throw new ScimError(404, 'No such resource.');
    },
  );

  r.patch(
    '/scim/v2/*',
    {
      ...scimRoute,
      ...scimDoc('SCIM: patch a User or a Group (PatchOp add, replace, remove)'),
      config: { ...scimRoute.config, command: [replaceScimUser, replaceScimGroup] },
    },
    async (request, reply) => {
      const { resource, id } = target(request);
      const orgId = orgOf(request);
      // The operations are applied in the command, to the resource as it is under its lock.
      if (id !== undefined && resource === 'users') {
        const userId = existing(id, 'user');
        await commands.run(replaceScimUser, request.invocation(), {
          id: userId,
          operations: readPatch('User', request.body),
        });
        return send(reply, 200, await loadUser(orgId, userId));
      }
      if (id !== undefined && resource === 'groups') {
        await commands.run(replaceScimGroup, request.invocation(), {
          id: existing(id, 'group'),
          operations: readPatch('Group', request.body),
        });
        // Okta and Entra read nothing back from a group PATCH; members can be many.
        return reply.status(204).send();
      }
      throw new ScimError(404, 'No such resource.');
    },
  );

  r.delete(
    '/scim/v2/*',
    {
      ...scimRoute,
      ...scimDoc('SCIM: delete a User (their access ends at once) or a Group'),
      config: { ...scimRoute.config, command: [deprovisionScimUser, removeScimGroup] },
    },
    async (request, reply) => {
      const { resource, id } = target(request);
      if (id !== undefined && UUID.test(id) && resource === 'users') {
        await commands.run(deprovisionScimUser, request.invocation(), { id: id.toLowerCase() });
        return reply.status(204).send();
      }
      if (id !== undefined && UUID.test(id) && resource === 'groups') {
        await commands.run(removeScimGroup, request.invocation(), { id: id.toLowerCase() });
        return reply.status(204).send();
      }
      throw new ScimError(404, 'No such resource.');
    },
  );

  // The request log: every answer a SCIM token of a live org got, refusals included; never the token.
  app.addHook('onResponse', async (request, reply) => {
    const orgId = request.scimOrgId;
    if (!orgId) return;
    const path = request.url.split('?', 1)[0]!;
    try {
      await insertScimRequest(db, {
        orgId,
        method: request.method,
        path: path.slice(0, 512),
        status: reply.statusCode,
        error: request.scimError ?? null,
      });
    } catch (err) {
      request.log.error({ err }, 'SCIM request log write failed');
    }
  });
}

export { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA };
