import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { onPostgres } from '../../../../test/support/database.ts';
import { type Database, openDatabase } from './client.ts';
import { migrateDatabase, migrationsFolder } from './migrate.ts';

const expected = readMigrationFiles({ migrationsFolder }).length;

/** A new, empty PostgreSQL database (not a copy of the migrated template); dropped after the test. */
const created: string[] = [];
async function emptyDatabase(): Promise<string> {
  const name = `gatehouse_mig_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  created.push(name);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

const opened: Database[] = [];
async function open(url: string, poolSize: number): Promise<Database> {
  const database = await openDatabase({ databaseUrl: url, poolSize });
  opened.push(database);
  return database;
}

afterEach(async () => {
  for (const d of opened.splice(0)) await d.close().catch(() => {});
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

async function appliedHashes(database: Database): Promise<string[]> {
  const result = await database.db.execute<{ hash: string }>(
    sql`SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id`,
  );
  return (result as unknown as { rows: { hash: string }[] }).rows.map((r) => r.hash);
}

/** Fails within `ms` instead of hanging until the test times out. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe.runIf(onPostgres)('migrateDatabase on PostgreSQL', () => {
  it('completes with a pool of one connection', async () => {
    const database = await open(await emptyDatabase(), 1);
    await within(migrateDatabase(database), 20_000);
    expect(await appliedHashes(database)).toHaveLength(expected);
    // Nothing left to do the second time, and still no deadlock.
    await within(migrateDatabase(database), 20_000);
    expect(await appliedHashes(database)).toHaveLength(expected);
  });

  it('applies each migration once when several run at once on a fresh database', async () => {
    const url = await emptyDatabase();
    const a = await open(url, 1);
    const b = await open(url, 1);
    const c = await open(url, 10);
    await within(
      Promise.all([migrateDatabase(a), migrateDatabase(b), migrateDatabase(c), migrateDatabase(a)]),
      30_000,
    );
    const hashes = await appliedHashes(c);
    expect(hashes).toHaveLength(expected);
    expect(new Set(hashes).size).toBe(expected);
  });

  it('leaves no migration lock behind', async () => {
    const database = await open(await emptyDatabase(), 1);
    await migrateDatabase(database);
    const locks = await database.db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect((locks as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
  });
});
