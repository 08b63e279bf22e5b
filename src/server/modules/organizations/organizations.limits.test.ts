import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { as, expectStatus, type Person } from '../../../../test/support/orgs.ts';

const create = (t: TestApp, who: Person, name = 'Limited Labs') =>
  as(t.app, who).post('/api/v1/orgs', { name });
const remove = (t: TestApp, who: Person, orgId: string) =>
  as(t.app, who).delete(`/api/v1/orgs/${orgId}`, { password: who.password });

describe('organizations one user may create in a day', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ organizations: { maxCreatedPerUserPerDay: 3 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are limited (429 rate_limited with Retry-After); deleting one gives no creation back', async () => {
    const me = await signUp(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(expectStatus(await create(t, me), 201).json().id);
    const refused = await create(t, me);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited' });
    expect(refused.json().detail).toContain('3 organizations a day');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expectStatus(await remove(t, me, ids[0]!), 204);
    expectStatus(await create(t, me), 429);
    const orgs = expectStatus(await as(t.app, me).get('/api/v1/orgs'), 200).json().items;
    expect(orgs).toHaveLength(2);
    // Someone else has their own allowance.
    expectStatus(await create(t, await signUp(t.app)), 201);
  });
});

describe('organizations one user may own', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ organizations: { maxOwnedPerUser: 2 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('are limited (409 org_limit) while they own that many live ones', async () => {
    const me = await signUp(t.app);
    const first = expectStatus(await create(t, me), 201).json().id;
    expectStatus(await create(t, me), 201);
    const refused = expectStatus(await create(t, me), 409);
    expect(refused.json()).toMatchObject({ code: 'org_limit' });
    expect(refused.json().detail).toContain('own 2 organizations');
    expectStatus(await remove(t, me, first), 204);
    expectStatus(await create(t, me), 201);
  });
});

describe.skipIf(!onPostgres)('organization creation limits under concurrency (PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ organizations: { maxCreatedPerUserPerDay: 4, maxOwnedPerUser: 3 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('of 20 simultaneous creations by one user, exactly the limit succeed', async () => {
    const me = await signUp(t.app);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => create(t, me, `Burst ${i}`)));
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(codes.filter((c) => c === 409)).toHaveLength(17);
    expect(expectStatus(await as(t.app, me).get('/api/v1/orgs'), 200).json().items).toHaveLength(3);
    const other = await signUp(t.app);
    const more = await Promise.all(Array.from({ length: 10 }, () => create(t, other)));
    expect(more.filter((r) => r.statusCode === 201)).toHaveLength(3);
  });
});
