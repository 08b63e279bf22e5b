import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runCli as run, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, onPostgres } from '../../test/support/database.ts';

/** `gatehouse migrate --check`: 1 with the pending migrations listed, 0 with none, 2 on error; applies nothing. */

const dirs = tempDirs('gatehouse-migrate-check-');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  dirs.cleanup();
});

const journal = JSON.parse(fs.readFileSync(path.resolve('drizzle/meta/_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};
const tags = journal.entries.map((e) => e.tag);

/** A database of its own that nothing has migrated: an empty PostgreSQL database, or a new data folder. */
async function freshTarget(): Promise<Record<string, string>> {
  if (!onPostgres) return { DATABASE_URL: '', DATA_DIR: dirs.make() };
  const adminUrl = process.env.DATABASE_URL!;
  const name = `gatehouse_check_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const drop = new pg.Client({ connectionString: adminUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await drop.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { DATABASE_URL: url.toString(), DATA_DIR: dirs.make() };
}

describe(`gatehouse migrate --check (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('exits 1 listing every migration on a database never migrated, applies nothing, then 0 once migrated', {
    timeout: 240_000,
  }, async () => {
    const env = await freshTarget();
    const first = await run(['migrate', '--check'], env);
    expect(first.code, first.out).toBe(1);
    expect(first.out).toContain(`${tags.length} pending migrations:`);
    for (const tag of tags) expect(first.out).toContain(`  ${tag}\n`);
    // Nothing was applied: asked again, the same answer.
    const again = await run(['migrate', '--check'], env);
    expect(again.code, again.out).toBe(1);
    expect(again.out).toBe(first.out);

    const migrate = await run(['migrate'], env);
    expect(migrate.code, migrate.out).toBe(0);
    const after = await run(['migrate', '--check'], env);
    expect(after.code, after.out).toBe(0);
    expect(after.out).toContain('no pending migrations');
  });

  it.runIf(onPostgres)(
    'lists only the migrations newer than the last one applied',
    { timeout: 120_000 },
    async () => {
      const db = await createTestDatabase();
      cleanups.push(() => db.destroy());
      // As a database of the previous release: its last migration not yet applied.
      await db.database.pool!.query(
        'DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations)',
      );
      const result = await run(['migrate', '--check'], { DATABASE_URL: db.url!, DATA_DIR: dirs.make() });
      expect(result.code, result.out).toBe(1);
      expect(result.out).toBe(`1 pending migration:\n  ${tags.at(-1)}\n`);
    },
  );

  it('exits 2 when the database cannot be reached', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const result = await run(['migrate', '--check'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nowhere`,
      DATA_DIR: dirs.make(),
    });
    expect(result.code, result.out).toBe(2);
    expect(result.out).toMatch(/could not check the migrations: .*ECONNREFUSED/);
  });
});
