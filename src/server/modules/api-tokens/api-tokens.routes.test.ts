import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
  withToken,
} from '../../../../test/support/orgs.ts';
import { SCOPE_PERMISSIONS } from '../../../contracts/tokens.ts';
import { generateToken, tokenKind, USAGE_LOG_LIMIT } from '../../platform/auth/tokens.ts';
import { apiTokens, apiTokenUsage, auditEvents } from '../../platform/db/schema.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const orgUrl = (orgId: string, path = '') => `/api/v1/orgs/${orgId}${path}`;

async function orgWith(role: string) {
  const org = await createOrg(t.app, { plan: 'pro' });
  const member = await addMember(t.app, org, role, {}, t.mail);
  return { org, member };
}

/** The newest audit entries of an org's chain with this action. */
async function auditEntries(orgId: string, action: string) {
  return t.db.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, orgId), eq(auditEvents.action, action)))
    .orderBy(sql`${auditEvents.seq} DESC`);
}

describe('token format', () => {
  it('has a prefix per kind, 190 bits of randomness and a checksum that catches a changed character', () => {
    const personal = generateToken('personal').token;
    const automation = generateToken('automation').token;
    expect(personal).toMatch(/^gtp_[0-9A-Za-z]{38}$/);
    expect(automation).toMatch(/^gta_[0-9A-Za-z]{38}$/);
    expect(tokenKind(personal)).toBe('personal');
    expect(tokenKind(automation)).toBe('automation');
    // Every single-character change anywhere in the random part is caught offline.
    for (let i = 4; i < 36; i++) {
      const c = personal[i] === 'a' ? 'b' : 'a';
      expect(tokenKind(personal.slice(0, i) + c + personal.slice(i + 1))).toBeUndefined();
    }
    expect(tokenKind(`gta_${personal.slice(4)}`)).toBeUndefined();
    expect(tokenKind(`${personal}x`)).toBeUndefined();
    const many = new Set(Array.from({ length: 2000 }, () => generateToken('personal').token));
    expect(many.size).toBe(2000);
  });

  it('scopes nest and cover the catalog except deleting and transferring the organization', async () => {
    const catalog = expectStatus(await as(t.app, await signUp(t.app)).get('/api/v1/permissions'), 200).json();
    const keys: string[] = (catalog.items ?? catalog).map((p: { key?: string } | string) =>
      typeof p === 'string' ? p : p.key,
    );
    expect(SCOPE_PERMISSIONS.admin).toEqual(keys.filter((k) => k !== 'org:delete' && k !== 'org:transfer'));
    for (const p of SCOPE_PERMISSIONS.read) expect(SCOPE_PERMISSIONS.write).toContain(p);
    for (const p of SCOPE_PERMISSIONS.write) expect(SCOPE_PERMISSIONS.admin).toContain(p);
    for (const p of SCOPE_PERMISSIONS.read) expect(p).toMatch(/:(read|export)$/);
  });
});

describe('personal tokens', () => {
  it('are shown once, stored as a hash, and listed without the secret', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const res = expectStatus(
      await as(t.app, owner).post('/api/v1/me/tokens', {
        name: 'laptop',
        orgId,
        scopes: ['read'],
        expiresInDays: 90,
      }),
      201,
    );
    const created = res.json();
    expect(created).toMatchObject({ name: 'laptop', orgId, scopes: ['read'], status: 'active' });
    expect(tokenKind(created.token)).toBe('personal');
    expect(created.hint).toBe(`gtp_…${created.token.slice(-4)}`);
    const days = (new Date(created.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);

    const [row] = await t.db.database.db.select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row!.tokenHash.toString('hex')).toBe(createHash('sha256').update(created.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.token.slice(4, 36));

    const list = expectStatus(await as(t.app, owner).get('/api/v1/me/tokens'), 200);
    expect(list.body).not.toContain(created.token);
    expect(list.json().items).toEqual([
      expect.objectContaining({
        id: created.id,
        name: 'laptop',
        org: expect.objectContaining({ id: orgId }),
        role: 'owner',
        scopes: ['read'],
        permissions: SCOPE_PERMISSIONS.read,
        lastUsedAt: null,
      }),
    ]);
    expect(list.json().items[0]).not.toHaveProperty('token');
    // The audit entry names the token, never its secret.
    const [entry] = await auditEntries(orgId, 'token.created');
    expect(entry).toMatchObject({
      targetType: 'personal_token',
      targetId: created.id,
      actorId: owner.userId,
    });
    expect(JSON.stringify(entry)).not.toContain(created.token);
  });

  it('work as Authorization: Bearer with no cookie, and need no origin check', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const { token, id } = await createPersonalToken(t.app, owner, orgId, ['admin']);
    const api = withToken(t.app, token);
    expectStatus(await api.get(orgUrl(orgId, '/members')), 200);
    expectStatus(await api.get('/api/v1/me'), 200);
    // A write from a "foreign" origin: bearer requests carry no ambient credential to forge.
    const patched = await withToken(t.app, token, { origin: 'https://evil.example' }).patch(orgUrl(orgId), {
      description: 'set by CI',
    });
    expectStatus(patched, 200);
    // What the token did is the owner's, through this token.
    const [entry] = await auditEntries(orgId, 'org.updated');
    expect(entry).toMatchObject({ actorType: 'user', actorId: owner.userId, actorTokenId: id });
    const listed = expectStatus(
      await as(t.app, owner).get(orgUrl(orgId, '/audit-events?action=org.updated')),
      200,
    );
    expect(listed.json().items[0].actor).toEqual({
      type: 'user',
      id: owner.userId,
      email: owner.email,
      tokenId: id,
    });
    const verify = expectStatus(await as(t.app, owner).get(orgUrl(orgId, '/audit-events/verify')), 200);
    expect(verify.json().ok).toBe(true);
  });

  it('a read token cannot write; scopes never reach past the role', async () => {
    const { org, member: dev } = await orgWith('developer');
    const read = withToken(t.app, (await createPersonalToken(t.app, org.owner, org.orgId, ['read'])).token);
    expectStatus(await read.get(orgUrl(org.orgId, '/members')), 200);
    const denied = expectStatus(await read.patch(orgUrl(org.orgId), { description: 'nope' }), 403);
    expect(denied.json().code).toBe('permission_denied');
    expectStatus(
      await read.post(orgUrl(org.orgId, '/invitations'), { emails: [uniqueEmail()], role: 'viewer' }),
      403,
    );
    // Exporting the audit log is a read; signing a checkpoint of it is not.
    expectStatus(await read.get(orgUrl(org.orgId, '/audit-events/export?format=jsonl')), 200);
    const sign = expectStatus(await read.post(orgUrl(org.orgId, '/audit-checkpoints')), 403);
    expect(sign.json().detail).toContain('read scope');

    // A Developer's admin-scoped token is still a Developer's.
    const devAdmin = withToken(t.app, (await createPersonalToken(t.app, dev, org.orgId, ['admin'])).token);
    expectStatus(await devAdmin.get(orgUrl(org.orgId, '/members')), 200);
    expectStatus(await devAdmin.get(orgUrl(org.orgId, '/audit-events')), 403);
    expectStatus(
      await devAdmin.post(orgUrl(org.orgId, '/invitations'), { emails: [uniqueEmail()], role: 'viewer' }),
      403,
    );
    const list = expectStatus(await as(t.app, dev).get('/api/v1/me/tokens'), 200).json();
    expect(list.items[0].permissions).not.toContain('members:manage');
    expect(list.items[0].permissions).toContain('findings:read');

    // An Owner's admin token still cannot delete or give away the organization.
    const ownerAdmin = withToken(
      t.app,
      (await createPersonalToken(t.app, org.owner, org.orgId, ['admin'])).token,
    );
    const del = await ownerAdmin.delete(orgUrl(org.orgId));
    expect([403]).toContain(del.statusCode);
    expectStatus(await as(t.app, org.owner).get(orgUrl(org.orgId)), 200);
  });

  it('lose power the moment the owner is demoted, and die when the owner is removed', async () => {
    const { org, member: admin } = await orgWith('admin');
    const api = withToken(t.app, (await createPersonalToken(t.app, admin, org.orgId, ['admin'])).token);
    expectStatus(await api.get(orgUrl(org.orgId, '/audit-events')), 200);

    expectStatus(
      await as(t.app, org.owner).patch(orgUrl(org.orgId, `/members/${admin.userId}`), { role: 'viewer' }),
      200,
    );
    expectStatus(await api.get(orgUrl(org.orgId, '/audit-events')), 403);
    expectStatus(await api.get(orgUrl(org.orgId, '/members')), 200);

    expectStatus(await as(t.app, org.owner).delete(orgUrl(org.orgId, `/members/${admin.userId}`)), 204);
    const gone = expectStatus(await api.get(orgUrl(org.orgId, '/members')), 401);
    expect(gone.json().code).toBe('unauthenticated');
    // Re-inviting the person does not bring the old token back.
    expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/invitations'), {
        emails: [admin.email],
        role: 'admin',
      }),
      201,
    );
    expect(expectStatus(await as(t.app, admin).get('/api/v1/me/tokens'), 200).json().items).toEqual([]);
  });

  it('a made-up token is looked up once, not on every request; a real one created later still works', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const url = orgUrl(orgId, '/members');
    const madeUp = generateToken('automation').token;
    const before = t.app.gatehouse.tokens.lookups;
    for (let i = 0; i < 5; i++) expectStatus(await withToken(t.app, madeUp).get(url), 401);
    expect(t.app.gatehouse.tokens.lookups - before).toBe(1);
    // A token created afterwards is not mistaken for a remembered unknown one.
    const real = await createPersonalToken(t.app, owner, orgId, ['read']);
    expectStatus(await withToken(t.app, real.token).get(url), 200);
  });

  it('revoked, expired, unknown and malformed tokens all answer 401 alike', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const revoked = await createPersonalToken(t.app, owner, orgId, ['read']);
    const expired = await createPersonalToken(t.app, owner, orgId, ['read']);
    const url = orgUrl(orgId, '/members');
    expectStatus(await withToken(t.app, revoked.token).get(url), 200);
    expectStatus(await withToken(t.app, expired.token).get(url), 200);

    expectStatus(await as(t.app, owner).delete(`/api/v1/me/tokens/${revoked.id}`), 204);
    await t.db.database.db
      .update(apiTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiTokens.id, expired.id));
    // (The expiry is read from the cached token: drop it as an instance restart would.)
    t.app.gatehouse.bus.dropLocal('api_tokens', createHash('sha256').update(expired.token).digest('hex'));

    const unknown = generateToken('personal').token;
    const badChecksum = `${revoked.token.slice(0, -1)}${revoked.token.endsWith('A') ? 'B' : 'A'}`;
    const answers = [];
    for (const header of [
      `Bearer ${revoked.token}`,
      `Bearer ${expired.token}`,
      `Bearer ${unknown}`,
      `Bearer ${badChecksum}`,
      'Bearer not-a-token',
      'Bearer',
      'bearer',
      `BEARER ${unknown}`,
      `Bearer ${'x'.repeat(5000)}`,
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: header } });
      expect(res.statusCode, header.slice(0, 40)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      const { requestId: _r, ...problem } = res.json();
      answers.push(problem);
    }
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ status: 401, code: 'unauthenticated' });
    // Another scheme is not a token (a proxy's Basic credentials): the session cookie decides.
    const basic = `Basic ${Buffer.from('proxy:secret').toString('base64')}`;
    const withCookie = await t.app.inject({
      method: 'GET',
      url,
      headers: { authorization: basic, cookie: owner.cookie },
    });
    expect(withCookie.statusCode, withCookie.body).toBe(200);
    const withoutCookie = await t.app.inject({ method: 'GET', url, headers: { authorization: basic } });
    expect(withoutCookie.statusCode).toBe(401);
    // Revoking again: the token is gone.
    expectStatus(await as(t.app, owner).delete(`/api/v1/me/tokens/${revoked.id}`), 404);
    const [entry] = await auditEntries(orgId, 'token.revoked');
    expect(entry).toMatchObject({ targetId: revoked.id, actorId: owner.userId });
  });

  it("list only their own organization's tokens: none of the owner's tokens elsewhere", async () => {
    const b = await createOrg(t.app, { name: 'Org B' });
    const c = await createOrg(t.app, { name: 'Org C' }, b.owner);
    const mine = await createPersonalToken(t.app, b.owner, b.orgId, ['read'], { name: 'b-reader' });
    const elsewhere = await createPersonalToken(t.app, b.owner, c.orgId, ['admin'], { name: 'c-admin' });
    const api = withToken(t.app, mine.token);
    const ids = async (url: string) =>
      expectStatus(await api.get(url), 200)
        .json()
        .items.map((i: { id: string }) => i.id);
    expect(await ids('/api/v1/me/tokens')).toEqual([mine.id]);
    expect(await ids(`/api/v1/me/tokens?orgId=${c.orgId}`)).toEqual([]);
    expect(await ids(`/api/v1/me/tokens?orgId=${b.orgId}`)).toEqual([mine.id]);
    // Signed in, the owner sees both.
    const all = expectStatus(await as(t.app, b.owner).get('/api/v1/me/tokens'), 200).json();
    expect(all.items.map((i: { id: string }) => i.id).sort()).toEqual([mine.id, elsewhere.id].sort());
    // Nor can it revoke one there (nor any: account changes need a session).
    expectStatus(await api.delete(`/api/v1/me/tokens/${elsewhere.id}`), 403);
    expect(expectStatus(await as(t.app, b.owner).get('/api/v1/me/tokens'), 200).json().items).toHaveLength(2);
  });

  it('reach only their own organization, and only read account routes', async () => {
    const a = await createOrg(t.app);
    const b = await createOrg(t.app, {}, a.owner);
    const api = withToken(t.app, (await createPersonalToken(t.app, a.owner, a.orgId, ['admin'])).token);
    const other = expectStatus(await api.get(orgUrl(b.orgId, '/members')), 404);
    expect(other.json().code).toBe('not_found');
    expectStatus(await api.get('/api/v1/me/tokens'), 200);
    // Its owner's other organizations are not its business.
    const me = expectStatus(await api.get('/api/v1/me'), 200).json();
    expect(me.memberships.map((m: { org: { id: string } }) => m.org.id)).toEqual([a.orgId]);
    const all = expectStatus(await as(t.app, a.owner).get('/api/v1/me'), 200).json();
    expect(all.memberships).toHaveLength(2);
    for (const res of [
      await api.get('/api/v1/orgs'),
      await api.get('/api/v1/me/audit-events'),
      await api.get('/api/v1/me/sessions'),
      await api.post('/api/v1/me/tokens', { name: 'x', orgId: a.orgId, scopes: ['admin'] }),
      await api.patch('/api/v1/me', { name: 'Token Name' }),
      await api.post('/api/v1/orgs', { name: 'Made by a token' }),
      await api.post(orgUrl(a.orgId, '/automation-tokens'), { name: 'x', role: 'viewer' }),
      await api.post('/api/v1/me/password', { currentPassword: 'x', newPassword: 'y'.repeat(20) }),
    ]) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('session_required');
    }
  });

  it('refuse an organization the user is not a member of, and bad input', async () => {
    const me = await signUp(t.app);
    const { orgId } = await createOrg(t.app);
    expectStatus(await as(t.app, me).post('/api/v1/me/tokens', { name: 'x', orgId, scopes: ['read'] }), 404);
    const mine = await createOrg(t.app, {}, me);
    for (const body of [
      { name: 'x', orgId: mine.orgId, scopes: [] },
      { name: 'x', orgId: mine.orgId, scopes: ['root'] },
      { name: 'x', orgId: mine.orgId, scopes: ['read'], expiresInDays: 7 },
      { name: '', orgId: mine.orgId, scopes: ['read'] },
      { name: 'x', orgId: 'nope', scopes: ['read'] },
      { name: 'x', orgId: mine.orgId, scopes: ['read'], token: 'gtp_chosen' },
    ]) {
      const res = await as(t.app, me).post('/api/v1/me/tokens', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const none = await t.db.database.db.select().from(apiTokens).where(eq(apiTokens.userId, me.userId));
    expect(none).toEqual([]);
  });

  it('record when they were last used without writing on every request', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const { token, id } = await createPersonalToken(t.app, owner, orgId, ['read']);
    for (let i = 0; i < 5; i++)
      expectStatus(await withToken(t.app, token).get(orgUrl(orgId, '/members')), 200);
    await vi.waitFor(
      async () => {
        const [row] = await t.db.database.db.select().from(apiTokens).where(eq(apiTokens.id, id));
        expect(row!.lastUsedAt).not.toBeNull();
      },
      { timeout: 10_000 },
    );
    const [row] = await t.db.database.db.select().from(apiTokens).where(eq(apiTokens.id, id));
    expect(row!.lastUsedIp).toBe('127.0.0.1');
    const listed = expectStatus(await as(t.app, owner).get('/api/v1/me/tokens'), 200).json().items[0];
    expect(listed.lastUsedAt).not.toBeNull();
  });
});

describe('automation tokens', () => {
  async function createAutomation(who: Person, orgId: string, body: Record<string, unknown>) {
    return as(t.app, who).post(orgUrl(orgId, '/automation-tokens'), { name: 'pipeline', ...body });
  }

  it('act with their role, keep a usage log, and die when revoked', async () => {
    const org = await createOrg(t.app);
    const res = expectStatus(
      await createAutomation(org.owner, org.orgId, { role: 'developer', expiresInDays: 30 }),
      201,
    );
    const created = res.json();
    expect(tokenKind(created.token)).toBe('automation');
    expect(created).toMatchObject({ role: 'developer', scopes: ['admin'], status: 'active' });

    const bot = withToken(t.app, created.token, { 'user-agent': 'ci-runner/1.0' });
    expectStatus(await bot.get(orgUrl(org.orgId, '/members?limit=5')), 200);
    // The same request again within the second: one entry, counted twice (the query string is not logged).
    expectStatus(await bot.get(orgUrl(org.orgId, '/members?limit=6')), 200);
    expectStatus(await bot.get(orgUrl(org.orgId, '/audit-events')), 403);
    // Not a person: account routes are not for it.
    expectStatus(await bot.get('/api/v1/me'), 403);

    const list = expectStatus(await as(t.app, org.owner).get(orgUrl(org.orgId, '/automation-tokens')), 200);
    expect(list.body).not.toContain(created.token);
    expect(list.json().items).toEqual([
      expect.objectContaining({
        id: created.id,
        role: 'developer',
        createdBy: { id: org.owner.userId, email: org.owner.email },
        permissions: expect.arrayContaining(['scans:create', 'findings:read']),
      }),
    ]);

    const usage = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org.orgId, `/automation-tokens/${created.id}/usage`)),
      200,
    ).json();
    expect(usage.items.slice(0, 2)).toEqual([
      { at: expect.any(String), ip: '127.0.0.1', method: 'GET', route: '/api/v1/me', status: 403, count: 1 },
      {
        at: expect.any(String),
        ip: '127.0.0.1',
        method: 'GET',
        route: `/api/v1/orgs/${org.orgId}/audit-events`,
        status: 403,
        count: 1,
      },
    ]);
    // The two list requests: one entry counting both, or two if a flush fell between them.
    const lists = usage.items.slice(2);
    for (const item of lists) {
      expect(item).toMatchObject({
        ip: '127.0.0.1',
        method: 'GET',
        route: `/api/v1/orgs/${org.orgId}/members`,
        status: 200,
      });
    }
    expect(lists.reduce((n: number, i: { count: number }) => n + i.count, 0)).toBe(2);

    expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org.orgId, `/automation-tokens/${created.id}`)),
      204,
    );
    expectStatus(await bot.get(orgUrl(org.orgId, '/members')), 401);
    const [entry] = await auditEntries(org.orgId, 'token.revoked');
    expect(entry).toMatchObject({ targetType: 'automation_token', targetId: created.id });
    // The log outlives the token.
    const after = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org.orgId, `/automation-tokens/${created.id}/usage`)),
      200,
    ).json();
    expect(after.items).toEqual(usage.items);
  });

  it('act as themselves in the audit log', async () => {
    const org = await createOrg(t.app);
    const created = expectStatus(await createAutomation(org.owner, org.orgId, { role: 'admin' }), 201).json();
    const bot = withToken(t.app, created.token);
    expectStatus(await bot.patch(orgUrl(org.orgId), { description: 'by the pipeline' }), 200);
    const [entry] = await auditEntries(org.orgId, 'org.updated');
    expect(entry).toMatchObject({
      actorType: 'token',
      actorId: created.id,
      actorEmail: null,
      actorTokenId: null,
    });
    const [made] = await auditEntries(org.orgId, 'token.created');
    expect(made).toMatchObject({
      targetType: 'automation_token',
      targetId: created.id,
      actorId: org.owner.userId,
    });
    expect(made!.after).toMatchObject({ role: 'admin', scopes: ['admin'] });
  });

  it('cannot be made more powerful than their creator, nor an owner', async () => {
    const org = await createOrg(t.app);
    // A custom role that may manage tokens but not members.
    expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/roles'), {
        slug: 'token-keeper',
        name: 'Token keeper',
        permissions: ['api_keys:manage', 'members:read', 'findings:read'],
      }),
      201,
    );
    const keeper = await addMember(t.app, org, 'token-keeper', {}, t.mail);
    const refused = expectStatus(await createAutomation(keeper, org.orgId, { role: 'admin' }), 403);
    expect(refused.json().code).toBe('permission_denied');
    // Narrowed by scope to what the keeper holds, it is fine.
    expectStatus(await createAutomation(keeper, org.orgId, { role: 'viewer', scopes: ['read'] }), 403);
    const own = expectStatus(await createAutomation(keeper, org.orgId, {}), 201).json();
    expect(own.role).toBe('token-keeper');
    expectStatus(await createAutomation(org.owner, org.orgId, { role: 'owner' }), 400);
    expectStatus(await createAutomation(org.owner, org.orgId, { role: 'no-such-role' }), 400);
    expectStatus(
      await createAutomation(org.owner, org.orgId, { role: 'viewer', orgId: crypto.randomUUID() }),
      400,
    );
    // A Developer has no api_keys:manage at all.
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await createAutomation(dev, org.orgId, { role: 'viewer' }), 403);
  });

  it("follow their role's edits, and move with it when it is deleted", async () => {
    const org = await createOrg(t.app);
    expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/roles'), {
        slug: 'scanner',
        name: 'Scanner',
        permissions: ['members:read'],
      }),
      201,
    );
    const created = expectStatus(
      await createAutomation(org.owner, org.orgId, { role: 'scanner' }),
      201,
    ).json();
    const bot = withToken(t.app, created.token);
    expectStatus(await bot.get(orgUrl(org.orgId, '/members')), 200);
    expectStatus(
      await as(t.app, org.owner).patch(orgUrl(org.orgId, '/roles/scanner'), {
        permissions: ['findings:read'],
      }),
      200,
    );
    expectStatus(await bot.get(orgUrl(org.orgId, '/members')), 403);

    const inUse = expectStatus(await as(t.app, org.owner).delete(orgUrl(org.orgId, '/roles/scanner')), 409);
    // A token cannot be made an owner this way either.
    const toOwner = expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org.orgId, '/roles/scanner?reassignTo=owner')),
      400,
    );
    expect(toOwner.json().errors[0].field).toBe('/querystring/reassignTo');
    expect(inUse.json().code).toBe('role_in_use');
    expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org.orgId, '/roles/scanner?reassignTo=viewer')),
      204,
    );
    expectStatus(await bot.get(orgUrl(org.orgId, '/members')), 200);
    const listed = expectStatus(await as(t.app, org.owner).get(orgUrl(org.orgId, '/automation-tokens')), 200);
    expect(listed.json().items[0].role).toBe('viewer');
  });

  it('keep a bounded usage log', async () => {
    const org = await createOrg(t.app);
    const created = expectStatus(
      await createAutomation(org.owner, org.orgId, { role: 'viewer' }),
      201,
    ).json();
    // What the token changed, then a flood of reads: the flood cannot push the change out.
    await t.db.database.db.insert(apiTokenUsage).values({
      orgId: org.orgId,
      tokenId: created.id,
      at: new Date(Date.now() - 2 * 86_400_000),
      ip: '127.0.0.1',
      method: 'PATCH',
      route: `/api/v1/orgs/${org.orgId}`,
      status: 200,
    });
    const old = Array.from({ length: USAGE_LOG_LIMIT + 20 }, (_, i) => ({
      orgId: org.orgId,
      tokenId: created.id,
      at: new Date(Date.now() - 86_400_000 + i),
      ip: '127.0.0.1',
      method: 'GET',
      route: `/old/${i}`,
      status: 200,
    }));
    await t.db.database.db.insert(apiTokenUsage).values(old);
    expectStatus(await withToken(t.app, created.token).get(orgUrl(org.orgId, '/members')), 200);
    await t.app.gatehouse.tokens.flushUsage();
    const [count] = await t.db.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(apiTokenUsage)
      .where(eq(apiTokenUsage.tokenId, created.id));
    expect(count!.n).toBe(USAGE_LOG_LIMIT + 1);
    const [change] = await t.db.database.db
      .select()
      .from(apiTokenUsage)
      .where(and(eq(apiTokenUsage.tokenId, created.id), eq(apiTokenUsage.method, 'PATCH')));
    expect(change).toBeDefined();
    const page = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org.orgId, `/automation-tokens/${created.id}/usage?limit=2`)),
      200,
    ).json();
    expect(page.items[0].route).toBe(`/api/v1/orgs/${org.orgId}/members`);
    expect(page.items[1].route).toBe(`/old/${USAGE_LOG_LIMIT + 19}`);
    const next = expectStatus(
      await as(t.app, org.owner).get(
        orgUrl(org.orgId, `/automation-tokens/${created.id}/usage?limit=2&cursor=${page.nextCursor}`),
      ),
      200,
    ).json();
    expect(next.items[0].route).toBe(`/old/${USAGE_LOG_LIMIT + 18}`);
  });
});

describe('tokens and the organization around them', () => {
  it('die with their organization', async () => {
    const org = await createOrg(t.app);
    const personal = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
    const automation = expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/automation-tokens'), { name: 'x', role: 'viewer' }),
      201,
    ).json();
    expectStatus(await as(t.app, org.owner).delete(orgUrl(org.orgId), { password: org.owner.password }), 204);
    expectStatus(await withToken(t.app, personal.token).get('/api/v1/me'), 401);
    expectStatus(await withToken(t.app, automation.token).get(orgUrl(org.orgId, '/members')), 401);
  });

  it("name the automation token in the owners' alert when it promotes someone", async () => {
    const { org, member } = await orgWith('developer');
    const bot = expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/automation-tokens'), {
        name: 'Promoter',
        role: 'admin',
      }),
      201,
    ).json();
    expectStatus(
      await withToken(t.app, bot.token).patch(orgUrl(org.orgId, `/members/${member.userId}`), {
        role: 'admin',
      }),
      200,
    );
    const alert = await t.mail.latestTo(org.owner.email, 0, /automation token/);
    expect(alert.text).toContain('by the automation token "Promoter"');
  });
});

describe("an organization's view of personal tokens", () => {
  it('lets token managers list and revoke members’ tokens for the organization', async () => {
    const { org, member: dev } = await orgWith('developer');
    const devToken = await createPersonalToken(t.app, dev, org.orgId, ['write'], { name: 'dev laptop' });
    const listed = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org.orgId, '/personal-tokens')),
      200,
    ).json();
    expect(listed.items).toEqual([
      expect.objectContaining({
        id: devToken.id,
        name: 'dev laptop',
        owner: { id: dev.userId, email: dev.email },
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(devToken.token);
    expectStatus(await as(t.app, dev).get(orgUrl(org.orgId, '/personal-tokens')), 403);
    expectStatus(
      await as(t.app, org.owner).delete(orgUrl(org.orgId, `/personal-tokens/${devToken.id}`)),
      204,
    );
    expectStatus(await withToken(t.app, devToken.token).get(orgUrl(org.orgId, '/members')), 401);
    // An automation token's id is not a personal token's.
    const auto = expectStatus(
      await as(t.app, org.owner).post(orgUrl(org.orgId, '/automation-tokens'), { name: 'x', role: 'viewer' }),
      201,
    ).json();
    expectStatus(await as(t.app, org.owner).delete(orgUrl(org.orgId, `/personal-tokens/${auto.id}`)), 404);
  });

  it("lists one member's personal tokens with ?userId=, and refuses an id that is not a UUID", async () => {
    const { org, member: dev } = await orgWith('developer');
    const other = await addMember(t.app, org, 'viewer', {}, t.mail);
    const devToken = await createPersonalToken(t.app, dev, org.orgId, ['read'], { name: 'dev ci' });
    const otherToken = await createPersonalToken(t.app, other, org.orgId, ['read'], { name: 'viewer cli' });
    const list = async (query: string) =>
      expectStatus(await as(t.app, org.owner).get(orgUrl(org.orgId, `/personal-tokens${query}`)), 200).json()
        .items as Array<{ id: string; owner: { id: string } }>;
    expect((await list('')).map((x) => x.id).sort()).toEqual([devToken.id, otherToken.id].sort());
    expect(await list(`?userId=${dev.userId}`)).toEqual([
      expect.objectContaining({ id: devToken.id, owner: { id: dev.userId, email: dev.email } }),
    ]);
    expect((await list(`?userId=${other.userId}&limit=1`)).map((x) => x.id)).toEqual([otherToken.id]);
    expect(await list(`?userId=${org.owner.userId}`)).toEqual([]);
    const bad = expectStatus(
      await as(t.app, org.owner).get(orgUrl(org.orgId, '/personal-tokens?userId=nope')),
      400,
    ).json();
    expect(bad.code).toBe('validation_failed');
  });

  it('a cookie from another origin cannot create tokens', async () => {
    const { orgId, owner } = await createOrg(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/tokens',
      headers: { cookie: owner.cookie, origin: 'https://evil.example' },
      payload: { name: 'x', orgId, scopes: ['admin'] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden_origin');
    void ORIGIN;
  });
});
