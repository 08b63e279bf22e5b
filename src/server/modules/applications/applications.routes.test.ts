import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';

describe('applications', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Person };
  const base = () => `/api/v1/orgs/${org.orgId}/applications`;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates, reads, edits and deletes, each change audited', async () => {
    const created = expectStatus(
      await as(t.app, org.owner).post(base(), {
        name: ' Payments API ',
        repositoryUrl: 'https://git.example.test/acme/payments',
        description: 'Card flows',
      }),
      201,
    ).json();
    expect(created).toMatchObject({
      name: 'Payments API',
      repositoryUrl: 'https://git.example.test/acme/payments',
    });
    expect(expectStatus(await as(t.app, org.owner).get(`${base()}/${created.id}`), 200).json().id).toBe(
      created.id,
    );
    const edited = expectStatus(
      await as(t.app, org.owner).patch(`${base()}/${created.id}`, { name: 'Payments', repositoryUrl: null }),
      200,
    ).json();
    expect(edited).toMatchObject({ name: 'Payments', repositoryUrl: null, description: 'Card flows' });
    expectStatus(await as(t.app, org.owner).delete(`${base()}/${created.id}`), 204);
    expect((await as(t.app, org.owner).get(`${base()}/${created.id}`)).statusCode).toBe(404);
    const events = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events`),
      200,
    ).json();
    const actions = events.items.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 3)).toEqual([
      'application.deleted',
      'application.updated',
      'application.created',
    ]);
  });

  it('names are unique per organization whatever their case (409), not across organizations', async () => {
    expectStatus(await as(t.app, org.owner).post(base(), { name: 'Storefront' }), 201);
    const dup = await as(t.app, org.owner).post(base(), { name: 'STOREFRONT' });
    expect(dup.statusCode).toBe(409);
    const other = await createOrg(t.app);
    expectStatus(
      await as(t.app, other.owner).post(`/api/v1/orgs/${other.orgId}/applications`, { name: 'storefront' }),
      201,
    );
    const second = expectStatus(await as(t.app, org.owner).post(base(), { name: 'Checkout' }), 201).json();
    expect(
      (await as(t.app, org.owner).patch(`${base()}/${second.id}`, { name: 'storefront' })).statusCode,
    ).toBe(409);
  });

  it('takes only http(s) URLs for the repository', async () => {
    for (const repositoryUrl of [
      'javascript:alert(1)',
      'ftp://x.test/repo',
      'https://user:pw@x.test/r',
      'https://',
      'not a url',
    ]) {
      const res = await as(t.app, org.owner).post(base(), {
        name: `bad ${repositoryUrl.length}`,
        repositoryUrl,
      });
      expect(res.statusCode, repositoryUrl).toBe(400);
      expect(res.json().errors[0].field).toBe('/body/repositoryUrl');
    }
  });

  it('lists newest first with a cursor, and by exact name', async () => {
    const fresh = await createOrg(t.app);
    const url = `/api/v1/orgs/${fresh.orgId}/applications`;
    for (const name of ['a', 'b', 'c']) expectStatus(await as(t.app, fresh.owner).post(url, { name }), 201);
    const first = expectStatus(await as(t.app, fresh.owner).get(`${url}?limit=2`), 200).json();
    expect(first.items.map((a: { name: string }) => a.name)).toEqual(['c', 'b']);
    const rest = expectStatus(
      await as(t.app, fresh.owner).get(`${url}?limit=2&cursor=${first.nextCursor}`),
      200,
    ).json();
    expect(rest).toMatchObject({ items: [{ name: 'a' }], nextCursor: null });
    const named = expectStatus(await as(t.app, fresh.owner).get(`${url}?name=B`), 200).json();
    expect(named.items.map((a: { name: string }) => a.name)).toEqual(['b']);
  });

  it('permissions and tenancy: read for everyone, manage and delete for those who hold them, 404 across orgs', async () => {
    const app = expectStatus(await as(t.app, org.owner).post(base(), { name: 'guarded' }), 201).json();
    const developer = await addMember(t.app, org, 'developer', {}, t.mail);
    const cyberoper = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    expectStatus(await as(t.app, developer).get(base()), 200);
    expectStatus(await as(t.app, developer).get(`${base()}/${app.id}`), 200);
    for (const res of [
      await as(t.app, developer).post(base(), { name: 'nope' }),
      await as(t.app, developer).patch(`${base()}/${app.id}`, { name: 'nope' }),
      await as(t.app, cyberoper).delete(`${base()}/${app.id}`),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('permission_denied');
    }
    expectStatus(await as(t.app, cyberoper).patch(`${base()}/${app.id}`, { description: 'ok' }), 200);
    const role = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        name: 'Blind',
        slug: 'blind',
        permissions: ['members:read'],
      }),
      201,
    ).json();
    const blind = await addMember(t.app, org, role.slug, {}, t.mail);
    expect((await as(t.app, blind).get(base())).statusCode).toBe(403);
    expect((await as(t.app, blind).get(`${base()}/${app.id}`)).statusCode).toBe(403);
    const other = await createOrg(t.app);
    const theirs = `/api/v1/orgs/${other.orgId}/applications`;
    expect(
      (await as(t.app, org.owner).get(`${base()}/${app.id}`.replace(org.orgId, other.orgId))).statusCode,
    ).toBe(404);
    const otherApp = expectStatus(await as(t.app, other.owner).post(theirs, { name: 'x' }), 201).json();
    for (const res of [
      await as(t.app, org.owner).get(`${base()}/${otherApp.id}`),
      await as(t.app, org.owner).patch(`${base()}/${otherApp.id}`, { name: 'y' }),
      await as(t.app, org.owner).delete(`${base()}/${otherApp.id}`),
    ]) {
      expect(res.statusCode).toBe(404);
    }
  });
});
