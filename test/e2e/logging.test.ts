import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCommand } from '../../src/server/platform/command.ts';
import { users } from '../../src/server/platform/db/schema.ts';
import { createTestApp, ORIGIN, signUp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ logLevel: 'debug' });
});
afterAll(async () => {
  await t?.close();
});

describe('logs', () => {
  it('carry request ids and never contain passwords, session tokens or cookies', async () => {
    const password = 'a-very-secret-passphrase-91';
    const { email, cookie } = await signUp(t.app, { password });
    const token = cookie.split('=')[1]!;
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
      headers: { origin: ORIGIN },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'wrong-secret-guess-77' },
      headers: { origin: ORIGIN },
    });
    await t.app.inject({
      url: '/api/v1/me?token=query-secret-value',
      headers: { cookie, authorization: 'Bearer bearer-secret-value' },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      payload: { currentPassword: password, newPassword: 'another-secret-phrase-33' },
      headers: { cookie, origin: ORIGIN },
    });
    const all = t.logs.join('\n');
    expect(all).toContain('"requestId"');
    for (const secret of [
      password,
      'wrong-secret-guess-77',
      'another-secret-phrase-33',
      token,
      'query-secret-value',
      'bearer-secret-value',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toContain('$argon2id$');
  });

  it('echo a well-formed incoming request id and replace a malformed one', async () => {
    const ok = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-abc.123' } });
    expect(ok.headers['x-request-id']).toBe('trace-abc.123');
    const bad = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u00e9<script>' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('show a failed query by its type, code and constraint, never its parameter values', async () => {
    const { db } = t.app.gatehouse.database;
    const email = `taken-${Date.now()}@logged.example`;
    const hash = `secret-hash-${Date.now()}`;
    const insert = () => db.insert(users).values({ email, name: 'Logged', passwordHash: hash });
    await insert();
    const duplicate = await insert().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(duplicate).toBeInstanceOf(Error);
    const badInput = await db.execute(sql`SELECT ${'not-a-uuid-secret-value'}::uuid`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(badInput).toBeInstanceOf(Error);

    const before = t.logs.length;
    // However a call site passes the error, the logger's serializer decides what is printed.
    t.app.log.error({ err: duplicate }, 'as err');
    t.app.log.error({ error: duplicate }, 'as error');
    t.app.log.error(duplicate, 'as the object');
    t.app.log.child({ job: 'test' }).warn({ err: badInput }, 'from a child logger');
    // A real call site: a failing after-commit step of a command is logged by the runner.
    await t.app.gatehouse.commands.run(
      defineCommand({
        action: 'test.logged',
        run: async (ctx) => {
          ctx.record({ target: { type: 'test', id: 'logged' } });
          ctx.afterCommit(async () => {
            await insert();
          });
        },
      }),
      { actor: { type: 'system' }, meta: { ip: null, userAgent: null, requestId: null } },
      undefined,
    );
    const lines = t.logs.slice(before);
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toContain(email);
      expect(line).not.toContain(hash);
      expect(line).not.toContain('not-a-uuid-secret-value');
      expect(line).not.toContain('Key (');
      expect(line).not.toContain('params');
    }
    const unique = JSON.parse(lines[0]!);
    expect(unique.err).toMatchObject({
      type: 'DrizzleQueryError',
      code: '23505',
      constraint: 'users_email_key',
      message: 'query failed',
    });
    expect(unique.err.cause.message).toContain('users_email_key');
    expect(unique.err.stack).toMatch(/^\s+at /);
    expect(JSON.parse(lines[1]!).error).toEqual(unique.err);
    expect(JSON.parse(lines[2]!).err).toEqual(unique.err);
    expect(JSON.parse(lines[3]!).err).toMatchObject({ code: '22P02' });
    expect(JSON.parse(lines[4]!)).toMatchObject({
      msg: 'after-commit step of test.logged failed',
      err: { code: '23505', constraint: 'users_email_key' },
    });
  });
});
