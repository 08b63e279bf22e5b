import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, uniqueEmail } from '../../test/support/app.ts';
import { runCli as run, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, queryRows, type TestDatabase } from '../../test/support/database.ts';
import { INSTANCE_CHAIN_ID } from '../server/platform/audit/entry.ts';
import { openDatabase } from '../server/platform/db/client.ts';
import { migrateDatabase } from '../server/platform/db/migrate.ts';
import { auditEvents } from '../server/platform/db/schema.ts';
import { EMAIL_SEND, emailJob } from '../server/platform/mail/queue.ts';
import { enqueue } from '../server/platform/outbox/index.ts';

/**
 * `gatehouse outbox list` and `gatehouse outbox retry`, spawned as operators run them. As in the
 * operator commands' tests: on PostgreSQL the app stays up while the command runs; the embedded
 * database serves one process at a time, so there the app is closed meanwhile and opened again on
 * the same data folder after (its worker then takes the retried job up).
 */

const dirs = tempDirs('gatehouse-cli-outbox-');
let pg: TestDatabase | undefined;
let dataDir: string;
let env: Record<string, string>;
let live: TestApp | undefined;

async function app(): Promise<TestApp> {
  if (live) return live;
  if (pg) {
    live = await createTestApp({ dataDir }, pg);
    return live;
  }
  const database = await openDatabase({ dataDir });
  await migrateDatabase(database);
  const t = await createTestApp({ dataDir }, { database, url: undefined, destroy: () => database.close() });
  live = {
    ...t,
    close: async () => {
      await t.close();
      await database.close();
    },
  };
  return live;
}

async function outbox(args: string[]) {
  if (!pg && live) {
    await live.close();
    live = undefined;
  }
  return run(['outbox', ...args], env);
}

beforeAll(async () => {
  dataDir = dirs.make();
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: pg?.url ?? '',
    LOG_LEVEL: 'warn',
    AUDIT_SIGNING_KEY: '',
    AUDIT_SIGNING_KEY_FILE: '',
    SECRETS_KEY: '',
    SECRETS_KEY_FILE: '',
    SMTP_URL: '',
  };
  await app();
});
afterAll(async () => {
  await live?.close();
  await pg?.destroy();
  dirs.cleanup();
});

/** An email that was given up (its attempts spent while the SMTP server was away). */
async function deadEmail(to: string): Promise<string> {
  const t = await app();
  const job = emailJob(t.app.gatehouse.secrets, { to, subject: 'Hello again', text: 'Delivered at last.\n' });
  const db = t.app.gatehouse.database.db;
  await db.transaction(async (tx) => {
    await enqueue(tx, { ...job, runAt: new Date(Date.now() + 86_400_000) });
    await tx.execute(sql`
      UPDATE outbox_jobs SET state = 'dead', attempts = 9, finished_at = now(),
             last_error = 'connect ECONNREFUSED 127.0.0.1:2525'
       WHERE id = ${job.id}`);
  });
  return job.id!;
}

async function jobState(id: string) {
  const rows = await queryRows<{ state: string; attempts: number; payload: unknown; secret: string | null }>(
    (await app()).app.gatehouse.database.db,
    sql`SELECT state, attempts, payload, secret FROM outbox_jobs WHERE id = ${id}`,
  );
  return rows[0];
}

// Each test spawns the command several times (a few seconds each on a busy machine).
describe('gatehouse outbox', { timeout: 120_000 }, () => {
  it('list --dead shows the jobs given up, with their last error; --json has them whole', async () => {
    const id = await deadEmail(uniqueEmail('list'));
    const listed = await outbox(['list', '--dead']);
    expect(listed.code, listed.out).toBe(0);
    const line = listed.out.split('\n').find((l) => l.startsWith(id));
    expect(line).toMatch(/email\.send\s+dead\s+9\s+-\s+\S+Z\s+"connect ECONNREFUSED 127\.0\.0\.1:2525"/);
    expect(listed.out.split('\n')[0]).toMatch(/^id\s+kind\s+state\s+attempts\s+org\s+when\s+last error$/);

    const json = await outbox(['list', '--dead', '--json', '--kind', EMAIL_SEND]);
    expect(json.code, json.out).toBe(0);
    const items = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(items.find((j) => j.id === id)).toMatchObject({
      kind: EMAIL_SEND,
      state: 'dead',
      attempts: 9,
      orgId: null,
      lastError: 'connect ECONNREFUSED 127.0.0.1:2525',
    });
    expect(items.every((j) => j.state === 'dead')).toBe(true);
    // Nothing of what the job carries is shown.
    expect(json.out).not.toContain('gh1.');

    const bad = await outbox(['list', '--state', 'stuck']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('unknown state "stuck"');
  });

  it('retry makes a dead job due again: the worker sends it, once, and the retry is audited with the reason', async () => {
    const to = uniqueEmail('retried');
    const id = await deadEmail(to);

    const noReason = await outbox(['retry', id]);
    expect(noReason.code).toBe(2);
    expect(noReason.out).toContain('--reason');
    const notAnId = await outbox(['retry', 'last-one', '--reason', 'SMTP is back']);
    expect(notAnId.code).toBe(2);
    const unknown = await outbox([
      'retry',
      '00000000-0000-4000-8000-000000000000',
      '--reason',
      'SMTP is back',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('No outbox job has the id');
    expect(await jobState(id)).toMatchObject({ state: 'dead' });

    const retried = await outbox(['retry', id, '--reason', 'SMTP is back']);
    expect(retried.code, retried.out).toBe(0);
    expect(retried.out).toContain(`email.send job ${id} is due again (attempt 10)`);

    const t = await app();
    const message = await t.mail.latestTo(to, 0, /Delivered at last/);
    expect(message.subject).toBe('Hello again');
    await t.drainOutbox();
    expect(await jobState(id)).toEqual({ state: 'done', attempts: 10, payload: {}, secret: null });
    expect(t.mail.messages.filter((m) => m.to.includes(to))).toHaveLength(1);

    const rows = await t.app.gatehouse.database.db
      .select({ action: auditEvents.action, actorType: auditEvents.actorType, after: auditEvents.after })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, INSTANCE_CHAIN_ID), eq(auditEvents.targetId, id)));
    expect(rows).toEqual([
      {
        action: 'outbox.job_retried',
        actorType: 'operator',
        after: { state: 'pending', reason: 'SMTP is back' },
      },
    ]);

    // Done now: there is nothing to retry.
    const again = await outbox(['retry', id, '--reason', 'once more']);
    expect(again.code).toBe(1);
    expect(again.out).toContain('The job is done, not dead');
  });
});
