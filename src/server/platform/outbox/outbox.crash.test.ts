import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from '../../../../test/support/app.ts';
import { startServe, tempDirs } from '../../../../test/support/cli.ts';
import {
  createTestDatabase,
  onPostgres,
  queryRows,
  type TestDatabase,
} from '../../../../test/support/database.ts';
import { type MailSink, startMailSink } from '../../../../test/support/mail.ts';
import { openDatabase } from '../db/client.ts';

/**
 * A real `gatehouse serve` killed with SIGKILL after a change committed its email and before the
 * email went out: started again, the server sends it, once. The first server runs without its
 * worker (OUTBOX_WORKER=off), so the kill lands, every time, between the commit and delivery.
 */

const dirs = tempDirs('gatehouse-outbox-crash-');
let pg: TestDatabase | undefined;
let sink: MailSink;
let env: Record<string, string>;

beforeAll(async () => {
  if (onPostgres) pg = await createTestDatabase();
  sink = await startMailSink();
  env = {
    DATA_DIR: dirs.make(),
    DATABASE_URL: pg?.url ?? '',
    SMTP_URL: sink.url,
    LOG_LEVEL: 'warn',
    AUDIT_SIGNING_KEY: '',
    AUDIT_SIGNING_KEY_FILE: '',
    SECRETS_KEY: '',
    SECRETS_KEY_FILE: '',
    OUTBOX_POLL_MS: '200',
  };
});
afterAll(async () => {
  await pg?.destroy();
  await sink?.close();
  dirs.cleanup();
});

const VERIFICATION = /verify-email#token=/;
const toHim = (email: string) =>
  sink.messages.filter((m) => m.to.includes(email) && VERIFICATION.test(m.text));

/** The verification email's job, read from the database once no server holds it (PGlite) or beside it. */
async function verificationJobs() {
  const database = pg ? pg.database : await openDatabase({ dataDir: env.DATA_DIR! });
  try {
    return await queryRows<{ state: string; attempts: number; payload: unknown; secret: string | null }>(
      database.db,
      sql`SELECT state, attempts, payload, secret FROM outbox_jobs WHERE kind = 'email.send'`,
    );
  } finally {
    if (!pg) await database.close();
  }
}

const STARTED_WITHIN = 90_000;

describe(`a server killed between commit and delivery (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('sends the email once started again', { timeout: 240_000 }, async () => {
    const first = await startServe({ ...env, OUTBOX_WORKER: 'off' }, { timeoutMs: STARTED_WITHIN });
    const email = uniqueEmail('survivor');
    try {
      expect(first.ready, first.output()).toBe(true);
      const signup = await fetch(`http://127.0.0.1:${first.port}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: STRONG_PASSWORD, name: 'Sam Survivor' }),
      });
      // Answered: the change and its email job are committed.
      expect(signup.status).toBe(201);
      await sleep(500);
      expect(toHim(email)).toEqual([]);
    } finally {
      first.child.kill('SIGKILL');
    }
    expect(await first.exited).toBe(null);

    const second = await startServe(env, { timeoutMs: STARTED_WITHIN });
    try {
      expect(second.ready, second.output()).toBe(true);
      const deadline = Date.now() + 60_000;
      while (toHim(email).length === 0 && Date.now() < deadline) await sleep(50);
      expect(toHim(email), second.output()).toHaveLength(1);
      // Time for a second copy to arrive, were one to be sent.
      await sleep(1500);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);

    expect(toHim(email)).toHaveLength(1);
    expect(await verificationJobs()).toEqual([{ state: 'done', attempts: 1, payload: {}, secret: null }]);
  });
});
