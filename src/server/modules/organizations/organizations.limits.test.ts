import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import {
  as,
  createOrg,
  expectStatus,
  INVITATION_LINK,
  type Person,
  tokenFromMail,
} from '../../../../test/support/orgs.ts';

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

type Org = Awaited<ReturnType<typeof createOrg>>;

/** The ways someone else's organization can make `who` one of its owners, each set up to the last step. */
function ownershipGrants(t: TestApp) {
  const base = (org: Org) => `/api/v1/orgs/${org.orgId}`;
  /** An Owner invitation (or any role) for `who`, as its token. */
  const invite = async (org: Org, who: Person, role: string) => {
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, org.owner).post(`${base(org)}/invitations`, { emails: [who.email], role }),
      201,
    );
    return tokenFromMail((await t.mail.latestTo(who.email, since, INVITATION_LINK)).text);
  };
  const accept = (who: Person, token: string) => as(t.app, who).post('/api/v1/invitations/accept', { token });
  const join = async (org: Org, who: Person, role: string) =>
    expectStatus(await accept(who, await invite(org, who, role)), 200);
  const memberRole = async (org: Org, who: Person) => {
    const res = await as(t.app, org.owner).get(`${base(org)}/members/${who.userId}`);
    return res.statusCode === 200 ? (res.json().role as string) : null;
  };
  /** Sets up `kind` in a new org and returns the request that would make `who` its owner. */
  const prepare = async (kind: string, who: Person) => {
    const org = await createOrg(t.app, { plan: 'pro' });
    switch (kind) {
      case 'transfer':
        await join(org, who, 'admin');
        return {
          org,
          grant: () => as(t.app, org.owner).post(`${base(org)}/ownership-transfer`, { userId: who.userId }),
        };
      case 'role change':
        await join(org, who, 'developer');
        return {
          org,
          grant: () => as(t.app, org.owner).patch(`${base(org)}/members/${who.userId}`, { role: 'owner' }),
        };
      case 'invitation': {
        const token = await invite(org, who, 'owner');
        return { org, grant: () => accept(who, token) };
      }
      case 'join request': {
        const link = expectStatus(await as(t.app, org.owner).post(`${base(org)}/join-link`), 201).json();
        const request = expectStatus(
          await as(t.app, who).post('/api/v1/join-requests', { token: link.token }),
          202,
        ).json();
        return {
          org,
          grant: () =>
            as(t.app, org.owner).post(`${base(org)}/join-requests/${request.id}/approve`, { role: 'owner' }),
        };
      }
      default:
        throw new Error(kind);
    }
  };
  return { prepare, memberRole };
}

const GRANTS = ['transfer', 'role change', 'invitation', 'join request'] as const;

describe('organizations one user may own, whichever way they become owner', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ organizations: { maxOwnedPerUser: 2 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(GRANTS)(
    '%s: refused (409 org_limit) while they own the most one may, allowed below it',
    async (kind) => {
      const { prepare, memberRole } = ownershipGrants(t);
      const me = await signUp(t.app);
      const mine = expectStatus(await create(t, me), 201).json().id;
      expectStatus(await create(t, me), 201);
      const { org, grant } = await prepare(kind, me);
      const before = await memberRole(org, me);
      const refused = expectStatus(await grant(), 409);
      expect(refused.json()).toMatchObject({ code: 'org_limit' });
      expect(refused.json().detail).toContain('2 organizations');
      // Nothing changed: the old owner still owns it, and they are what they were.
      expect(await memberRole(org, me)).toBe(before);
      expect(await memberRole(org, org.owner)).toBe('owner');
      // Below the cap, the same request goes through.
      expectStatus(await remove(t, me, mine), 204);
      expect((await grant()).statusCode).toBe(200);
      expect(await memberRole(org, me)).toBe('owner');
      // And now they own the most again: creating another is refused as before.
      expectStatus(await create(t, me), 409);
    },
  );
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

describe.skipIf(!onPostgres)('organizations one user may own, granted concurrently (PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ organizations: { maxOwnedPerUser: 2 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('of simultaneous grants (and a creation) to one user one short of the cap, exactly one succeeds', async () => {
    const { prepare, memberRole } = ownershipGrants(t);
    const me = await signUp(t.app);
    expectStatus(await create(t, me), 201);
    const prepared = [];
    for (const kind of [...GRANTS, ...GRANTS, ...GRANTS]) prepared.push(await prepare(kind, me));
    const responses = await Promise.all([
      ...prepared.map(({ grant }) => grant()),
      create(t, me, 'Raced Labs'),
    ]);
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200 || c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(codes.length - 1);
    for (const r of responses.filter((r) => r.statusCode === 409)) {
      expect(r.json().code).toBe('org_limit');
    }
    const owned = expectStatus(await as(t.app, me).get('/api/v1/orgs'), 200)
      .json()
      .items.filter((o: { role: string }) => o.role === 'owner');
    expect(owned).toHaveLength(2);
    let owners = 0;
    for (const { org } of prepared) if ((await memberRole(org, me)) === 'owner') owners++;
    expect(owners).toBe(codes.slice(0, prepared.length).filter((c) => c === 200).length);
  });
});
