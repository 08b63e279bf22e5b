import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchema, FastifyServerOptions } from 'fastify';

// ajv-formats ships CommonJS with a default export.
const addAjvFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * ajv-formats' `uuid` also accepts a `urn:uuid:` prefix, which PostgreSQL's uuid type refuses
 * (22P02, an unhandled 500 at the first query). Only the plain 8-4-4-4-12 hex form is a uuid here.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function addFormats(ajv: Ajv): Ajv {
  return addAjvFormats(ajv).addFormat('uuid', UUID);
}

const shared: Options = {
  // Unknown fields are an error the client should hear about, not something to drop silently.
  removeAdditional: false,
  useDefaults: true,
  allErrors: true,
  strict: false,
};

let validators: { body: Ajv; text: Ajv } | undefined;

/**
 * Two validators: bodies are JSON and must arrive with the right types (no "123" for 123);
 * query strings, params and headers are text by nature and are coerced to the declared types.
 * Passed as Fastify's validator factory so that every context, including those that add shared
 * schemas, uses them (a plain setValidatorCompiler is replaced in such contexts).
 *
 * Fastify asks for a validator per context; building Ajv with its formats and meta-schema each
 * time costs a good part of start-up, so one pair serves the process. Shared schemas are named
 * constants (`$id`), added once.
 */
export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: ((externalSchemas: unknown) => {
      validators ??= {
        body: addFormats(new Ajv({ ...shared, coerceTypes: false })),
        text: addFormats(new Ajv({ ...shared, coerceTypes: 'array' })),
      };
      const { body, text } = validators;
      for (const schema of Object.values((externalSchemas ?? {}) as Record<string, { $id?: string }>)) {
        for (const ajv of [body, text]) {
          if (!schema.$id || !ajv.getSchema(schema.$id)) ajv.addSchema(schema);
        }
      }
      return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
        (httpPart === 'body' ? body : text).compile(schema);
    }) as never,
  },
};

// NUL and C0 controls except tab/LF/CR, DEL, and unpaired UTF-16 surrogates.
// biome-ignore lint/complexity/useRegexLiterals: a literal would trip noControlCharactersInRegex
const SAFE_TEXT = new RegExp(
  '[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]',
);

/**
 * A pointer to the first string (value or key) that PostgreSQL cannot store or that has no
 * place in an identity system: NUL and other C0 controls (tab and newlines are allowed), and
 * unpaired UTF-16 surrogates. Returns undefined when the value is clean.
 */
export function findUnsafeText(value: unknown, pointer = '', depth = 0): string | undefined {
  if (depth > 32) return pointer || '/';
  if (typeof value === 'string') return SAFE_TEXT.test(value) ? pointer || '/' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], `${pointer}/${i}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const here = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (SAFE_TEXT.test(key)) return here;
      const found = findUnsafeText(item, here, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

export type RouteSchema = FastifySchema;
