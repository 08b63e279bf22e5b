import { type Column, type SQL, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { ValidationError } from '../errors/app-error.ts';

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'Opaque cursor from a previous page' })),
};

export interface TimeCursor {
  createdAt: Date;
  id: string;
}

/**
 * What `encodeCursor` writes, and nothing else: a cursor is client input that ends up as query
 * parameters, so a forged one must fail here (400), not in PostgreSQL (a uuid or timestamp it
 * cannot parse is an unhandled 500). ISO times with a four-digit year from 0001 on (PostgreSQL
 * has no year 0, and JS writes years past 9999 as `+010000`), and plain 8-4-4-4-12 uuids.
 */
const CURSOR_TIME = /^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const CURSOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cursors are opaque to clients: base64url of the last row's sort key. */
export function encodeCursor(cursor: TimeCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

/**
 * The `[string, uuid]` pair a cursor carries, or undefined when the text is not one. Every
 * cursor of this API is such a pair; what the first element may be is each kind's own check.
 */
function readCursorPair(raw: string): [string, string] | undefined {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      CURSOR_ID.test(value[1])
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // not base64url JSON
  }
  return undefined;
}

const forgedCursor = () =>
  new ValidationError([{ field: '/querystring/cursor', message: 'is not a cursor this list produced' }]);

export function decodeCursor(raw: string | undefined): TimeCursor | undefined {
  if (raw === undefined) return undefined;
  const pair = readCursorPair(raw);
  if (pair && CURSOR_TIME.test(pair[0])) {
    const createdAt = new Date(pair[0]);
    // Round-trips only if it is a real time (no 2024-02-30, no 25:00).
    if (!Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === pair[0]) {
      return { createdAt, id: pair[1] };
    }
  }
  throw forgedCursor();
}

/** Builds `{items, nextCursor}` from a page fetched with limit + 1 rows. */
export function toPage<R extends { createdAt: Date; id: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
) {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(map), nextCursor: more && last ? encodeCursor(last) : null };
}

const MAX_KEY_LENGTH = 512;

/** A cursor over a text sort key and a uuid tie-breaker (lists sorted by name). */
export function encodeKeyCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

export function decodeKeyCursor(raw: string | undefined): { key: string; id: string } | undefined {
  if (raw === undefined) return undefined;
  const pair = readCursorPair(raw);
  if (pair && pair[0].length <= MAX_KEY_LENGTH && !pair[0].includes('\u0000')) {
    return { key: pair[0], id: pair[1] };
  }
  throw forgedCursor();
}

/**
 * "Rows after the cursor" for a list sorted newest first on (time, id), as a row comparison: the
 * form PostgreSQL uses as an index condition (`a < x OR (a = x AND b < y)` is only a filter, and a
 * deep page would read every row before it).
 */
export function keysetBefore(time: Column, id: Column, after: TimeCursor): SQL {
  return sql`(${time}, ${id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`;
}

/** A cursor over a sequence number (the audit log, newest first). */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeSeqCursor(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const match = /^seq:([1-9][0-9]{0,14})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (!match) throw forgedCursor();
  return Number(match[1]);
}
