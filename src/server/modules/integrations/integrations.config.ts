import {
  INTEGRATION_PROVIDERS,
  type IntegrationKind,
  type IntegrationProvider,
} from '../../../contracts/integrations.ts';
import type { FieldError } from '../../../contracts/problems.ts';
import { ValidationError } from '../../platform/errors/app-error.ts';
import type { Outbound } from '../../platform/outbound/outbound.ts';
import type { IntegrationConfig } from './integrations.repository.ts';

/** An integration's config, as JSON, is at most this long. */
export const CONFIG_MAX_CHARS = 4096;

/**
 * Config keys that name a secret. The config is shown to everyone who may read integrations and
 * kept in the audit log as it is: a secret belongs in `secret`, which is sealed and never shown.
 */
const SECRET_KEY = /secret|passw|token|api[-_]?key|private[-_]?key|credential|bearer|signature|cookie/i;

/** Values that are well-known kinds of credentials, whatever key they are under. */
const SECRET_VALUE =
  /^(gh[pousr]_|github_pat_|glpat-|xox[abposr]-|sk-|sk_live_|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|ya29\.|AIza|-----BEGIN |eyJ[A-Za-z0-9_-]{10,}\.)/;

/**
 * Query parameters that carry a credential under a short name (Google's and Trello's `key`, an
 * Azure SAS `sig`), besides the names SECRET_KEY knows.
 */
const SECRET_PARAM = /^(key|sig|auth)$/i;

/** Headers a config's `authHeader` may not name: they are the request's own framing or identity. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-authorization',
  'cookie',
  'user-agent',
]);

/** Providers whose test sends the secret in the header `config.authHeader` names (default a bearer token). */
export const CUSTOM_HEADER_PROVIDERS: ReadonlySet<IntegrationProvider> = new Set(['generic']);

export function assertProviderOfKind(kind: IntegrationKind, provider: string): void {
  if (!(INTEGRATION_PROVIDERS[kind] as readonly string[]).includes(provider)) {
    throw new ValidationError([
      {
        field: '/body/provider',
        message: `is not a provider of ${kind} integrations`,
        reason: 'enum',
        params: { allowedValues: [...INTEGRATION_PROVIDERS[kind]] },
      },
    ]);
  }
}

/**
 * The config checked and normalized: small, no key or value that looks like a secret, `authHeader`
 * a header name a request may carry, `baseUrl` past the outbound guard (400 `url_not_allowed`)
 * without a fragment, a secret in its query or a trailing slash.
 */
export async function checkConfig(
  outbound: Outbound,
  provider: IntegrationProvider,
  config: Record<string, unknown>,
): Promise<IntegrationConfig> {
  const errors: FieldError[] = [];
  const at = (key: string) => `/body/config/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
  if (JSON.stringify(config).length > CONFIG_MAX_CHARS) {
    errors.push({
      field: '/body/config',
      message: `is longer than ${CONFIG_MAX_CHARS} characters as JSON`,
      reason: 'maxLength',
      params: { limit: CONFIG_MAX_CHARS },
    });
  }
  for (const [key, value] of Object.entries(config)) {
    const texts = Array.isArray(value) ? value : [value];
    if (SECRET_KEY.test(key) || texts.some((v) => typeof v === 'string' && SECRET_VALUE.test(v.trim()))) {
      errors.push({
        field: at(key),
        message: 'looks like a secret: send it as `secret`, which is sealed and never shown',
        reason: 'secret_in_config',
      });
    }
  }
  const header = config.authHeader;
  if (header !== undefined) {
    if (!CUSTOM_HEADER_PROVIDERS.has(provider)) {
      errors.push({
        field: at('authHeader'),
        message: 'is only used with generic integrations',
        reason: 'generic_only',
      });
    } else if (
      typeof header !== 'string' ||
      !/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(header) ||
      RESERVED_HEADERS.has(header.toLowerCase())
    ) {
      errors.push({
        field: at('authHeader'),
        message: 'is not a header name a request may carry',
        reason: 'pattern',
      });
    }
  }
  if (errors.length > 0) throw new ValidationError(errors);
  const raw = String(config.baseUrl).trim();
  const url = await outbound.check(raw, { field: '/body/config/baseUrl' });
  if (url.hash !== '' || raw.includes('#')) {
    throw new ValidationError([
      { field: '/body/config/baseUrl', message: 'must not carry a fragment', reason: 'url_fragment' },
    ]);
  }
  // The base URL is shown and audited as the rest of the config is: a credential in its query
  // would be too. Refused without quoting the parameter (its name may be the secret itself).
  const carries = [...url.searchParams].some(
    ([name, value]) =>
      SECRET_KEY.test(name) ||
      SECRET_PARAM.test(name) ||
      SECRET_VALUE.test(name) ||
      SECRET_VALUE.test(value.trim()),
  );
  if (carries) {
    throw new ValidationError([
      {
        field: '/body/config/baseUrl',
        message:
          'carries what looks like a secret in its query: send it as `secret`, which is sealed and never shown',
        reason: 'secret_in_config',
      },
    ]);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { ...config, baseUrl: `${url.protocol}//${url.host}${path}${url.search}` } as IntegrationConfig;
}
