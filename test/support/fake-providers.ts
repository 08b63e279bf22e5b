import http from 'node:http';
import type net from 'node:net';

/** One request a fake provider got (headers as sent, credentials included: tests compare them). */
export interface ProviderRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeProviders {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The OpenAI-compatible API's base URL: `<url>/v1`. */
  openaiBase: string;
  /** What each API accepts (change them to make a stored key wrong). */
  keys: { openai: string; azure: string; github: string; gitlab: string; generic: string; jira: string };
  /** The Jira account's address (Jira Cloud takes it with an API token, as HTTP Basic). */
  jiraEmail: string;
  /** The models the OpenAI-compatible API lists. */
  models: string[];
  requests: ProviderRequest[];
  close(): Promise<void>;
}

/** Azure OpenAI lists its base models with a version suffix. */
export const AZURE_MODELS = ['gpt-4o-mini-2024-07-18', 'gpt-4o-2024-08-06', 'text-embedding-3-small'];
export const AZURE_API_VERSION = '2024-10-21';
const JIRA_EMAIL = 'jira-bot@example.test';

/**
 * Real HTTP APIs on 127.0.0.1 that check credentials as the real ones do:
 * - OpenAI-compatible `GET /v1/models` with `Authorization: Bearer`; a wrong key gets OpenAI's
 *   401 JSON error, which (worse than OpenAI) quotes the whole key it was sent;
 * - Azure OpenAI `GET /openai/models?api-version=` with `api-key` (401 or 404 as Azure answers);
 * - GitHub `GET /user` (Bearer), GitLab `GET /api/v4/user` (`PRIVATE-TOKEN`), and a generic API
 *   under `/generic` taking a bearer token or `X-Api-Key`;
 * - Jira Cloud `GET /rest/api/2/myself` with Basic `email:token`; a refusal (worse than Jira)
 *   quotes the Authorization header it was sent.
 */
export async function startFakeProviders(): Promise<FakeProviders> {
  const requests: ProviderRequest[] = [];
  const fake = {
    keys: {
      openai: 'sk-proj-fake0123456789abcdefghijklmnopqrstuv',
      azure: '0123456789abcdef0123456789abcdef',
      github: 'ghp_fakeGitHubToken0123456789abcdefABCD',
      gitlab: 'glpat-fakeGitLabToken0123456',
      generic: 'generic-service-key-0123456789',
      jira: 'jira-api-token-0123456789abcdef',
    },
    models: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'],
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      if (bearer !== fake.keys.openai) {
        return send(401, {
          error: {
            message: `Incorrect API key provided: ${bearer ?? '(none)'}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        });
      }
      return send(200, {
        object: 'list',
        data: fake.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
    }
    if (req.method === 'GET' && url.pathname === '/openai/models') {
      if (req.headers['api-key'] !== fake.keys.azure) {
        return send(401, {
          error: {
            code: '401',
            message:
              'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
          },
        });
      }
      if (url.searchParams.get('api-version') !== AZURE_API_VERSION) {
        return send(404, { error: { code: '404', message: 'Resource not found' } });
      }
      return send(200, { data: AZURE_MODELS.map((id) => ({ id, object: 'model', status: 'succeeded' })) });
    }
    if (req.method === 'GET' && url.pathname === '/user') {
      if (bearer !== fake.keys.github) {
        return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      return send(200, { login: 'octocat', id: 1 });
    }
    if (req.method === 'GET' && url.pathname === '/api/v4/user') {
      if (req.headers['private-token'] !== fake.keys.gitlab)
        return send(401, { message: '401 Unauthorized' });
      return send(200, { username: 'tanuki', id: 2 });
    }
    if (req.method === 'GET' && url.pathname === '/rest/api/2/myself') {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (Buffer.from(basic, 'base64').toString('utf8') !== `${JIRA_EMAIL}:${fake.keys.jira}`) {
        return send(401, {
          message: `Client must be authenticated to access this resource (${req.headers.authorization ?? 'no credentials'}).`,
        });
      }
      return send(200, { accountId: '5b10a2844c20165700ede21g', emailAddress: JIRA_EMAIL });
    }
    if (url.pathname === '/generic' || url.pathname.startsWith('/generic/')) {
      if (bearer !== fake.keys.generic && req.headers['x-api-key'] !== fake.keys.generic) {
        return send(403, { error: 'forbidden', error_description: 'The key is not valid for this service.' });
      }
      return send(200, { ok: true });
    }
    return send(404, { error: { message: `No route ${url.pathname}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBase: `${url}/v1`,
    keys: fake.keys,
    jiraEmail: JIRA_EMAIL,
    get models() {
      return fake.models;
    },
    set models(value: string[]) {
      fake.models = value;
    },
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
