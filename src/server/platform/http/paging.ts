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

export function decodeCursor(raw: string | undefined): TimeCursor | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      CURSOR_TIME.test(value[0]) &&
      CURSOR_ID.test(value[1])
    ) {
      const createdAt = new Date(value[0]);
      // Round-trips only if it is a real time (no 2024-02-30, no 25:00).
      if (!Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === value[0]) {
        return { createdAt, id: value[1] };
      }
    }
  } catch {
    // fall through
  }
  throw new ValidationError([
    { field: '/querystring/cursor', message: 'is not a cursor this list produced' },
  ]);
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
