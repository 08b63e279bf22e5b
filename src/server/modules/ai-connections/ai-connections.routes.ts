import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  AI_PROVIDERS,
  AI_PURPOSES,
  type AiConnectionView,
  type AiProvider,
  type AiPurpose,
  OPENAI_BASE_URL,
} from '../../../contracts/integrations.ts';
import type { FieldError } from '../../../contracts/problems.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.ts';
import { Body, DateTime, Nullable, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import type { Outbound } from '../../platform/outbound/outbound.ts';
import { ConnectionTestResultSchema } from '../../platform/outbound/probe.ts';
import {
  type AiConnectionInput,
  apiKeyContext,
  apiKeyRequired,
  mayKeepKey,
  removeConnection,
  saveConnection,
} from './ai-connections.commands.ts';
import { testAiConnection } from './ai-connections.probe.ts';
import {
  type AiConnectionRow,
  findAiConnection,
  readAiConnectionWithKey,
  recordAiConnectionTest,
} from './ai-connections.repository.ts';

const Purpose = Type.Union(
  AI_PURPOSES.map((p) => Type.Literal(p)),
  {
    description: '`remediator` (generates fixes) or `validator` (validates findings, spots false positives)',
  },
);
const Params = Type.Object({ orgId: Uuid, purpose: Purpose });

/** Printable ASCII without spaces: what an HTTP header and a model id can carry as they are. */
const PRINTABLE = '^[\\x21-\\x7E]+$';

const Fields = {
  provider: Type.Union(
    AI_PROVIDERS.map((p) => Type.Literal(p)),
    {
      description:
        '`openai`, `azure_openai` or `openai_compatible` (DeepInfra, DeepSeek, a self-hosted gateway, …)',
    },
  ),
  baseUrl: Type.String({
    minLength: 1,
    maxLength: 2048,
    description: `The API's base URL: \`${OPENAI_BASE_URL}\` (the default for \`openai\`), \`https://<resource>.openai.azure.com\` for Azure OpenAI, or an OpenAI-compatible API's (…/v1). https, on the public internet, unless the operator allows the address (OUTBOUND_ALLOWLIST).`,
  }),
  apiKey: Type.String({
    minLength: 1,
    maxLength: 4096,
    pattern: PRINTABLE,
    description:
      'Write-only: sealed at rest and never returned. Omit it to keep the stored key, which is allowed only while the provider and base URL stay the same.',
  }),
  model: Type.String({ minLength: 1, maxLength: 200, pattern: PRINTABLE, description: 'e.g. gpt-4o-mini' }),
  deployment: Nullable(
    Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Azure OpenAI only (required there): the deployment of the model',
    }),
  ),
  apiVersion: Nullable(
    Type.String({
      maxLength: 32,
      pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$',
      description: 'Azure OpenAI only (required there): the `api-version`, e.g. 2024-10-21',
    }),
  ),
};

export const AiConnection = Type.Object(
  {
    purpose: Type.String(),
    configured: Type.Boolean({ description: 'false (and every setting null) while none is saved' }),
    provider: Nullable(Type.String()),
    baseUrl: Nullable(Type.String()),
    model: Nullable(Type.String()),
    deployment: Nullable(Type.String()),
    apiVersion: Nullable(Type.String()),
    hasApiKey: Type.Boolean({ description: 'A key is stored (it is never returned)' }),
    apiKeyHint: Nullable(
      Type.String({ description: "The key's last four characters (null for a key shorter than 16)" }),
    ),
    lastTest: Nullable(ConnectionTestResultSchema),
    updatedAt: Nullable(DateTime),
  },
  { $id: 'AiConnection' },
);

/** What the API shows of a connection: never the key, sealed or not. */
function present(
  purpose: AiPurpose,
  row: AiConnectionRow | undefined,
): AiConnectionView | Record<string, unknown> {
  if (!row) {
    return {
      purpose,
      configured: false,
      provider: null,
      baseUrl: null,
      model: null,
      deployment: null,
      apiVersion: null,
      hasApiKey: false,
      apiKeyHint: null,
      lastTest: null,
      updatedAt: null,
    };
  }
  return {
    purpose,
    configured: true,
    provider: row.provider,
    baseUrl: row.baseUrl,
    model: row.model,
    deployment: row.deployment,
    apiVersion: row.apiVersion,
    hasApiKey: true,
    apiKeyHint: row.apiKeyHint,
    lastTest: row.lastTest,
    updatedAt: row.updatedAt,
  };
}

interface SettingsBody {
  provider?: AiProvider;
  baseUrl?: string;
  model?: string;
  deployment?: string | null;
  apiVersion?: string | null;
}

/**
 * The settings a body gives, checked and normalized: the provider's required fields present (and
 * Azure's own absent elsewhere), the base URL past the outbound guard (400 `url_not_allowed`),
 * with no query or fragment and no trailing slash.
 */
async function settingsOf(
  outbound: Outbound,
  body: SettingsBody,
): Promise<Omit<AiConnectionInput, 'purpose' | 'apiKey'>> {
  const errors: FieldError[] = [];
  const required = (name: string) =>
    errors.push({ field: `/body/${name}`, message: 'is required', reason: 'required' });
  const { provider, model } = body;
  if (provider === undefined) required('provider');
  if (model === undefined) required('model');
  const rawUrl = body.baseUrl?.trim() || (provider === 'openai' ? OPENAI_BASE_URL : '');
  if (rawUrl === '') required('baseUrl');
  if (provider === 'azure_openai') {
    if (!body.deployment) required('deployment');
    if (!body.apiVersion) required('apiVersion');
  } else {
    for (const name of ['deployment', 'apiVersion'] as const) {
      if (body[name] !== undefined && body[name] !== null) {
        errors.push({
          field: `/body/${name}`,
          message: 'is only used with azure_openai',
          reason: 'azure_only',
        });
      }
    }
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const url = await outbound.check(rawUrl, { field: '/body/baseUrl' });
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(rawUrl)) {
    throw new ValidationError([
      { field: '/body/baseUrl', message: 'must not carry a query or a fragment', reason: 'url_query' },
    ]);
  }
  return {
    provider: provider!,
    baseUrl: `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, ''),
    model: model!,
    deployment: provider === 'azure_openai' ? body.deployment! : null,
    apiVersion: provider === 'azure_openai' ? body.apiVersion! : null,
  };
}

export function aiConnectionsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, outbound, secrets } = app.gatehouse;
  const base = '/api/v1/orgs/:orgId/ai-connections/:purpose';
  const tags = ['ai-connections'];

  r.get(
    base,
    {
      config: { permission: 'settings:read' },
      schema: {
        tags,
        summary: "The organization's AI provider for one purpose (the API key is never returned)",
        description:
          'Answers 200 whether or not one is saved: `configured: false`, with every setting null, while none is. `hasApiKey` and `apiKeyHint` (the last four characters of a long key) say which key is stored.',
        params: Params,
        response: { 200: Type.Ref('AiConnection'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { purpose } = request.params;
      return present(purpose, await findAiConnection(database.db, requestOrgId(request), purpose));
    },
  );

  r.put(
    base,
    {
      config: { command: saveConnection },
      schema: {
        tags,
        summary: 'Connect (or change) the AI provider for one purpose',
        description:
          'The base URL is checked by the outbound guard (400 `url_not_allowed`). `apiKey` is write-only; omitted, the stored key is kept — refused (400, `/body/apiKey` required) when the provider or base URL changes, so a key only ever goes where it was given for. Azure OpenAI needs `deployment` and `apiVersion`. Saving clears the last test.',
        params: Params,
        body: Body({
          provider: Fields.provider,
          baseUrl: Type.Optional(Fields.baseUrl),
          apiKey: Type.Optional(Fields.apiKey),
          model: Fields.model,
          deployment: Type.Optional(Fields.deployment),
          apiVersion: Type.Optional(Fields.apiVersion),
        }),
        response: { 200: Type.Ref('AiConnection'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { purpose } = request.params;
      const settings = await settingsOf(outbound, request.body);
      const saved = await commands.run(saveConnection, request.invocation(), {
        purpose,
        ...settings,
        ...(request.body.apiKey !== undefined ? { apiKey: request.body.apiKey } : {}),
      });
      return present(purpose, saved);
    },
  );

  r.delete(
    base,
    {
      config: { command: removeConnection },
      schema: {
        tags,
        summary: 'Remove the AI provider for one purpose (and its stored key)',
        params: Params,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeConnection, request.invocation(), { purpose: request.params.purpose });
      return reply.status(204).send(null);
    },
  );

  r.post(
    `${base}/test`,
    {
      // Keeps the outcome on the connection (not an audited change).
      config: { permission: 'settings:update', command: [] },
      schema: {
        tags,
        summary: 'Test the connection: list the provider’s models with the key',
        description:
          "With an empty body, tests the saved connection and keeps the outcome as its `lastTest`. With settings in the body (as PUT takes them), tests those before they are saved; without `apiKey` the stored key is used, under PUT's rule. Answers 200 whatever the provider said: `ok`, the provider's HTTP `status` (null when it did not answer), a `code` (`unauthorized`, `model_not_found`, `url_not_allowed` when the outbound guard refuses the address, `timeout`, `dns`, …), `detail` in words with the provider's own message, and `latencyMs`. A base URL given in the body and refused by the guard is a 400 `url_not_allowed`, as on save.",
        params: Params,
        // No body at all (null) tests the saved connection, as an empty one does.
        body: Nullable(
          Body({
            provider: Type.Optional(Fields.provider),
            baseUrl: Type.Optional(Fields.baseUrl),
            apiKey: Type.Optional(Fields.apiKey),
            model: Type.Optional(Fields.model),
            deployment: Type.Optional(Fields.deployment),
            apiVersion: Type.Optional(Fields.apiVersion),
          }),
        ),
        response: { 200: ConnectionTestResultSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { purpose } = request.params;
      const body = request.body ?? {};
      const stored = await readAiConnectionWithKey(database.db, orgId, purpose);
      const storedKey = () => secrets.open(stored!.apiKey, apiKeyContext(orgId, stored!.id));
      if (Object.keys(body).length === 0) {
        if (!stored) throw new NotFoundError('AI connection');
        const result = await testAiConnection(outbound, { ...stored, apiKey: storedKey() });
        await recordAiConnectionTest(database.db, orgId, stored, result);
        return result;
      }
      const settings = await settingsOf(outbound, body);
      if (body.apiKey === undefined && !mayKeepKey(stored, settings))
        throw apiKeyRequired(stored !== undefined);
      return testAiConnection(outbound, { ...settings, apiKey: body.apiKey ?? storedKey() });
    },
  );
}
