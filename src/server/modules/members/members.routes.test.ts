import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, INVITATION_LINK } from '../../../../test/support/orgs.ts';
import type { Db } from '../../platform/db/client.ts';
import * as schema from '../../platform/db/schema.ts';
import { listMembers } from './members.repository.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const members = (orgId: string, query = '') => `/api/v1/orgs/${orgId}/members${query}`;

describe('GET /orgs/:orgId/members', () => {
  it('lists members newest first with role, status and times; searches names and emails in any case', async () => {
    const org = await createOrg(t.app);
    const ana = await addMember(
      t.app,
      org,
      'developer',
      { name: 'Ana Durán', email: uniqueEmail('ana') },
      t.mail,
    );
    const bo = await addMember(
      t.app,
      org,
      'viewer',
      { name: 'Bo Lindqvist', email: uniqueEmail('bo') },
      t.mail,
    );
    const owner = as(t.app, org.owner);

    const all = expectStatus(await owner.get(members(org.orgId)), 200).json();
    expect(all.items.map((m: { userId: string }) => m.userId)).toEqual([
      bo.userId,
      ana.userId,
      org.owner.userId,
    ]);
    expect(all.items[0]).toMatchObject({
      email: bo.email,
      name: 'Bo Lindqvist',
      role: 'viewer',
      status: 'active',
    });
    expect(all.nextCursor).toBeNull();

    const byName = expectStatus(await owner.get(members(org.orgId, '?q=LINDQ')), 200).json();
    expect(byName.items.map((m: { userId: string }) => m.userId)).toEqual([bo.userId]);
    const byEmail = expectStatus(
      await owner.get(members(org.orgId, `?q=${ana.email.slice(0, 8)}`)),
      200,
    ).json();
    expect(byEmail.items.map((m: { userId: string }) => m.userId)).toEqual([ana.userId]);
    // LIKE wildcards in the query are taken literally.
    expect(expectStatus(await owner.get(members(org.orgId, '?q=%25')), 200).json().items).toEqual([]);
    expect(expectStatus(await owner.get(members(org.orgId, '?q=_')), 200).json().items).toEqual([]);
  });

  it('filters by role and status and pages with a cursor', async () => {
    const org = await createOrg(t.app);
    const devs = [];
    for (let i = 0; i < 3; i++) devs.push(await addMember(t.app, org, 'developer', {}, t.mail));
    await addMember(t.app, org, 'viewer', {}, t.mail);
    const owner = as(t.app, org.owner);

    const onlyDevs = expectStatus(await owner.get(members(org.orgId, '?role=developer')), 200).json();
    expect(onlyDevs.items).toHaveLength(3);
    expect(onlyDevs.items.every((m: { role: string }) => m.role === 'developer')).toBe(true);
    expectStatus(await owner.get(members(org.orgId, '?role=nope')), 400);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?role=developer&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const page = expectStatus(await owner.get(members(org.orgId, query)), 200).json();
      expect(page.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.items.map((m: { userId: string }) => m.userId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(devs.map((d) => d.userId).reverse());
    expectStatus(await owner.get(members(org.orgId, '?cursor=bm9wZQ')), 400);

    // Inactive: no activity for 30 days (a real row change; the clock is not faked).
    const idle = devs[0]!;
    await t.db.database.db.execute(
      sql`UPDATE memberships SET last_active_at = now() - interval '31 days', joined_at = joined_at - interval '40 days'
          WHERE org_id = ${org.orgId} AND user_id = ${idle.userId}`,
    );
    const inactive = expectStatus(await owner.get(members(org.orgId, '?status=inactive')), 200).json();
    expect(inactive.items.map((m: { userId: string }) => m.userId)).toEqual([idle.userId]);
    expect(inactive.items[0].status).toBe('inactive');
    const active = expectStatus(await owner.get(members(org.orgId, '?status=active')), 200).json();
    expect(active.items.map((m: { userId: string }) => m.userId)).not.toContain(idle.userId);
    // Current members, by default, include inactive ones.
    const current = expectStatus(await owner.get(members(org.orgId)), 200).json();
    expect(current.items.map((m: { userId: string }) => m.userId)).toContain(idle.userId);
  });

  it('searches through trigram indexes that keep no pending list', async () => {
    // A GIN pending list is read in full by every search until a vacuum merges it, and the planner,
    // pricing it in, turns rare-name searches into scans of the whole users table.
    const { rows } = (await t.db.database.db.execute(
      sql`SELECT relname, reloptions FROM pg_class WHERE relname IN ('users_name_trgm_idx', 'users_email_search_trgm_idx') ORDER BY relname`,
    )) as unknown as { rows: { relname: string; reloptions: string[] | null }[] };
    expect(rows).toEqual([
      { relname: 'users_email_search_trgm_idx', reloptions: ['fastupdate=off'] },
      { relname: 'users_name_trgm_idx', reloptions: ['fastupdate=off'] },
    ]);
  });

  it('a search takes the same path whether or not anyone outside the org matches', async () => {
    // Counts the statements a search sends, on the same database (a drizzle logger on its client).
    const statements: string[] = [];
    const logger = { logQuery: (query: string) => statements.push(query) };
    const { pglite, pool } = t.db.database;
    const db = (pglite
      ? drizzlePglite({ client: pglite, schema, logger })
      : drizzleNodePg({ client: pool!, schema, logger })) as unknown as Db;
    const search = async (orgId: string, q: string) => {
      statements.length = 0;
      const rows = await listMembers(db, orgId, { q }, { limit: 20 });
      return { rows, statements: statements.length };
    };
    const org = await createOrg(t.app);
    const marker = `zq${randomBytes(6).toString('hex')}`;
    // Somebody elsewhere in the installation bears the name; nobody bears the other one.
    await signUp(t.app, { name: `Outside ${marker}` });
    const outside = await search(org.orgId, marker);
    const nobody = await search(org.orgId, `zq${randomBytes(6).toString('hex')}`);
    expect(outside.rows).toEqual([]);
    expect(nobody.rows).toEqual([]);
    expect(nobody.statements).toBe(outside.statements);
    // And the same as when a member of the org matches.
    await addMember(t.app, org, 'viewer', { name: `Inside ${marker}` }, t.mail);
    const inside = await search(org.orgId, marker);
    expect(inside.rows.map((m) => m.name)).toEqual([`Inside ${marker}`]);
    expect(inside.statements).toBe(outside.statements);
  });

  it('pages a search with a cursor in the list order, equal join times ordered by user id', async () => {
    const org = await createOrg(t.app);
    const quills = [];
    for (let i = 0; i < 4; i++) {
      quills.push(await addMember(t.app, org, 'developer', { name: `Pat Quillfeather ${i}` }, t.mail));
    }
    await addMember(t.app, org, 'viewer', { name: 'Someone Else' }, t.mail);
    // Two of them joined at the same instant: the user id decides their order, pages included.
    await t.db.database.db.execute(
      sql`UPDATE memberships SET joined_at = (SELECT joined_at FROM memberships WHERE org_id = ${org.orgId} AND user_id = ${quills[1]!.userId})
          WHERE org_id = ${org.orgId} AND user_id = ${quills[2]!.userId}`,
    );
    const owner = as(t.app, org.owner);
    const ids = new Set(quills.map((q) => q.userId));
    const listOrder = expectStatus(await owner.get(members(org.orgId)), 200)
      .json()
      .items.map((m: { userId: string }) => m.userId)
      .filter((id: string) => ids.has(id));
    expect(listOrder).toHaveLength(4);

    const whole = expectStatus(await owner.get(members(org.orgId, '?q=quillFEATHER')), 200).json();
    expect(whole.items.map((m: { userId: string }) => m.userId)).toEqual(listOrder);
    for (const limit of [1, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?q=quillfeather&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const page = expectStatus(await owner.get(members(org.orgId, query)), 200).json();
        seen.push(...page.items.map((m: { userId: string }) => m.userId));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(listOrder);
    }
    // Two characters match the start of names: the newest members are read first, then the rest.
    const everyone: { userId: string; name: string | null; email: string }[] = expectStatus(
      await owner.get(members(org.orgId, '?limit=100')),
      200,
    ).json().items;
    const startsPa = everyone
      .filter((m) => m.name?.toLowerCase().startsWith('pa') || m.email.startsWith('pa'))
      .map((m) => m.userId);
    expect(startsPa.length).toBeGreaterThan(3);
    expect(startsPa.length).toBeLessThan(everyone.length);
    for (const limit of [1, 2, 3, 50]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?q=pA&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const page = expectStatus(await owner.get(members(org.orgId, query)), 200).json();
        seen.push(...page.items.map((m: { userId: string }) => m.userId));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(startsPa);
      expect(seen.filter((id) => ids.has(id))).toEqual(listOrder);
    }
  });

  it('records a member’s last activity from their requests', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const detailOf = async () =>
      expectStatus(await as(t.app, org.owner).get(members(org.orgId, `/${dev.userId}`)), 200).json();
    expect((await detailOf()).lastActiveAt).toBeNull();
    expectStatus(await as(t.app, dev).get(members(org.orgId)), 200);
    // The write is not awaited by the request it comes from: wait for it to land (a liveness bound).
    const detail = await vi.waitFor(
      async () => {
        const d = await detailOf();
        expect(d.lastActiveAt).not.toBeNull();
        return d;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(detail.permissions).toContain('findings:read');
    expect(detail.permissions).not.toContain('members:manage');
  });
});

describe('PATCH /orgs/:orgId/members/:userId', () => {
  it('changes the role, effective on the member’s very next request, and tells them by email', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const devApi = as(t.app, dev);
    expectStatus(
      await devApi.post(`/api/v1/orgs/${org.orgId}/invitations`, { emails: [uniqueEmail()], role: 'viewer' }),
      403,
    );

    const changed = expectStatus(
      await as(t.app, org.owner).patch(members(org.orgId, `/${dev.userId}`), { role: 'admin' }),
      200,
    ).json();
    expect(changed).toMatchObject({ userId: dev.userId, role: 'admin' });
    expectStatus(
      await devApi.post(`/api/v1/orgs/${org.orgId}/invitations`, { emails: [uniqueEmail()], role: 'viewer' }),
      201,
    );
    expect((await t.mail.latestTo(dev.email, 0, /is now/)).subject).toMatch(/role .* is now "Admin"/);
    // Promotion to Admin alerts the owners.
    expect((await t.mail.latestTo(org.owner.email, 0, /is now "Admin"/)).subject).toContain('is now "Admin"');

    expectStatus(
      await as(t.app, org.owner).patch(members(org.orgId, `/${dev.userId}`), { role: 'viewer' }),
      200,
    );
    const denied = expectStatus(
      await devApi.post(`/api/v1/orgs/${org.orgId}/invitations`, { emails: [uniqueEmail()], role: 'viewer' }),
      403,
    ).json();
    expect(denied.code).toBe('permission_denied');
  });

  it('refuses to demote the last owner, and lets one of two owners step down', async () => {
    const org = await createOrg(t.app);
    const owner = as(t.app, org.owner);
    const last = expectStatus(
      await owner.patch(members(org.orgId, `/${org.owner.userId}`), { role: 'admin' }),
      409,
    );
    expect(last.json().code).toBe('last_owner');

    const second = await addMember(t.app, org, 'owner', {}, t.mail);
    expectStatus(await owner.patch(members(org.orgId, `/${org.owner.userId}`), { role: 'admin' }), 200);
    expect(
      expectStatus(await as(t.app, second).get(members(org.orgId, `/${org.owner.userId}`)), 200).json().role,
    ).toBe('admin');
  });

  it('keeps members out of reach of those who hold less: an admin cannot demote or remove an owner', async () => {
    const org = await createOrg(t.app);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const adminApi = as(t.app, admin);
    expectStatus(await adminApi.patch(members(org.orgId, `/${org.owner.userId}`), { role: 'viewer' }), 403);
    expectStatus(await adminApi.delete(members(org.orgId, `/${org.owner.userId}`)), 403);
    expectStatus(await adminApi.patch(members(org.orgId, `/${admin.userId}`), { role: 'owner' }), 403);
    const owners = expectStatus(await adminApi.get(members(org.orgId, '?role=owner')), 200).json();
    expect(owners.items.map((m: { userId: string }) => m.userId)).toEqual([org.owner.userId]);
  });

  it('answers 400 for a role the org does not have and 404 for someone who is not a member', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const owner = as(t.app, org.owner);
    expectStatus(await owner.patch(members(org.orgId, `/${dev.userId}`), { role: 'superuser' }), 400);
    const stranger = await signUp(t.app);
    expectStatus(await owner.patch(members(org.orgId, `/${stranger.userId}`), { role: 'viewer' }), 404);
    expectStatus(await owner.patch(members(org.orgId, `/${dev.userId}`), { role: 'viewer', extra: 1 }), 400);
  });
});

describe('DELETE /orgs/:orgId/members/:userId', () => {
  it('ends the member’s access at once, keeps them listed as removed, and allows a re-invite', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const devApi = as(t.app, dev);
    expectStatus(await devApi.get(members(org.orgId)), 200);

    expectStatus(await as(t.app, org.owner).delete(members(org.orgId, `/${dev.userId}`)), 204);
    const after = expectStatus(await devApi.get(members(org.orgId)), 404).json();
    expect(after.code).toBe('not_found');
    expect(expectStatus(await devApi.get('/api/v1/me'), 200).json().memberships).toEqual([]);

    const removed = expectStatus(
      await as(t.app, org.owner).get(members(org.orgId, '?status=removed')),
      200,
    ).json();
    expect(removed.items).toEqual([expect.objectContaining({ userId: dev.userId, status: 'removed' })]);
    expectStatus(await as(t.app, org.owner).delete(members(org.orgId, `/${dev.userId}`)), 404);

    // Re-invited, the same person comes back with the new role.
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [dev.email],
        role: 'viewer',
      }),
      201,
    );
    const link = (await t.mail.latestTo(dev.email, since, INVITATION_LINK)).text;
    const token = /#token=([A-Za-z0-9_-]+)/.exec(link)![1]!;
    expectStatus(await devApi.post('/api/v1/invitations/accept', { token }), 200);
    const back = expectStatus(
      await as(t.app, org.owner).get(members(org.orgId, `/${dev.userId}`)),
      200,
    ).json();
    expect(back).toMatchObject({ role: 'viewer', status: 'active', removedAt: null });
  });

  it('refuses to remove the last owner', async () => {
    const org = await createOrg(t.app);
    const res = expectStatus(
      await as(t.app, org.owner).delete(members(org.orgId, `/${org.owner.userId}`)),
      409,
    );
    expect(res.json().code).toBe('last_owner');
  });
});

describe('the last-owner rule in the database', () => {
  it('refuses a change that leaves an org without an owner, even one made outside the commands', async () => {
    const org = await createOrg(t.app);
    const attempt = t.db.database.db.execute(
      sql`UPDATE memberships SET status = 'removed' WHERE org_id = ${org.orgId} AND user_id = ${org.owner.userId}`,
    );
    await expect(attempt).rejects.toThrow();
    const owners = expectStatus(
      await as(t.app, org.owner).get(members(org.orgId, '?role=owner')),
      200,
    ).json();
    expect(owners.items).toHaveLength(1);
  });
});
