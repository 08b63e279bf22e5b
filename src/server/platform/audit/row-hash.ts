import { getTableColumns, sql } from 'drizzle-orm';
import { auditEvents } from '../db/schema.ts';
import { type ChainKind, entryHash } from './entry.ts';
import { type AuditRow, entryFromRow } from './log.ts';

/**
 * A stored entry as one text: the row's JSON (`row_to_json`), every column included whatever
 * columns the table has, so that nothing but a string crosses to the thread that hashes it.
 */
export const ROW_PAYLOAD = sql<string>`row_to_json(${auditEvents})::text`;

/** Each column's JSON key (its name in the database) and how the driver's value becomes the row's. */
const COLUMNS = Object.entries(getTableColumns(auditEvents)).map(([key, column]) => ({
  key,
  name: column.name,
  decode: (value: unknown) => column.mapFromDriverValue(value),
}));

/** The row a payload holds, as a select through the schema would have returned it. */
export function rowFromPayload(payload: string): AuditRow {
  const json = JSON.parse(payload) as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const { key, name, decode } of COLUMNS) {
    const value = json[name];
    row[key] = value === null || value === undefined ? null : decode(value);
  }
  return row as AuditRow;
}

/**
 * The hash of each payload's entry as listed and exported (`entryFromRow`, `entryHash`), all
 * concatenated (64 hex digits each): one string is cheaper to send back than many.
 */
export function hashPayloads(kind: ChainKind, payloads: readonly string[]): string {
  let out = '';
  for (const payload of payloads) out += entryHash(entryFromRow(kind, rowFromPayload(payload)));
  return out;
}
