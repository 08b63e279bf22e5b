/**
 * Connections to services outside Gatehouse as the API sends them: the organization's own AI
 * providers (BYO-AI, one per purpose) and its integrations registry (SCM, ticketing, registries,
 * clouds, chat). src/server/modules/ai-connections and src/server/modules/integrations are the
 * authority; these follow their schemas. Secrets are write-only: no view carries one.
 */

/** What an AI connection is used for: generating fixes, or validating findings (false positives). */
export const AI_PURPOSES = ['remediator', 'validator'] as const;
export type AiPurpose = (typeof AI_PURPOSES)[number];

export const AI_PROVIDERS = ['openai', 'azure_openai', 'openai_compatible'] as const;
export type AiProvider = (typeof AI_PROVIDERS)[number];

/** OpenAI's own API: the base URL of `openai` when none is given. */
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * How a connection test went, by machine code: `ok`, a refusal by the outbound guard
 * (`url_not_allowed`), a failure to get an answer (`dns`, `connect`, `tls`, `timeout`,
 * `too_large`, `protocol`), or what the service answered (`unauthorized` 401, `forbidden` 403,
 * `not_found` 404, `rate_limited` 429, `service_error` 5xx, `http_error` any other status,
 * `unexpected_answer` a success that is not what was asked for, `model_not_found` an AI provider
 * that does not offer the model).
 */
export const CONNECTION_TEST_CODES = [
  'ok',
  'url_not_allowed',
  'dns',
  'connect',
  'tls',
  'timeout',
  'too_large',
  'protocol',
  'unauthorized',
  'forbidden',
  'not_found',
  'rate_limited',
  'service_error',
  'http_error',
  'unexpected_answer',
  'model_not_found',
] as const;
export type ConnectionTestCode = (typeof CONNECTION_TEST_CODES)[number];

/** POST …/ai-connections/{purpose}/test and …/integrations/{id}/test; kept as each one's last test. */
export interface ConnectionTestResult {
  ok: boolean;
  /** The HTTP status the service answered with (null: no answer). */
  status: number | null;
  code: ConnectionTestCode;
  /** What happened, in English words (the console words it from `code`). */
  detail: string;
  /** The service's own error message, when it gave one (any secret masked), else null. */
  providerMessage: string | null;
  /** From sending the request to the last byte of the answer (or the failure). */
  latencyMs: number;
  testedAt: string;
}

/** GET / PUT …/ai-connections/{purpose}: `configured: false` (and nulls) while none is saved. */
export interface AiConnectionView {
  purpose: AiPurpose;
  configured: boolean;
  provider: AiProvider | null;
  baseUrl: string | null;
  model: string | null;
  /** Azure OpenAI: the deployment's name. */
  deployment: string | null;
  /** Azure OpenAI: the `api-version` sent with each request. */
  apiVersion: string | null;
  /** An API key is stored (it is never returned). */
  hasApiKey: boolean;
  /** The key's last four characters, for telling keys apart (null for short keys). */
  apiKeyHint: string | null;
  /** The last test of these settings (null: not tested since they were saved). */
  lastTest: ConnectionTestResult | null;
  updatedAt: string | null;
}

export const INTEGRATION_KINDS = ['scm', 'ticketing', 'registry', 'cloud', 'chat'] as const;
export type IntegrationKind = (typeof INTEGRATION_KINDS)[number];

/** The providers of each kind (`generic`: any service reached with a token). */
export const INTEGRATION_PROVIDERS = {
  scm: ['github', 'gitlab', 'bitbucket', 'azure_devops', 'generic'],
  ticketing: ['jira', 'linear', 'servicenow', 'generic'],
  registry: ['dockerhub', 'ecr', 'gcr', 'ghcr', 'harbor', 'generic'],
  cloud: ['aws', 'azure', 'gcp', 'oci', 'generic'],
  chat: ['slack', 'teams', 'generic'],
} as const satisfies Record<IntegrationKind, readonly string[]>;
export type IntegrationProvider = (typeof INTEGRATION_PROVIDERS)[IntegrationKind][number];

/** Every provider, once, in catalog order. */
export const ALL_INTEGRATION_PROVIDERS: readonly IntegrationProvider[] = [
  ...new Set(Object.values(INTEGRATION_PROVIDERS).flat()),
];

/** `untested` until its first test (and again after a change), then how the last one went. */
export const INTEGRATION_STATUSES = ['untested', 'connected', 'failing'] as const;
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];

/** A value of an integration's config: text, a number, a switch, or a list of text. */
export type IntegrationConfigValue = string | number | boolean | null | string[];

/** GET / POST / PATCH …/integrations[/{id}] (the secret is never returned). */
export interface IntegrationView {
  id: string;
  kind: IntegrationKind;
  provider: IntegrationProvider;
  name: string;
  /** Settings that are not secret; `baseUrl` is where the service's API is. */
  config: { baseUrl: string } & Record<string, IntegrationConfigValue>;
  hasSecret: boolean;
  status: IntegrationStatus;
  lastCheckedAt: string | null;
  /** Why the last test failed, in English words (null unless `failing`). */
  lastError: string | null;
  lastTest: ConnectionTestResult | null;
  createdAt: string;
  updatedAt: string;
}
