import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type BuildOptions, buildApp } from '../../src/server/app.ts';
import { type Config, loadConfig } from '../../src/server/config.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { type MailSink, startMailSink } from './mail.ts';

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  /** Every log line the app wrote, as text. */
  logs: string[];
  /** The real SMTP server (on loopback) the app sends its email to. */
  mail: MailSink;
  /**
   * Waits until the outbox holds no job that is due (optionally of one kind): the work the tested
   * requests enqueued has been carried out (or failed and is scheduled for later).
   */
  drainOutbox(options?: { kind?: string; timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export type ConfigOverrides = {
  [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K];
};

export function testConfig(overrides: ConfigOverrides = {}, url?: string): Config {
  const base = loadConfig({ PUBLIC_URL: 'http://localhost:3000', LOG_LEVEL: 'info' });
  return {
    ...base,
    ...overrides,
    databaseUrl: url,
    session: { ...base.session, ...overrides.session },
    // Test files create many accounts from one address; tests of the sign-up limit lower it.
    loginThrottle: {
      ...base.loginThrottle,
      maxSignupsPerIp: 100_000,
      maxMailsPerIp: 100_000,
      ...overrides.loginThrottle,
    },
    invitations: { ...base.invitations, ...overrides.invitations },
    webhooks: { ...base.webhooks, ...overrides.webhooks },
    outbound: { ...base.outbound, ...overrides.outbound },
    outbox: { ...base.outbox, ...overrides.outbox },
    billing: { ...base.billing, ...overrides.billing },
    // Test files create many organizations for one user; tests of these limits lower them.
    organizations: {
      maxCreatedPerUserPerDay: 100_000,
      maxOwnedPerUser: 100_000,
      purgeGraceDays: base.organizations.purgeGraceDays,
      ...overrides.organizations,
    },
  } as Config;
}

/**
 * What apps on one database share, as instances of one installation do: the SMTP server their
 * outbox workers send to (any instance's worker may send a message another enqueued) and the
 * secrets key (each opens what another sealed).
 */
interface Installation {
  mail: MailSink;
  secretsKeyFile: string;
  apps: number;
}
const installations = new Map<TestDatabase['database'], Installation>();

/**
 * A real app on a real (fresh) database, driven with `app.inject`. A second app on the same
 * database (`db`) joins the first one's installation: the same mail sink and secrets key.
 */
export async function createTestApp(
  overrides: ConfigOverrides = {},
  db?: TestDatabase,
  build: Pick<BuildOptions, 'outboundLookup'> = {},
): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  const joined = installations.get(database.database);
  const mail = joined?.mail ?? (await startMailSink());
  const dataDir =
    overrides.dataDir ??
    path.join(os.tmpdir(), `gatehouse-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  const config = testConfig(
    {
      smtpUrl: mail.url,
      dataDir,
      ...(joined && !overrides.secrets
        ? { secrets: { key: undefined, keyFile: joined.secretsKeyFile, previousKeys: [] } }
        : {}),
      ...overrides,
    },
    database.url,
  );
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const app = await buildApp({ config, database: database.database, logStream, ...build });
  await app.ready();
  const installation = joined ?? {
    mail,
    secretsKeyFile: config.secrets.keyFile ?? path.join(config.dataDir, 'secrets-key'),
    apps: 0,
  };
  installation.apps++;
  installations.set(database.database, installation);
  return {
    app,
    db: database,
    config,
    logs,
    mail,
    drainOutbox: (options) => drainOutbox(app, options),
    close: async () => {
      await app.close();
      if (--installation.apps === 0) {
        installations.delete(database.database);
        await mail.close();
      }
      if (!db) await database.destroy();
    },
  };
}

export const ORIGIN = 'http://localhost:3000';

/** See `TestApp.drainOutbox`. */
export async function drainOutbox(
  app: FastifyInstance,
  options: { kind?: string; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    app.gatehouse.outbox.wake();
    const result = (await app.gatehouse.database.db.execute(sql`
      SELECT count(*)::int AS n FROM outbox_jobs
       WHERE state = 'pending' AND run_at <= now()
         ${options.kind ? sql`AND kind = ${options.kind}` : sql``}`)) as unknown as { rows: { n: number }[] };
    if (result.rows[0]?.n === 0) return;
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${result.rows[0]?.n} due jobs`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'gatehouse_session');
  if (!cookie) throw new Error(`no session cookie in response ${response.statusCode}: ${response.body}`);
  return `gatehouse_session=${cookie.value}`;
}

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@example.test`;

export const STRONG_PASSWORD = 'violet-anchor-meadow-42';

export async function signUp(
  app: FastifyInstance,
  fields: { email?: string; password?: string; name?: string } = {},
): Promise<{ userId: string; email: string; password: string; cookie: string }> {
  const email = fields.email ?? uniqueEmail();
  const password = fields.password ?? STRONG_PASSWORD;
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    headers: { origin: ORIGIN },
    payload: { email, password, name: fields.name ?? 'Test User' },
  });
  if (response.statusCode !== 201) throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  return { userId: response.json().user.id, email, password, cookie: sessionCookie(response) };
}

/**
 * Turns TOTP 2FA on (or off) for a user straight in the database, for tests of what 2FA changes
 * elsewhere (an org's require-2FA), and drops the cached user as the command doing it would.
 */
export async function setTwoFactorInDatabase(t: TestApp, userId: string, on = true): Promise<void> {
  await t.db.database.db.execute(
    sql`UPDATE users SET totp_enabled_at = ${on ? sql`now()` : null} WHERE id = ${userId}`,
  );
  t.app.gatehouse.bus.dropLocal('users', userId);
}

/**
 * Marks a user's address as proven straight in the database (as following the mailed link would),
 * for tests that add a credential: 2FA and passkeys need a verified address.
 */
export async function verifyEmailInDatabase(app: FastifyInstance, userId: string): Promise<void> {
  await app.gatehouse.database.db.execute(
    sql`UPDATE users SET email_verified_at = now() WHERE id = ${userId}`,
  );
  app.gatehouse.bus.dropLocal('users', userId);
}
