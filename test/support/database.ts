import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import pg from 'pg';
import { inject } from 'vitest';
import { type Database, openDatabase, PGLITE_OPTIONS } from '../../src/server/platform/db/client.ts';

export const onPostgres = Boolean(process.env.DATABASE_URL);

export interface TestDatabase {
  database: Database;
  /** Connection string of this test's own PostgreSQL database (undefined on PGlite). */
  url: string | undefined;
  destroy(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a copy of the run's template on PostgreSQL
 * (DATABASE_URL), or a PGlite loaded from the run's migrated snapshot. Real SQL either way.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('pgTemplate');
  if (template) {
    const adminUrl = process.env.DATABASE_URL!;
    const name = `${template}_f${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 20 });
    return {
      database,
      url: url.toString(),
      destroy: async () => {
        await database.close();
        const drop = new pg.Client({ connectionString: adminUrl });
        await drop.connect();
        await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await drop.end();
      },
    };
  }
  const snapshot = fs.readFileSync(inject('pgliteSnapshot'));
  const pglite = await PGlite.create({ ...PGLITE_OPTIONS, loadDataDir: new Blob([snapshot]) });
  const database = await openDatabase({ pglite });
  return { database, url: undefined, destroy: () => database.close() };
}

/** The rows a raw SQL statement returns (the result's shape differs between the two drivers' types). */
export async function queryRows<T>(db: Database['db'], query: SQL): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}
