import type { Config } from '../server/config.ts';
import { openDatabase } from '../server/platform/db/client.ts';
import { pendingMigrations } from '../server/platform/db/migrate.ts';

/**
 * `gatehouse migrate --check`: which migrations this build would apply, applying none. Exit 0
 * none pending, 1 some pending (listed), 2 the question could not be answered.
 */
export async function runMigrateCheck(config: Config): Promise<number> {
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
    // A database that does not answer fails fast rather than after the pool's default wait.
    if (database.pool) database.pool.options.connectionTimeoutMillis = 10_000;
    const pending = await pendingMigrations(database);
    if (pending.length === 0) {
      process.stdout.write('no pending migrations\n');
      return 0;
    }
    process.stdout.write(
      `${pending.length} pending migration${pending.length === 1 ? '' : 's'}:\n${pending.map((p) => `  ${p}\n`).join('')}`,
    );
    return 1;
  } catch (err) {
    // The driver's own error, not the query wrapper's (which names the query, not the cause).
    const cause = (err as { cause?: unknown }).cause ?? err;
    const reason = (cause as Error).message || (cause as { code?: string }).code || String(cause);
    process.stderr.write(`gatehouse: could not check the migrations: ${reason}\n`);
    return 2;
  } finally {
    await database?.close().catch(() => {});
  }
}
