import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  signUp,
  type TestApp,
  uniqueEmail,
  verifyEmailInDatabase,
} from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { purgeScimRequests } from './scim.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

async function scimToken(org: Org, name = 'IdP'): Promise<string> {
  const res = expectStatus(
    await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scim-tokens`, { name }),
    201,
  );
  return res.json().token;
}

/** A SCIM client: the IdP with its bearer token, sending application/scim+json. */
function idp(token: string) {
  const send = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
  return {
    get: (url: string) => send('GET', url),
    post: (url: string, body: unknown) => send('POST', url, body),
    put: (url: string, body: unknown) => send('PUT', url, body),
    patch: (url: string, ops: unknown[]) => send('PATCH', url, { schemas: [PATCH_OP], Operations: ops }),
    delete: (url: string) => send('DELETE', url),
  };
}

function scimError(res: LightMyRequestResponse, status: number, scimType?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  const body = res.json();
  expect(body.schemas).toEqual([ERROR]);
  expect(body.status).toBe(String(status));
  if (scimType) expect(body.scimType).toBe(scimType);
  return body;
}

async function memberOf(orgId: string, userId: string) {
  const [row] = await queryRows<{ status: string; role: string }>(
    t.db.database.db,
    sql`SELECT m.status, r.slug AS role FROM memberships m JOIN roles r ON r.id = m.role_id
         WHERE m.org_id = ${orgId} AND m.user_id = ${userId}`,
  );
  return row;
}

async function actions(orgId: string): Promise<string[]> {
  const rows = await queryRows<{ action: string; actor_type: string }>(
    t.db.database.db,
    sql`SELECT action, actor_type FROM audit_events WHERE chain_id = ${orgId} ORDER BY seq`,
  );
  return rows.filter((r) => r.actor_type === 'scim').map((r) => r.action);
}

const oktaUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: 'Ada Lovelace',
  locale: 'en-US',
  externalId: `okta-${userName}`,
  groups: [],
  password: 'never-stored-1',
  active: true,
  ...extra,
});

describe('SCIM tokens', () => {
  it('are shown once, listed with their last use, revocable; a revoked token is refused', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const token = await scimToken(org);
    expect(token).toMatch(/^scim_/);
    const list = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scim-tokens`),
      200,
    ).json();
    expect(list.items).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(token);
    expect(list.items[0].lastUsedAt).toBeNull();
    expect((await idp(token).get('/ServiceProviderConfig')).statusCode).toBe(200);
    const used = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scim-tokens`),
      200,
    ).json();
    expect(used.items[0].lastUsedAt).not.toBeNull();
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/scim-tokens/${list.items[0].id}`),
      204,
    );
    scimError(await idp(token).get('/Users'), 401);
    scimError(await idp('scim_made-up').get('/Users'), 401);
    const [row] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM audit_events WHERE chain_id = ${org.orgId} AND action IN ('scim_token.created', 'scim_token.revoked')`,
    );
    expect(row!.n).toBe(2);
  });

  it('need a plan with SCIM (403 plan_limit on Free)', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scim-tokens`, { name: 'IdP' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('plan_limit');
  });

  it('are given with the base URL the SSO settings name, the one SCIM answers at', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const settings = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/sso`),
      200,
    ).json();
    const base = settings.serviceProvider.scimBaseUrl;
    expect(base).toBe('http://localhost:3000/scim/v2');
    const config = expectStatus(await idp(await scimToken(org)).get('/ServiceProviderConfig'), 200).json();
    expect(config.meta.location).toBe(`${base}/ServiceProviderConfig`);
  });
});

describe('/scim/v2 as Okta sends it', () => {
  it('creates, finds, renames, deactivates, reactivates, groups and deletes, ending in the expected members and roles', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/sso/group-mappings`, {
        idpGroup: 'Engineering',
        role: 'developer',
      }),
      201,
    );
    const c = idp(await scimToken(org));
    const email = uniqueEmail('ada');
    // Okta looks the user up first.
    const none = expectStatus(
      await c.get(`/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`),
      200,
    ).json();
    expect(none.totalResults).toBe(0);
    const created = expectStatus(await c.post('/Users', oktaUser(email)), 201);
    const user = created.json();
    expect(created.headers.location).toContain(`/scim/v2/Users/${user.id}`);
    expect(user.active).toBe(true);
    expect(user.password).toBeUndefined();
    const [account] = await queryRows<{ id: string }>(
      t.db.database.db,
      sql`SELECT id FROM users WHERE email = ${email}`,
    );
    expect(await memberOf(org.orgId, account!.id)).toEqual({ status: 'active', role: 'viewer' });

    // The same POST again (a retry after a timeout): 409 uniqueness, no twin.
    scimError(await c.post('/Users', oktaUser(email.toUpperCase())), 409, 'uniqueness');
    const [twins] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM scim_users WHERE org_id = ${org.orgId}`,
    );
    expect(twins!.n).toBe(1);

    const found = expectStatus(
      await c.get(`/Users?filter=${encodeURIComponent(`userName eq "${email.toUpperCase()}"`)}`),
      200,
    ).json();
    expect(found.totalResults).toBe(1);
    expect(found.Resources[0].id).toBe(user.id);

    // Okta: replace with a value object and no path.
    const renamed = expectStatus(
      await c.patch(`/users/${user.id}`, [
        { op: 'replace', value: { name: { givenName: 'Augusta', familyName: 'King' } } },
      ]),
      200,
    ).json();
    expect(renamed.name).toEqual({ givenName: 'Augusta', familyName: 'King' });

    // Group create with the member: the mapping's role applies at the first group assignment.
    const group = expectStatus(
      await c.post('/Groups', {
        schemas: [GROUP],
        displayName: 'Engineering',
        members: [{ value: user.id }],
      }),
      201,
    ).json();
    expect(group.members.map((m: { value: string }) => m.value)).toEqual([user.id]);
    expect(await memberOf(org.orgId, account!.id)).toEqual({ status: 'active', role: 'developer' });

    // Deactivate: access ends; reactivate: restored with the role it had.
    expectStatus(await c.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }]), 200);
    expect((await memberOf(org.orgId, account!.id))!.status).toBe('removed');
    expect(expectStatus(await c.get(`/Users/${user.id}`), 200).json().active).toBe(false);
    expectStatus(await c.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: true } }]), 200);
    expect(await memberOf(org.orgId, account!.id)).toEqual({ status: 'active', role: 'developer' });

    // Okta empties a group with `replace members []`.
    expectStatus(await c.patch(`/Groups/${group.id}`, [{ op: 'replace', path: 'members', value: [] }]), 204);
    expect(expectStatus(await c.get(`/Groups/${group.id}`), 200).json().members).toEqual([]);

    expectStatus(await c.delete(`/Users/${user.id}`), 204);
    expect((await memberOf(org.orgId, account!.id))!.status).toBe('removed');
    scimError(await c.get(`/Users/${user.id}`), 404);
    expectStatus(await c.delete(`/Groups/${group.id}`), 204);

    expect(await actions(org.orgId)).toEqual([
      'member.provisioned',
      'scim.user_updated',
      // One command: the role change is recorded as it happens, then the group's creation.
      'member.role_changed',
      'scim.group_created',
      'member.deactivated',
      'scim.user_updated',
      'member.reactivated',
      'scim.user_updated',
      'scim.group_updated',
      'member.deprovisioned',
      'scim.group_deleted',
    ]);
  });
});

describe('/scim/v2 as Microsoft Entra ID sends it', () => {
  it('takes UPN userNames, Replace ops with paths, "False" strings, and member removal by filter', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const c = idp(await scimToken(org));
    const work = uniqueEmail('grace');
    const res = expectStatus(
      await c.post('/Users', {
        schemas: [USER, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
        externalId: 'grace',
        userName: 'grace@contoso.onmicrosoft.com',
        active: true,
        displayName: 'Grace Hopper',
        emails: [{ primary: false, type: 'work', value: work }],
        name: { formatted: 'Grace Hopper', familyName: 'Hopper', givenName: 'Grace' },
        title: 'Rear Admiral',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Navy' },
      }),
      201,
    ).json();
    expect(res.title).toBe('Rear Admiral');
    expect(res['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({ department: 'Navy' });
    const [account] = await queryRows<{ id: string }>(
      t.db.database.db,
      sql`SELECT id FROM users WHERE email = ${work}`,
    );
    const other = expectStatus(
      await c.post('/Users', {
        schemas: [USER],
        userName: 'alan@contoso.onmicrosoft.com',
        emails: [{ type: 'work', value: uniqueEmail('alan') }],
      }),
      201,
    ).json();

    expect(
      expectStatus(await c.get(`/Users?filter=${encodeURIComponent('externalId eq "grace"')}`), 200).json()
        .totalResults,
    ).toBe(1);
    expect(
      expectStatus(
        await c.get(`/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${work}"`)}`),
        200,
      )
        .json()
        .Resources.map((u: { id: string }) => u.id),
    ).toEqual([res.id]);

    expectStatus(
      await c.patch(`/Users/${res.id}`, [
        { op: 'Replace', path: 'displayName', value: 'Amazing Grace' },
        { op: 'Replace', path: 'name.givenName', value: 'Amazing' },
      ]),
      200,
    );
    expectStatus(await c.patch(`/Users/${res.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]), 200);
    expect((await memberOf(org.orgId, account!.id))!.status).toBe('removed');
    expectStatus(await c.patch(`/Users/${res.id}`, [{ op: 'Replace', path: 'active', value: 'True' }]), 200);
    expect(await memberOf(org.orgId, account!.id)).toEqual({ status: 'active', role: 'viewer' });

    const group = expectStatus(
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Auditors', externalId: 'g1', members: [] }),
      201,
    ).json();
    expectStatus(
      await c.patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: res.id }] }]),
      204,
    );
    expectStatus(
      await c.patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: other.id }] }]),
      204,
    );
    let members = expectStatus(await c.get(`/Groups/${group.id}`), 200)
      .json()
      .members.map((m: { value: string }) => m.value);
    expect(members.sort()).toEqual([res.id, other.id].sort());
    expectStatus(
      await c.patch(`/Groups/${group.id}`, [{ op: 'Remove', path: `members[value eq "${res.id}"]` }]),
      204,
    );
    members = expectStatus(await c.get(`/Groups/${group.id}`), 200)
      .json()
      .members.map((m: { value: string }) => m.value);
    expect(members).toEqual([other.id]);
    expectStatus(
      await c.patch(`/Groups/${group.id}`, [{ op: 'Remove', path: 'members', value: [{ value: other.id }] }]),
      204,
    );
    expect(expectStatus(await c.get(`/Groups/${group.id}`), 200).json().members).toEqual([]);

    // excludedAttributes, paging
    const listed = expectStatus(
      await c.get(
        `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "auditors"')}`,
      ),
      200,
    ).json();
    expect(listed.Resources).toHaveLength(1);
    expect(listed.Resources[0].members).toBeUndefined();
    expect(expectStatus(await c.get('/Users?startIndex=99999999999999999999'), 200).json()).toMatchObject({
      totalResults: 2,
      Resources: [],
    });
    const paged = expectStatus(await c.get('/Users?startIndex=2&count=1&attributes=userName'), 200).json();
    expect(paged).toMatchObject({ totalResults: 2, startIndex: 2, itemsPerPage: 1 });
    expect(Object.keys(paged.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
  });
});

describe('deprovisioning', () => {
  it("refuses a deactivated member's session and personal token on their very next request", async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const person = await signUp(t.app, { email: uniqueEmail('linked'), name: 'Linus Linked' });
    // An account that has not proven its address is never linked (someone may have signed up with it).
    scimError(await c.post('/Users', oktaUser(person.email)), 409, 'uniqueness');
    expect(await memberOf(org.orgId, person.userId)).toBeUndefined();
    await verifyEmailInDatabase(t.app, person.userId);
    const user = expectStatus(await c.post('/Users', oktaUser(person.email)), 201).json();
    const membersUrl = `/api/v1/orgs/${org.orgId}/members`;
    expectStatus(await as(t.app, person).get(membersUrl), 200);
    const pat = expectStatus(
      await as(t.app, person).post('/api/v1/me/tokens', { name: 'cli', orgId: org.orgId, scopes: ['read'] }),
      201,
    ).json().token;
    const byToken = () =>
      t.app.inject({ method: 'GET', url: membersUrl, headers: { authorization: `Bearer ${pat}` } });
    expectStatus(await byToken(), 200);

    expectStatus(await c.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: false }]), 200);
    expect((await as(t.app, person).get(membersUrl)).statusCode).toBe(404);
    expect((await byToken()).statusCode).toBe(401);
  });

  it('never removes the last Owner: a SCIM error, and nothing changes', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    await verifyEmailInDatabase(t.app, org.owner.userId);
    const user = expectStatus(await c.post('/Users', oktaUser(org.owner.email)), 201).json();
    expect(await memberOf(org.orgId, org.owner.userId)).toEqual({ status: 'active', role: 'owner' });
    scimError(await c.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: 'False' } }]), 409);
    scimError(await c.delete(`/Users/${user.id}`), 409);
    expect(await memberOf(org.orgId, org.owner.userId)).toEqual({ status: 'active', role: 'owner' });
    expect(expectStatus(await c.get(`/Users/${user.id}`), 200).json().active).toBe(true);
  });

  it('leaves a role changed by hand since SCIM set it', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/sso/group-mappings`, {
        idpGroup: 'Admins',
        role: 'admin',
      }),
      201,
    );
    const c = idp(await scimToken(org));
    const email = uniqueEmail('hand');
    const user = expectStatus(await c.post('/Users', oktaUser(email)), 201).json();
    const [account] = await queryRows<{ id: string }>(
      t.db.database.db,
      sql`SELECT id FROM users WHERE email = ${email}`,
    );
    expectStatus(
      await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${account!.id}`, {
        role: 'cyberoper',
      }),
      200,
    );
    expectStatus(
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Admins', members: [{ value: user.id }] }),
      201,
    );
    expect(await memberOf(org.orgId, account!.id)).toEqual({ status: 'active', role: 'cyberoper' });
  });
});

describe('validation', () => {
  it('answers SCIM error documents with the right scimType, never a 5xx', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const token = await scimToken(org);
    const c = idp(token);
    scimError(await c.post('/Users', { schemas: [USER], userName: 'OMalley' }), 400, 'invalidValue');
    scimError(await c.post('/Users', { schemas: [GROUP], userName: 'x@example.test' }), 400, 'invalidValue');
    scimError(await c.post('/Users', { schemas: [USER] }), 400, 'invalidValue');
    scimError(await c.get(`/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter');
    scimError(await c.get(`/Users?filter=${encodeURIComponent('shoeSize eq "9"')}`), 400, 'invalidFilter');
    const user = expectStatus(
      await c.post('/Users', {
        schemas: [USER],
        userName: 'OMalley',
        emails: [{ value: uniqueEmail('om') }],
      }),
      201,
    ).json();
    scimError(
      await c.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'shoeSize', value: 9 }]),
      400,
      'invalidPath',
    );
    scimError(await c.patch(`/Users/${user.id}`, [{ op: 'remove' }]), 400, 'noTarget');
    scimError(
      await c.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: 'maybe' }]),
      400,
      'invalidValue',
    );
    scimError(await c.patch(`/Users/${user.id}`, [{ op: 'jump', path: 'active' }]), 400, 'invalidSyntax');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/scim/v2/Users',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: '{"userName":',
    });
    scimError(bad, 400, 'invalidSyntax');
    scimError(await c.get('/Users/not-a-uuid'), 404);
    scimError(await c.get('/Nothing'), 404);
    scimError(await c.delete('/Users/00000000-0000-4000-8000-000000000000'), 404);
    expect(expectStatus(await c.get('/schemas'), 200).json().totalResults).toBe(3);
    expect(expectStatus(await c.get('/resourcetypes/user'), 200).json().endpoint).toBe('/Users');
  });
});

describe('tenancy', () => {
  it("a token of org A never reads or changes org B's users and groups", async () => {
    const a = await createOrg(t.app, { plan: 'pro' });
    const b = await createOrg(t.app, { plan: 'pro' });
    const ca = idp(await scimToken(a));
    const cb = idp(await scimToken(b));
    const bUser = expectStatus(await cb.post('/Users', oktaUser(uniqueEmail('b'))), 201).json();
    const bGroup = expectStatus(
      await cb.post('/Groups', { schemas: [GROUP], displayName: 'B', members: [{ value: bUser.id }] }),
      201,
    ).json();
    const aUser = expectStatus(await ca.post('/Users', oktaUser(uniqueEmail('a'))), 201).json();
    expect(
      expectStatus(await ca.get('/Users'), 200)
        .json()
        .Resources.map((u: { id: string }) => u.id),
    ).toEqual([aUser.id]);
    expect(expectStatus(await ca.get('/Groups'), 200).json().totalResults).toBe(0);
    for (const [res, kind] of [
      [await ca.get(`/Users/${bUser.id}`), 'read'],
      [await ca.put(`/Users/${bUser.id}`, oktaUser('x@example.test')), 'put'],
      [await ca.patch(`/Users/${bUser.id}`, [{ op: 'replace', path: 'active', value: false }]), 'patch'],
      [await ca.delete(`/Users/${bUser.id}`), 'delete'],
      [await ca.get(`/Groups/${bGroup.id}`), 'read'],
      [await ca.put(`/Groups/${bGroup.id}`, { schemas: [GROUP], displayName: 'X' }), 'put'],
      [await ca.patch(`/Groups/${bGroup.id}`, [{ op: 'replace', path: 'members', value: [] }]), 'patch'],
      [await ca.delete(`/Groups/${bGroup.id}`), 'delete'],
    ] as const) {
      expect(res.statusCode, kind).toBe(404);
    }
    // A group of A cannot take B's user as a member.
    scimError(
      await ca.post('/Groups', { schemas: [GROUP], displayName: 'A', members: [{ value: bUser.id }] }),
      400,
      'invalidValue',
    );
    const after = expectStatus(await cb.get(`/Groups/${bGroup.id}`), 200).json();
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([bUser.id]);
    expect(expectStatus(await cb.get(`/Users/${bUser.id}`), 200).json().active).toBe(true);
    // Each org's log holds its own requests only, never the token.
    let log: { items: Array<{ path: string; status: number }> } = { items: [] };
    for (let i = 0; i < 50 && !log.items.some((e) => e.path === `/scim/v2/Groups/${bGroup.id}`); i++) {
      log = expectStatus(
        await as(t.app, b.owner).get(`/api/v1/orgs/${b.orgId}/scim-log?limit=200`),
        200,
      ).json();
    }
    expect(log.items.every((e) => e.status < 400)).toBe(true);
    const aLog = expectStatus(
      await as(t.app, a.owner).get(`/api/v1/orgs/${a.orgId}/scim-log?limit=200`),
      200,
    ).json();
    expect(aLog.items.some((e: { status: number; error?: string }) => e.status === 404 && e.error)).toBe(
      true,
    );
    expect(JSON.stringify(aLog)).not.toContain('scim_');
  });
});

describe('under pressure', () => {
  it('two identical POSTs at once make one user: 201 and 409 uniqueness', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const body = oktaUser(uniqueEmail('twin'));
    const answers = await Promise.all([c.post('/Users', body), c.post('/Users', body)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    scimError(answers.find((r) => r.statusCode === 409)!, 409, 'uniqueness');
    expect(expectStatus(await c.get('/Users'), 200).json().totalResults).toBe(1);
  });

  it('answers any request with a live token below 500, errors as SCIM error documents', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const user = expectStatus(await c.post('/Users', oktaUser(uniqueEmail('fuzz'))), 201).json();
    const group = expectStatus(
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Fuzz' }),
      201,
    ).json();
    const segment = fc.oneof(
      fc.constantFrom(
        'Users',
        'users',
        'GROUPS',
        'Groups',
        'Schemas',
        'ResourceTypes',
        'ServiceProviderConfig',
        'Bulk',
        '',
      ),
      fc.string({ maxLength: 20 }).map(encodeURIComponent),
    );
    const id = fc.oneof(
      fc.constantFrom(user.id, group.id, '', '%00', '..', 'null'),
      fc.uuid(),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
    );
    const filter = fc.oneof(
      fc.constantFrom(
        'userName eq "x"',
        'emails[type eq "work"].value co "@"',
        'userName pr',
        'displayName sw "F" or externalId eq "1"',
        'members[value eq "x"]',
        '(((',
      ),
      fc.string({ maxLength: 40 }),
    );
    const json = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        schemas: fc.constant([USER]),
        userName: fc.string({ maxLength: 30 }),
        active: fc.oneof(fc.boolean(), fc.string()),
        emails: fc.jsonValue({ maxDepth: 2 }),
      }),
      fc.record({
        schemas: fc.constant([PATCH_OP]),
        Operations: fc.array(
          fc.record({
            op: fc.constantFrom('add', 'Replace', 'remove', 'move'),
            path: fc.option(
              fc.constantFrom(
                'active',
                'members',
                'members[value eq "x"]',
                'name.givenName',
                'emails[type eq "work"].value',
                'nope',
                '[[',
              ),
              { nil: undefined },
            ),
            value: fc.jsonValue({ maxDepth: 2 }),
          }),
          { maxLength: 3 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') as fc.Arbitrary<
          'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
        >,
        segment,
        fc.option(id, { nil: undefined }),
        fc.option(filter, { nil: undefined }),
        json,
        async (method, resource, one, f, body) => {
          const path = `/${resource}${one !== undefined ? `/${one}` : ''}${f !== undefined ? `?filter=${encodeURIComponent(f)}&startIndex=-3&count=abc` : ''}`;
          // Never delete the fixtures: the rest of the run needs something to act on.
          if (method === 'DELETE' && (one === user.id || one === group.id)) return;
          const res =
            method === 'GET'
              ? await c.get(path)
              : method === 'DELETE'
                ? await c.delete(path)
                : await (method === 'POST'
                    ? c.post(path, body)
                    : method === 'PUT'
                      ? c.put(path, body)
                      : c.patch(path, [body]));
          expect(res.statusCode, `${method} ${path} ${JSON.stringify(body)} → ${res.body}`).toBeLessThan(500);
          if (res.statusCode >= 400) scimError(res, res.statusCode);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps the request log within 30 days and 10,000 entries per org', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const db = t.db.database.db;
    await db.execute(sql`
      INSERT INTO scim_requests (org_id, created_at, method, path, status)
      SELECT ${org.orgId}, now() - make_interval(secs => n), 'GET', '/scim/v2/Users', 200 FROM generate_series(1, 10005) n`);
    await db.execute(sql`
      INSERT INTO scim_requests (org_id, created_at, method, path, status)
      VALUES (${org.orgId}, now() - interval '31 days', 'GET', '/scim/v2/Old', 200)`);
    await purgeScimRequests(db);
    // The series was written with one now(), a second apart: the newest 10,000 span 9,999 seconds.
    const [left] = await queryRows<{ n: number; old: number; span: number }>(
      db,
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE path = '/scim/v2/Old')::int AS old,
                 extract(epoch FROM max(created_at) - min(created_at))::int AS span
            FROM scim_requests WHERE org_id = ${org.orgId}`,
    );
    expect(left).toEqual({ n: 10_000, old: 0, span: 9_999 });
  });
});

describe('SCIM with the database unavailable (a restart, a failover)', () => {
  it('answers a SCIM 503 with Retry-After, so the IdP tries again; other failures stay 500', async () => {
    const { default: Fastify } = await import('fastify');
    const { sendScimError } = await import('./scim.routes.ts');
    const app = Fastify();
    // As drizzle throws them: the driver's error as the cause of "Failed query".
    const failedQuery = (cause: Error & { code?: string }) => new Error('Failed query: select 1', { cause });
    app.get('/restart', { errorHandler: sendScimError }, async () => {
      throw failedQuery(
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      );
    });
    app.get('/refused', { errorHandler: sendScimError }, async () => {
      throw failedQuery(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      );
    });
    app.get('/bug', { errorHandler: sendScimError }, async () => {
      throw failedQuery(Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' }));
    });
    try {
      for (const url of ['/restart', '/refused']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(503);
        expect(res.headers['retry-after']).toBe('2');
        expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
        expect(res.json()).toMatchObject({ schemas: [ERROR], status: '503' });
      }
      const bug = await app.inject({ method: 'GET', url: '/bug' });
      expect(bug.statusCode).toBe(500);
      expect(bug.headers['retry-after']).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
