/** A Gatehouse in the benchmark's own process, on a database of its own that goes away after. */
import { type Config, loadConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/main.ts';
import { call, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

export interface BenchGatehouse {
  server: RunningServer;
  config: Config;
  /** `PostgreSQL (database gatehouse_bench_...)` or `embedded PGlite (fresh data dir)`. */
  database: string;
}

/**
 * Starts Gatehouse on 127.0.0.1 (any free port) on a fresh PostgreSQL database of the server of
 * DATABASE_URL (loopback only) when `postgres`, else on a fresh PGlite data dir; `fn` runs
 * against it, then it stops and the database and data dir are removed.
 */
export async function withBenchGatehouse(
  label: string,
  options: { postgres: boolean; env?: Record<string, string> },
  fn: (gatehouse: BenchGatehouse) => Promise<void>,
): Promise<void> {
  const dataDir = tempDir(label);
  let created: { name: string; url: string } | undefined;
  let server: RunningServer | undefined;
  try {
    if (options.postgres) created = await createBenchDatabase();
    const config = loadConfig({
      ...(created ? { DATABASE_URL: created.url } : {}),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      ...options.env,
    });
    server = await startServer(config, { quiet: true });
    await fn({
      server,
      config,
      database: created ? `PostgreSQL (database ${created.name})` : 'embedded PGlite (fresh data dir)',
    });
  } finally {
    await server?.stop();
    if (created) await dropBenchDatabase(created.name);
    removeDir(dataDir);
  }
}

/** A JSON POST with a session cookie that must answer 201; its parsed body. */
export async function created<T>(base: string, path: string, body: unknown, cookie: string): Promise<T> {
  const res = await call(base, 'POST', path, body, cookie);
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as T;
}
