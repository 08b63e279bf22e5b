import { type SQL, sql } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.ts';
import { type Secrets, SecretsError } from './secrets.ts';

/**
 * A column that holds sealed secrets, declared by the module that owns its table so that
 * `gatehouse secrets rotate` can re-seal it. The context must be built exactly as the module
 * builds it when sealing, from the row's id and the columns named in `contextColumns`.
 */
export interface SealedColumn {
  table: string;
  /** A unique, ordered key of the table (the rotation walks the table in its order). */
  idColumn: string;
  /**
   * On an organization's table, its org_id column: the key is then (orgColumn, idColumn), the
   * table's primary key, which the walk and each update use.
   */
  orgColumn?: string;
  /** The sealed text; NULL means no secret is stored. */
  sealedColumn: string;
  /** Further columns the context is built from, read with each row. */
  contextColumns?: readonly string[];
  context(row: Record<string, unknown>): string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const registry = new Map<string, SealedColumn>();

/**
 * Declares a column of sealed secrets, once, at the top level of the owning module's code that
 * app.ts imports: `gatehouse secrets rotate` loads the app's modules to find every declaration,
 * so a column declared anywhere else would be skipped by the rotation. Returns a function that
 * withdraws the declaration. Two declarations of one column are refused: they could disagree on
 * the context.
 */
export function registerSealedColumn(column: SealedColumn): () => void {
  for (const name of [
    column.table,
    column.idColumn,
    ...(column.orgColumn ? [column.orgColumn] : []),
    column.sealedColumn,
    ...(column.contextColumns ?? []),
  ]) {
    if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a plain SQL identifier`);
  }
  const key = `${column.table}.${column.sealedColumn}`;
  if (registry.has(key)) throw new Error(`the sealed column ${key} is already registered`);
  registry.set(key, column);
  return () => {
    if (registry.get(key) === column) registry.delete(key);
  };
}

/** Every declared column of sealed secrets, as `table.column`. */
export function sealedColumns(): string[] {
  return [...registry.keys()];
}

export interface ColumnRotation {
  /** `table.column` */
  column: string;
  /** Values this run re-sealed under the current key. */
  resealed: number;
  /** Values that could not be opened (a key not held, an altered value), left as they were: the row's id and why. */
  failures: { id: unknown; reason: string }[];
}

export interface RotationReport {
  /** The key every re-sealed value is now under. */
  keyId: string;
  resealed: number;
  failed: number;
  columns: ColumnRotation[];
}

type Row = Record<string, unknown>;

async function rowsOf(executor: Executor, query: SQL): Promise<Row[]> {
  const result = (await executor.execute(query)) as unknown as { rows: Row[] };
  return result.rows;
}

/**
 * Re-seals under the current key every value of every registered column that is sealed under
 * another key, one batch per transaction. Safe while the application runs and while another
 * rotation runs: each batch locks its rows (`FOR UPDATE SKIP LOCKED`: rows another rotation or a
 * writer holds are left to it), and each update also requires the value still to be the one that
 * was opened, so a value changed meanwhile is never overwritten. Idempotent: values already under
 * the current key are not touched, so a second run re-seals nothing.
 *
 * A value that cannot be opened is left as it is and reported by id; the walk goes on past it
 * (rows are visited in id order, each once per run).
 */
export async function rotateSecrets(
  database: Database,
  secrets: Secrets,
  options: { batchSize?: number } = {},
): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const report: RotationReport = { keyId: secrets.currentKeyId, resealed: 0, failed: 0, columns: [] };
  for (const [name, column] of registry) {
    const result = await rotateColumn(database, secrets, column, batchSize);
    report.columns.push({ column: name, ...result });
    report.resealed += result.resealed;
    report.failed += result.failures.length;
  }
  return report;
}

async function rotateColumn(
  database: Database,
  secrets: Secrets,
  column: SealedColumn,
  batchSize: number,
): Promise<Omit<ColumnRotation, 'column'>> {
  const table = sql.identifier(column.table);
  const keyColumns = column.orgColumn ? [column.orgColumn, column.idColumn] : [column.idColumn];
  const key = sql.join(
    keyColumns.map((c) => sql.identifier(c)),
    sql`, `,
  );
  const sealed = sql.identifier(column.sealedColumn);
  const extra = (column.contextColumns ?? [])
    .filter((c) => !keyColumns.includes(c))
    .map((c) => sql`, ${sql.identifier(c)}`);
  const keyOf = (row: Record<string, unknown>) =>
    sql.join(
      keyColumns.map((c) => sql`${row[c]}`),
      sql`, `,
    );
  const matches = (row: Record<string, unknown>) =>
    sql.join(
      keyColumns.map((c) => sql`${sql.identifier(c)} = ${row[c]}`),
      sql` AND `,
    );
  const current = `gh1.${secrets.currentKeyId}.`;
  let resealed = 0;
  const failures: ColumnRotation['failures'] = [];
  let after: Record<string, unknown> | undefined;
  for (;;) {
    const batch = await database.db.transaction(async (tx) => {
      const rows = await rowsOf(
        tx,
        sql`SELECT ${key}, ${sealed}${sql.join(extra)} FROM ${table}
            WHERE ${sealed} IS NOT NULL AND NOT starts_with(${sealed}, ${current})
              ${after ? sql`AND (${key}) > (${keyOf(after)})` : sql``}
            ORDER BY ${key} LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`,
      );
      for (const row of rows) {
        const rowId = row[column.idColumn];
        const old = row[column.sealedColumn] as string;
        const context = column.context(row);
        let fresh: string;
        try {
          fresh = secrets.seal(secrets.open(old, context), context);
        } catch (err) {
          if (!(err instanceof SecretsError)) throw err;
          failures.push({ id: rowId, reason: err.message });
          continue;
        }
        const updated = await rowsOf(
          tx,
          sql`UPDATE ${table} SET ${sealed} = ${fresh} WHERE ${matches(row)} AND ${sealed} = ${old} RETURNING 1`,
        );
        resealed += updated.length;
      }
      return rows;
    });
    if (batch.length < batchSize) break;
    after = batch[batch.length - 1];
  }
  return { resealed, failures };
}
