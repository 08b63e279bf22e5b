import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  STRONG_PASSWORD,
  signUp,
  type TestApp,
} from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { PERMISSIONS } from '../../../contracts/permissions.ts';

/** What GET /me says of an org that kept the default language settings. */
const DEFAULT_LOCALIZATION = { language: 'en', timezone: null, dateFormat: 'locale' };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;

/** A name no other test in this file uses, so derived slugs do not collide. */
const uniqueName = (label = 'Org') => `${label} ${randomBytes(4).toString('hex')}`;
const newOrg = (plan: 'free' | 'pro' | 'enterprise' = 'pro', owner?: Person) =>
  createOrg(t.app, { name: uniqueName(), plan }, owner);
const join = (org: Org, role: string): Promise<Person> => addMember(t.app, org, role, {}, t.mail);
const orgUrl = (org: Org, rest = '') => `/api/v1/orgs/${org.orgId}${rest}`;
const fields = (res: { json(): { errors?: { field: string }[] } }) =>
  (res.json().errors ?? []).map((e) => e.field);
const me = async (who: Person) => expectStatus(await as(t.app, who).get('/api/v1/me'), 200).json();
const membershipIn = async (who: Person, orgId: string) =>
  (await me(who)).memberships.find((m: { org: { id: string } }) => m.org.id === orgId);
const membersOf = async (org: Org, query = '') =>
  expectStatus(await as(t.app, org.owner).get(orgUrl(org, `/members${query}`)), 200).json().items as {
    userId: string;
    role: string;
    status: string;
  }[];

describe('POST /api/v1/orgs', () => {
  it('creates the organization; the creator becomes its owner', async () => {
    const owner = await signUp(t.app);
    const name = uniqueName('Founders');
    const res = expectStatus(
      await as(t.app, owner).post('/api/v1/orgs', {
        name: `  ${name} `,
        description: 'We scan things',
        contactEmail: 'security@founders.example',
        plan: 'pro',
      }),
      201,
    );
    const org = res.json();
    expect(org).toMatchObject({
      name,
      description: 'We scan things',
      contactEmail: 'security@founders.example',
      plan: 'pro',
      role: 'owner',
      logoUrl: null,
      teamEmails: [],
      invoiceRecipients: [],
    });
    expect(org.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await me(owner)).memberships).toEqual([
      {
        org: { id: org.id, slug: org.slug, name, suspended: false, localization: DEFAULT_LOCALIZATION },
        role: 'owner',
        permissions: [...PERMISSIONS],
      },
    ]);
    const members = expectStatus(await as(t.app, owner).get(`/api/v1/orgs/${org.id}/members`), 200).json();
    expect(members.items).toEqual([
      expect.objectContaining({ userId: owner.userId, role: 'owner', status: 'active' }),
    ]);
  });

  it('derives the slug from the name, and a second org with the same name gets another slug', async () => {
    const owner = await signUp(t.app);
    const first = expectStatus(
      await as(t.app, owner).post('/api/v1/orgs', { name: 'Ácme Security!' }),
      201,
    ).json();
    expect(first.slug).toBe('acme-security');
    expect(first.name).toBe('Ácme Security!');
    const second = expectStatus(
      await as(t.app, owner).post('/api/v1/orgs', { name: 'Ácme Security!' }),
      201,
    ).json();
    expect(second.slug).not.toBe('acme-security');
    expect(second.slug).toMatch(/^acme-security-[0-9a-f]{6}$/);
    expect(second.id).not.toBe(first.id);
    const names = (await me(owner)).memberships.map((m: { org: { slug: string } }) => m.org.slug).sort();
    expect(names).toEqual([first.slug, second.slug].sort());
  });

  it('takes an explicit slug, and refuses one already taken (409 slug_taken)', async () => {
    const owner = await signUp(t.app);
    const slug = `team-${randomBytes(4).toString('hex')}`;
    const created = expectStatus(
      await as(t.app, owner).post('/api/v1/orgs', { name: 'Anything', slug }),
      201,
    );
    expect(created.json().slug).toBe(slug);
    const other = await signUp(t.app);
    const taken = expectStatus(await as(t.app, other).post('/api/v1/orgs', { name: 'Other', slug }), 409);
    expect(taken.json()).toMatchObject({ status: 409, code: 'slug_taken' });
    expect((await me(other)).memberships).toEqual([]);
  });

  it('gives organizations created at once with the same name each their own slug', async () => {
    const owner = await signUp(t.app);
    const name = uniqueName('Stampede');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => as(t.app, owner).post('/api/v1/orgs', { name })),
    );
    const slugs = results.map((r) => expectStatus(r, 201).json().slug as string);
    expect(new Set(slugs).size).toBe(6);
    expect(slugs).toContain(name.toLowerCase().replace(' ', '-'));
    expect((await me(owner)).memberships).toHaveLength(6);
  });

  it('lets exactly one of several creations with the same explicit slug have it', async () => {
    const slug = `contested-${randomBytes(4).toString('hex')}`;
    const people = await Promise.all(Array.from({ length: 4 }, () => signUp(t.app)));
    const results = await Promise.all(
      people.map((p) => as(t.app, p).post('/api/v1/orgs', { name: 'Contested', slug })),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.statusCode !== 201)) {
      expect(r.statusCode).toBe(409);
      expect(r.json().code).toBe('slug_taken');
    }
  });

  it('defaults the plan to free, with its entitlements', async () => {
    const owner = await signUp(t.app);
    const org = expectStatus(await as(t.app, owner).post('/api/v1/orgs', { name: uniqueName() }), 201).json();
    expect(org.plan).toBe('free');
    expect(org.entitlements).toMatchObject({
      name: 'Free',
      maxMembers: 5,
      customRoles: false,
      tokensPerMonth: 48,
    });
  });

  it.each([
    [{ name: 'X', slug: 'Bad Slug' }, '/body/slug'],
    [{ name: 'X', slug: '-dash-first' }, '/body/slug'],
    [{ name: 'X', slug: 'a' }, '/body/slug'],
    [{ name: 'X', website: 'not a url' }, '/body/website'],
    [{ name: 'X', website: 'javascript:alert(1)' }, '/body/website'],
    [{ name: 'X', website: 'ftp://files.example.com' }, '/body/website'],
    [{ name: 'X', contactEmail: 'not-an-email' }, '/body/contactEmail'],
    [{ name: 'X', teamEmails: ['ok@example.com', 'nope'] }, '/body/teamEmails/1'],
    [{ name: 'X', invoiceRecipients: ['nope'] }, '/body/invoiceRecipients/0'],
    [{ name: 'X', plan: 'bogus' }, '/body/plan'],
    [{ name: '   ' }, '/body/name'],
    [{}, '/body/name'],
    [{ name: 'X', owner: 'someone-else' }, '/body/owner'],
  ])('refuses %j naming %s, and creates nothing', async (payload, field) => {
    const owner = await signUp(t.app);
    const res = expectStatus(await as(t.app, owner).post('/api/v1/orgs', payload), 400);
    expect(res.json().code).toBe('validation_failed');
    expect(fields(res)).toContain(field);
    expect((await me(owner)).memberships).toEqual([]);
  });

  it('needs a signed-in user', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { origin: ORIGIN },
      payload: { name: 'Nobody' },
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /api/v1/orgs', () => {
  it('lists only my organizations, by name, with my role, a page at a time', async () => {
    const tag = randomBytes(3).toString('hex');
    const delta = await createOrg(t.app, { name: `Delta ${tag}`, plan: 'pro' });
    const user = await join(delta, 'developer');
    for (const name of [`charlie ${tag}`, `Alpha ${tag}`, `bravo ${tag}`]) {
      expectStatus(await as(t.app, user).post('/api/v1/orgs', { name }), 201);
    }
    await createOrg(t.app, { name: `Aardvark ${tag}` }); // someone else's

    const all = expectStatus(await as(t.app, user).get('/api/v1/orgs'), 200).json();
    expect(all.nextCursor).toBeNull();
    expect(all.items.map((o: { name: string; role: string }) => [o.name, o.role])).toEqual([
      [`Alpha ${tag}`, 'owner'],
      [`bravo ${tag}`, 'owner'],
      [`charlie ${tag}`, 'owner'],
      [`Delta ${tag}`, 'developer'],
    ]);
    expect(all.items[3]).toMatchObject({ id: delta.orgId, slug: delta.slug, plan: 'pro' });

    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/orgs?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = expectStatus(await as(t.app, user).get(url), 200).json();
      expect(page.items).toHaveLength(1);
      paged.push(page.items[0].name);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(paged).toEqual(all.items.map((o: { name: string }) => o.name));

    expectStatus(await as(t.app, user).get('/api/v1/orgs?cursor=not-a-cursor'), 400);
    expectStatus(await as(t.app, user).get('/api/v1/orgs?limit=0'), 400);
  });

  it('is empty for a user without organizations', async () => {
    const loner = await signUp(t.app);
    expect(expectStatus(await as(t.app, loner).get('/api/v1/orgs'), 200).json()).toEqual({
      items: [],
      nextCursor: null,
    });
  });
});

describe('GET / PATCH /api/v1/orgs/:orgId', () => {
  it('answers a PATCH that changes nothing with the profile, and records nothing', async () => {
    const org = await newOrg('pro');
    const profile = { description: 'Same', teamEmails: ['team@same.example'] };
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), profile), 200);
    const log = async () =>
      expectStatus(
        await as(t.app, org.owner).get(orgUrl(org, '/audit-events?action=org.updated')),
        200,
      ).json().items.length;
    expect(await log()).toBe(1);
    const again = expectStatus(await as(t.app, org.owner).patch(orgUrl(org), profile), 200).json();
    expect(again).toMatchObject({ ...profile, id: org.orgId });
    expect(await log()).toBe(1);
  });

  it('round-trips every profile field', async () => {
    const org = await newOrg('free');
    const before = expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json();
    expect(before).toMatchObject({ id: org.orgId, slug: org.slug, plan: 'free', logoUrl: null });
    expect(before.entitlements).toMatchObject({ maxMembers: 5, customRoles: false });

    const profile = {
      name: uniqueName('Renamed'),
      slug: `renamed-${randomBytes(4).toString('hex')}`,
      description: 'Application security for everyone',
      contactEmail: 'sec@renamed.example',
      website: 'https://renamed.example/security',
      industry: 'Fintech',
      teamEmails: ['team@renamed.example', 'oncall@renamed.example'],
      invoiceRecipients: ['billing@renamed.example'],
    };
    const patched = expectStatus(await as(t.app, org.owner).patch(orgUrl(org), profile), 200).json();
    expect(patched).toMatchObject(profile);
    const read = expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json();
    expect(read).toMatchObject({ ...profile, id: org.orgId, plan: 'free' });
    expect(read.updatedAt >= before.updatedAt).toBe(true);

    // Nullable fields clear; the rest stays.
    const cleared = expectStatus(
      await as(t.app, org.owner).patch(orgUrl(org), {
        description: null,
        contactEmail: null,
        website: null,
        industry: null,
        teamEmails: [],
      }),
      200,
    ).json();
    expect(cleared).toMatchObject({
      name: profile.name,
      slug: profile.slug,
      description: null,
      contactEmail: null,
      website: null,
      industry: null,
      teamEmails: [],
      invoiceRecipients: profile.invoiceRecipients,
    });
  });

  it('reports the entitlements of the plan', async () => {
    const org = await newOrg('pro');
    const res = expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json();
    expect(res.entitlements).toMatchObject({ name: 'Scale', maxMembers: null, customRoles: true });
  });

  it('shows a new slug in GET /me at once', async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    expect((await membershipIn(dev, org.orgId)).org.slug).toBe(org.slug);
    const slug = `renamed-${org.slug}`.slice(0, 60);
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { slug }), 200);
    expect((await membershipIn(dev, org.orgId)).org.slug).toBe(slug);
    expect((await membershipIn(org.owner, org.orgId)).org.slug).toBe(slug);
  });

  it('lists memberships in GET /me by name, and drops an org the moment it is deleted', async () => {
    const me = await signUp(t.app);
    const b = await createOrg(t.app, { name: 'bravo Labs' }, me);
    await createOrg(t.app, { name: 'Alpha Labs' }, me);
    await createOrg(t.app, { name: 'Charlie Labs' }, me);
    const names = async () =>
      expectStatus(await as(t.app, me).get('/api/v1/me'), 200)
        .json()
        .memberships.map((m: { org: { name: string } }) => m.org.name);
    expect(await names()).toEqual(['Alpha Labs', 'bravo Labs', 'Charlie Labs']);
    expectStatus(await as(t.app, me).delete(`/api/v1/orgs/${b.orgId}`, { password: me.password }), 204);
    expect(await names()).toEqual(['Alpha Labs', 'Charlie Labs']);
  });

  it('shows a new name in GET /me at once', async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    expect((await membershipIn(dev, org.orgId)).org.name).not.toBe('Brand new name');
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { name: '  Brand new name ' }), 200);
    expect(await membershipIn(org.owner, org.orgId)).toEqual({
      org: {
        id: org.orgId,
        slug: org.slug,
        name: 'Brand new name',
        suspended: false,
        localization: DEFAULT_LOCALIZATION,
      },
      role: 'owner',
      permissions: [...PERMISSIONS],
    });
    expect((await membershipIn(dev, org.orgId)).org.name).toBe('Brand new name');
  });

  it('refuses a slug another organization has (409 slug_taken)', async () => {
    const org = await newOrg();
    const other = await newOrg();
    const res = expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { slug: other.slug }), 409);
    expect(res.json().code).toBe('slug_taken');
    expect(expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json().slug).toBe(org.slug);
    // Its own slug is not a conflict.
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { slug: org.slug }), 200);
  });

  it.each([
    [{ slug: 'UPPER' }, '/body/slug'],
    [{ website: 'www.example.com' }, '/body/website'],
    [{ contactEmail: 'x' }, '/body/contactEmail'],
    [{ teamEmails: ['a@example.com', 'a@example.com'] }, '/body/teamEmails'],
    [{ plan: 'enterprise' }, '/body/plan'],
    [{ name: '' }, '/body/name'],
  ])('refuses %j naming %s', async (payload, field) => {
    const org = await newOrg();
    const res = expectStatus(await as(t.app, org.owner).patch(orgUrl(org), payload), 400);
    expect(fields(res)).toContain(field);
  });

  it('refuses an empty change', async () => {
    const org = await newOrg();
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), {}), 400);
  });

  it('needs settings:read / settings:update: a developer gets 403, a stranger 404', async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    const read = expectStatus(await as(t.app, dev).get(orgUrl(org)), 403);
    expect(read.json().code).toBe('permission_denied');
    const write = expectStatus(await as(t.app, dev).patch(orgUrl(org), { name: 'Hijacked' }), 403);
    expect(write.json().code).toBe('permission_denied');
    const stranger = await signUp(t.app);
    expectStatus(await as(t.app, stranger).get(orgUrl(org)), 404);
    expectStatus(await as(t.app, stranger).patch(orgUrl(org), { name: 'Hijacked' }), 404);
    expectStatus(await as(t.app, stranger).get(`/api/v1/orgs/${randomUUID()}`), 404);
    expectStatus(await as(t.app, stranger).get('/api/v1/orgs/not-a-uuid'), 404);
    const admin = await join(org, 'admin');
    expectStatus(await as(t.app, admin).patch(orgUrl(org), { industry: 'Health' }), 200);
    expect(expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json().name).not.toBe('Hijacked');
  });
});

describe('organization logo', () => {
  // A valid 1×1 RGBA PNG (signature, IHDR, IDAT, IEND; CRCs correct).
  const PNG = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489' +
      '0000000d4944415478da636460f85f0f0002870180eb47ba920000000049454e44ae426082',
    'hex',
  );
  // A minimal 1×1 JPEG: SOI, DQT, SOF9, DAC, SOS, scan data, EOI.
  const JPEG = Buffer.from(
    'ffd8ffdb0043000302020202020302020203030303040604040404040806060506090' +
      '80a0a090809090a0c0f0c0a0b0e0b09090d110d0e0f101011100a0c12131210130f101010' +
      'ffc9000b080001000101011100ffcc000600101005ffda0008010100003f00d2cf20ffd9',
    'hex',
  );
  const GIF = Buffer.from(
    '47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b',
    'hex',
  );

  const putLogo = (org: Org, body: Buffer | string, contentType: string, who: Person = org.owner) =>
    t.app.inject({
      method: 'PUT',
      url: orgUrl(org, '/logo'),
      headers: { cookie: who.cookie, origin: ORIGIN, 'content-type': contentType },
      payload: body,
    });
  const getLogo = (org: Org, who: Person = org.owner) => as(t.app, who).get(orgUrl(org, '/logo'));

  it('stores a PNG and serves exactly its bytes, as image/png, never sniffed', async () => {
    const org = await newOrg();
    const put = expectStatus(await putLogo(org, PNG, 'image/png'), 204);
    expect(put.body).toBe('');
    const res = expectStatus(await getLogo(org), 200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.rawPayload.equals(PNG)).toBe(true);
    const profile = expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json();
    expect(profile.logoUrl).toMatch(new RegExp(`^/api/v1/orgs/${org.orgId}/logo\\?v=\\d+$`));
    const viaUrl = expectStatus(await as(t.app, org.owner).get(profile.logoUrl), 200);
    expect(viaUrl.rawPayload.equals(PNG)).toBe(true);
    // Every member may see it.
    const viewer = await join(org, 'viewer');
    expect(expectStatus(await getLogo(org, viewer), 200).rawPayload.equals(PNG)).toBe(true);
    // ... but only settings:update may change it.
    expect(expectStatus(await putLogo(org, JPEG, 'image/jpeg', viewer), 403).json().code).toBe(
      'permission_denied',
    );
  });

  it('accepts a JPEG, which replaces the PNG', async () => {
    const org = await newOrg();
    expectStatus(await putLogo(org, PNG, 'image/png'), 204);
    expectStatus(await putLogo(org, JPEG, 'image/jpeg; charset=binary'), 204);
    const res = expectStatus(await getLogo(org), 200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.rawPayload.equals(JPEG)).toBe(true);
  });

  it.each([
    ['HTML', Buffer.from('<!doctype html><script>alert(document.cookie)</script>')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
    ['GIF', GIF],
    ['a truncated PNG', PNG.subarray(0, 12)],
  ])('refuses %s labelled image/png (400) and keeps no logo', async (_label, body) => {
    const org = await newOrg();
    const res = expectStatus(await putLogo(org, body, 'image/png'), 400);
    expect(res.json().code).toBe('validation_failed');
    expectStatus(await getLogo(org), 404);
  });

  it('refuses a PNG labelled image/jpeg, and a JPEG labelled image/png (400)', async () => {
    const org = await newOrg();
    const res = expectStatus(await putLogo(org, PNG, 'image/jpeg'), 400);
    expect(fields(res)).toEqual(['/headers/content-type']);
    expectStatus(await putLogo(org, JPEG, 'image/png'), 400);
    expectStatus(await getLogo(org), 404);
  });

  it('refuses an image over 1 MiB (413) and accepts one of exactly 1 MiB', async () => {
    const org = await newOrg();
    const big = Buffer.concat([PNG, Buffer.alloc(1024 * 1024 + 1 - PNG.length)]);
    const res = expectStatus(await putLogo(org, big, 'image/png'), 413);
    expect(res.json().code).toBe('payload_too_large');
    expectStatus(await getLogo(org), 404);
    const exact = big.subarray(0, 1024 * 1024);
    expectStatus(await putLogo(org, exact, 'image/png'), 204);
    expect(expectStatus(await getLogo(org), 200).rawPayload.length).toBe(1024 * 1024);
  });

  it('refuses a body that is not an image type (415)', async () => {
    const org = await newOrg();
    for (const type of ['text/plain', 'image/gif', 'application/octet-stream']) {
      const res = expectStatus(await putLogo(org, PNG, type), 415);
      expect(res.json().code).toBe('unsupported_media_type');
    }
    expectStatus(await getLogo(org), 404);
  });

  it('removes the logo', async () => {
    const org = await newOrg();
    expectStatus(await putLogo(org, PNG, 'image/png'), 204);
    expectStatus(await as(t.app, org.owner).delete(orgUrl(org, '/logo')), 204);
    expect(expectStatus(await getLogo(org), 404).json().code).toBe('not_found');
    expect(expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200).json().logoUrl).toBeNull();
  });
});

describe('DELETE /api/v1/orgs/:orgId', () => {
  it('needs the right password; a wrong one changes nothing', async () => {
    const org = await newOrg();
    const res = expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org), { password: 'not-my-password-1' }),
      400,
    );
    expect(fields(res)).toEqual(['/body/password']);
    expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200);
    expect(await membershipIn(org.owner, org.orgId)).toBeDefined();
    expect(fields(expectStatus(await as(t.app, org.owner).delete(orgUrl(org), {}), 400))).toContain(
      '/body/password',
    );
  });

  it("ends every member's access at once, leaves GET /me, and frees the slug", async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    // Both have cached access to the org.
    expectStatus(await as(t.app, org.owner).get(orgUrl(org, '/members')), 200);
    expectStatus(await as(t.app, dev).get(orgUrl(org, '/members')), 200);

    const res = expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org), { password: STRONG_PASSWORD }),
      204,
    );
    expect(res.body).toBe('');

    for (const who of [org.owner, dev]) {
      for (const path of ['', '/members', '/roles', '/logo', '/invitations']) {
        const gone = await as(t.app, who).get(orgUrl(org, path));
        expect(gone.statusCode, `${path} after deletion`).toBe(404);
        expect(gone.json().code).toBe('not_found');
      }
      expect(await membershipIn(who, org.orgId)).toBeUndefined();
      const list = expectStatus(await as(t.app, who).get('/api/v1/orgs'), 200).json();
      expect(list.items.map((o: { id: string }) => o.id)).not.toContain(org.orgId);
    }
    expectStatus(await as(t.app, org.owner).patch(orgUrl(org), { name: 'Zombie' }), 404);
    expectStatus(await as(t.app, org.owner).delete(orgUrl(org), { password: STRONG_PASSWORD }), 404);

    const reuse = expectStatus(
      await as(t.app, dev).post('/api/v1/orgs', { name: 'Second life', slug: org.slug }),
      201,
    ).json();
    expect(reuse.slug).toBe(org.slug);
    expect(reuse.id).not.toBe(org.orgId);
  });

  it('is for the owner only: an admin gets 403 and the org stays', async () => {
    const org = await newOrg();
    const admin = await join(org, 'admin');
    const res = expectStatus(await as(t.app, admin).delete(orgUrl(org), { password: STRONG_PASSWORD }), 403);
    expect(res.json().code).toBe('permission_denied');
    expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200);
  });

  it('refuses a request from a foreign origin (403 forbidden_origin)', async () => {
    const org = await newOrg();
    const res = await t.app.inject({
      method: 'DELETE',
      url: orgUrl(org),
      headers: { cookie: org.owner.cookie, origin: 'https://evil.example' },
      payload: { password: STRONG_PASSWORD },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden_origin');
    expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200);
  });
});

describe('POST /api/v1/orgs/:orgId/ownership-transfer', () => {
  const transfer = (org: Org, who: Person, userId: string) =>
    as(t.app, who).post(orgUrl(org, '/ownership-transfer'), { userId });
  const roleIn = (members: { userId: string; role: string }[], userId: string) =>
    members.find((m) => m.userId === userId)?.role;

  it('makes an Admin the owner and the previous owner an Admin', async () => {
    const org = await newOrg();
    const admin = await join(org, 'admin');
    const res = expectStatus(await transfer(org, org.owner, admin.userId), 200);
    expect(res.json()).toEqual({ ownerId: admin.userId, previousOwnerId: org.owner.userId });
    const members = expectStatus(await as(t.app, admin).get(orgUrl(org, '/members')), 200).json().items;
    expect(roleIn(members, admin.userId)).toBe('owner');
    expect(roleIn(members, org.owner.userId)).toBe('admin');
    expect((await membershipIn(admin, org.orgId)).role).toBe('owner');
    expect((await membershipIn(org.owner, org.orgId)).role).toBe('admin');

    // The former owner is an Admin now: no deletion, no transfer.
    const del = expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org), { password: STRONG_PASSWORD }),
      403,
    );
    expect(del.json().code).toBe('permission_denied');
    expectStatus(await transfer(org, org.owner, admin.userId), 403);
    // The new owner can.
    expectStatus(await as(t.app, admin).delete(orgUrl(org), { password: STRONG_PASSWORD }), 204);
  });

  it('refuses a developer (409), a non-member (404), yourself (400), and an Admin as the giver (403)', async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    const admin = await join(org, 'admin');
    const outsider = await signUp(t.app);

    expect(expectStatus(await transfer(org, org.owner, dev.userId), 409).json().code).toBe('conflict');
    expect(expectStatus(await transfer(org, org.owner, outsider.userId), 404).json().code).toBe('not_found');
    expectStatus(await transfer(org, org.owner, randomUUID()), 404);
    expectStatus(await transfer(org, org.owner, org.owner.userId), 400);
    expect(fields(expectStatus(await transfer(org, org.owner, 'nope'), 400))).toEqual(['/body/userId']);
    expect(expectStatus(await transfer(org, admin, admin.userId), 403).json().code).toBe('permission_denied');

    const members = await membersOf(org);
    expect(roleIn(members, org.owner.userId)).toBe('owner');
    expect(roleIn(members, admin.userId)).toBe('admin');
    expect(roleIn(members, dev.userId)).toBe('developer');
  });
});

describe('DELETE /api/v1/me/memberships/:orgId', () => {
  it('lets a developer leave: their access ends at once and they show as removed', async () => {
    const org = await newOrg();
    const dev = await join(org, 'developer');
    expectStatus(await as(t.app, dev).get(orgUrl(org, '/members')), 200);
    const res = expectStatus(await as(t.app, dev).delete(`/api/v1/me/memberships/${org.orgId}`), 204);
    expect(res.body).toBe('');
    expect(expectStatus(await as(t.app, dev).get(orgUrl(org, '/members')), 404).json().code).toBe(
      'not_found',
    );
    expect(await membershipIn(dev, org.orgId)).toBeUndefined();
    expect((await membersOf(org)).map((m) => m.userId)).not.toContain(dev.userId);
    expect(await membersOf(org, '?status=removed')).toEqual([
      expect.objectContaining({ userId: dev.userId, status: 'removed', role: 'developer' }),
    ]);
    // Leaving twice, or an org never joined: 404.
    expectStatus(await as(t.app, dev).delete(`/api/v1/me/memberships/${org.orgId}`), 404);
  });

  it('refuses the sole owner (409 last_owner)', async () => {
    const org = await newOrg();
    const res = expectStatus(await as(t.app, org.owner).delete(`/api/v1/me/memberships/${org.orgId}`), 409);
    expect(res.json().code).toBe('last_owner');
    expect((await membershipIn(org.owner, org.orgId)).role).toBe('owner');
    expectStatus(await as(t.app, org.owner).get(orgUrl(org)), 200);
  });
});
