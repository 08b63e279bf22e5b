import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './platform/db/client.ts';
import { migrateDatabase } from './platform/db/migrate.ts';

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  stop(): Promise<void>;
}

/** Opens the database, applies migrations, builds the app and listens. */
export async function startServer(config: Config, options: { quiet?: boolean } = {}): Promise<RunningServer> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  try {
    await migrateDatabase(database);
    const app = await buildApp({ config, database, ...options });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let stopping: Promise<void> | undefined;
    return {
      app,
      database,
      url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      stop: () => {
        stopping ??= (async () => {
          await app.close();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
