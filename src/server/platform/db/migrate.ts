import path from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { packageRoot } from '../package-root.ts';
import type { Database, Schema } from './client.ts';

export const migrationsFolder = path.join(packageRoot(), 'drizzle');

/** Arbitrary constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK_ID = 7_164_285_301;

/**
 * Applies every pending migration. On PostgreSQL several instances may boot at once: a
 * session-level advisory lock makes them take turns, and the later ones find nothing to do.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase<Schema>, { migrationsFolder });
    return;
  }
  const client = await database.pool!.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await migrateNodePg(database.db as unknown as NodePgDatabase<Schema>, { migrationsFolder });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    client.release();
  }
}

let expectedMigrations: number | undefined;

/** True when the database answers and every migration shipped with this build is applied. */
export async function isDatabaseReady(database: Database): Promise<boolean> {
  expectedMigrations ??= readMigrationFiles({ migrationsFolder }).length;
  try {
    const rows = await database.db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`,
    );
    const n = Number((rows as unknown as { rows: { n: number }[] }).rows?.[0]?.n ?? -1);
    return n >= expectedMigrations;
  } catch {
    return false;
  }
}
