import { Command } from 'commander';
import { ConfigError, loadConfig } from '../server/config.ts';
import { startServer } from '../server/main.ts';
import { openDatabase } from '../server/platform/db/client.ts';
import { migrateDatabase } from '../server/platform/db/migrate.ts';

function fail(err: unknown): never {
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

export function buildCli(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: organizations, members, roles, SSO, tokens and a tamper-evident audit log.')
    .showHelpAfterError();

  program
    .command('serve')
    .description(
      'Start the server (embedded database unless DATABASE_URL is set); applies pending migrations first',
    )
    .action(async () => {
      const config = loadConfig();
      const server = await startServer(config);
      const where = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`;
      server.app.log.info(
        `Gatehouse is listening on ${server.url} (public URL ${config.publicUrl}), using ${where}`,
      );
      let signals = 0;
      const stop = () => {
        if (++signals > 1) process.exit(1);
        server.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .action(async () => {
      const config = loadConfig();
      const database = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        poolSize: 2,
      });
      try {
        await migrateDatabase(database);
        process.stdout.write('migrations applied\n');
      } finally {
        await database.close();
      }
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    fail(err);
  }
}
