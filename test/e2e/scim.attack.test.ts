import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { suspendOrganization } from '../../src/server/modules/operator/index.ts';
import { matches, readFilter } from '../../src/server/modules/scim/scim.resources.ts';
import { createTestApp, signUp, type TestApp, uniqueEmail, verifyEmailInDatabase } from '../support/app.ts';
import { onPostgres, queryRows } from '../support/database.ts';
import { addMember, as, createOrg, createPersonalToken, expectStatus, withToken } from '../support/orgs.ts';

/**
 * Attacks on SCIM 2.0 (/scim/v2 and the token routes): each case is what a hostile or merely
 * careless identity provider, or someone holding the wrong credential, would try, and what the
 * server must answer. Errors are SCIM error documents, never a 5xx.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

async function scimToken(org: Org): Promise<string> {
  return expectStatus(
    await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/scim-tokens`, { name: 'IdP' }),
    201,
  ).json().token;
}

function idp(token: string) {
  const send = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}),
      },
      ...(payload !== undefined
        ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
        : {}),
    });
  return {
    get: (url: string) => send('GET', url),
    post: (url: string, body: unknown) => send('POST', url, body),
    put: (url: string, body: unknown) => send('PUT', url, body),
    patch: (url: string, ops: unknown[]) => send('PATCH', url, { schemas: [PATCH_OP], Operations: ops }),
    delete: (url: string) => send('DELETE', url),
  };
}
type Idp = ReturnType<typeof idp>;

function scimError(res: LightMyRequestResponse, status: number, scimType?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  const body = res.json();
  expect(body.schemas).toEqual([ERROR]);
  expect(body.status).toBe(String(status));
  if (scimType) expect(body.scimType, res.body).toBe(scimType);
  return body;
}

const filter = (f: string) => encodeURIComponent(f);
const ids = (res: LightMyRequestResponse) => res.json().Resources.map((r: { id: string }) => r.id);

async function memberOf(orgId: string, userId: string) {
  const [row] = await queryRows<{ status: string; role: string }>(
    t.db.database.db,
    sql`SELECT m.status, r.slug AS role FROM memberships m JOIN roles r ON r.id = m.role_id
         WHERE m.org_id = ${orgId} AND m.user_id = ${userId}`,
  );
  return row;
}

async function owners(orgId: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    t.db.database.db,
    sql`SELECT count(*)::int AS n FROM memberships m JOIN roles r ON r.id = m.role_id
         WHERE m.org_id = ${orgId} AND m.status = 'active' AND r.slug = 'owner'`,
  );
  return row!.n;
}

describe('PatchOp paths and value keys never reach the prototype', () => {
  const polluted = ['pwned', 'public', 'isAdmin', 'permission'];
  afterEach(() => {
    // Should a case fail, the rest of the run must not inherit what it left behind.
    for (const key of polluted) delete (Object.prototype as Record<string, unknown>)[key];
  });

  it('refuses __proto__, constructor and prototype anywhere in a path or an attribute name (400 invalidPath)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const user = expectStatus(
      await c.post('/Users', { schemas: [USER], userName: uniqueEmail('proto'), name: { givenName: 'P' } }),
      201,
    ).json();
    const group = expectStatus(
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Proto' }),
      201,
    ).json();
    const attempts: Array<[string, Record<string, unknown>]> = [
      [`/Users/${user.id}`, { op: 'add', path: 'name.__proto__.pwned', value: 'yes' }],
      [`/Users/${user.id}`, { op: 'replace', path: 'name.__proto__', value: { pwned: 'yes' } }],
      [`/Users/${user.id}`, { op: 'add', path: 'name.constructor.prototype.pwned', value: 'yes' }],
      [`/Users/${user.id}`, { op: 'replace', path: 'name', value: { 'constructor.prototype.public': true } }],
      [`/Users/${user.id}`, { op: 'replace', value: { 'name.__proto__.isAdmin': true } }],
      [`/Users/${user.id}`, { op: 'replace', value: { 'name.constructor.prototype.isAdmin': true } }],
      [`/Users/${user.id}`, { op: 'add', path: `${ENTERPRISE}:__proto__.pwned`, value: 'yes' }],
      [`/Users/${user.id}`, { op: 'add', path: 'emails[type eq "work"].__proto__', value: { pwned: 1 } }],
      [`/Users/${user.id}`, { op: 'replace', path: ENTERPRISE, value: { 'x:__proto__.permission': 'all' } }],
      [`/Groups/${group.id}`, { op: 'replace', path: 'displayName.constructor.prototype.pwned', value: 1 }],
      [`/Groups/${group.id}`, { op: 'add', value: { 'members.__proto__.pwned': 1 } }],
    ];
    for (const [url, op] of attempts) {
      scimError(await c.patch(url, [op]), 400, 'invalidPath');
      for (const key of polluted) {
        expect(
          ({} as Record<string, unknown>)[key],
          `${JSON.stringify(op)} set Object.prototype.${key}`,
        ).toBe(undefined);
      }
    }
    // The org next door is still behind its authentication.
    const other = await createOrg(t.app, { plan: 'pro' });
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${other.orgId}/members` })).statusCode,
    ).toBe(401);
    // Ordinary attribute names that merely contain the words are fine.
    expectStatus(
      await c.patch(`/Users/${user.id}`, [
        { op: 'replace', path: 'title', value: 'constructor of prototypes' },
      ]),
      200,
    );
  });
});

describe('an existing member provisioned as inactive', () => {
  it('loses access at once (session and personal token), as a deactivation does', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const person = await addMember(t.app, org, 'developer', {}, t.mail);
    await verifyEmailInDatabase(t.app, person.userId);
    const pat = await createPersonalToken(t.app, person, org.orgId, ['read']);
    const membersUrl = `/api/v1/orgs/${org.orgId}/members`;
    expectStatus(await as(t.app, person).get(membersUrl), 200);

    // The IdP's first sync of someone already disabled there.
    const user = expectStatus(
      await c.post('/Users', { schemas: [USER], userName: person.email, active: false }),
      201,
    ).json();
    expect(user.active).toBe(false);
    expect((await memberOf(org.orgId, person.userId))!.status).toBe('removed');
    expect((await as(t.app, person).get(membersUrl)).statusCode).toBe(404);
    expect((await withToken(t.app, pat.token).get(membersUrl)).statusCode).toBe(401);
    // Reactivated by the IdP: back with the role they had.
    expectStatus(await c.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: true }]), 200);
    expect(await memberOf(org.orgId, person.userId)).toEqual({ status: 'active', role: 'developer' });
  });

  it('is refused when it is the last Owner: a SCIM error, and nothing is created', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    await verifyEmailInDatabase(t.app, org.owner.userId);
    scimError(await c.post('/Users', { schemas: [USER], userName: org.owner.email, active: 'False' }), 409);
    expect(await memberOf(org.orgId, org.owner.userId)).toEqual({ status: 'active', role: 'owner' });
    expect(expectStatus(await c.get('/Users'), 200).json().totalResults).toBe(0);
  });
});

describe('credentials that are not a live SCIM token of a live org with SCIM', () => {
  it('a SCIM token opens nothing under /api/v1; an API token or a session opens nothing under /scim/v2', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const token = await scimToken(org);
    expect((await withToken(t.app, token).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(401);
    expect((await withToken(t.app, token).get('/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(t.app, token).get(`/api/v1/orgs/${org.orgId}/scim-log`)).statusCode).toBe(401);

    const pat = await createPersonalToken(t.app, org.owner, org.orgId, ['admin']);
    scimError(await idp(pat.token).get('/Users'), 401);
    const automation = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/automation-tokens`, {
        name: 'ci',
        role: 'admin',
      }),
      201,
    ).json().token;
    scimError(await idp(automation).get('/Users'), 401);
    // A session cookie, even the Owner's, is not a SCIM credential.
    scimError(
      await t.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { cookie: org.owner.cookie } }),
      401,
    );
    // The SCIM token with its last character changed, or in another scheme.
    scimError(await idp(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`).get('/Users'), 401);
    scimError(
      await t.app.inject({
        method: 'GET',
        url: '/scim/v2/Users',
        headers: { authorization: `Basic ${token}` },
      }),
      401,
    );
  });

  it('refuses the tokens of a suspended org (403), a deleted org (401), and an org whose plan lost SCIM (403, until it has it again)', async () => {
    const suspended = await createOrg(t.app, { plan: 'pro' });
    const s = idp(await scimToken(suspended));
    await t.app.gatehouse.commands.run(
      suspendOrganization,
      { actor: { type: 'operator' }, meta: { ip: null, userAgent: null, requestId: null } },
      { slug: suspended.slug, reason: 'abuse report' },
    );
    scimError(await s.get('/Users'), 403);
    scimError(await s.post('/Users', { schemas: [USER], userName: uniqueEmail('s') }), 403);

    const deleted = await createOrg(t.app, { plan: 'pro' });
    const d = idp(await scimToken(deleted));
    await t.db.database.db.execute(
      sql`UPDATE organizations SET deleted_at = now() WHERE id = ${deleted.orgId}`,
    );
    scimError(await d.get('/Users'), 401);

    const downgraded = await createOrg(t.app, { plan: 'pro' });
    const g = idp(await scimToken(downgraded));
    const user = expectStatus(
      await g.post('/Users', { schemas: [USER], userName: uniqueEmail('g') }),
      201,
    ).json();
    await t.db.database.db.execute(
      sql`UPDATE organizations SET plan = 'free' WHERE id = ${downgraded.orgId}`,
    );
    scimError(await g.get('/Users'), 403);
    scimError(await g.delete(`/Users/${user.id}`), 403);
    await t.db.database.db.execute(sql`UPDATE organizations SET plan = 'pro' WHERE id = ${downgraded.orgId}`);
    expect(expectStatus(await g.get(`/Users/${user.id}`), 200).json().id).toBe(user.id);
  });
});

describe.skipIf(!onPostgres)('a SCIM token revoked while its request is under way (PostgreSQL)', () => {
  it('changes nothing once the revocation has committed, though the request was let in before', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const token = await scimToken(org);
    const c = idp(token);
    const [{ id: tokenId }] = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scim-tokens`),
      200,
    ).json().items;
    // Another transaction holds the org (as a revocation through the API does), so the SCIM
    // command, authenticated already, waits for it; meanwhile that transaction revokes the token.
    const other = await t.db.database.pool!.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM organizations WHERE id = $1 FOR SHARE', [org.orgId]);
      const email = uniqueEmail('late');
      const pending = c.post('/Users', { schemas: [USER], userName: email });
      for (let i = 0; i < 200; i++) {
        const { rows } = await other.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await other.query('UPDATE scim_tokens SET revoked_at = now() WHERE id = $1', [tokenId]);
      await other.query('COMMIT');
      scimError(await pending, 401);
      const [made] = await queryRows<{ n: number }>(
        t.db.database.db,
        sql`SELECT count(*)::int AS n FROM scim_users WHERE org_id = ${org.orgId}`,
      );
      expect(made!.n).toBe(0);
    } finally {
      other.release();
    }
  });
});

describe('the request log and the server log', () => {
  it('hold neither the bearer token nor what the bodies carried', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const token = await scimToken(org);
    const c = idp(token);
    const secret = `pw-${Math.random().toString(36).slice(2)}`;
    const email = uniqueEmail('logged');
    const user = expectStatus(
      await c.post('/Users', { schemas: [USER], userName: email, password: secret, title: secret }),
      201,
    ).json();
    scimError(await c.post('/Users', { schemas: [USER], userName: email, password: secret }), 409);
    scimError(await c.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'active', value: secret }]), 400);
    scimError(await c.get(`/Users?filter=${filter('title eq "x" and')}`), 400);
    scimError(await c.put(`/Users/${user.id}`, { schemas: [GROUP], userName: secret }), 400);
    const log = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/scim-log?limit=200`),
      200,
    ).json();
    expect(log.items.length).toBeGreaterThanOrEqual(4);
    const everything = `${JSON.stringify(log)}\n${t.logs.join('\n')}`;
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(5));
    expect(everything).not.toContain(secret);
  });
});

describe("another org's ids", () => {
  it('are no members of a group, in a body, a PatchOp value or a PatchOp path; nothing of the other org changes', async () => {
    const a = await createOrg(t.app, { plan: 'pro' });
    const b = await createOrg(t.app, { plan: 'pro' });
    const ca = idp(await scimToken(a));
    const cb = idp(await scimToken(b));
    const bUser = expectStatus(
      await cb.post('/Users', { schemas: [USER], userName: uniqueEmail('b') }),
      201,
    ).json();
    const bGroup = expectStatus(
      await cb.post('/Groups', {
        schemas: [GROUP],
        displayName: 'Shared name',
        members: [{ value: bUser.id }],
      }),
      201,
    ).json();
    const aUser = expectStatus(
      await ca.post('/Users', { schemas: [USER], userName: uniqueEmail('a') }),
      201,
    ).json();
    // The same displayName in another org is another group.
    const aGroup = expectStatus(
      await ca.post('/Groups', {
        schemas: [GROUP],
        displayName: 'Shared name',
        members: [{ value: aUser.id }],
      }),
      201,
    ).json();

    scimError(
      await ca.patch(`/Groups/${aGroup.id}`, [{ op: 'add', path: 'members', value: [{ value: bUser.id }] }]),
      400,
      'invalidValue',
    );
    scimError(
      await ca.patch(`/Groups/${aGroup.id}`, [{ op: 'replace', value: { members: [{ value: bUser.id }] } }]),
      400,
      'invalidValue',
    );
    scimError(
      await ca.put(`/Groups/${aGroup.id}`, {
        schemas: [GROUP],
        displayName: 'Shared name',
        members: [{ value: aUser.id }, { value: bUser.id.toUpperCase() }],
      }),
      400,
      'invalidValue',
    );
    // Removing B's user from A's group by filter: nothing to remove there, and nothing removed in B.
    expectStatus(
      await ca.patch(`/Groups/${aGroup.id}`, [{ op: 'remove', path: `members[value eq "${bUser.id}"]` }]),
      204,
    );
    // A's filters see none of B's resources, by id or by name.
    for (const f of [`id eq "${bUser.id}"`, `userName eq "${bUser.userName}"`]) {
      expect(expectStatus(await ca.get(`/Users?filter=${filter(f)}`), 200).json().totalResults, f).toBe(0);
    }
    expect(
      ids(expectStatus(await ca.get(`/Groups?filter=${filter('displayName eq "shared name"')}`), 200)),
    ).toEqual([aGroup.id]);
    expect(
      expectStatus(await ca.get(`/Groups?filter=${filter(`id eq "${bGroup.id}"`)}`), 200).json().totalResults,
    ).toBe(0);

    const aMembers = expectStatus(await ca.get(`/Groups/${aGroup.id}`), 200).json().members;
    expect(aMembers.map((m: { value: string }) => m.value)).toEqual([aUser.id]);
    const bMembers = expectStatus(await cb.get(`/Groups/${bGroup.id}`), 200).json().members;
    expect(bMembers.map((m: { value: string }) => m.value)).toEqual([bUser.id]);
  });
});

describe('filters', () => {
  let c: Idp;
  const people: Record<string, { id: string }> = {};
  beforeAll(async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    c = idp(await scimToken(org));
    const make = async (key: string, body: Record<string, unknown>) => {
      people[key] = expectStatus(await c.post('/Users', { schemas: [USER], ...body }), 201).json();
    };
    // Work address y, home address x: the trap for a filter read as two conditions.
    await make('split', {
      userName: 'split@contoso.test',
      externalId: 'EXT-split',
      displayName: 'Split Person',
      emails: [
        { type: 'work', value: 'y@contoso.test' },
        { type: 'home', value: 'x@contoso.test' },
      ],
    });
    await make('work', {
      userName: 'Work.Person@Contoso.test',
      externalId: 'ext-work',
      displayName: 'Worker Bee',
      emails: [{ type: 'work', value: 'X@contoso.test', primary: true }],
    });
    await make('plain', { userName: 'plain@fabrikam.test', active: false, name: { givenName: 'Plain' } });
  });

  const find = async (f: string) => ids(expectStatus(await c.get(`/Users?filter=${filter(f)}`), 200));

  it('reads emails[type eq "work"].value eq "x" as one condition on one email', async () => {
    expect(await find('emails[type eq "work"].value eq "x@contoso.test"')).toEqual([people.work!.id]);
    expect(await find('emails[type eq "home"].value eq "x@contoso.test"')).toEqual([people.split!.id]);
    expect(await find('emails[type eq "work"].value co "y@"')).toEqual([people.split!.id]);
    expect(await find('emails[type eq "work"].value pr and userName sw "work"')).toEqual([people.work!.id]);
    expect(await find('not (emails[type eq "work"].value eq "y@contoso.test")')).toEqual([
      people.work!.id,
      people.plain!.id,
    ]);
    // Written out as two conditions, it is two conditions (any work email, any email x).
    expect(await find('emails[type eq "work"] and emails.value eq "x@contoso.test"')).toEqual([
      people.split!.id,
      people.work!.id,
    ]);
  });

  it('matches userName, emails and displayName case-insensitively and externalId and id exactly, with eq, co, sw, ew and pr', async () => {
    const cases: Array<[string, string[]]> = [
      ['userName eq "WORK.PERSON@contoso.TEST"', ['work']],
      ['userName sw "work."', ['work']],
      ['userName co "CONTOSO"', ['split', 'work']],
      ['userName ew "@fabrikam.test"', ['plain']],
      ['emails.value eq "x@CONTOSO.test"', ['split', 'work']],
      ['emails[value sw "Y@"]', ['split']],
      ['emails[type eq "work" and primary eq true]', ['work']],
      ['displayName sw "worker"', ['work']],
      ['displayName pr', ['split', 'work']],
      ['externalId eq "ext-work"', ['work']],
      ['externalId eq "EXT-WORK"', []],
      ['externalId sw "EXT-"', ['split']],
      ['externalId pr', ['split', 'work']],
      ['not (externalId pr)', ['plain']],
      ['active eq false', ['plain']],
      ['userName co "contoso" and not (displayName co "bee")', ['split']],
      ['userName sw "plain" or externalId eq "EXT-split"', ['split', 'plain']],
      // What SQL does not model is still answered (in memory), with the same case rules.
      ['name.givenName eq "PLAIN"', ['plain']],
      ['userName co "contoso" and name.givenName pr', []],
      // A percent sign, an underscore and a backslash are characters, not patterns.
      ['userName co "%"', []],
      ['userName sw "_"', []],
      ['userName co "\\\\x"', []],
    ];
    for (const [f, expected] of cases) {
      expect(await find(f), f).toEqual(expected.map((k) => people[k]!.id));
    }
    expect(await find(`id eq "${people.work!.id}"`)).toEqual([people.work!.id]);
    expect(await find(`id eq "${people.work!.id.toUpperCase()}"`)).toEqual([]);
  });

  it('answers in SQL exactly what the in-memory matcher answers, for any mix of what SQL models', async () => {
    const all = expectStatus(await c.get('/Users'), 200).json().Resources as Record<string, unknown>[];
    const value = fc.constantFrom(
      'contoso',
      'CONTOSO.test',
      'x@contoso.test',
      'work',
      'Work.Person@Contoso.test',
      'ext-',
      'EXT-split',
      'y@',
      'Person',
      '%',
      '_',
      '',
    );
    const attribute = fc.constantFrom(
      'userName',
      'externalId',
      'displayName',
      'emails.value',
      'emails.type',
      'emails[type eq "work"].value',
      'emails[type eq "home"].value',
      `${USER}:userName`,
    );
    const leaf = fc.oneof(
      fc
        .tuple(attribute, fc.constantFrom('eq', 'co', 'sw', 'ew'), value)
        .map(([a, op, v]) => `${a} ${op} ${JSON.stringify(v)}`),
      attribute.map((a) => `${a} pr`),
      fc.boolean().map((b) => `active eq ${b}`),
      fc.constantFrom(...Object.values(people)).map((p) => `id eq "${p.id}"`),
      value.map((v) => `emails[type eq "work" and value co ${JSON.stringify(v)}]`),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc
          .tuple(tie('tree'), fc.constantFrom('and', 'or'), tie('tree'))
          .map(([a, op, b]) => `(${a}) ${op} (${b})`),
        tie('tree').map((a) => `not (${a})`),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(tree as fc.Arbitrary<string>, async (f) => {
        const match = matches(readFilter('User', f));
        const expected = all.filter(match).map((r) => r.id);
        expect(await find(f), f).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('finds Groups by displayName (ignoring case), externalId (exactly), id and member, a page at a time', async () => {
    const made: string[] = [];
    for (const [displayName, externalId, members] of [
      ['Engineering', 'G-eng', [people.work!.id]],
      ['engineering-leads', 'g-leads', [people.work!.id, people.split!.id]],
      ['Sales', 'G-sales', []],
    ] as const) {
      made.push(
        expectStatus(
          await c.post('/Groups', {
            schemas: [GROUP],
            displayName,
            externalId,
            members: members.map((value) => ({ value })),
          }),
          201,
        ).json().id,
      );
    }
    const groups = async (f: string, rest = '') =>
      expectStatus(await c.get(`/Groups?filter=${filter(f)}${rest}`), 200).json();
    const cases: Array<[string, number[]]> = [
      ['displayName eq "ENGINEERING"', [0]],
      ['displayName sw "engineering"', [0, 1]],
      ['externalId eq "g-eng"', []],
      ['externalId sw "G-"', [0, 2]],
      [`id eq "${made[2]}"`, [2]],
      [`members[value eq "${people.split!.id}"]`, [1]],
      [`members.value eq "${people.work!.id}" and not (displayName co "leads")`, [0]],
      ['not (members pr)', [2]],
    ];
    for (const [f, expected] of cases) {
      const body = await groups(f);
      expect(
        body.Resources.map((r: { id: string }) => r.id),
        f,
      ).toEqual(expected.map((i) => made[i]));
      expect(body.totalResults, f).toBe(expected.length);
    }
    const page = await groups('displayName sw "e"', '&startIndex=2&count=1&excludedAttributes=members');
    expect(page).toMatchObject({ totalResults: 2, itemsPerPage: 1 });
    expect(page.Resources[0]).toMatchObject({ id: made[1], displayName: 'engineering-leads' });
    expect(page.Resources[0].members).toBeUndefined();
  });

  it('pages a filtered list: totalResults counts every match, Resources the page', async () => {
    const page = expectStatus(
      await c.get(`/Users?filter=${filter('userName co "contoso"')}&startIndex=2&count=1`),
      200,
    ).json();
    expect(page).toMatchObject({ totalResults: 2, startIndex: 2, itemsPerPage: 1 });
    expect(page.Resources.map((r: { id: string }) => r.id)).toEqual([people.work!.id]);
  });
});

describe('junk input', () => {
  let c: Idp;
  let userId: string;
  beforeAll(async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    c = idp(await scimToken(org));
    userId = expectStatus(
      await c.post('/Users', { schemas: [USER], userName: uniqueEmail('junk') }),
      201,
    ).json().id;
  });

  it('answers a query parameter given twice with 400 invalidValue, not a 500', async () => {
    for (const q of ['attributes=userName&attributes=emails', 'excludedAttributes=a&excludedAttributes=b']) {
      scimError(await c.get(`/Users?${q}`), 400, 'invalidValue');
      scimError(await c.get(`/Users/${userId}?${q}`), 400, 'invalidValue');
      scimError(await c.get(`/Groups?${q}`), 400, 'invalidValue');
    }
    scimError(await c.get('/Users?filter=a&filter=b'), 400, 'invalidValue');
    scimError(await c.get('/Users?count=1&count=2'), 400, 'invalidValue');
  });

  it('reads count below 0 as 0 and startIndex below 1 as 1 (RFC 7644 §3.4.2.4)', async () => {
    expect(expectStatus(await c.get('/Users?count=-1'), 200).json()).toMatchObject({
      itemsPerPage: 0,
      Resources: [],
    });
    expect(expectStatus(await c.get('/Users?startIndex=0&count=1'), 200).json()).toMatchObject({
      startIndex: 1,
      itemsPerPage: 1,
    });
    expect(expectStatus(await c.get('/Groups?startIndex=-5'), 200).json().startIndex).toBe(1);
    scimError(await c.get('/Users?count=ten'), 400, 'invalidValue');
  });

  it('says which SCIM error a control character or a lone surrogate is', async () => {
    scimError(await c.get(`/Users?filter=${filter('userName eq "a\u0000b"')}`), 400, 'invalidFilter');
    scimError(
      await c.post('/Users', `{"schemas":["${USER}"],"userName":"\\ud800@example.test"}`),
      400,
      'invalidValue',
    );
    scimError(
      await c.patch(`/Users/${userId}`, [{ op: 'replace', path: 'displayName', value: 'a\u0001b' }]),
      400,
      'invalidValue',
    );
  });

  it('answers long, deep and odd filters and attribute lists below 500', async () => {
    const nasty = [
      `/Users?filter=${filter(`${'('.repeat(2000)}userName eq "a"${')'.repeat(2000)}`)}`,
      `/Users?filter=${filter(`${'not ('.repeat(1000)}userName eq "a"${')'.repeat(1000)}`)}`,
      `/Users?filter=${filter(`${'emails[type eq "a" and not ('.repeat(20)}value pr${')]'.repeat(20)}`)}`,
      `/Users?filter=${filter(Array.from({ length: 400 }, (_, i) => `userName eq "u${i}"`).join(' or '))}`,
      `/Users?filter=${filter(Array.from({ length: 300 }, (_, i) => `emails[type eq "t${i}"].value co "v"`).join(' and '))}`,
      `/Users?filter=${filter(`userName sw "${'a'.repeat(8000)}"`)}`,
      `/Users?filter=${filter('emails[type eq "work"].value eq')}`,
      `/Users?filter=${filter('emails[type eq "work"].')}`,
      `/Users?filter=${filter('emails[type eq "work"]].value eq "x"')}`,
      `/Users?filter=${filter('emails[[type eq "work"].value eq "x"]')}`,
      `/Users?filter=${filter('userName eq 5 or active eq "yes" or emails.primary eq null')}`,
      `/Users?filter=${filter('meta.created gt "2020-01-01" and groups[value eq "x"]')}`,
      `/Users?attributes=${filter('emails[type eq "work"].value,..,[,],__proto__,constructor,name.')}`,
      `/Users?excludedAttributes=${filter(`${ENTERPRISE}:manager.value,,`)}`,
      `/Groups?filter=${filter('members[value eq "not-a-uuid"] or members.value co "x"')}`,
      `/Groups?filter=${filter('displayName co "" and externalId ew ""')}`,
    ];
    for (const url of nasty) {
      const res = await c.get(url);
      expect(res.statusCode, `${url.slice(0, 120)} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
      if (res.statusCode >= 400) scimError(res, res.statusCode);
    }
  });
});

describe('concurrent requests', () => {
  it('concurrent Entra member additions to one group all land (none undoes another)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const group = expectStatus(
      await c.post('/Groups', { schemas: [GROUP], displayName: 'Busy' }),
      201,
    ).json();
    const users: string[] = [];
    for (let i = 0; i < 6; i++) {
      users.push(
        expectStatus(await c.post('/Users', { schemas: [USER], userName: uniqueEmail(`m${i}`) }), 201).json()
          .id,
      );
    }
    const answers = await Promise.all(
      users.map((id) =>
        c.patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: id }] }]),
      ),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(users.map(() => 204));
    const members = expectStatus(await c.get(`/Groups/${group.id}`), 200).json().members;
    expect(members.map((m: { value: string }) => m.value).sort()).toEqual([...users].sort());

    // And removals by filter, at once, remove exactly what they name.
    await Promise.all(
      users
        .slice(0, 3)
        .map((id) => c.patch(`/Groups/${group.id}`, [{ op: 'Remove', path: `members[value eq "${id}"]` }])),
    );
    const left = expectStatus(await c.get(`/Groups/${group.id}`), 200).json().members;
    expect(left.map((m: { value: string }) => m.value).sort()).toEqual(users.slice(3).sort());
  });

  it('a profile PATCH racing a deactivation never brings the member back', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    for (let round = 0; round < 4; round++) {
      const email = uniqueEmail(`race${round}`);
      const user = expectStatus(await c.post('/Users', { schemas: [USER], userName: email }), 201).json();
      const [account] = await queryRows<{ id: string }>(
        t.db.database.db,
        sql`SELECT id FROM users WHERE email = ${email}`,
      );
      const answers = await Promise.all([
        c.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'displayName', value: `Renamed ${round}` }]),
        c.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]),
        c.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'title', value: `Title ${round}` }]),
      ]);
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200]);
      const after = expectStatus(await c.get(`/Users/${user.id}`), 200).json();
      expect(after, `round ${round}`).toMatchObject({
        active: false,
        displayName: `Renamed ${round}`,
        title: `Title ${round}`,
      });
      expect((await memberOf(org.orgId, account!.id))!.status, `round ${round}`).toBe('removed');
    }
  });

  it('two POSTs of one userName in different case at once make one user (201 and 409 uniqueness)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const c = idp(await scimToken(org));
    const email = uniqueEmail('twin');
    const answers = await Promise.all([
      c.post('/Users', { schemas: [USER], userName: email }),
      c.post('/Users', {
        schemas: [USER],
        userName: email.toUpperCase(),
        emails: [{ value: uniqueEmail('other') }],
      }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    scimError(answers.find((r) => r.statusCode === 409)!, 409, 'uniqueness');
    expect(expectStatus(await c.get('/Users'), 200).json().totalResults).toBe(1);
  });

  it('deactivating an Owner while that Owner demotes the other one leaves an Owner, and answers no 5xx', async () => {
    for (let round = 0; round < 4; round++) {
      const org = await createOrg(t.app, { plan: 'pro' });
      const other = await signUp(t.app, { email: uniqueEmail('coowner'), name: 'Co Owner' });
      await t.db.database.db.execute(sql`
        INSERT INTO memberships (org_id, user_id, role_id)
        SELECT ${org.orgId}, ${other.userId}, id FROM roles WHERE org_id = ${org.orgId} AND slug = 'owner'`);
      t.app.gatehouse.bus.dropLocal('memberships', other.userId);
      const c = idp(await scimToken(org));
      await verifyEmailInDatabase(t.app, org.owner.userId);
      const linked = expectStatus(
        await c.post('/Users', { schemas: [USER], userName: org.owner.email }),
        201,
      ).json();
      const [demote, deactivate] = await Promise.all([
        as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${other.userId}`, { role: 'admin' }),
        c.patch(`/Users/${linked.id}`, [{ op: 'replace', path: 'active', value: false }]),
      ]);
      expect(demote.statusCode, demote.body).toBeLessThan(500);
      expect(deactivate.statusCode, deactivate.body).toBeLessThan(500);
      if (deactivate.statusCode >= 400) scimError(deactivate, 409);
      // Not both: one of them saw the other and was refused.
      expect([demote.statusCode, deactivate.statusCode].filter((s) => s === 200)).toHaveLength(1);
      expect(await owners(org.orgId), `round ${round}`).toBe(1);
    }
  });
});
