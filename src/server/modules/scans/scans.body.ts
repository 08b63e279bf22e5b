import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { SARIF_MEDIA_TYPE, SCAN_UPLOAD_LIMIT } from '../../../contracts/scans.ts';
import { AppError } from '../../platform/errors/app-error.ts';

/** What a scan upload may send on the wire (compressed or not); the console tells it to users. */
export const SCAN_BODY_LIMIT = SCAN_UPLOAD_LIMIT;
/**
 * What a gzip-encoded upload may grow to once decompressed: SARIF compresses about tenfold, so
 * a full 10 MiB upload fits, and a gzip bomb stops here instead of at the memory's end.
 */
export const SCAN_DECODED_LIMIT = 64 * 1024 * 1024;

export { SARIF_MEDIA_TYPE };

const gunzip = promisify(zlib.gunzip) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** Requests whose whole body was the SARIF log (`application/sarif+json`): errors point at `/body`. */
const sarifBodies = new WeakSet<FastifyRequest>();

export const sarifIsWholeBody = (request: FastifyRequest) => sarifBodies.has(request);

const tooLarge = (limit: number, what: string) =>
  new AppError(
    413,
    'payload_too_large',
    'Payload too large',
    `The request body ${what} exceeds ${Math.round(limit / (1024 * 1024))} MiB.`,
    { params: { limit } },
  );

const malformed = (detail: string) => new AppError(400, 'malformed_request', 'Malformed request', detail);

async function readBody(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  limit: number,
): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, 'is larger than allowed: it');
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of payload as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) throw tooLarge(limit, 'is larger than allowed: it');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/**
 * Scanners copy terminal output into results (ANSI colours, stray control characters). Everywhere
 * else the platform refuses such text; in a scan's log it is dropped instead, string by string, so
 * a real scanner's file is taken as it is. Only a log that escapes a control character or a
 * surrogate somewhere pays for the reviver.
 */
const ESCAPED_CONTROL = /\\u(00[01][0-9a-fA-F]|007[fF]|[dD][89a-fA-F][0-9a-fA-F]{2})/;
// biome-ignore lint/complexity/useRegexLiterals: a literal would trip noControlCharactersInRegex
const ANSI_SEQUENCE = new RegExp('\\u001b\\[[0-9;?]*[ -/]*[@-~]', 'g');
// biome-ignore lint/complexity/useRegexLiterals: a literal would trip noControlCharactersInRegex
const CONTROL = new RegExp('[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]', 'g');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
function withoutControls(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value.replace(ANSI_SEQUENCE, '').replace(CONTROL, '').replace(LONE_SURROGATE, '\ufffd');
}

/**
 * JSON bodies of the scans routes, which may be gzip-encoded (`Content-Encoding: gzip`), and the
 * SARIF log sent as the whole body (`application/sarif+json`, what `curl --data-binary` of a
 * results file sends). The route's `bodyLimit` bounds the bytes on the wire; the decompressed
 * size is bounded separately, and both answer 413 before the body is held whole.
 */
export function installScanBodyParser(
  app: FastifyInstance,
  decodedLimit: (request: FastifyRequest) => number,
): void {
  // Only in this module's context: every other route keeps Fastify's own JSON parser.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', SARIF_MEDIA_TYPE],
    async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
      const limit = request.routeOptions.bodyLimit ?? SCAN_BODY_LIMIT;
      let body = await readBody(request, payload, limit);
      const encoding = (request.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
      if (encoding === 'gzip' || encoding === 'x-gzip') {
        const max = decodedLimit(request);
        try {
          body = await gunzip(body, { maxOutputLength: max });
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
            throw tooLarge(max, 'once decompressed');
          }
          throw malformed('The request body is not valid gzip data.');
        }
      } else if (encoding !== 'identity') {
        throw new AppError(
          415,
          'unsupported_media_type',
          'Unsupported media type',
          'Send the body as it is, or gzip-encoded (Content-Encoding: gzip).',
        );
      }
      if (body.length === 0) throw malformed('The request declares a JSON body but sends none.');
      let value: unknown;
      const text = body.toString('utf8');
      try {
        value = secureJson.parse(text, ESCAPED_CONTROL.test(text) ? withoutControls : undefined, {
          protoAction: 'error',
          constructorAction: 'error',
        });
      } catch {
        throw malformed('The request body is not valid JSON.');
      }
      const type = (request.headers['content-type'] ?? '').toString().toLowerCase();
      if (type.startsWith(SARIF_MEDIA_TYPE)) {
        sarifBodies.add(request);
        return { sarif: value };
      }
      return value;
    },
  );
}
