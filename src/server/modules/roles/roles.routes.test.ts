import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, type TestApp } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { PERMISSIONS } from '../../../contracts/permissions.ts';
import { BUILTIN_ROLES } from '../../../contracts/roles.ts';
import { auditEvents } from '../../platform/db/schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;

const rolesUrl = (org: Org) => `/api/v1/orgs/${org.orgId}/roles`;
const roleUrl = (org: Org, slug: string) => `/api/v1/orgs/${org.orgId}/roles/${slug}`;
const join = (org: Org, role: string, name?: string): Promise<Person> =>
  addMember(t.app, org, role, name ? { name } : {}, t.mail);
const builtin = (slug: string) => BUILTIN_ROLES.find((r) => r.slug === slug)!;
const roleOf = async (org: Org, slug: string) =>
  expectStatus(await as(t.app, org.owner).get(roleUrl(org, slug)), 200).json();
const roleSlugs = async (org: Org): Promise<string[]> =>
  expectStatus(await as(t.app, org.owner).get(rolesUrl(org)), 200)
    .json()
    .items.map((r: { slug: string }) => r.slug);
const members = (org: Org, userId: string) => `/api/v1/orgs/${org.orgId}/members/${userId}`;
const memberRole = async (org: Org, userId: string): Promise<string> =>
  expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members/${userId}`), 200).json()
    .role;

const createRole = async (org: Org, slug: string, permissions: readonly string[], name = slug) =>
  expectStatus(await as(t.app, org.owner).post(rolesUrl(org), { slug, name, permissions }), 201);

/** Every entry of the org's audit log, oldest first. */
const auditOf = (org: Org) =>
  t.db.database.db
    .select({ action: auditEvents.action, after: auditEvents.after, targetId: auditEvents.targetId })
    .from(auditEvents)
    .where(eq(auditEvents.chainId, org.orgId))
    .orderBy(asc(auditEvents.seq));

/** The first message to `to` since `since` (an index into t.mail.messages) whose subject has `subject`. */
async function mailTo(to: string, subject: string, since: number) {
  for (let i = 0; i < 200; i++) {
    const found = t.mail.messages
      .slice(since)
      .find((m) => m.to.includes(to.toLowerCase()) && m.subject.includes(subject));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no email to ${to} with "${subject}"`);
}

describe('GET /api/v1/orgs/:orgId/roles', () => {
  it('lists the five built-in roles in their fixed order, with their permissions and member counts', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await join(org, 'admin');
    await join(org, 'developer');
    await join(org, 'developer');
    const res = expectStatus(await as(t.app, org.owner).get(rolesUrl(org)), 200);
    const { items, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(items.map((r: { slug: string }) => r.slug)).toEqual([
      'owner',
      'admin',
      'cyberoper',
      'developer',
      'viewer',
    ]);
    for (const role of items) {
      const def = builtin(role.slug);
      expect(role).toMatchObject({
        slug: def.slug,
        name: def.name,
        description: def.description,
        permissions: [...def.permissions],
        builtin: true,
        editable: role.slug !== 'owner',
      });
      expect(role.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(items[0].permissions).toEqual([...PERMISSIONS]);
    expect(
      Object.fromEntries(items.map((r: { slug: string; memberCount: number }) => [r.slug, r.memberCount])),
    ).toEqual({ owner: 1, admin: 1, cyberoper: 0, developer: 2, viewer: 0 });
  });

  it('lists custom roles after the built-in ones, by name, with their own member counts', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    for (const [slug, name] of [
      ['zulu', 'Zulu team'],
      ['auditor', 'auditors'],
      ['mid', 'Middle'],
    ]) {
      expectStatus(
        await as(t.app, org.owner).post(rolesUrl(org), { slug, name, permissions: ['findings:read'] }),
        201,
      );
    }
    await join(org, 'auditor');
    const { items } = expectStatus(await as(t.app, org.owner).get(rolesUrl(org)), 200).json();
    expect(items.map((r: { slug: string }) => r.slug)).toEqual([
      'owner',
      'admin',
      'cyberoper',
      'developer',
      'viewer',
      'auditor',
      'mid',
      'zulu',
    ]);
    const custom = items.slice(5);
    for (const role of custom) expect(role).toMatchObject({ builtin: false, editable: true });
    expect(custom.map((r: { memberCount: number }) => r.memberCount)).toEqual([1, 0, 0]);
  });

  it('is readable by every member (members:read) and hidden from non-members', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const viewer = await join(org, 'viewer');
    expectStatus(await as(t.app, viewer).get(rolesUrl(org)), 200);
    const stranger = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(await as(t.app, stranger.owner).get(rolesUrl(org)), 404);
    expect(res.json().code).toBe('not_found');
  });
});

describe('GET /api/v1/orgs/:orgId/roles/:slug', () => {
  it('returns one role, built-in or custom; an unknown slug is a 404', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const dev = await roleOf(org, 'developer');
    expect(dev).toMatchObject({
      slug: 'developer',
      name: 'Developer',
      builtin: true,
      editable: true,
      permissions: [...builtin('developer').permissions],
    });
    expect(await roleOf(org, 'owner')).toMatchObject({ editable: false, permissions: [...PERMISSIONS] });
    expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'triage',
        name: 'Triage',
        description: 'Sorts findings',
        permissions: ['findings:update', 'findings:read'],
      }),
      201,
    );
    expect(await roleOf(org, 'triage')).toMatchObject({
      slug: 'triage',
      name: 'Triage',
      description: 'Sorts findings',
      permissions: ['findings:read', 'findings:update'],
      builtin: false,
    });
    const missing = expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'nope')), 404);
    expect(missing.json().code).toBe('not_found');
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });
});

describe('POST /api/v1/orgs/:orgId/roles', () => {
  it('creates a custom role on a plan with custom roles', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'security-lead',
        name: '  Security lead ',
        description: 'Leads triage',
        permissions: ['findings:read', 'members:read'],
      }),
      201,
    );
    expect(res.json()).toMatchObject({
      slug: 'security-lead',
      name: 'Security lead',
      description: 'Leads triage',
      permissions: ['findings:read', 'members:read'],
      builtin: false,
      editable: true,
    });
    expect(await roleOf(org, 'security-lead')).toEqual(expect.objectContaining({ id: res.json().id }));
    const noDescription = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), { slug: 'empty', name: 'Empty', permissions: [] }),
      201,
    );
    expect(noDescription.json()).toMatchObject({ description: null, permissions: [] });
  });

  it('refuses custom roles on the free plan (403 plan_limit) and creates nothing', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const res = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'triage',
        name: 'Triage',
        permissions: ['findings:read'],
      }),
      403,
    );
    expect(res.json()).toMatchObject({ status: 403, code: 'plan_limit' });
    expect(await roleSlugs(org)).toEqual(['owner', 'admin', 'cyberoper', 'developer', 'viewer']);
  });

  it('refuses the slug of a built-in role and a slug already taken (409)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    for (const slug of ['owner', 'admin', 'developer', 'viewer', 'cyberoper']) {
      const res = expectStatus(
        await as(t.app, org.owner).post(rolesUrl(org), { slug, name: 'Impostor', permissions: [] }),
        409,
      );
      expect(res.json().code).toBe('conflict');
    }
    expect((await roleOf(org, 'viewer')).name).toBe('Viewer');
    expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), { slug: 'qa', name: 'QA', permissions: ['scans:read'] }),
      201,
    );
    const dup = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'qa',
        name: 'QA again',
        permissions: ['findings:read'],
      }),
      409,
    );
    expect(dup.json().code).toBe('conflict');
    expect(await roleOf(org, 'qa')).toMatchObject({ name: 'QA', permissions: ['scans:read'] });
  });

  it('refuses an unknown permission key with a 400 that names it', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'odd',
        name: 'Odd',
        permissions: ['findings:read', 'findings:obliterate'],
      }),
      400,
    );
    const problem = res.json();
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors).toEqual([
      expect.objectContaining({
        field: '/body/permissions',
        message: expect.stringContaining('findings:obliterate'),
      }),
    ]);
    expect(problem.errors[0].message).not.toContain('findings:read');
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'odd')), 404);
  });

  it.each([
    [{ slug: 'Upper', name: 'X', permissions: [] }, '/body/slug'],
    [{ slug: '9lives', name: 'X', permissions: [] }, '/body/slug'],
    [{ slug: 'x', name: 'X', permissions: [] }, '/body/slug'],
    [{ slug: 'ok-slug', name: '   ', permissions: [] }, '/body/name'],
    [{ slug: 'ok-slug', name: 'X' }, '/body/permissions'],
    [{ slug: 'ok-slug', name: 'X', permissions: 'findings:read' }, '/body/permissions'],
    [{ slug: 'ok-slug', name: 'X', permissions: [], builtin: true }, '/body/builtin'],
  ])('refuses %j naming %s', async (payload, field) => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(await as(t.app, org.owner).post(rolesUrl(org), payload), 400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('de-duplicates the permissions and returns them in catalog order', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'mixed',
        name: 'Mixed',
        permissions: ['members:read', 'scans:read', 'findings:read', 'members:read', 'scans:read'],
      }),
      201,
    );
    const expected = ['findings:read', 'scans:read', 'members:read'];
    expect(res.json().permissions).toEqual(expected);
    expect((await roleOf(org, 'mixed')).permissions).toEqual(expected);
  });

  it('needs roles:manage: a developer gets 403', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const dev = await join(org, 'developer');
    const res = expectStatus(
      await as(t.app, dev).post(rolesUrl(org), { slug: 'mine', name: 'Mine', permissions: [] }),
      403,
    );
    expect(res.json()).toMatchObject({ code: 'permission_denied', params: { permission: 'roles:manage' } });
  });
});

describe('no escalation: nobody grants what they do not hold', () => {
  it('an Admin cannot create a role with a permission the Admin lacks, and nothing is created', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    const res = expectStatus(
      await as(t.app, admin).post(rolesUrl(org), {
        slug: 'biller',
        name: 'Biller',
        permissions: ['findings:read', 'billing:read'],
      }),
      403,
    );
    expect(res.json()).toMatchObject({
      code: 'permission_denied',
      params: { permission: 'billing:read', missing: ['billing:read'] },
    });
    expect(res.json().detail).toContain('billing:read');
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'biller')), 404);
    // Within what the Admin holds, creating is fine.
    expectStatus(
      await as(t.app, admin).post(rolesUrl(org), {
        slug: 'helper',
        name: 'Helper',
        permissions: ['findings:read', 'members:manage'],
      }),
      201,
    );
  });

  it('an Admin cannot add a permission the Admin lacks to a built-in role, but can remove permissions', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    const devPermissions = [...builtin('developer').permissions];
    const grant = expectStatus(
      await as(t.app, admin).patch(roleUrl(org, 'developer'), {
        permissions: [...devPermissions, 'billing:read'],
      }),
      403,
    );
    expect(grant.json().code).toBe('permission_denied');
    expect((await roleOf(org, 'developer')).permissions).toEqual(devPermissions);

    const fewer = devPermissions.filter((p) => p !== 'scans:export');
    const removed = expectStatus(
      await as(t.app, admin).patch(roleUrl(org, 'developer'), { permissions: fewer }),
      200,
    );
    expect(removed.json().permissions).toEqual(fewer);

    // Once the role carries a permission the Admin lacks (the Owner gave it), the role is out of
    // the Admin's reach: editing it would change what its holders can do beyond the Admin's own.
    expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'developer'), {
        permissions: [...fewer, 'billing:read'],
      }),
      200,
    );
    const kept = fewer.filter((p) => p !== 'scans:create');
    for (const body of [{ permissions: [...kept, 'billing:read'] }, { permissions: kept }]) {
      const res = expectStatus(await as(t.app, admin).patch(roleUrl(org, 'developer'), body), 403);
      expect(res.json()).toMatchObject({ code: 'permission_denied' });
      expect(res.json().detail).toContain('billing:read');
    }
    expect((await roleOf(org, 'developer')).permissions).toEqual([...fewer, 'billing:read']);
  });

  it('an Admin cannot make someone an Owner', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    const dev = await join(org, 'developer');
    const res = expectStatus(
      await as(t.app, admin).patch(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`, { role: 'owner' }),
      403,
    );
    expect(res.json().code).toBe('permission_denied');
    expect(await memberRole(org, dev.userId)).toBe('developer');
    const self = expectStatus(
      await as(t.app, admin).patch(`/api/v1/orgs/${org.orgId}/members/${admin.userId}`, { role: 'owner' }),
      403,
    );
    expect(self.json().code).toBe('permission_denied');
    expect(await memberRole(org, admin.userId)).toBe('admin');
    // Refused like any other 403: the attempt is in the org's log, with what the Admin lacks.
    const denied = (await auditOf(org)).filter((e) => e.action === 'access.denied');
    expect(denied[0]?.targetId).toBe('PATCH /api/v1/orgs/:orgId/members/:userId');
    expect(denied[0]?.after).toMatchObject({
      role: 'admin',
      permission: 'billing:read',
      missing: expect.arrayContaining(['billing:manage', 'org:delete', 'org:transfer']),
    });
  });

  it('a role whose holders the actor could not demote directly cannot be deleted or moved either', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    const billing = ['members:read', 'billing:read', 'billing:manage'];
    await createRole(org, 'billing-lead', billing, 'Billing');
    const lead = await join(org, 'billing-lead');
    // Directly: out of reach.
    const direct = members(org, lead.userId);
    expectStatus(await as(t.app, admin).patch(direct, { role: 'viewer' }), 403);
    const before = await auditOf(org);
    // Through the role: out of reach too, and nothing moves.
    const res = expectStatus(
      await as(t.app, admin).delete(`${roleUrl(org, 'billing-lead')}?reassignTo=viewer`),
      403,
    );
    expect(res.json()).toMatchObject({ code: 'permission_denied' });
    expect(res.json().detail).toContain('billing:manage');
    expectStatus(await as(t.app, admin).patch(roleUrl(org, 'billing-lead'), { name: 'Former billing' }), 403);
    expect(await memberRole(org, lead.userId)).toBe('billing-lead');
    expect(await roleOf(org, 'billing-lead')).toMatchObject({ name: 'Billing', permissions: billing });
    const after = await auditOf(org);
    // Each refusal is in the log (one per route), and nothing else.
    expect(after.slice(before.length).map((e) => e.action)).toEqual(['access.denied', 'access.denied']);
    // The Owner holds it all.
    expectStatus(await as(t.app, org.owner).delete(`${roleUrl(org, 'billing-lead')}?reassignTo=viewer`), 204);
    expect(await memberRole(org, lead.userId)).toBe('viewer');
  });

  it('reassignTo must be within reach, and never the Owner role', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    await createRole(org, 'temp', []);
    const member = await join(org, 'temp');
    for (const who of [admin, org.owner]) {
      const res = expectStatus(await as(t.app, who).delete(`${roleUrl(org, 'temp')}?reassignTo=owner`), 400);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['/querystring/reassignTo']);
    }
    // Even with nobody to move.
    await createRole(org, 'spare', []);
    await createRole(org, 'rich', ['billing:read']);
    expectStatus(await as(t.app, admin).delete(`${roleUrl(org, 'spare')}?reassignTo=owner`), 400);
    expectStatus(await as(t.app, admin).delete(`${roleUrl(org, 'spare')}?reassignTo=rich`), 403);
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'spare')), 200);
    expect(await memberRole(org, member.userId)).toBe('temp');
    expectStatus(await as(t.app, admin).delete(`${roleUrl(org, 'temp')}?reassignTo=developer`), 204);
    expect(await memberRole(org, member.userId)).toBe('developer');
  });

  it('a custom role holding only roles:manage cannot strip the Admin role, but edits roles within its reach', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    await createRole(org, 'role-editor', ['roles:manage']);
    await createRole(org, 'tiny', []);
    const editor = await join(org, 'role-editor');
    const adminPermissions = [...builtin('admin').permissions];
    const res = expectStatus(
      await as(t.app, editor).patch(roleUrl(org, 'admin'), { permissions: ['members:read'] }),
      403,
    );
    expect(res.json().code).toBe('permission_denied');
    expect((await roleOf(org, 'admin')).permissions).toEqual(adminPermissions);
    // The Admins keep what they had: managing members still works.
    expectStatus(await as(t.app, admin).get(members(org, editor.userId)), 200);
    expectStatus(await as(t.app, editor).patch(roleUrl(org, 'tiny'), { permissions: ['roles:manage'] }), 200);
    expect((await roleOf(org, 'tiny')).permissions).toEqual(['roles:manage']);
  });
});

describe('a change to what already is records nothing', () => {
  it("setting a member's role to the one they hold answers with the member and adds no audit entry nor email", async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const dev = await join(org, 'developer');
    const entries = (await auditOf(org)).length;
    const mails = t.mail.messages.length;
    const res = expectStatus(
      await as(t.app, org.owner).patch(members(org, dev.userId), { role: 'developer' }),
      200,
    );
    expect(res.json()).toMatchObject({ userId: dev.userId, role: 'developer', email: dev.email });
    expect((await auditOf(org)).length).toBe(entries);
    // A real change afterwards is recorded and mailed: the no-op above would have been by now.
    expectStatus(await as(t.app, org.owner).patch(members(org, dev.userId), { role: 'viewer' }), 200);
    await t.mail.latestTo(dev.email, mails, /^Your role in /);
    // (A sign-up's verification link, mailed after commit, may land late: it is not this.)
    expect(
      t.mail.messages
        .slice(mails)
        .filter((m) => m.to.includes(dev.email.toLowerCase()) && !m.text.includes('/verify-email#')),
    ).toHaveLength(1);
    expect((await auditOf(org)).slice(entries).map((e) => e.action)).toEqual(['member.role_changed']);
  });

  it('a role PATCH with identical fields answers with the role and adds no audit entry', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await createRole(org, 'ops', ['scans:read'], 'Ops');
    const entries = (await auditOf(org)).length;
    const same = { name: 'Ops', description: null, permissions: ['scans:read', 'scans:read'] };
    const res = expectStatus(await as(t.app, org.owner).patch(roleUrl(org, 'ops'), same), 200);
    expect(res.json()).toMatchObject({ slug: 'ops', name: 'Ops', permissions: ['scans:read'] });
    const developer = [...builtin('developer').permissions];
    expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'developer'), { permissions: developer }),
      200,
    );
    expect((await auditOf(org)).length).toBe(entries);
  });
});

describe('PATCH /api/v1/orgs/:orgId/roles/:slug', () => {
  it('refuses to change the Owner role (409), even its permissions', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const res = expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'owner'), { permissions: ['findings:read'] }),
      409,
    );
    expect(res.json().code).toBe('conflict');
    expect((await roleOf(org, 'owner')).permissions).toEqual([...PERMISSIONS]);
  });

  it('refuses to rename a built-in role or change its description (409)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    for (const body of [{ name: 'Engineer' }, { description: 'Changed' }, { name: 'X', permissions: [] }]) {
      expectStatus(await as(t.app, org.owner).patch(roleUrl(org, 'developer'), body), 409);
    }
    expect(await roleOf(org, 'developer')).toMatchObject({
      name: 'Developer',
      description: builtin('developer').description,
      permissions: [...builtin('developer').permissions],
    });
  });

  it('renames a custom role and changes its description and permissions', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).post(rolesUrl(org), {
        slug: 'ops',
        name: 'Ops',
        permissions: ['scans:read'],
      }),
      201,
    );
    const res = expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'ops'), {
        name: 'Operations',
        description: 'Runs scans',
        permissions: ['scans:create', 'scans:read', 'scans:create'],
      }),
      200,
    );
    expect(res.json()).toMatchObject({
      slug: 'ops',
      name: 'Operations',
      description: 'Runs scans',
      permissions: ['scans:read', 'scans:create'],
    });
    expect(await roleOf(org, 'ops')).toMatchObject({ name: 'Operations', description: 'Runs scans' });
    const unknown = expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'ops'), { permissions: ['scans:teleport'] }),
      400,
    );
    expect(JSON.stringify(unknown.json().errors)).toContain('scans:teleport');
    expectStatus(await as(t.app, org.owner).patch(roleUrl(org, 'ops'), {}), 400);
    expectStatus(await as(t.app, org.owner).patch(roleUrl(org, 'nope'), { permissions: [] }), 404);
  });

  it("a built-in role's new permissions apply to its members on their very next request", async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const dev = await join(org, 'developer');
    const members = `/api/v1/orgs/${org.orgId}/members`;
    // The developer's access is cached by now.
    expectStatus(await as(t.app, dev).get(members), 200);
    expectStatus(await as(t.app, dev).get(members), 200);

    const without = builtin('developer').permissions.filter((p) => p !== 'members:read');
    const edited = expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'developer'), { permissions: without }),
      200,
    );
    expect(edited.json().permissions).not.toContain('members:read');
    const denied = expectStatus(await as(t.app, dev).get(members), 403);
    expect(denied.json().code).toBe('permission_denied');

    expectStatus(
      await as(t.app, org.owner).patch(roleUrl(org, 'developer'), {
        permissions: [...without, 'members:read'],
      }),
      200,
    );
    expectStatus(await as(t.app, dev).get(members), 200);
  });

  it('applies an edit only to the role as the client read it, with If-Match (412 otherwise)', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const owner = as(t.app, org.owner);
    const read = expectStatus(await owner.get(roleUrl(org, 'developer')), 200);
    const etag = read.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    // Another admin's edit lands first.
    const other = expectStatus(
      await owner.patch(roleUrl(org, 'developer'), { permissions: ['findings:read'] }),
      200,
    );
    expect(other.headers.etag).not.toBe(etag);
    // The stale edit is refused and changes nothing.
    const send = (ifMatch: string, permissions: string[]) =>
      t.app.inject({
        method: 'PATCH',
        url: roleUrl(org, 'developer'),
        headers: { cookie: org.owner.cookie, origin: ORIGIN, 'if-match': ifMatch },
        payload: { permissions },
      });
    const stale = expectStatus(await send(etag, ['scans:read']), 412);
    expect(stale.json()).toMatchObject({ status: 412, code: 'precondition_failed' });
    expect((await roleOf(org, 'developer')).permissions).toEqual(['findings:read']);
    // With the current tag (or any of a list, or *) it applies.
    const fresh = expectStatus(await send(`"nope", ${other.headers.etag}`, ['scans:read']), 200);
    expect(fresh.json().permissions).toEqual(['scans:read']);
    expectStatus(await send('*', ['findings:read', 'scans:read']), 200);
    expect((await roleOf(org, 'developer')).permissions).toEqual(['findings:read', 'scans:read']);
  });

  it("GET /me lists what each membership's role grants, and follows a role edit at once", async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const dev = await join(org, 'developer');
    const granted = async () =>
      expectStatus(await as(t.app, dev).get('/api/v1/me'), 200).json().memberships[0].permissions;
    expect(await granted()).toEqual(PERMISSIONS.filter((p) => builtin('developer').permissions.includes(p)));
    const fewer = ['findings:read', 'scans:read'];
    expectStatus(await as(t.app, org.owner).patch(roleUrl(org, 'developer'), { permissions: fewer }), 200);
    expect(await granted()).toEqual(fewer);
  });
});

describe('DELETE /api/v1/orgs/:orgId/roles/:slug', () => {
  const create = async (org: Org, slug: string, permissions: string[]) =>
    expectStatus(await as(t.app, org.owner).post(rolesUrl(org), { slug, name: slug, permissions }), 201);

  it('deletes an unassigned custom role', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await create(org, 'temp', ['findings:read']);
    const res = expectStatus(await as(t.app, org.owner).delete(roleUrl(org, 'temp')), 204);
    expect(res.body).toBe('');
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'temp')), 404);
    expect(await roleSlugs(org)).not.toContain('temp');
    expectStatus(await as(t.app, org.owner).delete(roleUrl(org, 'temp')), 404);
  });

  it('refuses to delete a role held by a member (409 role_in_use) unless told where to move them', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await create(org, 'settings-reader', ['members:read', 'settings:read']);
    const member = await join(org, 'settings-reader');
    const profile = `/api/v1/orgs/${org.orgId}`;
    // Their access (with the custom role) is cached.
    expectStatus(await as(t.app, member).get(profile), 200);
    expectStatus(await as(t.app, member).get(profile), 200);

    const inUse = expectStatus(await as(t.app, org.owner).delete(roleUrl(org, 'settings-reader')), 409);
    expect(inUse.json()).toMatchObject({
      code: 'role_in_use',
      params: { members: 1, invitations: 0, tokens: 0 },
    });
    expect(await memberRole(org, member.userId)).toBe('settings-reader');

    const unknown = expectStatus(
      await as(t.app, org.owner).delete(`${roleUrl(org, 'settings-reader')}?reassignTo=nobody`),
      400,
    );
    expect(unknown.json().errors.map((e: { field: string }) => e.field)).toEqual(['/querystring/reassignTo']);
    expectStatus(
      await as(t.app, org.owner).delete(`${roleUrl(org, 'settings-reader')}?reassignTo=settings-reader`),
      400,
    );
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'settings-reader')), 200);

    expectStatus(
      await as(t.app, org.owner).delete(`${roleUrl(org, 'settings-reader')}?reassignTo=viewer`),
      204,
    );
    expectStatus(await as(t.app, org.owner).get(roleUrl(org, 'settings-reader')), 404);
    const detail = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members/${member.userId}`),
      200,
    ).json();
    expect(detail).toMatchObject({
      role: 'viewer',
      status: 'active',
      permissions: [...builtin('viewer').permissions],
    });
    // Their very next request is decided with Viewer's permissions: no settings:read any more.
    const denied = expectStatus(await as(t.app, member).get(profile), 403);
    expect(denied.json().code).toBe('permission_denied');
    expectStatus(await as(t.app, member).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    const counts = expectStatus(await as(t.app, org.owner).get(rolesUrl(org)), 200).json().items;
    expect(counts.find((r: { slug: string }) => r.slug === 'viewer').memberCount).toBe(1);
  });

  it('refuses to delete a built-in role (409), reassignment or not', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    for (const slug of ['owner', 'admin', 'cyberoper', 'developer', 'viewer']) {
      expectStatus(await as(t.app, org.owner).delete(roleUrl(org, slug)), 409);
    }
    expectStatus(await as(t.app, org.owner).delete(`${roleUrl(org, 'viewer')}?reassignTo=developer`), 409);
    expect(await roleSlugs(org)).toEqual(['owner', 'admin', 'cyberoper', 'developer', 'viewer']);
  });

  it('counts a pending invitation holding the role as an assignment', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await create(org, 'contractor', ['findings:read']);
    const invited = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: ['contractor-pending@example.test'],
        role: 'contractor',
      }),
      201,
    ).json().items[0];
    const blocked = expectStatus(await as(t.app, org.owner).delete(roleUrl(org, 'contractor')), 409);
    expect(blocked.json().code).toBe('role_in_use');
    expect(blocked.json().detail).toContain('1 pending invitation');
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${invited.id}`),
      204,
    );
    expectStatus(await as(t.app, org.owner).delete(roleUrl(org, 'contractor')), 204);
  });

  it('moves a pending invitation to the named role', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await create(org, 'intern', ['findings:read']);
    const email = 'intern-pending@example.test';
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [email],
        role: 'intern',
      }),
      201,
    );
    expectStatus(await as(t.app, org.owner).delete(`${roleUrl(org, 'intern')}?reassignTo=developer`), 204);
    const list = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/invitations`),
      200,
    ).json();
    expect(list.items.find((i: { email: string }) => i.email === email)).toMatchObject({ role: 'developer' });
  });

  it('tells the moved members, and alerts the owners when they are moved into Admin', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    await create(org, 'temp', ['findings:read']);
    const member = await join(org, 'temp');
    const since = t.mail.messages.length;
    expectStatus(await as(t.app, org.owner).delete(`${roleUrl(org, 'temp')}?reassignTo=admin`), 204);
    expect(await memberRole(org, member.userId)).toBe('admin');
    const told = await mailTo(member.email, 'is now "Admin"', since);
    expect(told.text).toContain('temp');
    const alert = await mailTo(org.owner.email, `${member.email} is now "Admin"`, since);
    expect(alert.subject).toContain('Acme Security');
  });

  it('an Admin cannot move members into a role with permissions the Admin lacks', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const admin = await join(org, 'admin');
    await create(org, 'old', ['findings:read']);
    await create(org, 'rich', ['findings:read', 'billing:read']);
    const member = await join(org, 'old');
    const res = expectStatus(await as(t.app, admin).delete(`${roleUrl(org, 'old')}?reassignTo=rich`), 403);
    expect(res.json().code).toBe('permission_denied');
    expect(await memberRole(org, member.userId)).toBe('old');
    expectStatus(await as(t.app, admin).delete(`${roleUrl(org, 'old')}?reassignTo=viewer`), 204);
    expect(await memberRole(org, member.userId)).toBe('viewer');
  });
});
