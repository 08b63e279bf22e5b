/**
 * The statements PostgreSQL ran (pg_stat_statements) that touch an organization's tables without
 * naming org_id, beyond the reasons test/support/org-scoped-statements.ts allows: what would go to
 * every shard were the schema distributed by organization (README, "Past one PostgreSQL").
 *
 * Run it after a workload (the test suite on PostgreSQL, `npm run load`, production traffic) on a
 * server with `shared_preload_libraries = 'pg_stat_statements'`:
 *
 *   DATABASE_URL=postgres://… npx tsx test/load/statements.ts
 *
 * The schema is read from the database DATABASE_URL names; the statements are those of every
 * database of the server. Prints each one with its calls and exits 1 when there is any.
 */
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../src/server/platform/db/client.ts';
import { queryRows } from '../support/database.ts';
import { unscopedStatements } from '../support/org-scoped-statements.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = await openDatabase({ databaseUrl: url, poolSize: 1 });
try {
  await database.db.execute(sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
  const rows = await queryRows<{ query: string; calls: number }>(
    database.db,
    sql`SELECT query, sum(calls)::int AS calls FROM pg_stat_statements GROUP BY query`,
  );
  const calls = new Map(rows.map((r) => [r.query.replace(/\s+/g, ' ').trim(), r.calls]));
  const { checked, unscoped } = await unscopedStatements(database.db, calls.keys());
  console.log(
    `${calls.size} statements, ${checked} on an organization's tables, ${unscoped.length} without org_id`,
  );
  for (const line of unscoped) {
    const text = line.replace(/^\[[^\]]*\] /, '');
    const n = [...calls].find(([q]) => q.startsWith(text))?.[1] ?? 0;
    console.log(`${String(n).padStart(8)}  ${line}`);
  }
  process.exitCode = unscoped.length > 0 ? 1 : 0;
} finally {
  await database.close();
}
