import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from '../../test/support/app.ts';
import { startServe, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, onPostgres, queryRows, type TestDatabase } from '../../test/support/database.ts';
import { openDatabase } from '../server/platform/db/client.ts';

/**
 * A real `gatehouse serve` sent SIGTERM while a request is under way and an outbox job is
 * claimed: it keeps answering /readyz (503) and turns new requests away, finishes the request,
 * releases the job it could not finish in time (another instance takes it at once), and exits 0.
 * A second SIGTERM makes it exit 1 at once.
 */

const dirs = tempDirs('gatehouse-shutdown-');
let pg: TestDatabase | undefined;
/** An SMTP server that accepts connections and never greets: an email job hangs in its attempt. */
let blackHole: net.Server;
const held: net.Socket[] = [];
let smtpUrl: string;

beforeAll(async () => {
  if (onPostgres) pg = await createTestDatabase();
  blackHole = net.createServer((socket) => {
    held.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  smtpUrl = `smtp://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => blackHole?.close(resolve));
  await pg?.destroy();
  dirs.cleanup();
});

function envFor(): Record<string, string> {
  return {
    DATA_DIR: dirs.make(),
    DATABASE_URL: pg?.url ?? '',
    SMTP_URL: smtpUrl,
    LOG_LEVEL: 'info',
    AUDIT_SIGNING_KEY: '',
    AUDIT_SIGNING_KEY_FILE: '',
    SECRETS_KEY: '',
    SECRETS_KEY_FILE: '',
    METRICS_TOKEN: '',
    OUTBOX_POLL_MS: '200',
    // Claimed jobs get 3 s (half of it), the rest is for closing.
    SHUTDOWN_TIMEOUT_MS: '6000',
  };
}

/** GET on a connection of its own (never one the pool kept). */
function getFresh(
  port: number,
  path: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/**
 * A sign-up whose body arrives in two parts: the request is under way (its headers read) until
 * `finish` sends the rest. Resolves with the status line's code and the body.
 */
function slowSignUp(port: number, email: string) {
  const body = JSON.stringify({ email, password: STRONG_PASSWORD, name: 'Slow Sam' });
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => {
    received += d;
  });
  const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
    socket.on('end', () => resolve({ status: Number(received.split(' ')[1]), text: received }));
    socket.on('error', reject);
  });
  socket.write(
    `POST /api/v1/auth/signup HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 20)}`,
  );
  return { finish: () => socket.write(body.slice(20)), answered };
}

async function emailJobs(env: Record<string, string>) {
  const database = pg ? pg.database : await openDatabase({ dataDir: env.DATA_DIR! });
  try {
    return await queryRows<{
      state: string;
      attempts: number;
      locked_by: string | null;
      locked_until: Date | null;
    }>(
      database.db,
      sql`SELECT state, attempts, locked_by, locked_until FROM outbox_jobs WHERE kind = 'email.send' ORDER BY created_at`,
    );
  } finally {
    if (!pg) await database.close();
  }
}

const STARTED_WITHIN = 90_000;

describe(`gatehouse serve on SIGTERM (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('drains: readyz 503, new requests 503, the request under way answered, the claimed job released, exit 0', {
    timeout: 180_000,
  }, async () => {
    const env = envFor();
    const server = await startServe(env, { timeoutMs: STARTED_WITHIN });
    let exitCode: number | null | undefined;
    try {
      expect(server.ready, server.output()).toBe(true);
      // A sign-up: its verification email is claimed and hangs on the silent SMTP server.
      const first = await fetch(`http://127.0.0.1:${server.port}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: uniqueEmail('first'), password: STRONG_PASSWORD, name: 'First' }),
      });
      expect(first.status).toBe(201);
      const deadline = Date.now() + 30_000;
      while (held.length === 0 && Date.now() < deadline) await sleep(50);
      expect(held.length, 'the email job reached the SMTP server').toBe(1);
      if (pg) {
        const [job] = await emailJobs(env);
        expect(job).toMatchObject({ state: 'pending', attempts: 1 });
        expect(job!.locked_by).not.toBeNull();
      }

      const slow = slowSignUp(server.port, uniqueEmail('slow'));
      await sleep(500);
      server.child.kill('SIGTERM');
      await sleep(300);

      const ready = await getFresh(server.port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'draining' });
      expect((await getFresh(server.port, '/healthz')).status).toBe(200);
      const refused = await getFresh(server.port, '/api/v1/me');
      expect(refused.status).toBe(503);
      expect(refused.headers.connection).toBe('close');
      expect(JSON.parse(refused.body)).toMatchObject({ status: 503, code: 'service_unavailable' });

      // The request under way since before the signal is carried out and answered.
      slow.finish();
      const answer = await slow.answered;
      expect(answer.status, answer.text).toBe(201);

      exitCode = await server.exited;
    } finally {
      if (exitCode === undefined) server.child.kill('SIGKILL');
    }
    expect(exitCode, server.output()).toBe(0);
    expect(server.output()).toMatch(/their jobs are released for another instance/);

    // The hung attempt's job is due again, its lease cleared; the slow sign-up's was never claimed.
    const jobs = await emailJobs(env);
    expect(jobs).toHaveLength(2);
    for (const job of jobs)
      expect(job).toMatchObject({ state: 'pending', locked_by: null, locked_until: null });
    expect(jobs.map((j) => j.attempts)).toEqual([1, 0]);
    // Nothing answers on the port any more.
    await expect(getFresh(server.port, '/healthz')).rejects.toThrow();
  });

  it('exits 1 at once on a second SIGTERM', { timeout: 180_000 }, async () => {
    const env = { ...envFor(), SHUTDOWN_TIMEOUT_MS: '60000' };
    const server = await startServe(env, { timeoutMs: STARTED_WITHIN });
    let exitCode: number | null | undefined;
    try {
      expect(server.ready, server.output()).toBe(true);
      // Under way, and never finished: the drain would wait for it.
      slowSignUp(server.port, uniqueEmail('stuck'));
      await sleep(500);
      server.child.kill('SIGTERM');
      await sleep(500);
      expect((await getFresh(server.port, '/readyz')).status).toBe(503);
      const sent = Date.now();
      server.child.kill('SIGTERM');
      exitCode = await server.exited;
      expect(Date.now() - sent).toBeLessThan(10_000);
    } finally {
      if (exitCode === undefined) server.child.kill('SIGKILL');
    }
    expect(exitCode, server.output()).toBe(1);
  });
});
