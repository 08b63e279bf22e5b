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
      typeof value[1] === 'string'
    ) {
      const createdAt = new Date(value[0]);
      if (!Number.isNaN(createdAt.getTime()) && /^[0-9a-f-]{36}$/i.test(value[1]))
        return { createdAt, id: value[1] };
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
