import { pgConstraint, pgErrorCode } from '../db/errors.ts';

/**
 * The one way an error reaches a log line; the logger applies it to every `err` and `error` key,
 * so no call site decides what of an error is printed.
 *
 * Database errors carry the values of the failed statement: drizzle's message and stack repeat
 * the query's parameters (password and token hashes, email addresses), PostgreSQL's `detail`
 * names the conflicting key (`Key (email)=(a@b.example)`), its `where` and data-exception
 * messages quote the input. Only what identifies the failure is kept: type, SQLSTATE, constraint,
 * a message without values, and the stack frames (never the stack's first line, which repeats
 * the message).
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return {
      type: typeof err,
      stack: '',
      message: err === null || typeof err !== 'object' ? String(err) : 'non-error thrown',
    };
  }
  const code = pgErrorCode(err);
  // Drizzle's DrizzleQueryError keeps the name `Error`; its class says what it is.
  const type = err.name === 'Error' && err.constructor.name ? err.constructor.name : err.name;
  const out: SerializedError = { type, message: '', stack: '' };
  const ownCode = (err as { code?: unknown }).code;
  if (code) out.code = code;
  else if (typeof ownCode === 'string') out.code = ownCode;
  const constraint = pgConstraint(err);
  if (constraint) out.constraint = constraint;
  out.message = safeMessage(err, code);
  const frames = err.stack?.split('\n').filter((line) => /^\s+at /.test(line));
  out.stack = frames?.join('\n') ?? '';
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export interface SerializedError {
  type: string;
  message: string;
  /** Stack frames only. */
  stack: string;
  code?: string;
  constraint?: string;
  cause?: SerializedError;
  [key: string]: unknown;
}

function safeMessage(err: Error, code: string | undefined): string {
  // A wrapped query error (drizzle): its own message is the SQL and its parameters.
  if (err.message.startsWith('Failed query:')) return 'query failed';
  if (!code) return err.message;
  // Data exceptions (class 22) quote the offending input: `invalid input syntax for type uuid: "…"`.
  if (code.startsWith('22')) return err.message.replace(/:\s[\s\S]*$/, ': [value withheld]');
  return err.message;
}
