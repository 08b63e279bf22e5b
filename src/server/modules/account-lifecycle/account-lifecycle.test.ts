import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
  requestToJoin,
} from '../../../../test/support/orgs.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const me = (cookie: string) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
const login = (email: string, password: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    headers: { origin: ORIGIN },
  });
const deleteMe = (who: Person, password = who.password) => as(t.app, who).delete('/api/v1/me', { password });

async function entries(chainId: string, action: string) {
  return queryRows<{
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    target_id: string;
  }>(
    t.db.database.db,
    sql`SELECT before, after, target_id FROM audit_events WHERE chain_id = ${chainId} AND action = ${action} ORDER BY seq`,
  );
}

describe('GET /api/v1/me/export', () => {
  it('is a JSON attachment with profile, memberships, sessions, tokens, passkeys and the account log, and no secrets', async () => {
    const org = await createOrg(t.app, { name: 'Export Co' });
    const person = org.owner;
    const token = await createPersonalToken(t.app, person, org.orgId, ['read']);
    await t.db.database.db.execute(
      sql`INSERT INTO passkeys (user_id, credential_id, public_key, name) VALUES (${person.userId}, 'cred-export-test', '\\x0102'::bytea, 'Laptop')`,
    );
    expectStatus(await as(t.app, person).patch('/api/v1/me', { name: 'Olivia Exporter' }), 200);
    const res = expectStatus(await as(t.app, person).get('/api/v1/me/export'), 200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="gatehouse-personal-data-[\d-]+\.json"$/,
    );
    const data = res.json();
    expect(data.profile).toMatchObject({ id: person.userId, email: person.email, emailVerified: false });
    expect(data.memberships).toEqual([
      expect.objectContaining({
        org: expect.objectContaining({ id: org.orgId, name: 'Export Co' }),
        role: 'owner',
      }),
    ]);
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.personalTokens).toEqual([expect.objectContaining({ id: token.id, orgId: org.orgId })]);
    expect(data.passkeys).toEqual([expect.objectContaining({ name: 'Laptop' })]);
    const actions = data.auditEvents.map((e: { action: string }) => e.action);
    expect(actions[0]).toBe('user.created');
    expect(actions).toContain('user.updated');

    const text = res.body;
    const [row] = await queryRows<{ password_hash: string }>(
      t.db.database.db,
      sql`SELECT password_hash FROM users WHERE id = ${person.userId}`,
    );
    for (const secret of [
      row!.password_hash,
      token.token,
      person.cookie.split('=')[1]!,
      'cred-export-test',
    ]) {
      expect(text).not.toContain(secret);
    }
    // Chain hashes (prevHash, hash) are the audit log's own, not secrets.
    expect(text).not.toMatch(/passwordHash|tokenHash|codeHash|publicKey|credentialId|totpSecret/i);
  });

  it('needs a session', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/me/export' });
    expect(res.statusCode).toBe(401);
  });
});

describe('DELETE /api/v1/me', () => {
  it('leaves every organization (each log says so), ends sessions and tokens, frees the email', async () => {
    const org = await createOrg(t.app, { name: 'First' });
    const second = await createOrg(t.app, { name: 'Second' });
    const person = await addMember(t.app, org, 'developer', {}, t.mail);
    const since = t.mail.messages.length;
    expectStatus(
      await as(t.app, second.owner).post(`/api/v1/orgs/${second.orgId}/invitations`, {
        emails: [person.email],
        role: 'admin',
      }),
      201,
    );
    const invite = await t.mail.latestTo(person.email, since, /invitations\/accept/);
    const inviteToken = /#token=([A-Za-z0-9_-]+)/.exec(invite.text)![1];
    expectStatus(await as(t.app, person).post('/api/v1/invitations/accept', { token: inviteToken }), 200);
    const token = await createPersonalToken(t.app, person, org.orgId, ['read']);
    const elsewhere = await login(person.email, person.password);

    expect(expectStatus(await deleteMe(person, 'wrong-password-here'), 400).json().errors[0].field).toBe(
      '/body/password',
    );
    const res = expectStatus(await deleteMe(person), 204);
    expect(res.cookies.find((c) => c.name === 'gatehouse_session')?.value).toBe('');

    expect((await me(person.cookie)).statusCode).toBe(401);
    expect((await me(`gatehouse_session=${elsewhere.cookies[0]!.value}`)).statusCode).toBe(401);
    const bearer = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/${org.orgId}/members`,
      headers: { authorization: `Bearer ${token.token}` },
    });
    expect(bearer.statusCode).toBe(401);
    expect((await login(person.email, person.password)).statusCode).toBe(401);

    for (const o of [org, second]) {
      const left = await entries(o.orgId, 'member.left');
      expect(left.map((e) => e.target_id)).toEqual([person.userId]);
      const members = expectStatus(
        await as(t.app, o.owner).get(`/api/v1/orgs/${o.orgId}/members`),
        200,
      ).json();
      expect(members.items.map((m: { userId: string }) => m.userId)).not.toContain(person.userId);
    }
    const [deleted] = await entries(person.userId, 'user.deleted');
    expect(deleted?.before).toMatchObject({ email: person.email });
    expect(deleted?.after).toMatchObject({ deleted: true, orgsLeft: [org.orgId, second.orgId].sort() });

    // The row stays, anonymised; the address signs up again as a new account.
    const [row] = await queryRows<{ email: string; name: string; deleted: boolean }>(
      t.db.database.db,
      sql`SELECT email, name, deleted_at IS NOT NULL AS deleted FROM users WHERE id = ${person.userId}`,
    );
    expect(row).toMatchObject({ name: 'Deleted user', deleted: true });
    expect(row!.email).not.toContain(person.email.split('@')[0]!);
    const again = await signUp(t.app, { email: person.email });
    expect(again.userId).not.toBe(person.userId);
  });

  it('refuses the only Owner of an organization (409 last_owner) and changes nothing', async () => {
    const org = await createOrg(t.app);
    const res = expectStatus(await deleteMe(org.owner), 409);
    expect(res.json().code).toBe('last_owner');
    expectStatus(await me(org.owner.cookie), 200);
    expect(await entries(org.owner.userId, 'user.deleted')).toEqual([]);
  });

  it('removes passkeys, recovery codes and two-factor settings', async () => {
    const person = await signUp(t.app);
    const db = t.db.database.db;
    await db.execute(
      sql`INSERT INTO passkeys (user_id, credential_id, public_key, name) VALUES (${person.userId}, ${`cred-${person.userId}`}, '\\x01'::bytea, 'Key')`,
    );
    await db.execute(
      sql`INSERT INTO recovery_codes (user_id, code_hash) VALUES (${person.userId}, '\\x02'::bytea)`,
    );
    await db.execute(
      sql`UPDATE users SET totp_secret = 'sealed', totp_enabled_at = now(), totp_last_step = 5 WHERE id = ${person.userId}`,
    );
    expectStatus(await deleteMe(person), 204);
    const [counts] = await queryRows<{ passkeys: number; codes: number; totp: boolean }>(
      t.db.database.db,
      sql`SELECT
        (SELECT count(*)::int FROM passkeys WHERE user_id = ${person.userId}) AS passkeys,
        (SELECT count(*)::int FROM recovery_codes WHERE user_id = ${person.userId}) AS codes,
        (SELECT totp_secret IS NULL AND totp_enabled_at IS NULL FROM users WHERE id = ${person.userId}) AS totp`,
    );
    expect(counts).toEqual({ passkeys: 0, codes: 0, totp: true });
  });

  it.runIf(onPostgres)(
    'two owners: one deletes the account while the other leaves; exactly one succeeds and the org keeps an owner',
    async () => {
      for (let round = 0; round < 5; round++) {
        const org = await createOrg(t.app);
        const other = await addMember(t.app, org, 'owner', { email: uniqueEmail('co-owner') }, t.mail);
        const [deleted, left] = await Promise.all([
          deleteMe(org.owner),
          as(t.app, other).delete(`/api/v1/me/memberships/${org.orgId}`),
        ]);
        const codes = [deleted.statusCode, left.statusCode].sort();
        expect(codes).toEqual([204, 409]);
        const [owners] = await queryRows<{ n: number }>(
          t.db.database.db,
          sql`SELECT count(*)::int AS n FROM memberships m
            JOIN roles r ON r.id = m.role_id WHERE m.org_id = ${org.orgId} AND m.status = 'active' AND r.slug = 'owner'`,
        );
        expect(owners?.n).toBe(1);
      }
    },
  );
});

describe('DELETE /api/v1/me and a request to join made before it', () => {
  it('a deleted account’s pending request cannot be approved: nobody deleted becomes a member', async () => {
    const org = await createOrg(t.app);
    const { id, person } = await requestToJoin(t.app, org);
    expectStatus(await deleteMe(person), 204);
    const res = await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-requests/${id}/approve`, {
      role: 'viewer',
    });
    expect(res.statusCode, res.body).toBe(409);
    const [row] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM memberships WHERE user_id = ${person.userId} AND status = 'active'`,
    );
    expect(row?.n).toBe(0);
  });
});
