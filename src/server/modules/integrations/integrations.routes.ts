import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  ALL_INTEGRATION_PROVIDERS,
  INTEGRATION_KINDS,
  INTEGRATION_STATUSES,
  type IntegrationKind,
  type IntegrationProvider,
} from '../../../contracts/integrations.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { decodeCursor, PageQuery, toPage } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  problemResponses,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import { ConnectionTestResultSchema } from '../../platform/outbound/probe.ts';
import {
  createIntegration,
  editIntegration,
  INTEGRATIONS_PER_ORG,
  removeIntegration,
  secretContext,
} from './integrations.commands.ts';
import { assertProviderOfKind, CONFIG_MAX_CHARS, checkConfig } from './integrations.config.ts';
import { testIntegration } from './integrations.probe.ts';
import {
  findIntegration,
  type IntegrationRow,
  listIntegrations,
  readIntegrationWithSecret,
  recordIntegrationTest,
} from './integrations.repository.ts';

const Kind = Type.Union(
  INTEGRATION_KINDS.map((k) => Type.Literal(k)),
  { description: '`scm`, `ticketing`, `registry`, `cloud` or `chat`' },
);
const Provider = Type.Union(
  ALL_INTEGRATION_PROVIDERS.map((p) => Type.Literal(p)),
  {
    description:
      'One of the kind’s providers (github, gitlab, jira, linear, dockerhub, aws, slack, …, or generic)',
  },
);
const Name = SingleLine(100, { description: 'Unique in the organization (case aside)' });

/** One value of the config: text, a number, a switch, or a short list of text. */
const ConfigValue = Type.Union([
  Type.String({ maxLength: 1024 }),
  Type.Number(),
  Type.Boolean(),
  Type.Null(),
  Type.Array(Type.String({ maxLength: 256 }), { maxItems: 50 }),
]);
const Config = Type.Object(
  {
    baseUrl: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        "The root of the service's API (https://api.github.com, https://gitlab.com/api/v4, https://acme.atlassian.net, …): checked by the outbound guard (400 `url_not_allowed`)",
    }),
  },
  {
    additionalProperties: ConfigValue,
    maxProperties: 20,
    propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' },
    description: `Settings that are not secret, shown to everyone who may read integrations and kept in the audit log (keys or values that look like secrets are refused: send those as \`secret\`). At most 20 keys and ${CONFIG_MAX_CHARS} characters as JSON. Generic integrations may name \`authHeader\`, the header the test sends the secret in (default \`Authorization: Bearer\`); Jira may name \`email\` (Jira Cloud's Basic authentication).`,
  },
);
const Secret = Type.String({
  minLength: 1,
  maxLength: 8192,
  // What an HTTP header value can carry as it is.
  pattern: '^[\\x20-\\x7E]+$',
  description: 'Write-only: the token, API key or password, sealed at rest and never returned',
});

export const Integration = Type.Object(
  {
    id: Uuid,
    kind: Type.String(),
    provider: Type.String(),
    name: Type.String(),
    config: Type.Record(Type.String(), Type.Unknown()),
    hasSecret: Type.Boolean({ description: 'A secret is stored (it is never returned)' }),
    status: Type.Union(
      INTEGRATION_STATUSES.map((s) => Type.Literal(s)),
      {
        description:
          '`untested` until the first test (and again after the config or secret change), then how the last one went',
      },
    ),
    lastCheckedAt: Nullable(DateTime),
    lastError: Nullable(Type.String({ description: 'Why the last test failed, in words' })),
    lastTest: Nullable(ConnectionTestResultSchema),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Integration' },
);

const IntegrationParams = Type.Object({ orgId: Uuid, id: Uuid });

/** What the API shows of an integration: never its secret, sealed or not. */
const present = (i: IntegrationRow) => ({
  id: i.id,
  kind: i.kind,
  provider: i.provider,
  name: i.name,
  config: i.config,
  hasSecret: i.hasSecret,
  status: i.status,
  lastCheckedAt: i.lastTest?.testedAt ?? null,
  lastError: i.lastTest && !i.lastTest.ok ? i.lastTest.detail : null,
  lastTest: i.lastTest,
  createdAt: i.createdAt,
  updatedAt: i.updatedAt,
});

export function integrationsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, outbound, secrets } = app.gatehouse;
  const base = '/api/v1/orgs/:orgId/integrations';
  const tags = ['integrations'];

  r.get(
    base,
    {
      config: { permission: 'integrations:read' },
      schema: {
        tags,
        summary: "The organization's integrations, newest first",
        params: OrgParams,
        querystring: Type.Object(
          { ...PageQuery, kind: Type.Optional(Kind) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('Integration')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor);
      const rows = await listIntegrations(database.db, requestOrgId(request), {
        limit: limit + 1,
        ...(after ? { after } : {}),
        ...(request.query.kind ? { kind: request.query.kind as IntegrationKind } : {}),
      });
      return toPage(rows, limit, present);
    },
  );

  r.post(
    base,
    {
      config: { command: createIntegration },
      schema: {
        tags,
        summary: 'Add an integration',
        description: `The secret is sealed at rest and never returned. The integration is \`untested\` until its first test. An organization may have ${INTEGRATIONS_PER_ORG} integrations (409 \`integration_limit\`); names are unique in it (409 \`conflict\`).`,
        params: OrgParams,
        body: Body({
          kind: Kind,
          provider: Provider,
          name: Name,
          config: Config,
          secret: Type.Optional(Nullable(Secret)),
        }),
        response: { 201: Type.Ref('Integration'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { kind, provider, name, config, secret } = request.body;
      assertProviderOfKind(kind, provider);
      const checked = await checkConfig(outbound, provider as IntegrationProvider, config);
      const created = await commands.run(createIntegration, request.invocation(), {
        kind,
        provider: provider as IntegrationProvider,
        name: name.trim(),
        config: checked,
        secret: secret ?? null,
      });
      return reply.status(201).send(present(created));
    },
  );

  r.get(
    `${base}/:id`,
    {
      config: { permission: 'integrations:read' },
      schema: {
        tags,
        summary: 'One integration',
        params: IntegrationParams,
        response: { 200: Type.Ref('Integration'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const found = await findIntegration(database.db, requestOrgId(request), request.params.id);
      assertFound(found, 'integration');
      return present(found);
    },
  );

  r.patch(
    `${base}/:id`,
    {
      config: { command: editIntegration },
      schema: {
        tags,
        summary: 'Change an integration’s name, config or secret',
        description:
          'A new `config` replaces the old one whole. `secret`: a new one, or null to drop it; omitted, the stored one is kept — unless `config.baseUrl` changes, which needs the secret again (400), so a secret only goes where it was given for. A new config or secret makes the integration `untested`.',
        params: IntegrationParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            config: Type.Optional(Config),
            secret: Type.Optional(Nullable(Secret)),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Integration'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { name, config, secret } = request.body;
      let checked: Awaited<ReturnType<typeof checkConfig>> | undefined;
      if (config !== undefined) {
        const current = await findIntegration(database.db, orgId, request.params.id);
        assertFound(current, 'integration');
        checked = await checkConfig(outbound, current.provider, config);
      }
      const saved = await commands.run(editIntegration, request.invocation(), {
        id: request.params.id,
        ...(name !== undefined ? { name: name.trim() } : {}),
        ...(checked !== undefined ? { config: checked } : {}),
        ...(secret !== undefined ? { secret } : {}),
      });
      return present(saved);
    },
  );

  r.delete(
    `${base}/:id`,
    {
      config: { command: removeIntegration },
      schema: {
        tags,
        summary: 'Disconnect an integration (its secret is deleted with it)',
        params: IntegrationParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeIntegration, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  r.post(
    `${base}/:id/test`,
    {
      // Keeps the outcome and the status on the integration (not an audited change).
      config: { permission: 'integrations:manage', command: [] },
      schema: {
        tags,
        summary: 'Test the integration: one authenticated request to its service',
        description:
          "Sends the secret in the provider's usual header (GitHub, Bitbucket, registries and the rest a bearer token; GitLab `PRIVATE-TOKEN`; Azure DevOps and Jira with `config.email` Basic; Linear its key as it is; generic `config.authHeader` when set) to the provider's \"who am I\" under `config.baseUrl` (GitHub, GitLab, Bitbucket `/user`; Jira `/rest/api/2/myself`; registries `/v2/`; Slack `/auth.test`; others the base URL itself), through the outbound guard. Answers 200 with the outcome (`ok`, the service's `status`, a `code`, `detail` in words, `latencyMs`; `url_not_allowed` when the guard refuses the address) and keeps it: the integration becomes `connected` or `failing`.",
        params: IntegrationParams,
        response: { 200: ConnectionTestResultSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const found = await readIntegrationWithSecret(database.db, orgId, request.params.id);
      assertFound(found, 'integration');
      const secret =
        found.secret === null ? null : secrets.open(found.secret, secretContext(orgId, found.id));
      const result = await testIntegration(outbound, { ...found, secret });
      await recordIntegrationTest(database.db, orgId, found, result);
      return result;
    },
  );
}
