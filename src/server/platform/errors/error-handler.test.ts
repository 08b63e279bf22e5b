import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, type TestApp } from '../../../../test/support/app.ts';
import { as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';

describe('validation problems: field errors carry a reason and its parameters', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const errorsOf = (body: string) => (JSON.parse(body) as { errors: Array<Record<string, unknown>> }).errors;

  it('names the schema keyword as the reason and passes its parameters (format, minLength, required, unknown field)', async () => {
    const res = expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/signup',
        headers: { origin: ORIGIN },
        payload: { email: 'not-an-email', password: 'violet-anchor-meadow-42', extra: 1 },
      }),
      400,
    );
    expect(res.json().code).toBe('validation_failed');
    const errors = errorsOf(res.body);
    expect(errors).toContainEqual({
      field: '/body/email',
      message: 'must match format "email"',
      reason: 'format',
      params: { format: 'email' },
    });
    // The field the rule concerns is in the pointer, not repeated in params.
    expect(errors).toContainEqual({ field: '/body/name', message: 'is required', reason: 'required' });
    expect(errors).toContainEqual({
      field: '/body/extra',
      message: 'is not a known field',
      reason: 'additionalProperties',
    });
  });

  it('carries limits, allowed values and item counts as params', async () => {
    const org = await createOrg(t.app);
    const empty = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [],
        role: 'viewer',
      }),
      400,
    );
    expect(errorsOf(empty.body)).toContainEqual(
      expect.objectContaining({ field: '/body/emails', reason: 'minItems', params: { limit: 1 } }),
    );
    const bad = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: ['ok@example.test', 'nope'],
        role: 'viewer',
      }),
      400,
    );
    expect(errorsOf(bad.body)).toContainEqual(
      expect.objectContaining({ field: '/body/emails/1', reason: 'format', params: { format: 'email' } }),
    );
    const long = expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}`, { name: 'x'.repeat(500) }),
      400,
    );
    expect(errorsOf(long.body)).toContainEqual(
      expect.objectContaining({
        field: '/body/name',
        reason: 'maxLength',
        params: { limit: expect.any(Number) },
      }),
    );
  });
});

describe('the database unavailable (a restart, a failover)', () => {
  it('answers 503 service_unavailable with Retry-After, not a 500, and only for connection failures', async () => {
    const { default: Fastify } = await import('fastify');
    const { installErrorHandling, isDatabaseUnavailable } = await import('./error-handler.ts');
    const app = Fastify();
    installErrorHandling(app);
    // As drizzle throws them: the driver's error as the cause of "Failed query".
    const failedQuery = (cause: Error & { code?: string }) => new Error('Failed query: select 1', { cause });
    const restart = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    app.get('/restart', async () => {
      throw failedQuery(restart);
    });
    app.get('/terminated', async () => {
      throw failedQuery(new Error('Connection terminated unexpectedly'));
    });
    app.get('/bug', async () => {
      throw failedQuery(Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' }));
    });
    try {
      for (const url of ['/restart', '/terminated']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(503);
        expect(res.headers['retry-after']).toBe('2');
        expect(res.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
      }
      const bug = await app.inject({ method: 'GET', url: '/bug' });
      expect(bug.statusCode).toBe(500);
      expect(bug.json().code).toBe('internal_error');
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: '23505' }))).toBe(false);
      // A write that reached a standby while the primary fails over: try again shortly.
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: '25006' }))).toBe(true);
      // A statement past statement_timeout: the database is too busy; try again shortly.
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: '57014' }))).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe('an ordinary query failure whose parameters read like a lost connection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is not taken for the database being unavailable: the words a client sent are not the driver’s', async () => {
    const { default: Fastify } = await import('fastify');
    const { sql } = await import('drizzle-orm');
    const { installErrorHandling, isDatabaseUnavailable } = await import('./error-handler.ts');
    const app = Fastify();
    installErrorHandling(app);
    // A value a client chose, refused by the database (22P02): drizzle's error quotes the
    // parameters in its message.
    const query = (text: string) => t.app.gatehouse.database.db.execute(sql`SELECT ${text}::int AS n`);
    app.get('/refused', async () => {
      await query('Connection terminated unexpectedly; timeout exceeded when trying to connect');
    });
    try {
      const err = await query('Client has encountered a connection error').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(err)).toBe(false);
      const res = await app.inject({ method: 'GET', url: '/refused' });
      expect(res.statusCode).toBe(500);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(res.json().code).toBe('internal_error');
    } finally {
      await app.close();
    }
  });
});
