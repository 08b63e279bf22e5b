import type { ConnectionTestResult, IntegrationProvider } from '../../../contracts/integrations.ts';
import type { Outbound, OutboundRequest } from '../../platform/outbound/outbound.ts';
import {
  answerMessage,
  describeStatus,
  jsonOf,
  maskSecrets,
  probe,
  statusCode,
} from '../../platform/outbound/probe.ts';
import type { IntegrationConfig } from './integrations.repository.ts';

/**
 * How one provider is asked "who am I?" with a credential: the path under `baseUrl` (its API's
 * root), the method and body, and the header the credential goes in.
 */
interface ProbeSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  auth(secret: string, config: IntegrationConfig): Record<string, string>;
  /** For APIs that answer 200 to a refusal (Slack, GraphQL): why the answer is one, or null. */
  refusal?(body: unknown): { code: ConnectionTestResult['code']; message: string } | null;
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const basic = (user: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}`,
});
const JSON_ACCEPT = { accept: 'application/json' };

/** Docker Registry HTTP API v2: `GET /v2/` answers 200 to a credential it takes. */
const REGISTRY: ProbeSpec = { method: 'GET', path: '/v2/', auth: bearer };
/** The base URL itself, with the credential as a bearer token (generic: or in `config.authHeader`). */
const BASE: ProbeSpec = {
  method: 'GET',
  path: '',
  headers: JSON_ACCEPT,
  auth: (secret, config) =>
    typeof config.authHeader === 'string' ? { [config.authHeader]: secret } : bearer(secret),
};

const SPECS: Record<IntegrationProvider, ProbeSpec> = {
  github: {
    method: 'GET',
    path: '/user',
    headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    auth: bearer,
  },
  gitlab: {
    method: 'GET',
    path: '/user',
    headers: JSON_ACCEPT,
    auth: (secret) => ({ 'private-token': secret }),
  },
  bitbucket: { method: 'GET', path: '/user', headers: JSON_ACCEPT, auth: bearer },
  // A personal access token as the password of HTTP Basic, with an empty user name.
  azure_devops: { method: 'GET', path: '', headers: JSON_ACCEPT, auth: (secret) => basic('', secret) },
  // Jira Cloud: the account's email and an API token (Basic); Data Center: a personal access token.
  jira: {
    method: 'GET',
    path: '/rest/api/2/myself',
    headers: JSON_ACCEPT,
    auth: (secret, config) =>
      typeof config.email === 'string' ? basic(config.email, secret) : bearer(secret),
  },
  linear: {
    method: 'POST',
    path: '',
    body: JSON.stringify({ query: '{ viewer { id } }' }),
    headers: { ...JSON_ACCEPT, 'content-type': 'application/json' },
    // Linear takes its API keys as they are, without "Bearer".
    auth: (secret) => ({ authorization: secret }),
    refusal: graphqlRefusal,
  },
  servicenow: BASE,
  dockerhub: REGISTRY,
  ecr: REGISTRY,
  gcr: REGISTRY,
  ghcr: REGISTRY,
  harbor: REGISTRY,
  aws: BASE,
  azure: BASE,
  gcp: BASE,
  oci: BASE,
  slack: {
    method: 'POST',
    path: '/auth.test',
    headers: JSON_ACCEPT,
    auth: bearer,
    refusal: (body) => {
      const answer = body as { ok?: unknown; error?: unknown } | undefined;
      if (answer?.ok !== false) return null;
      const error = typeof answer.error === 'string' ? answer.error : 'refused';
      const refused = ['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive'];
      return { code: refused.includes(error) ? 'unauthorized' : 'unexpected_answer', message: error };
    },
  },
  teams: BASE,
  generic: BASE,
};

function graphqlRefusal(body: unknown): { code: ConnectionTestResult['code']; message: string } | null {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const message = (errors[0] as { message?: unknown })?.message;
  return { code: 'unauthorized', message: typeof message === 'string' ? message : 'refused' };
}

/** `baseUrl` with the probe's path appended to its path (its query, if any, kept). */
function probeUrl(baseUrl: string, path: string): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url.toString();
}

const WORDS = { who: 'The service', credential: 'the secret', notFound: 'check the base URL' };

/**
 * The connection test: one request with the secret (in the provider's usual header) to the
 * provider's "who am I" under `config.baseUrl`, through the outbound guard. Never throws; the
 * secret never appears in the result (a service that quotes it back has it masked).
 */
export async function testIntegration(
  outbound: Outbound,
  integration: { provider: IntegrationProvider; config: IntegrationConfig; secret: string | null },
): Promise<ConnectionTestResult> {
  const testedAt = new Date().toISOString();
  const spec = SPECS[integration.provider] ?? BASE;
  const { secret, config } = integration;
  const auth = secret !== null ? spec.auth(secret, config) : {};
  const request: OutboundRequest = {
    method: spec.method,
    headers: { ...spec.headers, ...auth },
    ...(spec.body !== undefined ? { body: spec.body } : {}),
  };
  const outcome = await probe(outbound, probeUrl(config.baseUrl, spec.path), request);
  const result = (
    ok: boolean,
    status: number | null,
    code: ConnectionTestResult['code'],
    detail: string,
    providerMessage: string | null = null,
  ): ConnectionTestResult => ({
    ok,
    status,
    code,
    detail,
    providerMessage,
    latencyMs: outcome.latencyMs,
    testedAt,
  });
  if (!outcome.answered) return result(false, null, outcome.code, outcome.detail);
  const { response } = outcome;
  // A service may quote the credential as it was sent (Basic's base64 of user:secret is as good as
  // the secret) rather than the secret itself: both are masked.
  const secrets = secret !== null ? [secret, ...Object.values(auth)] : [];
  const status = response.status;
  if (status < 200 || status >= 300) {
    const message = answerMessage(response, secrets);
    return result(false, status, statusCode(status), describeStatus(status, WORDS, message), message);
  }
  const refusal = spec.refusal?.(jsonOf(response));
  if (refusal) {
    const message = answerMessage(response, secrets) ?? maskSecrets(refusal.message, secrets);
    return result(
      false,
      status,
      refusal.code,
      `The service answered ${status} but refused the request: ${message}`,
      message,
    );
  }
  const how = secret !== null ? 'took the secret' : 'answered (no secret is stored)';
  return result(true, status, 'ok', `Connected in ${outcome.latencyMs} ms: the service ${how} (${status}).`);
}
