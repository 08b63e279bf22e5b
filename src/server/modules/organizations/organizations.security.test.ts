import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  setTwoFactorInDatabase,
  signUp,
  type TestApp,
} from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
  withToken,
} from '../../../../test/support/orgs.ts';
import type { TrustProxy } from '../../config.ts';
import { auditEvents } from '../../platform/db/schema.ts';

// Every address here is a loopback one: app.inject's peer is 127.0.0.1 unless `remoteAddress`
// says otherwise, and nothing ever connects anywhere.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const securityUrl = (org: Org) => `/api/v1/orgs/${org.orgId}/security`;
const membersUrl = (org: Org) => `/api/v1/orgs/${org.orgId}/members`;

/** A request as `who` (a cookie or a bearer token) from `from` (the socket's address). */
function send(
  app: TestApp,
  who: { cookie: string } | { token: string },
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST',
  url: string,
  options: { payload?: object; from?: string; headers?: Record<string, string> } = {},
) {
  return app.app.inject({
    method,
    url,
    headers: {
      ...('cookie' in who
        ? { cookie: who.cookie, origin: ORIGIN }
        : { authorization: `Bearer ${who.token}` }),
      ...options.headers,
    },
    ...(options.payload ? { payload: options.payload } : {}),
    ...(options.from ? { remoteAddress: options.from } : {}),
  });
}

const enableTwoFactor = setTwoFactorInDatabase;

const auditOf = (app: TestApp, org: Org) =>
  app.db.database.db
    .select({ action: auditEvents.action, before: auditEvents.before, after: auditEvents.after })
    .from(auditEvents)
    .where(eq(auditEvents.chainId, org.orgId))
    .orderBy(asc(auditEvents.seq));

/**
 * Sets the user's sessions' last activity `minutes` back. A request that found a session idle
 * records its activity without waiting (fire and forget): wait for that write first, or it could
 * land after this one and undo it.
 */
async function idleInDatabase(app: TestApp, userId: string, minutes: number) {
  for (let i = 0; i < 200; i++) {
    const { rows } = (await app.db.database.db.execute(
      sql`SELECT count(*)::int AS stale FROM sessions WHERE user_id = ${userId} AND last_seen_at < now() - interval '2 minutes'`,
    )) as unknown as { rows: Array<{ stale: number }> };
    if (rows[0]!.stale === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await app.db.database.db.execute(
    sql`UPDATE sessions SET last_seen_at = now() - make_interval(mins => ${minutes}) WHERE user_id = ${userId}`,
  );
}

async function automationToken(app: TestApp, org: Org): Promise<string> {
  const res = expectStatus(
    await as(app.app, org.owner).post(`/api/v1/orgs/${org.orgId}/automation-tokens`, { name: 'ci' }),
    201,
  );
  return res.json().token;
}

describe('GET / PATCH /orgs/:orgId/security', () => {
  it('reads the policy with the caller’s own address and the installation’s timeout', async () => {
    const org = await createOrg(t.app);
    const res = expectStatus(await send(t, org.owner, 'GET', securityUrl(org), { from: '127.0.0.9' }), 200);
    expect(res.json()).toEqual({
      require2fa: false,
      sessionIdleMinutes: null,
      ipAllowlist: [],
      defaultSessionIdleMinutes: 30,
      yourAddress: '127.0.0.9',
    });
  });

  it('needs settings:read to read and settings:update to change', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, dev).get(securityUrl(org)), 403);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    expectStatus(await as(t.app, admin).get(securityUrl(org)), 200);
    const outsider = await signUp(t.app);
    expectStatus(await as(t.app, outsider).get(securityUrl(org)), 404);
    expectStatus(await as(t.app, outsider).patch(securityUrl(org), { require2fa: false }), 404);
  });

  it('gates the idle timeout and the allowlist behind Enterprise, naming the plan', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const allowlist = expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), { ipAllowlist: ['127.0.0.1'] }),
      403,
    );
    expect(allowlist.json()).toMatchObject({
      code: 'plan_limit',
      params: { feature: 'ipAllowlist', plan: 'pro' },
    });
    expect(allowlist.json().detail).toContain('Scale');
    const idle = expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), { sessionIdleMinutes: 15 }),
      403,
    );
    expect(idle.json()).toMatchObject({ code: 'plan_limit', params: { feature: 'customSessionTimeout' } });
    // 30 minutes (the standard) and "the installation's" are every plan's; so is an empty list.
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { sessionIdleMinutes: 30 }), 200);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { sessionIdleMinutes: null }), 200);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { ipAllowlist: [] }), 200);
    const free = await createOrg(t.app, { plan: 'free' });
    expectStatus(await as(t.app, free.owner).patch(securityUrl(free), { sessionIdleMinutes: 60 }), 403);
  });

  it('validates and normalises CIDR blocks, IPv4 and IPv6', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const res = expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), {
        ipAllowlist: [
          '127.0.0.1',
          '127.0.0.0/8',
          '::1',
          '2001:DB8:0:0::/32',
          '127.0.0.0/8',
          '::ffff:127.0.0.0/104',
        ],
      }),
      200,
    );
    expect(res.json().ipAllowlist).toEqual([
      '127.0.0.1/32',
      '127.0.0.0/8',
      '::1/128',
      '2001:db8::/32',
      '::ffff:7f00:0/104',
    ]);
    const bad = expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), {
        ipAllowlist: [
          '127.0.0.1',
          '127.0.0.1/8',
          'not-an-ip',
          '10.0.0.0/33',
          '2001:db8::1/32',
          'fe80::1%eth0',
        ],
      }),
      400,
    );
    expect(bad.json().errors).toEqual([
      expect.objectContaining({ field: '/body/ipAllowlist/1', reason: 'cidr_host_bits' }),
      expect.objectContaining({ field: '/body/ipAllowlist/2', reason: 'cidr_invalid' }),
      expect.objectContaining({ field: '/body/ipAllowlist/3', reason: 'cidr_invalid' }),
      expect.objectContaining({ field: '/body/ipAllowlist/4', reason: 'cidr_host_bits' }),
      expect.objectContaining({ field: '/body/ipAllowlist/5', reason: 'cidr_invalid' }),
    ]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `127.0.${i}.0/24`);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { ipAllowlist: tooMany }), 400);
    for (const sessionIdleMinutes of [0, 4, 10_081, 7.5, '30']) {
      expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { sessionIdleMinutes }), 400);
    }
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), {}), 400);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: 'yes' }), 400);
    // Nothing of the refused changes was kept.
    expect(
      expectStatus(await as(t.app, org.owner).get(securityUrl(org)), 200).json().ipAllowlist,
    ).toHaveLength(5);
  });

  it('audits each change with before and after, and an unchanged policy not at all', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    await enableTwoFactor(t, org.owner.userId);
    const entries = (await auditOf(t, org)).length;
    expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true, sessionIdleMinutes: 15 }),
      200,
    );
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 200);
    expectStatus(
      await as(t.app, org.owner).patch(securityUrl(org), { sessionIdleMinutes: 15, ipAllowlist: [] }),
      200,
    );
    const added = (await auditOf(t, org)).slice(entries);
    expect(added).toEqual([
      {
        action: 'org.security_updated',
        before: { require2fa: false, sessionIdleMinutes: null, ipAllowlist: [] },
        after: { require2fa: true, sessionIdleMinutes: 15, ipAllowlist: [] },
      },
    ]);
  });
});

describe('require 2FA', () => {
  it('refuses to turn it on for someone without 2FA themselves (409), and allows it with', async () => {
    const org = await createOrg(t.app);
    const res = expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 409);
    expect(res.json()).toMatchObject({ code: 'would_lock_out', params: { reason: 'two_factor' } });
    expect(expectStatus(await as(t.app, org.owner).get(securityUrl(org)), 200).json().require2fa).toBe(false);
    await enableTwoFactor(t, org.owner.userId);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 200);
  });

  it('holds members without 2FA at the org’s door (session and personal token), not at /me or leaving', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const pat = await createPersonalToken(t.app, dev, org.orgId, ['read']);
    const automation = await automationToken(t, org);
    await enableTwoFactor(t, org.owner.userId);
    expectStatus(await as(t.app, org.owner).patch(securityUrl(org), { require2fa: true }), 200);

    const session = expectStatus(await as(t.app, dev).get(membersUrl(org)), 403);
    expect(session.json().code).toBe('two_factor_required');
    const bearer = expectStatus(await withToken(t.app, pat.token).get(membersUrl(org)), 403);
    expect(bearer.json().code).toBe('two_factor_required');
    // Automation tokens belong to the org, not to a person: require-2FA does not hold them.
    expectStatus(await withToken(t.app, automation).get(membersUrl(org)), 200);
    // The owner (with 2FA) goes on as before.
    expectStatus(await as(t.app, org.owner).get(membersUrl(org)), 200);
    // Account routes are no org routes: the member sees their account and memberships.
    const me = expectStatus(await as(t.app, dev).get('/api/v1/me'), 200).json();
    expect(me.user.twoFactorEnabled).toBe(false);
    expectStatus(await withToken(t.app, pat.token).get('/api/v1/me'), 200);

    // With 2FA on, the same member is let in.
    await enableTwoFactor(t, dev.userId);
    expectStatus(await as(t.app, dev).get(membersUrl(org)), 200);
    expectStatus(await withToken(t.app, pat.token).get(membersUrl(org)), 200);

    // Without it again, they may still leave.
    await enableTwoFactor(t, dev.userId, false);
    expectStatus(await as(t.app, dev).get(membersUrl(org)), 403);
    expectStatus(await as(t.app, dev).delete(`/api/v1/me/memberships/${org.orgId}`), 204);
    expectStatus(await as(t.app, dev).get(membersUrl(org)), 404);
  });

  it('tells a non-member nothing: 404 before any policy', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    await enableTwoFactor(t, org.owner.userId);
    expectStatus(
      await send(t, org.owner, 'PATCH', securityUrl(org), {
        payload: { require2fa: true, ipAllowlist: ['127.0.0.1'] },
      }),
      200,
    );
    const outsider = await signUp(t.app);
    expectStatus(await send(t, outsider, 'GET', membersUrl(org), { from: '127.0.0.2' }), 404);
    expectStatus(await send(t, outsider, 'GET', membersUrl(org)), 404);
  });
});

describe('IP allowlist', () => {
  it('refuses a list that leaves out the caller’s own address (409), and accepts one that holds it', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const res = expectStatus(
      await send(t, org.owner, 'PATCH', securityUrl(org), {
        payload: { ipAllowlist: ['127.0.0.2'] },
        from: '127.0.0.3',
      }),
      409,
    );
    expect(res.json()).toMatchObject({
      code: 'would_lock_out',
      params: { reason: 'ip_allowlist', address: '127.0.0.3' },
    });
    expectStatus(
      await send(t, org.owner, 'PATCH', securityUrl(org), {
        payload: { ipAllowlist: ['127.0.0.2', '127.0.0.0/30'] },
        from: '127.0.0.3',
      }),
      200,
    );
  });

  it('refuses requests from outside for sessions and tokens alike (403 ip_not_allowed), and audits them', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const pat = await createPersonalToken(t.app, dev, org.orgId, ['read']);
    const automation = await automationToken(t, org);
    expectStatus(
      await send(t, org.owner, 'PATCH', securityUrl(org), {
        payload: { ipAllowlist: ['127.0.0.0/24', '::1'] },
      }),
      200,
    );
    const entries = (await auditOf(t, org)).length;
    for (const who of [dev, org.owner, { token: pat.token }, { token: automation }]) {
      expectStatus(await send(t, who, 'GET', membersUrl(org), { from: '127.0.0.200' }), 200);
      expectStatus(await send(t, who, 'GET', membersUrl(org), { from: '::1' }), 200);
      const outside = expectStatus(await send(t, who, 'GET', membersUrl(org), { from: '127.0.1.1' }), 403);
      expect(outside.json().code).toBe('ip_not_allowed');
      expectStatus(await send(t, who, 'GET', membersUrl(org), { from: '::ffff:127.0.1.1' }), 403);
    }
    // Before the suspension and the permission: from outside, even the route's needs are not told.
    expect((await send(t, dev, 'GET', securityUrl(org), { from: '127.0.1.1' })).json().code).toBe(
      'ip_not_allowed',
    );
    // The account's own routes are no org routes.
    expectStatus(await send(t, dev, 'GET', '/api/v1/me', { from: '127.0.1.1' }), 200);
    const denied = (await auditOf(t, org)).slice(entries).filter((e) => e.action === 'access.denied');
    expect(denied.length).toBeGreaterThanOrEqual(4);
    expect(denied.every((e) => (e.after as { reason?: string }).reason === 'ip_not_allowed')).toBe(true);
  });

  it('a cleared list lets every address in again', async () => {
    const org = await createOrg(t.app, { plan: 'enterprise' });
    expectStatus(
      await send(t, org.owner, 'PATCH', securityUrl(org), { payload: { ipAllowlist: ['127.0.0.1'] } }),
      200,
    );
    expectStatus(await send(t, org.owner, 'GET', membersUrl(org), { from: '127.0.0.5' }), 403);
    expectStatus(await send(t, org.owner, 'PATCH', securityUrl(org), { payload: { ipAllowlist: [] } }), 200);
    expectStatus(await send(t, org.owner, 'GET', membersUrl(org), { from: '127.0.0.5' }), 200);
  });
});

describe('IP allowlist behind TRUST_PROXY', () => {
  async function withProxy(
    trustProxy: TrustProxy,
    test: (app: TestApp, org: Org, dev: Person) => Promise<void>,
  ) {
    const app = await createTestApp({ trustProxy });
    try {
      const org = await createOrg(app.app, { plan: 'enterprise' });
      const dev = await addMember(app.app, org, 'developer', {}, app.mail);
      expectStatus(
        await send(app, org.owner, 'PATCH', securityUrl(org), {
          payload: { ipAllowlist: ['127.0.0.1', '127.0.0.7'] },
        }),
        200,
      );
      await test(app, org, dev);
    } finally {
      await app.close();
    }
  }
  const xff = (value: string) => ({ 'x-forwarded-for': value });

  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    await withProxy(false, async (app, org, dev) => {
      // The socket's address decides: a client cannot name an allowed one.
      expectStatus(
        await send(app, dev, 'GET', membersUrl(org), { from: '127.0.0.9', headers: xff('127.0.0.7') }),
        403,
      );
      expectStatus(await send(app, dev, 'GET', membersUrl(org), { headers: xff('127.0.0.9') }), 200);
      expect(
        (await send(app, org.owner, 'GET', securityUrl(org), { headers: xff('127.0.0.9') })).json()
          .yourAddress,
      ).toBe('127.0.0.1');
    });
  });

  it('believes a trusted (loopback) proxy’s X-Forwarded-For', async () => {
    await withProxy(['loopback'], async (app, org, dev) => {
      expectStatus(await send(app, dev, 'GET', membersUrl(org), { headers: xff('127.0.0.7') }), 200);
      expectStatus(await send(app, dev, 'GET', membersUrl(org), { headers: xff('127.0.0.9') }), 403);
      expect(
        (await send(app, org.owner, 'GET', securityUrl(org), { headers: xff('127.0.0.7') })).json()
          .yourAddress,
      ).toBe('127.0.0.7');
    });
  });

  it('with a hop count, takes the right-most forwarded address', async () => {
    await withProxy(1, async (app, org, dev) => {
      expectStatus(
        await send(app, dev, 'GET', membersUrl(org), { headers: xff('127.0.0.9, 127.0.0.7') }),
        200,
      );
      expectStatus(
        await send(app, dev, 'GET', membersUrl(org), { headers: xff('127.0.0.7, 127.0.0.9') }),
        403,
      );
    });
  });
});

describe('session idle timeout', () => {
  /** Makes the session look idle for `minutes` (its row and this instance's cached copy). */
  async function idleFor(app: TestApp, who: Person, minutes: number) {
    await idleInDatabase(app, who.userId, minutes);
    app.app.gatehouse.bus.cache('sessions')?.clear();
  }

  it('ends a session idle past the strictest limit among its user’s orgs', async () => {
    const strict = await createOrg(t.app, { plan: 'enterprise' });
    const lax = await createOrg(t.app, { plan: 'enterprise' }, strict.owner);
    expectStatus(await as(t.app, strict.owner).patch(securityUrl(lax), { sessionIdleMinutes: 20 }), 200);
    const member = await addMember(t.app, strict, 'developer', {}, t.mail);
    const bystander = await signUp(t.app);

    // 12 idle minutes are within the installation's 30.
    await idleFor(t, member, 12);
    expectStatus(await as(t.app, member).get('/api/v1/me'), 200);

    // The strict org asks for 10: the member's session, idle 12, ends; a non-member's does not.
    expectStatus(await as(t.app, strict.owner).patch(securityUrl(strict), { sessionIdleMinutes: 10 }), 200);
    await idleFor(t, member, 12);
    await idleFor(t, bystander, 12);
    expectStatus(await as(t.app, bystander).get('/api/v1/me'), 200);
    expectStatus(await as(t.app, member).get('/api/v1/me'), 401);

    // The owner belongs to both (10 and 20): the strictest, 10, holds.
    await idleFor(t, strict.owner, 15);
    expectStatus(await as(t.app, strict.owner).get('/api/v1/me'), 401);
  });

  it('follows memberships: joining a strict org shortens the limit, leaving it lifts it', async () => {
    const strict = await createOrg(t.app, { plan: 'enterprise' });
    expectStatus(await as(t.app, strict.owner).patch(securityUrl(strict), { sessionIdleMinutes: 5 }), 200);
    const member = await addMember(t.app, strict, 'viewer', {}, t.mail);
    await idleFor(t, member, 3);
    expectStatus(await as(t.app, member).get('/api/v1/me'), 200);
    expectStatus(await as(t.app, member).delete(`/api/v1/me/memberships/${strict.orgId}`), 204);
    await idleFor(t, member, 7);
    expectStatus(await as(t.app, member).get('/api/v1/me'), 200);

    const other = await signUp(t.app);
    await idleFor(t, other, 7);
    expectStatus(await as(t.app, other).get('/api/v1/me'), 200);
    // Deleting the strict org lifts its limit for its members too.
    const lifted = await addMember(t.app, strict, 'viewer', {}, t.mail);
    expectStatus(
      await as(t.app, strict.owner).delete(`/api/v1/orgs/${strict.orgId}`, {
        password: strict.owner.password,
      }),
      204,
    );
    await idleFor(t, lifted, 7);
    expectStatus(await as(t.app, lifted).get('/api/v1/me'), 200);
  });
});

/** Two instances on one database: a policy change through one holds on the other's next request. */
describe.skipIf(!onPostgres)('policy changes across instances (PostgreSQL)', () => {
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    one = await createTestApp();
    two = await createTestApp({}, one.db);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('the allowlist, require-2FA and the idle limit hold on the other instance at once', async () => {
    const org = await createOrg(one.app, { plan: 'enterprise' });
    const dev = await addMember(one.app, org, 'developer', {}, one.mail);
    await enableTwoFactor(one, org.owner.userId);
    two.app.gatehouse.bus.dropLocal('users', org.owner.userId);
    // Cached on instance two.
    expectStatus(await send(two, dev, 'GET', membersUrl(org), { from: '127.0.0.5' }), 200);
    expect(two.app.gatehouse.bus.cache('orgs')?.has(org.orgId)).toBe(true);

    expectStatus(
      await send(one, org.owner, 'PATCH', securityUrl(org), { payload: { ipAllowlist: ['127.0.0.1'] } }),
      200,
    );
    expect((await send(two, dev, 'GET', membersUrl(org), { from: '127.0.0.5' })).json().code).toBe(
      'ip_not_allowed',
    );
    expectStatus(await send(two, dev, 'GET', membersUrl(org)), 200);

    expectStatus(
      await send(one, org.owner, 'PATCH', securityUrl(org), { payload: { require2fa: true } }),
      200,
    );
    expect((await send(two, dev, 'GET', membersUrl(org))).json().code).toBe('two_factor_required');

    // Idle 12 minutes is fine by the installation's 30 until the org asks for 10.
    const idle = async () => {
      await idleInDatabase(two, dev.userId, 12);
      for (const app of [one, two]) app.app.gatehouse.bus.cache('sessions')?.clear();
    };
    await idle();
    expectStatus(await send(two, dev, 'GET', '/api/v1/me'), 200);
    await idle();
    expectStatus(
      await send(one, org.owner, 'PATCH', securityUrl(org), { payload: { sessionIdleMinutes: 10 } }),
      200,
    );
    expectStatus(await send(two, dev, 'GET', '/api/v1/me'), 401);
  });
});
