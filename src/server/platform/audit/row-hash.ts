import { getTableColumns, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { auditEvents } from '../db/schema.ts';
import { type ChainKind, entryHash } from './entry.ts';
import { entryMacValid, type SigningKey } from './keys.ts';
import { type AuditRow, entryFromRow, PRUNED_ACTION } from './rows.ts';

/** Each column's JSON key (its name in the database) and how the driver's value becomes the row's. */
const COLUMNS = Object.entries(getTableColumns(auditEvents)).map(([key, column]) => ({
  key,
  name: column.name,
  decode: (value: unknown) => column.mapFromDriverValue(value),
}));

/**
 * Up to `limit` entries of a chain from `fromSeq` to `toSeq`, in order, as one text: each row's
 * JSON (`row_to_json`, every column whatever columns the table has) on a line of its own. The
 * main thread then handles one string a batch, however many entries it holds; the hash pool's
 * threads take it apart. JSON text holds no raw line break, so lines are rows.
 */
export async function readRowBatch(
  executor: Executor,
  chainId: string,
  range: { fromSeq: number; toSeq: number },
  limit: number,
): Promise<{ rows: string; count: number; lastSeq: number } | undefined> {
  const [batch] = await executor
    .select({
      rows: sql<string | null>`string_agg(row_to_json(e)::text, E'\\n' ORDER BY e.seq)`,
      count: sql<number>`count(*)::float8`,
      lastSeq: sql<number | null>`max(e.seq)::float8`,
    })
    .from(
      sql`(SELECT * FROM ${auditEvents} WHERE ${auditEvents.chainId} = ${chainId}::uuid
        AND ${auditEvents.seq} >= ${range.fromSeq} AND ${auditEvents.seq} <= ${range.toSeq}
        ORDER BY ${auditEvents.seq} LIMIT ${limit}) AS e`,
    );
  if (!batch?.rows || batch.lastSeq === null) return undefined;
  return { rows: batch.rows, count: Number(batch.count), lastSeq: Number(batch.lastSeq) };
}

/** The row a line of a batch holds, as a select through the schema would have returned it. */
export function rowFromPayload(payload: string): AuditRow {
  const json = JSON.parse(payload) as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const { key, name, decode } of COLUMNS) {
    const value = json[name];
    row[key] = value === null || value === undefined ? null : decode(value);
  }
  return row as AuditRow;
}

/** What verification needs of a batch of entries, one array member per entry. */
export interface HashedBatch {
  seq: number[];
  prevHash: string[];
  /** The hash stored with the entry. */
  hash: string[];
  /** The hash of the entry's content, as listed and exported (`entryFromRow`, `entryHash`). */
  computed: string[];
  macKeyId: string[];
  /** Whether the entry's authenticator is valid under the MAC key given. */
  macValid: boolean[];
  /** A retention entry's `after` (what it removed), null for every other entry. */
  pruned: Array<Record<string, unknown> | null>;
}

/** Hashes and authenticates a batch (see `readRowBatch`); runs on the hash pool's threads. */
export function hashRowBatch(
  kind: ChainKind,
  rows: string,
  mac: Pick<SigningKey, 'keyId' | 'macKey'>,
): HashedBatch {
  const out: HashedBatch = {
    seq: [],
    prevHash: [],
    hash: [],
    computed: [],
    macKeyId: [],
    macValid: [],
    pruned: [],
  };
  for (let start = 0; start < rows.length; ) {
    let end = rows.indexOf('\n', start);
    if (end < 0) end = rows.length;
    const row = rowFromPayload(rows.slice(start, end));
    start = end + 1;
    out.seq.push(row.seq);
    out.prevHash.push(row.prevHash);
    out.hash.push(row.hash);
    out.computed.push(entryHash(entryFromRow(kind, row)));
    out.macKeyId.push(row.macKeyId);
    out.macValid.push(row.macKeyId === mac.keyId && entryMacValid(mac as SigningKey, row.hash, row.mac));
    out.pruned.push(row.action === PRUNED_ACTION ? (row.after ?? null) : null);
  }
  return out;
}
