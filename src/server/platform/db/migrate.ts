import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { packageRoot } from '../package-root.ts';
import type { Database, Schema } from './client.ts';

export const migrationsFolder = path.join(packageRoot(), 'drizzle');

/** Arbitrary constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK_ID = 7_164_285_301;

/**
 * Applies every pending migration. On PostgreSQL several instances may boot at once: a
 * session-level advisory lock makes them take turns, and the later ones find nothing to do. The
 * lock is held on a connection of its own, outside the pool: the migrator needs a pool connection
 * too, and with DATABASE_POOL_SIZE=1 holding the lock on the pool's only one would wait forever.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase<Schema>, { migrationsFolder });
    return;
  }
  if (!database.url)
    throw new Error('migrateDatabase needs the connection string of the PostgreSQL database');
  const lock = new pg.Client({ connectionString: database.url, application_name: 'gatehouse migrate lock' });
  // A connection lost while idle must not crash the process (the server then drops the lock).
  lock.on('error', () => {});
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await migrateNodePg(database.db as unknown as NodePgDatabase<Schema>, { migrationsFolder });
    } finally {
      // Ending the session below releases the lock too, should this fail.
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    }
  } finally {
    await lock.end().catch(() => {});
  }
}

/**
 * The migrations shipped with this build that the database has not applied, by name, in order
 * (applies nothing). As the migrator decides: every migration newer than the last one applied.
 * A database never migrated (no migrations table) has them all pending; any other failure
 * (the database unreachable) is thrown.
 */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const journal = JSON.parse(
    fs.readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: { tag: string; when: number }[];
  };
  let last = -1;
  try {
    const result = (await database.db.execute(
      sql`SELECT max(created_at) AS last FROM drizzle.__drizzle_migrations`,
    )) as unknown as { rows: { last: string | number | null }[] };
    last = Number(result.rows[0]?.last ?? -1);
  } catch (err) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: never migrated.
    const code =
      (err as { code?: string; cause?: { code?: string } }).code ??
      (err as { cause?: { code?: string } }).cause?.code;
    if (code !== '42P01' && code !== '3F000') throw err;
  }
  return journal.entries.filter((e) => e.when > last).map((e) => e.tag);
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
