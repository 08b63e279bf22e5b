import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { CLI_SEALED_TABLE, cliSealedContext } from '../../test/support/sealed-column.ts';
import { type Database, openDatabase } from '../server/platform/db/client.ts';
import { migrateDatabase } from '../server/platform/db/migrate.ts';
import { users } from '../server/platform/db/schema.ts';
import { Secrets } from '../server/platform/secrets/secrets.ts';

const dirs = tempDirs('gatehouse-cli-secrets-');
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');
const PLAIN = (id: number) => `plaintext-${id}-${'q'.repeat(8)}`;

/**
 * The test's database as the spawned command reaches it: its own PostgreSQL database, or an
 * embedded data folder (opened here only while the command is not running: one process at a time).
 */
let pg: TestDatabase | undefined;
let dataDir: string;
let env: Record<string, string>;

async function withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T> {
  if (pg) return fn(pg.database);
  const database = await openDatabase({ dataDir });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function rows(): Promise<{ id: number; secret: string }[]> {
  return withDatabase(async (database) => {
    const result = (await database.db.execute(
      sql.raw(`SELECT id, secret FROM ${CLI_SEALED_TABLE} ORDER BY id`),
    )) as unknown as { rows: { id: number; secret: string }[] };
    return result.rows;
  });
}

beforeAll(async () => {
  dataDir = dirs.make();
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: pg?.url ?? '',
    LOG_LEVEL: 'warn',
    SECRETS_KEY: '',
    SECRETS_KEY_FILE: '',
    SECRETS_PREVIOUS_KEYS: '',
  };
  const old = new Secrets(oldKey);
  await withDatabase(async (database) => {
    // As served: the modules' own tables (users, with its sealed TOTP columns) are there.
    if (!pg) await migrateDatabase(database);
    await database.db.execute(
      sql.raw(`CREATE TABLE ${CLI_SEALED_TABLE} (id integer PRIMARY KEY, secret text)`),
    );
    for (let id = 1; id <= 5; id++) {
      await database.db.execute(
        sql`INSERT INTO ${sql.identifier(CLI_SEALED_TABLE)} VALUES (${id}, ${old.seal(PLAIN(id), cliSealedContext({ id }))})`,
      );
    }
  });
});
afterAll(async () => {
  await pg?.destroy();
  dirs.cleanup();
});

/** `gatehouse` with the test's sealed column declared, as a module declares its own. */
const withColumn = {
  GATEHOUSE_FROM_SOURCE: '1',
  NODE_OPTIONS: `--import tsx --import ${path.resolve('test/support/sealed-column.ts')}`,
};

// Each test spawns the command (a few seconds each on a busy machine).
describe('gatehouse secrets rotate', { timeout: 120_000 }, () => {
  it('refuses a bad SECRETS_KEY, or no key at all, with a clear message and exit code 2', async () => {
    const bad = randomBytes(16).toString('base64');
    const refused = await run(['secrets', 'rotate'], { ...env, SECRETS_KEY: bad });
    expect(refused.code).toBe(2);
    expect(refused.out).toContain('SECRETS_KEY must be the base64 of exactly 32 random bytes');
    expect(refused.out).not.toContain(bad);

    // Never a key made up on the spot: values re-sealed under it would open nowhere else.
    const none = await run(['secrets', 'rotate'], { ...env, SECRETS_PREVIOUS_KEYS: b64(oldKey) });
    expect(none.code).toBe(2);
    expect(none.out).toContain(`${path.join(dataDir, 'secrets-key')} does not exist`);
    expect(none.out).not.toContain(b64(oldKey));
  });

  it('walks the columns the modules declare (TOTP secrets, AI keys, integration secrets) even when none holds a value yet', async () => {
    const { code, out } = await run(['secrets', 'rotate'], { ...env, SECRETS_KEY: b64(newKey) });
    expect(code, out).toBe(0);
    expect(out).toContain(`re-sealed 0 values under key id ${new Secrets(newKey).currentKeyId}`);
    expect(out).toContain('users.totp_secret: 0 re-sealed, 0 could not be opened');
    expect(out).toContain('users.totp_pending_secret: 0 re-sealed, 0 could not be opened');
    // AI providers' keys and integrations' secrets.
    expect(out).toContain('ai_connections.api_key: 0 re-sealed, 0 could not be opened');
    expect(out).toContain('integrations.secret: 0 re-sealed, 0 could not be opened');
  });

  it('exits 1 listing the values it cannot open, and leaves them as they were', async () => {
    const before = await rows();
    const { code, out } = await run(['secrets', 'rotate'], {
      ...env,
      ...withColumn,
      SECRETS_KEY: b64(newKey),
    });
    expect(code).toBe(1);
    expect(out).toContain(`${CLI_SEALED_TABLE}.secret: 0 re-sealed, 5 could not be opened`);
    expect(out).toContain(
      `${CLI_SEALED_TABLE}.secret id 3: cannot open a secret sealed under key id ${new Secrets(oldKey).currentKeyId}`,
    );
    expect(out).toContain('5 values could not be opened');
    for (const secret of [b64(newKey), b64(oldKey), PLAIN(1)]) expect(out).not.toContain(secret);
    expect(await rows()).toEqual(before);
  });

  // Two runs of the command compiled from source (the test's column is declared through tsx).
  it('re-seals every value under the new key with the old one among the previous keys; a second run re-seals nothing', async () => {
    // An account with 2FA on and a set-up pending, both sealed under the old key as the server sealed them.
    const old = new Secrets(oldKey);
    const userId = await withDatabase(async (database) => {
      const [user] = await database.db
        .insert(users)
        .values({ email: 'rotated@example.test', name: 'Rotated', passwordHash: 'x' })
        .returning({ id: users.id });
      const id = user!.id;
      await database.db
        .update(users)
        .set({
          totpSecret: old.seal('TOTPSECRETONE', `totp:${id}`),
          totpPendingSecret: old.seal('TOTPSECRETTWO', `totp-pending:${id}`),
          totpEnabledAt: new Date(),
        })
        .where(eq(users.id, id));
      return id;
    });
    const keys = { SECRETS_KEY: b64(newKey), SECRETS_PREVIOUS_KEYS: b64(oldKey) };
    const first = await run(['secrets', 'rotate', '--batch-size', '2'], { ...env, ...withColumn, ...keys });
    expect(first.out).toContain(`re-sealed 7 values under key id ${new Secrets(newKey).currentKeyId}`);
    expect(first.out).toContain(`${CLI_SEALED_TABLE}.secret: 5 re-sealed, 0 could not be opened`);
    expect(first.out).toContain('users.totp_secret: 1 re-sealed, 0 could not be opened');
    expect(first.out).toContain('users.totp_pending_secret: 1 re-sealed, 0 could not be opened');
    expect(first.out).not.toContain('TOTPSECRET');
    expect(first.code).toBe(0);
    const newOnly = new Secrets(newKey);
    const rotated = await rows();
    for (const row of rotated) expect(newOnly.open(row.secret, cliSealedContext(row))).toBe(PLAIN(row.id));
    const [account] = await withDatabase((database) =>
      database.db.select().from(users).where(eq(users.id, userId)),
    );
    expect(newOnly.open(account!.totpSecret!, `totp:${userId}`)).toBe('TOTPSECRETONE');
    expect(newOnly.open(account!.totpPendingSecret!, `totp-pending:${userId}`)).toBe('TOTPSECRETTWO');

    const second = await run(['secrets', 'rotate'], { ...env, ...withColumn, ...keys });
    expect(second.code).toBe(0);
    expect(second.out).toContain('re-sealed 0 values');
    expect(await rows()).toEqual(rotated);
  });
});
