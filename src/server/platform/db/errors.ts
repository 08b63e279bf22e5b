/** The SQLSTATE of a database error, whether raw (pg, PGlite) or wrapped by drizzle. */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The constraint a unique/foreign-key violation names, if any. */
export function pgConstraint(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const constraint = (e as { constraint?: unknown }).constraint;
    if (typeof constraint === 'string') return constraint;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What of an unexpected error may go to the log. Drizzle puts the query's parameters into its
 * error message, and parameters can be password or token hashes: keep the SQL, drop the values.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.name };
  const query = (err as { query?: unknown }).query;
  if (typeof query === 'string') {
    out.query = query;
    const cause = err.cause as { message?: unknown; code?: unknown } | undefined;
    out.message = typeof cause?.message === 'string' ? cause.message : 'query failed';
    out.code = pgErrorCode(err);
  } else {
    out.message = err.message;
    out.code = pgErrorCode(err);
    out.stack = err.stack;
  }
  return out;
}
