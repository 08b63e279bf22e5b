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
