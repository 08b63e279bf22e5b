/**
 * Connection tests ("does this service take these credentials?"): one request through the guard,
 * and its outcome in a code and words. Shared by every "Test connection" (AI providers,
 * integrations); the modules add what a good answer means for them. Never throws, never logs.
 */
import { Type } from 'typebox';
import { CONNECTION_TEST_CODES, type ConnectionTestCode } from '../../../contracts/integrations.ts';
import { type Outbound, OutboundError, type OutboundRequest, type OutboundResponse } from './outbound.ts';

/** A connection test waits this long for the whole answer. */
export const PROBE_TIMEOUT_MS = 10_000;
/** What a test reads of an answer (a model list is a few dozen KiB). */
export const PROBE_MAX_RESPONSE_BYTES = 512 * 1024;
/** The service's own message is cut to this. */
const MESSAGE_CHARS = 300;

/** A connection test's outcome as routes answer it (src/contracts/integrations.ts ConnectionTestResult). */
export const ConnectionTestResultSchema = Type.Object({
  ok: Type.Boolean(),
  status: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The HTTP status the service answered with (null: no answer)',
  }),
  code: Type.Unsafe<ConnectionTestCode>({
    type: 'string',
    enum: [...CONNECTION_TEST_CODES],
    description: 'What happened, for clients to put in their own words',
  }),
  detail: Type.String({ description: 'What happened, in English words' }),
  providerMessage: Type.Union([Type.String(), Type.Null()], {
    description: "The service's own error message (any secret masked)",
  }),
  latencyMs: Type.Integer(),
  testedAt: Type.String({ format: 'date-time' }),
});

export type ProbeOutcome =
  | { answered: true; response: OutboundResponse; latencyMs: number }
  | { answered: false; code: ConnectionTestCode; detail: string; latencyMs: number };

/**
 * Sends one request through the outbound guard. An answer of any status is `answered`; a refusal
 * by the guard or a failure to get an answer is described (code and words naming no header).
 */
export async function probe(
  outbound: Outbound,
  url: string,
  request: OutboundRequest,
): Promise<ProbeOutcome> {
  const started = performance.now();
  const timeoutMs = request.timeoutMs ?? PROBE_TIMEOUT_MS;
  try {
    const response = await outbound.request(url, {
      maxResponseBytes: PROBE_MAX_RESPONSE_BYTES,
      ...request,
      timeoutMs,
    });
    return { answered: true, response, latencyMs: elapsed(started) };
  } catch (err) {
    return { answered: false, ...describeFailure(err, timeoutMs), latencyMs: elapsed(started) };
  }
}

const elapsed = (started: number) => Math.max(0, Math.round(performance.now() - started));

/** A request that got no answer, in a code and words. */
export function describeFailure(
  err: unknown,
  timeoutMs = PROBE_TIMEOUT_MS,
): { code: ConnectionTestCode; detail: string } {
  if (!(err instanceof OutboundError)) {
    return { code: 'connect', detail: 'The request could not be sent.' };
  }
  switch (err.reason) {
    case 'not_allowed':
      // The guard's words name a kind of address, never the installation's own addresses.
      return { code: 'url_not_allowed', detail: `The address is not allowed: ${err.message}.` };
    case 'dns':
      return { code: 'dns', detail: `The host name did not resolve (${err.message}).` };
    case 'timeout':
      return { code: 'timeout', detail: `No answer within ${Math.round(timeoutMs / 1000)} seconds.` };
    case 'tls':
      return { code: 'tls', detail: `The TLS handshake failed (${err.message}).` };
    case 'too_large':
      return { code: 'too_large', detail: 'The answer was too large.' };
    case 'protocol':
      return { code: 'protocol', detail: `The answer was not valid HTTP (${err.message}).` };
    default:
      return { code: 'connect', detail: `The connection failed (${err.message}).` };
  }
}

/** The code of an answer that is not a success. */
export function statusCode(status: number): ConnectionTestCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'service_error';
  return 'http_error';
}

/**
 * An answer that is not a success, in words: `who` is the service ("The provider"), `credential`
 * what it was given ("the API key"). The service's own message follows when it sent one.
 */
export function describeStatus(
  status: number,
  words: { who: string; credential: string; notFound: string },
  message: string | null,
): string {
  const said = message ? `: ${message}` : '.';
  switch (statusCode(status)) {
    case 'unauthorized':
      return `${words.who} refused ${words.credential} (401)${said}`;
    case 'forbidden':
      return `${words.who} refused access with ${words.credential} (403)${said}`;
    case 'not_found':
      return `${words.who} answered 404 (not found): ${words.notFound}${message ? ` (${message})` : ''}.`;
    case 'rate_limited':
      return `${words.who} is limiting requests (429): try again later${message ? ` (${message})` : ''}.`;
    case 'service_error':
      return `${words.who} failed to answer (${status})${said}`;
    default:
      if (status >= 300 && status < 400) {
        return `${words.who} answered ${status}, a redirect (redirects are not followed): check the address.`;
      }
      return `${words.who} answered ${status}${said}`;
  }
}

/** The answer's body as JSON, or undefined when it is not (or was cut short). */
export function jsonOf(response: OutboundResponse): unknown {
  if (response.truncated) return undefined;
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const field = (value: unknown, key: string): unknown =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;

/**
 * The error message an API's JSON answer carries (OpenAI and Azure `error.message`, GitHub
 * `message`, OAuth `error_description`, Slack `error`, …), on one line, cut short, with every
 * secret in `secrets` masked (a service may quote the credential it refused). Null when none.
 */
export function answerMessage(response: OutboundResponse, secrets: readonly string[]): string | null {
  const body = jsonOf(response);
  const error = field(body, 'error');
  const firstError = field(body, 'errors');
  // Words before codes: OAuth's `error` is a code its `error_description` explains.
  const candidates = [
    field(error, 'message'),
    field(body, 'message'),
    field(body, 'error_description'),
    field(body, 'detail'),
    Array.isArray(firstError) ? field(firstError[0], 'message') : undefined,
    error,
  ];
  const found = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  if (found === undefined) return null;
  // One line of printable text (no control characters a log or a page would act on), bounded
  // before masking: only a few hundred characters are kept anyway.
  const line = found
    .slice(0, MESSAGE_CHARS * 4)
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const masked = maskSecrets(line, secrets);
  return masked.length > MESSAGE_CHARS ? `${masked.slice(0, MESSAGE_CHARS - 1)}…` : masked;
}

/** Shorter runs of a secret than this are not taken for a quote of it. */
const QUOTED_RUN = 8;

/**
 * `text` with every secret masked: each whole occurrence, and any word that quotes a run of
 * QUOTED_RUN or more of a secret's characters (a service that echoes part of a key it refused).
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  const runs = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.split(secret).join('[redacted]');
    for (let i = 0; i + QUOTED_RUN <= secret.length; i++) runs.add(secret.slice(i, i + QUOTED_RUN));
  }
  if (runs.size === 0) return out;
  return out.replace(/[^\s"'`,;()[\]{}<>]+/g, (word) => {
    for (let i = 0; i + QUOTED_RUN <= word.length; i++) {
      if (runs.has(word.slice(i, i + QUOTED_RUN))) return '[redacted]';
    }
    return word;
  });
}
