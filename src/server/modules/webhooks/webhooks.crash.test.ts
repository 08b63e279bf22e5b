import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from '../../../../test/support/app.ts';
import { startServe, tempDirs } from '../../../../test/support/cli.ts';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../../../test/support/database.ts';
import { type MailSink, startMailSink } from '../../../../test/support/mail.ts';
import { type Receiver, startReceiver, verifyDelivery } from '../../../../test/support/receiver.ts';

/**
 * A real `gatehouse serve` killed with SIGKILL after an event committed and before its webhook
 * delivery went out: started again, the server delivers it, once. The first server runs without
 * its worker (OUTBOX_WORKER=off), so the kill lands, every time, between the commit and delivery.
 */

const dirs = tempDirs('gatehouse-webhook-crash-');
let pg: TestDatabase | undefined;
let sink: MailSink;
let receiver: Receiver;
let env: Record<string, string>;

beforeAll(async () => {
  if (onPostgres) pg = await createTestDatabase();
  sink = await startMailSink();
  receiver = await startReceiver();
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
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1',
  };
});
afterAll(async () => {
  await receiver?.close();
  await pg?.destroy();
  await sink?.close();
  dirs.cleanup();
});

const STARTED_WITHIN = 120_000;

/** A JSON request to the server on `port` with the session `cookie`. */
async function send(port: number, method: string, path: string, body: unknown, cookie = '') {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const session = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('gatehouse_session='))
    ?.split(';')[0];
  return { status: res.status, json: (await res.json()) as Record<string, string>, session };
}

describe(`a server killed between an event's commit and its delivery (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('delivers it once started again', { timeout: 360_000 }, async () => {
    const first = await startServe({ ...env, OUTBOX_WORKER: 'off' }, { timeoutMs: STARTED_WITHIN });
    let scanId = '';
    let secret = '';
    try {
      expect(first.ready).toBe(true);
      const signup = await send(first.port, 'POST', '/auth/signup', {
        email: uniqueEmail('crash'),
        password: STRONG_PASSWORD,
        name: 'Casey Crash',
      });
      expect(signup.status).toBe(201);
      const cookie = signup.session!;
      const org = await send(first.port, 'POST', '/orgs', { name: 'Crash Co' }, cookie);
      const hook = await send(
        first.port,
        'POST',
        `/orgs/${org.json.id}/webhooks`,
        { url: receiver.url, events: ['scan.started'] },
        cookie,
      );
      expect(hook.status).toBe(201);
      secret = hook.json.secret!;
      const app = await send(
        first.port,
        'POST',
        `/orgs/${org.json.id}/applications`,
        { name: 'svc' },
        cookie,
      );
      const scan = await send(
        first.port,
        'POST',
        `/orgs/${org.json.id}/scans`,
        { applicationId: app.json.id, modules: ['secrets'] },
        cookie,
      );
      // Answered: the scan and its event are committed.
      expect(scan.status).toBe(201);
      scanId = scan.json.id!;
      await sleep(500);
      expect(receiver.received).toEqual([]);
    } finally {
      first.child.kill('SIGKILL');
    }
    expect(await first.exited).toBe(null);

    const second = await startServe(env, { timeoutMs: STARTED_WITHIN });
    try {
      expect(second.ready).toBe(true);
      await receiver.until((r) => r.length > 0, 30_000);
      // Time for a second copy to arrive, were one to be sent.
      await sleep(1500);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
    expect(receiver.received).toHaveLength(1);
    const body = verifyDelivery(receiver.received[0]!, secret);
    expect(body).toMatchObject({ type: 'scan.started', data: { scan: { id: scanId } } });
  });
});
