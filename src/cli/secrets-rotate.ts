import { type Config, ConfigError } from '../server/config.ts';
import { MissingSecretsKeyError } from '../server/platform/secrets/keys.ts';

/**
 * `gatehouse secrets rotate`: re-seals every stored secret under the current key. Exit 0 when
 * every value is under it, 1 when some could not be opened (listed by table, column and row id;
 * they are left as they were), 2 on a configuration error (raised before this runs).
 */
export async function runSecretsRotate(config: Config, options: { batchSize: number }): Promise<number> {
  // The app imports every module, and each module declares its sealed columns as it loads.
  await import('../server/app.ts');
  const { openDatabase } = await import('../server/platform/db/client.ts');
  const { loadSecrets } = await import('../server/platform/secrets/secrets.ts');
  const { rotateSecrets } = await import('../server/platform/secrets/rotate.ts');
  let secrets: ReturnType<typeof loadSecrets>;
  try {
    secrets = loadSecrets({
      key: config.secrets.key,
      file: config.secrets.keyFile,
      previousKeys: config.secrets.previousKeys,
      dataDir: config.dataDir,
      // A key made up here would be one no server holds: everything re-sealed under it lost.
      generate: false,
    });
  } catch (err) {
    if (!(err instanceof MissingSecretsKeyError)) throw err;
    throw new ConfigError(
      `${err.message}; set SECRETS_KEY to the key the servers use (the new one, with the old in ` +
        'SECRETS_PREVIOUS_KEYS), or DATA_DIR to the folder that holds their secrets-key',
    );
  }
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
  });
  try {
    const report = await rotateSecrets(database, secrets, { batchSize: options.batchSize });
    const out: string[] = [];
    const values = (n: number) => `${n} value${n === 1 ? '' : 's'}`;
    out.push(`re-sealed ${values(report.resealed)} under key id ${report.keyId}`);
    if (report.columns.length === 0) out.push('no column of sealed secrets is declared yet');
    for (const column of report.columns) {
      out.push(
        `  ${column.column}: ${column.resealed} re-sealed, ${column.failures.length} could not be opened`,
      );
    }
    for (const column of report.columns) {
      for (const failure of column.failures) {
        out.push(`  ${column.column} id ${String(failure.id)}: ${failure.reason}`);
      }
    }
    if (report.failed > 0) {
      out.push(
        `${values(report.failed)} could not be opened and still need${report.failed === 1 ? 's' : ''} their key; ` +
          'keep the old keys in SECRETS_PREVIOUS_KEYS until they are dealt with',
      );
    }
    (report.failed > 0 ? process.stderr : process.stdout).write(`${out.join('\n')}\n`);
    return report.failed > 0 ? 1 : 0;
  } finally {
    await database.close();
  }
}
