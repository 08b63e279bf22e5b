import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldError, type Problem, type ProblemCode, problemType } from '../../../contracts/problems.ts';
import { AppError } from './app-error.ts';

interface AjvIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Ajv parameters that only locate the field (already in the pointer), never part of the rule. */
const LOCATING_PARAMS = new Set(['missingProperty', 'additionalProperty']);

/**
 * Turns Ajv issues into field errors that name the offending field, with the schema keyword as
 * `reason` and the keyword's own parameters (`{ format: 'email' }`, `{ limit: 12 }`) as `params`,
 * so that a client can say it in its own words instead of repeating the English `message`.
 */
export function fieldErrorsFromValidation(context: string, issues: AjvIssue[]): FieldError[] {
  return issues.map((issue) => {
    let pointer = issue.instancePath ?? '';
    let message = issue.message ?? 'is invalid';
    const ajvParams = issue.params ?? {};
    if (issue.keyword === 'required' && typeof ajvParams.missingProperty === 'string') {
      pointer += `/${ajvParams.missingProperty}`;
      message = 'is required';
    } else if (issue.keyword === 'additionalProperties' && typeof ajvParams.additionalProperty === 'string') {
      pointer += `/${ajvParams.additionalProperty}`;
      message = 'is not a known field';
    }
    const error: FieldError = { field: `/${context}${pointer}`, message };
    if (issue.keyword) {
      error.reason = issue.keyword;
      const params = Object.fromEntries(Object.entries(ajvParams).filter(([k]) => !LOCATING_PARAMS.has(k)));
      if (Object.keys(params).length > 0) error.params = params;
    }
    return error;
  });
}

const FASTIFY_CODES: Record<string, { status: number; code: ProblemCode; title: string; detail: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    title: 'Unsupported media type',
    detail: 'Send the request body as application/json.',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'payload_too_large',
    title: 'Payload too large',
    detail: 'The request body exceeds the size limit.',
  },
  FST_ERR_CTP_INVALID_JSON: {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The request body is not valid JSON.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The request declares a JSON body but sends none.',
  },
  FST_ERR_BAD_URL: {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The URL contains an invalid percent-encoding.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'malformed_request',
    title: 'URI too long',
    detail: 'A path segment of the URL is longer than allowed.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'malformed_request',
    title: 'Malformed request',
    detail: 'The Content-Length header does not match the body.',
  },
};

function statusCode(status: number): ProblemCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'permission_denied';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'service_unavailable';
  return status >= 500 ? 'internal_error' : 'malformed_request';
}

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  code: ProblemCode,
  title: string,
  detail: string,
  errors?: FieldError[],
  params?: Record<string, unknown>,
  extensions?: Pick<Problem, 'loginUrl'>,
): FastifyReply {
  const body: Problem = { type: problemType(code), title, status, detail, code, requestId: request.id };
  if (errors) body.errors = errors;
  if (params) body.params = params;
  if (extensions) Object.assign(body, extensions);
  return reply.status(status).type('application/problem+json; charset=utf-8').send(body);
}

/**
 * Fastify's `frameworkErrors` option: errors the router raises before any hook or the error
 * handler runs (a URL with a bad %-encoding, a path parameter over `maxParamLength`). Without it
 * Fastify writes its own `application/json` body; with it they are problem documents like the rest.
 * Pass it to the Fastify constructor: `Fastify({ frameworkErrors: frameworkErrorHandler, ... })`.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  const known = FASTIFY_CODES[error.code];
  if (known) {
    sendProblem(reply, request, known.status, known.code, known.title, known.detail);
    return;
  }
  request.log.error({ err: error }, 'unhandled framework error');
  sendInternalError(reply, request);
}

/**
 * Fastify's `clientErrorHandler` option: requests Node's HTTP parser refuses before Fastify sees
 * them (request line or headers over the size limit: 431; unparsable: 400; too slow: 408). The
 * default writes a bare `application/json` body; this writes the same answer as a problem document.
 * Pass it to the Fastify constructor: `Fastify({ clientErrorHandler, ... })`.
 */
export function clientErrorHandler(error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request line or headers exceed the size limit.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive.']
        : [400, 'The request is not valid HTTP.'];
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const problem: Problem = {
    type: problemType('malformed_request'),
    title,
    status,
    detail,
    code: 'malformed_request',
  };
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** A 500 that says nothing of its cause: the details are in the log, under the request id. */
function sendInternalError(reply: FastifyReply, request: FastifyRequest): FastifyReply {
  return sendProblem(
    reply,
    request,
    500,
    'internal_error',
    'Internal error',
    'Something went wrong on our side. The request id identifies it in the server log.',
  );
}

const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is restarting or the session was ended
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: a write reached a standby, mid-failover
  '57014', // query_canceled: statement_timeout, the database too busy to answer in time
  '08000',
  '08001',
  '08003',
  '08004',
  '08006', // connection exceptions
]);
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);
/** How node-postgres and its pool begin the messages of a lost or refused connection. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
];

/** Seconds a client is asked to wait when the database is unavailable (Retry-After). */
export const DATABASE_RETRY_AFTER = '2';

/**
 * The database could not be reached or dropped the connection (a restart, a failover): nothing
 * the request did is at fault and it may be tried again. Drizzle wraps the driver's error as its
 * `cause`, so the chain is walked. Messages are matched at their start only: drizzle's own message
 * quotes the query's parameters, and what a client sent is never taken for the driver's words.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)))
      return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) return true;
    e = cause;
  }
  return false;
}

/** The one error handler: problem+json for everything, 5xx details only in the log. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply) => {
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return sendProblem(
        reply,
        request,
        error.status,
        error.code,
        error.title,
        error.message,
        error.errors,
        error.params,
        error.extensions,
      );
    }
    const fe = error as FastifyError;
    if (Array.isArray(fe.validation)) {
      const errors = fieldErrorsFromValidation(fe.validationContext ?? 'body', fe.validation as AjvIssue[]);
      return sendProblem(
        reply,
        request,
        400,
        'validation_failed',
        'Validation failed',
        'The request has invalid fields.',
        errors,
      );
    }
    const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (known) return sendProblem(reply, request, known.status, known.code, known.title, known.detail);
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Framework-level client errors (bad headers, odd encodings): safe to say what went wrong.
      return sendProblem(
        reply,
        request,
        status,
        statusCode(status),
        'Bad request',
        fe.message || 'Bad request.',
      );
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', DATABASE_RETRY_AFTER);
      return sendProblem(
        reply,
        request,
        503,
        'service_unavailable',
        'Service unavailable',
        'The database is unavailable for a moment. Try again shortly.',
      );
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendInternalError(reply, request);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      request,
      404,
      'not_found',
      'Not found',
      `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}.`,
    ),
  );
}
