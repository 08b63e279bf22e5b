import { type Config, ConfigError } from '../server/config.ts';
import type { Actor } from '../server/platform/actor.ts';
import type { CommandDefinition } from '../server/platform/command.ts';

/** What the operator typed wrong (a missing reason, an unknown plan, slug or email): exit 2. */
export class UsageError extends Error {}

/** The longest reason kept (it goes into the audit entry). */
const MAX_REASON = 1000;

/** `--reason`, required for every operator write: one line of text saying why. */
export function requireReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (text === '') {
    throw new UsageError(
      '--reason "<why>" is required: every operator change is recorded in the audit log with its reason',
    );
  }
  if (text.length > MAX_REASON) throw new UsageError(`--reason is longer than ${MAX_REASON} characters`);
  // Control characters (C0, DEL, C1) and invisible or bidi format characters could rewrite or
  // reorder what an auditor reads later, in a terminal or an export.
  if (/[\p{Cc}\p{Cf}]/u.test(text)) throw new UsageError('--reason must be one line of plain text');
  return text;
}

const OPERATOR: Actor = Object.freeze({ type: 'operator' });

/**
 * Runs operator commands on the server's own database, through the same command runner (and so
 * the same audit writer) as every request: each change and its audit entry commit together, and
 * running servers (PostgreSQL) drop what they cached about it before the command returns.
 */
export interface OperatorSession {
  run<I, O>(command: CommandDefinition<I, O>, input: I): Promise<O>;
  read<T>(fn: (db: import('../server/platform/db/client.ts').Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openOperator(config: Config, options: { writes: boolean }): Promise<OperatorSession> {
  const { openDatabase } = await import('../server/platform/db/client.ts');
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
  });
  if (!options.writes) {
    return {
      run: () => Promise.reject(new Error('this operator session only reads')),
      read: (fn) => fn(database.db),
      close: () => database.close(),
    };
  }
  const closers: Array<() => Promise<void>> = [() => database.close()];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
  };
  try {
    const { loadSigningKey, MissingSigningKeyError } = await import('../server/platform/audit/keys.ts');
    const { AuditLog } = await import('../server/platform/audit/log.ts');
    const { createInvalidationBus, InvalidatingCache } = await import('../server/platform/cache/cache.ts');
    const { SessionService } = await import('../server/platform/auth/sessions.ts');
    const { loadSecrets } = await import('../server/platform/secrets/secrets.ts');
    const { MissingSecretsKeyError } = await import('../server/platform/secrets/keys.ts');
    const { CommandRunner } = await import('../server/platform/command.ts');
    const { alertOwnersOfPromotion } = await import('../server/modules/members/index.ts');
    const logError = (err: unknown, msg: string) =>
      process.stderr.write(`gatehouse: ${msg}: ${err instanceof Error ? err.message : String(err)}\n`);
    let signingKey: ReturnType<typeof loadSigningKey>;
    try {
      // Entries must carry the servers' own authenticator, or their verification refuses them.
      signingKey = loadSigningKey({
        pem: config.audit.signingKeyPem,
        file: config.audit.signingKeyFile,
        dataDir: config.dataDir,
        generate: false,
      });
    } catch (err) {
      if (!(err instanceof MissingSigningKeyError)) throw err;
      throw new ConfigError(
        `${err.message}; set AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) as the servers have it, or DATA_DIR to the folder that holds their audit-signing-key.pem`,
      );
    }
    const bus = await createInvalidationBus(database, config.databaseUrl, (msg) =>
      process.stderr.write(`gatehouse: ${msg}\n`),
    );
    closers.push(() => bus.close());
    const sessions = new SessionService(
      database.db,
      new InvalidatingCache('sessions', bus, { max: 1, ttlMs: 1 }),
      new InvalidatingCache('users', bus, { max: 1, ttlMs: 1 }),
      config.session,
      logError,
    );
    let secrets: ReturnType<typeof loadSecrets>;
    try {
      // Emails are sealed into their outbox jobs: under the servers' key, or no server opens them.
      secrets = loadSecrets({
        key: config.secrets.key,
        file: config.secrets.keyFile,
        previousKeys: config.secrets.previousKeys,
        dataDir: config.dataDir,
        generate: false,
      });
    } catch (err) {
      if (!(err instanceof MissingSecretsKeyError)) throw err;
      throw new ConfigError(
        `${err.message}; set SECRETS_KEY (or SECRETS_KEY_FILE) as the servers have it, or DATA_DIR to the folder that holds their secrets-key`,
      );
    }
    const audit = new AuditLog(database, signingKey, logError);
    closers.push(() => audit.close());
    const runner = new CommandRunner(
      database,
      bus,
      // Jobs this command enqueues (its emails) are carried out by the servers' outbox workers: at
      // once on PostgreSQL (the commit's wake notice), on the embedded database when it next starts.
      { sessions, secrets, audit, outbox: { wake: () => undefined }, alertPromotion: alertOwnersOfPromotion },
      audit,
      logError,
    );
    const meta = { ip: null, userAgent: null, requestId: null };
    return {
      run: (command, input) => runner.run(command, { actor: OPERATOR, meta }, input),
      read: (fn) => fn(database.db),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
