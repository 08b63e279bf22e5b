import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, tokenFromMail } from '../../../../test/support/orgs.ts';
import { PERMISSIONS } from '../../../contracts/permissions.ts';
import { BUILTIN_ROLES } from '../../../contracts/roles.ts';
import { invitations, memberships, organizations, roles } from '../../platform/db/schema.ts';

/** What GET /me says of an org that kept the default language settings. */
const DEFAULT_LOCALIZATION = { language: 'en', timezone: null, dateFormat: 'locale' };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const DAY_MS = 24 * 3_600_000;

type Org = Awaited<ReturnType<typeof createOrg>>;

const newOrg = (fields: Parameters<typeof createOrg>[1] = {}) => createOrg(t.app, fields);
const member = (org: Org, role: string, fields: { name?: string; email?: string } = {}) =>
  addMember(t.app, org, role, fields, t.mail);

const mailsTo = (email: string) => t.mail.messages.filter((m) => m.to.includes(email.toLowerCase()));

/** Waits for the (count + 1)-th message to `email` and returns it (latestTo would return an older one). */
async function mailAfter(email: string, count: number) {
  for (let i = 0; i < 200; i++) {
    const all = mailsTo(email);
    if (all.length > count) return all.at(-1)!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no new email to ${email} arrived (had ${count})`);
}

/** Invites `emails` and returns the created items with each one's token (read from its email). */
async function invite(org: Org, emails: string[], role = 'developer', by: { cookie: string } = org.owner) {
  const before = new Map(emails.map((e) => [e.toLowerCase(), mailsTo(e).length]));
  const res = expectStatus(
    await as(t.app, by).post(`/api/v1/orgs/${org.orgId}/invitations`, { emails, role }),
    201,
  );
  const items = res.json().items as {
    id: string;
    email: string;
    role: string;
    status: string;
    expiresAt: string;
  }[];
  const withTokens = [];
  for (const item of items) {
    const mail = await mailAfter(item.email, before.get(item.email.toLowerCase()) ?? 0);
    withTokens.push({ ...item, token: tokenFromMail(mail.text) });
  }
  return withTokens;
}

const accept = (who: { cookie: string }, token: string) =>
  as(t.app, who).post('/api/v1/invitations/accept', { token });

/** A real change in the database: the invitation's expiry moves to just before now. */
async function expire(id: string) {
  await t.db.database.db
    .update(invitations)
    .set({ expiresAt: sql`now() - interval '1 second'` })
    .where(eq(invitations.id, id));
}

async function invitationRow(id: string) {
  const [row] = await t.db.database.db.select().from(invitations).where(eq(invitations.id, id));
  return row!;
}

async function invitationRowsFor(orgId: string, email: string) {
  return t.db.database.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), sql`lower(${invitations.email}) = lower(${email})`));
}

async function membersOf(org: Org, query = '') {
  const res = expectStatus(await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/members${query}`), 200);
  return res.json().items as { userId: string; email: string; role: string; status: string }[];
}

const withoutRequestId = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });

describe('POST /api/v1/orgs/:orgId/invitations', () => {
  it('invites one email with a role: 201 with a pending invitation valid 7 days', async () => {
    const org = await newOrg();
    const email = uniqueEmail('dev');
    const before = Date.now();
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [email],
      role: 'developer',
    });
    const after = Date.now();
    expect(res.statusCode).toBe(201);
    const { items } = res.json();
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email,
      role: 'developer',
      status: 'pending',
      expiresAt: expect.any(String),
    });
    const expiresAt = Date.parse(items[0].expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + 7 * DAY_MS);
  });

  it('invites many emails at once, deduplicated case-insensitively', async () => {
    const org = await newOrg();
    const a = uniqueEmail('alpha');
    const b = uniqueEmail('beta');
    const res = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [a, a.toUpperCase(), b, b.replace(/^./, (c) => c.toUpperCase())],
        role: 'viewer',
      }),
      201,
    );
    const items = res.json().items as { email: string; role: string; status: string }[];
    expect(items.map((i) => i.email.toLowerCase()).sort()).toEqual([a, b].sort());
    expect(items.every((i) => i.role === 'viewer' && i.status === 'pending')).toBe(true);
    expect(await invitationRowsFor(org.orgId, a)).toHaveLength(1);
    expect(await invitationRowsFor(org.orgId, b)).toHaveLength(1);
  });

  it('refuses an email of an active member with 409 already_member and creates nothing', async () => {
    const org = await newOrg();
    const dev = await member(org, 'developer');
    const fresh = uniqueEmail('fresh');
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [fresh, dev.email.toUpperCase()],
      role: 'viewer',
    });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('already_member');
    expect(await invitationRowsFor(org.orgId, fresh)).toHaveLength(0);
    expect(await invitationRowsFor(org.orgId, dev.email)).toHaveLength(1); // only the accepted one
  });

  it('renews a pending invitation when its email is invited again: same id, new role, the old link dies', async () => {
    const org = await newOrg();
    const email = uniqueEmail('again');
    const [first] = await invite(org, [email], 'viewer');
    const [second] = await invite(org, [email.toUpperCase()], 'cyberoper');
    expect(second!.id).toBe(first!.id);
    expect(second!.token).not.toBe(first!.token);
    expect(second!.role).toBe('cyberoper');
    expect(await invitationRowsFor(org.orgId, email)).toHaveLength(1);
    const person = await signUp(t.app, { email });
    const old = await accept(person, first!.token);
    expect(old.statusCode).toBe(410);
    expect(old.json().code).toBe('invite_expired');
    const ok = expectStatus(await accept(person, second!.token), 200);
    expect(ok.json().role).toBe('cyberoper');
  });

  it('refuses an unknown role with 400 naming the role field', async () => {
    const org = await newOrg();
    const email = uniqueEmail();
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [email],
      role: 'overlord',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain('/body/role');
    expect(await invitationRowsFor(org.orgId, email)).toHaveLength(0);
  });

  it('refuses a custom role that only another organization has with 400', async () => {
    const other = await newOrg({ plan: 'pro' });
    expectStatus(
      await as(t.app, other.owner).post(`/api/v1/orgs/${other.orgId}/roles`, {
        slug: 'auditor',
        name: 'Auditor',
        permissions: ['findings:read'],
      }),
      201,
    );
    const org = await newOrg();
    const email = uniqueEmail();
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [email],
      role: 'auditor',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain('/body/role');
    expect(await invitationRowsFor(org.orgId, email)).toHaveLength(0);
  });

  it('does not let an admin invite someone as owner (403 permission_denied), but as developer', async () => {
    const org = await newOrg();
    const admin = await member(org, 'admin');
    const email = uniqueEmail('climber');
    const res = await as(t.app, admin).post(`/api/v1/orgs/${org.orgId}/invitations`, {
      emails: [email],
      role: 'owner',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
    expect(await invitationRowsFor(org.orgId, email)).toHaveLength(0);
    const [ok] = await invite(org, [email], 'developer', admin);
    expect(ok!.role).toBe('developer');
  });

  it('answers 401 without a session, 404 to a non-member and 403 to a member without members:manage', async () => {
    const org = await newOrg();
    const payload = { emails: [uniqueEmail()], role: 'viewer' };
    const anonymous = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${org.orgId}/invitations`,
      headers: { origin: ORIGIN },
      payload,
    });
    expect(anonymous.statusCode).toBe(401);
    const stranger = await signUp(t.app);
    expect(
      (await as(t.app, stranger).post(`/api/v1/orgs/${org.orgId}/invitations`, payload)).statusCode,
    ).toBe(404);
    const dev = await member(org, 'developer');
    const denied = await as(t.app, dev).post(`/api/v1/orgs/${org.orgId}/invitations`, payload);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('permission_denied');
  });

  it.each([
    [{ emails: [], role: 'viewer' }, '/body/emails'],
    [{ emails: ['not-an-email'], role: 'viewer' }, '/body/emails/0'],
    [{ emails: ['a@example.test'] }, '/body/role'],
    [{ emails: 'a@example.test', role: 'viewer' }, '/body/emails'],
  ])('refuses %j with 400 naming %s', async (payload, field) => {
    const org = await newOrg();
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});

describe('the invitation email', () => {
  it('arrives at the SMTP server with the org name, the role and a link on PUBLIC_URL with the token in the fragment', async () => {
    const org = await newOrg({ name: 'Mail Check Corp' });
    const email = uniqueEmail('mailed');
    await invite(org, [email], 'developer');
    const mail = await t.mail.latestTo(email);
    expect(mail.to).toEqual([email]);
    expect(mail.subject).toBe('You are invited to an organization on Gatehouse');
    expect(mail.text).toContain('"Mail Check Corp"');
    expect(mail.text).toContain('Developer');
    expect(mail.text).toContain('Olivia Owner');
    const link = /https?:\/\/\S+/.exec(mail.text)![0];
    expect(link).toMatch(/^http:\/\/localhost:3000\/invitations\/accept#token=[A-Za-z0-9_-]{22,}$/);
    expect(new URL(link).search).toBe('');
    expect(t.config.publicUrl).toBe('http://localhost:3000');
  });

  it('still arrives when the org name holds a line break (the text gets a space instead)', async () => {
    const org = await newOrg();
    // Set in the database: whatever the API lets through, stored names may hold control characters.
    await t.db.database.db
      .update(organizations)
      .set({ name: 'Line\nBreak Co' })
      .where(eq(organizations.id, org.orgId));
    const email = uniqueEmail('linebreak');
    const [item] = await invite(org, [email]);
    const mail = await t.mail.latestTo(email);
    expect(mail.text).toContain('"Olivia Owner" invited you to join the organization "Line Break Co"');
    expect(tokenFromMail(mail.text)).toBe(item!.token);
  });

  it('carries a token that admits the invited person once they sign up; /me and the member list show them', async () => {
    const org = await newOrg({ name: 'Welcome Works' });
    const email = uniqueEmail('newcomer');
    await invite(org, [email], 'cyberoper');
    const token = tokenFromMail((await t.mail.latestTo(email)).text);
    const person = await signUp(t.app, { email, name: 'Nina Newcomer' });
    const res = await accept(person, token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      org: { id: org.orgId, slug: org.slug, name: 'Welcome Works' },
      role: 'cyberoper',
    });
    const me = expectStatus(await as(t.app, person).get('/api/v1/me'), 200);
    expect(me.json().memberships).toEqual([
      {
        org: {
          id: org.orgId,
          slug: org.slug,
          name: 'Welcome Works',
          suspended: false,
          localization: DEFAULT_LOCALIZATION,
        },
        role: 'cyberoper',
        permissions: PERMISSIONS.filter((p) =>
          BUILTIN_ROLES.find((r) => r.slug === 'cyberoper')!.permissions.includes(p),
        ),
      },
    ]);
    const listed = (await membersOf(org)).find((m) => m.userId === person.userId);
    expect(listed).toMatchObject({ email, name: 'Nina Newcomer', role: 'cyberoper', status: 'active' });
    // And the person can now use the org.
    expectStatus(await as(t.app, person).get(`/api/v1/orgs/${org.orgId}/members`), 200);
  });
});

describe('invitation tokens', () => {
  it('carry at least 128 bits and are stored only as their SHA-256 hash, never logged', async () => {
    const org = await newOrg();
    const [item] = await invite(org, [uniqueEmail('hashed')]);
    const token = item!.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(Buffer.from(token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    const row = await invitationRow(item!.id);
    expect(row.tokenHash).toHaveLength(32);
    expect(row.tokenHash.equals(Buffer.from(token))).toBe(false);
    expect(row.tokenHash.equals(Buffer.from(token, 'base64url'))).toBe(false);
    expect(row.tokenHash.equals(createHash('sha256').update(token).digest())).toBe(true);
    expect(JSON.stringify(row)).not.toContain(token);
    expect(t.logs.join('\n')).not.toContain(token);
  });
});

describe('POST /api/v1/invitations/accept', () => {
  it('refuses a user whose email differs with 403 invite_email_mismatch; the invitation stays usable', async () => {
    const org = await newOrg();
    const email = uniqueEmail('rightful');
    const [item] = await invite(org, [email]);
    const intruder = await signUp(t.app);
    const res = await accept(intruder, item!.token);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('invite_email_mismatch');
    expect((await membersOf(org)).map((m) => m.userId)).not.toContain(intruder.userId);
    const rightful = await signUp(t.app, { email: email.toUpperCase() });
    expectStatus(await accept(rightful, item!.token), 200);
  });

  it('accepts once: a second accept answers 409 invite_used', async () => {
    const org = await newOrg();
    const email = uniqueEmail('twice');
    const [item] = await invite(org, [email]);
    const person = await signUp(t.app, { email });
    expectStatus(await accept(person, item!.token), 200);
    const again = await accept(person, item!.token);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('invite_used');
    expect((await invitationRow(item!.id)).status).toBe('accepted');
  });

  it('answers an unknown token and an expired one alike: 410 invite_expired', async () => {
    const org = await newOrg();
    const email = uniqueEmail('late');
    const [item] = await invite(org, [email]);
    await expire(item!.id);
    const person = await signUp(t.app, { email });
    const expired = await accept(person, item!.token);
    const unknown = await accept(person, 'A'.repeat(43));
    expect(expired.statusCode).toBe(410);
    expect(unknown.statusCode).toBe(410);
    expect(expired.json().code).toBe('invite_expired');
    expect(expired.headers['content-type']).toContain('application/problem+json');
    expect(withoutRequestId(expired.json())).toEqual(withoutRequestId(unknown.json()));
    expect((await membersOf(org)).map((m) => m.userId)).not.toContain(person.userId);
  });

  it('answers a cancelled invitation with 410 invite_expired', async () => {
    const org = await newOrg();
    const email = uniqueEmail('cancelled');
    const [item] = await invite(org, [email]);
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}`), 204);
    const person = await signUp(t.app, { email });
    const res = await accept(person, item!.token);
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('invite_expired');
  });

  it('brings a removed member back on the same membership row, active, with the new role', async () => {
    const org = await newOrg();
    const dev = await member(org, 'developer');
    expectStatus(await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`), 204);
    expect((await as(t.app, dev).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(404);
    const [item] = await invite(org, [dev.email], 'viewer');
    expectStatus(await accept(dev, item!.token), 200);
    const rows = await t.db.database.db
      .select({ status: memberships.status, role: roles.slug, removedAt: memberships.removedAt })
      .from(memberships)
      .innerJoin(roles, eq(roles.id, memberships.roleId))
      .where(and(eq(memberships.orgId, org.orgId), eq(memberships.userId, dev.userId)));
    expect(rows).toEqual([{ status: 'active', role: 'viewer', removedAt: null }]);
    expect((await membersOf(org)).find((m) => m.userId === dev.userId)).toMatchObject({
      role: 'viewer',
      status: 'active',
    });
    expectStatus(await as(t.app, dev).get(`/api/v1/orgs/${org.orgId}/members`), 200);
  });

  it('needs a session (401) and a well-formed token (400)', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      headers: { origin: ORIGIN },
      payload: { token: 'A'.repeat(43) },
    });
    expect(anonymous.statusCode).toBe(401);
    const person = await signUp(t.app);
    const bad = await accept(person, 'not a token!');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
  });
});

describe('POST /api/v1/orgs/:orgId/invitations/:id/resend', () => {
  it('sends a new link and kills the old one; send_count goes up', async () => {
    const org = await newOrg();
    const email = uniqueEmail('resent');
    const [item] = await invite(org, [email]);
    expect((await invitationRow(item!.id)).sendCount).toBe(1);
    const sent = mailsTo(email).length;
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}/resend`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: item!.id, email, role: 'developer', status: 'pending' });
    const mail = await mailAfter(email, sent);
    const token = tokenFromMail(mail.text);
    expect(token).not.toBe(item!.token);
    expect((await invitationRow(item!.id)).sendCount).toBe(2);
    const person = await signUp(t.app, { email });
    const old = await accept(person, item!.token);
    expect(old.statusCode).toBe(410);
    expect(old.json().code).toBe('invite_expired');
    expectStatus(await accept(person, token), 200);
  });

  it('refuses accepted and cancelled invitations with 409', async () => {
    const org = await newOrg();
    const [used, dropped] = await invite(org, [uniqueEmail('used'), uniqueEmail('dropped')]);
    const person = await signUp(t.app, { email: used!.email });
    expectStatus(await accept(person, used!.token), 200);
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${dropped!.id}`),
      204,
    );
    for (const item of [used!, dropped!]) {
      const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations/${item.id}/resend`);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('conflict');
    }
  });

  it('revives an expired invitation with a new link', async () => {
    const org = await newOrg();
    const email = uniqueEmail('revived');
    const [item] = await invite(org, [email]);
    await expire(item!.id);
    const listed = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/invitations?status=expired`),
      200,
    );
    expect(listed.json().items.map((i: { id: string }) => i.id)).toEqual([item!.id]);
    const sent = mailsTo(email).length;
    const res = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}/resend`),
      200,
    );
    expect(res.json().status).toBe('pending');
    const row = await invitationRow(item!.id);
    const [{ live }] = (await t.db.database.db
      .select({ live: sql<boolean>`${invitations.expiresAt} > now() + interval '6 days'` })
      .from(invitations)
      .where(eq(invitations.id, item!.id))) as [{ live: boolean }];
    expect(live).toBe(true);
    expect(row.status).toBe('pending');
    const token = tokenFromMail((await mailAfter(email, sent)).text);
    const person = await signUp(t.app, { email });
    expectStatus(await accept(person, token), 200);
  });

  it('answers 404 for an invitation of another org', async () => {
    const org = await newOrg();
    const other = await newOrg();
    const [item] = await invite(other, [uniqueEmail()]);
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}/resend`);
    expect(res.statusCode).toBe(404);
  });
  it('renews only an invitation to a role within reach: a new link is a new grant', async () => {
    const org = await newOrg({ plan: 'pro' });
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'inviter',
        name: 'Inviter',
        permissions: ['members:read', 'members:manage'],
      }),
      201,
    );
    const inviter = await member(org, 'inviter');
    const email = uniqueEmail('lapsed-admin');
    const [item] = await invite(org, [email], 'admin');
    await expire(item!.id);
    const lapsed = await invitationRow(item!.id);
    const sent = mailsTo(email).length;
    const res = await as(t.app, inviter).post(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}/resend`);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
    expect(await invitationRow(item!.id)).toEqual(lapsed);
    expect(mailsTo(email)).toHaveLength(sent);
    // One within reach is renewed as before.
    const [own] = await invite(org, [uniqueEmail('reachable')], 'inviter', inviter);
    expectStatus(
      await as(t.app, inviter).post(`/api/v1/orgs/${org.orgId}/invitations/${own!.id}/resend`),
      200,
    );
  });
});

describe('DELETE /api/v1/orgs/:orgId/invitations/:id', () => {
  it('cancels (204) and the link dies (410); cancelling again answers 409', async () => {
    const org = await newOrg();
    const email = uniqueEmail('gone');
    const [item] = await invite(org, [email]);
    const res = await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await invitationRow(item!.id)).status).toBe('cancelled');
    const person = await signUp(t.app, { email });
    expect((await accept(person, item!.token)).statusCode).toBe(410);
    const preview = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/preview',
      headers: { origin: ORIGIN },
      payload: { token: item!.token },
    });
    expect(preview.statusCode).toBe(410);
    const again = await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}`);
    expect(again.statusCode).toBe(409);
  });

  it("answers 404 for another org's invitation and leaves it alone", async () => {
    const org = await newOrg();
    const other = await newOrg();
    const [item] = await invite(other, [uniqueEmail()]);
    const res = await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${item!.id}`);
    expect(res.statusCode).toBe(404);
    expect((await invitationRow(item!.id)).status).toBe('pending');
  });
});

describe('GET /api/v1/orgs/:orgId/invitations', () => {
  it('shows pending and expired by default, and ?status= filters', async () => {
    const org = await newOrg();
    const [pending, expired, accepted, cancelled] = await invite(org, [
      uniqueEmail('p'),
      uniqueEmail('e'),
      uniqueEmail('a'),
      uniqueEmail('c'),
    ]);
    await expire(expired!.id);
    const person = await signUp(t.app, { email: accepted!.email });
    expectStatus(await accept(person, accepted!.token), 200);
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${cancelled!.id}`),
      204,
    );
    const list = async (query = '') => {
      const res = expectStatus(
        await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/invitations${query}`),
        200,
      );
      return res.json() as { items: { id: string; status: string }[]; nextCursor: string | null };
    };
    const all = await list();
    expect(all.nextCursor).toBeNull();
    expect(Object.fromEntries(all.items.map((i) => [i.id, i.status]))).toEqual({
      [pending!.id]: 'pending',
      [expired!.id]: 'expired',
    });
    for (const [status, item] of [
      ['pending', pending],
      ['expired', expired],
      ['accepted', accepted],
      ['cancelled', cancelled],
    ] as const) {
      const page = await list(`?status=${status}`);
      expect(page.items.map((i) => [i.id, i.status])).toEqual([[item!.id, status]]);
    }
    expect(
      (await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/invitations?status=lost`)).statusCode,
    ).toBe(400);
  });

  it('pages with a cursor (limit=1 across 3 invitations) and refuses a forged cursor with 400', async () => {
    const org = await newOrg();
    const created = await invite(org, [uniqueEmail('one'), uniqueEmail('two'), uniqueEmail('three')]);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const query: string = `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = expectStatus(
        await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/invitations${query}`),
        200,
      );
      const body = res.json() as { items: { id: string }[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(1);
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toHaveLength(3);
    expect([...seen].sort()).toEqual(created.map((c) => c.id).sort());
    for (const forged of [
      'not-a-cursor',
      Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url'),
      Buffer.from(JSON.stringify(['2024-02-30T00:00:00.000Z', created[0]!.id])).toString('base64url'),
    ]) {
      const res = await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/invitations?limit=1&cursor=${encodeURIComponent(forged)}`,
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });

  it('is refused to a member without members:manage (403)', async () => {
    const org = await newOrg();
    const viewer = await member(org, 'viewer');
    const res = await as(t.app, viewer).get(`/api/v1/orgs/${org.orgId}/invitations`);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
  });
});

describe('POST /api/v1/invitations/preview', () => {
  const preview = (token: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/preview',
      headers: { origin: ORIGIN },
      payload: { token },
    });

  it('shows, without signing in, the org, the email, the role and who invited', async () => {
    const org = await newOrg({ name: 'Preview Partners' });
    const email = uniqueEmail('curious');
    const [item] = await invite(org, [email], 'viewer');
    const res = await preview(item!.token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      org: { id: org.orgId, slug: org.slug, name: 'Preview Partners' },
      email,
      role: 'viewer',
      roleName: 'Viewer',
      invitedBy: 'Olivia Owner',
    });
  });

  it('answers 410 for an unknown, expired or used token', async () => {
    const org = await newOrg();
    const [expired, used] = await invite(org, [uniqueEmail('x'), uniqueEmail('u')]);
    await expire(expired!.id);
    const person = await signUp(t.app, { email: used!.email });
    expectStatus(await accept(person, used!.token), 200);
    for (const token of ['B'.repeat(43), expired!.token, used!.token]) {
      const res = await preview(token);
      expect(res.statusCode).toBe(410);
      expect(res.json().code).toBe('invite_expired');
    }
  });
});

describe("the plan's member limit", () => {
  const tryInvite = (org: Org, emails: string[]) =>
    as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, { emails, role: 'viewer' });

  it('lets a free org have 5 members counting pending invitations: owner + 4 invites, the 5th is refused', async () => {
    const org = await newOrg({ plan: 'free' });
    // All-or-nothing: five at once do not fit, and none is created.
    const five = Array.from({ length: 5 }, () => uniqueEmail('seat'));
    const tooMany = await tryInvite(org, five);
    expect(tooMany.statusCode).toBe(403);
    expect(tooMany.json().code).toBe('plan_limit');
    expect(await invitationRowsFor(org.orgId, five[0]!)).toHaveLength(0);
    expectStatus(await tryInvite(org, five.slice(0, 3)), 201);
    expectStatus(await tryInvite(org, five.slice(3, 4)), 201);
    const fifth = await tryInvite(org, [five[4]!]);
    expect(fifth.statusCode).toBe(403);
    expect(fifth.json().code).toBe('plan_limit');
    // Renewing a live pending invitation takes no new seat.
    expectStatus(await tryInvite(org, [five[0]!]), 201);
  });

  it('counts accepted invitations as members', async () => {
    const org = await newOrg({ plan: 'free' });
    for (let i = 0; i < 2; i++) await member(org, 'viewer');
    expectStatus(await tryInvite(org, [uniqueEmail(), uniqueEmail()]), 201);
    expect((await tryInvite(org, [uniqueEmail()])).statusCode).toBe(403);
  });

  it('gets a seat back when an invitation is cancelled', async () => {
    const org = await newOrg({ plan: 'free' });
    const items = await invite(
      org,
      Array.from({ length: 4 }, () => uniqueEmail('seat')),
      'viewer',
    );
    expect((await tryInvite(org, [uniqueEmail()])).statusCode).toBe(403);
    expectStatus(
      await as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${items[0]!.id}`),
      204,
    );
    expectStatus(await tryInvite(org, [uniqueEmail()]), 201);
  });

  it('gets a seat back when an invitation expires; reviving it then needs a free seat', async () => {
    const org = await newOrg({ plan: 'free' });
    const items = await invite(
      org,
      Array.from({ length: 4 }, () => uniqueEmail('seat')),
      'viewer',
    );
    await expire(items[0]!.id);
    expectStatus(await tryInvite(org, [uniqueEmail()]), 201);
    const revive = await as(t.app, org.owner).post(
      `/api/v1/orgs/${org.orgId}/invitations/${items[0]!.id}/resend`,
    );
    expect(revive.statusCode).toBe(403);
    expect(revive.json().code).toBe('plan_limit');
    // Inviting the expired email again takes a seat too.
    expect((await tryInvite(org, [items[0]!.email])).statusCode).toBe(403);
  });
});

describe('the share link and its approval queue', () => {
  const joinLinkUrl = (org: Org) => `/api/v1/orgs/${org.orgId}/join-link`;
  const askToJoin = (who: { cookie: string }, token: string) =>
    as(t.app, who).post('/api/v1/join-requests', { token });
  const pendingRequests = async (org: Org, by: { cookie: string } = org.owner, status = 'pending') => {
    const res = expectStatus(
      await as(t.app, by).get(`/api/v1/orgs/${org.orgId}/join-requests?status=${status}`),
      200,
    );
    return res.json().items as { id: string; userId: string; email: string; status: string }[];
  };
  async function linkFor(org: Org) {
    const res = expectStatus(await as(t.app, org.owner).post(joinLinkUrl(org)), 201);
    return res.json() as { url: string; token: string; createdAt: string };
  }

  it('creates a link (201 {url, token}) that GET reports as enabled', async () => {
    const org = await newOrg();
    expect(expectStatus(await as(t.app, org.owner).get(joinLinkUrl(org)), 200).json()).toEqual({
      enabled: false,
      createdAt: null,
    });
    const link = await linkFor(org);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(link.url).toBe(`http://localhost:3000/join#token=${link.token}`);
    const state = expectStatus(await as(t.app, org.owner).get(joinLinkUrl(org)), 200).json();
    expect(state).toEqual({ enabled: true, createdAt: link.createdAt });
  });

  it('lets a signed-in non-member ask to join (202 pending; asking twice returns the same request)', async () => {
    const org = await newOrg({ name: 'Open Door' });
    const { token } = await linkFor(org);
    const asker = await signUp(t.app, { name: 'Ada Asker' });
    const first = await askToJoin(asker, token);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({
      id: expect.any(String),
      status: 'pending',
      org: { id: org.orgId, slug: org.slug, name: 'Open Door' },
    });
    const second = expectStatus(await askToJoin(asker, token), 202);
    expect(second.json().id).toBe(first.json().id);
    const pending = await pendingRequests(org);
    expect(pending).toEqual([
      expect.objectContaining({
        id: first.json().id,
        userId: asker.userId,
        email: asker.email,
        name: 'Ada Asker',
      }),
    ]);
    const notice = await t.mail.latestTo(org.owner.email, 0, /asks to join/);
    expect(notice.subject).toContain(asker.email);
    // Not a member yet.
    expect((await as(t.app, asker).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(404);
  });

  it('refuses an existing member with 409 already_member, and needs a session', async () => {
    const org = await newOrg();
    const { token } = await linkFor(org);
    const dev = await member(org, 'developer');
    const res = await askToJoin(dev, token);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('already_member');
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/join-requests',
      headers: { origin: ORIGIN },
      payload: { token },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('rotating kills the old token (410); disabling kills the link', async () => {
    const org = await newOrg();
    const old = await linkFor(org);
    const fresh = await linkFor(org);
    expect(fresh.token).not.toBe(old.token);
    const asker = await signUp(t.app);
    const dead = await askToJoin(asker, old.token);
    expect(dead.statusCode).toBe(410);
    expect(dead.json().code).toBe('invite_expired');
    expectStatus(await askToJoin(asker, fresh.token), 202);
    expectStatus(await as(t.app, org.owner).delete(joinLinkUrl(org)), 204);
    expect(expectStatus(await as(t.app, org.owner).get(joinLinkUrl(org)), 200).json().enabled).toBe(false);
    const other = await signUp(t.app);
    expect((await askToJoin(other, fresh.token)).statusCode).toBe(410);
  });

  it('an admin approves a request with a role: the requester becomes a member with it and is told by email', async () => {
    const org = await newOrg({ name: 'Gatekeepers' });
    const admin = await member(org, 'admin');
    const { token } = await linkFor(org);
    const asker = await signUp(t.app);
    const request = expectStatus(await askToJoin(asker, token), 202).json();
    expect((await pendingRequests(org, admin)).map((r) => r.id)).toEqual([request.id]);
    const approved = await as(t.app, admin).post(
      `/api/v1/orgs/${org.orgId}/join-requests/${request.id}/approve`,
      {
        role: 'cyberoper',
      },
    );
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toEqual({ userId: asker.userId, role: 'cyberoper' });
    expect((await membersOf(org)).find((m) => m.userId === asker.userId)).toMatchObject({
      role: 'cyberoper',
      status: 'active',
    });
    const mail = await t.mail.latestTo(asker.email, 0, /Gatekeepers/);
    expect(mail.subject).toContain('Gatekeepers');
    expect(mail.text).toContain('Cyberoper');
    expect(await pendingRequests(org, admin)).toEqual([]);
    expect((await pendingRequests(org, admin, 'approved')).map((r) => r.id)).toEqual([request.id]);
    const twice = await as(t.app, admin).post(
      `/api/v1/orgs/${org.orgId}/join-requests/${request.id}/approve`,
      {
        role: 'viewer',
      },
    );
    expect(twice.statusCode).toBe(409);
    expect((await membersOf(org)).find((m) => m.userId === asker.userId)?.role).toBe('cyberoper');
  });

  it('denying answers 204 and takes the request off the pending list', async () => {
    const org = await newOrg();
    const { token } = await linkFor(org);
    const asker = await signUp(t.app);
    const request = expectStatus(await askToJoin(asker, token), 202).json();
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-requests/${request.id}/deny`);
    expect(res.statusCode).toBe(204);
    expect(await pendingRequests(org)).toEqual([]);
    expect((await pendingRequests(org, org.owner, 'denied')).map((r) => r.id)).toEqual([request.id]);
    expect((await as(t.app, asker).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(404);
    const again = await as(t.app, org.owner).post(
      `/api/v1/orgs/${org.orgId}/join-requests/${request.id}/deny`,
    );
    expect(again.statusCode).toBe(409);
    // A denied person may ask again: a new request.
    const renewed = expectStatus(await askToJoin(asker, token), 202).json();
    expect(renewed.id).not.toBe(request.id);
  });

  it('refuses to approve with a role holding permissions the approver lacks (403), leaving the request pending', async () => {
    const org = await newOrg();
    const admin = await member(org, 'admin');
    const { token } = await linkFor(org);
    const asker = await signUp(t.app);
    const request = expectStatus(await askToJoin(asker, token), 202).json();
    const res = await as(t.app, admin).post(`/api/v1/orgs/${org.orgId}/join-requests/${request.id}/approve`, {
      role: 'owner',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
    expect((await pendingRequests(org)).map((r) => r.id)).toEqual([request.id]);
    expect((await membersOf(org)).map((m) => m.userId)).not.toContain(asker.userId);
  });

  it('supersedes the invitation of someone who joins through the link instead: one person, one seat', async () => {
    const org = await newOrg({ plan: 'free' });
    const email = uniqueEmail('both');
    const [mine] = await invite(org, [email], 'viewer');
    await invite(
      org,
      Array.from({ length: 3 }, () => uniqueEmail('seat')),
      'viewer',
    );
    const inviteOneMore = () =>
      as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [uniqueEmail()],
        role: 'viewer',
      });
    // Full: the owner and four pending invitations, one of them this person's.
    expect((await inviteOneMore()).statusCode).toBe(403);
    const { token } = await linkFor(org);
    const person = await signUp(t.app, { email });
    const request = expectStatus(await askToJoin(person, token), 202).json();
    const approved = await as(t.app, org.owner).post(
      `/api/v1/orgs/${org.orgId}/join-requests/${request.id}/approve`,
      {
        role: 'developer',
      },
    );
    expect(approved.statusCode).toBe(200);
    expect((await invitationRow(mine!.id)).status).toBe('cancelled');
    expect((await accept(person, mine!.token)).statusCode).toBe(410);
    expect((await membersOf(org)).find((m) => m.userId === person.userId)?.role).toBe('developer');
    // Still full: five seats, five people.
    expect((await inviteOneMore()).statusCode).toBe(403);
  });

  it('counts an approval against the plan limit', async () => {
    const org = await newOrg({ plan: 'free' });
    await invite(
      org,
      Array.from({ length: 4 }, () => uniqueEmail('seat')),
      'viewer',
    );
    const { token } = await linkFor(org);
    const asker = await signUp(t.app);
    const request = expectStatus(await askToJoin(asker, token), 202).json();
    const res = await as(t.app, org.owner).post(
      `/api/v1/orgs/${org.orgId}/join-requests/${request.id}/approve`,
      {
        role: 'viewer',
      },
    );
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('plan_limit');
  });
});
