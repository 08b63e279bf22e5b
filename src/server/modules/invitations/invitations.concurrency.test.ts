import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  expectStatus,
  INVITATION_LINK,
  tokenFromMail,
} from '../../../../test/support/orgs.ts';
import { invitations, joinRequests, memberships } from '../../platform/db/schema.ts';
import { countSeats } from '../members/index.ts';

/**
 * The invariants of capability 3 under real concurrency: PostgreSQL with a connection pool, many
 * requests in flight at once. (PGlite runs one statement at a time: nothing to race there.)
 */
describe.skipIf(!onPostgres)('invitations under concurrent requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    // One address invited 20 times at once: its resend limit (tested on its own) is not the point here.
    t = await createTestApp({ invitations: { maxResendsPerDay: 100 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const statuses = (responses: { statusCode: number }[]) => {
    const counts: Record<number, number> = {};
    for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
    return counts;
  };

  async function inviteOne(org: Awaited<ReturnType<typeof createOrg>>, email: string, role = 'developer') {
    const res = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, { emails: [email], role }),
      201,
    );
    const token = tokenFromMail((await t.mail.latestTo(email, 0, INVITATION_LINK)).text);
    return { id: res.json().items[0].id as string, token };
  }

  /** Seats in use as the plan limit counts them: active members plus live pending invitations. */
  const seatsInUse = (orgId: string) => countSeats(t.db.database.db, orgId);

  it('accepts one invitation exactly once out of 50 simultaneous accepts', async () => {
    const org = await createOrg(t.app);
    const email = uniqueEmail('racer');
    const { id, token } = await inviteOne(org, email);
    const person = await signUp(t.app, { email });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => as(t.app, person).post('/api/v1/invitations/accept', { token })),
    );
    expect(statuses(responses)).toEqual({ 200: 1, 409: 49 });
    for (const r of responses.filter((r) => r.statusCode === 409)) expect(r.json().code).toBe('invite_used');
    const rows = await t.db.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, org.orgId), eq(memberships.userId, person.userId)));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('active');
    const [invitation] = await t.db.database.db.select().from(invitations).where(eq(invitations.id, id));
    expect(invitation).toMatchObject({ status: 'accepted', acceptedBy: person.userId });
  });

  it("never overspends a free org's member limit with 20 simultaneous invitations", async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
          emails: [uniqueEmail('rush')],
          role: 'viewer',
        }),
      ),
    );
    // The owner holds one seat; four invitations fit, the other sixteen meet the limit.
    expect(statuses(responses)).toEqual({ 201: 4, 403: 16 });
    for (const r of responses.filter((r) => r.statusCode === 403)) expect(r.json().code).toBe('plan_limit');
    expect(await seatsInUse(org.orgId)).toBe(5);
  });

  it('never overspends the limit when invitations of several emails race with accepts and a join approval', async () => {
    const org = await createOrg(t.app, { plan: 'free' });
    const member = await addMember(t.app, org, 'admin', {}, t.mail);
    const first = uniqueEmail('early');
    const { token } = await inviteOne(org, first, 'viewer');
    const early = await signUp(t.app, { email: first });
    const link = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
      201,
    ).json();
    const asker = await signUp(t.app);
    const request = expectStatus(
      await as(t.app, asker).post('/api/v1/join-requests', { token: link.token }),
      202,
    );
    const responses = await Promise.all([
      as(t.app, early).post('/api/v1/invitations/accept', { token }),
      as(t.app, member).post(`/api/v1/orgs/${org.orgId}/join-requests/${request.json().id}/approve`, {
        role: 'viewer',
      }),
      ...Array.from({ length: 12 }, (_, i) =>
        as(t.app, i % 2 ? org.owner : member).post(`/api/v1/orgs/${org.orgId}/invitations`, {
          emails: i % 3 ? [uniqueEmail('pair'), uniqueEmail('pair')] : [uniqueEmail('single')],
          role: 'viewer',
        }),
      ),
    ]);
    for (const r of responses) expect(r.statusCode).toBeLessThan(500);
    expect(responses[0]!.statusCode).toBe(200);
    expect(await seatsInUse(org.orgId)).toBeLessThanOrEqual(5);
  });

  it('keeps one pending invitation when the same email is invited 20 times at once', async () => {
    const org = await createOrg(t.app);
    const email = uniqueEmail('same');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
          emails: [i % 2 ? email : email.toUpperCase()],
          role: 'viewer',
        }),
      ),
    );
    expect(statuses(responses)).toEqual({ 201: 20 });
    expect(new Set(responses.map((r) => r.json().items[0].id)).size).toBe(1);
    const rows = await t.db.database.db
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, org.orgId), sql`lower(${invitations.email}) = ${email}`));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'pending', sendCount: 20 });
  });

  it('ends an invitation either accepted or cancelled when an accept races a cancel', async () => {
    const org = await createOrg(t.app);
    for (let round = 0; round < 5; round++) {
      const email = uniqueEmail('either');
      const { id, token } = await inviteOne(org, email);
      const person = await signUp(t.app, { email });
      const [accepted, cancelled] = await Promise.all([
        as(t.app, person).post('/api/v1/invitations/accept', { token }),
        as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/invitations/${id}`),
      ]);
      const [row] = await t.db.database.db.select().from(invitations).where(eq(invitations.id, id));
      const memberRows = await t.db.database.db
        .select()
        .from(memberships)
        .where(and(eq(memberships.orgId, org.orgId), eq(memberships.userId, person.userId)));
      if (accepted.statusCode === 200) {
        expect(cancelled.statusCode).toBe(409);
        expect(row!.status).toBe('accepted');
        expect(memberRows).toHaveLength(1);
      } else {
        expect(accepted.statusCode).toBe(410);
        expect(cancelled.statusCode).toBe(204);
        expect(row!.status).toBe('cancelled');
        expect(memberRows).toHaveLength(0);
      }
    }
  });

  it('keeps one pending join request for 30 simultaneous requests by the same person', async () => {
    const org = await createOrg(t.app);
    const link = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
      201,
    ).json();
    const asker = await signUp(t.app);
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => as(t.app, asker).post('/api/v1/join-requests', { token: link.token })),
    );
    expect(statuses(responses)).toEqual({ 202: 30 });
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    const rows = await t.db.database.db
      .select()
      .from(joinRequests)
      .where(and(eq(joinRequests.orgId, org.orgId), eq(joinRequests.userId, asker.userId)));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('pending');
  });

  it('approves one join request once out of 10 simultaneous approvals', async () => {
    const org = await createOrg(t.app);
    const link = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
      201,
    ).json();
    const asker = await signUp(t.app);
    const request = expectStatus(
      await as(t.app, asker).post('/api/v1/join-requests', { token: link.token }),
      202,
    );
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-requests/${request.json().id}/approve`, {
          role: i % 2 ? 'viewer' : 'developer',
        }),
      ),
    );
    expect(statuses(responses)).toEqual({ 200: 1, 409: 9 });
    const rows = await t.db.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, org.orgId), eq(memberships.userId, asker.userId)));
    expect(rows).toHaveLength(1);
  });
});
