import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './platform/db/client.ts';
import { migrateDatabase } from './platform/db/migrate.ts';

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  stop(): Promise<void>;
  /**
   * The graceful stop (SIGTERM): /readyz answers 503 and new requests are turned away while the
   * requests under way finish and the outbox worker finishes its claimed jobs; within `graceMs`
   * (jobs still running then are released for another instance), then `stop()`.
   */
  shutdown(graceMs: number): Promise<void>;
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
    if (typeof config.trustProxy === 'number' && !isLoopbackHost(config.host)) {
      app.log.warn(
        `TRUST_PROXY=${config.trustProxy} trusts the nearest ${config.trustProxy} hop(s) whatever their address: ` +
          `a client that reaches ${config.host}:${config.port} directly can choose its own address ` +
          `with X-Forwarded-For. Let only the proxy reach this port, or set TRUST_PROXY to the proxies' addresses.`,
      );
    }
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await app.close();
        await database.close();
      })();
      return stopping;
    };
    let draining: Promise<void> | undefined;
    const shutdown = (graceMs: number) => {
      draining ??= (async () => {
        const { drain, outbox } = app.gatehouse;
        drain.start();
        let timer: NodeJS.Timeout | undefined;
        const outOfTime = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        });
        // Requests still under way when the grace ends have their connections closed by stop().
        await Promise.all([Promise.race([drain.idle(), outOfTime]), outbox.stop({ graceMs })]);
        clearTimeout(timer);
        if (drain.inFlight > 0) {
          app.log.warn({ requests: drain.inFlight }, 'shutting down with requests still under way');
        }
        await stop();
      })();
      return draining;
    };
    return {
      app,
      database,
      url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      stop,
      shutdown,
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
